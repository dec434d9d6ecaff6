/* gs_input — one inbound RPC: subscriptions, messages through the validation pipeline
 * (gossipsub-v1.0.md "Message Processing", gossipsub-v1.1.md "Extended Validators"),
 * and control messages (GRAFT, PRUNE with backoff and PX, IHAVE, IWANT, and
 * gossipsub-v1.2.md's IDONTWANT: gs_dontwant.c). */
#define LOG_MODULE "gossipsub"
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/log/log.h"
#include "pubsub/gossipsub/gs_internal.h"
#include "pubsub/rpc/pubsub_msg.h"

static void
on_subscriptions(gossipsub_t *gs, uint64_t now_ms, gs_peer_t *p, const PubsubPb__RPC *r)
{
    for (size_t i = 0; i < r->n_subscriptions; i++) {
        const PubsubPb__RPC__SubOpts *s = r->subscriptions[i];
        gs_topic_t *t = gs_topic_find(gs, s->topicid.data, s->topicid.len);
        if (!s->subscribe) {
            if (t && gs_peer_has_topic(p, (uint32_t)(t - gs->topics)))
                gs_peer_unsubscribed(gs, now_ms, p, (uint32_t)(t - gs->topics));
            continue;
        }
        if (p->n_topics >= gs->cfg.max_peer_topics)
            continue;
        int ti = gs_topic_index(gs, s->topicid.data, s->topicid.len, GS_RESERVED_TOPICS);
        if (ti < 0 || gs_peer_has_topic(p, (uint32_t)ti))
            continue;
        p->topics = ls_realloc(p->topics, (p->n_topics + 1) * sizeof *p->topics);
        p->topics[p->n_topics++] = (uint32_t)ti;
        gs_pset_add(&gs->topics[ti].peers, &p->id);
    }
}

gossipsub_msg_stats_t *
gs_msg_stats(gossipsub_t *gs, const uint8_t *topic, size_t len)
{
    return &gs->stats.msg[gossipsub_topic_class(topic, len)];
}

static void
penalise(gossipsub_t *gs, const peer_id_t *from, const PubsubPb__Message *m)
{
    gs_msg_stats(gs, m->topic.data, m->topic.len)->invalid++;
    score_invalid(gs->score, from, m->topic.data, m->topic.len);
    trust_hook_report(&gs->env.trust, from, TRUST_INVALID_MESSAGE);
}

/* The signature of `m` from `from` verified (author known): the rest of the
 * pipeline. `from` may have disconnected meanwhile (then a stand-in with its ID). */
static void
after_verify(gossipsub_t *gs, uint64_t now_ms, const peer_id_t *from, const PubsubPb__Message *m,
             const gs_msgid_t *id, const peer_id_t *author)
{
    gs_peer_t standin = {.id = *from};
    const gs_peer_t *p = peermap_get(gs->peers, from);
    if (!p)
        p = &standin;
    if (!gs_seen_add(gs, now_ms, id))
        return;
    gossipsub_verdict_t v = GOSSIPSUB_ACCEPT;
    if (gs->env.validate) {
        uint32_t hops = 0;
        if (pubsub_topic_is_lester(m->topic.data, m->topic.len))
            hops = m->has_lester_hops && m->lester_hops < gs->cfg.hop_limit ? m->lester_hops
                                                                            : gs->cfg.hop_limit;
        gossipsub_message_t vm = {m->topic.data, m->topic.len, m->data.data, m->data.len, author,
                                  &p->id,        id->b,        id->len,      hops};
        v = gs->env.validate(gs->env.ctx, &vm);
    }
    if (v == GOSSIPSUB_REJECT) {
        penalise(gs, &p->id, m);
    } else if (v == GOSSIPSUB_ACCEPT) {
        score_first_delivery(gs->score, &p->id, m->topic.data, m->topic.len);
        trust_hook_report(&gs->env.trust, &p->id, TRUST_VALID_MESSAGE);
        gs_deliver_and_forward(gs, now_ms, p, m, id, author);
    } else {
        gs_msg_stats(gs, m->topic.data, m->topic.len)->ignored++;
    }
}

/* Hand `m` to env.verify and keep it until gossipsub_verified(). */
static void
defer_verify(gossipsub_t *gs, const gs_peer_t *p, const PubsubPb__Message *m, const gs_msgid_t *id)
{
    gossipsub_msg_stats_t *st = gs_msg_stats(gs, m->topic.data, m->topic.len);
    if (gs_idmap_count(gs->pending) >= GS_MAX_PENDING) {
        st->ignored++;
        return;
    }
    gs_pending_t *pe = ls_calloc(1, sizeof *pe);
    pe->id = *id;
    pe->from = p->id;
    pe->len = pubsub_pb__message__get_packed_size(m);
    pe->msg = ls_malloc(pe->len ? pe->len : 1);
    pubsub_pb__message__pack(m, pe->msg);
    if (gs->env.verify(gs->env.ctx, pe->msg, pe->len, id->b, id->len) < 0) {
        st->ignored++;
        free(pe->msg);
        free(pe);
        return;
    }
    gs_idmap_put(gs->pending, pe);
    pe->next = gs->pending_head;
    if (pe->next)
        pe->next->prev = pe;
    gs->pending_head = pe;
}

static void
pending_unlink(gossipsub_t *gs, gs_pending_t *pe)
{
    if (pe->prev)
        pe->prev->next = pe->next;
    else
        gs->pending_head = pe->next;
    if (pe->next)
        pe->next->prev = pe->prev;
    free(pe->msg);
    free(pe);
}

void
gs_pending_free_all(gossipsub_t *gs)
{
    while (gs->pending_head) {
        gs_idmap_remove(gs->pending, &gs->pending_head->id);
        pending_unlink(gs, gs->pending_head);
    }
    gs_idmap_free(gs->pending);
}

int
gossipsub_verified(gossipsub_t *gs, uint64_t now_ms, const uint8_t *raw, size_t id_len, int result,
                   const peer_id_t *author)
{
    gs_msgid_t id;
    if (!gs_msgid_set(&id, raw, id_len))
        return LS_ENOENT;
    gs_pending_t *pe = gs_idmap_remove(gs->pending, &id);
    if (!pe)
        return LS_ENOENT;
    PubsubPb__Message *m = pubsub_pb__message__unpack(NULL, pe->len, pe->msg);
    if (m) {
        const gs_topic_t *t = gs_topic_find(gs, m->topic.data, m->topic.len);
        if (result < 0 || !author)
            penalise(gs, &pe->from, m);
        else if (t && t->subscribed) /* we may have left the topic meanwhile */
            after_verify(gs, now_ms, &pe->from, m, &id, author);
        pubsub_pb__message__free_unpacked(m, NULL);
    }
    pending_unlink(gs, pe);
    gs_flush(gs);
    return 0;
}

size_t
gossipsub_pending(const gossipsub_t *gs)
{
    return gs_idmap_count(gs->pending);
}

static void
on_message(gossipsub_t *gs, uint64_t now_ms, gs_peer_t *p, const PubsubPb__Message *m)
{
    uint8_t raw[PUBSUB_MSGID_MAX];
    gs_msgid_t id;
    peer_id_t author;

    const gs_topic_t *t = gs_topic_find(gs, m->topic.data, m->topic.len);
    if (!t || !t->subscribed)
        return; /* not ours to relay */
    gs_msg_stats(gs, m->topic.data, m->topic.len)->received++;
    int n = pubsub_msgid(m, raw);
    if (n < 0 || !gs_msgid_set(&id, raw, (size_t)n)) {
        penalise(gs, &p->id, m); /* StrictSign: from and seqno are required */
        return;
    }
    const gs_seen_t *seen = gs_seen_get(gs, &id);
    if (seen) {
        gs_msg_stats(gs, m->topic.data, m->topic.len)->duplicates++;
        score_duplicate_delivery(gs->score, now_ms, seen->first_ms, &p->id, m->topic.data,
                                 m->topic.len);
        return;
    }
    if (gs->env.verify) {
        /* A copy arriving while another waits is a duplicate. If the waiting one turns
         * out forged, the genuine message is not marked seen and gossip recovers it. */
        if (gs_idmap_get(gs->pending, &id))
            gs_msg_stats(gs, m->topic.data, m->topic.len)->duplicates++;
        else
            defer_verify(gs, p, m, &id);
        return;
    }
    /* A bad signature is not marked seen: a forger must not be able to suppress the
     * genuine message by sending a broken copy of it first. */
    if (pubsub_msg_verify(m, &author) < 0) {
        penalise(gs, &p->id, m);
        return;
    }
    after_verify(gs, now_ms, &p->id, m, &id, &author);
}

static void
on_graft(gossipsub_t *gs, uint64_t now_ms, gs_peer_t *p, const PubsubPb__ControlGraft *g)
{
    gs_topic_t *t = gs_topic_find(gs, g->topicid.data, g->topicid.len);
    if (!t || !t->subscribed || gs_pset_has(&t->mesh, &p->id))
        return; /* unknown topics are ignored, not answered (spam hardening) */
    uint32_t ti = (uint32_t)(t - gs->topics);
    for (size_t i = 0; i < p->n_backoff; i++) {
        const gs_backoff_t *b = &p->backoff[i];
        if (b->topic != ti || now_ms >= b->until_ms)
            continue;
        /* gossipsub-v1.1.md: a GRAFT during backoff is penalised, doubly if it comes
         * right after the PRUNE (a flood) */
        score_add_penalty(gs->score, &p->id, now_ms < b->since_ms + gs->cfg.graft_flood_ms ? 2 : 1);
        gs_out_prune(gs, now_ms, p, ti, false, gs->cfg.prune_backoff_ms);
        return;
    }
    if (score_get(gs->score, now_ms, &p->id) < 0) {
        gs_out_prune(gs, now_ms, p, ti, false, gs->cfg.prune_backoff_ms);
        return;
    }
    if (t->mesh.n >= gs->cfg.d_hi && !p->outbound) {
        gs_out_prune(gs, now_ms, p, ti, true, gs->cfg.prune_backoff_ms);
        return;
    }
    gs_pset_add(&t->mesh, &p->id);
    score_graft(gs->score, now_ms, &p->id, t->name, t->len);
}

static void
on_prune(gossipsub_t *gs, uint64_t now_ms, gs_peer_t *p, const PubsubPb__ControlPrune *pr)
{
    gs_topic_t *t = gs_topic_find(gs, pr->topicid.data, pr->topicid.len);
    if (!t)
        return;
    uint32_t ti = (uint32_t)(t - gs->topics);
    if (gs_pset_remove(&t->mesh, &p->id))
        score_prune(gs->score, now_ms, &p->id, t->name, t->len);
    uint64_t backoff = gs->cfg.prune_backoff_ms;
    if (pr->has_backoff && pr->backoff < UINT32_MAX)
        backoff = pr->backoff * 1000;
    gs_set_backoff(gs, p, ti, now_ms, backoff);
    if (!gs->env.px || p->proto < GOSSIPSUB_V11 ||
        score_get(gs->score, now_ms, &p->id) < gs->cfg.thresholds.accept_px)
        return;
    for (size_t i = 0; i < pr->n_peers && i < gs->cfg.prune_peers; i++) {
        peer_id_t id;
        const PubsubPb__PeerInfo *pi = pr->peers[i];
        if (peer_id_from_bytes(&id, pi->peerid.data, pi->peerid.len) == 0 &&
            !peer_id_equal(&id, &gs->self))
            gs->env.px(gs->env.ctx, &id, pi->signedpeerrecord.data, pi->signedpeerrecord.len);
    }
}

static void
on_ihave(gossipsub_t *gs, uint64_t now_ms, gs_peer_t *p, const PubsubPb__ControlIHave *ih)
{
    const gs_topic_t *t = gs_topic_find(gs, ih->topicid.data, ih->topicid.len);
    if (!t || !t->subscribed || ++p->ihaves > gs->cfg.max_ihave_messages)
        return;
    gs_msgid_t *want = ls_calloc(ih->n_messageids + 1, sizeof *want);
    size_t n = 0;
    for (size_t i = 0; i < ih->n_messageids && p->asked < gs->cfg.max_ihave_length; i++) {
        gs_msgid_t id;
        if (!gs_msgid_set(&id, ih->messageids[i].data, ih->messageids[i].len) ||
            gs_seen_get(gs, &id))
            continue;
        want[n++] = id;
        p->asked++;
    }
    if (n) {
        gs_out_iwant(gs, p, want, n);
        gs_promise_add(gs, &p->id, &want[gs_random(gs, (uint32_t)n)],
                       now_ms + gs->cfg.iwant_followup_ms);
    }
    free(want);
}

static void
on_iwant(gossipsub_t *gs, gs_peer_t *p, const PubsubPb__ControlIWant *iw)
{
    for (size_t i = 0; i < iw->n_messageids; i++) {
        gs_msgid_t id;
        const gs_cached_t *c;
        if (gs_msgid_set(&id, iw->messageids[i].data, iw->messageids[i].len) &&
            (c = gs_mcache_get_for_peer(gs, &id, &p->id))) {
            gs_out_message(gs, p, c->msg, c->len);
            gs->stats.iwant_served++;
        }
    }
}

static void
on_control(gossipsub_t *gs, uint64_t now_ms, gs_peer_t *p, const PubsubPb__ControlMessage *c)
{
    bool gossip_ok = score_get(gs->score, now_ms, &p->id) >= gs->cfg.thresholds.gossip;

    for (size_t i = 0; i < c->n_idontwant; i++)
        gs_dontwant_add(gs, p, c->idontwant[i]);
    for (size_t i = 0; i < c->n_graft; i++)
        on_graft(gs, now_ms, p, c->graft[i]);
    for (size_t i = 0; i < c->n_prune; i++)
        on_prune(gs, now_ms, p, c->prune[i]);
    for (size_t i = 0; gossip_ok && i < c->n_ihave; i++)
        on_ihave(gs, now_ms, p, c->ihave[i]);
    for (size_t i = 0; gossip_ok && i < c->n_iwant; i++)
        on_iwant(gs, p, c->iwant[i]);
}

int
gs_input(gossipsub_t *gs, uint64_t now_ms, gs_peer_t *p, const uint8_t *rpc, size_t len)
{
    PubsubPb__RPC *r;

    if (score_get(gs->score, now_ms, &p->id) < gs->cfg.thresholds.graylist) {
        gs->stats.graylisted_rpcs++;
        return 0; /* graylisted: dropped whole, before decoding */
    }
    int rc = pubsub_rpc_decode(rpc, len, &gs->cfg.limits, &r);
    if (rc < 0)
        return rc;
    on_subscriptions(gs, now_ms, p, r);
    for (size_t i = 0; i < r->n_publish; i++)
        on_message(gs, now_ms, p, r->publish[i]);
    if (r->control && p->proto != GOSSIPSUB_FLOODSUB)
        on_control(gs, now_ms, p, r->control);
    pubsub_rpc_free(r);
    return 0;
}
