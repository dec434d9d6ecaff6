/* yamux_stream — the stream table and the owner's per-stream calls: open, write,
 * half-close, reset and consume (flow control). hashicorp/yamux spec.md "Message
 * Flow" and "Flow Control"; libp2p/specs yamux "ACK backlog". */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "net/yamux/yamux_internal.h"

/* ---- the table: open addressing, linear probing, backward-shift deletion ---- */

static size_t
slot_of(const stream_map_t *m, uint32_t id)
{
    uint32_t h = id * 2654435761u; /* Fibonacci hashing spreads consecutive ids */
    return (h ^ h >> 16) & (m->cap - 1);
}

yamux_stream_t *
yamux_stream_get(const yamux_session_t *s, uint32_t id)
{
    const stream_map_t *m = &s->streams;

    if (m->cap == 0)
        return NULL;
    for (size_t i = slot_of(m, id);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slots[i])
            return NULL;
        if (m->slots[i]->id == id)
            return m->slots[i];
    }
}

static void
map_place(stream_map_t *m, yamux_stream_t *st)
{
    size_t i = slot_of(m, st->id);

    while (m->slots[i])
        i = (i + 1) & (m->cap - 1);
    m->slots[i] = st;
}

static void
map_resize(stream_map_t *m, size_t cap)
{
    yamux_stream_t **old = m->slots;
    size_t old_cap = m->cap;

    m->slots = cap ? ls_calloc(cap, sizeof *m->slots) : NULL;
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i])
            map_place(m, old[i]);
    free(old);
}

static void
map_delete(stream_map_t *m, const yamux_stream_t *st)
{
    size_t i = slot_of(m, st->id);

    while (m->slots[i] != st)
        i = (i + 1) & (m->cap - 1);
    m->slots[i] = NULL;
    /* Pull later members of the probe run back so lookups never stop early. */
    for (size_t j = (i + 1) & (m->cap - 1); m->slots[j]; j = (j + 1) & (m->cap - 1)) {
        size_t home = slot_of(m, m->slots[j]->id);
        bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!between) {
            m->slots[i] = m->slots[j];
            m->slots[j] = NULL;
            i = j;
        }
    }
    if (--m->count == 0)
        map_resize(m, 0); /* an idle session holds no table */
}

yamux_stream_t *
yamux_stream_add(yamux_session_t *s, uint32_t id, uint32_t flags)
{
    stream_map_t *m = &s->streams;
    yamux_stream_t *st = ls_calloc(1, sizeof *st);

    if ((m->count + 1) * 4 > m->cap * 3)
        map_resize(m, m->cap ? m->cap * 2 : 8);
    st->id = id;
    st->flags = flags;
    st->send_window = st->recv_window = st->recv_max = YAMUX_INITIAL_WINDOW;
    st->epoch_ms = s->now_ms;
    map_place(m, st);
    m->count++;
    if (flags & YS_NEED_ACK)
        s->unacked_in++;
    if (flags & YS_UNACKED)
        s->unacked_out++;
    return st;
}

void
yamux_stream_remove(yamux_session_t *s, yamux_stream_t *st)
{
    if (st->flags & YS_NEED_ACK)
        s->unacked_in--;
    if (st->flags & YS_UNACKED)
        s->unacked_out--;
    if (st->flags & YS_BLOCKED)
        s->n_blocked--;
    map_delete(&s->streams, st);
    free(st);
}

void
yamux_streams_free(yamux_session_t *s)
{
    for (size_t i = 0; i < s->streams.cap; i++)
        free(s->streams.slots[i]);
    free(s->streams.slots);
    memset(&s->streams, 0, sizeof s->streams);
}

/* ---- frames ---- */

void
yamux_queue_frame(yamux_session_t *s, uint8_t type, uint16_t flags, uint32_t id, uint32_t length)
{
    yamux_header_t h = {YAMUX_VERSION, type, flags, id, length};
    uint8_t hdr[YAMUX_HEADER_LEN];

    yamux_header_encode(&h, hdr);
    yamux_out_append(&s->out, hdr, sizeof hdr); /* no maximum: control frames always fit */
    s->stats.frames_out++;
}

/* The ACK for an inbound stream rides on the first frame we send on it. */
static uint16_t
take_ack(yamux_session_t *s, yamux_stream_t *st)
{
    if (!(st->flags & YS_NEED_ACK))
        return 0;
    st->flags &= ~(uint32_t)YS_NEED_ACK;
    s->unacked_in--;
    return YAMUX_FLAG_ACK;
}

void
yamux_queue_window_update(yamux_session_t *s, yamux_stream_t *st, uint16_t flags, uint32_t delta)
{
    flags |= take_ack(s, st);
    yamux_queue_frame(s, YAMUX_TYPE_WINDOW_UPDATE, flags, st->id, delta);
}

static size_t
out_pending(const yamux_session_t *s)
{
    return s->out.len;
}

static void
mark_blocked(yamux_session_t *s, yamux_stream_t *st)
{
    if (!(st->flags & YS_BLOCKED)) {
        st->flags |= YS_BLOCKED;
        s->n_blocked++;
    }
}

static bool
can_write(const yamux_session_t *s, const yamux_stream_t *st)
{
    return st->send_window > 0 && out_pending(s) < s->cfg.max_out && !(st->flags & YS_LOCAL_FIN);
}

/* Blocked stream ids, starting at a rotating slot so no stream starves. */
static size_t
collect_blocked(yamux_session_t *s, uint32_t *ids)
{
    const stream_map_t *m = &s->streams;
    size_t n = 0, start = m->cap ? s->notify_rr++ & (m->cap - 1) : 0;

    for (size_t k = 0; k < m->cap && n < s->n_blocked; k++) {
        const yamux_stream_t *st = m->slots[(start + k) & (m->cap - 1)];
        if (st && (st->flags & YS_BLOCKED) && can_write(s, st))
            ids[n++] = st->id;
    }
    return n;
}

void
yamux_notify_writable(yamux_session_t *s)
{
    if (s->open_blocked && s->unacked_out < YAMUX_ACK_BACKLOG) {
        s->open_blocked = false;
        if (s->env.on_writable)
            s->env.on_writable(s->env.ctx, 0);
    }
    if (s->n_blocked == 0 || out_pending(s) >= s->cfg.max_out)
        return;
    /* Callbacks may add or remove streams: work from a copy of the ids. */
    uint32_t *ids = ls_malloc(s->n_blocked * sizeof *ids);
    size_t n = collect_blocked(s, ids);
    for (size_t i = 0; i < n; i++) {
        yamux_stream_t *st = yamux_stream_get(s, ids[i]);
        if (!st || !(st->flags & YS_BLOCKED) || !can_write(s, st))
            continue;
        st->flags &= ~(uint32_t)YS_BLOCKED;
        s->n_blocked--;
        if (s->env.on_writable)
            s->env.on_writable(s->env.ctx, ids[i]);
    }
    free(ids);
}

/* ---- the owner's calls ---- */

int
yamux_open_stream(yamux_session_t *s, uint32_t *id)
{
    if (s->err || s->local_goaway || s->remote_goaway)
        return LS_ECLOSED;
    if (s->streams.count >= s->cfg.max_streams || s->next_id == 0)
        return LS_ELIMIT;
    if (s->unacked_out >= YAMUX_ACK_BACKLOG) {
        s->open_blocked = true;
        return LS_EAGAIN;
    }
    yamux_stream_t *st = yamux_stream_add(s, s->next_id, YS_OUTBOUND | YS_UNACKED);
    /* Ids only grow; past the last one of our parity, no more streams. */
    s->next_id = s->next_id > UINT32_MAX - 2 ? 0 : s->next_id + 2;
    yamux_queue_window_update(s, st, YAMUX_FLAG_SYN, 0);
    s->stats.streams_opened_out++;
    *id = st->id;
    return 0;
}

static void
queue_data(yamux_session_t *s, yamux_stream_t *st, const uint8_t *p, size_t n)
{
    size_t frames = (n + s->cfg.max_frame - 1) / s->cfg.max_frame;

    yamux_out_reserve(&s->out, n + frames * YAMUX_HEADER_LEN);
    for (size_t off = 0; off < n;) {
        uint32_t chunk = (uint32_t)LS_MIN(n - off, (size_t)s->cfg.max_frame);
        yamux_queue_frame(s, YAMUX_TYPE_DATA, take_ack(s, st), st->id, chunk);
        yamux_out_append(&s->out, p + off, chunk);
        off += chunk;
    }
}

int
yamux_write(yamux_session_t *s, uint32_t id, const uint8_t *p, size_t len)
{
    yamux_stream_t *st = yamux_stream_get(s, id);

    if (!st)
        return LS_ENOENT;
    if (s->err || (st->flags & YS_LOCAL_FIN))
        return LS_ECLOSED;
    size_t pending = out_pending(s);
    size_t room = pending < s->cfg.max_out ? s->cfg.max_out - pending : 0;
    size_t n = LS_MIN(LS_MIN(len, (size_t)st->send_window), LS_MIN(room, (size_t)INT_MAX));
    if (n < len)
        mark_blocked(s, st);
    if (n == 0)
        return 0;
    queue_data(s, st, p, n);
    st->send_window -= (uint32_t)n;
    s->stats.data_out += n;
    return (int)n;
}

int
yamux_write_small(yamux_session_t *s, uint32_t id, const uint8_t *p, size_t len)
{
    yamux_stream_t *st = yamux_stream_get(s, id);

    if (!st)
        return LS_ENOENT;
    if (s->err || (st->flags & YS_LOCAL_FIN))
        return LS_ECLOSED;
    if (len > YAMUX_SMALL_WRITE)
        return LS_EINVAL;
    if (len > st->send_window) {
        mark_blocked(s, st);
        return 0;
    }
    if (len == 0)
        return 0;
    queue_data(s, st, p, len);
    st->send_window -= (uint32_t)len;
    s->stats.data_out += len;
    return (int)len;
}

int
yamux_write_header(yamux_session_t *s, uint32_t id, size_t len,
                   uint8_t hdr[static YAMUX_HEADER_LEN])
{
    yamux_stream_t *st = yamux_stream_get(s, id);

    if (!st)
        return LS_ENOENT;
    if (s->err || (st->flags & YS_LOCAL_FIN))
        return LS_ECLOSED;
    if (out_pending(s))
        return LS_EAGAIN; /* the queue goes first: use yamux_write() */
    size_t n = LS_MIN(LS_MIN(len, (size_t)st->send_window), (size_t)s->cfg.max_frame);
    n = LS_MIN(n, (size_t)INT_MAX);
    if (n < len && n == st->send_window)
        mark_blocked(s, st); /* the window, not the frame size, stopped us */
    if (n == 0)
        return 0;
    yamux_header_t h = {YAMUX_VERSION, YAMUX_TYPE_DATA, take_ack(s, st), st->id, (uint32_t)n};
    yamux_header_encode(&h, hdr);
    st->send_window -= (uint32_t)n;
    s->stats.frames_out++;
    s->stats.data_out += n;
    return (int)n;
}

int
yamux_hold(yamux_session_t *s, uint32_t id)
{
    yamux_stream_t *st = yamux_stream_get(s, id);
    if (!st)
        return LS_ENOENT;
    mark_blocked(s, st);
    return 0;
}

void
yamux_wake_writable(yamux_session_t *s)
{
    if (s->n_blocked || s->open_blocked)
        yamux_notify_writable(s);
}

int
yamux_close_write(yamux_session_t *s, uint32_t id)
{
    yamux_stream_t *st = yamux_stream_get(s, id);

    if (!st)
        return LS_ENOENT;
    if (st->flags & YS_LOCAL_FIN)
        return 0;
    st->flags |= YS_LOCAL_FIN;
    yamux_queue_window_update(s, st, YAMUX_FLAG_FIN, 0);
    if (st->flags & YS_BLOCKED) {
        st->flags &= ~(uint32_t)YS_BLOCKED;
        s->n_blocked--;
    }
    if (st->flags & YS_REMOTE_FIN)
        yamux_stream_remove(s, st);
    return 0;
}

int
yamux_reset(yamux_session_t *s, uint32_t id)
{
    yamux_stream_t *st = yamux_stream_get(s, id);

    if (!st)
        return LS_ENOENT;
    yamux_queue_frame(s, YAMUX_TYPE_WINDOW_UPDATE, YAMUX_FLAG_RST, id, 0);
    s->stats.streams_reset_out++;
    yamux_stream_remove(s, st);
    return 0;
}

/* The size a stream's receive window may grow to: its own cap when the owner set
 * one, else short_window on paths under tune_min_rtt_ms (or not measured yet) and
 * max_window on the others. */
static uint32_t
window_cap(const yamux_session_t *s, const yamux_stream_t *st)
{
    if (st->window_cap)
        return st->window_cap;
    bool short_path = !s->rtt_ms || s->rtt_ms < s->cfg.tune_min_rtt_ms;
    return short_path ? s->cfg.short_window : s->cfg.max_window;
}

/* Top the window up once half of it is free again; double it first when the last
 * top-up was less than four round trips ago (the reader, not the window, should be
 * the limit). The rule is go-yamux's auto-tuning; a sub-millisecond or not yet
 * measured RTT counts as 1 ms; the window stops at window_cap(). */
static void
maybe_update_window(yamux_session_t *s, yamux_stream_t *st)
{
    uint32_t grant = st->recv_max - st->recv_window - st->unconsumed;

    if (grant < st->recv_max / 2)
        return;
    uint32_t cap = window_cap(s, st);
    uint64_t rtt = s->rtt_ms ? s->rtt_ms : 1;
    if (s->now_ms - st->epoch_ms < 4 * rtt && st->recv_max < cap) {
        uint32_t grown = st->recv_max > cap / 2 ? cap : st->recv_max * 2;
        grant += grown - st->recv_max;
        st->recv_max = grown;
    }
    st->epoch_ms = s->now_ms;
    st->recv_window += grant;
    yamux_queue_window_update(s, st, 0, grant);
}

int
yamux_consume(yamux_session_t *s, uint32_t id, size_t n)
{
    yamux_stream_t *st = yamux_stream_get(s, id);

    if (!st)
        return LS_ENOENT;
    if (n > st->unconsumed)
        return LS_EINVAL;
    st->unconsumed -= (uint32_t)n;
    /* After the peer's FIN nothing more comes: no window to reopen. */
    if (!(st->flags & YS_REMOTE_FIN) && !s->err)
        maybe_update_window(s, st);
    return 0;
}

int
yamux_set_window_cap(yamux_session_t *s, uint32_t id, uint32_t bytes)
{
    yamux_stream_t *st = yamux_stream_get(s, id);

    if (!st)
        return LS_ENOENT;
    /* Only the cap changes: growth goes on from recv_max by the usual rule, and a
     * cap under recv_max just stops it (what the peer was granted stays granted). */
    st->window_cap = bytes ? LS_MIN(LS_MAX(bytes, YAMUX_INITIAL_WINDOW), YAMUX_MAX_WINDOW_CAP) : 0;
    return 0;
}

size_t
yamux_stream_count(const yamux_session_t *s)
{
    return s->streams.count;
}

uint32_t
yamux_send_window(const yamux_session_t *s, uint32_t id)
{
    const yamux_stream_t *st = yamux_stream_get(s, id);
    return st ? st->send_window : 0;
}
