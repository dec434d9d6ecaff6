/* gs_heartbeat — the periodic work of gossipsub-v1.0.md "Heartbeat" and
 * gossipsub-v1.1.md: mesh maintenance (negative scores out, D_lo..D_hi with D_score
 * kept by score and D_out outbound, opportunistic grafting), fanout upkeep, IHAVE
 * gossip, cache shifts, promise checks and score decay. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pubsub/gossipsub/gs_internal.h"

/* Graft up to `n` of topic `ti`'s peers that are mesh-capable, not in the mesh or in
 * backoff, and score >= 0 and > `above` (outbound ones only if `outbound_only`). */
static size_t
graft_select(gossipsub_t *gs, uint64_t now_ms, uint32_t ti, size_t n, bool outbound_only,
             double above)
{
    gs_topic_t *t = &gs->topics[ti];
    peer_id_t *cand = ls_calloc(t->peers.n + 1, sizeof *cand);
    size_t nc = 0, done = 0;

    for (size_t i = 0; i < t->peers.n; i++) {
        const gs_peer_t *p = peermap_get(gs->peers, &t->peers.v[i]);
        double s = p ? score_get(gs->score, now_ms, &p->id) : -1;
        if (p && p->proto != GOSSIPSUB_FLOODSUB && !gs_pset_has(&t->mesh, &p->id) &&
            !gs_in_backoff(p, ti, now_ms) && s >= 0 && s > above && (!outbound_only || p->outbound))
            cand[nc++] = p->id;
    }
    gs_shuffle(gs, cand, nc);
    for (size_t i = 0; i < nc && done < n; i++, done++) {
        gs_peer_t *p = peermap_get(gs->peers, &cand[i]);
        gs_pset_add(&t->mesh, &p->id);
        score_graft(gs->score, now_ms, &p->id, t->name, t->len);
        gs_out_graft(gs, p, t);
    }
    free(cand);
    return done;
}

size_t
gs_graft_peers(gossipsub_t *gs, uint64_t now_ms, uint32_t ti, size_t n, bool outbound_only)
{
    return graft_select(gs, now_ms, ti, n, outbound_only, -INFINITY);
}

static void
prune_peer(gossipsub_t *gs, uint64_t now_ms, uint32_t ti, const peer_id_t *id, bool px)
{
    gs_topic_t *t = &gs->topics[ti];
    gs_peer_t *p = peermap_get(gs->peers, id);
    gs_pset_remove(&t->mesh, id);
    score_prune(gs->score, now_ms, id, t->name, t->len);
    if (p)
        gs_out_prune(gs, now_ms, p, ti, px, gs->cfg.prune_backoff_ms);
}

typedef struct scored_t {
    peer_id_t id;
    double score;
    bool outbound;
} scored_t;

static int
by_score_desc(const void *a, const void *b)
{
    const scored_t *x = a, *y = b;
    return x->score > y->score ? -1 : x->score < y->score ? 1 : 0;
}

/* Snapshot of the mesh of `t` with scores, shuffled then sorted (ties random). */
static scored_t *
scored_mesh(gossipsub_t *gs, uint64_t now_ms, const gs_topic_t *t)
{
    scored_t *v = ls_calloc(t->mesh.n + 1, sizeof *v);
    peer_id_t *ids = ls_memdup(t->mesh.v, t->mesh.n * sizeof *ids);
    gs_shuffle(gs, ids, t->mesh.n);
    for (size_t i = 0; i < t->mesh.n; i++) {
        const gs_peer_t *p = peermap_get(gs->peers, &ids[i]);
        v[i] = (scored_t){ids[i], score_get(gs->score, now_ms, &ids[i]), p && p->outbound};
    }
    free(ids);
    qsort(v, t->mesh.n, sizeof *v, by_score_desc); /* qsort is not stable, ties stay mixed */
    return v;
}

/* Above D_hi: keep the D_score best and random others up to D, at least D_out of them
 * outbound; prune the rest with PX. */
static void
shrink_mesh(gossipsub_t *gs, uint64_t now_ms, uint32_t ti)
{
    gs_topic_t *t = &gs->topics[ti];
    size_t n = t->mesh.n, d = gs->cfg.d, out = 0;
    scored_t *v = scored_mesh(gs, now_ms, t);

    /* the tail past D_score competes at random */
    for (size_t i = n; i > gs->cfg.d_score + 1; i--) {
        size_t j = gs->cfg.d_score + gs_random(gs, (uint32_t)(i - gs->cfg.d_score));
        scored_t tmp = v[i - 1];
        v[i - 1] = v[j];
        v[j] = tmp;
    }
    for (size_t i = 0; i < d; i++)
        out += v[i].outbound;
    /* swap outbound peers from the pruned part in for inbound ones at the end */
    for (size_t i = d; i < n && out < gs->cfg.d_out; i++) {
        if (!v[i].outbound)
            continue;
        for (size_t j = d; j-- > gs->cfg.d_score;) {
            if (!v[j].outbound) {
                scored_t tmp = v[j];
                v[j] = v[i];
                v[i] = tmp;
                out++;
                break;
            }
        }
    }
    for (size_t i = d; i < n; i++)
        prune_peer(gs, now_ms, ti, &v[i].id, true);
    free(v);
}

/* gossipsub-v1.1.md "Opportunistic Grafting": if the median mesh score is below the
 * threshold, graft a few peers scoring above the median. */
static void
opportunistic_graft(gossipsub_t *gs, uint64_t now_ms, uint32_t ti)
{
    gs_topic_t *t = &gs->topics[ti];
    if (t->mesh.n < 2)
        return;
    scored_t *v = scored_mesh(gs, now_ms, t);
    double median = v[t->mesh.n / 2].score;
    free(v);
    if (median < gs->cfg.thresholds.opportunistic_graft)
        graft_select(gs, now_ms, ti, gs->cfg.opportunistic_graft_peers, false, median);
}

static void
maintain_mesh(gossipsub_t *gs, uint64_t now_ms, uint32_t ti)
{
    gs_topic_t *t = &gs->topics[ti];

    for (size_t i = t->mesh.n; i-- > 0;) {
        peer_id_t id = t->mesh.v[i];
        if (score_get(gs->score, now_ms, &id) < 0)
            prune_peer(gs, now_ms, ti, &id, false);
    }
    if (t->mesh.n < gs->cfg.d_lo)
        gs_graft_peers(gs, now_ms, ti, gs->cfg.d - t->mesh.n, false);
    if (t->mesh.n > gs->cfg.d_hi)
        shrink_mesh(gs, now_ms, ti);
    if (t->mesh.n >= gs->cfg.d_lo) {
        size_t out = 0;
        for (size_t i = 0; i < t->mesh.n; i++) {
            const gs_peer_t *p = peermap_get(gs->peers, &t->mesh.v[i]);
            out += p && p->outbound;
        }
        if (out < gs->cfg.d_out)
            gs_graft_peers(gs, now_ms, ti, gs->cfg.d_out - out, true);
    }
    if (gs->cfg.opportunistic_graft_ticks &&
        gs->heartbeats % gs->cfg.opportunistic_graft_ticks == 0)
        opportunistic_graft(gs, now_ms, ti);
}

static void
maintain_fanout(gossipsub_t *gs, uint64_t now_ms, uint32_t ti)
{
    gs_topic_t *t = &gs->topics[ti];
    if (now_ms - t->fanout_last_ms > gs->cfg.fanout_ttl_ms) {
        gs_pset_free(&t->fanout);
        t->fanout_last_ms = 0;
        return;
    }
    for (size_t i = t->fanout.n; i-- > 0;)
        if (score_get(gs->score, now_ms, &t->fanout.v[i]) < gs->cfg.thresholds.publish)
            gs_pset_remove(&t->fanout, &t->fanout.v[i]);
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
}

/* IHAVE for the recent messages of topic `ti` to D_lazy (or gossip_factor of the
 * eligible) peers outside its mesh and fanout. */
static void
emit_gossip(gossipsub_t *gs, uint64_t now_ms, uint32_t ti)
{
    gs_topic_t *t = &gs->topics[ti];
    gs_msgid_t *ids;
    size_t n_ids = gs_mcache_gossip_ids(gs, ti, &ids);
    peer_id_t *cand = ls_calloc(t->peers.n + 1, sizeof *cand);
    size_t n = 0;

    for (size_t i = 0; n_ids && i < t->peers.n; i++) {
        const gs_peer_t *p = peermap_get(gs->peers, &t->peers.v[i]);
        if (p && p->proto != GOSSIPSUB_FLOODSUB && !gs_pset_has(&t->mesh, &p->id) &&
            !gs_pset_has(&t->fanout, &p->id) &&
            score_get(gs->score, now_ms, &p->id) >= gs->cfg.thresholds.gossip)
            cand[n++] = p->id;
    }
    size_t target = (size_t)(gs->cfg.gossip_factor * (double)n);
    if (target < gs->cfg.d_lazy)
        target = gs->cfg.d_lazy;
    gs_shuffle(gs, cand, n);
    size_t send = n_ids < gs->cfg.max_ihave_length ? n_ids : gs->cfg.max_ihave_length;
    for (size_t i = 0; i < n && i < target; i++) {
        if (n_ids > send) { /* a different random subset for each peer */
            for (size_t k = n_ids; k > 1; k--) {
                size_t j = gs_random(gs, (uint32_t)k);
                gs_msgid_t tmp = ids[k - 1];
                ids[k - 1] = ids[j];
                ids[j] = tmp;
            }
        }
        gs_out_ihave(gs, peermap_get(gs->peers, &cand[i]), t, ids, send);
    }
    free(cand);
    free(ids);
}

static void
expire_backoff(gossipsub_t *gs, uint64_t now_ms)
{
    for (size_t i = 0; i < gs->peer_order.n; i++) {
        gs_peer_t *p = peermap_get(gs->peers, &gs->peer_order.v[i]);
        for (size_t j = 0; j < p->n_backoff;) {
            if (now_ms < p->backoff[j].until_ms + 2 * gs->cfg.heartbeat_ms)
                j++;
            else
                gs_backoff_drop(gs, p, j);
        }
        p->ihaves = 0;
        p->asked = 0;
        gs_dontwant_expire(gs, p);
    }
}

void
gs_heartbeat(gossipsub_t *gs, uint64_t now_ms)
{
    gs->heartbeats++;
    gs_promises_check(gs, now_ms);
    expire_backoff(gs, now_ms);
    for (uint32_t ti = 0; ti < gs->n_topics; ti++) {
        if (gs->topics[ti].subscribed)
            maintain_mesh(gs, now_ms, ti);
        else if (gs->topics[ti].fanout_last_ms)
            maintain_fanout(gs, now_ms, ti);
    }
    for (uint32_t ti = 0; ti < gs->n_topics; ti++)
        if (gs->topics[ti].subscribed || gs->topics[ti].fanout_last_ms)
            emit_gossip(gs, now_ms, ti);
    gs_mcache_shift(gs);
    gs_seen_expire(gs, now_ms);
    score_tick(gs->score, now_ms);
}
