/* workpool — a few worker threads for CPU-heavy jobs (hashing, batch signature
 * checks), whose results come back on the libevent loop thread.
 *
 * A job is two callbacks and an argument: `work(arg)` runs on a worker thread and
 * must touch only what `arg` gives it (no loop state, no libevent calls); then
 * `done(arg, cancelled)` runs on the loop thread, exactly once per accepted job, so
 * `done` is where `arg` is consumed and freed.
 *
 * Completion: workers put finished jobs on a list and, when the list goes from
 * empty to non-empty, write one byte to a pipe watched by an event on the
 * event_base. The loop then runs the `done` callbacks of everything finished so
 * far, in order of completion, at most WORKPOOL_DONE_BATCH per loop iteration so
 * a burst of completions does not starve network I/O. Workers never call into
 * libevent, so evthread_use_pthreads() is NOT needed for this module.
 *
 * All functions are for the loop thread only (the thread running the event_base),
 * except that `work` callbacks run on workers. */
#ifndef LS_LIB_WORKPOOL_WORKPOOL_H
#define LS_LIB_WORKPOOL_WORKPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/mem/mem.h"

struct event_base;

typedef struct workpool_t workpool_t;

/** Runs on a worker thread. */
typedef void (*workpool_work_fn)(void *arg);
/** Runs on the loop thread after `work`, or instead of it with `cancelled` true
 *  when the pool is freed before the job started. */
typedef void (*workpool_done_fn)(void *arg, bool cancelled);

/** Default limit on jobs in flight (see workpool_set_limit). */
#define WORKPOOL_DEFAULT_LIMIT 4096
/** Most `done` callbacks run per wake-up of the loop. */
#define WORKPOOL_DONE_BATCH 256
/** Most worker threads. */
#define WORKPOOL_MAX_THREADS 64

/** A pool of `nthreads` workers (0: one per online CPU, at most
 *  WORKPOOL_MAX_THREADS) delivering completions on `base` (borrowed; must outlive
 *  the pool). Workers start with all signals blocked, so signals reach the loop
 *  thread. Never returns NULL: running out of threads or descriptors at start-up
 *  is logged and aborts, as out-of-memory does. */
workpool_t *workpool_new(struct event_base *base, unsigned nthreads);

/** Stop the pool: jobs not yet started are cancelled, running jobs are waited for
 *  (this blocks until their `work` returns), then every outstanding `done` runs
 *  here, before the call returns — finished jobs with cancelled=false, first, then
 *  cancelled ones with cancelled=true. Safe to call from a `done` callback (the
 *  remaining callbacks still run, and the memory is released afterwards). A `done`
 *  run during the free may not submit (workpool_submit returns LS_ECLOSED). Must
 *  not be called from a `work` callback. NULL is a no-op. */
void workpool_free_(workpool_t *pool);
#define workpool_free(p) FREE_AND_NULL(workpool_t, workpool_free_, (p))

/** Queue a job. `work` must not be NULL; `done` may be NULL when nothing needs to
 *  happen afterwards. 0 on success; LS_ELIMIT when `limit` jobs are already in
 *  flight; LS_ECLOSED while the pool is being freed; LS_EINVAL if `work` is NULL.
 *  On error neither callback is ever called. */
int workpool_submit(workpool_t *pool, workpool_work_fn work, workpool_done_fn done, void *arg);

/** Bound the jobs in flight — submitted and whose `done` has not yet run, so the
 *  bound covers every byte a job holds. At least 1. Lowering it below the current
 *  count only makes submit fail until jobs drain. */
void workpool_set_limit(workpool_t *pool, size_t limit);

/** Counters for metrics; any pointer may be NULL. `queued`: waiting for a worker;
 *  `running`: in `work` now; `completed`: jobs whose `work` has returned since the
 *  pool was created (monotonic). */
void workpool_stats(workpool_t *pool, uint64_t *queued, uint64_t *running, uint64_t *completed);

/** Number of worker threads. */
unsigned workpool_threads(const workpool_t *pool);

#endif
