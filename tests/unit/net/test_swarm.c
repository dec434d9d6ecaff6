/* Two swarms in one process over real loopback sockets on one event_base:
 * connect, identify, ping, echo streams, a wrong peer ID on dial, and limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/crypto/ed25519.h"
#include "lib/err/err.h"
#include "lib/multiaddr/multiaddr.h"
#include "net/diag/diag.h"
#include "net/identify/identify.h"
#include "net/ping/ping.h"
#include "net/swarm/swarm.h"
#include "net/swarm/swarm_internal.h" /* to stop one end reading */

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
    /* a dials b again (no /p2p: no reuse): two connections in the same direction,
     * one peer (only opposite directions are merged, test_simultaneous_dial) */
    w->done = 0;
    multiaddr_t *bare = multiaddr_without_peer_id(w->b.addr);
    assert_int_equal(swarm_dial(w->a.sw, bare, dialled, w), 0);
    multiaddr_free(bare);
    run_until(w, 5000);
    assert_int_equal(w->err, 0);
    assert_int_equal(swarm_peer_conn_count(w->a.sw, swarm_local_peer(w->b.sw)), 2);
    assert_int_equal(swarm_disconnect(w->b.sw, swarm_local_peer(w->a.sw), "test"), 2);
    assert_int_equal(swarm_peer_conn_count(w->b.sw, swarm_local_peer(w->a.sw)), 0);
    assert_int_equal(w->dial_failures, 0);
}

typedef struct side_t {
    int done, err;
    swarm_conn_t *conn;
} side_t;

static void
side_dialled(void *ctx, swarm_conn_t *c, int err)
{
    side_t *s = ctx;
    s->conn = c;
    s->err = err;
    s->done = 1;
}

/* The connection `me` keeps with `other`: the one dialled by the smaller peer ID. */
static void
assert_kept_one(swarm_t *me, swarm_t *other)
{
    const peer_id_t *them = swarm_local_peer(other);
    assert_int_equal(swarm_peer_conn_count(me, them), 1);
    swarm_conn_t *c = swarm_find_conn(me, them);
    assert_non_null(c);
    bool me_smaller = peer_id_cmp(swarm_local_peer(me), them) < 0;
    assert_int_equal(swarm_conn_is_inbound(c), !me_smaller);
}

/* Both peers dial each other at once: each end keeps the connection dialled by the
 * peer with the smaller ID and closes the other; both dials succeed (on the
 * connection kept) and a stream still runs afterwards. */
static void
test_simultaneous_dial(void **state)
{
    world_t *w = *state;
    side_t sa = { 0 }, sb = { 0 };
    assert_int_equal(swarm_dial(w->a.sw, w->b.addr, side_dialled, &sa), 0);
    assert_int_equal(swarm_dial(w->b.sw, w->a.addr, side_dialled, &sb), 0);
    for (int i = 0; i < 50 && !(sa.done && sb.done); i++)
        run_until(w, 100);
    assert_true(sa.done && sb.done);
    assert_int_equal(sa.err, 0);
    assert_int_equal(sb.err, 0);
    swarm_stats_t st_a, st_b;
    swarm_get_stats(w->a.sw, &st_a);
    swarm_get_stats(w->b.sw, &st_b);
    assert_int_equal(st_a.conns_merged, 1);
    assert_int_equal(st_b.conns_merged, 1);
    run_until(w, 800); /* a few ticks: the drained duplicate closes */
    assert_kept_one(w->a.sw, w->b.sw);
    assert_kept_one(w->b.sw, w->a.sw);
    assert_ptr_equal(sa.conn, swarm_find_conn(w->a.sw, swarm_local_peer(w->b.sw)));
    w->done = 0;
    assert_int_equal(diag_echo(w->a.sw, swarm_local_peer(w->b.sw), 2, 100000, echoed, w), 0);
    run_until(w, 5000);
    assert_int_equal(w->res.err, 0);
    assert_int_equal(w->res.ok_streams, 2);
    assert_int_equal(w->dial_failures, 0);
}

/* swarm_disconnect() aborts a dial still in its handshake (the connection manager's
 * dial timeout): the dialler hears LS_ECLOSED, the on_dial_failed hook stays quiet
 * (the caller knows), and nothing is left pending. */
static void
test_disconnect_aborts_dial(void **state)
{
    world_t *w = *state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0); /* accepts (backlog), never speaks */
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sl), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    multiaddr_t *bare = multiaddr_from_sockaddr_tcp((struct sockaddr *)&sa);
    multiaddr_t *ma = multiaddr_with_peer_id(bare, swarm_local_peer(w->b.sw));
    side_t sd = { 0 };
    assert_int_equal(swarm_dial(w->a.sw, ma, side_dialled, &sd), 0);
    run_until(w, 200);
    assert_false(sd.done); /* stuck in multistream-select */
    swarm_stats_t st;
    swarm_get_stats(w->a.sw, &st);
    assert_int_equal(st.conns_pending, 1);
    assert_int_equal(swarm_disconnect(w->a.sw, swarm_local_peer(w->b.sw), "dial timeout"), 0);
    for (int i = 0; i < 10 && !sd.done; i++)
        run_until(w, 50);
    assert_true(sd.done);
    assert_int_equal(sd.err, LS_ECLOSED);
    assert_null(sd.conn);
    swarm_get_stats(w->a.sw, &st);
    assert_int_equal(st.conns_pending, 0);
    assert_int_equal(w->dial_failures, 0);
    multiaddr_free(ma);
    multiaddr_free(bare);
    close(lfd);
}

/* ---- short writes on the zero-copy path ---- */

#define SHORT_STREAMS 16
#define SHORT_WRITE (300u * 1024)

typedef struct writer_t {
    swarm_stream_t *s[SHORT_STREAMS];
    int n_open, writable[SHORT_STREAMS];
} writer_t;

static int
writer_index(writer_t *wr, swarm_stream_t *s)
{
    for (int i = 0; i < wr->n_open; i++)
        if (wr->s[i] == s)
            return i;
    return -1;
}

static void
writer_writable(void *ud, swarm_stream_t *s)
{
    writer_t *wr = ud;
    int i = writer_index(wr, s);
    if (i >= 0)
        wr->writable[i]++;
}

static void
writer_opened(void *ctx, swarm_stream_t *s, int err, const char *protocol)
{
    static const swarm_stream_cbs_t cbs = { NULL, NULL, writer_writable, NULL };
    writer_t *wr = ctx;
    (void)protocol;
    assert_int_equal(err, 0);
    wr->s[wr->n_open++] = s;
    swarm_stream_set_cbs(s, &cbs, wr);
}

/* A write that comes up short is always followed by on_writable, whichever way it was
 * cut: by the window, by yamux's queue, or by the send buffer filling up while the
 * data went straight from the caller's buffer (the zero-copy path hands the rest to
 * the queue, which marks the stream blocked). The remote stops reading meanwhile, so
 * nothing drains until it reads again. */
static void
test_short_writes_resume(void **state)
{
    world_t *w = *state;
    static uint8_t data[SHORT_WRITE];
    static const char *const bulk[] = { DIAG_BULK_PROTOCOL_ID };
    writer_t wr = { 0 };
    connect_ab(w);
    w->done = 0; /* run_until() below runs the loop for its full time */
    for (int i = 0; i < SHORT_STREAMS; i++)
        assert_int_equal(swarm_open_stream(w->a.sw, swarm_local_peer(w->b.sw), bulk, 1,
                                           writer_opened, &wr), 0);
    for (int i = 0; i < 50 && wr.n_open < SHORT_STREAMS; i++)
        run_until(w, 20);
    assert_int_equal(wr.n_open, SHORT_STREAMS);
    swarm_conn_t *cb = swarm_find_conn(w->b.sw, swarm_local_peer(w->a.sw));
    event_del(cb->ev_read); /* b stops reading */
    bool short_write[SHORT_STREAMS];
    int shorts = 0;
    for (int i = 0; i < SHORT_STREAMS; i++) {
        /* the first write is smaller, so that the send buffer fills up in the middle
         * of a later write while its window is still open */
        size_t len = i == 0 ? 100u * 1024 : sizeof data;
        int n = swarm_stream_write(wr.s[i], data, len);
        assert_true(n >= 0 && n <= (int)len);
        short_write[i] = (size_t)n < len;
        shorts += short_write[i];
    }
    assert_int_equal(shorts, SHORT_STREAMS - 1); /* a 256 KiB window cuts the others */
    run_until(w, 100);
    event_add(cb->ev_read, NULL); /* b reads again: windows and queues drain */
    for (int i = 0; i < 100; i++) {
        int waiting = 0;
        for (int k = 0; k < SHORT_STREAMS; k++)
            waiting += short_write[k] && !wr.writable[k];
        if (!waiting)
            break;
        run_until(w, 50);
    }
    for (int k = 0; k < SHORT_STREAMS; k++)
        assert_true(!short_write[k] || wr.writable[k] >= 1);
    for (int k = 0; k < SHORT_STREAMS; k++)
        swarm_stream_reset(wr.s[k]);
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
        cmocka_unit_test_setup_teardown(test_simultaneous_dial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disconnect_aborts_dial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_writes_resume, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
