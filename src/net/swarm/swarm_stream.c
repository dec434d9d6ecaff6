/* swarm_stream — streams over a connection's yamux session: protocol negotiation
 * with multistream-select on every stream (responder for inbound, initiator for
 * outbound), the router's handlers, inbound stream limits, and the stream API. */
#define LOG_MODULE "swarm"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/log/log.h"
#include "net/swarm/swarm_internal.h"

/* ---- the table of a connection's streams ---- */

static size_t
slot_of(const stream_table_t *t, uint32_t id)
{
    return (size_t)(id * 2654435761u) & (t->cap - 1);
}

static swarm_stream_t *
table_get(const stream_table_t *t, uint32_t id)
{
    if (!t->cap)
        return NULL;
    for (size_t i = slot_of(t, id);; i = (i + 1) & (t->cap - 1)) {
        swarm_stream_t *s = t->slots[i];
        if (!s || s->id == id)
            return s;
    }
}

static void
table_place(stream_table_t *t, swarm_stream_t *s)
{
    size_t i = slot_of(t, s->id);
    while (t->slots[i])
        i = (i + 1) & (t->cap - 1);
    t->slots[i] = s;
}

static void
table_add(stream_table_t *t, swarm_stream_t *s)
{
    if ((t->count + 1) * 2 > t->cap) {
        stream_table_t bigger = { ls_calloc(t->cap ? t->cap * 2 : 8, sizeof(void *)),
                                  t->cap ? t->cap * 2 : 8, t->count };
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i])
                table_place(&bigger, t->slots[i]);
        free(t->slots);
        *t = bigger;
    }
    table_place(t, s);
    t->count++;
}

/* Linear-probing delete: re-place the rest of the cluster. */
static void
table_del(stream_table_t *t, const swarm_stream_t *s)
{
    size_t i = slot_of(t, s->id);
    while (t->slots[i] != s)
        i = (i + 1) & (t->cap - 1);
    t->slots[i] = NULL;
    t->count--;
    for (size_t j = (i + 1) & (t->cap - 1); t->slots[j]; j = (j + 1) & (t->cap - 1)) {
        swarm_stream_t *m = t->slots[j];
        t->slots[j] = NULL;
        table_place(t, m);
    }
    if (t->count == 0) { /* an idle connection keeps no table */
        free(t->slots);
        t->slots = NULL;
        t->cap = 0;
    }
}

void
stream_table_free(stream_table_t *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->count = 0;
}

/* ---- lifecycle ---- */

static swarm_stream_t *
stream_new(swarm_conn_t *c, uint32_t id, bool inbound)
{
    swarm_stream_t *s = ls_calloc(1, sizeof *s);
    s->conn = c;
    s->id = id;
    s->inbound = inbound;
    s->handler = -1;
    s->created_ms = swarm_now();
    table_add(&c->streams, s);
    return s;
}

/* The stream is finished: leave the table now, call on_close from the reap. */
static void
stream_kill(swarm_stream_t *s, int reason)
{
    if (s->state == STREAM_DEAD)
        return;
    swarm_t *sw = s->conn->sw;
    if (s->state == STREAM_OPEN)
        sw->stats.streams_open--;
    s->state = STREAM_DEAD;
    s->close_reason = reason;
    table_del(&s->conn->streams, s);
    s->next_dead = sw->dead_streams;
    sw->dead_streams = s;
    swarm_schedule_reap(sw);
}

void
stream_reap(swarm_stream_t *s)
{
    if (s->open_cb)
        s->open_cb(s->open_ctx, NULL, s->close_reason ? s->close_reason : LS_ECLOSED, NULL);
    else if (s->cbs.on_close)
        s->cbs.on_close(s->ud, s, s->close_reason);
    mss_free(s->mss);
    free(s->protocol);
    free(s);
}

void
streams_kill_all(swarm_conn_t *c, int reason)
{
    while (c->streams.count) {
        for (size_t i = 0; i < c->streams.cap; i++) {
            if (c->streams.slots[i]) {
                stream_kill(c->streams.slots[i], reason);
                break;
            }
        }
    }
}

static void
reset_now(swarm_stream_t *s, int reason)
{
    if (s->conn->state == CONN_OPEN)
        yamux_reset(s->conn->ymx, s->id);
    conn_want_flush(s->conn);
    stream_kill(s, reason);
}

/* ---- negotiation ---- */

static bool
is_served(void *ctx, const char *proto)
{
    swarm_t *sw = ctx;
    for (size_t i = 0; i < sw->n_handlers; i++)
        if (strcmp(sw->handlers[i].protocol, proto) == 0)
            return true;
    return false;
}

/* Send what the stream's multistream-select owes; it goes into the queue even
 * when other streams' data filled it (yamux_write_small). */
static int
flush_mss(swarm_stream_t *s)
{
    uint8_t tmp[2 * MSS_MAX_MESSAGE + 64]; /* a header and a proposal */
    _Static_assert(sizeof tmp <= YAMUX_SMALL_WRITE, "one mss output per small write");
    buf_t out = { tmp, 0, sizeof tmp, sizeof tmp };
    int n;
    while ((n = mss_output(s->mss, &out)) > 0) {
        int w = yamux_write_small(s->conn->ymx, s->id, out.data, out.len);
        if (w != (int)out.len)
            return w < 0 ? w : LS_ELIMIT;
        out.len = 0;
    }
    conn_want_flush(s->conn);
    return n < 0 ? n : 0;
}

static uint32_t
count_protocol_streams(const swarm_conn_t *c, int handler)
{
    uint32_t n = 0;
    for (size_t i = 0; i < c->streams.cap; i++) {
        const swarm_stream_t *s = c->streams.slots[i];
        n += s && s->inbound && s->state == STREAM_OPEN && s->handler == handler;
    }
    return n;
}

/* Negotiation finished: hand the stream to its handler or its opener. */
static void
negotiated(swarm_stream_t *s)
{
    swarm_conn_t *c = s->conn;
    swarm_t *sw = c->sw;
    s->protocol = ls_strdup(mss_protocol(s->mss));
    if (s->inbound) {
        for (size_t i = 0; i < sw->n_handlers; i++)
            if (strcmp(sw->handlers[i].protocol, s->protocol) == 0)
                s->handler = (int)i;
        handler_t *h = s->handler >= 0 ? &sw->handlers[s->handler] : NULL;
        if (!h || (h->max_streams && count_protocol_streams(c, s->handler) >= h->max_streams)) {
            log_debug("inbound %s stream refused: %s", s->protocol,
                      h ? "per-protocol limit" : "not served any more");
            swarm_refuse(sw, h ? SWARM_REFUSE_STREAM_LIMIT : SWARM_REFUSE_NO_PROTOCOL, &c->peer);
            reset_now(s, LS_ELIMIT);
            return;
        }
        if (sw->hooks.allow_stream && !sw->hooks.allow_stream(sw->hooks.ctx, &c->peer,
                                                              s->protocol)) {
            log_debug("inbound %s stream refused: rate limit", s->protocol);
            swarm_refuse(sw, SWARM_REFUSE_RATE_LIMITED, &c->peer);
            reset_now(s, LS_ELIMIT);
            return;
        }
        s->state = STREAM_OPEN;
        sw->stats.streams_in++;
        sw->stats.streams_open++;
        h->fn(h->ctx, s, s->protocol);
        return;
    }
    s->state = STREAM_OPEN;
    sw->stats.streams_out++;
    sw->stats.streams_open++;
    swarm_open_fn cb = s->open_cb;
    s->open_cb = NULL;
    cb(s->open_ctx, s, 0, s->protocol);
}

/* Bytes for a negotiating stream; returns how many belonged to the negotiation. */
static size_t
negotiate_input(swarm_stream_t *s, const uint8_t *p, size_t len)
{
    size_t used = 0;
    int rc = mss_input(s->mss, p, len, &used);
    if (rc == 0)
        rc = flush_mss(s);
    yamux_consume(s->conn->ymx, s->id, used);
    if (rc < 0) {
        if (s->inbound && rc == LS_ETOOBIG)
            swarm_refuse(s->conn->sw, SWARM_REFUSE_MESSAGE_SIZE, &s->conn->peer);
        log_debug("stream negotiation failed: %s", ls_strerror(rc));
        reset_now(s, rc);
        return len;
    }
    if (mss_is_done(s->mss))
        negotiated(s);
    return used;
}

/* ---- yamux callbacks (ctx is the connection) ---- */

static bool
rate_allows(swarm_conn_t *c)
{
    uint64_t now = swarm_now();
    const swarm_config_t *cfg = &c->sw->cfg;
    c->tokens += (double)(now - c->tokens_ms) * cfg->inbound_streams_rate / 1000.0;
    c->tokens_ms = now;
    if (c->tokens > cfg->inbound_streams_burst)
        c->tokens = cfg->inbound_streams_burst;
    if (c->tokens < 1.0)
        return false;
    c->tokens -= 1.0;
    return true;
}

int
streams_on_open(void *ctx, uint32_t id)
{
    swarm_conn_t *c = ctx;
    swarm_t *sw = c->sw;
    if (c->state != CONN_OPEN)
        return -1;
    if (!rate_allows(c)) {
        swarm_refuse(sw, SWARM_REFUSE_STREAM_RATE, &c->peer);
        if (++c->refusals >= sw->cfg.flood_refusals) {
            swarm_refuse(sw, SWARM_REFUSE_STREAM_FLOOD, &c->peer);
            swarm_conn_close(c, LS_ELIMIT, "stream flood");
        }
        return -1;
    }
    swarm_stream_t *s = stream_new(c, id, true);
    s->mss = mss_new_responder(is_served, sw);
    flush_mss(s); /* the header: always fits the initial window */
    return 0;
}

void
streams_on_data(void *ctx, uint32_t id, const uint8_t *p, size_t len)
{
    swarm_conn_t *c = ctx;
    swarm_stream_t *s = c->state == CONN_OPEN ? table_get(&c->streams, id) : NULL;
    if (!s) {
        if (c->state == CONN_OPEN)
            yamux_consume(c->ymx, id, len);
        return;
    }
    size_t used = 0;
    if (s->state == STREAM_NEGOTIATING)
        used = negotiate_input(s, p, len);
    if (used == len || s->state != STREAM_OPEN || c->state != CONN_OPEN)
        return;
    size_t taken = len - used;
    if (s->cbs.on_data)
        taken = s->cbs.on_data(s->ud, s, p + used, len - used);
    if (taken && c->state == CONN_OPEN && s->state != STREAM_DEAD)
        yamux_consume(c->ymx, id, LS_MIN(taken, len - used));
}

void
streams_on_close(void *ctx, uint32_t id, int reason)
{
    swarm_conn_t *c = ctx;
    swarm_stream_t *s = c->state == CONN_OPEN ? table_get(&c->streams, id) : NULL;
    if (!s)
        return;
    if (reason < 0) {
        stream_kill(s, reason);
        return;
    }
    s->remote_fin = true;
    if (s->state == STREAM_NEGOTIATING) {
        reset_now(s, LS_EPROTO); /* EOF before a protocol was agreed */
        return;
    }
    if (s->cbs.on_eof)
        s->cbs.on_eof(s->ud, s);
    if (s->state != STREAM_DEAD && s->local_fin)
        stream_kill(s, 0);
}

void
streams_on_writable(void *ctx, uint32_t id)
{
    swarm_conn_t *c = ctx;
    swarm_stream_t *s = id && c->state == CONN_OPEN ? table_get(&c->streams, id) : NULL;
    if (s && s->state == STREAM_OPEN && s->cbs.on_writable)
        s->cbs.on_writable(s->ud, s);
}

void
streams_tick(swarm_conn_t *c, uint64_t now)
{
    uint64_t limit = c->sw->cfg.negotiate_timeout_ms;
    for (size_t i = 0; i < c->streams.cap && c->state == CONN_OPEN;) {
        swarm_stream_t *s = c->streams.slots[i];
        if (s && s->state == STREAM_NEGOTIATING && now - s->created_ms > limit) {
            log_debug("stream negotiation timed out");
            reset_now(s, LS_ETIMEDOUT);
            i = 0; /* the table moved */
            continue;
        }
        i++;
    }
}

/* ---- the API ---- */

int
swarm_conn_open_stream(swarm_conn_t *c, const char *const *protocols, size_t n,
                       swarm_open_fn cb, void *ctx)
{
    uint32_t id;
    if (c->state != CONN_OPEN)
        return LS_ECLOSED;
    if (n == 0)
        return LS_EINVAL;
    int rc = yamux_open_stream(c->ymx, &id);
    if (rc < 0)
        return rc == LS_EAGAIN ? LS_ELIMIT : rc;
    swarm_stream_t *s = stream_new(c, id, false);
    s->mss = mss_new_initiator(protocols, n);
    s->open_cb = cb;
    s->open_ctx = ctx;
    if ((rc = flush_mss(s)) < 0) {
        s->open_cb = NULL; /* the callback is never called on a failed call */
        reset_now(s, rc);
        return rc;
    }
    return 0;
}

void
swarm_stream_set_cbs(swarm_stream_t *s, const swarm_stream_cbs_t *cbs, void *ud)
{
    s->cbs = *cbs;
    s->ud = ud;
}

/* The zero-copy path: while yamux's queue is empty, each Data frame is encrypted
 * straight from the caller's buffer into the send buffer (header and data sealed as
 * one Noise frame), saving yamux_write()'s copy. Once the send buffer holds
 * SWARM_DIRECT_MAX_TX bytes the stream is held (yamux_hold) and woken when the
 * buffer drains (produce_locked), rather than its data copied into yamux's queue:
 * under a sustained transfer the buffer is full most of the time, and the copy
 * then took three quarters of a seeder's bytes. Either way a short count leaves the
 * stream marked blocked in yamux, so on_writable follows, as swarm_stream_write()
 * promises. Returns the bytes taken (0 when held at once), LS_EAGAIN when only the
 * queued path may be used (order), or an error. */
static int
write_direct(swarm_stream_t *s, const uint8_t *p, size_t len)
{
    swarm_conn_t *c = s->conn;
    size_t taken = 0;
    if (c->mux_mss)
        return LS_EAGAIN; /* the muxer's multistream reply is not in the send buffer yet */
    while (taken < len) {
        uint8_t hdr[YAMUX_HEADER_LEN];
        size_t want = LS_MIN(len - taken, SWARM_DIRECT_FRAME);
        if (c->tx.len - c->tx_off >= SWARM_DIRECT_MAX_TX) { /* full: wait for room */
            yamux_hold(c->ymx, s->id);
            return (int)taken;
        }
        int n = yamux_write_header(c->ymx, s->id, want, hdr);
        if (n == LS_EAGAIN) { /* yamux's queue holds frames: the rest goes behind them */
            if (!taken)
                return LS_EAGAIN;
            int m = yamux_write(c->ymx, s->id, p + taken, len - taken);
            taken += m > 0 ? (size_t)m : 0;
            break;
        }
        if (n <= 0) /* 0: the window is shut (the stream is marked blocked) */
            return taken ? (int)taken : n;
        int rc = noise_encrypt_parts(c->noise, hdr, sizeof hdr, p + taken, (size_t)n, &c->tx);
        if (rc < 0) {
            swarm_conn_close(c, rc, "cannot encrypt");
            return LS_ECLOSED; /* the header was accounted for: the session is over */
        }
        taken += (size_t)n;
    }
    return (int)taken;
}

int
swarm_stream_write(swarm_stream_t *s, const uint8_t *p, size_t len)
{
    if (s->state != STREAM_OPEN || s->local_fin || s->conn->state != CONN_OPEN)
        return LS_ECLOSED;
    if (len > INT_MAX)
        len = INT_MAX;
    int n = len >= SWARM_DIRECT_MIN ? write_direct(s, p, len) : LS_EAGAIN;
    if (n == LS_EAGAIN)
        n = yamux_write(s->conn->ymx, s->id, p, len);
    if (n > 0)
        conn_want_flush(s->conn);
    return n == LS_ENOENT ? LS_ECLOSED : n;
}

void
swarm_stream_consume(swarm_stream_t *s, size_t n)
{
    if (s->state == STREAM_OPEN && s->conn->state == CONN_OPEN && n) {
        yamux_consume(s->conn->ymx, s->id, n);
        conn_want_flush(s->conn);
    }
}

void
swarm_stream_set_window(swarm_stream_t *s, uint32_t bytes)
{
    if (s->state == STREAM_OPEN && s->conn->state == CONN_OPEN)
        yamux_set_window_cap(s->conn->ymx, s->id, bytes);
}

void
swarm_stream_close_write(swarm_stream_t *s)
{
    if (s->state != STREAM_OPEN || s->local_fin)
        return;
    s->local_fin = true;
    if (s->conn->state == CONN_OPEN) {
        yamux_close_write(s->conn->ymx, s->id);
        conn_want_flush(s->conn);
    }
    if (s->remote_fin)
        stream_kill(s, 0);
}

void
swarm_stream_reset(swarm_stream_t *s)
{
    if (s->state != STREAM_DEAD)
        reset_now(s, LS_ECONNRESET);
}

swarm_conn_t *
swarm_stream_conn(const swarm_stream_t *s)
{
    return s->conn;
}

const char *
swarm_stream_protocol(const swarm_stream_t *s)
{
    return s->protocol;
}

bool
swarm_stream_is_inbound(const swarm_stream_t *s)
{
    return s->inbound;
}

void
swarm_stream_report_oversize(swarm_stream_t *s)
{
    swarm_refuse(s->conn->sw, SWARM_REFUSE_MESSAGE_SIZE, &s->conn->peer);
}
