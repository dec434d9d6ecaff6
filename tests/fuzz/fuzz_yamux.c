/* libFuzzer harness for net/yamux.
 *
 * First byte even: arbitrary bytes into one session, in chunks, with an owner that
 * accepts, echoes, consumes, closes and resets as data arrives. First byte odd: a
 * client and a server session driven by a script from the input (open, write,
 * close, reset, consume, ping, Go Away, partial pumps); honest peers must never see
 * a protocol error, data must arrive intact and in order, and once quiet each
 * stream's send window must equal the peer's receive window. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf/buf.h"
#include "lib/err/err.h"
#include "net/yamux/yamux.h"
#include "net/yamux/yamux_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IDS 4096
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

/* The owner's byte loops are bookkeeping, not code under test: keep them out of
 * the coverage feedback (and fast). */
#if defined(__clang__)
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define NO_COVERAGE
#endif

typedef struct side_t {
    yamux_session_t *s;
    bool reset[MAX_IDS]; /* the stream was reset: no data may follow */
    bool fin[MAX_IDS];
    uint64_t rx[MAX_IDS]; /* bytes received per stream */
    uint64_t tx[MAX_IDS]; /* bytes written per stream */
    uint64_t unconsumed[MAX_IDS];
    bool is_client;
    bool echo;    /* raw mode: write back what arrives (and check nothing:
                   * raw ids are arbitrary and may be reused) */
    uint8_t knob; /* raw mode: varies the owner's choices */
} side_t;

static NO_COVERAGE uint8_t
pattern(uint32_t id, bool from_client, uint64_t k)
{
    return (uint8_t)(id * 31 + k * 13 + (k >> 9) + (from_client ? 0 : 101));
}

static int
on_open(void *ctx, uint32_t id)
{
    side_t *sd = ctx;
    return (sd->knob & 7) == 7 && id % 5 == 0; /* refuse a few */
}

static NO_COVERAGE void
on_data(void *ctx, uint32_t id, const uint8_t *p, size_t len)
{
    side_t *sd = ctx;
    uint32_t slot = id % MAX_IDS;

    CHECK(len > 0);
    if (!sd->echo) {
        CHECK(id < MAX_IDS && !sd->reset[slot] && !sd->fin[slot]);
        for (size_t i = 0; i < len; i++)
            CHECK(p[i] == pattern(id, !sd->is_client, sd->rx[slot] + i));
    }
    sd->rx[slot] += len;
    sd->unconsumed[slot] += len;
    if (sd->echo) {
        int rc = yamux_write(sd->s, id, p, len);
        CHECK(rc >= 0 || rc == LS_ECLOSED);
        if (sd->knob & 1)
            CHECK(yamux_consume(sd->s, id, len) == 0);
        if ((sd->knob & 6) == 6 && sd->rx[slot] > 1000)
            CHECK(yamux_reset(sd->s, id) == 0);
    }
}

static void
on_close(void *ctx, uint32_t id, int reason)
{
    side_t *sd = ctx;
    uint32_t slot = id % MAX_IDS;

    CHECK(reason == 0 || reason == LS_ECONNRESET);
    if (reason < 0) {
        sd->reset[slot] = true;
        return;
    }
    CHECK(sd->echo || !sd->fin[slot]);
    sd->fin[slot] = true;
    if (sd->echo && (sd->knob & 2))
        CHECK(yamux_close_write(sd->s, id) == 0);
}

static const yamux_env_t base_env = {NULL, on_open, on_data, on_close, NULL, NULL, NULL};

/* ---- mode 1: raw bytes into one session ---- */

static void
fuzz_raw(const uint8_t *data, size_t size)
{
    static side_t sd;
    yamux_env_t env = base_env;
    yamux_config_t cfg;
    buf_t out = BUF_INIT(4096);
    uint64_t now = 0;

    memset(&sd, 0, sizeof sd);
    sd.echo = true;
    sd.knob = data[0] >> 1;
    env.ctx = &sd;
    yamux_config_default(&cfg);
    cfg.max_streams = 64;
    cfg.max_frame = 1 + (data[0] & 0x3f) * 100;
    cfg.keepalive_ms = 10;
    sd.s = yamux_session_new(data[0] & 0x80, &cfg, &env);
    data++, size--;
    while (size > 0) {
        size_t n = 1 + data[0] % 97, used = 0;
        data++, size--;
        n = n > size ? size : n;
        int rc = yamux_input(sd.s, now, data, n, &used);
        CHECK(used <= n);
        CHECK(rc == 0 ? used == n : rc == LS_EPROTO || rc == LS_ETIMEDOUT);
        if (rc < 0) {
            CHECK(yamux_input(sd.s, now, data, n, &used) == rc && used == 0);
            break;
        }
        data += n, size -= n, now += 3;
        yamux_tick(sd.s, now);
        buf_clear(&out);
        CHECK(yamux_output(sd.s, &out) >= 0);
    }
    yamux_goaway(sd.s, YAMUX_GOAWAY_PROTOCOL_ERROR);
    while (yamux_output(sd.s, &out) > 0)
        buf_clear(&out);
    buf_free(&out);
    yamux_session_free(sd.s);
}

/* ---- mode 2: two honest sessions ---- */

typedef struct world_t {
    side_t side[2];           /* 0 client, 1 server */
    buf_t pipe[2];            /* bytes from side i not yet fed to the other */
    uint32_t ids[2][MAX_IDS]; /* streams each side opened or accepted */
    size_t n_ids[2];
    bool listed[2][MAX_IDS];
    uint64_t now;
} world_t;

static int
on_open2(void *ctx, uint32_t id)
{
    (void)ctx;
    return id % 11 == 0; /* the owner refuses a few */
}

static void
feed_pipe(world_t *w, int from, size_t n)
{
    buf_t *p = &w->pipe[from];
    side_t *to = &w->side[!from];
    size_t used;

    n = n > p->len ? p->len : n;
    if (n == 0)
        return;
    CHECK(yamux_input(to->s, w->now, p->data, n, &used) == 0 && used == n);
    buf_consume(p, n);
}

static void
collect(world_t *w, int i)
{
    CHECK(yamux_output(w->side[i].s, &w->pipe[i]) >= 0);
}

static uint32_t
pick(world_t *w, int i, uint8_t b)
{
    return w->n_ids[i] ? w->ids[i][b % w->n_ids[i]] : 1;
}

static NO_COVERAGE void
do_write(world_t *w, int i, uint32_t id, size_t len)
{
    static uint8_t chunk[255 * 32 + 256];
    side_t *sd = &w->side[i];
    uint32_t slot = id % MAX_IDS;

    for (size_t k = 0; k < len; k++)
        chunk[k] = pattern(id, i == 0, sd->tx[slot] + k);
    int rc = yamux_write(sd->s, id, chunk, len);
    CHECK(rc >= 0 || rc == LS_ENOENT || rc == LS_ECLOSED);
    if (rc > 0)
        sd->tx[slot] += (uint64_t)rc;
}

static void
do_consume(world_t *w, int i, uint32_t id, uint8_t frac)
{
    side_t *sd = &w->side[i];
    uint32_t slot = id % MAX_IDS;
    uint64_t n = sd->unconsumed[slot] * frac / 255;
    int rc = yamux_consume(sd->s, id, (size_t)n);

    CHECK(rc == 0 || rc == LS_ENOENT);
    if (rc == 0)
        sd->unconsumed[slot] -= n;
}

static void
run_op(world_t *w, const uint8_t *op)
{
    int i = op[0] & 1;
    side_t *sd = &w->side[i];
    uint32_t id = pick(w, i, op[1]);

    switch (op[0] >> 1 & 7) {
    case 0: {
        uint32_t nid;
        if (sd->s->next_id >= MAX_IDS - 2)
            break; /* keep ids inside the owner's arrays */
        int rc = yamux_open_stream(sd->s, &nid);
        CHECK(rc == 0 || rc == LS_ECLOSED || rc == LS_ELIMIT || rc == LS_EAGAIN);
        if (rc == 0) {
            w->ids[i][w->n_ids[i]++] = nid;
            w->listed[i][nid] = true;
        }
        break;
    }
    case 1:
        do_write(w, i, id, (size_t)op[2] * 32 + op[1]);
        break;
    case 2:
        CHECK(yamux_close_write(sd->s, id) == 0 || !yamux_stream_get(sd->s, id));
        break;
    case 3:
        if (op[2] < 32)
            (void)yamux_reset(sd->s, id);
        break;
    case 4:
        do_consume(w, i, id, op[2]);
        break;
    case 5:
        collect(w, i);
        feed_pipe(w, i, (size_t)op[1] * op[2] + 1);
        break;
    case 6:
        CHECK(yamux_ping(sd->s, w->now) == 0);
        break;
    default:
        w->now += op[1];
        yamux_tick(sd->s, w->now);
        if (op[2] == 0xff)
            yamux_goaway(sd->s, YAMUX_GOAWAY_NORMAL);
        break;
    }
}

/* Inbound streams join the list so ops can reach them. */
static void
learn_inbound(world_t *w)
{
    for (int i = 0; i < 2; i++) {
        stream_map_t *m = &w->side[i].s->streams;
        for (size_t k = 0; k < m->cap; k++) {
            yamux_stream_t *st = m->slots[k];
            if (!st || w->listed[i][st->id])
                continue;
            w->listed[i][st->id] = true;
            w->ids[i][w->n_ids[i]++] = st->id;
        }
    }
}

static void
settle(world_t *w)
{
    for (int round = 0; round < 100000; round++) {
        size_t moved = 0;
        for (int i = 0; i < 2; i++) {
            collect(w, i);
            moved += w->pipe[i].len;
            feed_pipe(w, i, w->pipe[i].len);
        }
        learn_inbound(w);
        for (int i = 0; i < 2; i++)
            for (size_t j = 0; j < w->n_ids[i]; j++)
                do_consume(w, i, w->ids[i][j], 255);
        if (!moved && !yamux_has_output(w->side[0].s) && !yamux_has_output(w->side[1].s))
            return;
    }
    abort();
}

static void
check_windows(world_t *w)
{
    stream_map_t *m = &w->side[0].s->streams;

    for (size_t k = 0; k < m->cap; k++) {
        yamux_stream_t *a = m->slots[k], *b;
        if (!a || !(b = yamux_stream_get(w->side[1].s, a->id)))
            continue;
        CHECK(a->send_window == b->recv_window && b->send_window == a->recv_window);
        CHECK(a->unconsumed == 0 && b->unconsumed == 0);
    }
}

static void
fuzz_pair(const uint8_t *data, size_t size)
{
    static world_t w;
    yamux_config_t cfg;

    if (size < 1)
        return;
    memset(&w, 0, sizeof w);
    yamux_config_default(&cfg);
    cfg.max_streams = 48;
    cfg.max_frame = 16 + data[0] * 64u;
    cfg.max_out = 1 + data[0] * 1024u;
    cfg.max_window = YAMUX_INITIAL_WINDOW * 4;
    cfg.keepalive_ms = 50;
    cfg.ping_timeout_ms = 0;
    for (int i = 0; i < 2; i++) {
        yamux_env_t env = base_env;
        env.ctx = &w.side[i];
        env.on_stream_open = on_open2;
        w.side[i].is_client = i == 0;
        w.side[i].s = yamux_session_new(i == 0, &cfg, &env);
        buf_init(&w.pipe[i], BUF_UNLIMITED);
    }
    for (size_t off = 1; off + 3 <= size; off += 3) {
        run_op(&w, data + off);
        learn_inbound(&w);
    }
    settle(&w);
    check_windows(&w);
    for (int i = 0; i < 2; i++) {
        CHECK(yamux_session_error(w.side[i].s) == 0);
        yamux_session_free(w.side[i].s);
        buf_free(&w.pipe[i]);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        fuzz_pair(data + 1, size - 1);
    else if (size > 1)
        fuzz_raw(data + 1, size - 1);
    return 0;
}
