/* fanout — fork-join over helper threads (fanout.h).
 *
 * A batch is a job_t on the caller's stack, published in `f->job` under `lock`.
 * Helpers join it under the lock (counting themselves in job->joined) and take
 * indices from its atomic counter without the lock. The caller, once the counter
 * runs out, unpublishes the job under the lock and waits for job->joined to fall
 * to zero: a helper that has not joined by then never sees the job, so nothing
 * touches the caller's stack after fanout_run() returns. `seq` keeps a helper
 * from joining the same batch twice (it would find no index and spin). */
#define LOG_MODULE "fanout"
#include "lib/fanout/fanout.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log/log.h"

typedef struct job_t {
    fanout_fn fn;
    void *arg;
    size_t n;
    atomic_size_t next; /* the next index to take */
    unsigned joined;    /* lock: helpers inside the batch */
    uint64_t seq;
} job_t;

struct fanout_t {
    pthread_mutex_t lock;
    pthread_cond_t go;   /* a batch was published, or stop */
    pthread_cond_t done; /* a helper left a batch */
    job_t *job;          /* lock: the batch being run, or NULL */
    uint64_t seq;        /* lock: batches published so far */
    bool stop;           /* lock */
    pthread_t threads[FANOUT_MAX_HELPERS];
    unsigned nthreads;
};

static void
take_indices(job_t *job)
{
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
        if (i >= job->n)
            return;
        job->fn(job->arg, i);
    }
}

static void *
helper_main(void *arg)
{
    fanout_t *f = arg;
    uint64_t last = 0;
    pthread_mutex_lock(&f->lock);
    for (;;) {
        while (!f->stop && (!f->job || f->job->seq == last))
            pthread_cond_wait(&f->go, &f->lock);
        if (f->stop)
            break;
        job_t *job = f->job;
        last = job->seq;
        job->joined++;
        pthread_mutex_unlock(&f->lock);
        take_indices(job);
        pthread_mutex_lock(&f->lock);
        if (--job->joined == 0)
            pthread_cond_signal(&f->done);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

fanout_t *
fanout_new(unsigned helpers)
{
    fanout_t *f = ls_calloc(1, sizeof *f);
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->go, NULL);
    pthread_cond_init(&f->done, NULL);
    f->nthreads = LS_MIN(helpers, (unsigned)FANOUT_MAX_HELPERS);
    /* helpers inherit the mask: block everything so signals go to the loop thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (unsigned i = 0; i < f->nthreads; i++) {
        int rc = pthread_create(&f->threads[i], NULL, helper_main, f);
        if (rc != 0) {
            log_error("cannot start a helper thread: %s", strerror(rc));
            abort();
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return f;
}

void
fanout_free_(fanout_t *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->stop = true;
    pthread_cond_broadcast(&f->go);
    pthread_mutex_unlock(&f->lock);
    for (unsigned i = 0; i < f->nthreads; i++)
        pthread_join(f->threads[i], NULL);
    pthread_cond_destroy(&f->done);
    pthread_cond_destroy(&f->go);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void
fanout_run(fanout_t *f, size_t n, fanout_fn fn, void *arg)
{
    job_t job = {.fn = fn, .arg = arg, .n = n};
    if (n <= 1 || f->nthreads == 0) {
        take_indices(&job);
        return;
    }
    pthread_mutex_lock(&f->lock);
    job.seq = ++f->seq;
    f->job = &job;
    pthread_cond_broadcast(&f->go);
    pthread_mutex_unlock(&f->lock);
    take_indices(&job);
    pthread_mutex_lock(&f->lock);
    f->job = NULL;
    while (job.joined)
        pthread_cond_wait(&f->done, &f->lock);
    pthread_mutex_unlock(&f->lock);
}

unsigned
fanout_helpers(const fanout_t *f)
{
    return f->nthreads;
}

unsigned
fanout_auto_helpers(unsigned max)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 1 ? LS_MIN((unsigned)(cpus - 1), max) : 0;
}
