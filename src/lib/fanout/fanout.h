/* fanout — fork-join over a few helper threads: run fn(arg, i) for i in [0, n) on
 * the calling thread and the helpers, and return when every call has returned.
 *
 * For short CPU-heavy batches that the caller needs the results of before it goes
 * on, such as checking the hashes of the blocks of one received Bitswap message on
 * the event loop thread. (lib/workpool is the other shape: jobs whose results come
 * back later on the loop.) The caller takes indices too, so a helper that the
 * scheduler does not run soon costs nothing but its share: the caller does the
 * rest itself, waiting only for calls a helper has already begun.
 *
 * One caller at a time: fanout_run() is not reentrant and must be called from one
 * thread (the owner). `fn` must be safe to run concurrently for distinct indices. */
#ifndef LS_LIB_FANOUT_FANOUT_H
#define LS_LIB_FANOUT_FANOUT_H

#include <stddef.h>

#include "lib/mem/mem.h"

typedef struct fanout_t fanout_t;

typedef void (*fanout_fn)(void *arg, size_t i);

/** Most helper threads. */
#define FANOUT_MAX_HELPERS 16

/** A fan-out with `helpers` threads (at most FANOUT_MAX_HELPERS; 0: every call runs
 *  on the caller). Helpers start with all signals blocked. Never NULL; failing to
 *  start a thread is logged and aborts, as out-of-memory does. */
fanout_t *fanout_new(unsigned helpers);

/** Stop and join the helpers, then free. NULL is a no-op. */
void fanout_free_(fanout_t *f);
#define fanout_free(f) FREE_AND_NULL(fanout_t, fanout_free_, (f))

/** Run fn(arg, i) once for each i in [0, n), spread over the caller and the
 *  helpers; returns when all have returned. n <= 1 or no helpers: inline. */
void fanout_run(fanout_t *f, size_t n, fanout_fn fn, void *arg);

/** Helper threads (not counting the caller). */
unsigned fanout_helpers(const fanout_t *f);

/** Helpers worth having on this machine for one busy caller: online CPUs - 1,
 *  between 0 and `max`. */
unsigned fanout_auto_helpers(unsigned max);

#endif
