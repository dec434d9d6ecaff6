#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/config/config.h"
#include "lib/err/err.h"
#include "net/ratelimit/ratelimit.h"

static peer_id_t
pid(unsigned i)
{
    uint8_t pk[32] = {0};
    peer_id_t id;
    pk[0] = (uint8_t)i;
    pk[1] = (uint8_t)(i >> 8);
    pk[2] = 0x33;
    peer_id_from_ed25519(&id, pk);
    return id;
}

typedef struct reports_t {
    size_t n;
    trust_event_t last;
    peer_id_t peer;
} reports_t;

static void
on_report(void *ctx, const peer_id_t *peer, trust_event_t ev)
{
    reports_t *r = ctx;
    r->n++;
    r->last = ev;
    r->peer = *peer;
}

static ratelimit_config_t
cfg_msgs(uint64_t per_sec, uint64_t burst)
{
    ratelimit_config_t c;
    ratelimit_config_default(&c);
    c.msgs_per_sec = per_sec;
    c.msg_burst = burst;
    c.bytes_per_sec = 0;
    return c;
}

static void
test_burst_then_exact_refill(void **state)
{
    (void)state;
    ratelimit_config_t c = cfg_msgs(10, 5);
    ratelimit_t *rl = ratelimit_new(&c, NULL);
    peer_id_t a = pid(1), b = pid(2);
    for (int i = 0; i < 5; i++)
        assert_true(ratelimit_allow(rl, &a, 100, 1000));
    assert_false(ratelimit_allow(rl, &a, 100, 1000));
    assert_true(ratelimit_allow(rl, &b, 100, 1000)); /* buckets are per peer */
    assert_false(ratelimit_allow(rl, &a, 1, 1099));  /* 10/s: one per 100 ms */
    assert_true(ratelimit_allow(rl, &a, 1, 1100));
    assert_false(ratelimit_allow(rl, &a, 1, 1100));
    assert_false(ratelimit_allow(rl, &a, 1, 1150)); /* half a token so far... */
    assert_true(ratelimit_allow(rl, &a, 1, 1200));  /* ... and the halves add up */
    /* A long silence refills only up to the burst. */
    for (int i = 0; i < 5; i++)
        assert_true(ratelimit_allow(rl, &a, 1, 1000000));
    assert_false(ratelimit_allow(rl, &a, 1, 1000000));
    ratelimit_stats_t st;
    ratelimit_stats(rl, &st);
    assert_int_equal(st.allowed, 5 + 1 + 1 + 1 + 5);
    assert_int_equal(st.refused, 5);
    assert_int_equal(st.peers, 2);
    ratelimit_free(rl);
    assert_null(rl);
    ratelimit_free_(NULL);
}

static void
test_bytes_limit(void **state)
{
    (void)state;
    ratelimit_config_t c;
    ratelimit_config_default(&c);
    c.msgs_per_sec = 0; /* only bytes */
    c.bytes_per_sec = 1000;
    c.byte_burst = 3000;
    ratelimit_t *rl = ratelimit_new(&c, NULL);
    peer_id_t a = pid(1);
    assert_false(ratelimit_allow(rl, &a, 3001, 0)); /* larger than the burst: never */
    assert_true(ratelimit_allow(rl, &a, 2000, 0));
    assert_false(ratelimit_allow(rl, &a, 1001, 0));
    assert_true(ratelimit_allow(rl, &a, 1000, 0));
    assert_false(ratelimit_allow(rl, &a, 1, 0));
    assert_true(ratelimit_allow(rl, &a, 500, 500));
    assert_false(ratelimit_allow(rl, &a, SIZE_MAX, 1000000));
    ratelimit_stats_t st;
    ratelimit_stats(rl, &st);
    assert_int_equal(st.refused, 4);
    ratelimit_free(rl);
}

static void
test_refusal_takes_nothing(void **state)
{
    (void)state;
    ratelimit_config_t c = cfg_msgs(1, 2);
    c.bytes_per_sec = 1;
    c.byte_burst = 10;
    ratelimit_t *rl = ratelimit_new(&c, NULL);
    peer_id_t a = pid(1);
    assert_false(ratelimit_allow(rl, &a, 11, 0)); /* bytes refuse: no message token taken */
    assert_true(ratelimit_allow(rl, &a, 5, 0));
    assert_true(ratelimit_allow(rl, &a, 5, 0));
    assert_false(ratelimit_allow(rl, &a, 0, 0)); /* messages refuse */
    ratelimit_free(rl);
}

static void
test_lru_bounds_memory(void **state)
{
    (void)state;
    ratelimit_config_t c = cfg_msgs(1, 1);
    c.max_peers = 2;
    ratelimit_t *rl = ratelimit_new(&c, NULL);
    peer_id_t a = pid(1), b = pid(2), d = pid(3);
    assert_true(ratelimit_allow(rl, &a, 0, 0));
    assert_true(ratelimit_allow(rl, &b, 0, 0));
    assert_false(ratelimit_allow(rl, &a, 0, 0)); /* a is now the most recent */
    assert_true(ratelimit_allow(rl, &d, 0, 0));  /* evicts b, the least recent */
    assert_false(ratelimit_allow(rl, &a, 0, 0)); /* a kept its (empty) bucket */
    ratelimit_stats_t st;
    ratelimit_stats(rl, &st);
    assert_int_equal(st.peers, 2);
    assert_int_equal(st.evicted, 1);
    for (unsigned i = 10; i < 1000; i++) {
        peer_id_t id = pid(i);
        ratelimit_allow(rl, &id, 0, 0);
    }
    ratelimit_stats(rl, &st);
    assert_int_equal(st.peers, 2);
    ratelimit_forget(rl, &a);
    ratelimit_forget(rl, &a);
    ratelimit_free(rl);
}

static void
test_forget_refills(void **state)
{
    (void)state;
    ratelimit_config_t c = cfg_msgs(1, 1);
    ratelimit_t *rl = ratelimit_new(&c, NULL);
    peer_id_t a = pid(1);
    assert_true(ratelimit_allow(rl, &a, 0, 0));
    assert_false(ratelimit_allow(rl, &a, 0, 0));
    ratelimit_forget(rl, &a);
    assert_true(ratelimit_allow(rl, &a, 0, 0));
    ratelimit_free(rl);
}

static void
test_reports_once_per_interval(void **state)
{
    (void)state;
    reports_t r = {0};
    trust_hook_t hook = {&r, on_report};
    ratelimit_config_t c = cfg_msgs(1, 1);
    c.report_interval_ms = 1000;
    ratelimit_t *rl = ratelimit_new(&c, &hook);
    peer_id_t a = pid(1);
    assert_true(ratelimit_allow(rl, &a, 0, 0));
    for (int i = 0; i < 100; i++)
        assert_false(ratelimit_allow(rl, &a, 0, 10)); /* a flood */
    assert_int_equal(r.n, 1);
    assert_int_equal(r.last, TRUST_RATE_LIMITED);
    assert_true(peer_id_equal(&r.peer, &a));
    assert_false(ratelimit_allow(rl, &a, 5000, 999)); /* (bytes are not limited here) */
    assert_int_equal(r.n, 1);
    ratelimit_allow(rl, &a, 0, 1005); /* takes the refilled token */
    assert_false(ratelimit_allow(rl, &a, 0, 1010));
    assert_int_equal(r.n, 2);
    ratelimit_stats_t st;
    ratelimit_stats(rl, &st);
    assert_int_equal(st.reported, 2);
    ratelimit_free(rl);
}

static void
test_clock_going_back(void **state)
{
    (void)state;
    ratelimit_config_t c = cfg_msgs(10, 1);
    ratelimit_t *rl = ratelimit_new(&c, NULL);
    peer_id_t a = pid(1);
    assert_true(ratelimit_allow(rl, &a, 0, 10000));
    assert_false(ratelimit_allow(rl, &a, 0, 5000)); /* no refill from the past */
    assert_false(ratelimit_allow(rl, &a, 0, 10099));
    assert_true(ratelimit_allow(rl, &a, 0, 10100));
    ratelimit_free(rl);
}

static void
test_huge_values_do_not_overflow(void **state)
{
    (void)state;
    ratelimit_config_t c;
    ratelimit_config_default(&c);
    c.msgs_per_sec = UINT64_MAX;
    c.msg_burst = UINT64_MAX;
    c.bytes_per_sec = UINT64_MAX;
    c.byte_burst = UINT64_MAX;
    ratelimit_t *rl = ratelimit_new(&c, NULL);
    peer_id_t a = pid(1);
    assert_true(ratelimit_allow(rl, &a, 1u << 30, 0));
    assert_true(ratelimit_allow(rl, &a, 1u << 30, UINT64_MAX));
    ratelimit_free(rl);
}

static const config_key_t schema[] = {
    {"profile", CONFIG_STRING, "\"default\"", 0, 0, NULL},
};

static void
test_profiles(void **state)
{
    (void)state;
    ratelimit_config_t d, c;
    ratelimit_config_default(&d);
    c = d;
    assert_int_equal(ratelimit_config_profile(&c, "high-throughput"), 0);
    assert_int_equal(c.msgs_per_sec, 2 * d.msgs_per_sec);
    c = d;
    assert_int_equal(ratelimit_config_profile(&c, "low-resource"), 0);
    assert_int_equal(c.bytes_per_sec, d.bytes_per_sec / 4);
    assert_int_equal(c.max_peers, 1024);
    c = d;
    assert_int_equal(ratelimit_config_profile(&c, "high-security"), 0);
    assert_int_equal(c.msg_burst, d.msg_burst / 2);
    assert_int_equal(ratelimit_config_profile(&c, "x"), LS_EINVAL);

    config_t *cfg = config_new(schema, 1);
    assert_int_equal(ratelimit_config_from(&c, cfg, NULL), 0);
    assert_int_equal(c.msgs_per_sec, d.msgs_per_sec);
    config_set(cfg, "profile", "low-resource", NULL);
    assert_int_equal(ratelimit_config_from(&c, cfg, NULL), 0);
    assert_int_equal(c.msgs_per_sec, d.msgs_per_sec / 4);
    config_set(cfg, "profile", "bogus", NULL);
    assert_int_equal(ratelimit_config_from(&c, cfg, NULL), LS_ECONFIG);
    config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_exact_refill),
        cmocka_unit_test(test_bytes_limit),
        cmocka_unit_test(test_refusal_takes_nothing),
        cmocka_unit_test(test_lru_bounds_memory),
        cmocka_unit_test(test_forget_refills),
        cmocka_unit_test(test_reports_once_per_interval),
        cmocka_unit_test(test_clock_going_back),
        cmocka_unit_test(test_huge_values_do_not_overflow),
        cmocka_unit_test(test_profiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
