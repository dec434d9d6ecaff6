/* kad — node state, requests and timers (libp2p/specs kad-dht). Lookups are in
 * kad_lookup.c, serving in kad_serve.c. */
#include "dht/kad_internal.h"

#include <stdlib.h>
#include <string.h>

#include "lib/crypto/random.h"
#include "lib/err/err.h"

void
kad_config_default(kad_config_t *cfg)
{
    routing_config_default(&cfg->routing);
    kad_store_limits_default(&cfg->store);
    cfg->alpha = 3;
    cfg->request_timeout_ms = 10 * 1000;
    cfg->refresh_interval_ms = 10 * 60 * 1000;
    cfg->record_ttl_ms = 36ull * 3600 * 1000;
    cfg->record_republish_ms = 3600ull * 1000;
    cfg->provider_ttl_ms = 48ull * 3600 * 1000;
    cfg->provider_republish_ms = 22ull * 3600 * 1000;
    cfg->max_lookups = 64;
    cfg->max_pending = 512;
    cfg->client_mode = false;
    cfg->min_trust = 0.0;
}

kad_t *
kad_new(const peer_id_t *self, const kad_config_t *cfg, const kad_env_t *env)
{
    kad_t *kad = ls_calloc(1, sizeof *kad);
    if (cfg)
        kad->cfg = *cfg;
    else
        kad_config_default(&kad->cfg);
    if (kad->cfg.alpha == 0)
        kad->cfg.alpha = 3;
    if (kad->cfg.routing.k == 0)
        kad->cfg.routing.k = 20;
    kad->env = *env;
    kad->self = *self;
    kad->rt = routing_new(self, &kad->cfg.routing);
    kad->store = kad_store_new(&kad->cfg.store);
    kad->lookups = ls_calloc(kad->cfg.max_lookups + 1, sizeof *kad->lookups);
    kad->next_req_id = kad->next_lookup_id = 1;
    kad_add_validator(kad, kad_validator_pk());
    kad_add_validator(kad, kad_validator_lester());
    return kad;
}

void
kad_free_(kad_t *kad)
{
    if (!kad)
        return;
    for (size_t i = 0; i < kad->nlookups; i++)
        kad_lookup_free(kad->lookups[i]);
    for (size_t i = 0; i < kad->npending; i++)
        free(kad->pending[i].addrs);
    routing_free(kad->rt);
    kad_store_free(kad->store);
    free(kad->pending);
    free(kad->lookups);
    free(kad->self_addrs);
    free(kad->in);
    free(kad->out);
    free(kad);
}

int
kad_add_validator(kad_t *kad, const kad_validator_t *v)
{
    for (size_t i = 0; i < kad->nvalidators; i++)
        if (strcmp(kad->validators[i].ns, v->ns) == 0) {
            kad->validators[i] = *v;
            return 0;
        }
    if (kad->nvalidators == KAD_MAX_VALIDATORS)
        return LS_ELIMIT;
    kad->validators[kad->nvalidators++] = *v;
    return 0;
}

const kad_validator_t *
kad_validator_for(const kad_t *kad, const uint8_t *key, size_t klen)
{
    const uint8_t *ns;
    size_t nslen;
    if (kad_key_namespace(key, klen, &ns, &nslen) < 0)
        return NULL;
    for (size_t i = 0; i < kad->nvalidators; i++) {
        const char *name = kad->validators[i].ns;
        if (strlen(name) == nslen && memcmp(name, ns, nslen) == 0)
            return &kad->validators[i];
    }
    return NULL;
}

void
kad_set_self_addrs(kad_t *kad, const uint8_t *addrs, size_t len)
{
    free(kad->self_addrs);
    kad->self_addrs = NULL;
    kad->self_addrs_len = 0;
    if (addrs && len && len <= KAD_ADDRS_MAX) {
        kad->self_addrs = ls_memdup(addrs, len);
        kad->self_addrs_len = len;
    }
}

int
kad_attach_db(kad_t *kad, db_t *db, uint64_t now_ms)
{
    return kad_store_attach_db(kad->store, db, now_ms);
}

void
kad_enter(kad_t *kad)
{
    if (kad->depth++ == 0) {
        kad->in = ls_malloc(sizeof *kad->in);
        kad->out = ls_malloc(sizeof *kad->out);
    }
}

void
kad_leave(kad_t *kad)
{
    if (--kad->depth == 0) {
        free(kad->in);
        free(kad->out);
        kad->in = kad->out = NULL;
    }
}

void
kad_random(kad_t *kad, void *out, size_t len)
{
    if (kad->env.random)
        kad->env.random(kad->env.ctx, out, len);
    else
        random_bytes(out, len);
}

/* ---- requests ---- */

int64_t
kad_send(kad_t *kad, uint64_t now_ms, const peer_id_t *to, const uint8_t *addrs, size_t addrs_len,
         int kind, uint64_t lookup_id, bool want_reply)
{
    if (want_reply && kad->npending >= kad->cfg.max_pending)
        return LS_ELIMIT;
    buf_t b = BUF_INIT(KADMSG_MAX_SIZE);
    int rc = kadmsg_encode(kad->out, &b);
    uint64_t id = kad->next_req_id++;
    if (rc == 0)
        rc = kad->env.send_request(kad->env.ctx, id, to, addrs, addrs_len, b.data, b.len,
                                   want_reply);
    buf_free(&b);
    if (rc < 0)
        return rc;
    if (want_reply && kad->npending == kad->cappending) {
        kad->cappending = LS_MIN(LS_MAX(kad->cappending * 2, (size_t)8), kad->cfg.max_pending);
        kad->pending = ls_realloc(kad->pending, kad->cappending * sizeof *kad->pending);
    }
    if (want_reply)
        kad->pending[kad->npending++] =
            (pending_t){id, lookup_id, now_ms + kad->cfg.request_timeout_ms, *to, kind, NULL, 0};
    return (int64_t)id;
}

void
kad_seen(kad_t *kad, uint64_t now_ms, const peer_id_t *id, const uint8_t *addrs, size_t addrs_len)
{
    (void)kad_peer_answered(kad, now_ms, id, addrs, addrs_len);
}

int
kad_peer_answered(kad_t *kad, uint64_t now_ms, const peer_id_t *id, const uint8_t *addrs,
                  size_t addrs_len)
{
    peer_id_t lru;
    if (!kad_peer_trusted(kad, id)) {
        (void)routing_remove(kad->rt, id); /* its trust fell since it was tabled */
        return LS_EACCES;
    }
    int rc = routing_seen(kad->rt, now_ms, id, addrs, addrs_len, &lru);
    if (rc == ROUTING_CACHED + 10) {
        kad_enter(kad);
        const routing_entry_t *e = routing_find(kad->rt, &lru);
        kadmsg_init(kad->out, KADMSG_PING);
        if (!e || kad_send(kad, now_ms, &lru, e->addrs, e->addrs_len, REQ_PING, 0, true) < 0)
            (void)routing_failed(kad->rt, &lru); /* cannot even ask: replace it */
        kad_leave(kad);
        rc = ROUTING_CACHED;
    }
    return rc;
}

int
kad_probe_peer(kad_t *kad, uint64_t now_ms, const peer_id_t *id, const uint8_t *addrs,
               size_t addrs_len)
{
    kad_key_t key;
    if (peer_id_equal(id, &kad->self) || routing_find(kad->rt, id) || !kad_peer_trusted(kad, id))
        return 0;
    kad_key_from_peer(&key, id);
    unsigned cpl = kad_key_cpl(&key, routing_self_key(kad->rt));
    if (routing_bucket_size(kad->rt, cpl, NULL) >= kad->cfg.routing.k)
        return 0;
    for (size_t i = 0; i < kad->npending; i++)
        if (kad->pending[i].kind == REQ_PROBE && peer_id_equal(&kad->pending[i].peer, id))
            return 0;
    kad_enter(kad);
    kadmsg_init(kad->out, KADMSG_FIND_NODE);
    kad->out->key = (kadmsg_bytes_t){kad->self.bytes, kad->self.len};
    int64_t rc = kad_send(kad, now_ms, id, addrs, addrs_len, REQ_PROBE, 0, true);
    kad_leave(kad);
    if (rc < 0)
        return (int)rc;
    if (addrs && addrs_len && addrs_len <= KAD_ADDRS_MAX) {
        pending_t *p = &kad->pending[kad->npending - 1];
        p->addrs = ls_memdup(addrs, addrs_len);
        p->addrs_len = addrs_len;
    }
    return 1;
}

size_t
kad_peer_addrs(const kadmsg_peer_t *p, uint8_t out[KAD_ADDRS_MAX])
{
    size_t len = 0;
    for (size_t i = 0; i < p->naddrs; i++)
        if (p->addrs[i].len > 0)
            (void)kad_addrs_add(out, &len, p->addrs[i].p, p->addrs[i].len);
    return len;
}

void
kad_fill_closer(kad_t *kad, const kad_key_t *target, const peer_id_t *skip)
{
    const routing_entry_t *near[KADMSG_MAX_PEERS];
    size_t want = LS_MIN(kad->cfg.routing.k + 1, (size_t)KADMSG_MAX_PEERS);
    size_t n = routing_closest(kad->rt, target, want, near);
    kadmsg_t *m = kad->out;
    m->ncloser = 0;
    for (size_t i = 0; i < n && m->ncloser < kad->cfg.routing.k; i++) {
        if ((skip && peer_id_equal(&near[i]->id, skip)) || !kad_peer_trusted(kad, &near[i]->id))
            continue;
        kadmsg_peer_t *p = &m->closer[m->ncloser++];
        memset(p, 0, sizeof *p);
        p->id = (kadmsg_bytes_t){near[i]->id.bytes, near[i]->id.len};
        size_t off = 0, ml;
        const uint8_t *ma;
        while (p->naddrs < KADMSG_MAX_ADDRS &&
               (ma = kad_addrs_next(near[i]->addrs, near[i]->addrs_len, &off, &ml)))
            p->addrs[p->naddrs++] = (kadmsg_bytes_t){ma, ml};
    }
}

/* Remove pending entry `i` and return a copy of it. */
static pending_t
pending_take(kad_t *kad, size_t i)
{
    pending_t p = kad->pending[i];
    kad->pending[i] = kad->pending[--kad->npending];
    return p;
}

static ssize_t
pending_find(const kad_t *kad, uint64_t req_id)
{
    for (size_t i = 0; i < kad->npending; i++)
        if (kad->pending[i].req_id == req_id)
            return (ssize_t)i;
    return -1;
}

static void
request_failed(kad_t *kad, uint64_t now_ms, const pending_t *p)
{
    if (p->kind == REQ_PROBE)
        free(p->addrs);
    else if (p->kind == REQ_PING)
        (void)routing_failed(kad->rt, &p->peer);
    else
        kad_lookup_failure(kad, now_ms, p);
}

int
kad_input_response(kad_t *kad, uint64_t now_ms, uint64_t req_id, const uint8_t *msg, size_t len)
{
    ssize_t i = pending_find(kad, req_id);
    if (i < 0)
        return 0;
    pending_t p = pending_take(kad, (size_t)i);
    kad_enter(kad);
    int rc = kadmsg_decode(msg, len, kad->in);
    if (rc < 0) {
        request_failed(kad, now_ms, &p);
    } else if (p.kind == REQ_PROBE) {
        kad_seen(kad, now_ms, &p.peer, p.addrs, p.addrs_len);
        free(p.addrs);
    } else if (p.kind == REQ_PING) {
        if (routing_find(kad->rt, &p.peer))
            (void)routing_seen(kad->rt, now_ms, &p.peer, NULL, 0, NULL);
    } else {
        kad_lookup_response(kad, now_ms, &p, kad->in);
    }
    kad_leave(kad);
    return rc;
}

void
kad_request_failed(kad_t *kad, uint64_t now_ms, uint64_t req_id)
{
    ssize_t i = pending_find(kad, req_id);
    if (i < 0)
        return;
    pending_t p = pending_take(kad, (size_t)i);
    kad_enter(kad);
    request_failed(kad, now_ms, &p);
    kad_leave(kad);
}

int
kad_input_request(kad_t *kad, uint64_t now_ms, const peer_id_t *from, const uint8_t *msg,
                  size_t len, buf_t *reply)
{
    if (kad->cfg.client_mode)
        return LS_ENOTSUP;
    kad_enter(kad);
    int rc = kadmsg_decode(msg, len, kad->in);
    if (rc == 0)
        rc = kad_serve(kad, now_ms, from, kad->in, reply);
    kad_leave(kad);
    return rc;
}

/* ---- timers ---- */

/* A wire key whose SHA-256 falls in bucket `cpl`, to refresh it. A peer of that
 * bucket is such a key (its neighbours are in the bucket too). For an empty bucket,
 * random preimages are tried: 2^(cpl+1) on average, so only up to
 * KAD_REFRESH_SEARCH_CPL; deeper empty buckets are left to the self-lookup, which
 * finds our neighbours. Returns the key length, 0 for "use the self-lookup". */
#ifndef KAD_REFRESH_SEARCH_CPL
#define KAD_REFRESH_SEARCH_CPL 10
#endif
static size_t
refresh_key(kad_t *kad, unsigned cpl, uint8_t out[KAD_KEY_MAX])
{
    size_t n = routing_bucket_size(kad->rt, cpl, NULL);
    if (n > 0) {
        uint32_t pick;
        kad_random(kad, &pick, sizeof pick);
        const routing_entry_t *e = routing_bucket_entry(kad->rt, cpl, pick % n);
        memcpy(out, e->id.bytes, e->id.len);
        return e->id.len;
    }
    if (cpl > KAD_REFRESH_SEARCH_CPL)
        return 0;
    const kad_key_t *self = routing_self_key(kad->rt);
    kad_key_t k;
    for (unsigned tries = 0; tries < (64u << cpl); tries++) {
        kad_random(kad, out, KAD_KEY_LEN);
        kad_key_from_bytes(&k, out, KAD_KEY_LEN);
        if (kad_key_cpl(&k, self) == cpl)
            return KAD_KEY_LEN;
    }
    return 0;
}

static void
refresh_done(void *arg, const kad_result_t *res)
{
    (void)arg, (void)res;
}

static void
refresh_buckets(kad_t *kad, uint64_t now_ms)
{
    int cpl;
    bool self_lookup = false;
    if (!kad->cfg.refresh_interval_ms || routing_size(kad->rt) == 0 ||
        now_ms < kad->refresh_check_ms)
        return;
    kad->refresh_check_ms = now_ms + 1000; /* a scan of the buckets a second is plenty */
    while ((cpl = routing_refresh_due(kad->rt, now_ms, kad->cfg.refresh_interval_ms)) >= 0) {
        uint8_t key[KAD_KEY_MAX];
        size_t klen = refresh_key(kad, (unsigned)cpl, key);
        routing_mark_refreshed(kad->rt, (unsigned)cpl, now_ms);
        if (klen)
            (void)kad_get_closest(kad, now_ms, key, klen, refresh_done, NULL);
        else
            self_lookup = true;
    }
    if (self_lookup)
        (void)kad_get_closest(kad, now_ms, kad->self.bytes, kad->self.len, refresh_done, NULL);
}

static void
republish(kad_t *kad, uint64_t now_ms)
{
    kad_store_due_t due;
    while (kad->nlookups < kad->cfg.max_lookups && kad_store_next_due(kad->store, now_ms, &due)) {
        uint8_t key[KAD_KEY_MAX];
        size_t klen = due.klen;
        memcpy(key, due.key, klen);
        if (due.record) {
            uint8_t *val = ls_memdup(due.record->value, due.record->vlen);
            size_t vlen = due.record->vlen;
            kad_store_set_record_republish(kad->store, key, klen,
                                           now_ms + kad->cfg.record_republish_ms);
            (void)kad_put_value(kad, now_ms, key, klen, val, vlen, refresh_done, NULL);
            free(val);
        } else {
            uint8_t *meta = due.provider->meta_len
                                ? ls_memdup(due.provider->meta, due.provider->meta_len)
                                : NULL;
            size_t mlen = due.provider->meta_len;
            /* move it forward first: kad_provide may fail (expired metadata) */
            kad_store_set_provider_republish(kad->store, key, klen, &due.provider->id,
                                             now_ms + kad->cfg.provider_republish_ms);
            (void)kad_provide(kad, now_ms, key, klen, meta, mlen, refresh_done, NULL);
            free(meta);
        }
    }
}

uint64_t
kad_tick(kad_t *kad, uint64_t now_ms)
{
    kad_enter(kad);
    kad_lookup_deliver_due(kad, now_ms);
    for (size_t i = 0; i < kad->npending;) {
        if (kad->pending[i].deadline_ms > now_ms) {
            i++;
            continue;
        }
        pending_t p = pending_take(kad, i);
        request_failed(kad, now_ms, &p);
        i = 0; /* the failure may have changed the array */
    }
    refresh_buckets(kad, now_ms);
    (void)kad_store_expire(kad->store, now_ms);
    republish(kad, now_ms);
    kad_leave(kad);

    uint64_t next = kad_store_next_event(kad->store);
    for (size_t i = 0; i < kad->npending; i++)
        next = LS_MIN(next, kad->pending[i].deadline_ms);
    if (kad->cfg.refresh_interval_ms)
        next = LS_MIN(next, now_ms + LS_MIN(kad->cfg.refresh_interval_ms, 60 * 1000));
    return LS_MAX(next, now_ms + 1);
}

const routing_t *
kad_routing(const kad_t *kad)
{
    return kad->rt;
}

const kad_store_t *
kad_store(const kad_t *kad)
{
    return kad->store;
}

size_t
kad_pending_count(const kad_t *kad)
{
    return kad->npending;
}

size_t
kad_lookup_count(const kad_t *kad)
{
    return kad->nlookups;
}
