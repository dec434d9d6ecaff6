/* Tests for net/yamux: header vectors (hashicorp/yamux spec.md "Framing"), and a
 * client and a server session wired to each other through buffers split at
 * pseudo-random points: open/echo/close, 100 streams x 1 MiB, half-close, reset,
 * flow control and its auto-tuning, limits, the ACK backlog, ping, Go Away, and
 * malformed input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/buf/buf.h"
#include "lib/err/err.h"
#include "net/yamux/yamux.h"
#include "net/yamux/yamux_internal.h"

#define MAX_IDS 1024
#define MiB (1024u * 1024)

/* ---- a test owner: records events, buffers nothing it does not need ---- */

typedef struct app_stream_t {
    bool open;
    bool remote_fin;
    int reset;           /* 0, or the on_stream_close reason when negative */
    int writable;        /* on_writable calls */
    uint64_t rx_total;   /* bytes delivered */
    uint64_t unconsumed; /* delivered, not yet consumed */
    uint64_t tx_off, tx_total;
    bool fin_when_sent;
    buf_t rx; /* small payloads kept for inspection */
} app_stream_t;

typedef struct peer_t {
    yamux_session_t *s;
    app_stream_t st[MAX_IDS];
    int refuse;          /* on_stream_open's answer */
    bool echo;           /* write back what arrives */
    bool verify_pattern; /* check bulk bytes instead of keeping them */
    bool reply_count;    /* on FIN: send the byte count, then FIN */
    bool auto_consume;   /* consume right after each input */
    int opened, writable0, goaways, rtts;
    uint32_t goaway_code;
    uint64_t rtt;
    uint32_t max_send_window;
    uint32_t window_cap; /* yamux_set_window_cap() on each stream it accepts, 0: none */
} peer_t;

static uint8_t
pattern(uint32_t id, uint64_t k)
{
    return (uint8_t)(id * 131 + k * 7 + (k >> 11));
}

static app_stream_t *
app(peer_t *p, uint32_t id)
{
    assert_true(id < MAX_IDS);
    return &p->st[id];
}

static int
on_open(void *ctx, uint32_t id)
{
    peer_t *p = ctx;
    if (p->refuse)
        return p->refuse;
    app(p, id)->open = true;
    p->opened++;
    if (p->window_cap)
        assert_int_equal(yamux_set_window_cap(p->s, id, p->window_cap), 0);
    return 0;
}

static void
flush(peer_t *p, uint32_t id)
{
    app_stream_t *a = app(p, id);
    uint8_t chunk[64 * 1024];

    while (a->tx_off < a->tx_total) {
        size_t n = (size_t)LS_MIN((uint64_t)sizeof chunk, a->tx_total - a->tx_off);
        for (size_t i = 0; i < n; i++)
            chunk[i] = pattern(id, a->tx_off + i);
        uint32_t w = yamux_send_window(p->s, id);
        p->max_send_window = LS_MAX(p->max_send_window, w);
        int rc = yamux_write(p->s, id, chunk, n);
        assert_true(rc >= 0);
        a->tx_off += (uint64_t)rc;
        if ((size_t)rc < n)
            return;
    }
    if (a->fin_when_sent) {
        a->fin_when_sent = false;
        assert_int_equal(yamux_close_write(p->s, id), 0);
    }
}

static void
on_data(void *ctx, uint32_t id, const uint8_t *d, size_t len)
{
    peer_t *p = ctx;
    app_stream_t *a = app(p, id);

    assert_true(a->open);
    assert_false(a->remote_fin);
    if (p->verify_pattern) {
        for (size_t i = 0; i < len; i++)
            if (d[i] != pattern(id, a->rx_total + i))
                fail_msg("stream %u byte %llu", id, (unsigned long long)(a->rx_total + i));
    } else {
        assert_int_equal(buf_append(&a->rx, d, len), 0);
    }
    a->rx_total += len;
    a->unconsumed += len;
    /* The owner never holds more than the largest window. */
    assert_true(a->unconsumed <= 16 * MiB);
    if (p->echo)
        assert_int_equal(yamux_write(p->s, id, d, len), (int)len);
}

static void
on_close(void *ctx, uint32_t id, int reason)
{
    peer_t *p = ctx;
    app_stream_t *a = app(p, id);

    if (reason < 0) {
        a->reset = reason;
        a->open = false;
        return;
    }
    assert_false(a->remote_fin);
    a->remote_fin = true;
    if (p->reply_count) {
        uint8_t be[8];
        for (int i = 0; i < 8; i++)
            be[i] = (uint8_t)(a->rx_total >> (56 - 8 * i));
        assert_int_equal(yamux_write(p->s, id, be, 8), 8);
        assert_int_equal(yamux_close_write(p->s, id), 0);
    }
}

static void
on_writable(void *ctx, uint32_t id)
{
    peer_t *p = ctx;
    if (id == 0) {
        p->writable0++;
        return;
    }
    app(p, id)->writable++;
    flush(p, id);
}

static void
on_rtt(void *ctx, uint64_t rtt)
{
    peer_t *p = ctx;
    p->rtt = rtt;
    p->rtts++;
}

static void
on_goaway(void *ctx, uint32_t code)
{
    peer_t *p = ctx;
    p->goaways++;
    p->goaway_code = code;
}

static peer_t *
peer_new(bool client, const yamux_config_t *cfg)
{
    peer_t *p = calloc(1, sizeof *p);
    yamux_env_t env = {p, on_open, on_data, on_close, on_writable, on_rtt, on_goaway};

    assert_non_null(p);
    for (size_t i = 0; i < MAX_IDS; i++)
        buf_init(&p->st[i].rx, BUF_UNLIMITED);
    p->s = yamux_session_new(client, cfg, &env);
    return p;
}

static void
peer_free(peer_t *p)
{
    for (size_t i = 0; i < MAX_IDS; i++)
        buf_free(&p->st[i].rx);
    yamux_session_free(p->s);
    assert_null(p->s);
    free(p);
}

static void
consume_all(peer_t *p)
{
    for (uint32_t id = 1; id < MAX_IDS; id++) {
        app_stream_t *a = &p->st[id];
        if (!a->unconsumed)
            continue;
        int rc = yamux_consume(p->s, id, (size_t)a->unconsumed);
        assert_true(rc == 0 || rc == LS_ENOENT);
        a->unconsumed = 0;
    }
}

/* xorshift64*, deterministic: split points for the pipes. */
static uint64_t rng_state = 88172645463325252ull;

static uint64_t
rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

/* Move everything `from` wants to send into `to`, in random pieces. Returns the
 * number of bytes moved. */
static size_t
pipe_once(peer_t *from, peer_t *to, uint64_t now, size_t window)
{
    buf_t b = BUF_INIT(window);
    size_t total = 0;

    while (yamux_output(from->s, &b) > 0) {
        size_t off = 0;
        while (off < b.len) {
            size_t n = rng() % 8 == 0 ? 1 + rng() % 13 : 1 + rng() % 70000;
            n = LS_MIN(n, b.len - off);
            size_t used;
            assert_int_equal(yamux_input(to->s, now, b.data + off, n, &used), 0);
            assert_int_equal(used, n);
            off += n;
        }
        total += b.len;
        buf_clear(&b);
        if (to->auto_consume)
            consume_all(to);
    }
    buf_free(&b);
    return total;
}

/* Run both directions until quiet, one simulated millisecond per round. */
static void
pump(peer_t *a, peer_t *b, uint64_t *now)
{
    for (int round = 0; round < 1000000; round++) {
        size_t moved = pipe_once(a, b, *now, 256 * 1024) + pipe_once(b, a, *now, 256 * 1024);
        if (!moved)
            return;
        (*now)++;
    }
    fail_msg("no quiescence");
}

static buf_t
drain(yamux_session_t *s)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    (void)yamux_output(s, &b);
    return b;
}

#define assert_output(s, lit)                                                                      \
    do {                                                                                           \
        buf_t b_ = drain(s);                                                                       \
        assert_int_equal(b_.len, sizeof(lit) - 1);                                                 \
        assert_memory_equal(b_.data, (lit), sizeof(lit) - 1);                                      \
        buf_free(&b_);                                                                             \
    } while (0)

static int
feed(yamux_session_t *s, uint64_t now, const void *p, size_t len)
{
    size_t used;
    int rc = yamux_input(s, now, p, len, &used);
    if (rc == 0)
        assert_int_equal(used, len);
    return rc;
}

static size_t
frame(uint8_t *out, uint8_t type, uint16_t flags, uint32_t id, uint32_t length)
{
    yamux_header_t h = {0, type, flags, id, length};
    yamux_header_encode(&h, out);
    return YAMUX_HEADER_LEN;
}

static int
feed_frame(yamux_session_t *s, uint8_t type, uint16_t flags, uint32_t id, uint32_t length)
{
    uint8_t f[YAMUX_HEADER_LEN];
    frame(f, type, flags, id, length);
    return feed(s, 0, f, sizeof f);
}

/* ---- tests ---- */

static void
test_yamux_header_vectors(void **state)
{
    static const struct {
        yamux_header_t h;
        uint8_t wire[YAMUX_HEADER_LEN];
    } v[] = {
        {{0, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN, 1, 0}, {0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}},
        {{0, YAMUX_TYPE_DATA, YAMUX_FLAG_ACK, 2, 5}, {0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 5}},
        {{0, YAMUX_TYPE_PING, YAMUX_FLAG_SYN, 0, 0x01020304}, {0, 2, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}},
        {{0, YAMUX_TYPE_GO_AWAY, 0, 0, YAMUX_GOAWAY_PROTOCOL_ERROR},
         {0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
        {{0, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_RST | YAMUX_FLAG_FIN, 0x12345678, 0xdeadbeef},
         {0, 1, 0, 12, 0x12, 0x34, 0x56, 0x78, 0xde, 0xad, 0xbe, 0xef}},
    };
    (void)state;

    for (size_t i = 0; i < LS_ARRAY_LEN(v); i++) {
        uint8_t wire[YAMUX_HEADER_LEN];
        yamux_header_t h;
        yamux_header_encode(&v[i].h, wire);
        assert_memory_equal(wire, v[i].wire, YAMUX_HEADER_LEN);
        assert_int_equal(yamux_header_decode(v[i].wire, &h), 0);
        assert_memory_equal(&h, &v[i].h, sizeof h);
    }
    static const uint8_t bad_version[YAMUX_HEADER_LEN] = {1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    static const uint8_t bad_type[YAMUX_HEADER_LEN] = {0, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    yamux_header_t h;
    assert_int_equal(yamux_header_decode(bad_version, &h), LS_EPROTO);
    assert_int_equal(yamux_header_decode(bad_type, &h), LS_EPROTO);
}

static void
test_yamux_open_echo_close(void **state)
{
    peer_t *c = peer_new(true, NULL), *s = peer_new(false, NULL);
    uint32_t id;
    (void)state;

    s->echo = true;
    assert_int_equal(yamux_open_stream(c->s, &id), 0);
    assert_int_equal(id, 1);
    c->st[1].open = true;
    /* SYN in a Window Update, as go and js send it. */
    assert_output(c->s, "\x00\x01\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00");
    assert_int_equal(yamux_write(c->s, id, (const uint8_t *)"hello", 5), 5);
    buf_t b = drain(c->s);
    assert_int_equal(b.len, 17);
    assert_memory_equal(b.data, "\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x05hello", 17);
    assert_int_equal(feed(s->s, 0, "\x00\x01\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00", 12), 0);
    assert_int_equal(feed(s->s, 0, b.data, b.len), 0);
    buf_free(&b);
    assert_int_equal(s->opened, 1);
    /* The echo carries the ACK: the first frame the server sends on the stream. */
    assert_int_equal(yamux_write(s->s, id, (const uint8_t *)"!", 1), 1);
    b = drain(s->s);
    assert_int_equal(b.len, 17 + 13);
    assert_memory_equal(b.data,
                        "\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x05hello"
                        "\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x01!",
                        17 + 13);
    assert_int_equal(c->s->unacked_out, 1);
    assert_int_equal(feed(c->s, 0, b.data, b.len), 0);
    buf_free(&b);
    assert_int_equal(c->st[1].rx.len, 6);
    assert_memory_equal(c->st[1].rx.data, "hello!", 6);
    assert_int_equal(c->s->unacked_out, 0);

    /* Close: FIN each way in Window Updates; both sides forget the stream. */
    assert_int_equal(yamux_close_write(c->s, id), 0);
    assert_int_equal(yamux_close_write(c->s, id), 0); /* idempotent */
    assert_output(c->s, "\x00\x01\x00\x04\x00\x00\x00\x01\x00\x00\x00\x00");
    assert_int_equal(yamux_write(c->s, id, (const uint8_t *)"x", 1), LS_ECLOSED);
    assert_int_equal(feed(s->s, 0, "\x00\x01\x00\x04\x00\x00\x00\x01\x00\x00\x00\x00", 12), 0);
    assert_true(s->st[1].remote_fin);
    assert_int_equal(yamux_stream_count(s->s), 1);
    assert_int_equal(yamux_close_write(s->s, id), 0);
    assert_int_equal(yamux_stream_count(s->s), 0);
    uint64_t now = 0;
    pump(s, c, &now);
    assert_true(c->st[1].remote_fin);
    assert_int_equal(yamux_stream_count(c->s), 0);
    assert_int_equal(c->s->streams.cap, 0); /* idle again: no table */
    assert_int_equal(yamux_consume(c->s, id, 6), LS_ENOENT);
    peer_free(c);
    peer_free(s);
}

static void
test_yamux_bulk_100_streams(void **state)
{
    peer_t *c = peer_new(true, NULL), *s = peer_new(false, NULL);
    uint64_t now = 1;
    (void)state;

    s->verify_pattern = s->reply_count = s->auto_consume = true;
    c->auto_consume = true;
    /* Window tuning needs each side's RTT: the first keepalive tick measures it. */
    assert_int_equal(yamux_ping(c->s, now), 0);
    assert_int_equal(yamux_ping(s->s, now), 0);
    pump(c, s, &now);
    assert_int_equal(c->rtts, 1);
    assert_int_equal(s->rtts, 1);
    for (int i = 0; i < 100; i++) {
        uint32_t id;
        assert_int_equal(yamux_open_stream(c->s, &id), 0);
        assert_int_equal(id, 2 * (uint32_t)i + 1);
        app_stream_t *a = app(c, id);
        a->open = true;
        a->tx_total = MiB;
        a->fin_when_sent = true;
        flush(c, id);
    }
    pump(c, s, &now);
    for (uint32_t id = 1; id < 200; id += 2) {
        assert_int_equal(s->st[id].rx_total, MiB);
        assert_true(s->st[id].remote_fin);
        assert_true(c->st[id].remote_fin);
        assert_int_equal(c->st[id].rx.len, 8);
        assert_memory_equal(c->st[id].rx.data, "\0\0\0\0\0\x10\0\0", 8);
    }
    assert_int_equal(yamux_stream_count(c->s), 0);
    assert_int_equal(yamux_stream_count(s->s), 0);
    assert_true(c->max_send_window > YAMUX_INITIAL_WINDOW); /* auto-tuned */
    yamux_stats_t st;
    yamux_get_stats(s->s, &st);
    assert_int_equal(st.data_in, 100 * MiB);
    assert_int_equal(st.streams_opened_in, 100);
    assert_int_equal(st.protocol_errors, 0);
    assert_false(yamux_has_output(c->s));
    assert_int_equal(c->s->out.cap, 0); /* big queue released once drained */
    peer_free(c);
    peer_free(s);
}

/* Send `bytes` more from `c` on its stream `id` to `s`, until all have arrived. */
static void
run_stream(peer_t *c, peer_t *s, uint64_t *now, uint32_t id, uint64_t bytes, uint64_t ms_per_round)
{
    app(c, id)->tx_total += bytes;
    flush(c, id);
    /* The reader takes `ms_per_round` to get to what arrived. */
    for (int round = 0; round < 100000; round++) {
        size_t moved = pipe_once(c, s, *now, 1 * MiB);
        *now += ms_per_round;
        yamux_tick(s->s, *now);
        consume_all(s);
        moved += pipe_once(s, c, *now, 1 * MiB);
        if (!moved)
            break;
    }
    assert_int_equal(s->st[id].rx_total, app(c, id)->tx_total);
}

static uint32_t
run_one_stream(peer_t *c, peer_t *s, uint64_t *now, uint64_t bytes, uint64_t ms_per_round)
{
    uint32_t id;
    assert_int_equal(yamux_open_stream(c->s, &id), 0);
    app(c, id)->open = true;
    run_stream(c, s, now, id, bytes, ms_per_round);
    return id;
}

static void
test_yamux_window_autotune(void **state)
{
    uint64_t now = 1000;
    (void)state;

    /* A fast reader (RTT 20 ms, consuming at once): the window doubles. */
    peer_t *c = peer_new(true, NULL), *s = peer_new(false, NULL);
    s->verify_pattern = true;
    yamux_ping(s->s, now);
    pipe_once(s, c, now, BUF_UNLIMITED);
    pipe_once(c, s, now + 20, BUF_UNLIMITED);
    assert_int_equal(s->rtt, 20);
    uint32_t id = run_one_stream(c, s, &now, 64 * MiB, 1);
    assert_int_equal(yamux_stream_get(s->s, id)->recv_max, 16 * MiB);
    assert_true(c->max_send_window > 8 * MiB);
    peer_free(c);
    peer_free(s);

    /* A slow reader (a top-up every 100 ms, RTT 20 ms): it stays at 256 KiB. */
    c = peer_new(true, NULL), s = peer_new(false, NULL);
    s->verify_pattern = true;
    yamux_ping(s->s, now);
    pipe_once(s, c, now, BUF_UNLIMITED);
    pipe_once(c, s, now + 20, BUF_UNLIMITED);
    id = run_one_stream(c, s, &now, 4 * MiB, 100);
    assert_int_equal(yamux_stream_get(s->s, id)->recv_max, YAMUX_INITIAL_WINDOW);
    assert_int_equal(c->max_send_window, YAMUX_INITIAL_WINDOW);
    peer_free(c);
    peer_free(s);

    /* A fast reader on a short path (RTT 1 ms) with tune_min_rtt_ms = 2 and a
     * 1 MiB short_window, as the swarm configures it: the window stops at 1 MiB. */
    yamux_config_t cfg;
    yamux_config_default(&cfg);
    cfg.tune_min_rtt_ms = 2;
    cfg.short_window = 1 * MiB;
    c = peer_new(true, &cfg), s = peer_new(false, &cfg);
    s->verify_pattern = true;
    yamux_ping(s->s, now);
    pipe_once(s, c, now, BUF_UNLIMITED);
    pipe_once(c, s, now + 1, BUF_UNLIMITED);
    assert_int_equal(s->rtt, 1);
    id = run_one_stream(c, s, &now, 16 * MiB, 0);
    assert_int_equal(yamux_stream_get(s->s, id)->recv_max, 1 * MiB);
    peer_free(c);
    peer_free(s);
}

/* yamux_set_window_cap(): on a short path with the swarm's config (RTT 1 ms under
 * tune_min_rtt_ms = 2, short_window 1 MiB), a stream whose owner asks for 16 MiB
 * grows past 1 MiB by the usual rule, one without stays at 1 MiB; a cap lowered under
 * the window stops its growth without taking anything back, a raised one lets it
 * grow on from where it is; caps are clamped to [256 KiB, 16 MiB]. */
static void
test_yamux_window_cap(void **state)
{
    yamux_config_t cfg;
    uint64_t now = 1000;
    (void)state;

    yamux_config_default(&cfg);
    cfg.tune_min_rtt_ms = 2;
    cfg.short_window = 1 * MiB;
    peer_t *c = peer_new(true, &cfg), *s = peer_new(false, &cfg);
    s->verify_pattern = true;
    yamux_ping(s->s, now);
    pipe_once(s, c, now, BUF_UNLIMITED);
    pipe_once(c, s, now + 1, BUF_UNLIMITED);
    assert_int_equal(s->rtt, 1);

    s->window_cap = 16 * MiB;
    uint32_t big = run_one_stream(c, s, &now, 64 * MiB, 0);
    assert_int_equal(yamux_stream_get(s->s, big)->recv_max, 16 * MiB);
    assert_true(c->max_send_window > 8 * MiB); /* the sender saw it too */
    s->window_cap = 0;
    c->max_send_window = 0;
    uint32_t plain = run_one_stream(c, s, &now, 16 * MiB, 0);
    assert_int_equal(yamux_stream_get(s->s, plain)->recv_max, 1 * MiB);
    assert_int_equal(c->max_send_window, 1 * MiB);

    /* Lowered under the window: no growth, no shrinking, the data still flows. */
    assert_int_equal(yamux_set_window_cap(s->s, big, 2 * MiB), 0);
    run_stream(c, s, &now, big, 8 * MiB, 0);
    assert_int_equal(yamux_stream_get(s->s, big)->recv_max, 16 * MiB);
    /* Raised: grows on from 1 MiB by doubling, up to the new cap. */
    assert_int_equal(yamux_set_window_cap(s->s, plain, 4 * MiB), 0);
    run_stream(c, s, &now, plain, 16 * MiB, 0);
    assert_int_equal(yamux_stream_get(s->s, plain)->recv_max, 4 * MiB);
    /* Back to the session's rule: growth stops at short_window again. */
    assert_int_equal(yamux_set_window_cap(s->s, plain, 0), 0);
    run_stream(c, s, &now, plain, 8 * MiB, 0);
    assert_int_equal(yamux_stream_get(s->s, plain)->recv_max, 4 * MiB);

    /* Clamping, and an unknown stream. */
    assert_int_equal(yamux_set_window_cap(s->s, plain, 1), 0);
    assert_int_equal(yamux_stream_get(s->s, plain)->window_cap, YAMUX_INITIAL_WINDOW);
    assert_int_equal(yamux_set_window_cap(s->s, plain, UINT32_MAX), 0);
    assert_int_equal(yamux_stream_get(s->s, plain)->window_cap, YAMUX_MAX_WINDOW_CAP);
    assert_int_equal(yamux_set_window_cap(s->s, 999, 16 * MiB), LS_ENOENT);
    peer_free(c);
    peer_free(s);
}

static void
test_yamux_write_blocks_on_window(void **state)
{
    peer_t *c = peer_new(true, NULL), *s = peer_new(false, NULL);
    static uint8_t big[300 * 1024];
    uint64_t now = 0;
    uint32_t id;
    (void)state;

    s->verify_pattern = false;
    assert_int_equal(yamux_open_stream(c->s, &id), 0);
    c->st[id].open = true;
    assert_int_equal(yamux_write(c->s, id, big, sizeof big), (int)YAMUX_INITIAL_WINDOW);
    assert_int_equal(yamux_send_window(c->s, id), 0);
    assert_int_equal(yamux_write(c->s, id, big, 10), 0);
    pump(c, s, &now);
    assert_int_equal(s->st[id].rx_total, YAMUX_INITIAL_WINDOW);
    assert_int_equal(c->st[id].writable, 0);
    /* Consuming under half the window sends nothing. */
    assert_int_equal(yamux_consume(s->s, id, 1000), 0);
    assert_false(yamux_has_output(s->s));
    assert_int_equal(yamux_consume(s->s, id, YAMUX_INITIAL_WINDOW), LS_EINVAL);
    assert_int_equal(yamux_consume(s->s, id, YAMUX_INITIAL_WINDOW / 2), 0);
    assert_true(yamux_has_output(s->s));
    pump(c, s, &now);
    assert_int_equal(c->st[id].writable, 1);
    assert_int_equal(yamux_send_window(c->s, id), YAMUX_INITIAL_WINDOW / 2 + 1000);
    /* The output queue bounds writes too. */
    yamux_config_t cfg;
    yamux_config_default(&cfg);
    cfg.max_out = 100;
    peer_t *q = peer_new(true, &cfg);
    assert_int_equal(yamux_open_stream(q->s, &id), 0);
    q->st[id].open = true;
    assert_int_equal(yamux_write(q->s, id, big, 1000), 100 - 12);
    assert_int_equal(yamux_write(q->s, id, big, 1000), 0);
    /* ...but not a negotiation message: a full queue must not fail a new stream's
     * multistream-select (yamux_write_small), and it stays bounded */
    uint32_t id2;
    assert_int_equal(yamux_open_stream(q->s, &id2), 0);
    assert_int_equal(yamux_write(q->s, id2, big, 40), 0);
    assert_int_equal(yamux_write_small(q->s, id2, big, 40), 40);
    assert_int_equal(yamux_write_small(q->s, id2, big, YAMUX_SMALL_WRITE + 1), LS_EINVAL);
    buf_t b = drain(q->s);
    assert_int_equal(q->st[id].writable, 1); /* fired from yamux_output */
    buf_free(&b);
    peer_free(q);
    peer_free(c);
    peer_free(s);
}

/* yamux_write_header(): the zero-copy write. The caller sends the header and its own
 * data; the session accounts the window exactly as yamux_write() does, refuses while
 * its queue holds bytes (order), and reports a shut window through on_writable; a
 * stream the caller holds (yamux_hold) is woken by yamux_wake_writable(). */
static void
test_yamux_write_header(void **state)
{
    peer_t *c = peer_new(true, NULL), *s = peer_new(false, NULL);
    static uint8_t data[70000];
    uint8_t hdr[YAMUX_HEADER_LEN];
    uint64_t now = 0;
    uint32_t id;
    (void)state;

    s->verify_pattern = false;
    assert_int_equal(yamux_open_stream(c->s, &id), 0);
    c->st[id].open = true;
    assert_int_equal(yamux_write_header(c->s, id, 100, hdr), LS_EAGAIN); /* SYN queued */
    buf_t syn = drain(c->s);
    assert_int_equal(feed(s->s, now, syn.data, syn.len), 0);
    buf_free(&syn);
    assert_int_equal(yamux_write_header(c->s, 999, 100, hdr), LS_ENOENT);
    /* one frame at most max_frame (64 KiB) long, sent by hand */
    uint32_t sent = 0;
    while (sent < YAMUX_INITIAL_WINDOW) {
        int n = yamux_write_header(c->s, id, sizeof data, hdr);
        assert_true(n > 0 && n <= 64 * 1024);
        yamux_header_t h;
        assert_int_equal(yamux_header_decode(hdr, &h), 0);
        assert_int_equal(h.type, YAMUX_TYPE_DATA);
        assert_int_equal(h.stream_id, id);
        assert_int_equal(h.length, (uint32_t)n);
        assert_int_equal(feed(s->s, now, hdr, sizeof hdr), 0);
        assert_int_equal(feed(s->s, now, data, (size_t)n), 0);
        sent += (uint32_t)n;
    }
    assert_int_equal(sent, YAMUX_INITIAL_WINDOW);
    assert_int_equal(s->st[id].rx_total, YAMUX_INITIAL_WINDOW);
    assert_int_equal(yamux_send_window(c->s, id), 0);
    assert_int_equal(yamux_write_header(c->s, id, 10, hdr), 0); /* shut: blocked */
    assert_int_equal(yamux_consume(s->s, id, YAMUX_INITIAL_WINDOW), 0);
    pump(c, s, &now);
    assert_int_equal(c->st[id].writable, 1);
    assert_int_equal(yamux_send_window(c->s, id), YAMUX_INITIAL_WINDOW);
    /* held by the caller (its send buffer full): on_writable at the next wake, once */
    yamux_wake_writable(c->s);
    assert_int_equal(c->st[id].writable, 1); /* not held: nothing */
    assert_int_equal(yamux_hold(c->s, id), 0);
    assert_int_equal(yamux_hold(c->s, 999), LS_ENOENT);
    yamux_wake_writable(c->s);
    assert_int_equal(c->st[id].writable, 2);
    yamux_wake_writable(c->s);
    assert_int_equal(c->st[id].writable, 2);
    assert_int_equal(yamux_close_write(c->s, id), 0);
    assert_int_equal(yamux_write_header(c->s, id, 10, hdr), LS_ECLOSED);
    peer_free(c);
    peer_free(s);
}

static void
test_yamux_half_close(void **state)
{
    peer_t *c = peer_new(true, NULL), *s = peer_new(false, NULL);
    uint64_t now = 0;
    uint32_t id;
    (void)state;

    assert_int_equal(yamux_open_stream(c->s, &id), 0);
    c->st[id].open = true;
    assert_int_equal(yamux_write(c->s, id, (const uint8_t *)"req", 3), 3);
    assert_int_equal(yamux_close_write(c->s, id), 0);
    pump(c, s, &now);
    assert_true(s->st[id].remote_fin);
    assert_int_equal(s->st[id].rx.len, 3);
    /* The server still writes after the client's FIN... */
    assert_int_equal(yamux_write(s->s, id, (const uint8_t *)"resp", 4), 4);
    pump(c, s, &now);
    assert_int_equal(c->st[id].rx.len, 4);
    assert_false(c->st[id].remote_fin);
    assert_int_equal(yamux_stream_count(c->s), 1);
    /* ...and its FIN (here on a Data frame) completes the close on both sides. */
    uint8_t f[YAMUX_HEADER_LEN + 2];
    frame(f, YAMUX_TYPE_DATA, YAMUX_FLAG_FIN, id, 2);
    memcpy(f + YAMUX_HEADER_LEN, "!!", 2);
    assert_int_equal(feed(c->s, now, f, sizeof f), 0);
    assert_true(c->st[id].remote_fin);
    assert_int_equal(c->st[id].rx.len, 6);
    assert_int_equal(yamux_stream_count(c->s), 0);
    /* A duplicate FIN or late window update for a gone stream is ignored. */
    assert_int_equal(feed_frame(c->s, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_FIN, id, 5), 0);
    peer_free(c);
    peer_free(s);
}

static void
test_yamux_reset(void **state)
{
    peer_t *c = peer_new(true, NULL), *s = peer_new(false, NULL);
    uint64_t now = 0;
    uint32_t id;
    (void)state;

    assert_int_equal(yamux_open_stream(c->s, &id), 0);
    c->st[id].open = true;
    assert_int_equal(yamux_write(c->s, id, (const uint8_t *)"abc", 3), 3);
    pump(c, s, &now);
    /* The server answers while the client resets: the answer meets a gone stream. */
    assert_int_equal(yamux_write(s->s, id, (const uint8_t *)"late", 4), 4);
    assert_int_equal(yamux_reset(c->s, id), 0);
    assert_int_equal(yamux_reset(c->s, id), LS_ENOENT);
    assert_int_equal(yamux_write(c->s, id, (const uint8_t *)"x", 1), LS_ENOENT);
    pump(c, s, &now);
    assert_int_equal(s->st[id].reset, LS_ECONNRESET);
    assert_int_equal(c->st[id].rx.len, 0);
    assert_int_equal(yamux_stream_count(c->s), 0);
    assert_int_equal(yamux_stream_count(s->s), 0);
    assert_int_equal(yamux_write(s->s, id, (const uint8_t *)"x", 1), LS_ENOENT);
    yamux_stats_t st;
    yamux_get_stats(s->s, &st);
    assert_int_equal(st.streams_reset_in, 1);
    yamux_get_stats(c->s, &st);
    assert_int_equal(st.streams_reset_out, 1);
    assert_int_equal(st.protocol_errors, 0);
    peer_free(c);
    peer_free(s);
}

static void
test_yamux_stream_limit(void **state)
{
    yamux_config_t cfg;
    yamux_config_default(&cfg);
    cfg.max_streams = 2;
    peer_t *c = peer_new(true, NULL), *s = peer_new(false, &cfg);
    uint64_t now = 0;
    uint32_t id;
    (void)state;

    for (int i = 0; i < 3; i++) {
        assert_int_equal(yamux_open_stream(c->s, &id), 0);
        c->st[id].open = true;
    }
    pump(c, s, &now);
    assert_int_equal(s->opened, 2);
    assert_int_equal(c->st[5].reset, LS_ECONNRESET);
    assert_int_equal(yamux_stream_count(c->s), 2);
    /* The owner refuses one: RST too. */
    assert_int_equal(yamux_reset(c->s, 1), 0);
    pump(c, s, &now);
    s->refuse = 1;
    assert_int_equal(yamux_open_stream(c->s, &id), 0);
    c->st[id].open = true;
    pump(c, s, &now);
    assert_int_equal(c->st[id].reset, LS_ECONNRESET);
    yamux_stats_t st;
    yamux_get_stats(s->s, &st);
    assert_int_equal(st.streams_refused, 2);
    assert_int_equal(st.streams_opened_in, 2);
    /* Outbound at the limit. */
    assert_int_equal(yamux_open_stream(s->s, &id), 0);
    assert_int_equal(yamux_open_stream(s->s, &id), LS_ELIMIT);
    peer_free(c);
    peer_free(s);
}

static void
test_yamux_ack_backlog(void **state)
{
    peer_t *c = peer_new(true, NULL), *s = peer_new(false, NULL);
    uint64_t now = 0;
    uint32_t id;
    (void)state;

    /* The server accepts but never writes: nothing is ACKed. */
    for (int i = 0; i < YAMUX_ACK_BACKLOG; i++) {
        assert_int_equal(yamux_open_stream(c->s, &id), 0);
        c->st[id].open = true;
    }
    assert_int_equal(yamux_open_stream(c->s, &id), LS_EAGAIN);
    pump(c, s, &now);
    assert_int_equal(s->opened, YAMUX_ACK_BACKLOG);
    assert_int_equal(yamux_open_stream(c->s, &id), LS_EAGAIN);
    assert_int_equal(c->writable0, 0);
    assert_int_equal(yamux_write(s->s, 7, (const uint8_t *)"k", 1), 1); /* ACKs stream 7 */
    pump(c, s, &now);
    assert_int_equal(c->writable0, 1);
    assert_int_equal(yamux_open_stream(c->s, &id), 0);
    assert_int_equal(id, 2 * YAMUX_ACK_BACKLOG + 1);
    peer_free(c);
    peer_free(s);

    /* A peer that ignores the backlog: past 256 unACKed streams, RST. */
    s = peer_new(false, NULL);
    for (uint32_t i = 0; i < YAMUX_ACK_BACKLOG; i++)
        assert_int_equal(feed_frame(s->s, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN, 2 * i + 1, 0),
                         0);
    buf_t b = drain(s->s);
    assert_int_equal(b.len, 0);
    assert_int_equal(feed_frame(s->s, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN, 513, 0), 0);
    assert_output(s->s, "\x00\x01\x00\x08\x00\x00\x02\x01\x00\x00\x00\x00");
    assert_int_equal(s->opened, YAMUX_ACK_BACKLOG);
    assert_int_equal(yamux_session_error(s->s), 0);
    buf_free(&b);
    peer_free(s);
}

static void
test_yamux_ping(void **state)
{
    peer_t *c = peer_new(true, NULL), *s = peer_new(false, NULL);
    (void)state;

    assert_int_equal(yamux_ping(c->s, 1000), 0);
    assert_int_equal(yamux_ping(c->s, 1001), 0); /* one in flight */
    assert_output(c->s, "\x00\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01");
    assert_int_equal(feed(s->s, 1010, "\x00\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01", 12), 0);
    assert_output(s->s, "\x00\x02\x00\x02\x00\x00\x00\x00\x00\x00\x00\x01");
    /* A stray answer is ignored; the right one gives the RTT. */
    assert_int_equal(feed(c->s, 1040, "\x00\x02\x00\x02\x00\x00\x00\x00\x00\x00\x00\x09", 12), 0);
    assert_int_equal(c->rtts, 0);
    assert_int_equal(feed(c->s, 1050, "\x00\x02\x00\x02\x00\x00\x00\x00\x00\x00\x00\x01", 12), 0);
    assert_int_equal(c->rtts, 1);
    assert_int_equal(c->rtt, 50);
    peer_free(c);
    peer_free(s);

    /* Keepalive and timeout. */
    yamux_config_t cfg;
    yamux_config_default(&cfg);
    cfg.keepalive_ms = 1000;
    cfg.ping_timeout_ms = 500;
    c = peer_new(true, &cfg);
    assert_int_equal(yamux_tick(c->s, 0), 500); /* first ping at once */
    assert_output(c->s, "\x00\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01");
    assert_int_equal(feed(c->s, 10, "\x00\x02\x00\x02\x00\x00\x00\x00\x00\x00\x00\x01", 12), 0);
    assert_int_equal(yamux_tick(c->s, 10), 1000);
    assert_int_equal(yamux_tick(c->s, 1000), 1500);
    assert_output(c->s, "\x00\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02");
    assert_int_equal(yamux_tick(c->s, 1499), 1500);
    assert_int_equal(yamux_session_error(c->s), 0);
    assert_int_equal(yamux_tick(c->s, 1500), UINT64_MAX);
    assert_int_equal(yamux_session_error(c->s), LS_ETIMEDOUT);
    assert_int_equal(feed(c->s, 1501, "\x00\x02\x00\x02\x00\x00\x00\x00\x00\x00\x00\x02", 12),
                     LS_ETIMEDOUT);
    peer_free(c);

    /* Disabled keepalive: no deadline. */
    cfg.keepalive_ms = 0;
    c = peer_new(true, &cfg);
    assert_int_equal(yamux_tick(c->s, 5), UINT64_MAX);
    assert_false(yamux_has_output(c->s));
    peer_free(c);
}

static void
test_yamux_goaway(void **state)
{
    peer_t *c = peer_new(true, NULL), *s = peer_new(false, NULL);
    uint64_t now = 0;
    uint32_t id;
    (void)state;

    assert_int_equal(yamux_open_stream(c->s, &id), 0);
    c->st[id].open = true;
    assert_int_equal(yamux_goaway(c->s, YAMUX_GOAWAY_NORMAL), 0);
    assert_int_equal(yamux_goaway(c->s, YAMUX_GOAWAY_INTERNAL_ERROR), 0); /* once */
    assert_true(yamux_is_going_away(c->s));
    pump(c, s, &now);
    assert_int_equal(s->goaways, 1);
    assert_int_equal(s->goaway_code, YAMUX_GOAWAY_NORMAL);
    assert_int_equal(yamux_open_stream(c->s, &id), LS_ECLOSED);
    assert_int_equal(yamux_open_stream(s->s, &id), LS_ECLOSED);
    /* The open stream goes on. */
    assert_int_equal(yamux_write(s->s, 1, (const uint8_t *)"still", 5), 5);
    pump(c, s, &now);
    assert_int_equal(c->st[1].rx.len, 5);
    /* A SYN after our Go Away is refused. */
    assert_int_equal(feed_frame(c->s, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN, 2, 0), 0);
    assert_output(c->s, "\x00\x01\x00\x08\x00\x00\x00\x02\x00\x00\x00\x00");
    assert_int_equal(c->opened, 0);
    peer_free(c);
    peer_free(s);
}

/* A fresh server fed `setup` frames (which must succeed) and then one bad one. */
static void
expect_proto_error(bool client, const uint8_t *bad, size_t len)
{
    peer_t *p = peer_new(client, NULL);
    size_t used;

    assert_int_equal(yamux_input(p->s, 0, bad, len, &used), LS_EPROTO);
    assert_int_equal(yamux_session_error(p->s), LS_EPROTO);
    /* Sticky: nothing more is taken. */
    assert_int_equal(yamux_input(p->s, 0, bad, len, &used), LS_EPROTO);
    assert_int_equal(used, 0);
    yamux_stats_t st;
    yamux_get_stats(p->s, &st);
    assert_int_equal(st.protocol_errors, 1);
    /* The caller can still say why. */
    yamux_goaway(p->s, YAMUX_GOAWAY_PROTOCOL_ERROR);
    buf_t b = drain(p->s);
    assert_true(b.len >= 12);
    assert_memory_equal(b.data + b.len - 12, "\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01",
                        12);
    buf_free(&b);
    peer_free(p);
}

static void
test_yamux_malformed(void **state)
{
    uint8_t f[6 * YAMUX_HEADER_LEN];
    size_t n;
    (void)state;

    expect_proto_error(false, (const uint8_t *)"\x01\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00",
                       12);
    expect_proto_error(false, (const uint8_t *)"\x00\x04\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00",
                       12);
    /* Data / Window Update on stream 0. */
    frame(f, YAMUX_TYPE_DATA, 0, 0, 0);
    expect_proto_error(false, f, 12);
    frame(f, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN, 0, 0);
    expect_proto_error(true, f, 12);
    /* Wrong parity: a client opens odd ids, a server even ones. */
    frame(f, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN, 2, 0);
    expect_proto_error(false, f, 12);
    frame(f, YAMUX_TYPE_DATA, YAMUX_FLAG_SYN, 3, 0);
    expect_proto_error(true, f, 12);
    /* SYN on an open stream. */
    n = frame(f, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN, 1, 0);
    n += frame(f + n, YAMUX_TYPE_DATA, YAMUX_FLAG_SYN, 1, 0);
    expect_proto_error(false, f, n);
    /* More data than the window: at once, and after filling it. */
    frame(f, YAMUX_TYPE_DATA, YAMUX_FLAG_SYN, 1, YAMUX_INITIAL_WINDOW + 1);
    expect_proto_error(false, f, 12);
    n = frame(f, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN, 1, 0);
    n += frame(f + n, YAMUX_TYPE_DATA, 0, 1, UINT32_MAX);
    expect_proto_error(false, f, n);
    /* The window overflows 2^32. */
    n = frame(f, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN, 1, 0);
    n += frame(f + n, YAMUX_TYPE_WINDOW_UPDATE, 0, 1, UINT32_MAX - YAMUX_INITIAL_WINDOW);
    n += frame(f + n, YAMUX_TYPE_WINDOW_UPDATE, 0, 1, 1);
    expect_proto_error(false, f, n);
    /* Data after FIN. */
    n = frame(f, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_SYN | YAMUX_FLAG_FIN, 1, 0);
    n += frame(f + n, YAMUX_TYPE_DATA, 0, 1, 1);
    expect_proto_error(false, f, n);
}

static void
test_yamux_window_filled_exactly(void **state)
{
    peer_t *s = peer_new(false, NULL);
    static uint8_t payload[YAMUX_INITIAL_WINDOW];
    uint8_t f[YAMUX_HEADER_LEN];
    (void)state;

    s->verify_pattern = false;
    frame(f, YAMUX_TYPE_DATA, YAMUX_FLAG_SYN, 1, YAMUX_INITIAL_WINDOW);
    assert_int_equal(feed(s->s, 0, f, sizeof f), 0);
    /* Byte by byte for a while, then the rest. */
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(feed(s->s, 0, payload + i, 1), 0);
    assert_int_equal(feed(s->s, 0, payload + 100, sizeof payload - 100), 0);
    assert_int_equal(s->st[1].rx_total, YAMUX_INITIAL_WINDOW);
    frame(f, YAMUX_TYPE_DATA, 0, 1, 1);
    assert_int_equal(feed(s->s, 0, f, sizeof f), LS_EPROTO);
    peer_free(s);
}

static void
test_yamux_unknown_stream_ignored(void **state)
{
    peer_t *s = peer_new(false, NULL);
    uint8_t f[3 * YAMUX_HEADER_LEN + 4];
    size_t n;
    (void)state;

    /* Data without SYN for a stream never opened: skipped, payload and all. */
    n = frame(f, YAMUX_TYPE_DATA, 0, 9, 4);
    memcpy(f + n, "junk", 4);
    n += 4;
    n += frame(f + n, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_RST, 11, 0);
    n += frame(f + n, YAMUX_TYPE_PING, YAMUX_FLAG_SYN, 0, 7);
    for (size_t i = 0; i < n; i++) /* split at every byte */
        assert_int_equal(feed(s->s, 0, f + i, 1), 0);
    assert_output(s->s, "\x00\x02\x00\x02\x00\x00\x00\x00\x00\x00\x00\x07");
    assert_int_equal(s->opened, 0);
    peer_free(s);
}

static void
test_yamux_output_partial(void **state)
{
    peer_t *c = peer_new(true, NULL);
    uint32_t id;
    buf_t whole = BUF_INIT(BUF_UNLIMITED);
    (void)state;

    assert_int_equal(yamux_open_stream(c->s, &id), 0);
    assert_int_equal(yamux_write(c->s, id, (const uint8_t *)"0123456789", 10), 10);
    /* 34 bytes out through a 5-byte window. */
    for (;;) {
        buf_t small = BUF_INIT(5);
        int n = yamux_output(c->s, &small);
        assert_true(n >= 0 && n <= 5);
        assert_int_equal(buf_append(&whole, small.data, small.len), 0);
        buf_free(&small);
        if (n == 0)
            break;
    }
    assert_int_equal(whole.len, 34);
    assert_memory_equal(whole.data,
                        "\x00\x01\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00"
                        "\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x0a"
                        "0123456789",
                        34);
    buf_free(&whole);
    peer_free(c);
}

/* The owner encrypts straight from the queue: peek/advance in uneven steps while the
 * writer refills it, so the ring wraps; the byte stream must be what yamux_output()
 * would have given. */
static void
test_yamux_output_peek_ring(void **state)
{
    peer_t *c = peer_new(true, NULL), *s = peer_new(false, NULL);
    uint64_t now = 0;
    uint32_t id;
    bool wrapped = false;
    (void)state;

    s->verify_pattern = true;
    s->auto_consume = true;
    assert_int_equal(yamux_open_stream(c->s, &id), 0);
    app(c, id)->open = true;
    app(c, id)->tx_total = 3 * MiB + 12345;
    app(c, id)->fin_when_sent = true;
    flush(c, id);
    for (int round = 0; round < 100000 && !s->st[id].remote_fin; round++) {
        const uint8_t *p;
        size_t n = yamux_output_peek(c->s, &p);
        wrapped |= n < c->s->out.len;
        if (n) {
            size_t cap = 1 + (size_t)(rng() % 100000); /* LS_MIN evaluates twice */
            n = LS_MIN(n, cap);
            size_t used;
            assert_int_equal(yamux_input(s->s, now, p, n, &used), 0);
            assert_int_equal(used, n);
            yamux_output_advance(c->s, n);
            consume_all(s);
        }
        pipe_once(s, c, now, 256 * 1024);
        flush(c, id);
        now++;
    }
    assert_true(wrapped);
    assert_true(s->st[id].remote_fin);
    assert_int_equal(s->st[id].rx_total, 3 * MiB + 12345);
    const uint8_t *p;
    assert_int_equal(yamux_output_peek(c->s, &p), 0);
    assert_null(p);
    peer_free(c);
    peer_free(s);
}

static void
test_yamux_large_frames_split(void **state)
{
    yamux_config_t cfg;
    yamux_config_default(&cfg);
    cfg.max_frame = 1000;
    peer_t *c = peer_new(true, &cfg), *s = peer_new(false, NULL);
    static uint8_t data[2500];
    uint64_t now = 0;
    uint32_t id;
    (void)state;

    assert_int_equal(yamux_open_stream(c->s, &id), 0);
    c->st[id].open = true;
    assert_int_equal(yamux_write(c->s, id, data, sizeof data), 2500);
    yamux_stats_t st;
    yamux_get_stats(c->s, &st);
    assert_int_equal(st.frames_out, 4); /* SYN + 1000 + 1000 + 500 */
    pump(c, s, &now);
    assert_int_equal(s->st[id].rx_total, 2500);
    peer_free(c);
    peer_free(s);
}

static void
test_yamux_idle_memory(void **state)
{
    (void)state;
    /* The goal is < 64 KiB per idle connection; yamux's share must be tiny. */
    assert_true(sizeof(yamux_session_t) < 512);
    assert_true(sizeof(yamux_stream_t) <= 48);
    yamux_session_free_(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yamux_header_vectors),
        cmocka_unit_test(test_yamux_open_echo_close),
        cmocka_unit_test(test_yamux_bulk_100_streams),
        cmocka_unit_test(test_yamux_window_autotune),
        cmocka_unit_test(test_yamux_window_cap),
        cmocka_unit_test(test_yamux_write_blocks_on_window),
        cmocka_unit_test(test_yamux_write_header),
        cmocka_unit_test(test_yamux_half_close),
        cmocka_unit_test(test_yamux_reset),
        cmocka_unit_test(test_yamux_stream_limit),
        cmocka_unit_test(test_yamux_ack_backlog),
        cmocka_unit_test(test_yamux_ping),
        cmocka_unit_test(test_yamux_goaway),
        cmocka_unit_test(test_yamux_malformed),
        cmocka_unit_test(test_yamux_window_filled_exactly),
        cmocka_unit_test(test_yamux_unknown_stream_ignored),
        cmocka_unit_test(test_yamux_output_partial),
        cmocka_unit_test(test_yamux_output_peek_ring),
        cmocka_unit_test(test_yamux_large_frames_split),
        cmocka_unit_test(test_yamux_idle_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
