#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/err/err.h"
#include "lib/workpool/workpool.h"

/* ---- shared fixtures ---- */

typedef struct job_rec_t {
    uint64_t input, output; /* written by work */
    pthread_t worker;       /* written by work */
    int work_runs;          /* written by work */
    int done_calls;         /* loop thread */
    bool cancelled;         /* loop thread */
} job_rec_t;

typedef struct ctx_t {
    struct event_base *base;
    workpool_t *pool;
    pthread_t loop_thread;
    size_t expected, done_total, cancelled_total;
    bool wrong_thread;
    job_rec_t *recs;
    /* gate for blocking jobs */
    pthread_mutex_t gate_lock;
    pthread_cond_t gate_cond;
    bool gate_open;
    int free_at; /* done index at which to free the pool, or -1 */
    int submit_rc_in_free;
} ctx_t;

static ctx_t *g_ctx; /* jobs reach the context through it; one test at a time */

static void
hash_work(void *arg)
{
    job_rec_t *r = arg;
    uint64_t x = r->input;
    for (int i = 0; i < 200; i++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    r->output = x;
    r->worker = pthread_self();
    r->work_runs++;
}

static void
record_done(void *arg, bool cancelled)
{
    ctx_t *c = g_ctx;
    job_rec_t *r = arg;
    if (!pthread_equal(pthread_self(), c->loop_thread))
        c->wrong_thread = true;
    r->done_calls++;
    r->cancelled = cancelled;
    c->done_total++;
    c->cancelled_total += cancelled;
    if (c->free_at >= 0 && (size_t)(r - c->recs) == (size_t)c->free_at) {
        workpool_free(c->pool);
        c->pool = NULL;
    }
    if (c->done_total == c->expected)
        event_base_loopbreak(c->base);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* Run the loop until loopbreak, with a 60 s guard against hangs. */
static void
run_loop(ctx_t *c)
{
    struct timeval tv = {60, 0};
    struct event *guard = evtimer_new(c->base, on_timeout, c->base);
    evtimer_add(guard, &tv);
    event_base_dispatch(c->base);
    event_free(guard);
}

static int
setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    c->base = event_base_new();
    c->loop_thread = pthread_self();
    c->free_at = -1;
    pthread_mutex_init(&c->gate_lock, NULL);
    pthread_cond_init(&c->gate_cond, NULL);
    g_ctx = c;
    *state = c;
    return 0;
}

static int
teardown(void **state)
{
    ctx_t *c = *state;
    workpool_free(c->pool);
    event_base_free(c->base);
    pthread_mutex_destroy(&c->gate_lock);
    pthread_cond_destroy(&c->gate_cond);
    free(c->recs);
    free(c);
    g_ctx = NULL;
    return 0;
}

/* ---- tests ---- */

static void
test_workpool_ten_thousand_jobs(void **state)
{
    ctx_t *c = *state;
    enum { N = 10000 };
    c->pool = workpool_new(c->base, 4);
    assert_int_equal(workpool_threads(c->pool), 4);
    workpool_set_limit(c->pool, N);
    c->recs = calloc(N, sizeof *c->recs);
    c->expected = N;
    for (size_t i = 0; i < N; i++) {
        c->recs[i].input = i;
        assert_int_equal(workpool_submit(c->pool, hash_work, record_done, &c->recs[i]), 0);
    }
    assert_int_equal(workpool_submit(c->pool, hash_work, record_done, &c->recs[0]), LS_ELIMIT);
    run_loop(c);
    assert_int_equal(c->done_total, N);
    assert_false(c->wrong_thread);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(c->recs[i].work_runs, 1);
        assert_int_equal(c->recs[i].done_calls, 1);
        assert_false(c->recs[i].cancelled);
        assert_false(pthread_equal(c->recs[i].worker, c->loop_thread));
        assert_true(c->recs[i].output != 0);
    }
    uint64_t q, r, done;
    workpool_stats(c->pool, &q, &r, &done);
    assert_int_equal(q, 0);
    assert_int_equal(r, 0);
    assert_int_equal(done, N);
    workpool_stats(c->pool, NULL, NULL, NULL);
}

static void
gated_work(void *arg)
{
    ctx_t *c = g_ctx;
    pthread_mutex_lock(&c->gate_lock);
    while (!c->gate_open)
        pthread_cond_wait(&c->gate_cond, &c->gate_lock);
    pthread_mutex_unlock(&c->gate_lock);
    hash_work(arg);
}

static void
open_gate(ctx_t *c)
{
    pthread_mutex_lock(&c->gate_lock);
    c->gate_open = true;
    pthread_cond_broadcast(&c->gate_cond);
    pthread_mutex_unlock(&c->gate_lock);
}

static void
test_workpool_queue_full(void **state)
{
    ctx_t *c = *state;
    c->pool = workpool_new(c->base, 1);
    workpool_set_limit(c->pool, 4);
    c->recs = calloc(8, sizeof *c->recs);
    for (int i = 0; i < 4; i++)
        assert_int_equal(workpool_submit(c->pool, gated_work, record_done, &c->recs[i]), 0);
    assert_int_equal(workpool_submit(c->pool, gated_work, record_done, &c->recs[4]), LS_ELIMIT);
    uint64_t q = 0, r = 0;
    for (int spins = 0; spins < 5000 && r != 1; spins++) {
        usleep(1000);
        workpool_stats(c->pool, &q, &r, NULL);
    }
    assert_int_equal(r, 1);
    assert_int_equal(q, 3);

    open_gate(c);
    c->expected = 4;
    run_loop(c);
    assert_int_equal(c->done_total, 4);
    /* room again */
    assert_int_equal(workpool_submit(c->pool, gated_work, record_done, &c->recs[4]), 0);
    c->expected = 5;
    run_loop(c);
    assert_int_equal(c->recs[4].done_calls, 1);
    workpool_set_limit(c->pool, 0); /* clamps to 1 */
    assert_int_equal(workpool_submit(c->pool, hash_work, NULL, &c->recs[5]), 0);
    assert_int_equal(workpool_submit(c->pool, hash_work, NULL, &c->recs[6]), LS_ELIMIT);
    assert_int_equal(workpool_submit(c->pool, NULL, NULL, NULL), LS_EINVAL);
}

static void *
open_gate_later(void *arg)
{
    usleep(20000);
    open_gate(arg);
    return NULL;
}

static void
wait_for_stats(workpool_t *pool, uint64_t running, uint64_t completed)
{
    uint64_t r = 0, done = 0;
    for (int spins = 0; spins < 10000 && (r != running || done != completed); spins++) {
        usleep(1000);
        workpool_stats(pool, NULL, &r, &done);
    }
    assert_int_equal(r, running);
    assert_int_equal(done, completed);
}

/* Free with 10 jobs finished but not delivered, 2 running (free waits for them)
 * and 50 never started: all 62 `done`s run once, exactly the 50 cancelled. */
static void
test_workpool_free_with_pending(void **state)
{
    ctx_t *c = *state;
    enum { FINISHED = 10, RUNNING = 2, QUEUED = 50, N = FINISHED + RUNNING + QUEUED };
    c->pool = workpool_new(c->base, RUNNING);
    c->recs = calloc(N, sizeof *c->recs);
    c->expected = N + 1; /* never reached: no loopbreak during free */
    size_t i = 0;
    for (; i < FINISHED; i++)
        assert_int_equal(workpool_submit(c->pool, hash_work, record_done, &c->recs[i]), 0);
    wait_for_stats(c->pool, 0, FINISHED); /* the loop never runs: none delivered */
    for (; i < FINISHED + RUNNING; i++)
        assert_int_equal(workpool_submit(c->pool, gated_work, record_done, &c->recs[i]), 0);
    wait_for_stats(c->pool, RUNNING, FINISHED);
    for (; i < N; i++)
        assert_int_equal(workpool_submit(c->pool, hash_work, record_done, &c->recs[i]), 0);

    pthread_t opener;
    assert_int_equal(pthread_create(&opener, NULL, open_gate_later, c), 0);
    workpool_free(c->pool); /* blocks until the gate opens and the 2 jobs return */
    pthread_join(opener, NULL);
    assert_null(c->pool);
    assert_int_equal(c->done_total, N);
    assert_int_equal(c->cancelled_total, QUEUED);
    assert_false(c->wrong_thread);
    for (i = 0; i < N; i++) {
        assert_int_equal(c->recs[i].done_calls, 1);
        assert_int_equal(c->recs[i].cancelled, i >= FINISHED + RUNNING);
        assert_int_equal(c->recs[i].work_runs, c->recs[i].cancelled ? 0 : 1);
    }
    workpool_free(c->pool); /* NULL: no-op */
}

/* The first job's `done` frees the pool while both workers are blocked in gated
 * jobs and the rest wait: every other `done` still runs exactly once. */
static void
test_workpool_free_from_done_callback(void **state)
{
    ctx_t *c = *state;
    enum { N = 400 };
    c->pool = workpool_new(c->base, 2);
    c->recs = calloc(N, sizeof *c->recs);
    c->expected = N;
    assert_int_equal(workpool_submit(c->pool, hash_work, record_done, &c->recs[0]), 0);
    for (size_t i = 1; i < N; i++)
        assert_int_equal(workpool_submit(c->pool, gated_work, record_done, &c->recs[i]), 0);
    wait_for_stats(c->pool, 2, 1); /* job 0 finished, both workers gated */
    c->free_at = 0;
    pthread_t opener;
    assert_int_equal(pthread_create(&opener, NULL, open_gate_later, c), 0);
    run_loop(c);
    pthread_join(opener, NULL);
    assert_null(c->pool);
    assert_int_equal(c->done_total, N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(c->recs[i].done_calls, 1);
    assert_int_equal(c->cancelled_total, N - 3); /* job 0 and the two gated ones ran */
}

static workpool_t *chain_pool;
static int chain_left;

static void
chain_done(void *arg, bool cancelled)
{
    ctx_t *c = g_ctx;
    (void)arg;
    assert_false(cancelled);
    if (--chain_left > 0) {
        assert_int_equal(workpool_submit(chain_pool, hash_work, chain_done, &c->recs[0]), 0);
    } else {
        assert_int_equal(workpool_submit(chain_pool, hash_work, NULL, &c->recs[1]), 0);
        workpool_free(chain_pool); /* from a done callback, with a job pending */
        event_base_loopbreak(c->base);
    }
}

static void
refuse_done(void *arg, bool cancelled)
{
    (void)arg;
    (void)cancelled;
    g_ctx->submit_rc_in_free = workpool_submit(chain_pool, hash_work, NULL, NULL);
}

static void
test_workpool_chained_submit_and_closed(void **state)
{
    ctx_t *c = *state;
    c->recs = calloc(2, sizeof *c->recs);
    chain_pool = workpool_new(c->base, 0); /* one per CPU */
    assert_true(workpool_threads(chain_pool) >= 1);
    chain_left = 50;
    assert_int_equal(workpool_submit(chain_pool, hash_work, chain_done, &c->recs[0]), 0);
    run_loop(c);
    assert_int_equal(chain_left, 0);
    assert_int_equal(c->recs[0].work_runs, 50);

    chain_pool = workpool_new(c->base, 1);
    c->gate_open = false;
    assert_int_equal(workpool_submit(chain_pool, gated_work, NULL, &c->recs[0]), 0);
    assert_int_equal(workpool_submit(chain_pool, hash_work, refuse_done, &c->recs[1]), 0);
    open_gate(c);
    workpool_free(chain_pool);
    assert_int_equal(c->submit_rc_in_free, LS_ECLOSED);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_workpool_ten_thousand_jobs),         T(test_workpool_queue_full),
        T(test_workpool_free_with_pending),         T(test_workpool_free_from_done_callback),
        T(test_workpool_chained_submit_and_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
