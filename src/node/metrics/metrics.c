#include "node/metrics/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"

typedef struct series_t {
    char *labels;          /* "" for none */
    double value;
    struct series_t *next;
} series_t;

typedef struct family_t {
    char *name;
    char *help;
    metric_kind_t kind;
    metrics_gauge_cb fn;   /* non-NULL: value computed at render time */
    void *fn_ctx;
    series_t *series;
    struct family_t *next;
} family_t;

struct metrics_t {
    family_t *head, *tail; /* in declaration order, so output is stable */
};

metrics_t *
metrics_new(void)
{
    return ls_calloc(1, sizeof(metrics_t));
}

void
metrics_free_(metrics_t *m)
{
    if (!m)
        return;
    for (family_t *f = m->head, *fn; f; f = fn) {
        fn = f->next;
        for (series_t *s = f->series, *sn; s; s = sn) {
            sn = s->next;
            free(s->labels);
            free(s);
        }
        free(f->name);
        free(f->help);
        free(f);
    }
    free(m);
}

static family_t *
find_family(const metrics_t *m, const char *name)
{
    for (family_t *f = m->head; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

static family_t *
get_family(metrics_t *m, const char *name, metric_kind_t kind)
{
    family_t *f = find_family(m, name);
    if (f)
        return f;
    f = ls_calloc(1, sizeof *f);
    f->name = ls_strdup(name);
    f->help = ls_strdup(name);
    f->kind = kind;
    if (m->tail)
        m->tail->next = f;
    else
        m->head = f;
    m->tail = f;
    return f;
}

void
metrics_describe(metrics_t *m, const char *name, metric_kind_t kind, const char *help)
{
    family_t *f = get_family(m, name, kind);
    free(f->help);
    f->help = ls_strdup(help);
    f->kind = kind;
}

static series_t *
get_series(family_t *f, const char *labels)
{
    if (!labels)
        labels = "";
    series_t **pp = &f->series;
    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->labels, labels) == 0)
            return *pp;
    *pp = ls_calloc(1, sizeof **pp);
    (*pp)->labels = ls_strdup(labels);
    return *pp;
}

void
metrics_add(metrics_t *m, const char *name, const char *labels, double v)
{
    get_series(get_family(m, name, METRIC_COUNTER), labels)->value += v;
}

void
metrics_set(metrics_t *m, const char *name, const char *labels, double v)
{
    get_series(get_family(m, name, METRIC_GAUGE), labels)->value = v;
}

void
metrics_gauge_fn(metrics_t *m, const char *name, const char *help, metrics_gauge_cb fn,
                 void *ctx)
{
    metrics_describe(m, name, METRIC_GAUGE, help);
    family_t *f = find_family(m, name);
    f->fn = fn;
    f->fn_ctx = ctx;
}

double
metrics_get(const metrics_t *m, const char *name, const char *labels)
{
    family_t *f = find_family(m, name);
    if (!f)
        return 0;
    if (f->fn)
        return f->fn(f->fn_ctx);
    for (series_t *s = f->series; s; s = s->next)
        if (strcmp(s->labels, labels ? labels : "") == 0)
            return s->value;
    return 0;
}

static int
render_value(buf_t *out, const char *name, const char *labels, double v)
{
    const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
    if (isfinite(v) && v == floor(v) && fabs(v) < 1e15)
        return buf_printf(out, "%s%s%s%s %.0f\n", name, open, labels, close, v);
    return buf_printf(out, "%s%s%s%s %.17g\n", name, open, labels, close, v);
}

int
metrics_render(const metrics_t *m, buf_t *out)
{
    int rc = 0;
    for (family_t *f = m->head; f && rc == 0; f = f->next) {
        rc = buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                        f->kind == METRIC_COUNTER ? "counter" : "gauge");
        if (f->fn && rc == 0)
            rc = render_value(out, f->name, "", f->fn(f->fn_ctx));
        for (series_t *s = f->series; s && rc == 0; s = s->next)
            rc = render_value(out, f->name, s->labels, s->value);
    }
    return rc;
}
