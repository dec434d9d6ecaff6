#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/config/config.h"
#include "lib/err/err.h"
#include "net/connmgr/connmgr.h"
#include "net/connmgr/connmgr_internal.h"

#define T0 (1700000000000ull) /* Unix ms, for the peer store */

/* ---- a scripted swarm ---- */

#define MAX_CALLS 256

typedef struct call_t {
    char kind; /* 'd'ial, 'x' disconnect, 'p'ing */
    peer_id_t peer;
    char addr[96];
    char reason[48];
} call_t;

typedef struct swarm_t {
    call_t calls[MAX_CALLS];
    size_t n;
    int dial_rc;            /* returned by dial */
    bool fail_inline;       /* dial reports on_dial_failed before returning */
    bool disconnect_inline; /* disconnect reports on_disconnected at once */
    uint32_t rnd;           /* 0: lowest jitter; 1: highest */
    connmgr_t *cm;
    uint64_t now;
    peer_id_t trust_peers[MAX_CALLS];
    trust_event_t trust_events[MAX_CALLS];
    size_t n_trust;
} swarm_t;

static call_t *
record(swarm_t *sw, char kind, const peer_id_t *peer)
{
    assert_true(sw->n < MAX_CALLS);
    call_t *c = &sw->calls[sw->n++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->peer = *peer;
    return c;
}

static int
env_dial(void *ctx, const peer_id_t *peer, const multiaddr_t *addr)
{
    swarm_t *sw = ctx;
    call_t *c = record(sw, 'd', peer);
    char *s = multiaddr_to_str(addr);
    snprintf(c->addr, sizeof c->addr, "%s", s);
    free(s);
    if (sw->fail_inline)
        connmgr_on_dial_failed(sw->cm, peer, LS_ECONNRESET, sw->now);
    return sw->dial_rc;
}

static void
env_disconnect(void *ctx, const peer_id_t *peer, const char *reason)
{
    swarm_t *sw = ctx;
    call_t *c = record(sw, 'x', peer);
    snprintf(c->reason, sizeof c->reason, "%s", reason);
    if (sw->disconnect_inline)
        connmgr_on_disconnected(sw->cm, peer, sw->now);
}

static void
env_ping(void *ctx, const peer_id_t *peer)
{
    record(ctx, 'p', peer);
}

static uint32_t
env_random(void *ctx, uint32_t bound)
{
    swarm_t *sw = ctx;
    return sw->rnd ? bound - 1 : 0;
}

static void
trust_report(void *ctx, const peer_id_t *peer, trust_event_t ev)
{
    swarm_t *sw = ctx;
    sw->trust_peers[sw->n_trust] = *peer;
    sw->trust_events[sw->n_trust++] = ev;
}

static peer_id_t
pid(unsigned i)
{
    uint8_t pk[32] = {0};
    peer_id_t id;
    pk[0] = (uint8_t)i;
    pk[1] = (uint8_t)(i >> 8);
    pk[2] = 0x5A;
    peer_id_from_ed25519(&id, pk);
    return id;
}

static void
add_peer(peerstore_t *ps, unsigned i, double trust, uint64_t last_seen)
{
    char s[64];
    multiaddr_t *m = NULL;
    peer_id_t id = pid(i);
    snprintf(s, sizeof s, "/ip4/10.0.%u.%u/tcp/4001", i >> 8, i & 255);
    assert_int_equal(multiaddr_parse(s, &m), 0);
    assert_true(peerstore_add_addrs(ps, &id, (const multiaddr_t *const *)&m, 1, T0) >= 0);
    peerstore_set_trust(ps, &id, trust);
    if (last_seen)
        peerstore_touch(ps, &id, last_seen);
    multiaddr_free(m);
}

typedef struct fixture_t {
    swarm_t sw;
    peerstore_t *ps;
    connmgr_t *cm;
    connmgr_config_t cfg;
} fixture_t;

static void
base_config(connmgr_config_t *cfg)
{
    connmgr_config_default(cfg);
    cfg->min_peers = 2;
    cfg->max_peers = 4;
    cfg->headroom = 2;
    cfg->max_dials = 2;
    cfg->dial_timeout_ms = 1000;
    cfg->backoff_base_ms = 100;
    cfg->backoff_max_ms = 1000;
    cfg->keepalive_ms = 0;
    cfg->idle_timeout_ms = 0;
    cfg->grace_ms = 500;
    cfg->inbound_per_sec = 0;
}

static void
start(fixture_t *f)
{
    connmgr_env_t env = {&f->sw, env_dial, env_disconnect, env_ping, env_random};
    f->cm = connmgr_new(&f->cfg, f->ps, &env);
    f->sw.cm = f->cm;
    f->sw.rnd = 1;
    trust_hook_t hook = {&f->sw, trust_report};
    connmgr_set_trust_hook(f->cm, &hook);
}

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->ps = peerstore_new(NULL, 0.5);
    base_config(&f->cfg);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    connmgr_free(f->cm);
    peerstore_free(f->ps);
    free(f);
    return 0;
}

static size_t
count_calls(const swarm_t *sw, char kind)
{
    size_t n = 0;
    for (size_t i = 0; i < sw->n; i++)
        n += sw->calls[i].kind == kind;
    return n;
}

static const call_t *
last_call(const swarm_t *sw, char kind)
{
    for (size_t i = sw->n; i-- > 0;)
        if (sw->calls[i].kind == kind)
            return &sw->calls[i];
    return NULL;
}

/* Connect `n` peers pid(first..) inbound at `now`. */
static void
connect_range(fixture_t *f, unsigned first, unsigned n, uint64_t now)
{
    for (unsigned i = first; i < first + n; i++) {
        peer_id_t id = pid(i);
        assert_int_equal(connmgr_on_connected(f->cm, &id, true, now), 0);
    }
}

/* ---- dialling ---- */

static void
test_dials_best_cached_peers_up_to_min(void **state)
{
    fixture_t *f = *state;
    f->cfg.min_peers = 3;
    f->cfg.max_dials = 2;
    add_peer(f->ps, 1, 0.5, T0 + 10);
    add_peer(f->ps, 2, 0.9, T0 + 1);
    add_peer(f->ps, 3, 0.5, T0 + 20);
    add_peer(f->ps, 4, 0.05, T0 + 30); /* below min_trust: never dialled */
    start(f);

    connmgr_tick(f->cm, 1000);
    assert_int_equal(count_calls(&f->sw, 'd'), 2); /* max_dials */
    peer_id_t p1 = pid(1), p2 = pid(2), p3 = pid(3), p4 = pid(4);
    assert_true(peer_id_equal(&f->sw.calls[0].peer, &p2)); /* highest trust */
    assert_true(peer_id_equal(&f->sw.calls[1].peer, &p3)); /* then most recent */
    assert_string_equal(f->sw.calls[1].addr, "/ip4/10.0.0.3/tcp/4001");
    assert_int_equal(connmgr_state(f->cm, &p2), PEER_STATE_CONNECTING);
    assert_int_equal(peerstore_state(f->ps, &p2), PEER_STATE_CONNECTING);

    connmgr_tick(f->cm, 1001); /* no new dial while two are in flight */
    assert_int_equal(count_calls(&f->sw, 'd'), 2);
    assert_int_equal(connmgr_on_connected(f->cm, &p2, false, 1002), 0);
    connmgr_tick(f->cm, 1003);
    assert_int_equal(count_calls(&f->sw, 'd'), 3);
    assert_true(peer_id_equal(&f->sw.calls[2].peer, &p1));
    assert_int_equal(connmgr_on_connected(f->cm, &p3, false, 1004), 0);
    assert_int_equal(connmgr_on_connected(f->cm, &p1, false, 1004), 0);
    connmgr_tick(f->cm, 1005);
    assert_int_equal(count_calls(&f->sw, 'd'), 3); /* at min_peers: no more */
    assert_int_equal(connmgr_state(f->cm, &p4), PEER_STATE_KNOWN);

    connmgr_stats_t st;
    connmgr_stats(f->cm, &st);
    assert_int_equal(st.active, 3);
    assert_int_equal(st.outbound, 3);
    assert_int_equal(st.dials_started, 3);
    assert_int_equal(st.dials_ok, 3);
}

static void
test_bootstrap_first(void **state)
{
    fixture_t *f = *state;
    f->cfg.min_peers = 1;
    add_peer(f->ps, 1, 1.0, T0 + 10);
    start(f);
    peer_id_t boot = pid(9);
    char *bs = peer_id_to_str(&boot);
    char text[200];
    snprintf(text, sizeof text, "/ip4/192.0.2.1/tcp/4001/p2p/%s", bs);
    multiaddr_t *m = NULL, *bare = NULL;
    assert_int_equal(multiaddr_parse(text, &m), 0);
    assert_int_equal(multiaddr_parse("/ip4/192.0.2.1/tcp/4001", &bare), 0);
    assert_int_equal(connmgr_add_bootstrap(f->cm, m), 0);
    assert_int_equal(connmgr_add_bootstrap(f->cm, m), 0); /* idempotent */
    assert_int_equal(connmgr_add_bootstrap(f->cm, bare), LS_EINVAL);
    assert_true(peerstore_has(f->ps, &boot)); /* cached for the next run */

    connmgr_tick(f->cm, 1000);
    assert_int_equal(count_calls(&f->sw, 'd'), 1);
    assert_true(peer_id_equal(&f->sw.calls[0].peer, &boot));
    assert_string_equal(f->sw.calls[0].addr, "/ip4/192.0.2.1/tcp/4001");

    /* While the bootstrap node backs off, the cached peer is dialled. */
    connmgr_on_dial_failed(f->cm, &boot, LS_ECONNRESET, 1001);
    connmgr_tick(f->cm, 1002);
    peer_id_t p1 = pid(1);
    assert_true(peer_id_equal(&last_call(&f->sw, 'd')->peer, &p1));
    free(bs);
    multiaddr_free(m);
    multiaddr_free(bare);
}

static void
test_state_transitions_and_confirmed_addr(void **state)
{
    fixture_t *f = *state;
    f->cfg.min_peers = 1;
    add_peer(f->ps, 1, 0.5, 0);
    start(f);
    peer_id_t p1 = pid(1);
    assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_KNOWN);
    connmgr_tick(f->cm, 100);
    assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_CONNECTING);
    connmgr_peer_t info;
    assert_true(connmgr_peer_info(f->cm, &p1, &info));
    assert_int_equal(info.since, 100);
    assert_int_equal(connmgr_on_connected(f->cm, &p1, false, 150), 0);
    assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_ACTIVE);
    assert_int_equal(peerstore_state(f->ps, &p1), PEER_STATE_ACTIVE);
    peer_view_t v;
    assert_true(peerstore_get(f->ps, &p1, &v));
    assert_true(v.addr0_confirmed);
    peer_id_t out[4];
    assert_int_equal(connmgr_active_peers(f->cm, out, 4), 1);
    assert_true(peer_id_equal(&out[0], &p1));

    connmgr_on_disconnected(f->cm, &p1, 200);
    assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_KNOWN);
    assert_int_equal(peerstore_state(f->ps, &p1), PEER_STATE_KNOWN);
    assert_false(connmgr_peer_info(f->cm, &p1, &info));
    /* Not redialled at once after a disconnection: backoff_base_ms later. */
    connmgr_tick(f->cm, 250);
    assert_int_equal(count_calls(&f->sw, 'd'), 1);
    connmgr_tick(f->cm, 300);
    assert_int_equal(count_calls(&f->sw, 'd'), 2);
    connmgr_on_disconnected(f->cm, &p1, 300); /* a dial that ends is a failure */
    assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_KNOWN);
    assert_true(peerstore_get(f->ps, &p1, &v));
    assert_int_equal(v.dial_failures, 1);
}

static void
test_backoff_grows_and_resets(void **state)
{
    fixture_t *f = *state;
    f->cfg.min_peers = 1;
    add_peer(f->ps, 1, 0.5, 0);
    start(f);
    peer_id_t p1 = pid(1);
    uint64_t now = 1000;
    const uint64_t expect[] = {100, 200, 400, 800, 1000, 1000}; /* capped at max */
    peer_view_t v;
    for (size_t i = 0; i < LS_ARRAY_LEN(expect); i++) {
        connmgr_tick(f->cm, now);
        assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_CONNECTING);
        connmgr_on_dial_failed(f->cm, &p1, LS_ECONNRESET, now);
        assert_true(peerstore_get(f->ps, &p1, &v));
        assert_int_equal(v.dial_failures, i + 1);
        assert_int_equal(v.backoff_until, now + expect[i]);
        connmgr_tick(f->cm, now + expect[i] - 1); /* still backing off */
        assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_KNOWN);
        now += expect[i];
    }
    connmgr_tick(f->cm, now);
    assert_int_equal(connmgr_on_connected(f->cm, &p1, false, now), 0);
    assert_true(peerstore_get(f->ps, &p1, &v));
    assert_int_equal(v.dial_failures, 0);
    assert_int_equal(v.backoff_until, 0);

    /* Jitter: with the lowest random value the delay is half. */
    f->sw.rnd = 0;
    assert_int_equal(connmgr_backoff_delay(f->cm, 3), 200);
    f->sw.rnd = 1;
    assert_int_equal(connmgr_backoff_delay(f->cm, 3), 400);
    connmgr_stats_t st;
    connmgr_stats(f->cm, &st);
    assert_int_equal(st.dials_failed, 6);
    assert_int_equal(st.dials_ok, 1);
}

static void
test_dial_timeout(void **state)
{
    fixture_t *f = *state;
    f->cfg.min_peers = 1;
    add_peer(f->ps, 1, 0.5, 0);
    start(f);
    peer_id_t p1 = pid(1);
    assert_int_equal(connmgr_tick(f->cm, 0), 1000); /* the dial's deadline */
    connmgr_tick(f->cm, 999);
    assert_int_equal(count_calls(&f->sw, 'x'), 0);
    connmgr_tick(f->cm, 1000);
    const call_t *x = last_call(&f->sw, 'x');
    assert_non_null(x);
    assert_string_equal(x->reason, "dial timeout");
    assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_KNOWN);
    connmgr_stats_t st;
    connmgr_stats(f->cm, &st);
    assert_int_equal(st.dial_timeouts, 1);
    assert_int_equal(st.dials_failed, 1);
    /* A late success for a dial we gave up on is still accepted. */
    assert_int_equal(connmgr_on_connected(f->cm, &p1, false, 1050), 0);
    assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_ACTIVE);
}

static void
test_inline_callbacks(void **state)
{
    fixture_t *f = *state;
    f->cfg.min_peers = 1;
    add_peer(f->ps, 1, 0.5, 0);
    add_peer(f->ps, 2, 0.5, 0);
    start(f);
    f->sw.dial_rc = LS_ECONNRESET; /* fails at once, no later report */
    connmgr_tick(f->cm, 10);
    peer_id_t first = f->sw.calls[0].peer;
    assert_int_equal(connmgr_state(f->cm, &first), PEER_STATE_KNOWN);
    peer_view_t v;
    assert_true(peerstore_get(f->ps, &first, &v));
    assert_int_equal(v.dial_failures, 1);

    f->sw.fail_inline = true; /* reports and returns an error: counted once */
    connmgr_tick(f->cm, 11);
    connmgr_stats_t st;
    connmgr_stats(f->cm, &st);
    assert_int_equal(st.dials_failed, 2);

    /* A disconnect callback that reports synchronously is fine. */
    f->sw.dial_rc = 0;
    f->sw.fail_inline = false;
    f->sw.disconnect_inline = true;
    peer_id_t p7 = pid(7);
    assert_int_equal(connmgr_on_connected(f->cm, &p7, true, 20), 0);
    assert_int_equal(connmgr_disconnect(f->cm, &p7, "user request", 21), 0);
    assert_int_equal(connmgr_state(f->cm, &p7), PEER_STATE_KNOWN);
    assert_int_equal(connmgr_disconnect(f->cm, &p7, "again", 22), LS_ENOENT);
    assert_string_equal(last_call(&f->sw, 'x')->reason, "user request");
}

/* ---- capacity ---- */

static void
test_evicts_lowest_trust_at_capacity(void **state)
{
    fixture_t *f = *state;
    start(f);
    const double trust[] = {0.9, 0.2, 0.6, 0.7};
    for (unsigned i = 0; i < 4; i++)
        add_peer(f->ps, i, trust[i], 0);
    connect_range(f, 0, 4, 0);
    assert_int_equal(count_calls(&f->sw, 'x'), 0);

    add_peer(f->ps, 4, 0.5, 0);
    peer_id_t p1 = pid(1), p4 = pid(4);
    assert_int_equal(connmgr_on_connected(f->cm, &p4, true, 1000), 0);
    const call_t *x = last_call(&f->sw, 'x');
    assert_non_null(x);
    assert_true(peer_id_equal(&x->peer, &p1)); /* 0.2 */
    assert_string_equal(x->reason, "evicted: connection limit");
    assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_KNOWN);
    assert_int_equal(connmgr_state(f->cm, &p4), PEER_STATE_ACTIVE);
    connmgr_stats_t st;
    connmgr_stats(f->cm, &st);
    assert_int_equal(st.active, 4);
    assert_int_equal(st.evictions, 1);
}

static void
test_newcomer_waits_for_grace_then_goes(void **state)
{
    fixture_t *f = *state;
    start(f);
    for (unsigned i = 0; i < 4; i++)
        add_peer(f->ps, i, 0.8, 0);
    connect_range(f, 0, 4, 0);
    add_peer(f->ps, 4, 0.5, 0); /* worth less than every incumbent */
    peer_id_t p4 = pid(4);
    assert_int_equal(connmgr_on_connected(f->cm, &p4, true, 1000), 0);
    assert_int_equal(count_calls(&f->sw, 'x'), 0); /* in its grace period */
    assert_int_equal(connmgr_tick(f->cm, 1200), 1500);
    assert_int_equal(count_calls(&f->sw, 'x'), 0);
    connmgr_tick(f->cm, 1500);
    assert_true(peer_id_equal(&last_call(&f->sw, 'x')->peer, &p4));

    /* Equal trust: the newest connection goes, incumbents stay. */
    peer_id_t p5 = pid(5);
    assert_int_equal(connmgr_on_connected(f->cm, &p5, true, 2000), 0);
    peerstore_set_trust(f->ps, &p5, 0.8);
    connmgr_tick(f->cm, 2400);
    assert_int_equal(count_calls(&f->sw, 'x'), 1); /* still in its grace period */
    connmgr_tick(f->cm, 2500);
    assert_int_equal(count_calls(&f->sw, 'x'), 2);
    assert_true(peer_id_equal(&last_call(&f->sw, 'x')->peer, &p5));
}

static void
test_protected_peers_are_not_evicted(void **state)
{
    fixture_t *f = *state;
    f->cfg.max_peers = 2;
    start(f);
    add_peer(f->ps, 0, 0.15, 0);
    add_peer(f->ps, 1, 0.3, 0);
    add_peer(f->ps, 2, 0.9, 0);
    peer_id_t p0 = pid(0), p1 = pid(1), p2 = pid(2);
    assert_int_equal(connmgr_protect(f->cm, &p0, "bootstrap"), 0);
    assert_int_equal(connmgr_protect(f->cm, &p0, "user"), 0);
    assert_int_equal(connmgr_protect(f->cm, &p0, "user"), 0);
    assert_int_equal(connmgr_protect(f->cm, &p0, ""), LS_EINVAL);
    assert_true(connmgr_is_protected(f->cm, &p0, NULL));
    assert_true(connmgr_is_protected(f->cm, &p0, "user"));
    assert_false(connmgr_is_protected(f->cm, &p0, "other"));
    connect_range(f, 0, 3, 0);
    connmgr_tick(f->cm, 1000);
    assert_true(peer_id_equal(&last_call(&f->sw, 'x')->peer, &p1)); /* not p0 */
    connmgr_peer_t info;
    assert_true(connmgr_peer_info(f->cm, &p0, &info));
    assert_true(info.protected_peer);

    assert_true(connmgr_unprotect(f->cm, &p0, "user")); /* still "bootstrap" */
    assert_false(connmgr_unprotect(f->cm, &p0, "bootstrap"));
    assert_false(connmgr_is_protected(f->cm, &p0, NULL));
    connect_range(f, 1, 1, 1000);
    connmgr_tick(f->cm, 2000);
    assert_true(peer_id_equal(&last_call(&f->sw, 'x')->peer, &p0));
    assert_int_equal(connmgr_state(f->cm, &p2), PEER_STATE_ACTIVE);

    for (int i = 0; i < CONNMGR_MAX_TAGS; i++) {
        char tag[8];
        snprintf(tag, sizeof tag, "t%d", i);
        assert_int_equal(connmgr_protect(f->cm, &p2, tag), 0);
    }
    assert_int_equal(connmgr_protect(f->cm, &p2, "one-more"), LS_ELIMIT);
}

static void
test_allow_inbound_limits(void **state)
{
    fixture_t *f = *state;
    f->cfg.inbound_per_sec = 2;
    f->cfg.inbound_burst = 3;
    f->cfg.grace_ms = 1000000; /* nobody can be evicted */
    start(f);
    for (int i = 0; i < 3; i++)
        assert_true(connmgr_allow_inbound(f->cm, 0));
    assert_false(connmgr_allow_inbound(f->cm, 0)); /* burst spent */
    assert_false(connmgr_allow_inbound(f->cm, 499));
    assert_true(connmgr_allow_inbound(f->cm, 500)); /* 2/s: one token per 500 ms */

    connect_range(f, 0, 6, 1000); /* max_peers 4 + headroom 2 */
    assert_int_equal(connmgr_inbound_cap(f->cm), 8);
    assert_true(connmgr_allow_inbound(f->cm, 100000)); /* heard out once proven... */
    peer_id_t p6 = pid(6);
    assert_int_equal(connmgr_on_connected(f->cm, &p6, true, 100000), LS_EACCES);
    assert_string_equal(last_call(&f->sw, 'x')->reason, "connection limit"); /* all in grace */
    connmgr_stats_t st;
    connmgr_stats(f->cm, &st);
    assert_int_equal(st.active, 6);
    assert_int_equal(st.inbound, 6);
    assert_int_equal(st.inbound_refused, 3);
    assert_int_equal(connmgr_state(f->cm, &p6), PEER_STATE_KNOWN);
}

/* At max_peers + headroom a newcomer is accepted and the lowest-trust peer past its
 * grace period leaves for it — unless that peer is worth more than the newcomer. */
static void
test_newcomer_at_capacity_evicts_established(void **state)
{
    fixture_t *f = *state;
    start(f);
    const double trust[] = {0.9, 0.2, 0.6, 0.7, 0.8, 0.8, 0.5, 0.15};
    for (unsigned i = 0; i < 8; i++)
        add_peer(f->ps, i, trust[i], 0);
    peer_id_t p0 = pid(0), p1 = pid(1), p6 = pid(6), p7 = pid(7);
    assert_int_equal(connmgr_protect(f->cm, &p0, "user"), 0);
    connect_range(f, 0, 6, 0); /* 6 = max_peers 4 + headroom 2, all in grace */
    assert_int_equal(count_calls(&f->sw, 'x'), 0);

    assert_int_equal(connmgr_on_connected(f->cm, &p6, true, 1000), 0);
    const call_t *x = last_call(&f->sw, 'x');
    assert_non_null(x);
    assert_true(peer_id_equal(&x->peer, &p1)); /* 0.2, past its grace */
    assert_string_equal(x->reason, "evicted: connection limit");
    assert_int_equal(connmgr_state(f->cm, &p6), PEER_STATE_ACTIVE);
    assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_KNOWN);

    /* 0.15 is worth less than every established peer (0.6 and up): refused */
    assert_int_equal(connmgr_on_connected(f->cm, &p7, true, 1001), LS_EACCES);
    assert_true(peer_id_equal(&last_call(&f->sw, 'x')->peer, &p7));
    assert_string_equal(last_call(&f->sw, 'x')->reason, "connection limit");
    connmgr_stats_t st;
    connmgr_stats(f->cm, &st);
    assert_int_equal(st.active, 6);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(count_calls(&f->sw, 'x'), 2);
    assert_true(connmgr_is_protected(f->cm, &p0, NULL));
    assert_int_equal(connmgr_state(f->cm, &p0), PEER_STATE_ACTIVE);
}

/* Our own dials in flight keep their slots: inbound newcomers that would take them
 * must make room, so when the dials complete the count stays within max + headroom
 * (seen in the 20-node cluster test as 11 peers over a cap of 10). */
static void
test_inbound_leaves_room_for_our_dials(void **state)
{
    fixture_t *f = *state;
    f->cfg.min_peers = 2; /* two dials: max_dials 2 */
    for (unsigned i = 0; i < 10; i++)
        add_peer(f->ps, i, 0.5, 0);
    start(f);
    connmgr_tick(f->cm, 0);
    assert_int_equal(count_calls(&f->sw, 'd'), 2);
    peer_id_t d0 = f->sw.calls[0].peer, d1 = f->sw.calls[1].peer;
    /* inbound from the peers we are not dialling, all within their grace period */
    unsigned accepted = 0;
    for (unsigned i = 0; i < 10; i++) {
        peer_id_t id = pid(i);
        if (peer_id_equal(&id, &d0) || peer_id_equal(&id, &d1))
            continue;
        accepted += connmgr_on_connected(f->cm, &id, true, 10) == 0;
    }
    assert_int_equal(accepted, 4); /* 6 slots, 2 kept for the dials */
    assert_int_equal(connmgr_on_connected(f->cm, &d0, false, 20), 0);
    assert_int_equal(connmgr_on_connected(f->cm, &d1, false, 20), 0);
    connmgr_stats_t st;
    connmgr_stats(f->cm, &st);
    assert_int_equal(st.active, 6); /* max_peers 4 + headroom 2, never more */
}

/* ---- trust and liveness ---- */

static void
test_low_trust_disconnected_and_not_redialled(void **state)
{
    fixture_t *f = *state;
    f->cfg.min_peers = 1;
    f->cfg.low_trust_backoff_ms = 10000;
    add_peer(f->ps, 1, 0.5, 0);
    start(f);
    peer_id_t p1 = pid(1);
    connmgr_tick(f->cm, 0);
    assert_int_equal(connmgr_on_connected(f->cm, &p1, false, 10), 0);
    peerstore_set_trust(f->ps, &p1, 0.05); /* the trust manager's verdict */
    connmgr_tick(f->cm, 20);
    assert_string_equal(last_call(&f->sw, 'x')->reason, "low trust");
    assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_KNOWN);
    peerstore_set_trust(f->ps, &p1, 0.5); /* even if trust recovers */
    connmgr_tick(f->cm, 5000);
    assert_int_equal(count_calls(&f->sw, 'd'), 1);
    connmgr_tick(f->cm, 10020);
    assert_int_equal(count_calls(&f->sw, 'd'), 2);

    /* An inbound connection from a distrusted peer is closed at once. */
    peer_id_t p3 = pid(3);
    peerstore_set_trust(f->ps, &p3, 0.0);
    assert_int_equal(connmgr_on_connected(f->cm, &p3, true, 10030), LS_EACCES);
    assert_int_equal(connmgr_state(f->cm, &p3), PEER_STATE_KNOWN);
    connmgr_stats_t st;
    connmgr_stats(f->cm, &st);
    assert_int_equal(st.low_trust_disconnects, 1);
    assert_int_equal(st.low_trust_refused, 1);
}

static void
test_keepalive_and_ping_timeouts(void **state)
{
    fixture_t *f = *state;
    f->cfg.min_peers = 0;
    f->cfg.keepalive_ms = 100;
    f->cfg.max_ping_failures = 3;
    start(f);
    peer_id_t p1 = pid(1);
    connect_range(f, 1, 1, 0);
    assert_int_equal(connmgr_tick(f->cm, 50), 100);
    assert_int_equal(count_calls(&f->sw, 'p'), 0);
    connmgr_tick(f->cm, 100);
    assert_int_equal(count_calls(&f->sw, 'p'), 1);
    connmgr_tick(f->cm, 150); /* one ping at a time */
    assert_int_equal(count_calls(&f->sw, 'p'), 1);
    connmgr_on_ping(f->cm, &p1, true, 7, 160);
    connmgr_peer_t info;
    assert_true(connmgr_peer_info(f->cm, &p1, &info));
    assert_int_equal(info.rtt_ms, 7);

    uint64_t now = 260;
    for (int i = 0; i < 3; i++) {
        connmgr_tick(f->cm, now);
        assert_int_equal(count_calls(&f->sw, 'p'), (size_t)i + 2);
        connmgr_on_ping(f->cm, &p1, false, 0, now + 50);
        now += 150;
    }
    assert_string_equal(last_call(&f->sw, 'x')->reason, "ping timeout");
    assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_KNOWN);
    assert_int_equal(f->sw.n_trust, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(f->sw.trust_events[i], TRUST_TIMEOUT);
        assert_true(peer_id_equal(&f->sw.trust_peers[i], &p1));
    }
    connmgr_stats_t st;
    connmgr_stats(f->cm, &st);
    assert_int_equal(st.ping_failures, 3);
    assert_int_equal(st.timeout_disconnects, 1);
}

static void
test_ping_success_resets_failures(void **state)
{
    fixture_t *f = *state;
    f->cfg.min_peers = 0;
    f->cfg.keepalive_ms = 100;
    f->cfg.max_ping_failures = 2;
    start(f);
    peer_id_t p1 = pid(1);
    connect_range(f, 1, 1, 0);
    connmgr_on_ping(f->cm, &p1, false, 0, 10);
    connmgr_on_ping(f->cm, &p1, true, 5, 20);
    connmgr_on_ping(f->cm, &p1, false, 0, 30);
    assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_ACTIVE);
    connmgr_on_ping(f->cm, &p1, false, 0, 40);
    assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_KNOWN);
}

static void
test_idle_timeout(void **state)
{
    fixture_t *f = *state;
    f->cfg.min_peers = 0;
    f->cfg.idle_timeout_ms = 1000;
    start(f);
    peer_id_t p1 = pid(1);
    connect_range(f, 1, 1, 0);
    connmgr_on_activity(f->cm, &p1, 600);
    assert_int_equal(connmgr_tick(f->cm, 1000), 1600);
    assert_int_equal(connmgr_state(f->cm, &p1), PEER_STATE_ACTIVE);
    connmgr_tick(f->cm, 1600);
    assert_string_equal(last_call(&f->sw, 'x')->reason, "idle timeout");
    assert_int_equal(f->sw.n_trust, 1);
    assert_int_equal(f->sw.trust_events[0], TRUST_TIMEOUT);
}

static void
test_self_and_duplicates(void **state)
{
    fixture_t *f = *state;
    f->cfg.min_peers = 2;
    add_peer(f->ps, 1, 1.0, T0);
    start(f);
    peer_id_t self = pid(1), p2 = pid(2);
    connmgr_set_self(f->cm, &self);
    connmgr_tick(f->cm, 0);
    assert_int_equal(count_calls(&f->sw, 'd'), 0); /* never dial ourselves */
    assert_int_equal(connmgr_on_connected(f->cm, &self, true, 1), LS_EACCES);
    assert_int_equal(connmgr_on_connected(f->cm, &p2, true, 2), 0);
    assert_int_equal(connmgr_on_connected(f->cm, &p2, false, 3), 0); /* second connection */
    connmgr_on_dial_failed(f->cm, &p2, LS_ECONNRESET, 4);            /* active: ignored */
    assert_int_equal(connmgr_state(f->cm, &p2), PEER_STATE_ACTIVE);
    connmgr_on_disconnected(f->cm, &p2, 5);
    connmgr_on_disconnected(f->cm, &p2, 6); /* extra reports are harmless */
    connmgr_stats_t st;
    connmgr_stats(f->cm, &st);
    assert_int_equal(st.active, 0);
    assert_int_equal(st.self_refused, 1);
    connmgr_report(f->cm, &p2, TRUST_PROTOCOL_VIOLATION);
    assert_int_equal(f->sw.trust_events[f->sw.n_trust - 1], TRUST_PROTOCOL_VIOLATION);
    assert_string_equal(trust_event_name(TRUST_PROTOCOL_VIOLATION), "protocol_violation");
    assert_string_equal(trust_event_name((trust_event_t)99), "unknown");
}

static void
test_deadline_is_bounded(void **state)
{
    fixture_t *f = *state;
    f->cfg.min_peers = 0;
    start(f);
    assert_int_equal(connmgr_tick(f->cm, 5000), 5000 + CONNMGR_MAX_TICK_MS);
}

static void
test_backoff_deadline_wakes_dialler(void **state)
{
    fixture_t *f = *state;
    f->cfg.min_peers = 1;
    add_peer(f->ps, 1, 0.5, 0);
    start(f);
    peer_id_t p1 = pid(1);
    peerstore_set_backoff(f->ps, &p1, 300, 1);
    assert_int_equal(connmgr_tick(f->cm, 100), 300);
}

/* ---- configuration ---- */

static const config_key_t schema[] = {
    {"profile", CONFIG_STRING, "\"default\"", 0, 0, NULL},
    {"peers.min", CONFIG_INT, "8", 0, 10000, NULL},
    {"peers.max", CONFIG_INT, "50", 1, 10000, NULL},
    {"trust.min_threshold", CONFIG_DOUBLE, "0.1", 0, 1, NULL},
};

static void
test_config_from_node_config(void **state)
{
    (void)state;
    config_t *cfg = config_new(schema, LS_ARRAY_LEN(schema));
    connmgr_config_t c;
    buf_t err = BUF_INIT(1024);
    assert_int_equal(connmgr_config_from(&c, cfg, &err), 0);
    assert_int_equal(c.min_peers, 8);
    assert_int_equal(c.max_peers, 50);
    assert_int_equal(c.headroom, 6);
    assert_true(c.min_trust == 0.1);

    /* The high-security preset as node_config applies it: keys and profile. */
    assert_int_equal(config_set(cfg, "profile", "high-security", NULL), 0);
    assert_int_equal(config_set(cfg, "trust.min_threshold", "0.5", NULL), 0);
    assert_int_equal(connmgr_config_from(&c, cfg, &err), 0);
    assert_true(c.min_trust == 0.5);
    assert_int_equal(c.low_trust_backoff_ms, 6 * 3600 * 1000);

    assert_int_equal(config_set(cfg, "profile", "low-resource", NULL), 0);
    assert_int_equal(config_set(cfg, "peers.max", "20", NULL), 0);
    assert_int_equal(connmgr_config_from(&c, cfg, &err), 0);
    assert_int_equal(c.max_peers, 20);
    assert_int_equal(c.max_dials, 4);
    assert_int_equal(c.headroom, 2);

    assert_int_equal(config_set(cfg, "peers.min", "30", NULL), 0);
    assert_int_equal(connmgr_config_from(&c, cfg, &err), LS_ECONFIG);
    assert_non_null(strstr(buf_cstr(&err), "peers.min"));
    buf_clear(&err);
    assert_int_equal(config_set(cfg, "profile", "turbo", NULL), 0);
    assert_int_equal(connmgr_config_from(&c, cfg, &err), LS_ECONFIG);

    connmgr_config_default(&c);
    assert_int_equal(connmgr_config_profile(&c, "high-throughput"), 0);
    assert_int_equal(c.max_peers, 100);
    assert_int_equal(c.headroom, 12);
    assert_int_equal(connmgr_config_profile(&c, "nope"), LS_EINVAL);
    assert_int_equal(connmgr_config_profile(&c, "default"), 0);
    buf_free(&err);
    config_free(cfg);
}

static void
test_config_is_normalized(void **state)
{
    fixture_t *f = *state;
    f->cfg.min_peers = 10; /* above max_peers 4 */
    f->cfg.max_dials = 0;
    add_peer(f->ps, 1, 0.5, 0);
    start(f);
    connmgr_tick(f->cm, 0);
    assert_int_equal(count_calls(&f->sw, 'd'), 1); /* max_dials raised to 1 */
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_dials_best_cached_peers_up_to_min),
        T(test_bootstrap_first),
        T(test_state_transitions_and_confirmed_addr),
        T(test_backoff_grows_and_resets),
        T(test_dial_timeout),
        T(test_inline_callbacks),
        T(test_evicts_lowest_trust_at_capacity),
        T(test_newcomer_waits_for_grace_then_goes),
        T(test_protected_peers_are_not_evicted),
        T(test_allow_inbound_limits),
        T(test_newcomer_at_capacity_evicts_established),
        T(test_inbound_leaves_room_for_our_dials),
        T(test_low_trust_disconnected_and_not_redialled),
        T(test_keepalive_and_ping_timeouts),
        T(test_ping_success_resets_failures),
        T(test_idle_timeout),
        T(test_self_and_duplicates),
        T(test_deadline_is_bounded),
        T(test_backoff_deadline_wakes_dialler),
        cmocka_unit_test(test_config_from_node_config),
        T(test_config_is_normalized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
