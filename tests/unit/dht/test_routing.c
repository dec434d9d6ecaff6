#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dht/kad_routing.h"
#include "lib/crypto/random.h"
#include "lib/err/err.h"
#include "lib/peerid/peerid.h"

static peer_id_t self;

static void
random_peer(peer_id_t *out)
{
    uint8_t pk[32];
    random_bytes(pk, sizeof pk);
    peer_id_from_ed25519(out, pk);
}

/* A random peer whose key lands in bucket `cpl` of `self`'s table. */
static void
peer_in_bucket(const routing_t *rt, unsigned cpl, peer_id_t *out)
{
    kad_key_t k;
    do {
        random_peer(out);
        kad_key_from_peer(&k, out);
    } while (kad_key_cpl(&k, routing_self_key(rt)) != cpl);
}

/* Address list holding /ip4/a.b.c.d/tcp/4001. */
static size_t
ip4_addrs(uint8_t out[KAD_ADDRS_MAX], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    const uint8_t ma[] = {0x04, a, b, c, d, 0x06, 0x0f, 0xa1};
    size_t len = 0;
    assert_true(kad_addrs_add(out, &len, ma, sizeof ma));
    return len;
}

static int
setup(void **state)
{
    (void)state;
    random_peer(&self);
    return 0;
}

static void
test_keys(void **state)
{
    (void)state;
    kad_key_t a = {{0}}, b = {{0}}, t = {{0}};
    assert_int_equal(kad_key_cpl(&a, &b), 256);
    b.b[0] = 0x80;
    assert_int_equal(kad_key_cpl(&a, &b), 0);
    b.b[0] = 0x00, b.b[1] = 0x01;
    assert_int_equal(kad_key_cpl(&a, &b), 15);
    a.b[31] = 1;
    assert_true(kad_key_cmp_dist(&t, &a, &b) < 0);
    assert_int_equal(kad_key_cmp_dist(&t, &a, &a), 0);
}

static void
test_full_bucket_pings_lru_then_replaces(void **state)
{
    (void)state;
    routing_t *rt = routing_new(&self, NULL);
    peer_id_t peers[21], ping;
    for (int i = 0; i < 20; i++) {
        peer_in_bucket(rt, 0, &peers[i]);
        assert_int_equal(routing_seen(rt, 1000 + i, &peers[i], NULL, 0, NULL), ROUTING_ADDED);
    }
    assert_int_equal(routing_seen(rt, 2000, &peers[3], NULL, 0, NULL), ROUTING_UPDATED);
    peer_in_bucket(rt, 0, &peers[20]);
    /* full: the newcomer waits, the least recently seen (peers[0]) must be pinged */
    assert_int_equal(routing_seen(rt, 3000, &peers[20], NULL, 0, &ping), ROUTING_CACHED + 10);
    assert_true(peer_id_equal(&ping, &peers[0]));
    assert_null(routing_find(rt, &peers[20]));
    /* a second newcomer does not trigger a second ping while one is pending */
    peer_id_t other;
    peer_in_bucket(rt, 0, &other);
    assert_int_equal(routing_seen(rt, 3001, &other, NULL, 0, &ping), ROUTING_CACHED);
    /* the ping fails: peers[0] goes, the freshest replacement comes in */
    assert_int_equal(routing_failed(rt, &peers[0]), 1);
    assert_null(routing_find(rt, &peers[0]));
    assert_non_null(routing_find(rt, &other));
    size_t spare;
    assert_int_equal(routing_bucket_size(rt, 0, &spare), 20);
    assert_int_equal(spare, 1);
    assert_int_equal(routing_size(rt), 20);
    routing_free(rt);
}

static void
test_answered_ping_keeps_entry(void **state)
{
    (void)state;
    routing_t *rt = routing_new(&self, NULL);
    peer_id_t peers[21], ping;
    for (int i = 0; i < 21; i++)
        peer_in_bucket(rt, 0, &peers[i]);
    for (int i = 0; i < 20; i++)
        routing_seen(rt, 10 + i, &peers[i], NULL, 0, NULL);
    assert_int_equal(routing_seen(rt, 100, &peers[20], NULL, 0, &ping), ROUTING_CACHED + 10);
    assert_int_equal(routing_seen(rt, 101, &ping, NULL, 0, NULL), ROUTING_UPDATED);
    assert_non_null(routing_find(rt, &peers[0]));
    assert_null(routing_find(rt, &peers[20]));
    /* one failure of an ordinary entry is tolerated, the second evicts (max_fails 2) */
    assert_int_equal(routing_failed(rt, &peers[5]), 0);
    assert_int_equal(routing_failed(rt, &peers[5]), 1);
    assert_non_null(routing_find(rt, &peers[20]));
    assert_int_equal(routing_failed(rt, &self), LS_ENOENT);
    assert_int_equal(routing_seen(rt, 1, &self, NULL, 0, NULL), LS_EINVAL);
    routing_free(rt);
}

static void
test_ip_group_limits(void **state)
{
    (void)state;
    routing_config_t cfg;
    routing_config_default(&cfg);
    uint8_t addrs[KAD_ADDRS_MAX];
    peer_id_t p;

    /* public /24: two per bucket */
    routing_t *rt = routing_new(&self, &cfg);
    for (int i = 0; i < 2; i++) {
        peer_in_bucket(rt, 0, &p);
        size_t n = ip4_addrs(addrs, 8, 8, 8, (uint8_t)i);
        assert_int_equal(routing_seen(rt, 1, &p, addrs, n, NULL), ROUTING_ADDED);
    }
    peer_in_bucket(rt, 0, &p);
    size_t n = ip4_addrs(addrs, 8, 8, 8, 77);
    assert_int_equal(routing_seen(rt, 1, &p, addrs, n, NULL), LS_ELIMIT);
    n = ip4_addrs(addrs, 8, 8, 9, 77); /* another /24 is fine */
    assert_int_equal(routing_seen(rt, 1, &p, addrs, n, NULL), ROUTING_ADDED);
    /* loopback is exempt by default */
    for (int i = 0; i < 5; i++) {
        peer_in_bucket(rt, 0, &p);
        n = ip4_addrs(addrs, 127, 0, 0, 1);
        assert_int_equal(routing_seen(rt, 1, &p, addrs, n, NULL), ROUTING_ADDED);
    }
    routing_free(rt);

    /* with limit_private, 200 Sybils from one /24 get at most 10 slots in the table */
    cfg.limit_private = true;
    rt = routing_new(&self, &cfg);
    size_t added = 0;
    for (int i = 0; i < 200; i++) {
        random_peer(&p);
        n = ip4_addrs(addrs, 127, 0, 0, (uint8_t)i);
        added += routing_seen(rt, 1, &p, addrs, n, NULL) == ROUTING_ADDED;
    }
    assert_true(added <= cfg.group_per_table);
    assert_true(routing_bucket_size(rt, 0, NULL) <= cfg.group_per_bucket);
    routing_free(rt);
}

static void
test_closest_matches_brute_force(void **state)
{
    (void)state;
    routing_t *rt = routing_new(&self, NULL);
    enum { N = 300 };
    peer_id_t *peers = calloc(N, sizeof *peers);
    for (int i = 0; i < N; i++) {
        random_peer(&peers[i]);
        routing_seen(rt, 1, &peers[i], NULL, 0, NULL);
    }
    /* many targets: an early stop in the wrong place shows up only for some */
    for (int round = 0; round < 500; round++) {
        kad_key_t target;
        random_bytes(target.b, sizeof target.b);
        const routing_entry_t *out[20];
        size_t got = routing_closest(rt, &target, 20, out);
        assert_int_equal(got, LS_MIN(20, routing_size(rt)));
        for (size_t i = 1; i < got; i++)
            assert_true(kad_key_cmp_dist(&target, &out[i - 1]->key, &out[i]->key) < 0);
        /* nothing in the table is closer than the last one returned unless returned */
        size_t closer = 0;
        for (int i = 0; i < N; i++) {
            const routing_entry_t *e = routing_find(rt, &peers[i]);
            if (e && kad_key_cmp_dist(&target, &e->key, &out[got - 1]->key) <= 0)
                closer++;
        }
        assert_int_equal(closer, got);
    }
    free(peers);
    routing_free(rt);
}

static void
test_refresh_due(void **state)
{
    (void)state;
    routing_t *rt = routing_new(&self, NULL);
    assert_int_equal(routing_refresh_due(rt, 1000, 600), 0);
    peer_id_t p;
    peer_in_bucket(rt, 2, &p);
    routing_seen(rt, 1, &p, NULL, 0, NULL);
    for (unsigned c = 0; c <= 3; c++)
        routing_mark_refreshed(rt, c, 1000);
    assert_int_equal(routing_refresh_due(rt, 1500, 600), -1);
    routing_mark_refreshed(rt, 1, 100);
    assert_int_equal(routing_refresh_due(rt, 1500, 600), 1);
    assert_int_equal(routing_refresh_due(rt, 1600, 600), 0);
    routing_free(rt);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_full_bucket_pings_lru_then_replaces),
        cmocka_unit_test(test_answered_ping_keeps_entry),
        cmocka_unit_test(test_ip_group_limits),
        cmocka_unit_test(test_closest_matches_brute_force),
        cmocka_unit_test(test_refresh_due),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
