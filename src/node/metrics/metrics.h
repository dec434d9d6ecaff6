/* metrics — counters and gauges rendered in the Prometheus text format (0.0.4).
 *
 * A series is a metric name plus an optional label set written as Prometheus text
 * (`route="/api/v0/id",code="200"`). Counters are created on first use; gauges are
 * either set directly or read through a callback when /metrics is rendered, so that
 * other layers (database size, peers, streams) need not push values. Owned by the
 * node; single-threaded (the event loop). */
#ifndef LS_NODE_METRICS_H
#define LS_NODE_METRICS_H

#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/mem/mem.h"

typedef struct metrics_t metrics_t;

typedef enum { METRIC_COUNTER, METRIC_GAUGE } metric_kind_t;

/** Computes a gauge value at render time. */
typedef double (*metrics_gauge_cb)(void *ctx);

metrics_t *metrics_new(void);
void metrics_free_(metrics_t *m);
#define metrics_free(m) FREE_AND_NULL(metrics_t, metrics_free_, (m))

/** Declare a metric family with its help text (once; repeated calls are ignored). */
void metrics_describe(metrics_t *m, const char *name, metric_kind_t kind, const char *help);
/** Add `v` to a counter series; `labels` may be NULL or "" for none. */
void metrics_add(metrics_t *m, const char *name, const char *labels, double v);
#define metrics_inc(m, name, labels) metrics_add((m), (name), (labels), 1.0)
/** Set a gauge series. */
void metrics_set(metrics_t *m, const char *name, const char *labels, double v);
/** Register a gauge whose value is read from `fn(ctx)` at render time. */
void metrics_gauge_fn(metrics_t *m, const char *name, const char *help, metrics_gauge_cb fn,
                      void *ctx);
/** Current value of a series (0 if unknown); for tests and status output. */
double metrics_get(const metrics_t *m, const char *name, const char *labels);
/** Render every family in the text exposition format. */
int metrics_render(const metrics_t *m, buf_t *out);

#endif
