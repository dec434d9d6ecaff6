/* gs_out — peer sets, and the RPCs the router sends: pieces are queued per peer and
 * sent as one RPC per peer by gs_flush() at the end of every public call. Encoding is
 * done by hand (the fields are few and fixed; rpc.proto has their numbers), so that
 * cached messages are sent as the bytes they arrived as. */
#define LOG_MODULE "gossipsub"
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/log/log.h"
#include "lib/varint/varint.h"
#include "pubsub/gossipsub/gs_internal.h"

/* Field tags (field << 3 | 2, length-delimited). */
#define F1 0x0a
#define F2 0x12
#define F3 0x1a
#define F4 0x22

bool
gs_pset_has(const gs_pset_t *s, const peer_id_t *p)
{
    for (size_t i = 0; i < s->n; i++)
        if (peer_id_equal(&s->v[i], p))
            return true;
    return false;
}

bool
gs_pset_add(gs_pset_t *s, const peer_id_t *p)
{
    if (gs_pset_has(s, p))
        return false;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        s->v = ls_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = *p;
    return true;
}

bool
gs_pset_remove(gs_pset_t *s, const peer_id_t *p)
{
    for (size_t i = 0; i < s->n; i++) {
        if (peer_id_equal(&s->v[i], p)) {
            memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
            s->n--;
            return true;
        }
    }
    return false;
}

void
gs_pset_free(gs_pset_t *s)
{
    free(s->v);
    *s = (gs_pset_t){0};
}

/* Append field `tag` holding `len` bytes at `p`. Buffers are unlimited here; RPC size
 * is kept in check by flushing before a piece would pass max_rpc_len. */
static void
put_field(buf_t *b, uint8_t tag, const void *p, size_t len)
{
    buf_append_byte(b, tag);
    varint_append(b, len);
    buf_append(b, p, len);
}

static void
mark_dirty(gossipsub_t *gs, gs_peer_t *p)
{
    if (!p->dirty) {
        p->dirty = true;
        gs_pset_add(&gs->dirty, &p->id);
    }
}

static void
flush_peer(gossipsub_t *gs, gs_peer_t *p)
{
    if (p->out_pub.len == 0 && p->out_ctl.len == 0)
        return;
    if (p->out_ctl.len)
        put_field(&p->out_pub, F3, p->out_ctl.data, p->out_ctl.len);
    int rc = gs->env.send(gs->env.ctx, &p->id, p->out_pub.data, p->out_pub.len);
    if (rc < 0)
        log_debug("send failed: %s", ls_strerror(rc));
    buf_clear(&p->out_pub);
    buf_clear(&p->out_ctl);
}

/* Make room for `extra` more bytes in the next RPC to `p`. */
static void
room(gossipsub_t *gs, gs_peer_t *p, size_t extra)
{
    if (p->out_pub.len + p->out_ctl.len + extra + 16 > gs->cfg.limits.max_rpc_len)
        flush_peer(gs, p);
    mark_dirty(gs, p);
}

void
gs_flush(gossipsub_t *gs)
{
    for (size_t i = 0; i < gs->dirty.n; i++) {
        gs_peer_t *p = peermap_get(gs->peers, &gs->dirty.v[i]);
        if (p) {
            flush_peer(gs, p);
            p->dirty = false;
        }
    }
    gs->dirty.n = 0;
}

void
gs_out_subscription(gossipsub_t *gs, gs_peer_t *p, const gs_topic_t *t, bool subscribe)
{
    buf_t sub = BUF_INIT(BUF_UNLIMITED);
    buf_append_byte(&sub, 0x08);
    buf_append_byte(&sub, subscribe ? 1 : 0);
    put_field(&sub, F2, t->name, t->len);
    room(gs, p, sub.len + 8);
    put_field(&p->out_pub, F1, sub.data, sub.len);
    buf_free(&sub);
}

void
gs_out_message(gossipsub_t *gs, gs_peer_t *p, const uint8_t *msg, size_t len)
{
    room(gs, p, len + 8);
    put_field(&p->out_pub, F2, msg, len);
}

void
gs_out_graft(gossipsub_t *gs, gs_peer_t *p, const gs_topic_t *t)
{
    buf_t g = BUF_INIT(BUF_UNLIMITED);
    put_field(&g, F1, t->name, t->len);
    room(gs, p, g.len + 8);
    put_field(&p->out_ctl, F3, g.data, g.len);
    buf_free(&g);
}

/* PeerInfo entries for a PRUNE of `p` from topic `ti`: other subscribed peers with a
 * non-negative score. */
static void
add_px(gossipsub_t *gs, uint64_t now_ms, buf_t *prune, const gs_peer_t *p, uint32_t ti)
{
    const gs_pset_t *peers = &gs->topics[ti].peers;
    peer_id_t *cand = ls_calloc(peers->n + 1, sizeof *cand);
    size_t n = 0;
    for (size_t i = 0; i < peers->n; i++)
        if (!peer_id_equal(&peers->v[i], &p->id) && score_get(gs->score, now_ms, &peers->v[i]) >= 0)
            cand[n++] = peers->v[i];
    gs_shuffle(gs, cand, n);
    for (size_t i = 0; i < n && i < gs->cfg.prune_peers; i++) {
        buf_t info = BUF_INIT(BUF_UNLIMITED);
        put_field(&info, F1, cand[i].bytes, cand[i].len);
        put_field(prune, F2, info.data, info.len);
        buf_free(&info);
    }
    free(cand);
}

void
gs_out_prune(gossipsub_t *gs, uint64_t now_ms, gs_peer_t *p, uint32_t topic, bool px,
             uint64_t backoff_ms)
{
    const gs_topic_t *t = &gs->topics[topic];
    buf_t pr = BUF_INIT(BUF_UNLIMITED);

    put_field(&pr, F1, t->name, t->len);
    if (p->proto >= GOSSIPSUB_V11) {
        if (px)
            add_px(gs, now_ms, &pr, p, topic);
        buf_append_byte(&pr, 0x18);
        varint_append(&pr, backoff_ms / 1000);
    }
    gs_set_backoff(gs, p, topic, now_ms, backoff_ms);
    room(gs, p, pr.len + 8);
    put_field(&p->out_ctl, F4, pr.data, pr.len);
    buf_free(&pr);
}

void
gs_out_ihave(gossipsub_t *gs, gs_peer_t *p, const gs_topic_t *t, const gs_msgid_t *ids, size_t n)
{
    buf_t ih = BUF_INIT(BUF_UNLIMITED);
    gs->stats.ihave_sent += n;
    put_field(&ih, F1, t->name, t->len);
    for (size_t i = 0; i < n; i++)
        put_field(&ih, F2, ids[i].b, ids[i].len);
    room(gs, p, ih.len + 8);
    put_field(&p->out_ctl, F1, ih.data, ih.len);
    buf_free(&ih);
}

void
gs_out_iwant(gossipsub_t *gs, gs_peer_t *p, const gs_msgid_t *ids, size_t n)
{
    buf_t iw = BUF_INIT(BUF_UNLIMITED);
    gs->stats.iwant_sent += n;
    for (size_t i = 0; i < n; i++)
        put_field(&iw, F1, ids[i].b, ids[i].len);
    room(gs, p, iw.len + 8);
    put_field(&p->out_ctl, F2, iw.data, iw.len);
    buf_free(&iw);
}
