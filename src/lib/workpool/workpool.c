/* workpool — worker threads with completions delivered on the event loop.
 *
 * Locking: `lock` guards the queue, the finished list, the counters and
 * `stopping`; workers touch nothing else. The fields marked "loop thread" are
 * only touched by the thread running the event_base. */
#define LOG_MODULE "workpool"
#include "lib/workpool/workpool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/err/err.h"
#include "lib/log/log.h"
#include "lib/mem/mem.h"

typedef struct job_t {
    struct job_t *next;
    workpool_work_fn work;
    workpool_done_fn done;
    void *arg;
    bool cancelled;
} job_t;

typedef struct job_list_t {
    job_t *head, *tail;
} job_list_t;

struct workpool_t {
    struct event_base *base; /* borrowed */
    struct event *ev;        /* readable end of the pipe */
    int pipe_rd, pipe_wr;
    pthread_t *threads;
    unsigned nthreads;

    pthread_mutex_t lock;
    pthread_cond_t cond;                    /* signalled when a job is queued or on stop */
    job_list_t queue;                       /* lock: not started */
    job_list_t finished;                    /* lock: work returned, not yet taken by the loop */
    uint64_t nqueued, nrunning, ncompleted; /* lock */
    bool stopping;                          /* lock: workers exit instead of starting jobs */

    job_list_t ready;     /* loop thread: taken from `finished`, done not yet run */
    size_t in_flight;     /* loop thread: submitted, done not yet run */
    size_t limit;         /* loop thread */
    bool closed;          /* loop thread: workpool_free_ has begun */
    bool dispatching;     /* loop thread: inside run_ready() */
    bool release_pending; /* loop thread: free was called from a done callback */
};

/* ---- lists ---- */

static void
list_push(job_list_t *l, job_t *j)
{
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
}

static job_t *
list_pop(job_list_t *l)
{
    job_t *j = l->head;
    if (j && !(l->head = j->next))
        l->tail = NULL;
    return j;
}

/* Move all of `from` to the end of `to`. */
static void
list_splice(job_list_t *to, job_list_t *from)
{
    if (!from->head)
        return;
    if (to->tail)
        to->tail->next = from->head;
    else
        to->head = from->head;
    to->tail = from->tail;
    from->head = from->tail = NULL;
}

/* ---- workers ---- */

static void
notify_loop(workpool_t *pool)
{
    /* EAGAIN means the pipe already holds unread bytes: the loop will wake anyway */
    ssize_t n;
    do
        n = write(pool->pipe_wr, "", 1);
    while (n < 0 && errno == EINTR);
}

static void *
worker_main(void *p)
{
    workpool_t *pool = p;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->stopping && !pool->queue.head)
            pthread_cond_wait(&pool->cond, &pool->lock);
        if (pool->stopping)
            break;
        job_t *job = list_pop(&pool->queue);
        pool->nqueued--;
        pool->nrunning++;
        pthread_mutex_unlock(&pool->lock);

        job->work(job->arg);

        pthread_mutex_lock(&pool->lock);
        pool->nrunning--;
        pool->ncompleted++;
        bool was_empty = !pool->finished.head;
        list_push(&pool->finished, job);
        if (was_empty) /* one wake-up per batch, not per job */
            notify_loop(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* ---- the loop side ---- */

static void
release(workpool_t *pool)
{
    event_free(pool->ev);
    close(pool->pipe_rd);
    close(pool->pipe_wr);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->cond);
    free(pool->threads);
    free(pool);
}

/* Run up to `max` done callbacks from `ready`. Returns true if the pool was freed
 * by one of them and is released now: the caller must not touch it again. */
static bool
run_ready(workpool_t *pool, size_t max)
{
    bool outer = !pool->dispatching;
    pool->dispatching = true;
    for (size_t n = 0; n < max && !pool->release_pending; n++) {
        job_t *job = list_pop(&pool->ready);
        if (!job)
            break;
        pool->in_flight--;
        workpool_done_fn done = job->done;
        void *arg = job->arg;
        bool cancelled = job->cancelled;
        free(job);
        if (done)
            done(arg, cancelled);
    }
    if (!outer)
        return false;
    pool->dispatching = false;
    if (pool->release_pending) {
        release(pool);
        return true;
    }
    return false;
}

static void
on_notify(evutil_socket_t fd, short what, void *arg)
{
    workpool_t *pool = arg;
    (void)what;
    /* Drain the pipe before taking the list: a job finished after the take then
     * writes a new byte, so no completion is ever left without a wake-up. */
    char sink[256];
    while (read(fd, sink, sizeof sink) > 0)
        ;
    pthread_mutex_lock(&pool->lock);
    list_splice(&pool->ready, &pool->finished);
    pthread_mutex_unlock(&pool->lock);
    if (run_ready(pool, WORKPOOL_DONE_BATCH))
        return;
    if (pool->ready.head) /* more than a batch: continue on the next loop turn */
        event_active(pool->ev, EV_READ, 0);
}

/* ---- life cycle ---- */

static unsigned
cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static void
start_threads(workpool_t *pool)
{
    /* Workers inherit the mask: block everything so signals go to the loop thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pool->threads = ls_calloc(pool->nthreads, sizeof *pool->threads);
    for (unsigned i = 0; i < pool->nthreads; i++) {
        int rc = pthread_create(&pool->threads[i], NULL, worker_main, pool);
        if (rc != 0) {
            log_error("cannot start worker thread: %s", strerror(rc));
            abort();
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

workpool_t *
workpool_new(struct event_base *base, unsigned nthreads)
{
    workpool_t *pool = ls_calloc(1, sizeof *pool);
    pool->base = base;
    pool->nthreads = LS_MIN(nthreads ? nthreads : cpu_count(), WORKPOOL_MAX_THREADS);
    pool->limit = WORKPOOL_DEFAULT_LIMIT;
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
        log_error("cannot create the worker pool's pipe: %s", strerror(errno));
        abort();
    }
    pool->pipe_rd = fds[0];
    pool->pipe_wr = fds[1];
    pool->ev = event_new(base, pool->pipe_rd, EV_READ | EV_PERSIST, on_notify, pool);
    if (!pool->ev || event_add(pool->ev, NULL) < 0) {
        log_error("cannot register the worker pool with the event loop");
        abort();
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->cond, NULL);
    start_threads(pool);
    return pool;
}

void
workpool_free_(workpool_t *pool)
{
    if (!pool || pool->closed)
        return; /* NULL, or called again by a done callback run by this free */
    pool->closed = true;
    job_list_t cancelled = {NULL, NULL};
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    list_splice(&cancelled, &pool->queue);
    pool->nqueued = 0;
    pthread_cond_broadcast(&pool->cond);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL); /* waits for running jobs */

    /* No workers now: finished jobs first, then the cancelled ones. */
    event_del(pool->ev);
    list_splice(&pool->ready, &pool->finished);
    for (job_t *j = cancelled.head; j; j = j->next)
        j->cancelled = true;
    list_splice(&pool->ready, &cancelled);
    if (pool->dispatching) {
        /* called from a done callback: run the rest now, release when it returns */
        run_ready(pool, SIZE_MAX);
        pool->release_pending = true;
        return;
    }
    run_ready(pool, SIZE_MAX);
    release(pool);
}

int
workpool_submit(workpool_t *pool, workpool_work_fn work, workpool_done_fn done, void *arg)
{
    if (!work)
        return LS_EINVAL;
    if (pool->closed)
        return LS_ECLOSED;
    if (pool->in_flight >= pool->limit)
        return LS_ELIMIT;
    job_t *job = ls_malloc(sizeof *job);
    *job = (job_t){.work = work, .done = done, .arg = arg};
    pthread_mutex_lock(&pool->lock);
    list_push(&pool->queue, job);
    pool->nqueued++;
    pthread_cond_signal(&pool->cond);
    pthread_mutex_unlock(&pool->lock);
    pool->in_flight++;
    return 0;
}

void
workpool_set_limit(workpool_t *pool, size_t limit)
{
    pool->limit = limit ? limit : 1;
}

void
workpool_stats(workpool_t *pool, uint64_t *queued, uint64_t *running, uint64_t *completed)
{
    pthread_mutex_lock(&pool->lock);
    if (queued)
        *queued = pool->nqueued;
    if (running)
        *running = pool->nrunning;
    if (completed)
        *completed = pool->ncompleted;
    pthread_mutex_unlock(&pool->lock);
}

unsigned
workpool_threads(const workpool_t *pool)
{
    return pool->nthreads;
}
