/* gossipsub — lifecycle, peers, topics, subscriptions, publishing and forwarding
 * (contract in gossipsub.h). */
#define LOG_MODULE "gossipsub"
#include "pubsub/gossipsub/gossipsub.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crypto/random.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "pubsub/gossipsub/gs_internal.h"
#include "pubsub/rpc/pubsub_msg.h"

int
gossipsub_proto_from_id(const char *id)
{
    if (strcmp(id, GOSSIPSUB_ID_12) == 0)
        return GOSSIPSUB_V12;
    if (strcmp(id, GOSSIPSUB_ID_11) == 0)
        return GOSSIPSUB_V11;
    if (strcmp(id, GOSSIPSUB_ID_10) == 0)
        return GOSSIPSUB_V10;
    if (strcmp(id, FLOODSUB_ID) == 0)
        return GOSSIPSUB_FLOODSUB;
    return -1;
}

void
gossipsub_config_default(gossipsub_config_t *c)
{
    memset(c, 0, sizeof *c);
    c->d = 6;
    c->d_lo = 4;
    c->d_hi = 12;
    c->d_lazy = 6;
    c->d_score = 4;
    c->d_out = 2;
    c->heartbeat_ms = 1000;
    c->fanout_ttl_ms = 60000;
    c->seen_ttl_ms = 120000;
    c->history_length = 5;
    c->history_gossip = 3;
    c->gossip_factor = 0.25;
    c->prune_backoff_ms = 60000;
    c->unsubscribe_backoff_ms = 10000;
    c->graft_flood_ms = 10000;
    c->prune_peers = 16;
    c->max_ihave_length = 5000;
    c->max_ihave_messages = 10;
    c->iwant_followup_ms = 3000;
    c->gossip_retransmission = 3;
    c->opportunistic_graft_ticks = 60;
    c->opportunistic_graft_peers = 2;
    c->flood_publish = true;
    c->hop_limit = 32;
    c->max_topics = 4096;
    c->max_peer_topics = 128;
    score_params_default(&c->score);
    score_thresholds_default(&c->thresholds);
    score_topic_params_default(&c->topic_score);
    pubsub_rpc_limits_default(&c->limits);
}

/* Fix up an inconsistent configuration (a caller's bug, logged). */
static void
sanitize(gossipsub_config_t *c)
{
    gossipsub_config_t d;
    gossipsub_config_default(&d);
    bool bad =
        !(c->d_lo <= c->d && c->d <= c->d_hi && c->d_lo > 0 && c->d_score <= c->d &&
          c->d_out < c->d_lo && c->heartbeat_ms > 0 && c->history_length > 0 &&
          c->history_gossip <= c->history_length && c->max_topics > 0 &&
          score_thresholds_valid(&c->thresholds) && score_topic_params_valid(&c->topic_score));
    if (bad) {
        log_error("invalid gossipsub configuration: using the defaults");
        *c = d;
    }
}

gossipsub_t *
gossipsub_new(const gossipsub_config_t *cfg, const gossipsub_env_t *env,
              const ed25519_keypair_t *kp, uint64_t now_ms)
{
    gossipsub_t *gs = ls_calloc(1, sizeof *gs);
    gs->cfg = *cfg;
    sanitize(&gs->cfg);
    gs->env = *env;
    gs->kp = *kp;
    peer_id_from_ed25519(&gs->self, kp->pk);
    /* seqno: a counter from a random start, so a restarted node does not reuse IDs
     * (the clock we are given may be monotonic, not wall time) */
    gs->seqno = random_u64() >> 1;
    gs->peers = peermap_new(offsetof(gs_peer_t, id));
    score_env_t senv = {env->ctx, env->app_score};
    gs->score = score_new(&gs->cfg.score, &senv, now_ms);
    gs->seen = gs_idmap_new(offsetof(gs_seen_t, id));
    gs->mcache = gs_idmap_new(offsetof(gs_cached_t, id));
    gs->pending = gs_idmap_new(offsetof(gs_pending_t, id));
    gs->windows = ls_calloc(gs->cfg.history_length, sizeof *gs->windows);
    gs->next_heartbeat_ms = now_ms + gs->cfg.heartbeat_ms;
    return gs;
}

static void
peer_free(gs_peer_t *p)
{
    free(p->topics);
    free(p->backoff);
    gs_dontwant_free(p);
    buf_free(&p->out_pub);
    buf_free(&p->out_ctl);
    free(p);
}

void
gossipsub_free_(gossipsub_t *gs)
{
    if (!gs)
        return;
    for (size_t i = 0; i < gs->peer_order.n; i++)
        peer_free(peermap_remove(gs->peers, &gs->peer_order.v[i]));
    peermap_free(gs->peers);
    gs_pset_free(&gs->peer_order);
    gs_pset_free(&gs->dirty);
    for (size_t i = 0; i < gs->n_topics; i++) {
        free(gs->topics[i].name);
        gs_pset_free(&gs->topics[i].peers);
        gs_pset_free(&gs->topics[i].mesh);
        gs_pset_free(&gs->topics[i].fanout);
    }
    free(gs->topics);
    gs_cache_free(gs);
    gs_pending_free_all(gs);
    score_free(gs->score);
    sodium_memzero(&gs->kp, sizeof gs->kp);
    free(gs);
}

uint32_t
gs_random(gossipsub_t *gs, uint32_t bound)
{
    if (bound <= 1)
        return 0;
    return gs->env.random ? gs->env.random(gs->env.ctx, bound) : random_uniform(bound);
}

void
gs_shuffle(gossipsub_t *gs, peer_id_t *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = gs_random(gs, (uint32_t)i);
        peer_id_t tmp = v[i - 1];
        v[i - 1] = v[j];
        v[j] = tmp;
    }
}

gs_topic_t *
gs_topic_find(const gossipsub_t *gs, const uint8_t *name, size_t len)
{
    for (size_t i = 0; i < gs->n_topics; i++)
        if (gs->topics[i].len == len && memcmp(gs->topics[i].name, name, len) == 0)
            return &gs->topics[i];
    return NULL;
}

/* Nothing refers to `t` by index or needs it: its slot may take another topic. */
static bool
topic_is_idle(const gs_topic_t *t)
{
    return !t->subscribed && t->peers.n == 0 && t->mesh.n == 0 && t->fanout.n == 0 &&
           t->fanout_last_ms == 0 && t->refs == 0;
}

static void
topic_clear(gs_topic_t *t)
{
    free(t->name);
    gs_pset_free(&t->peers);
    gs_pset_free(&t->mesh);
    gs_pset_free(&t->fanout);
}

int
gs_topic_index(gossipsub_t *gs, const uint8_t *name, size_t len, size_t reserve)
{
    gs_topic_t *t = gs_topic_find(gs, name, len);
    if (t)
        return (int)(t - gs->topics);
    if (gs->n_topics + reserve >= gs->cfg.max_topics) {
        for (size_t i = 0; i < gs->n_topics && !t; i++)
            if (topic_is_idle(&gs->topics[i]))
                t = &gs->topics[i];
        if (!t)
            return -1;
        topic_clear(t);
        gs->stats.topics_reclaimed++;
    } else {
        gs->topics = ls_realloc(gs->topics, (gs->n_topics + 1) * sizeof *gs->topics);
        t = &gs->topics[gs->n_topics++];
    }
    memset(t, 0, sizeof *t);
    t->name = ls_memdup(name, len);
    t->len = len;
    return (int)(t - gs->topics);
}

bool
gs_peer_has_topic(const gs_peer_t *p, uint32_t topic)
{
    for (size_t i = 0; i < p->n_topics; i++)
        if (p->topics[i] == topic)
            return true;
    return false;
}

bool
gs_in_backoff(const gs_peer_t *p, uint32_t topic, uint64_t now_ms)
{
    for (size_t i = 0; i < p->n_backoff; i++)
        if (p->backoff[i].topic == topic && now_ms < p->backoff[i].until_ms)
            return true;
    return false;
}

void
gs_set_backoff(gossipsub_t *gs, gs_peer_t *p, uint32_t topic, uint64_t now_ms, uint64_t ms)
{
    for (size_t i = 0; i < p->n_backoff; i++) {
        if (p->backoff[i].topic == topic) {
            if (now_ms + ms > p->backoff[i].until_ms)
                p->backoff[i].until_ms = now_ms + ms;
            p->backoff[i].since_ms = now_ms;
            return;
        }
    }
    p->backoff = ls_realloc(p->backoff, (p->n_backoff + 1) * sizeof *p->backoff);
    p->backoff[p->n_backoff++] = (gs_backoff_t){topic, now_ms + ms, now_ms};
    gs->topics[topic].refs++;
}

void
gs_backoff_drop(gossipsub_t *gs, gs_peer_t *p, size_t i)
{
    gs->topics[p->backoff[i].topic].refs--;
    p->backoff[i] = p->backoff[--p->n_backoff];
}

void
gossipsub_add_peer(gossipsub_t *gs, uint64_t now_ms, const peer_id_t *peer, gossipsub_proto_t proto,
                   bool outbound, const char *ip)
{
    gs_peer_t *p = peermap_get(gs->peers, peer);
    if (p) {
        p->proto = proto;
        return;
    }
    p = ls_calloc(1, sizeof *p);
    p->id = *peer;
    p->proto = proto;
    p->outbound = outbound;
    buf_init(&p->out_pub, BUF_UNLIMITED);
    buf_init(&p->out_ctl, BUF_UNLIMITED);
    peermap_put(gs->peers, p);
    gs_pset_add(&gs->peer_order, peer);
    score_add_peer(gs->score, now_ms, peer, ip);
    for (size_t i = 0; i < gs->n_topics; i++)
        if (gs->topics[i].subscribed)
            gs_out_subscription(gs, p, &gs->topics[i], true);
    gs_flush(gs);
}

/* `p` no longer subscribes to topic `ti`: out of its peers, mesh and fanout. */
void
gs_peer_unsubscribed(gossipsub_t *gs, uint64_t now_ms, gs_peer_t *p, uint32_t ti)
{
    gs_topic_t *t = &gs->topics[ti];
    gs_pset_remove(&t->peers, &p->id);
    gs_pset_remove(&t->fanout, &p->id);
    if (gs_pset_remove(&t->mesh, &p->id))
        score_prune(gs->score, now_ms, &p->id, t->name, t->len);
    for (size_t i = 0; i < p->n_topics; i++) {
        if (p->topics[i] == ti) {
            p->topics[i] = p->topics[--p->n_topics];
            break;
        }
    }
}

void
gossipsub_remove_peer(gossipsub_t *gs, uint64_t now_ms, const peer_id_t *peer)
{
    gs_peer_t *p = peermap_remove(gs->peers, peer);
    if (!p)
        return;
    while (p->n_topics)
        gs_peer_unsubscribed(gs, now_ms, p, p->topics[0]);
    while (p->n_backoff)
        gs_backoff_drop(gs, p, 0);
    score_remove_peer(gs->score, now_ms, peer);
    gs_pset_remove(&gs->peer_order, peer);
    gs_pset_remove(&gs->dirty, peer);
    peer_free(p);
}

int
gossipsub_input(gossipsub_t *gs, uint64_t now_ms, const peer_id_t *from, const uint8_t *rpc,
                size_t len)
{
    gs_peer_t *p = peermap_get(gs->peers, from);
    if (!p)
        return 0;
    int rc = gs_input(gs, now_ms, p, rpc, len);
    gs_flush(gs);
    return rc;
}

int
gossipsub_subscribe(gossipsub_t *gs, uint64_t now_ms, const uint8_t *topic, size_t len)
{
    if (!pubsub_topic_is_valid(topic, len, &gs->cfg.limits))
        return LS_EINVAL;
    int ti = gs_topic_index(gs, topic, len, 0);
    if (ti < 0)
        return LS_ELIMIT;
    gs_topic_t *t = &gs->topics[ti];
    if (t->subscribed)
        return 0;
    t->subscribed = true;
    score_set_topic(gs->score, topic, len, &gs->cfg.topic_score);
    for (size_t i = 0; i < gs->peer_order.n; i++)
        gs_out_subscription(gs, peermap_get(gs->peers, &gs->peer_order.v[i]), t, true);
    /* the mesh starts from the fanout peers, then any eligible peers */
    for (size_t i = 0; i < t->fanout.n && t->mesh.n < gs->cfg.d; i++) {
        gs_peer_t *p = peermap_get(gs->peers, &t->fanout.v[i]);
        if (p && score_get(gs->score, now_ms, &p->id) >= 0 &&
            !gs_in_backoff(p, (uint32_t)ti, now_ms) && gs_pset_add(&t->mesh, &p->id)) {
            score_graft(gs->score, now_ms, &p->id, topic, len);
            gs_out_graft(gs, p, t);
        }
    }
    gs_pset_free(&t->fanout);
    t->fanout_last_ms = 0;
    if (t->mesh.n < gs->cfg.d)
        gs_graft_peers(gs, now_ms, (uint32_t)ti, gs->cfg.d - t->mesh.n, false);
    gs_flush(gs);
    return 0;
}

int
gossipsub_unsubscribe(gossipsub_t *gs, uint64_t now_ms, const uint8_t *topic, size_t len)
{
    gs_topic_t *t = gs_topic_find(gs, topic, len);
    if (!t || !t->subscribed)
        return LS_ENOENT;
    uint32_t ti = (uint32_t)(t - gs->topics);
    t->subscribed = false;
    for (size_t i = 0; i < gs->peer_order.n; i++)
        gs_out_subscription(gs, peermap_get(gs->peers, &gs->peer_order.v[i]), t, false);
    for (size_t i = 0; i < t->mesh.n; i++) {
        gs_peer_t *p = peermap_get(gs->peers, &t->mesh.v[i]);
        score_prune(gs->score, now_ms, &t->mesh.v[i], topic, len);
        if (p)
            gs_out_prune(gs, now_ms, p, ti, true, gs->cfg.unsubscribe_backoff_ms);
    }
    gs_pset_free(&t->mesh);
    gs_flush(gs);
    return 0;
}

void
gossipsub_stats(const gossipsub_t *gs, gossipsub_stats_t *out)
{
    *out = gs->stats;
}

gossipsub_class_t
gossipsub_topic_class(const uint8_t *topic, size_t len)
{
    return pubsub_topic_is_lester(topic, len) ? GOSSIPSUB_CLASS_LESTER : GOSSIPSUB_CLASS_OTHER;
}
