/* gs_publish — publishing, forwarding and delivery (gossipsub-v1.0.md "Message
 * Processing", gossipsub-v1.1.md "Flood Publishing"), the tick and queries. */
#define LOG_MODULE "gossipsub"
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/log/log.h"
#include "pubsub/gossipsub/gs_internal.h"

/* Queue `msg` (ID `id`) to `peer` unless it is `skip1` or `skip2` or said IDONTWANT
 * for it; returns 1 if queued. */
static int
send_to(gossipsub_t *gs, const peer_id_t *peer, const peer_id_t *skip1, const peer_id_t *skip2,
        const gs_msgid_t *id, const buf_t *msg)
{
    if ((skip1 && peer_id_equal(peer, skip1)) || (skip2 && peer_id_equal(peer, skip2)))
        return 0;
    gs_peer_t *p = peermap_get(gs->peers, peer);
    if (!p)
        return 0;
    if (gs_dontwant_has(p, id)) {
        gs->stats.idontwant_skipped++;
        return 0;
    }
    gs_out_message(gs, p, msg->data, msg->len);
    return 1;
}

/* Fanout of topic `ti` for publishing without subscribing: refreshed up to D. */
static const gs_pset_t *
fanout(gossipsub_t *gs, uint64_t now_ms, uint32_t ti)
{
    gs_topic_t *t = &gs->topics[ti];
    t->fanout_last_ms = now_ms;
    if (t->fanout.n >= gs->cfg.d)
        return &t->fanout;
    peer_id_t *cand = ls_calloc(t->peers.n + 1, sizeof *cand);
    size_t n = 0;
    for (size_t i = 0; i < t->peers.n; i++) {
        const gs_peer_t *p = peermap_get(gs->peers, &t->peers.v[i]);
        if (p && p->proto != GOSSIPSUB_FLOODSUB && !gs_pset_has(&t->fanout, &p->id) &&
            score_get(gs->score, now_ms, &p->id) >= gs->cfg.thresholds.publish)
            cand[n++] = p->id;
    }
    gs_shuffle(gs, cand, n);
    for (size_t i = 0; i < n && t->fanout.n < gs->cfg.d; i++)
        gs_pset_add(&t->fanout, &cand[i]);
    free(cand);
    return &t->fanout;
}

/* Recipients of a message on topic `ti`: ours are flood-published (or sent to the mesh
 * or fanout), others' go to the mesh; floodsub peers get everything on their topics. */
static int
route(gossipsub_t *gs, uint64_t now_ms, uint32_t ti, const peer_id_t *from, const peer_id_t *author,
      const gs_msgid_t *id, const buf_t *msg)
{
    gs_topic_t *t = &gs->topics[ti];
    int sent = 0;
    const gs_pset_t *set = &t->mesh;

    if (!from && gs->cfg.flood_publish) {
        for (size_t i = 0; i < t->peers.n; i++)
            if (score_get(gs->score, now_ms, &t->peers.v[i]) >= gs->cfg.thresholds.publish)
                sent += send_to(gs, &t->peers.v[i], NULL, NULL, id, msg);
        return sent;
    }
    if (!from && !t->subscribed)
        set = fanout(gs, now_ms, ti);
    for (size_t i = 0; i < set->n; i++)
        sent += send_to(gs, &set->v[i], from, author, id, msg);
    for (size_t i = 0; i < t->peers.n; i++) {
        const gs_peer_t *p = peermap_get(gs->peers, &t->peers.v[i]);
        if (p && p->proto == GOSSIPSUB_FLOODSUB)
            sent += send_to(gs, &p->id, from, author, id, msg);
    }
    return sent;
}

/* `m` passed validation (or is ours): cache, deliver, forward. Returns peers sent to. */
static int
accept_message(gossipsub_t *gs, uint64_t now_ms, const gs_peer_t *from, PubsubPb__Message *m,
               const gs_msgid_t *id, const peer_id_t *author)
{
    int ti = gs_topic_index(gs, m->topic.data, m->topic.len, 0);
    if (ti < 0)
        return 0;
    bool lester = pubsub_topic_is_lester(m->topic.data, m->topic.len);
    uint32_t hops = lester ? (m->has_lester_hops ? m->lester_hops : gs->cfg.hop_limit) : 0;
    if (lester && hops > gs->cfg.hop_limit)
        hops = gs->cfg.hop_limit; /* nobody extends seed 001's TTL past ours */
    gossipsub_msg_stats_t *st = gs_msg_stats(gs, m->topic.data, m->topic.len);
    if (!from)
        st->published++;
    if (gs->topics[ti].subscribed && gs->env.deliver) {
        st->delivered++;
        gossipsub_message_t dm = {m->topic.data, m->topic.len, m->data.data,
                                  m->data.len,   author,       from ? &from->id : NULL,
                                  id->b,         id->len,      hops};
        gs->env.deliver(gs->env.ctx, &dm);
    }
    if (lester && from && hops == 0)
        return 0; /* seed 001's TTL: delivered, not forwarded nor gossiped */
    if (lester) {
        m->has_lester_hops = 1;
        m->lester_hops = from ? hops - 1 : hops;
    }
    buf_t msg = BUF_INIT(BUF_UNLIMITED);
    uint8_t *dst = buf_extend(&msg, pubsub_pb__message__get_packed_size(m));
    pubsub_pb__message__pack(m, dst);
    gs_mcache_put(gs, id, (uint32_t)ti, msg.data, msg.len);
    int sent = route(gs, now_ms, (uint32_t)ti, from ? &from->id : NULL, author, id, &msg);
    if (from)
        st->forwarded += (uint64_t)sent;
    buf_free(&msg);
    return sent;
}

void
gs_deliver_and_forward(gossipsub_t *gs, uint64_t now_ms, const gs_peer_t *from,
                       const PubsubPb__Message *m, const gs_msgid_t *id, const peer_id_t *author)
{
    PubsubPb__Message copy = *m;
    accept_message(gs, now_ms, from, &copy, id, author);
}

int
gossipsub_publish(gossipsub_t *gs, uint64_t now_ms, const uint8_t *topic, size_t topic_len,
                  const uint8_t *data, size_t len, uint8_t *id_out, size_t *id_len)
{
    PubsubPb__Message m;
    pubsub_msg_sig_t sig;
    uint8_t raw[PUBSUB_MSGID_MAX];
    gs_msgid_t id;

    if (!pubsub_topic_is_valid(topic, topic_len, &gs->cfg.limits) ||
        len > gs->cfg.limits.max_data_len)
        return LS_EINVAL;
    pubsub_pb__message__init(&m);
    m.has_topic = m.has_data = 1;
    m.topic = (ProtobufCBinaryData){topic_len, (uint8_t *)topic};
    m.data = (ProtobufCBinaryData){len, (uint8_t *)data};
    int rc = pubsub_msg_sign(&m, ++gs->seqno, &gs->kp, &sig);
    int n = rc < 0 ? rc : pubsub_msgid(&m, raw);
    if (n < 0 || !gs_msgid_set(&id, raw, (size_t)n))
        return n < 0 ? n : LS_EINVAL;
    if (!gs_seen_add(gs, now_ms, &id))
        return LS_EEXIST;
    if (id_out)
        memcpy(id_out, id.b, id.len);
    if (id_len)
        *id_len = id.len;
    int sent = accept_message(gs, now_ms, NULL, &m, &id, &gs->self);
    gs_flush(gs);
    return sent;
}

uint64_t
gossipsub_tick(gossipsub_t *gs, uint64_t now_ms)
{
    if (now_ms < gs->next_heartbeat_ms)
        return gs->next_heartbeat_ms;
    gs_heartbeat(gs, now_ms);
    gs->next_heartbeat_ms += gs->cfg.heartbeat_ms;
    if (gs->next_heartbeat_ms <= now_ms)
        gs->next_heartbeat_ms = now_ms + gs->cfg.heartbeat_ms; /* fell behind: skip */
    gs_flush(gs);
    return gs->next_heartbeat_ms;
}

static size_t
copy_set(const gs_pset_t *s, peer_id_t *out, size_t max)
{
    for (size_t i = 0; i < s->n && i < max; i++)
        out[i] = s->v[i];
    return s->n;
}

size_t
gossipsub_mesh(const gossipsub_t *gs, const uint8_t *topic, size_t len, peer_id_t *out, size_t max)
{
    const gs_topic_t *t = gs_topic_find(gs, topic, len);
    return t ? copy_set(&t->mesh, out, max) : 0;
}

size_t
gossipsub_topic_peers(const gossipsub_t *gs, const uint8_t *topic, size_t len, peer_id_t *out,
                      size_t max)
{
    const gs_topic_t *t = gs_topic_find(gs, topic, len);
    return t ? copy_set(&t->peers, out, max) : 0;
}

bool
gossipsub_is_subscribed(const gossipsub_t *gs, const uint8_t *topic, size_t len)
{
    const gs_topic_t *t = gs_topic_find(gs, topic, len);
    return t && t->subscribed;
}

double
gossipsub_score(const gossipsub_t *gs, uint64_t now_ms, const peer_id_t *peer)
{
    return score_get(gs->score, now_ms, peer);
}
