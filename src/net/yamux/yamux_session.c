/* yamux_session — session life, frame input, output queue, Ping and Go Away.
 * hashicorp/yamux spec.md (all sections) and libp2p/specs yamux/README.md. */
#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "yamux"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "net/yamux/yamux_internal.h"

void
yamux_config_default(yamux_config_t *cfg)
{
    cfg->max_streams = 1024;
    cfg->max_window = 16u * 1024 * 1024;
    cfg->max_frame = 64u * 1024;
    cfg->max_out = 1024u * 1024;
    cfg->keepalive_ms = 30000;
    cfg->ping_timeout_ms = 15000;
    cfg->tune_min_rtt_ms = 0;
    cfg->short_window = YAMUX_INITIAL_WINDOW;
}

yamux_session_t *
yamux_session_new(bool is_client, const yamux_config_t *cfg, const yamux_env_t *env)
{
    yamux_session_t *s = ls_calloc(1, sizeof *s);

    if (cfg)
        s->cfg = *cfg;
    else
        yamux_config_default(&s->cfg);
    assert(s->cfg.max_window >= YAMUX_INITIAL_WINDOW && s->cfg.max_frame >= 1 &&
           s->cfg.max_streams >= 1 && s->cfg.max_out >= 1);
    /* Without assertions, still never divide by zero or shrink below the spec. */
    s->cfg.max_window = LS_MAX(s->cfg.max_window, YAMUX_INITIAL_WINDOW);
    s->cfg.short_window = LS_MAX(s->cfg.short_window, YAMUX_INITIAL_WINDOW);
    s->cfg.short_window = LS_MIN(s->cfg.short_window, s->cfg.max_window);
    s->cfg.max_frame = LS_MAX(s->cfg.max_frame, 1u);
    s->cfg.max_out = LS_MAX(s->cfg.max_out, (size_t)1);
    if (env)
        s->env = *env;
    s->is_client = is_client;
    s->next_id = is_client ? 1 : 2; /* spec: client odd, server even */
    return s;
}

void
yamux_session_free_(yamux_session_t *s)
{
    if (!s)
        return;
    yamux_streams_free(s);
    yamux_out_free(&s->out);
    free(s);
}

static void
fail(yamux_session_t *s, int err)
{
    if (s->err)
        return;
    s->err = err;
    if (err == LS_EPROTO)
        s->stats.protocol_errors++;
}

static bool
is_remote_id(const yamux_session_t *s, uint32_t id)
{
    /* The peer's streams have the other parity: even if we are the client. */
    return (id & 1) == (s->is_client ? 0u : 1u);
}

static void
begin_payload(yamux_session_t *s, uint32_t id, uint32_t len, uint16_t flags, bool discard)
{
    s->rx.stream_id = id;
    s->rx.remaining = len;
    s->rx.flags = flags;
    s->rx.discard = discard;
}

static void
send_rst(yamux_session_t *s, uint32_t id)
{
    yamux_queue_frame(s, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_RST, id, 0);
    s->stats.streams_reset_out++;
}

/* A SYN: returns 0 when the stream was accepted, 1 when refused, or LS_EPROTO. */
static int
accept_syn(yamux_session_t *s, uint32_t id)
{
    if (!is_remote_id(s, id) || yamux_stream_get(s, id))
        return LS_EPROTO;
    /* Refuse after our Go Away, at the stream limit, or past the ACK backlog the
     * libp2p spec lets a peer build up. */
    if (s->local_goaway || s->streams.count >= s->cfg.max_streams ||
        s->unacked_in >= YAMUX_ACK_BACKLOG) {
        log_debug("refusing inbound stream %u (%zu open, %u unacked)", id, s->streams.count,
                  s->unacked_in);
        send_rst(s, id);
        s->stats.streams_refused++;
        return 1;
    }
    yamux_stream_add(s, id, YS_NEED_ACK);
    if (s->env.on_stream_open && s->env.on_stream_open(s->env.ctx, id) == 0) {
        s->stats.streams_opened_in++;
        return 0;
    }
    yamux_stream_t *st = yamux_stream_get(s, id); /* the callback may have reset it */
    if (st) {
        yamux_stream_remove(s, st);
        send_rst(s, id);
    }
    s->stats.streams_refused++;
    return 1;
}

/* FIN and RST take effect after the frame's payload. */
static void
end_of_frame(yamux_session_t *s, uint32_t id, uint16_t flags)
{
    yamux_stream_t *st = yamux_stream_get(s, id);

    if (!st)
        return;
    if (flags & YAMUX_FLAG_RST) {
        yamux_stream_remove(s, st);
        s->stats.streams_reset_in++;
        if (s->env.on_stream_close)
            s->env.on_stream_close(s->env.ctx, id, LS_ECONNRESET);
    } else if ((flags & YAMUX_FLAG_FIN) && !(st->flags & YS_REMOTE_FIN)) {
        st->flags |= YS_REMOTE_FIN;
        if (st->flags & YS_LOCAL_FIN)
            yamux_stream_remove(s, st); /* both directions done */
        if (s->env.on_stream_close)
            s->env.on_stream_close(s->env.ctx, id, 0);
    }
}

static int
stream_window_update(yamux_session_t *s, yamux_stream_t *st, const yamux_header_t *h)
{
    if (h->length > UINT32_MAX - st->send_window)
        return LS_EPROTO; /* a window past 2^32 cannot be meant */
    st->send_window += h->length;
    end_of_frame(s, h->stream_id, h->flags);
    return 0;
}

static int
stream_data(yamux_session_t *s, yamux_stream_t *st, const yamux_header_t *h)
{
    if (h->length == 0) {
        end_of_frame(s, h->stream_id, h->flags);
        return 0;
    }
    if ((st->flags & YS_REMOTE_FIN) || h->length > st->recv_window)
        return LS_EPROTO;
    st->recv_window -= h->length;
    st->unconsumed += h->length;
    begin_payload(s, h->stream_id, h->length, h->flags, false);
    return 0;
}

static int
handle_stream_frame(yamux_session_t *s, const yamux_header_t *h)
{
    uint32_t id = h->stream_id;
    uint32_t len = h->type == YAMUX_TYPE_DATA ? h->length : 0;

    if (id == 0)
        return LS_EPROTO; /* stream 0 is the session */
    if (h->flags & YAMUX_FLAG_SYN) {
        int rc = accept_syn(s, id);
        if (rc < 0)
            return rc;
        if (rc == 1 && len > YAMUX_INITIAL_WINDOW)
            return LS_EPROTO;
    }
    yamux_stream_t *st = yamux_stream_get(s, id);
    if (!st) {
        /* Unknown, refused or already closed: frames still in flight are dropped
         * (as go-yamux does); a RST here could hit a reused id. */
        if (len)
            begin_payload(s, id, len, h->flags, true);
        return 0;
    }
    if ((h->flags & YAMUX_FLAG_ACK) && (st->flags & YS_UNACKED)) {
        st->flags &= ~(uint32_t)YS_UNACKED;
        s->unacked_out--;
    }
    if (h->type == YAMUX_TYPE_WINDOW_UPDATE)
        return stream_window_update(s, st, h);
    return stream_data(s, st, h);
}

static void
handle_ping(yamux_session_t *s, const yamux_header_t *h)
{
    if (h->flags & YAMUX_FLAG_SYN) {
        yamux_queue_frame(s, YAMUX_TYPE_PING, YAMUX_FLAG_ACK, 0, h->length);
    } else if ((h->flags & YAMUX_FLAG_ACK) && s->ping_outstanding && h->length == s->ping_id) {
        uint64_t rtt = s->now_ms - s->ping_sent_ms;
        s->ping_outstanding = false;
        s->rtt_ms = rtt ? rtt : 1; /* known, if below the clock's resolution */
        s->stats.pings_answered++;
        if (s->env.on_ping_rtt)
            s->env.on_ping_rtt(s->env.ctx, rtt);
    }
}

static int
handle_header(yamux_session_t *s)
{
    yamux_header_t h;

    s->stats.frames_in++;
    if (yamux_header_decode(s->rx.header, &h) < 0) {
        log_debug("bad frame header: version %u type %u", h.version, h.type);
        return LS_EPROTO;
    }
    switch (h.type) {
    case YAMUX_TYPE_DATA:
    case YAMUX_TYPE_WINDOW_UPDATE:
        return handle_stream_frame(s, &h);
    case YAMUX_TYPE_PING:
        handle_ping(s, &h);
        return 0;
    default: /* Go Away */
        if (!s->remote_goaway) {
            s->remote_goaway = true;
            if (s->env.on_goaway)
                s->env.on_goaway(s->env.ctx, h.length);
        }
        return 0;
    }
}

/* Hand payload bytes to the stream's owner as they arrive. */
static size_t
take_payload(yamux_session_t *s, const uint8_t *p, size_t len)
{
    rx_state_t *rx = &s->rx;
    size_t n = LS_MIN(len, (size_t)rx->remaining);

    rx->remaining -= (uint32_t)n;
    s->stats.data_in += n;
    if (!rx->discard) {
        /* Looked up each time: a callback may have reset the stream. */
        if (yamux_stream_get(s, rx->stream_id) && s->env.on_stream_data)
            s->env.on_stream_data(s->env.ctx, rx->stream_id, p, n);
        if (rx->remaining == 0)
            end_of_frame(s, rx->stream_id, rx->flags);
    }
    return n;
}

static void
set_now(yamux_session_t *s, uint64_t now_ms)
{
    if (now_ms > s->now_ms)
        s->now_ms = now_ms;
}

int
yamux_input(yamux_session_t *s, uint64_t now_ms, const uint8_t *p, size_t len, size_t *consumed)
{
    size_t off = 0;

    set_now(s, now_ms);
    while (!s->err && off < len) {
        if (s->rx.remaining) {
            off += take_payload(s, p + off, len - off);
            continue;
        }
        size_t n = LS_MIN(len - off, YAMUX_HEADER_LEN - s->rx.header_len);
        memcpy(s->rx.header + s->rx.header_len, p + off, n);
        s->rx.header_len += n;
        off += n;
        if (s->rx.header_len < YAMUX_HEADER_LEN)
            break;
        s->rx.header_len = 0;
        int rc = handle_header(s);
        if (rc < 0)
            fail(s, rc);
    }
    if (!s->err)
        yamux_notify_writable(s);
    *consumed = off;
    return s->err;
}

/* Copy pending bytes into `out`, as many as it has room for. */
static size_t
drain(yamux_session_t *s, buf_t *out)
{
    size_t total = 0;

    for (;;) {
        const uint8_t *p;
        size_t room = out->len < out->max ? out->max - out->len : 0;
        size_t n = LS_MIN(yamux_out_peek(&s->out, &p), room);
        if (n == 0 || buf_append(out, p, n) < 0)
            return total;
        yamux_out_advance(&s->out, n);
        total += n;
    }
}

int
yamux_output(yamux_session_t *s, buf_t *out)
{
    size_t n = drain(s, out);

    /* Room again in the queue: blocked writers may go on, in this same call. */
    if (s->n_blocked || s->open_blocked) {
        yamux_notify_writable(s);
        n += drain(s, out);
    }
    return (int)LS_MIN(n, (size_t)INT_MAX);
}

size_t
yamux_output_peek(const yamux_session_t *s, const uint8_t **p)
{
    return yamux_out_peek(&s->out, p);
}

void
yamux_output_advance(yamux_session_t *s, size_t n)
{
    yamux_out_advance(&s->out, n); /* asserts n <= what is pending */
    if (s->n_blocked || s->open_blocked)
        yamux_notify_writable(s);
}

bool
yamux_has_output(const yamux_session_t *s)
{
    return s->out.len > 0;
}

static void
send_ping(yamux_session_t *s, uint64_t now_ms)
{
    s->ping_id++;
    yamux_queue_frame(s, YAMUX_TYPE_PING, YAMUX_FLAG_SYN, 0, s->ping_id);
    s->ping_outstanding = true;
    s->ping_ever = true;
    s->ping_sent_ms = now_ms;
    s->stats.pings_sent++;
}

int
yamux_ping(yamux_session_t *s, uint64_t now_ms)
{
    if (s->err)
        return LS_ECLOSED;
    set_now(s, now_ms);
    if (!s->ping_outstanding)
        send_ping(s, s->now_ms);
    return 0;
}

int
yamux_goaway(yamux_session_t *s, uint32_t code)
{
    if (!s->local_goaway) {
        s->local_goaway = true;
        yamux_queue_frame(s, YAMUX_TYPE_GO_AWAY, 0, 0, code);
    }
    return 0;
}

uint64_t
yamux_tick(yamux_session_t *s, uint64_t now_ms)
{
    set_now(s, now_ms);
    now_ms = s->now_ms;
    if (s->err)
        return UINT64_MAX;
    if (s->ping_outstanding) {
        if (s->cfg.ping_timeout_ms == 0)
            return UINT64_MAX;
        uint64_t deadline = s->ping_sent_ms + s->cfg.ping_timeout_ms;
        if (now_ms < deadline)
            return deadline;
        log_debug("ping %u unanswered after %llu ms", s->ping_id,
                  (unsigned long long)(now_ms - s->ping_sent_ms));
        fail(s, LS_ETIMEDOUT);
        return UINT64_MAX;
    }
    if (s->cfg.keepalive_ms == 0)
        return UINT64_MAX;
    uint64_t next = s->ping_ever ? s->ping_sent_ms + s->cfg.keepalive_ms : now_ms;
    if (now_ms < next)
        return next;
    send_ping(s, now_ms);
    return s->cfg.ping_timeout_ms ? now_ms + s->cfg.ping_timeout_ms : now_ms + s->cfg.keepalive_ms;
}

int
yamux_session_error(const yamux_session_t *s)
{
    return s->err;
}

bool
yamux_is_going_away(const yamux_session_t *s)
{
    return s->local_goaway || s->remote_goaway;
}

void
yamux_get_stats(const yamux_session_t *s, yamux_stats_t *out)
{
    *out = s->stats;
}
