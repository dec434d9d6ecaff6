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

#include "lib/fanout/fanout.h"

#define N 4096

typedef struct calls_t {
    atomic_int count[N];
    atomic_int threads_seen; /* calls not made by the caller */
    pthread_t caller;
    unsigned spin;           /* work per call, to let helpers join */
} calls_t;

static _Thread_local volatile unsigned g_sink; /* the calls' busy work writes here */

static void
count_call(void *arg, size_t i)
{
    calls_t *c = arg;
    atomic_fetch_add(&c->count[i], 1);
    if (!pthread_equal(pthread_self(), c->caller))
        atomic_fetch_add(&c->threads_seen, 1);
    for (unsigned k = 0; k < c->spin; k++)
        g_sink = g_sink + k; /* volatile: every step is done */
}

static void
run_and_check(fanout_t *f, calls_t *c, size_t n)
{
    memset(c->count, 0, sizeof c->count);
    fanout_run(f, n, count_call, c);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(atomic_load(&c->count[i]), i < n ? 1 : 0);
}

/* Every index runs exactly once, for any helper count and batch size. */
static void
test_fanout_each_index_once(void **state)
{
    (void)state;
    static calls_t c;
    c.caller = pthread_self();
    c.spin = 2000;
    for (unsigned h = 0; h <= 3; h++) {
        fanout_t *f = fanout_new(h);
        assert_int_equal(fanout_helpers(f), h);
        atomic_store(&c.threads_seen, 0);
        for (size_t n = 0; n <= 9; n++)
            run_and_check(f, &c, n);
        run_and_check(f, &c, N);
        if (h == 0)
            assert_int_equal(atomic_load(&c.threads_seen), 0); /* all inline */
        fanout_free(f);
    }
}

/* Many short batches back to back: a helper that wakes late must never run a
 * call of the batch it missed (the job lives on the caller's stack) nor one twice. */
static void
test_fanout_back_to_back_batches(void **state)
{
    (void)state;
    static calls_t c;
    c.caller = pthread_self();
    c.spin = 0;
    fanout_t *f = fanout_new(2);
    for (int round = 0; round < 20000; round++)
        run_and_check(f, &c, 2 + (size_t)(round % 5));
    fanout_free(f);
}

/* With enough work per call the helpers take part. */
static void
test_fanout_helpers_work(void **state)
{
    (void)state;
    static calls_t c;
    c.caller = pthread_self();
    c.spin = 200000;
    atomic_store(&c.threads_seen, 0);
    fanout_t *f = fanout_new(1);
    for (int round = 0; round < 50 && atomic_load(&c.threads_seen) == 0; round++)
        run_and_check(f, &c, 64);
    assert_true(atomic_load(&c.threads_seen) > 0);
    fanout_free(f);
    assert_true(fanout_auto_helpers(0) == 0);
    assert_true(fanout_auto_helpers(3) <= 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fanout_each_index_once),
        cmocka_unit_test(test_fanout_back_to_back_batches),
        cmocka_unit_test(test_fanout_helpers_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
