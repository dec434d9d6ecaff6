/* Two swarms in one process over real loopback sockets on one event_base:
 * connect, identify, ping, echo streams, a wrong peer ID on dial, and limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include <event2/event.h>

#include "lib/crypto/ed25519.h"
#include "lib/err/err.h"
#include "lib/multiaddr/multiaddr.h"
#include "net/diag/diag.h"
#include "net/identify/identify.h"
#include "net/ping/ping.h"
#include "net/swarm/swarm.h"

typedef struct node_t {
    ed25519_keypair_t key;
    swarm_t *sw;
    identify_t *id;
    ping_t *ping;
    multiaddr_t *addr; /* listen address with /p2p */
} node_t;

typedef struct world_t {
    struct event_base *base;
    node_t a, b;
    int done;
    int err;
    swarm_conn_t *conn;
    diag_result_t res;
    int64_t rtt;
    int refusals[SWARM_REFUSE_COUNT];
    const char *deny;   /* allow_stream refuses this protocol */
    int dial_failures;  /* on_dial_failed calls */
    peer_id_t failed_peer;
} world_t;

static void
on_refusal(void *ctx, swarm_refusal_t why, const peer_id_t *peer)
{
    world_t *w = ctx;
    (void)peer;
    w->refusals[why]++;
}

static bool
allow_stream(void *ctx, const peer_id_t *peer, const char *protocol)
{
    world_t *w = ctx;
    (void)peer;
    return !w->deny || strcmp(protocol, w->deny) != 0;
}

static void
on_dial_failed(void *ctx, const peer_id_t *peer, int err)
{
    world_t *w = ctx;
    assert_true(err < 0);
    w->dial_failures++;
    w->failed_peer = *peer;
}

static void
node_start(world_t *w, node_t *n, const swarm_config_t *cfg)
{
    ed25519_keypair_generate(&n->key);
    swarm_hooks_t hooks = { .ctx = w, .on_refusal = on_refusal, .allow_stream = allow_stream,
                            .on_dial_failed = on_dial_failed };
    n->sw = swarm_new(w->base, &n->key, cfg, &hooks);
    n->id = identify_new(n->sw, "lester/test", NULL);
    ping_config_t pc;
    ping_config_default(&pc);
    pc.interval_ms = 0;
    n->ping = ping_new(n->sw, &pc);
    diag_serve(n->sw, 256);
    multiaddr_t *ma;
    assert_int_equal(multiaddr_parse("/ip4/127.0.0.1/tcp/0", &ma), 0);
    assert_int_equal(swarm_listen(n->sw, ma), 0);
    multiaddr_free(ma);
    const multiaddr_t *const *addrs;
    assert_int_equal(swarm_listen_addrs(n->sw, &addrs), 1);
    identify_set_addrs(n->id, addrs, 1);
    n->addr = multiaddr_with_peer_id(addrs[0], swarm_local_peer(n->sw));
}

static void
node_stop(node_t *n)
{
    swarm_free(n->sw);
    identify_free(n->id);
    ping_free(n->ping);
    multiaddr_free(n->addr);
}

static int
setup(void **state)
{
    world_t *w = calloc(1, sizeof *w);
    w->base = event_base_new();
    node_start(w, &w->a, NULL);
    node_start(w, &w->b, NULL);
    *state = w;
    return 0;
}

static int
teardown(void **state)
{
    world_t *w = *state;
    node_stop(&w->a);
    node_stop(&w->b);
    event_base_free(w->base);
    free(w);
    return 0;
}

static void
stop_loop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* Run the loop until w->done or `ms` pass. */
static void
run_until(world_t *w, int ms)
{
    struct event *t = evtimer_new(w->base, stop_loop, w->base);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(t, &tv);
    while (!w->done && evtimer_pending(t, NULL))
        event_base_loop(w->base, EVLOOP_ONCE);
    event_free(t);
}

static void
dialled(void *ctx, swarm_conn_t *c, int err)
{
    world_t *w = ctx;
    w->conn = c;
    w->err = err;
    w->done = 1;
}

static void
connect_ab(world_t *w)
{
    w->done = 0;
    assert_int_equal(swarm_dial(w->a.sw, w->b.addr, dialled, w), 0);
    run_until(w, 5000);
    assert_true(w->done);
    assert_int_equal(w->err, 0);
    assert_non_null(w->conn);
    assert_true(peer_id_equal(swarm_conn_peer(w->conn), swarm_local_peer(w->b.sw)));
}

static void
test_connect_and_identify(void **state)
{
    world_t *w = *state;
    connect_ab(w);
    w->done = 0;
    run_until(w, 500); /* let identify run both ways */
    const identify_info_t *info = identify_conn_info(w->conn);
    assert_non_null(info);
    assert_string_equal(info->agent_version, "lester/test");
    assert_true(info->n_protocols >= 5);
    assert_int_equal(info->n_listen_addrs, 1);
    assert_non_null(info->observed_addr);
    swarm_conn_t *back = swarm_find_conn(w->b.sw, swarm_local_peer(w->a.sw));
    assert_non_null(back);
    assert_true(swarm_conn_is_inbound(back));
    assert_non_null(identify_conn_info(back));
}

static void
echoed(void *ctx, const diag_result_t *res)
{
    world_t *w = ctx;
    w->res = *res;
    w->done = 1;
}

static void
test_echo_streams(void **state)
{
    world_t *w = *state;
    connect_ab(w);
    w->done = 0;
    assert_int_equal(diag_echo(w->a.sw, swarm_local_peer(w->b.sw), 20, 1 << 20, echoed, w), 0);
    run_until(w, 20000);
    assert_true(w->done);
    assert_int_equal(w->res.err, 0);
    assert_int_equal(w->res.ok_streams, 20);
    assert_int_equal(w->res.received, 20u << 20);
    w->done = 0;
    assert_int_equal(diag_bulk(w->b.sw, swarm_local_peer(w->a.sw), 64u << 20, echoed, w), 0);
    run_until(w, 20000);
    assert_int_equal(w->res.err, 0);
    assert_int_equal(w->res.sent, 64u << 20);
}

static void
pinged(void *ctx, const peer_id_t *peer, int64_t rtt, int err)
{
    world_t *w = ctx;
    (void)peer;
    w->rtt = rtt;
    w->err = err;
    w->done = 1;
}

static void
test_ping(void **state)
{
    world_t *w = *state;
    swarm_add_addrs(w->a.sw, swarm_local_peer(w->b.sw), (const multiaddr_t *const *)&w->b.addr,
                    1);
    w->done = 0; /* dials by peer ID from the address book */
    assert_int_equal(ping_peer(w->a.ping, swarm_local_peer(w->b.sw), pinged, w), 0);
    run_until(w, 5000);
    assert_int_equal(w->err, 0);
    assert_true(w->rtt >= 0);
}

static void
test_wrong_peer_id(void **state)
{
    world_t *w = *state;
    ed25519_keypair_t other;
    peer_id_t other_id;
    ed25519_keypair_generate(&other);
    peer_id_from_ed25519(&other_id, other.pk);
    multiaddr_t *bare = multiaddr_without_peer_id(w->b.addr);
    multiaddr_t *wrong = multiaddr_with_peer_id(bare, &other_id);
    w->done = 0;
    assert_int_equal(swarm_dial(w->a.sw, wrong, dialled, w), 0);
    run_until(w, 5000);
    assert_true(w->done);
    assert_int_equal(w->err, LS_EPEERID);
    assert_null(w->conn);
    assert_int_equal(w->refusals[SWARM_REFUSE_PEER_ID], 1);
    assert_int_equal(w->dial_failures, 1); /* the hook names the peer we wanted */
    assert_true(peer_id_equal(&w->failed_peer, &other_id));
    multiaddr_free(bare);
    multiaddr_free(wrong);
    connect_ab(w); /* the right one still works */
}

static void
opened(void *ctx, swarm_stream_t *s, int err, const char *protocol)
{
    world_t *w = ctx;
    (void)protocol;
    if (s)
        w->done++; /* kept open */
    else
        w->err = err;
}

static void
test_unknown_protocol_and_limits(void **state)
{
    world_t *w = *state;
    connect_ab(w);
    static const char *const unknown[] = { "/nope/1.0.0" };
    w->done = 0;
    w->err = 0;
    assert_int_equal(swarm_open_stream(w->a.sw, swarm_local_peer(w->b.sw), unknown, 1, opened,
                                       w), 0);
    run_until(w, 100);
    while (w->err == 0)
        event_base_loop(w->base, EVLOOP_ONCE);
    assert_int_equal(w->err, LS_ENOTSUP);
    /* per-protocol limit: identify-push is limited to 8 inbound streams */
    static const char *const push[] = { IDENTIFY_PUSH_PROTOCOL_ID };
    w->done = 0;
    for (int i = 0; i < 10; i++)
        assert_int_equal(swarm_open_stream(w->a.sw, swarm_local_peer(w->b.sw), push, 1, opened,
                                           w), 0);
    run_until(w, 300);
    assert_true(w->refusals[SWARM_REFUSE_STREAM_LIMIT] >= 2);
}

static void
test_max_conns(void **state)
{
    world_t *w = *state;
    swarm_config_t cfg = { .max_conns = 1 };
    node_t c;
    node_start(w, &c, &cfg);
    w->done = 0;
    assert_int_equal(swarm_dial(w->a.sw, c.addr, dialled, w), 0);
    run_until(w, 3000);
    assert_int_equal(w->err, 0);
    w->done = 0;
    assert_int_equal(swarm_dial(w->b.sw, c.addr, dialled, w), 0);
    run_until(w, 3000);
    assert_true(w->done);
    assert_true(w->err < 0);
    assert_true(w->refusals[SWARM_REFUSE_MAX_CONNS] >= 1);
    node_stop(&c);
}

/* hooks.allow_stream refuses a protocol per peer (the node's rate limiter); a
 * second connection to a peer counts in swarm_peer_conn_count(). */
static void
test_allow_stream_hook_and_conn_count(void **state)
{
    world_t *w = *state;
    connect_ab(w);
    assert_int_equal(swarm_peer_conn_count(w->a.sw, swarm_local_peer(w->b.sw)), 1);
    assert_int_equal(swarm_peer_conn_count(w->b.sw, swarm_local_peer(w->a.sw)), 1);
    w->deny = PING_PROTOCOL_ID;
    w->done = 0;
    assert_int_equal(ping_peer(w->a.ping, swarm_local_peer(w->b.sw), pinged, w), 0);
    run_until(w, 5000);
    assert_true(w->done);
    assert_true(w->err < 0);
    assert_true(w->refusals[SWARM_REFUSE_RATE_LIMITED] >= 1);
    w->deny = NULL;
    w->done = 0;
    assert_int_equal(ping_peer(w->a.ping, swarm_local_peer(w->b.sw), pinged, w), 0);
    run_until(w, 5000);
    assert_int_equal(w->err, 0);
    assert_true(ping_conn_rtt_us(w->conn) >= 0); /* a one-off ping records the RTT too */
    w->done = 0; /* b dials a as well (no /p2p: no reuse): two connections, one peer */
    multiaddr_t *bare = multiaddr_without_peer_id(w->a.addr);
    assert_int_equal(swarm_dial(w->b.sw, bare, dialled, w), 0);
    multiaddr_free(bare);
    run_until(w, 5000);
    assert_int_equal(w->err, 0);
    assert_int_equal(swarm_peer_conn_count(w->b.sw, swarm_local_peer(w->a.sw)), 2);
    assert_int_equal(swarm_disconnect(w->a.sw, swarm_local_peer(w->b.sw), "test"), 2);
    assert_int_equal(swarm_peer_conn_count(w->a.sw, swarm_local_peer(w->b.sw)), 0);
    assert_int_equal(w->dial_failures, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_connect_and_identify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_echo_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_peer_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_protocol_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_conns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allow_stream_hook_and_conn_count, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
