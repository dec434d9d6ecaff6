#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "lib/db/db.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "net/migrations/net_migrations.h"
#include "net/peerstore/peerstore.h"
#include "net/peerstore/peerstore_internal.h"

#define DAY (24ull * 3600 * 1000)
#define T0 (1700000000000ull) /* Unix ms */

static peer_id_t
pid(unsigned i)
{
    uint8_t pk[32] = {0};
    peer_id_t id;
    pk[0] = (uint8_t)i;
    pk[1] = (uint8_t)(i >> 8);
    pk[2] = 0xA5;
    peer_id_from_ed25519(&id, pk);
    return id;
}

static multiaddr_t *
ma(const char *s)
{
    multiaddr_t *m = NULL;
    assert_int_equal(multiaddr_parse(s, &m), 0);
    return m;
}

static multiaddr_t *
ma_port(unsigned port)
{
    char s[64];
    snprintf(s, sizeof s, "/ip4/10.0.0.1/tcp/%u", port);
    return ma(s);
}

static int
add1(peerstore_t *ps, const peer_id_t *id, unsigned port, uint64_t now)
{
    multiaddr_t *m = ma_port(port);
    int rc = peerstore_add_addrs(ps, id, (const multiaddr_t *const *)&m, 1, now);
    multiaddr_free(m);
    return rc;
}

static peerstore_t *
small_store(size_t max_peers, size_t max_addrs)
{
    peerstore_config_t cfg;
    peerstore_config_default(&cfg, 0.5);
    cfg.max_peers = max_peers;
    cfg.max_addrs = max_addrs;
    return peerstore_new_with(NULL, &cfg);
}

/* ---- memory ---- */

static void
test_add_and_view(void **state)
{
    (void)state;
    peerstore_t *ps = peerstore_new(NULL, 0.5);
    peer_id_t a = pid(1), b = pid(2);
    char *a_str = peer_id_to_str(&a), *b_str = peer_id_to_str(&b);
    char with_p2p[256], other_p2p[256];
    snprintf(with_p2p, sizeof with_p2p, "/ip4/1.2.3.4/tcp/4001/p2p/%s", a_str);
    snprintf(other_p2p, sizeof other_p2p, "/ip4/5.6.7.8/tcp/4001/p2p/%s", b_str);
    multiaddr_t *addrs[3] = {ma(with_p2p), ma(other_p2p), ma("/ip6/::1/tcp/9")};

    assert_int_equal(peerstore_add_addrs(ps, &a, (const multiaddr_t *const *)addrs, 3, T0), 2);
    assert_int_equal(peerstore_add_addrs(ps, &a, (const multiaddr_t *const *)addrs, 3, T0), 0);
    peer_view_t v;
    assert_true(peerstore_get(ps, &a, &v));
    assert_false(peerstore_has(ps, &b));
    assert_int_equal(v.n_addrs, 2);
    char *s0 = multiaddr_to_str(v.addrs[0]), *s1 = multiaddr_to_str(v.addrs[1]);
    assert_string_equal(s0, "/ip6/::1/tcp/9");        /* newest first */
    assert_string_equal(s1, "/ip4/1.2.3.4/tcp/4001"); /* /p2p stripped */
    assert_true(v.trust == 0.5);
    assert_int_equal(v.state, PEER_STATE_KNOWN);
    assert_int_equal(v.last_seen, 0);
    assert_null(v.agent);
    assert_null(v.pubkey);
    assert_int_equal(peerstore_count(ps), 1);

    peer_id_t empty = {0};
    assert_int_equal(peerstore_add_addrs(ps, &empty, NULL, 0, T0), LS_EINVAL);
    assert_string_equal(peer_state_name(PEER_STATE_ACTIVE), "active");

    free(s0);
    free(s1);
    free(a_str);
    free(b_str);
    for (int i = 0; i < 3; i++)
        multiaddr_free(addrs[i]);
    peerstore_free(ps);
    assert_null(ps);
    peerstore_free_(NULL);
}

static void
test_addr_limit_and_confirm(void **state)
{
    (void)state;
    peerstore_t *ps = small_store(10, 3);
    peer_id_t a = pid(1);
    for (unsigned p = 1; p <= 5; p++)
        assert_int_equal(add1(ps, &a, p, T0), 1);
    peer_view_t v;
    assert_true(peerstore_get(ps, &a, &v));
    assert_int_equal(v.n_addrs, 3); /* 5, 4, 3: the oldest dropped */
    multiaddr_t *m3 = ma_port(3), *m4 = ma_port(4), *m9 = ma_port(9);
    assert_true(multiaddr_equal(v.addrs[2], m3));

    /* A confirmed address goes first and survives churn. */
    assert_int_equal(peerstore_confirm_addr(ps, &a, m3, T0), 0);
    for (unsigned p = 10; p <= 14; p++)
        add1(ps, &a, p, T0);
    assert_true(peerstore_get(ps, &a, &v));
    assert_true(v.addr0_confirmed);
    assert_true(multiaddr_equal(v.addrs[0], m3));
    assert_int_equal(v.n_addrs, 3);

    /* Confirming a new address puts it first too. */
    assert_int_equal(peerstore_confirm_addr(ps, &a, m9, T0), 0);
    assert_true(peerstore_get(ps, &a, &v));
    assert_true(multiaddr_equal(v.addrs[0], m9));
    assert_true(multiaddr_equal(v.addrs[1], m3));
    (void)m4;

    multiaddr_free(m3);
    multiaddr_free(m4);
    multiaddr_free(m9);
    peerstore_free(ps);
}

static void
test_addr_too_long_skipped(void **state)
{
    (void)state;
    peerstore_config_t cfg;
    peerstore_config_default(&cfg, 0.5);
    cfg.max_addr_len = 7; /* /ip4/../tcp/.. is 8 bytes */
    peerstore_t *ps = peerstore_new_with(NULL, &cfg);
    peer_id_t a = pid(1);
    assert_int_equal(add1(ps, &a, 1, T0), 0);
    assert_true(peerstore_has(ps, &a)); /* the peer is still known */
    peerstore_free(ps);
}

static void
test_pubkey(void **state)
{
    (void)state;
    peerstore_t *ps = peerstore_new(NULL, 0.5);
    uint8_t pk[32] = {0};
    pk[0] = 1;
    pk[2] = 0xA5;
    buf_t proto = BUF_INIT(256);
    assert_int_equal(pubkey_proto_encode(PEER_KEY_ED25519, pk, 32, &proto), 0);
    peer_id_t a = pid(1), b = pid(2);

    assert_int_equal(peerstore_set_pubkey(ps, &b, proto.data, proto.len), LS_EPEERID);
    assert_false(peerstore_has(ps, &b));
    assert_true(peerstore_set_pubkey(ps, &a, proto.data, 3) < 0);
    assert_int_equal(peerstore_set_pubkey(ps, &a, proto.data, proto.len), 0);
    peer_view_t v;
    assert_true(peerstore_get(ps, &a, &v));
    assert_int_equal(v.pubkey_len, proto.len);
    assert_memory_equal(v.pubkey, proto.data, proto.len);

    /* other key types: the spec's secp256k1 key is kept under its (inline) peer ID; a
     * "point" off the curve is refused even though it hashes to its own ID */
    static const uint8_t secp[] = { 0x08, 0x02, 0x12, 0x21, 0x03, 0x77, 0x77, 0xe9, 0x94, 0xe4,
                                    0x52, 0xc2, 0x16, 0x04, 0xf9, 0x1d, 0xe0, 0x93, 0xce, 0x41,
                                    0x5f, 0x54, 0x32, 0xf7, 0x01, 0xdd, 0x8c, 0xd1, 0xa7, 0xa6,
                                    0xfe, 0xa0, 0xe6, 0x30, 0xbf, 0xca, 0x99 };
    peer_id_t k1;
    assert_int_equal(peer_id_from_pubkey_proto(&k1, secp, sizeof secp), 0);
    assert_int_equal(peerstore_set_pubkey(ps, &k1, secp, sizeof secp), 0);
    uint8_t bad[sizeof secp];
    memcpy(bad, secp, sizeof bad);
    memset(bad + 5, 0xff, 32); /* x >= p */
    peer_id_t kbad;
    assert_int_equal(peer_id_from_pubkey_proto(&kbad, bad, sizeof bad), 0);
    assert_int_equal(peerstore_set_pubkey(ps, &kbad, bad, sizeof bad), LS_EINVAL);
    assert_false(peerstore_has(ps, &kbad));
    buf_free(&proto);
    peerstore_free(ps);
}

static void
test_protocols_and_agent(void **state)
{
    (void)state;
    peerstore_config_t cfg;
    peerstore_config_default(&cfg, 0.5);
    cfg.max_protocols = 3;
    cfg.max_protocol_len = 16;
    cfg.max_agent_len = 10;
    peerstore_t *ps = peerstore_new_with(NULL, &cfg);
    peer_id_t a = pid(1);

    const char *ok[] = {"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"};
    assert_int_equal(peerstore_set_protocols(ps, &a, ok, 2), 0);
    assert_true(peerstore_has_protocol(ps, &a, "/ipfs/ping/1.0.0"));
    assert_false(peerstore_has_protocol(ps, &a, "/meshsub/1.1.0"));

    const char *bad[] = {"/a", "/a", "", "/this-is-far-too-long/1.0.0", "/b", "/c", "/d"};
    assert_int_equal(peerstore_set_protocols(ps, &a, bad, 7), LS_ETOOBIG);
    peer_view_t v;
    assert_true(peerstore_get(ps, &a, &v));
    assert_int_equal(v.n_protocols, 3); /* /a /b /c: dup, empty, long and 4th dropped */
    assert_string_equal(v.protocols[2], "/c");
    assert_false(peerstore_has_protocol(ps, &a, "/ipfs/id/1.0.0")); /* replaced */

    assert_int_equal(peerstore_set_agent(ps, &a, "lester/0.1"), 0);
    assert_int_equal(peerstore_set_agent(ps, &a, "lester/0.1.0-very-long"), LS_ETOOBIG);
    assert_true(peerstore_get(ps, &a, &v));
    assert_string_equal(v.agent, "lester/0.1");
    peerstore_free(ps);
}

static void
test_trust_and_touch(void **state)
{
    (void)state;
    peerstore_t *ps = peerstore_new(NULL, 0.3);
    peer_id_t a = pid(1);
    assert_true(peerstore_trust(ps, &a) == 0.3); /* unknown: initial */
    assert_true(peerstore_initial_trust(ps) == 0.3);
    assert_int_equal(peerstore_set_trust(ps, &a, 2.0), 0);
    assert_true(peerstore_trust(ps, &a) == 1.0);
    assert_int_equal(peerstore_set_trust(ps, &a, -1.0), 0);
    assert_true(peerstore_trust(ps, &a) == 0.0);
    assert_int_equal(peerstore_set_trust(ps, &a, 0.0 / 0.0), LS_EINVAL);

    assert_int_equal(peerstore_touch(ps, &a, T0 + 5), 0);
    assert_int_equal(peerstore_touch(ps, &a, T0), 0); /* never moves back */
    peer_view_t v;
    assert_true(peerstore_get(ps, &a, &v));
    assert_int_equal(v.last_seen, T0 + 5);
    peerstore_free(ps);
}

static void
test_state_backoff_remove(void **state)
{
    (void)state;
    peerstore_t *ps = peerstore_new(NULL, 0.5);
    peer_id_t a = pid(1), b = pid(2);
    assert_int_equal(peerstore_remove(ps, &a), LS_ENOENT);
    assert_int_equal(peerstore_set_backoff(ps, &a, 10, 1), LS_ENOENT);
    assert_int_equal(peerstore_set_state(ps, &a, PEER_STATE_ACTIVE), 0);
    assert_int_equal(peerstore_state(ps, &a), PEER_STATE_ACTIVE);
    assert_int_equal(peerstore_state(ps, &b), PEER_STATE_KNOWN);
    assert_int_equal(peerstore_set_state(ps, &a, (peer_state_t)7), LS_EINVAL);
    assert_int_equal(peerstore_set_backoff(ps, &a, 1234, 3), 0);
    peer_view_t v;
    assert_true(peerstore_get(ps, &a, &v));
    assert_int_equal(v.backoff_until, 1234);
    assert_int_equal(v.dial_failures, 3);
    assert_int_equal(peerstore_remove(ps, &a), LS_EACCES);
    assert_int_equal(peerstore_set_state(ps, &a, PEER_STATE_KNOWN), 0);
    assert_int_equal(peerstore_remove(ps, &a), 0);
    assert_false(peerstore_has(ps, &a));
    peerstore_free(ps);
}

/* ---- eviction ---- */

static void
test_eviction_prefers_never_seen_low_trust(void **state)
{
    (void)state;
    peerstore_t *ps = small_store(4, 4);
    peer_id_t p[6];
    for (unsigned i = 0; i < 6; i++)
        p[i] = pid(i + 1);
    /* p0, p1 connected recently; p2 never connected, trust 0.4; p3 never, 0.5 */
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(add1(ps, &p[i], 1000 + i, T0), 1);
    peerstore_touch(ps, &p[0], T0);
    peerstore_touch(ps, &p[1], T0);
    peerstore_set_trust(ps, &p[2], 0.4);

    assert_int_equal(add1(ps, &p[4], 1, T0 + 10), 1);
    assert_false(peerstore_has(ps, &p[2])); /* lowest trust among never-seen */
    assert_int_equal(add1(ps, &p[5], 1, T0 + 20), 1);
    assert_false(peerstore_has(ps, &p[3])); /* same trust: the older one */
    assert_true(peerstore_has(ps, &p[4]));
    assert_int_equal(peerstore_count(ps), 4);

    peerstore_stats_t st;
    peerstore_stats(ps, &st);
    assert_int_equal(st.evicted, 2);
    peerstore_free(ps);
}

static void
test_full_of_good_peers_refuses_newcomers(void **state)
{
    (void)state;
    peerstore_t *ps = small_store(3, 4);
    peer_id_t p[5];
    for (unsigned i = 0; i < 5; i++)
        p[i] = pid(i + 1);
    /* p0, p1 connected recently; p2 never connected but trusted above a newcomer */
    for (unsigned i = 0; i < 3; i++)
        add1(ps, &p[i], 1, T0);
    peerstore_touch(ps, &p[0], T0);
    peerstore_touch(ps, &p[1], T0);
    peerstore_set_trust(ps, &p[2], 0.9);
    assert_int_equal(add1(ps, &p[3], 1, T0 + 1), LS_ELIMIT);
    assert_int_equal(peerstore_touch(ps, &p[3], T0 + 1), LS_ELIMIT);
    assert_false(peerstore_has(ps, &p[3]));

    /* A recently seen peer is kept even when distrusted (it cannot come back with
     * fresh trust)... */
    peerstore_set_trust(ps, &p[1], 0.0);
    assert_int_equal(add1(ps, &p[3], 1, T0 + 2), LS_ELIMIT);
    assert_true(peerstore_has(ps, &p[1]));
    /* ... but an unseen one that loses trust makes room at once. */
    peerstore_set_trust(ps, &p[2], 0.1);
    assert_int_equal(add1(ps, &p[3], 1, T0 + 3), 1);
    assert_false(peerstore_has(ps, &p[2]));

    /* A peer unseen for longer than stale_ms goes first, whatever its trust. */
    peerstore_set_trust(ps, &p[0], 1.0);
    peerstore_touch(ps, &p[1], T0 + 7 * DAY);
    peerstore_touch(ps, &p[3], T0 + 7 * DAY);
    assert_int_equal(add1(ps, &p[4], 1, T0 + 8 * DAY), 1);
    assert_false(peerstore_has(ps, &p[0]));
    assert_true(peerstore_has(ps, &p[1]));
    assert_true(peerstore_has(ps, &p[3]));

    peerstore_stats_t st;
    peerstore_stats(ps, &st);
    assert_int_equal(st.refused, 3);
    assert_int_equal(st.evicted, 2);
    peerstore_free(ps);
}

static void
test_connected_peers_never_evicted(void **state)
{
    (void)state;
    peerstore_t *ps = small_store(2, 4);
    peer_id_t a = pid(1), b = pid(2), c = pid(3), d = pid(4);
    add1(ps, &a, 1, T0);
    add1(ps, &b, 1, T0);
    peerstore_set_trust(ps, &a, 0.0);
    peerstore_set_trust(ps, &b, 0.0);
    peerstore_set_state(ps, &a, PEER_STATE_ACTIVE);
    peerstore_set_state(ps, &b, PEER_STATE_CONNECTING);
    assert_int_equal(add1(ps, &c, 1, T0), LS_ELIMIT);
    /* A connection always gets an entry, past the limit if need be. */
    assert_int_equal(peerstore_set_state(ps, &d, PEER_STATE_ACTIVE), 0);
    assert_int_equal(peerstore_count(ps), 3);
    assert_int_equal(peerstore_set_state(ps, &c, PEER_STATE_KNOWN), LS_ELIMIT);
    /* Once b is known again it goes, but the store is still over its limit: the
     * newcomer waits until a connected peer becomes known. */
    peerstore_set_state(ps, &b, PEER_STATE_KNOWN);
    assert_int_equal(add1(ps, &c, 1, T0), LS_ELIMIT);
    assert_false(peerstore_has(ps, &b));
    assert_int_equal(peerstore_count(ps), 2);
    peerstore_set_state(ps, &a, PEER_STATE_KNOWN);
    assert_int_equal(add1(ps, &c, 1, T0), 1);
    assert_false(peerstore_has(ps, &a));
    assert_true(peerstore_has(ps, &d));
    assert_int_equal(peerstore_count(ps), 2);
    peerstore_free(ps);
}

static void
test_bounded_under_flood(void **state)
{
    (void)state;
    peerstore_t *ps = small_store(100, 2);
    for (unsigned i = 0; i < 20; i++) {
        peer_id_t id = pid(i);
        add1(ps, &id, 1, T0);
        peerstore_touch(ps, &id, T0);
    }
    for (unsigned i = 1000; i < 6000; i++) {
        peer_id_t id = pid(i);
        for (unsigned p = 0; p < 4; p++)
            add1(ps, &id, p, T0 + i);
    }
    assert_true(peerstore_count(ps) <= 100);
    for (unsigned i = 0; i < 20; i++) { /* the peers we talked to are all still there */
        peer_id_t id = pid(i);
        assert_true(peerstore_has(ps, &id));
    }
    peer_id_t last = pid(5999);
    peer_view_t v;
    assert_true(peerstore_get(ps, &last, &v));
    assert_int_equal(v.n_addrs, 2);
    peerstore_free(ps);
}

static bool
count_visit(void *ctx, const peer_view_t *v)
{
    (void)v;
    return ++*(int *)ctx < 3;
}

static void
test_foreach(void **state)
{
    (void)state;
    peerstore_t *ps = peerstore_new(NULL, 0.5);
    for (unsigned i = 0; i < 10; i++) {
        peer_id_t id = pid(i);
        add1(ps, &id, 1, T0);
    }
    int n = 0;
    peerstore_foreach(ps, count_visit, &n);
    assert_int_equal(n, 3); /* stops when told */
    peerstore_free(ps);
}

/* ---- persistence ---- */

typedef struct {
    char dir[512];
    char path[600];
} scratch_t;

static int
scratch_setup(void **state)
{
    scratch_t *s = calloc(1, sizeof *s);
    const char *base = getenv("LESTER_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    fs_mkdir_p(base, 0700);
    snprintf(s->dir, sizeof s->dir, "%s/test_peerstore.XXXXXX", base);
    if (!mkdtemp(s->dir))
        return -1;
    snprintf(s->path, sizeof s->path, "%s/lester.db", s->dir);
    *state = s;
    return 0;
}

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int
scratch_teardown(void **state)
{
    scratch_t *s = *state;
    nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(s);
    return 0;
}

static db_t *
open_db(const scratch_t *s)
{
    db_t *db = NULL;
    assert_int_equal(db_open(s->path, net_migrations, net_migrations_len, &db, NULL), 0);
    return db;
}

static int64_t
query_int(db_t *db, const char *sql)
{
    sqlite3_stmt *st = db_stmt(db, sql);
    assert_non_null(st);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

static void
test_persistence_round_trip(void **state)
{
    scratch_t *s = *state;
    db_t *db = open_db(s);
    peerstore_t *ps = peerstore_new(db, 0.5);
    peer_id_t a = pid(1), b = pid(2), c = pid(3);
    uint8_t pk[32] = {1, 0, 0xA5};
    buf_t proto = BUF_INIT(256);
    assert_int_equal(pubkey_proto_encode(PEER_KEY_ED25519, pk, 32, &proto), 0);

    add1(ps, &a, 1, T0);
    add1(ps, &a, 2, T0);
    multiaddr_t *m1 = ma_port(1);
    peerstore_confirm_addr(ps, &a, m1, T0);
    peerstore_set_pubkey(ps, &a, proto.data, proto.len);
    peerstore_set_trust(ps, &a, 0.75);
    peerstore_touch(ps, &a, T0 + 100);
    const char *protos[] = {"/ipfs/id/1.0.0"};
    peerstore_set_protocols(ps, &a, protos, 1); /* not persisted */
    add1(ps, &b, 7, T0);
    peerstore_touch(ps, &b, T0 + 50);
    add1(ps, &c, 9, T0);
    peerstore_free(ps); /* flushes */

    assert_int_equal(query_int(db, "SELECT count(*) FROM peers"), 3);
    assert_int_equal(query_int(db, "SELECT count(*) FROM peer_addrs"), 4);
    ps = peerstore_new(db, 0.5);
    assert_int_equal(peerstore_count(ps), 3);
    peer_view_t v;
    assert_true(peerstore_get(ps, &a, &v));
    assert_true(v.trust == 0.75);
    assert_int_equal(v.last_seen, T0 + 100);
    assert_int_equal(v.n_addrs, 2);
    assert_true(v.addr0_confirmed);
    assert_true(multiaddr_equal(v.addrs[0], m1));
    assert_int_equal(v.pubkey_len, proto.len);
    assert_memory_equal(v.pubkey, proto.data, proto.len);
    assert_int_equal(v.n_protocols, 0);
    assert_int_equal(v.state, PEER_STATE_KNOWN);
    assert_true(peerstore_get(ps, &c, &v));
    assert_int_equal(v.last_seen, 0);

    /* Removals reach the disk too. */
    assert_int_equal(peerstore_remove(ps, &b), 0);
    assert_int_equal(peerstore_flush(ps), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM peers"), 2);
    assert_int_equal(query_int(db, "SELECT count(*) FROM peer_addrs"), 3);
    peerstore_stats_t st;
    peerstore_stats(ps, &st);
    assert_int_equal(st.rows_loaded, 3);
    assert_int_equal(st.rows_rejected, 0);
    peerstore_free(ps);

    /* ... and across a real reopen of the file. */
    db_free(db);
    db = open_db(s);
    ps = peerstore_new(db, 0.5);
    assert_int_equal(peerstore_count(ps), 2);
    assert_false(peerstore_has(ps, &b));
    assert_true(peerstore_trust(ps, &a) == 0.75);
    peerstore_free(ps);
    db_free(db);
    multiaddr_free(m1);
    buf_free(&proto);
}

static void
test_flush_is_debounced(void **state)
{
    scratch_t *s = *state;
    db_t *db = open_db(s);
    peerstore_config_t cfg;
    peerstore_config_default(&cfg, 0.5);
    cfg.flush_interval_ms = 1000;
    peerstore_t *ps = peerstore_new_with(db, &cfg);
    assert_int_equal(peerstore_tick(ps, 5000), UINT64_MAX); /* nothing pending */
    peer_id_t a = pid(1);
    add1(ps, &a, 1, T0);
    assert_int_equal(peerstore_tick(ps, 5100), 6000);
    for (int i = 0; i < 50; i++)
        peerstore_touch(ps, &a, T0 + (uint64_t)i); /* many updates, no write yet */
    assert_int_equal(query_int(db, "SELECT count(*) FROM peers"), 0);
    assert_int_equal(peerstore_tick(ps, 6000), UINT64_MAX);
    assert_int_equal(query_int(db, "SELECT count(*) FROM peers"), 1);
    assert_int_equal(query_int(db, "SELECT last_seen FROM peers"), (int64_t)(T0 + 49));
    peerstore_stats_t st;
    peerstore_stats(ps, &st);
    assert_int_equal(st.flushes, 1);
    peerstore_touch(ps, &a, T0 + 100);
    assert_int_equal(peerstore_tick(ps, 6500), 7000);
    peerstore_free(ps);
    assert_int_equal(query_int(db, "SELECT last_seen FROM peers"), (int64_t)(T0 + 100));
    db_free(db);
}

static void
insert_raw(db_t *db, const char *node_id, const char *address, const void *pk, int pklen,
           int64_t last_seen, double trust)
{
    sqlite3_stmt *st = db_stmt(db, "INSERT INTO peers (node_id, address, public_key, "
                                   "last_seen, trust_score) VALUES (?1, ?2, ?3, ?4, ?5)");
    assert_non_null(st);
    sqlite3_bind_text(st, 1, node_id, -1, SQLITE_TRANSIENT);
    if (address)
        sqlite3_bind_text(st, 2, address, -1, SQLITE_TRANSIENT);
    if (pk)
        sqlite3_bind_blob(st, 3, pk, pklen, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, last_seen);
    sqlite3_bind_double(st, 5, trust);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
}

static void
test_load_rejects_bad_rows(void **state)
{
    scratch_t *s = *state;
    db_t *db = open_db(s);
    peer_id_t a = pid(1), b = pid(2), c = pid(3);
    char *as = peer_id_to_str(&a), *bs = peer_id_to_str(&b), *cs = peer_id_to_str(&c);
    buf_t cid = BUF_INIT(256);
    assert_int_equal(peer_id_to_cid_string(&c, &cid), 0);
    uint8_t wrong_pk[32] = {9};
    buf_t proto = BUF_INIT(256);
    assert_int_equal(pubkey_proto_encode(PEER_KEY_ED25519, wrong_pk, 32, &proto), 0);

    insert_raw(db, "not a peer id", NULL, NULL, 0, T0, 0.5);
    insert_raw(db, buf_cstr(&cid), NULL, NULL, 0, T0, 0.5); /* not canonical */
    insert_raw(db, as, "/ip4/1.2.3.4/tcp/1", proto.data, (int)proto.len, T0, 7.0);
    insert_raw(db, bs, "/bogus/addr", "\x08\x01", 2, -5, 0.25);
    insert_raw(db, cs, NULL, NULL, 0, T0, 0.5);

    peerstore_t *ps = peerstore_new(db, 0.5);
    assert_int_equal(peerstore_count(ps), 3);
    peer_view_t v;
    assert_true(peerstore_get(ps, &a, &v));
    assert_true(v.trust == 0.5); /* 7.0 dropped */
    assert_null(v.pubkey);       /* another peer's key dropped */
    assert_int_equal(v.n_addrs, 1);
    assert_true(peerstore_get(ps, &b, &v));
    assert_true(v.trust == 0.25);
    assert_int_equal(v.last_seen, 0);
    assert_int_equal(v.n_addrs, 0);
    peerstore_stats_t st;
    peerstore_stats(ps, &st);
    assert_int_equal(st.rows_loaded, 3);
    assert_int_equal(st.rows_rejected, 2 + 2 + 3);
    peerstore_free(ps); /* rewrites the repaired rows */
    assert_int_equal(query_int(db, "SELECT count(*) FROM peers WHERE trust_score > 1"), 0);

    free(as);
    free(bs);
    free(cs);
    buf_free(&cid);
    buf_free(&proto);
    db_free(db);
}

static void
test_load_keeps_most_recent(void **state)
{
    scratch_t *s = *state;
    db_t *db = open_db(s);
    for (unsigned i = 0; i < 10; i++) {
        peer_id_t id = pid(i);
        char *str = peer_id_to_str(&id);
        insert_raw(db, str, NULL, NULL, 0, (int64_t)(T0 + i), 0.5);
        free(str);
    }
    peerstore_config_t cfg;
    peerstore_config_default(&cfg, 0.5);
    cfg.max_peers = 4;
    peerstore_t *ps = peerstore_new_with(db, &cfg);
    assert_int_equal(peerstore_count(ps), 4);
    for (unsigned i = 6; i < 10; i++) {
        peer_id_t id = pid(i);
        assert_true(peerstore_has(ps, &id));
    }
    assert_int_equal(query_int(db, "SELECT count(*) FROM peers"), 4);
    peerstore_free(ps);
    db_free(db);
}

static void
test_load_row_directly(void **state)
{
    (void)state;
    peerstore_t *ps = peerstore_new(NULL, 0.5);
    peer_id_t a = pid(1);
    char *as = peer_id_to_str(&a);
    const char *addrs[] = {"/ip4/1.1.1.1/tcp/1", "/dns4/x.example/tcp/2", "/nonsense"};
    peerstore_row_t row = {.node_id = as,
                           .address = "/ip4/1.1.1.1/tcp/1",
                           .has_trust = true,
                           .trust = 0.9,
                           .addrs = addrs,
                           .n_addrs = 3};
    assert_int_equal(peerstore_load_row(ps, &row), 0);
    assert_int_equal(peerstore_load_row(ps, &row), LS_ECORRUPT); /* duplicate */
    peer_view_t v;
    assert_true(peerstore_get(ps, &a, &v));
    assert_int_equal(v.n_addrs, 2);
    assert_true(v.addr0_confirmed);
    row.node_id = NULL;
    assert_int_equal(peerstore_load_row(ps, &row), LS_ECORRUPT);
    free(as);
    peerstore_free(ps);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_view),
        cmocka_unit_test(test_addr_limit_and_confirm),
        cmocka_unit_test(test_addr_too_long_skipped),
        cmocka_unit_test(test_pubkey),
        cmocka_unit_test(test_protocols_and_agent),
        cmocka_unit_test(test_trust_and_touch),
        cmocka_unit_test(test_state_backoff_remove),
        cmocka_unit_test(test_eviction_prefers_never_seen_low_trust),
        cmocka_unit_test(test_full_of_good_peers_refuses_newcomers),
        cmocka_unit_test(test_connected_peers_never_evicted),
        cmocka_unit_test(test_bounded_under_flood),
        cmocka_unit_test(test_foreach),
        cmocka_unit_test_setup_teardown(test_persistence_round_trip, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_flush_is_debounced, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_load_rejects_bad_rows, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_load_keeps_most_recent, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test(test_load_row_directly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
