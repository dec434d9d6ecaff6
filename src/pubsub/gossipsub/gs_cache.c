/* gs_cache — the seen cache (IDs for seen_ttl, gossipsub-v1.0.md "Message Processing"),
 * the message cache (history_length windows shifted each heartbeat, the newest
 * history_gossip of which are gossiped; "Message Cache") and IWANT promises
 * (gossipsub-v1.1.md: a peer that advertised a message and does not deliver it when
 * asked earns a behaviour penalty). */
#include <stdlib.h>
#include <string.h>

#include "pubsub/gossipsub/gs_internal.h"

bool
gs_seen_add(gossipsub_t *gs, uint64_t now_ms, const gs_msgid_t *id)
{
    if (gs_idmap_get(gs->seen, id))
        return false;
    gs_seen_t *s = ls_calloc(1, sizeof *s);
    s->id = *id;
    s->first_ms = now_ms;
    gs_idmap_put(gs->seen, s);
    if (gs->seen_tail)
        gs->seen_tail->next = s;
    else
        gs->seen_head = s;
    gs->seen_tail = s;
    return true;
}

const gs_seen_t *
gs_seen_get(const gossipsub_t *gs, const gs_msgid_t *id)
{
    return gs_idmap_get(gs->seen, id);
}

void
gs_seen_expire(gossipsub_t *gs, uint64_t now_ms)
{
    while (gs->seen_head && gs->seen_head->first_ms + gs->cfg.seen_ttl_ms <= now_ms) {
        gs_seen_t *s = gs->seen_head;
        gs->seen_head = s->next;
        if (!gs->seen_head)
            gs->seen_tail = NULL;
        gs_idmap_remove(gs->seen, &s->id);
        free(s);
    }
}

void
gs_mcache_put(gossipsub_t *gs, const gs_msgid_t *id, uint32_t topic, const uint8_t *msg, size_t len)
{
    if (gs_idmap_get(gs->mcache, id))
        return;
    gs_cached_t *c = ls_calloc(1, sizeof *c);
    c->id = *id;
    c->topic = topic;
    c->msg = ls_memdup(msg, len);
    c->len = len;
    gs_idmap_put(gs->mcache, c);
    gs->topics[topic].refs++;
    gs_window_t *w = &gs->windows[0];
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 16;
        w->v = ls_realloc(w->v, w->cap * sizeof *w->v);
    }
    w->v[w->n++] = c;
}

const gs_cached_t *
gs_mcache_get(const gossipsub_t *gs, const gs_msgid_t *id)
{
    return gs_idmap_get(gs->mcache, id);
}

const gs_cached_t *
gs_mcache_get_for_peer(gossipsub_t *gs, const gs_msgid_t *id, const peer_id_t *peer)
{
    gs_cached_t *c = gs_idmap_get(gs->mcache, id);
    if (!c)
        return NULL;
    for (uint32_t i = 0; i < c->n_tx; i++)
        if (peer_id_equal(&c->tx[i].peer, peer)) {
            if (c->tx[i].count >= gs->cfg.gossip_retransmission) {
                gs->stats.iwant_over_retransmission++;
                return NULL;
            }
            c->tx[i].count++;
            return c;
        }
    if (gs->cfg.gossip_retransmission == 0) {
        gs->stats.iwant_over_retransmission++;
        return NULL;
    }
    if (c->n_tx < GS_MAX_TX) {
        if ((c->n_tx & (c->n_tx - 1)) == 0) /* 0, 1, 2, 4...: grow by doubling */
            c->tx = ls_realloc(c->tx, (c->n_tx ? 2 * c->n_tx : 1) * sizeof *c->tx);
        c->tx[c->n_tx++] = (gs_tx_t){*peer, 1};
    }
    return c;
}

static void
cached_free(gs_cached_t *c)
{
    free(c->msg);
    free(c->tx);
    free(c);
}

void
gs_mcache_shift(gossipsub_t *gs)
{
    size_t last = gs->cfg.history_length - 1;
    gs_window_t old = gs->windows[last];

    for (size_t i = 0; i < old.n; i++) {
        gs_idmap_remove(gs->mcache, &old.v[i]->id);
        gs->topics[old.v[i]->topic].refs--;
        cached_free(old.v[i]);
    }
    memmove(&gs->windows[1], &gs->windows[0], last * sizeof *gs->windows);
    old.n = 0;
    gs->windows[0] = old; /* reuse the array */
}

size_t
gs_mcache_gossip_ids(const gossipsub_t *gs, uint32_t topic, gs_msgid_t **ids)
{
    size_t n = 0, total = 0;
    for (size_t w = 0; w < gs->cfg.history_gossip; w++)
        total += gs->windows[w].n;
    *ids = ls_calloc(total + 1, sizeof **ids);
    for (size_t w = 0; w < gs->cfg.history_gossip; w++)
        for (size_t i = 0; i < gs->windows[w].n; i++)
            if (gs->windows[w].v[i]->topic == topic)
                (*ids)[n++] = gs->windows[w].v[i]->id;
    return n;
}

void
gs_cache_free(gossipsub_t *gs)
{
    while (gs->seen_head) {
        gs_seen_t *s = gs->seen_head;
        gs->seen_head = s->next;
        free(s);
    }
    for (size_t w = 0; w < gs->cfg.history_length; w++) {
        for (size_t i = 0; i < gs->windows[w].n; i++)
            cached_free(gs->windows[w].v[i]);
        free(gs->windows[w].v);
    }
    free(gs->windows);
    gs_idmap_free(gs->seen);
    gs_idmap_free(gs->mcache);
    free(gs->promises);
}

void
gs_promise_add(gossipsub_t *gs, const peer_id_t *peer, const gs_msgid_t *id, uint64_t deadline_ms)
{
    if (gs->n_promises >= GS_MAX_PROMISES)
        return; /* bounded: beyond this promises are simply not tracked */
    if (!gs->promises)
        gs->promises = ls_calloc(GS_MAX_PROMISES, sizeof *gs->promises);
    gs->promises[gs->n_promises++] = (gs_promise_t){*id, *peer, deadline_ms};
}

void
gs_promises_check(gossipsub_t *gs, uint64_t now_ms)
{
    size_t kept = 0;
    for (size_t i = 0; i < gs->n_promises; i++) {
        gs_promise_t *pr = &gs->promises[i];
        if (gs_mcache_get(gs, &pr->id))
            continue; /* delivered (by anyone): kept */
        if (now_ms < pr->deadline_ms) {
            gs->promises[kept++] = *pr;
            continue;
        }
        if (!gs_seen_get(gs, &pr->id))
            score_add_penalty(gs->score, &pr->peer, 1.0);
    }
    gs->n_promises = kept;
}
