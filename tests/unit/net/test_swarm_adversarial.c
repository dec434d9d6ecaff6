/* A hostile peer against a real swarm, over loopback sockets on one event_base.
 *
 * The attacker is written by hand from the protocol cores, not with the swarm: it
 * connects over TCP, runs multistream-select for /noise, a real Noise XX handshake
 * (net/noise) proving its own identity, multistream-select for /yamux/1.0.0 inside
 * the channel, and then sends yamux frames no honest peer sends (hashicorp/yamux
 * spec.md, libp2p/specs yamux/README.md): data past the 256 KiB receive window, a
 * version other than 0, an unknown type, a SYN for a stream that is open or has the
 * victim's parity, a window-update flood that overflows the send window, a burst
 * of 1000 SYNs, and a Noise transport frame whose tag does not verify.
 *
 * Each attack uses a fresh connection. The victim must close that connection,
 * count the refusal, log the reason, tell the attacker with Go Away when yamux is
 * still able to, and then still serve an honest swarm (dial + echo). */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "lib/buf/buf.h"
#include "lib/clock/clock.h"
#include "lib/crypto/ed25519.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "lib/multiaddr/multiaddr.h"
#include "net/diag/diag.h"
#include "net/identify/identify.h"
#include "net/mss/mss.h"
#include "net/noise/noise.h"
#include "net/ping/ping.h"
#include "net/swarm/swarm.h"
#include "net/yamux/yamux.h"

#define FLOOD_SYNS 1000
#define WAIT_MS 5000

typedef struct node_t {
    ed25519_keypair_t key;
    swarm_t *sw;
    identify_t *id;
    ping_t *ping;
    multiaddr_t *addr; /* listen address with /p2p */
    int refusals[SWARM_REFUSE_COUNT];
} node_t;

/* The hostile peer: a raw socket and the protocol cores driven by hand. */
typedef struct attacker_t {
    evutil_socket_t fd;
    struct event *ev;
    ed25519_keypair_t key;
    buf_t rx;       /* raw bytes from the victim, not yet used */
    bool eof;       /* the victim closed the connection (FIN or RST) */
    noise_t *noise;
    buf_t plain;    /* decrypted bytes not yet parsed */
    bool in_yamux;  /* plain holds yamux frames (the muxer is agreed) */
    bool got_goaway;
    uint32_t goaway_code;
    bool hs_read;   /* the responder's handshake message was processed */
    mss_t *mss;     /* the negotiation under way */
    bool mss_secured;
} attacker_t;

typedef struct world_t {
    struct event_base *base;
    node_t victim, good;
    attacker_t att;
    char log_path[512];
    int done, err;
    diag_result_t res;
} world_t;

/* ---- the two swarms ---- */

static void
on_refusal(void *ctx, swarm_refusal_t why, const peer_id_t *peer)
{
    node_t *n = ctx;
    (void)peer;
    n->refusals[why]++;
}

static void
node_start(world_t *w, node_t *n)
{
    ed25519_keypair_generate(&n->key);
    swarm_hooks_t hooks = { .ctx = n, .on_refusal = on_refusal };
    n->sw = swarm_new(w->base, &n->key, NULL, &hooks);
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
    const char *tmp = getenv("LESTER_TEST_TMP");
    if (!tmp || (mkdir(tmp, 0700) < 0 && errno != EEXIST))
        tmp = "/tmp";
    snprintf(w->log_path, sizeof w->log_path, "%s/swarm_adversarial_%d.log", tmp, (int)getpid());
    unlink(w->log_path);
    assert_int_equal(log_set_file(w->log_path), 0);
    w->base = event_base_new();
    node_start(w, &w->victim);
    node_start(w, &w->good);
    w->att.fd = -1;
    *state = w;
    return 0;
}

static void attacker_close(attacker_t *a);

static int
teardown(void **state)
{
    world_t *w = *state;
    attacker_close(&w->att);
    node_stop(&w->victim);
    node_stop(&w->good);
    event_base_free(w->base);
    log_set_file(NULL);
    unlink(w->log_path);
    free(w);
    return 0;
}

/* ---- the loop ---- */

typedef bool (*cond_fn)(world_t *w);

static void
stop_loop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* Run the loop until `cond` holds or `ms` pass; returns `cond`. */
static bool
run_until(world_t *w, cond_fn cond, int ms)
{
    struct event *t = evtimer_new(w->base, stop_loop, w->base);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(t, &tv);
    while (!cond(w) && evtimer_pending(t, NULL))
        event_base_loop(w->base, EVLOOP_ONCE);
    event_free(t);
    return cond(w);
}

static bool
is_done(world_t *w)
{
    return w->done != 0;
}

static size_t
victim_conns(world_t *w)
{
    swarm_stats_t st;
    swarm_get_stats(w->victim.sw, &st);
    return swarm_conns(w->victim.sw, NULL, 0) + st.conns_pending;
}

static bool
victim_idle(world_t *w)
{
    return victim_conns(w) == 0;
}

/* ---- the attacker's socket ---- */

static void
att_on_read(evutil_socket_t fd, short what, void *arg)
{
    attacker_t *a = arg;
    uint8_t tmp[64 * 1024];
    (void)what;
    for (;;) {
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n > 0) {
            assert_int_equal(buf_append(&a->rx, tmp, (size_t)n), 0);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        a->eof = true; /* 0: FIN; ECONNRESET: RST */
        event_del(a->ev);
        return;
    }
}

/* Write everything, running the loop while the socket is full. False once the
 * victim has closed (EPIPE, ECONNRESET): expected in the middle of an attack. */
static bool
att_send(world_t *w, const uint8_t *p, size_t len)
{
    attacker_t *a = &w->att;
    uint64_t deadline = clock_mono_ms() + WAIT_MS;
    while (len) {
        ssize_t n = send(a->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR) && clock_mono_ms() < deadline) {
            event_base_loop(w->base, EVLOOP_NONBLOCK);
            usleep(200);
            continue;
        }
        return false;
    }
    return true;
}

static bool
att_send_secure(world_t *w, const uint8_t *p, size_t len)
{
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(noise_encrypt(w->att.noise, p, len, &out), 0);
    bool ok = att_send(w, out.data, out.len);
    buf_free(&out);
    return ok;
}

static void
attacker_close(attacker_t *a)
{
    if (a->ev)
        event_free(a->ev);
    if (a->fd >= 0)
        close(a->fd);
    noise_free(a->noise);
    mss_free(a->mss);
    buf_free(&a->rx);
    buf_free(&a->plain);
    memset(a, 0, sizeof *a);
    a->fd = -1;
}

/* Decrypt what arrived; once yamux runs, walk the victim's frames for Go Away. */
static void
att_pump(attacker_t *a)
{
    size_t used = 0;
    if (a->noise && noise_is_done(a->noise) && a->rx.len) {
        int rc = noise_decrypt(a->noise, a->rx.data, a->rx.len, &used, &a->plain);
        assert_true(rc == 0 || rc == LS_EAGAIN);
        buf_consume(&a->rx, used);
    }
    while (a->in_yamux && a->plain.len >= YAMUX_HEADER_LEN) {
        yamux_header_t h;
        assert_int_equal(yamux_header_decode(a->plain.data, &h), 0);
        size_t payload = h.type == YAMUX_TYPE_DATA ? h.length : 0;
        if (a->plain.len < YAMUX_HEADER_LEN + payload)
            break;
        if (h.type == YAMUX_TYPE_GO_AWAY) {
            a->got_goaway = true;
            a->goaway_code = h.length;
        }
        buf_consume(&a->plain, YAMUX_HEADER_LEN + payload);
    }
}

/* multistream-select as initiator over `a->rx` (clear) or `a->plain` (secured). */
static bool
mss_step(world_t *w)
{
    attacker_t *a = &w->att;
    buf_t *in = a->mss_secured ? &a->plain : &a->rx;
    size_t used = 0;
    if (a->mss_secured)
        att_pump(a);
    assert_int_equal(mss_input(a->mss, in->data, in->len, &used), 0);
    buf_consume(in, used);
    return mss_is_done(a->mss) || a->eof;
}

static void
negotiate(world_t *w, const char *proto, bool secured)
{
    attacker_t *a = &w->att;
    const char *const protos[] = { proto };
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    a->mss = mss_new_initiator(protos, 1);
    a->mss_secured = secured;
    assert_true(mss_output(a->mss, &out) > 0);
    assert_true(secured ? att_send_secure(w, out.data, out.len) : att_send(w, out.data, out.len));
    assert_true(run_until(w, mss_step, WAIT_MS));
    assert_false(a->eof);
    assert_string_equal(mss_protocol(a->mss), proto);
    mss_free(a->mss);
    buf_free(&out);
}

static bool
noise_step(world_t *w)
{
    attacker_t *a = &w->att;
    size_t used = 0;
    if (a->hs_read)
        return true;
    int rc = noise_input(a->noise, a->rx.data, a->rx.len, &used);
    assert_true(rc == 0 || rc == LS_EAGAIN);
    buf_consume(&a->rx, used);
    a->hs_read = rc == 0;
    return a->hs_read || a->eof;
}

/* Connect to the victim and upgrade like any libp2p peer, up to a running yamux
 * session that the victim counts as an open connection. */
static void
attacker_connect(world_t *w)
{
    attacker_t *a = &w->att;
    struct sockaddr_storage ss;
    socklen_t sl;
    buf_t out = BUF_INIT(BUF_UNLIMITED);

    assert_true(victim_idle(w));
    ed25519_keypair_generate(&a->key);
    buf_init(&a->rx, BUF_UNLIMITED);
    buf_init(&a->plain, BUF_UNLIMITED);
    assert_int_equal(multiaddr_to_sockaddr(w->victim.addr, &ss, &sl), 0);
    a->fd = socket(ss.ss_family, SOCK_STREAM, 0);
    assert_true(a->fd >= 0);
    assert_int_equal(connect(a->fd, (struct sockaddr *)&ss, sl), 0);
    assert_int_equal(fcntl(a->fd, F_SETFL, fcntl(a->fd, F_GETFL) | O_NONBLOCK), 0);
    a->ev = event_new(w->base, a->fd, EV_READ | EV_PERSIST, att_on_read, a);
    event_add(a->ev, NULL);

    negotiate(w, NOISE_PROTOCOL_ID, false);
    a->noise = noise_new(true, &a->key, swarm_local_peer(w->victim.sw));
    assert_true(noise_output(a->noise, &out) > 0); /* -> e */
    assert_true(att_send(w, out.data, out.len));
    assert_true(run_until(w, noise_step, WAIT_MS)); /* <- e, ee, s, es */
    buf_clear(&out);
    assert_true(noise_output(a->noise, &out) > 0); /* -> s, se */
    assert_true(noise_is_done(a->noise));
    assert_true(att_send(w, out.data, out.len));
    negotiate(w, YAMUX_PROTOCOL_ID, true);
    a->in_yamux = true;
    buf_free(&out);

    swarm_stats_t st;
    swarm_get_stats(w->victim.sw, &st);
    assert_int_equal(swarm_conns(w->victim.sw, NULL, 0), 1);
    assert_int_equal(st.conns_open, 1);
}

static void
frame(uint8_t out[static YAMUX_HEADER_LEN], uint8_t version, uint8_t type, uint16_t flags,
      uint32_t id, uint32_t length)
{
    yamux_header_t h = { version, type, flags, id, length };
    yamux_header_encode(&h, out);
}

static bool
att_send_frames(world_t *w, const uint8_t *frames, size_t len)
{
    return att_send_secure(w, frames, len);
}

/* ---- what every attack must end with ---- */

static size_t
log_occurrences(world_t *w, const char *needle)
{
    FILE *f = fopen(w->log_path, "r");
    char line[2048];
    size_t n = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static bool
attack_over(world_t *w)
{
    att_pump(&w->att);
    return w->att.eof && victim_idle(w);
}

static void
dialled(void *ctx, swarm_conn_t *c, int err)
{
    world_t *w = ctx;
    (void)c;
    w->err = err;
    w->done = 1;
}

static void
echoed(void *ctx, const diag_result_t *res)
{
    world_t *w = ctx;
    w->res = *res;
    w->done = 1;
}

/* An honest swarm connects and echoes, then leaves. */
static void
good_peer_is_served(world_t *w)
{
    const peer_id_t *victim = swarm_local_peer(w->victim.sw);
    w->done = 0;
    assert_int_equal(swarm_dial(w->good.sw, w->victim.addr, dialled, w), 0);
    assert_true(run_until(w, is_done, WAIT_MS));
    assert_int_equal(w->err, 0);
    w->done = 0;
    assert_int_equal(diag_echo(w->good.sw, victim, 4, 64 * 1024, echoed, w), 0);
    assert_true(run_until(w, is_done, WAIT_MS));
    assert_int_equal(w->res.err, 0);
    assert_int_equal(w->res.ok_streams, 4);
    assert_int_equal(w->res.received, 4 * 64 * 1024);
    assert_int_equal(swarm_disconnect(w->good.sw, victim, "test over"), 1);
    assert_true(run_until(w, victim_idle, WAIT_MS));
}

/* The attack is sent: the victim must close the connection for `why` with `reason`
 * in its log, tell us with Go Away (`goaway_code`, or -1 when yamux cannot be
 * reached any more), and go on serving. */
static void
expect_closed(world_t *w, swarm_refusal_t why, const char *reason, int goaway_code,
              const int before[SWARM_REFUSE_COUNT], size_t logged_before)
{
    assert_true(run_until(w, attack_over, WAIT_MS));
    assert_int_equal(w->victim.refusals[why], before[why] + 1);
    assert_int_equal(log_occurrences(w, reason), logged_before + 1);
    if (goaway_code >= 0) {
        assert_true(w->att.got_goaway);
        assert_int_equal(w->att.goaway_code, (uint32_t)goaway_code);
    }
    swarm_stats_t st;
    swarm_get_stats(w->victim.sw, &st);
    assert_int_equal(st.conns_open, 0);
    assert_int_equal(st.conns_pending, 0);
    assert_int_equal(st.conns_in, 1);
    attacker_close(&w->att);
    good_peer_is_served(w);
    good_peer_is_served(w); /* and again: the listener keeps accepting */
}

#define YAMUX_REASON "closed: yamux protocol error"

/* Run `frames` as the attack on a fresh connection and check the outcome. */
static void
attack(world_t *w, const uint8_t *frames, size_t len, swarm_refusal_t why, const char *reason,
       int goaway_code)
{
    int before[SWARM_REFUSE_COUNT];
    attacker_connect(w);
    memcpy(before, w->victim.refusals, sizeof before);
    size_t logged = log_occurrences(w, reason);
    (void)att_send_frames(w, frames, len); /* may fail once the victim has closed */
    expect_closed(w, why, reason, goaway_code, before, logged);
}

/* ---- the attacks ---- */

static void
test_data_past_receive_window(void **state)
{
    world_t *w = *state;
    size_t len = 2 * YAMUX_HEADER_LEN + YAMUX_INITIAL_WINDOW + 1;
    uint8_t *frames = calloc(1, len);

    /* open stream 1, then one Data frame a byte longer than its 256 KiB window,
     * payload included (Noise splits it into several transport frames) */
    frame(frames, 0, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN, 1, 0);
    frame(frames + YAMUX_HEADER_LEN, 0, YAMUX_TYPE_DATA, 0, 1, YAMUX_INITIAL_WINDOW + 1);
    attack(w, frames, len, SWARM_REFUSE_PROTOCOL_ERROR, YAMUX_REASON,
           YAMUX_GOAWAY_PROTOCOL_ERROR);
    free(frames);
}

static void
test_data_with_syn_past_window(void **state)
{
    world_t *w = *state;
    uint8_t frames[YAMUX_HEADER_LEN];

    /* SYN and an over-window length in the same Data frame (header only: the
     * victim must not wait for 4 GiB of payload) */
    frame(frames, 0, YAMUX_TYPE_DATA, YAMUX_FLAG_SYN, 1, UINT32_MAX);
    attack(w, frames, sizeof frames, SWARM_REFUSE_PROTOCOL_ERROR, YAMUX_REASON,
           YAMUX_GOAWAY_PROTOCOL_ERROR);
}

static void
test_bad_version(void **state)
{
    world_t *w = *state;
    uint8_t frames[YAMUX_HEADER_LEN];

    frame(frames, 1, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN, 1, 0);
    attack(w, frames, sizeof frames, SWARM_REFUSE_PROTOCOL_ERROR, YAMUX_REASON,
           YAMUX_GOAWAY_PROTOCOL_ERROR);
}

static void
test_unknown_frame_type(void **state)
{
    world_t *w = *state;
    uint8_t frames[2 * YAMUX_HEADER_LEN];

    /* a valid SYN first, so the error is not just "the first frame was odd" */
    frame(frames, 0, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN, 1, 0);
    frame(frames + YAMUX_HEADER_LEN, 0, 0x04, 0, 1, 0);
    attack(w, frames, sizeof frames, SWARM_REFUSE_PROTOCOL_ERROR, YAMUX_REASON,
           YAMUX_GOAWAY_PROTOCOL_ERROR);
}

static bool
victim_has_stream_1(world_t *w)
{
    swarm_conn_t *c = NULL;
    /* identify's own stream (id 2) is there too: look for two */
    return swarm_conns(w->victim.sw, &c, 1) == 1 && swarm_conn_stream_count(c) >= 2;
}

static void
test_syn_reuses_open_stream(void **state)
{
    world_t *w = *state;
    uint8_t syn[YAMUX_HEADER_LEN];
    int before[SWARM_REFUSE_COUNT];

    attacker_connect(w);
    memcpy(before, w->victim.refusals, sizeof before);
    size_t logged = log_occurrences(w, YAMUX_REASON);
    frame(syn, 0, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN, 1, 0);
    assert_true(att_send_frames(w, syn, sizeof syn));
    assert_true(run_until(w, victim_has_stream_1, WAIT_MS)); /* accepted */
    (void)att_send_frames(w, syn, sizeof syn);                /* again */
    expect_closed(w, SWARM_REFUSE_PROTOCOL_ERROR, YAMUX_REASON, YAMUX_GOAWAY_PROTOCOL_ERROR,
                  before, logged);
}

static void
test_syn_with_victims_parity(void **state)
{
    world_t *w = *state;
    uint8_t frames[YAMUX_HEADER_LEN];

    /* we dialled: our streams are odd; an even id belongs to the victim (spec) */
    frame(frames, 0, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN, 2, 0);
    attack(w, frames, sizeof frames, SWARM_REFUSE_PROTOCOL_ERROR, YAMUX_REASON,
           YAMUX_GOAWAY_PROTOCOL_ERROR);
}

static void
test_window_update_flood(void **state)
{
    world_t *w = *state;
    size_t n = 1 + FLOOD_SYNS;
    uint8_t *frames = malloc(n * YAMUX_HEADER_LEN);

    /* 1000 window updates of 16 MiB on one stream: its send window would pass
     * 2^32 after about 256 of them, which no receiver can mean */
    frame(frames, 0, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN, 1, 0);
    for (size_t i = 1; i < n; i++)
        frame(frames + i * YAMUX_HEADER_LEN, 0, YAMUX_TYPE_WINDOW_UPDATE, 0, 1, 16u << 20);
    attack(w, frames, n * YAMUX_HEADER_LEN, SWARM_REFUSE_PROTOCOL_ERROR, YAMUX_REASON,
           YAMUX_GOAWAY_PROTOCOL_ERROR);
    free(frames);
}

static void
test_stream_flood(void **state)
{
    world_t *w = *state;
    uint8_t *frames = malloc(FLOOD_SYNS * YAMUX_HEADER_LEN);
    swarm_config_t cfg;

    swarm_config_default(&cfg);
    for (uint32_t i = 0; i < FLOOD_SYNS; i++)
        frame(frames + i * YAMUX_HEADER_LEN, 0, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN,
              2 * i + 1, 0);
    /* the burst (400) is accepted, then every SYN over the rate is refused, and
     * flood_refusals (200) of those close the connection */
    assert_true(FLOOD_SYNS > cfg.inbound_streams_burst + cfg.flood_refusals);
    int rate_before = w->victim.refusals[SWARM_REFUSE_STREAM_RATE];
    attack(w, frames, FLOOD_SYNS * YAMUX_HEADER_LEN, SWARM_REFUSE_STREAM_FLOOD,
           "closed: stream flood", YAMUX_GOAWAY_NORMAL);
    assert_int_equal(w->victim.refusals[SWARM_REFUSE_STREAM_RATE] - rate_before,
                     (int)cfg.flood_refusals);
    free(frames);
}

static void
test_noise_bad_tag(void **state)
{
    world_t *w = *state;
    uint8_t ping[YAMUX_HEADER_LEN];
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    int before[SWARM_REFUSE_COUNT];

    attacker_connect(w);
    memcpy(before, w->victim.refusals, sizeof before);
    size_t logged = log_occurrences(w, "closed: noise decryption failed");
    /* a well-formed yamux Ping, sealed correctly, then one bit of its tag flipped */
    frame(ping, 0, YAMUX_TYPE_PING, YAMUX_FLAG_SYN, 0, 7);
    assert_int_equal(noise_encrypt(w->att.noise, ping, sizeof ping, &out), 0);
    assert_int_equal(out.len, 2 + sizeof ping + 16);
    out.data[out.len - 1] ^= 0x01;
    (void)att_send(w, out.data, out.len);
    buf_free(&out);
    /* Noise errors are sticky: the victim can no longer encrypt a Go Away */
    expect_closed(w, SWARM_REFUSE_PROTOCOL_ERROR, "closed: noise decryption failed", -1, before,
                  logged);
}

static void
test_noise_frame_shorter_than_tag(void **state)
{
    world_t *w = *state;
    static const uint8_t runt[] = { 0x00, 0x05, 1, 2, 3, 4, 5 };
    int before[SWARM_REFUSE_COUNT];

    attacker_connect(w);
    memcpy(before, w->victim.refusals, sizeof before);
    size_t logged = log_occurrences(w, "closed: noise decryption failed");
    (void)att_send(w, runt, sizeof runt);
    expect_closed(w, SWARM_REFUSE_PROTOCOL_ERROR, "closed: noise decryption failed", -1, before,
                  logged);
}

static void
test_attack_then_reset(void **state)
{
    world_t *w = *state;
    uint8_t frames[YAMUX_HEADER_LEN];
    int before[SWARM_REFUSE_COUNT];
    struct linger hard = { 1, 0 };
    swarm_stats_t st;

    /* A bad frame, then a TCP reset before the victim runs: its Go Away write then
     * fails inside the close, which must still happen exactly once. */
    attacker_connect(w);
    memcpy(before, w->victim.refusals, sizeof before);
    size_t logged = log_occurrences(w, YAMUX_REASON);
    frame(frames, 1, YAMUX_TYPE_DATA, 0, 1, 0);
    assert_true(att_send_frames(w, frames, sizeof frames));
    assert_int_equal(setsockopt(w->att.fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard), 0);
    attacker_close(&w->att);
    assert_true(run_until(w, victim_idle, WAIT_MS));
    run_until(w, is_done, 100); /* let the reap run */
    swarm_get_stats(w->victim.sw, &st);
    assert_int_equal(st.conns_open, 0);
    assert_int_equal(st.conns_pending, 0);
    assert_int_equal(w->victim.refusals[SWARM_REFUSE_PROTOCOL_ERROR],
                     before[SWARM_REFUSE_PROTOCOL_ERROR] + 1);
    assert_int_equal(log_occurrences(w, YAMUX_REASON), logged + 1);
    good_peer_is_served(w);
}

static void
test_honest_baseline(void **state)
{
    world_t *w = *state;

    /* the attacker's handshake is a correct one: a valid frame keeps it open */
    uint8_t ping[YAMUX_HEADER_LEN];
    attacker_connect(w);
    frame(ping, 0, YAMUX_TYPE_PING, YAMUX_FLAG_SYN, 0, 7);
    assert_true(att_send_frames(w, ping, sizeof ping));
    run_until(w, is_done, 200); /* w->done stays 0: just let time pass */
    att_pump(&w->att);
    assert_false(w->att.eof);
    assert_int_equal(swarm_conns(w->victim.sw, NULL, 0), 1);
    assert_int_equal(w->victim.refusals[SWARM_REFUSE_PROTOCOL_ERROR], 0);
    attacker_close(&w->att);
    assert_true(run_until(w, victim_idle, WAIT_MS));
    good_peer_is_served(w);
}

int
main(void)
{
    /* as the daemon does (node/daemon): a write to a reset socket is an error
     * code, not a signal */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_honest_baseline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_past_receive_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_with_syn_past_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_frame_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syn_reuses_open_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syn_with_victims_parity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_update_flood, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_flood, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noise_bad_tag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noise_frame_shorter_than_tag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attack_then_reset, setup, teardown),
    };
    return cmocka_run_group_tests_name("net/swarm_adversarial", tests, NULL, NULL);
}
