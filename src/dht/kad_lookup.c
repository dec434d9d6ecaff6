/* kad_lookup — iterative lookups (libp2p/specs kad-dht, "Peer routing", "Value
 * retrieval", "Content provider discovery"; Kademlia section 2.3).
 *
 * Candidates are kept sorted by XOR distance (at most 3k). Up to alpha requests are
 * in flight, always to the closest not yet asked among the k closest candidates that
 * have not failed; the lookup has converged when all of those k have answered. A
 * candidate's hop is one more than that of the peer that told us about it (peers of
 * our own table are hop 1). put/provide then store at the k closest that answered.
 *
 * Trust (seed 001, issue 5; kad_env_t.trust): candidates below cfg.min_trust are
 * never added. Among the not yet asked, those sharing the nearest one's common
 * prefix with the target are equally useful — each halves the distance as much as
 * the others — so the highest-trust of them is asked first. Since convergence asks
 * all of the k closest anyway, this changes whom a lookup relies on early (and which
 * answers settle find_peer/get_value), never which peers it ends with. */
#include "dht/kad_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "lib/err/err.h"

lookup_t *
kad_lookup_new(lookup_kind_t kind, const uint8_t *key, size_t klen, kad_done_fn cb, void *arg)
{
    lookup_t *lk = ls_calloc(1, sizeof *lk);
    lk->kind = kind;
    lk->key = ls_memdup(key, klen);
    lk->klen = klen;
    kad_key_from_bytes(&lk->target, key, klen);
    lk->cb = cb;
    lk->arg = arg;
    lk->quorum = 1;
    return lk;
}

static void
owned_clear(owned_peer_t *p)
{
    free(p->addrs);
    free(p->meta);
}

void
kad_lookup_free(lookup_t *lk)
{
    if (!lk)
        return;
    for (size_t i = 0; i < lk->ncands; i++)
        free(lk->cands[i].addrs);
    for (size_t i = 0; i < lk->nvalues; i++)
        free((void *)lk->values[i].p);
    for (size_t i = 0; i < lk->nfound; i++)
        owned_clear(&lk->found[i]);
    free(lk->cands);
    free(lk->values);
    free(lk->found);
    free(lk->payload);
    free(lk->key);
    free(lk);
}

static lookup_t *
lookup_find(const kad_t *kad, uint64_t id, size_t *index)
{
    for (size_t i = 0; i < kad->nlookups; i++)
        if (kad->lookups[i]->id == id) {
            if (index)
                *index = i;
            return kad->lookups[i];
        }
    return NULL;
}

/* ---- trust ---- */

double
kad_peer_trust(const kad_t *kad, const peer_id_t *id)
{
    return kad->env.trust ? kad->env.trust(kad->env.ctx, id) : 1.0;
}

bool
kad_peer_trusted(const kad_t *kad, const peer_id_t *id)
{
    return !kad->env.trust || kad->cfg.min_trust <= 0.0 ||
           kad_peer_trust(kad, id) >= kad->cfg.min_trust;
}

/* ---- candidates ---- */

/* First index whose candidate is not closer to the target than `key` (binary
 * search: candidates are sorted by distance). */
static size_t
cand_pos(const lookup_t *lk, const kad_key_t *key)
{
    size_t lo = 0, hi = lk->ncands;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (kad_key_cmp_dist(&lk->target, &lk->cands[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static cand_t *
cand_find(lookup_t *lk, const peer_id_t *id)
{
    kad_key_t key;
    kad_key_from_peer(&key, id);
    size_t pos = cand_pos(lk, &key);
    if (pos < lk->ncands && peer_id_equal(&lk->cands[pos].id, id))
        return &lk->cands[pos];
    return NULL;
}

static void
cand_add(kad_t *kad, lookup_t *lk, const peer_id_t *id, const uint8_t *addrs, size_t alen,
         unsigned hop)
{
    if (peer_id_equal(id, &kad->self) || !kad_peer_trusted(kad, id))
        return;
    cand_t n = {.id = *id, .hop = (uint8_t)LS_MIN(hop, 255u), .state = C_NEW, .vidx = -1};
    kad_key_from_peer(&n.key, id);
    size_t pos = cand_pos(lk, &n.key);
    if (pos < lk->ncands && peer_id_equal(&lk->cands[pos].id, id)) {
        lk->cands[pos].hop = (uint8_t)LS_MIN(lk->cands[pos].hop, n.hop);
        return;
    }
    if (pos >= lk->cap)
        return;
    if (lk->ncands == lk->cap)
        free(lk->cands[--lk->ncands].addrs); /* drop the farthest */
    if (addrs && alen && alen <= KAD_ADDRS_MAX) {
        n.addrs = ls_memdup(addrs, alen);
        n.addrs_len = (uint16_t)alen;
    }
    memmove(&lk->cands[pos + 1], &lk->cands[pos], (lk->ncands - pos) * sizeof n);
    lk->cands[pos] = n;
    lk->ncands++;
}

/* ---- completion ---- */

/* The k closest candidates that answered, as peer infos in `out`. */
static size_t
answered_peers(const kad_t *kad, const lookup_t *lk, kad_peer_info_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < lk->ncands && n < kad->cfg.routing.k; i++)
        if (lk->cands[i].state == C_ANSWERED)
            out[n++] = (kad_peer_info_t){lk->cands[i].id, lk->cands[i].addrs,
                                         lk->cands[i].addrs_len, NULL, 0};
    return n;
}

static void
fill_result(const kad_t *kad, const lookup_t *lk, int status, kad_result_t *res,
            kad_peer_info_t *tmp)
{
    *res = (kad_result_t){.status = status,
                          .hops = lk->settled_hop,
                          .messages = lk->messages,
                          .successes = lk->successes};
    if (lk->kind == LK_FIND_PEER || lk->kind == LK_GET_PROVIDERS) {
        for (size_t i = 0; i < lk->nfound; i++)
            tmp[i] = lk->found[i].info;
        res->peers = tmp;
        res->npeers = lk->nfound;
    } else if (lk->kind != LK_GET_VALUE) {
        res->npeers = answered_peers(kad, lk, tmp);
        res->peers = tmp;
    }
    if (lk->kind == LK_GET_VALUE && lk->nvalues > 0) {
        const kad_validator_t *v = kad_validator_for(kad, lk->key, lk->klen);
        size_t best = v ? v->select(v->ctx, lk->key, lk->klen, lk->values, lk->nvalues) : 0;
        res->value = lk->values[best].p;
        res->value_len = lk->values[best].len;
        res->successes = lk->nvalues;
    }
}

/* Entry correction (spec, "Value retrieval"): peers that returned a value other
 * than the best are sent the best one. Fire and forget. */
static void
correct_outdated(kad_t *kad, uint64_t now_ms, lookup_t *lk, const kad_result_t *res)
{
    for (size_t i = 0; i < lk->ncands; i++) {
        const cand_t *c = &lk->cands[i];
        if (c->vidx < 0)
            continue;
        const kadmsg_bytes_t *v = &lk->values[c->vidx];
        if (v->len == res->value_len && memcmp(v->p, res->value, v->len) == 0)
            continue;
        kadmsg_init(kad->out, KADMSG_PUT_VALUE);
        kad->out->key = (kadmsg_bytes_t){lk->key, lk->klen};
        kad->out->has_record = true;
        kad->out->record.key = kad->out->key;
        kad->out->record.value = (kadmsg_bytes_t){res->value, res->value_len};
        (void)kad_send(kad, now_ms, &c->id, c->addrs, c->addrs_len, REQ_STORE, 0, false);
        lk->messages++;
    }
}

static void
complete(kad_t *kad, lookup_t *lk, int status)
{
    size_t idx;
    if (lk->starting) {
        lk->done_due = true;
        lk->due_status = status;
        return;
    }
    if (!lookup_find(kad, lk->id, &idx))
        return;
    kad->lookups[idx] = kad->lookups[--kad->nlookups];
    size_t cap = LS_MAX(lk->nfound, kad->cfg.routing.k) + 1;
    kad_peer_info_t *tmp = ls_calloc(cap, sizeof *tmp);
    kad_result_t res;
    fill_result(kad, lk, status, &res, tmp);
    if (lk->kind == LK_GET_VALUE && res.value && kad->depth > 0)
        correct_outdated(kad, lk->now_ms, lk, &res);
    lk->cb(lk->arg, &res); /* may start lookups: lk is already out of the list */
    free(tmp);
    kad_lookup_free(lk);
}

void
kad_lookup_deliver_due(kad_t *kad, uint64_t now_ms)
{
    for (size_t i = 0; i < kad->nlookups;) {
        lookup_t *lk = kad->lookups[i];
        if (!lk->done_due) {
            i++;
            continue;
        }
        lk->now_ms = now_ms;
        complete(kad, lk, lk->due_status);
        i = 0;
    }
}

/* ---- sending ---- */

static void
build_query(kad_t *kad, const lookup_t *lk)
{
    int type = lk->kind == LK_GET_VALUE       ? KADMSG_GET_VALUE
               : lk->kind == LK_GET_PROVIDERS ? KADMSG_GET_PROVIDERS
                                              : KADMSG_FIND_NODE;
    kadmsg_init(kad->out, (kadmsg_type_t)type);
    kad->out->key = (kadmsg_bytes_t){lk->key, lk->klen};
}

/* Store phase: PUT_VALUE (answered) or ADD_PROVIDER (no answer) to the k closest. */
static void
store_at_closest(kad_t *kad, uint64_t now_ms, lookup_t *lk)
{
    lk->storing = true;
    for (size_t i = 0, n = 0; i < lk->ncands && n < kad->cfg.routing.k; i++) {
        cand_t *c = &lk->cands[i];
        if (c->state != C_ANSWERED)
            continue;
        n++;
        bool put = lk->kind == LK_PUT_VALUE;
        kadmsg_init(kad->out, put ? KADMSG_PUT_VALUE : KADMSG_ADD_PROVIDER);
        kad->out->key = (kadmsg_bytes_t){lk->key, lk->klen};
        if (put) {
            kad->out->has_record = true;
            kad->out->record.key = kad->out->key;
            kad->out->record.value = (kadmsg_bytes_t){lk->payload, lk->payload_len};
        } else {
            kadmsg_peer_t *p = &kad->out->providers[kad->out->nproviders++];
            memset(p, 0, sizeof *p);
            p->id = (kadmsg_bytes_t){kad->self.bytes, kad->self.len};
            size_t off = 0, ml;
            const uint8_t *ma;
            while (p->naddrs < KADMSG_MAX_ADDRS &&
                   (ma = kad_addrs_next(kad->self_addrs, kad->self_addrs_len, &off, &ml)))
                p->addrs[p->naddrs++] = (kadmsg_bytes_t){ma, ml};
            if (lk->payload_len)
                p->meta = (kadmsg_bytes_t){lk->payload, lk->payload_len};
        }
        int64_t rc = kad_send(kad, now_ms, &c->id, c->addrs, c->addrs_len, REQ_STORE, lk->id, put);
        lk->messages++;
        if (rc > 0 && put)
            lk->store_pending++;
        else if (rc > 0)
            lk->successes++;
    }
}

static void
converged(kad_t *kad, uint64_t now_ms, lookup_t *lk)
{
    bool any = false;
    for (size_t i = 0; i < lk->ncands && !any; i++)
        any = lk->cands[i].state == C_ANSWERED;
    switch (lk->kind) {
    case LK_PUT_VALUE:
    case LK_PROVIDE:
        if (!any)
            break;
        lk->settled_hop = lk->cands[0].hop;
        store_at_closest(kad, now_ms, lk);
        if (lk->store_pending == 0)
            complete(kad, lk, lk->successes ? 0 : LS_ETIMEDOUT);
        return;
    case LK_GET_VALUE:
        complete(kad, lk, lk->nvalues ? 0 : LS_ENOENT);
        return;
    case LK_GET_PROVIDERS:
    case LK_FIND_PEER:
        complete(kad, lk, lk->nfound ? 0 : LS_ENOENT);
        return;
    case LK_CLOSEST:
        if (any)
            lk->settled_hop = lk->cands[0].hop;
        break;
    }
    complete(kad, lk, any ? 0 : LS_ETIMEDOUT);
}

/* The next candidate to ask among the k closest that have not failed, or -1: the
 * nearest not yet asked, or an equally near one (same common prefix with the
 * target) of higher trust. Ties keep distance order. */
static ssize_t
pick_next(const kad_t *kad, const lookup_t *lk)
{
    ssize_t best = -1;
    unsigned best_cpl = 0;
    double best_trust = 0.0;
    for (size_t i = 0, seen = 0; i < lk->ncands && seen < kad->cfg.routing.k; i++) {
        const cand_t *c = &lk->cands[i];
        if (c->state == C_FAILED)
            continue;
        seen++;
        if (c->state != C_NEW)
            continue;
        unsigned cpl = kad_key_cpl(&lk->target, &c->key);
        if (best >= 0 && (cpl < best_cpl || !kad->env.trust))
            break; /* sorted by distance: the rest are farther groups */
        double trust = kad_peer_trust(kad, &c->id);
        if (best < 0 || trust > best_trust) {
            best = (ssize_t)i;
            best_cpl = cpl;
            best_trust = trust;
        }
    }
    return best;
}

/* Send what may be sent; detect convergence. */
static void
step(kad_t *kad, uint64_t now_ms, lookup_t *lk)
{
    if (lk->storing) {
        if (lk->store_pending == 0)
            complete(kad, lk, lk->successes ? 0 : LS_ETIMEDOUT);
        return;
    }
    ssize_t i;
    while (lk->inflight < kad->cfg.alpha && (i = pick_next(kad, lk)) >= 0) {
        cand_t *c = &lk->cands[i];
        build_query(kad, lk);
        if (kad_send(kad, now_ms, &c->id, c->addrs, c->addrs_len, REQ_QUERY, lk->id, true) > 0) {
            c->state = C_WAITING;
            lk->inflight++;
            lk->messages++;
        } else {
            c->state = C_FAILED;
        }
    }
    bool active = false;
    for (size_t j = 0, seen = 0; j < lk->ncands && seen < kad->cfg.routing.k; j++) {
        const cand_t *c = &lk->cands[j];
        if (c->state == C_FAILED)
            continue;
        seen++;
        active = active || c->state == C_NEW || c->state == C_WAITING;
    }
    if (!active)
        converged(kad, now_ms, lk);
}

int
kad_lookup_start(kad_t *kad, uint64_t now_ms, lookup_t *lk, const kad_peer_info_t *seeds,
                 size_t nseeds)
{
    const routing_entry_t *near[KADMSG_MAX_PEERS];
    if (kad->nlookups >= kad->cfg.max_lookups) {
        kad_lookup_free(lk);
        return LS_ELIMIT;
    }
    lk->cap = 3 * kad->cfg.routing.k;
    lk->cands = ls_calloc(lk->cap + 1, sizeof *lk->cands);
    for (size_t i = 0; i < nseeds; i++)
        cand_add(kad, lk, &seeds[i].id, seeds[i].addrs, seeds[i].addrs_len, 1);
    size_t n = routing_closest(kad->rt, &lk->target, LS_MIN(kad->cfg.routing.k, 64u), near);
    for (size_t i = 0; i < n; i++)
        cand_add(kad, lk, &near[i]->id, near[i]->addrs, near[i]->addrs_len, 1);
    if (lk->ncands == 0 && !lk->done_due) {
        kad_lookup_free(lk);
        return LS_ENOENT;
    }
    lk->id = kad->next_lookup_id++;
    lk->now_ms = now_ms;
    kad->lookups[kad->nlookups++] = lk;
    lk->starting = true;
    unsigned cpl = kad_key_cpl(&lk->target, routing_self_key(kad->rt));
    routing_mark_refreshed(kad->rt, cpl, now_ms);
    kad_enter(kad);
    if (!lk->done_due)
        step(kad, now_ms, lk);
    kad_leave(kad);
    lk->starting = false;
    return 0;
}

/* ---- responses ---- */

static void
take_value(kad_t *kad, uint64_t now_ms, lookup_t *lk, cand_t *c, const kadmsg_t *m, unsigned hop)
{
    const kad_validator_t *v = kad_validator_for(kad, lk->key, lk->klen);
    const kadmsg_record_t *r = &m->record;
    if (!m->has_record || !v || !r->value.p || r->key.len != lk->klen ||
        memcmp(r->key.p, lk->key, lk->klen) != 0)
        return;
    if (v->validate(v->ctx, now_ms, lk->key, lk->klen, r->value.p, r->value.len) < 0)
        return;
    lk->values = ls_realloc(lk->values, (lk->nvalues + 1) * sizeof *lk->values);
    lk->values[lk->nvalues++] = (kadmsg_bytes_t){ls_memdup(r->value.p, r->value.len), r->value.len};
    if (c)
        c->vidx = (int16_t)(lk->nvalues - 1);
    if (lk->nvalues == 1)
        lk->settled_hop = hop;
}

static bool
found_has(const lookup_t *lk, const peer_id_t *id)
{
    for (size_t i = 0; i < lk->nfound; i++)
        if (peer_id_equal(&lk->found[i].info.id, id))
            return true;
    return false;
}

/* Keep a found peer (provider or the target), with owned copies. */
static void
found_add(lookup_t *lk, const peer_id_t *id, const uint8_t *addrs, size_t alen, const uint8_t *meta,
          size_t mlen)
{
    lk->found = ls_realloc(lk->found, (lk->nfound + 1) * sizeof *lk->found);
    owned_peer_t *o = &lk->found[lk->nfound++];
    memset(o, 0, sizeof *o);
    o->info.id = *id;
    if (alen) {
        o->addrs = ls_memdup(addrs, alen);
        o->info.addrs = o->addrs;
        o->info.addrs_len = alen;
    }
    if (mlen) {
        o->meta = ls_memdup(meta, mlen);
        o->info.meta = o->meta;
        o->info.meta_len = mlen;
    }
}

static void
take_providers(uint64_t now_ms, lookup_t *lk, const kadmsg_t *m, unsigned hop)
{
    uint8_t addrs[KAD_ADDRS_MAX];
    for (size_t i = 0; i < m->nproviders && lk->nfound < lk->max_providers; i++) {
        const kadmsg_peer_t *p = &m->providers[i];
        peer_id_t id;
        if (peer_id_from_bytes(&id, p->id.p, p->id.len) < 0 || found_has(lk, &id))
            continue;
        const kadmsg_bytes_t *meta = &p->meta;
        bool meta_ok = meta->p && kad_provider_meta_check(now_ms, lk->key, lk->klen, &id, meta->p,
                                                          meta->len, NULL) == 0;
        size_t alen = kad_peer_addrs(p, addrs);
        found_add(lk, &id, addrs, alen, meta_ok ? meta->p : NULL, meta_ok ? meta->len : 0);
        if (lk->nfound == 1)
            lk->settled_hop = hop;
    }
}

/* Closer peers become candidates; returns true if the find_peer target is among
 * them (it is then recorded as found). */
static bool
take_closer(kad_t *kad, lookup_t *lk, const kadmsg_t *m, unsigned hop)
{
    uint8_t addrs[KAD_ADDRS_MAX];
    bool hit = false;
    for (size_t i = 0; i < m->ncloser; i++) {
        peer_id_t id;
        const kadmsg_peer_t *p = &m->closer[i];
        if (peer_id_from_bytes(&id, p->id.p, p->id.len) < 0)
            continue;
        size_t alen = kad_peer_addrs(p, addrs);
        if (lk->kind == LK_FIND_PEER && !hit && peer_id_equal(&id, &lk->target_peer)) {
            found_add(lk, &id, addrs, alen, NULL, 0);
            lk->settled_hop = hop;
            hit = true;
        }
        cand_add(kad, lk, &id, addrs, alen, hop + 1);
    }
    return hit;
}

void
kad_lookup_response(kad_t *kad, uint64_t now_ms, const pending_t *req, const kadmsg_t *m)
{
    lookup_t *lk = lookup_find(kad, req->lookup_id, NULL);
    if (!lk)
        return;
    lk->now_ms = now_ms;
    if (req->kind == REQ_STORE) {
        lk->store_pending--;
        lk->successes++;
        step(kad, now_ms, lk);
        return;
    }
    cand_t *c = cand_find(lk, &req->peer);
    unsigned hop = c ? c->hop : 1;
    lk->inflight--;
    if (c) {
        c->state = C_ANSWERED;
        kad_seen(kad, now_ms, &c->id, c->addrs, c->addrs_len);
    }
    if (lk->kind == LK_FIND_PEER && peer_id_equal(&req->peer, &lk->target_peer) && c &&
        !lk->nfound) {
        found_add(lk, &c->id, c->addrs, c->addrs_len, NULL, 0);
        lk->settled_hop = hop;
    }
    bool hit = take_closer(kad, lk, m, hop) || lk->nfound > 0;
    if (lk->kind == LK_GET_VALUE)
        take_value(kad, now_ms, lk, c, m, hop);
    if (lk->kind == LK_GET_PROVIDERS)
        take_providers(now_ms, lk, m, hop);
    if ((lk->kind == LK_FIND_PEER && hit) ||
        (lk->kind == LK_GET_VALUE && lk->nvalues >= lk->quorum) ||
        (lk->kind == LK_GET_PROVIDERS && lk->nfound >= lk->max_providers)) {
        complete(kad, lk, 0);
        return;
    }
    step(kad, now_ms, lk);
}

void
kad_lookup_failure(kad_t *kad, uint64_t now_ms, const pending_t *req)
{
    (void)routing_failed(kad->rt, &req->peer);
    lookup_t *lk = lookup_find(kad, req->lookup_id, NULL);
    if (!lk)
        return;
    lk->now_ms = now_ms;
    if (req->kind == REQ_STORE) {
        lk->store_pending--;
    } else {
        cand_t *c = cand_find(lk, &req->peer);
        if (c)
            c->state = C_FAILED;
        lk->inflight--;
    }
    step(kad, now_ms, lk);
}
