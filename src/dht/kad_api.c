/* kad_api — the public lookup operations (kad.h): local part, then a lookup. */
#include "dht/kad_internal.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"

static int
check_key(const uint8_t *key, size_t klen)
{
    if (!key || klen == 0)
        return LS_EINVAL;
    return klen > KAD_KEY_MAX ? LS_ETOOBIG : 0;
}

int
kad_bootstrap(kad_t *kad, uint64_t now_ms, const kad_peer_info_t *seeds, size_t n, kad_done_fn cb,
              void *arg)
{
    lookup_t *lk = kad_lookup_new(LK_CLOSEST, kad->self.bytes, kad->self.len, cb, arg);
    return kad_lookup_start(kad, now_ms, lk, seeds, n);
}

int
kad_get_closest(kad_t *kad, uint64_t now_ms, const uint8_t *key, size_t klen, kad_done_fn cb,
                void *arg)
{
    int rc = check_key(key, klen);
    if (rc < 0)
        return rc;
    return kad_lookup_start(kad, now_ms, kad_lookup_new(LK_CLOSEST, key, klen, cb, arg), NULL, 0);
}

int
kad_find_peer(kad_t *kad, uint64_t now_ms, const peer_id_t *target, kad_done_fn cb, void *arg)
{
    if (target->len == 0 || peer_id_equal(target, &kad->self))
        return LS_EINVAL;
    lookup_t *lk = kad_lookup_new(LK_FIND_PEER, target->bytes, target->len, cb, arg);
    lk->target_peer = *target;
    return kad_lookup_start(kad, now_ms, lk, NULL, 0);
}

int
kad_get_value(kad_t *kad, uint64_t now_ms, const uint8_t *key, size_t klen, size_t quorum,
              kad_done_fn cb, void *arg)
{
    int rc = check_key(key, klen);
    const kad_validator_t *v = rc == 0 ? kad_validator_for(kad, key, klen) : NULL;
    if (rc < 0 || !v)
        return rc < 0 ? rc : LS_EINVAL;
    lookup_t *lk = kad_lookup_new(LK_GET_VALUE, key, klen, cb, arg);
    lk->quorum = LS_MAX(quorum, (size_t)1);
    const kad_stored_record_t *r = kad_store_get_record(kad->store, key, klen);
    if (r && r->expires_ms > now_ms &&
        v->validate(v->ctx, now_ms, key, klen, r->value, r->vlen) == 0) {
        lk->values = ls_calloc(1, sizeof *lk->values);
        lk->values[0] = (kadmsg_bytes_t){ls_memdup(r->value, r->vlen), r->vlen};
        lk->nvalues = 1;
        if (lk->quorum == 1) {
            lk->done_due = true; /* delivered by the next kad_tick */
            lk->due_status = 0;
        }
    }
    return kad_lookup_start(kad, now_ms, lk, NULL, 0);
}

int
kad_put_value(kad_t *kad, uint64_t now_ms, const uint8_t *key, size_t klen, const uint8_t *value,
              size_t vlen, kad_done_fn cb, void *arg)
{
    int rc = check_key(key, klen);
    if (rc == 0 && vlen > KAD_VALUE_MAX)
        rc = LS_ETOOBIG;
    if (rc == 0)
        rc = kad_store_value(kad, now_ms, key, klen, value, vlen, true);
    if (rc < 0)
        return rc;
    lookup_t *lk = kad_lookup_new(LK_PUT_VALUE, key, klen, cb, arg);
    lk->payload = ls_memdup(value, vlen);
    lk->payload_len = vlen;
    return kad_lookup_start(kad, now_ms, lk, NULL, 0);
}

int
kad_provide(kad_t *kad, uint64_t now_ms, const uint8_t *key, size_t klen, const uint8_t *meta,
            size_t mlen, kad_done_fn cb, void *arg)
{
    int rc = check_key(key, klen);
    if (rc == 0 && mlen)
        rc = kad_provider_meta_check(now_ms, key, klen, &kad->self, meta, mlen, NULL);
    if (rc < 0)
        return rc;
    kad_provider_t p = {kad->self,
                        kad->self_addrs,
                        kad->self_addrs_len,
                        mlen ? meta : NULL,
                        mlen,
                        now_ms + kad->cfg.provider_ttl_ms,
                        now_ms + kad->cfg.provider_republish_ms};
    rc = kad_store_add_provider(kad->store, key, klen, &p);
    if (rc < 0 && rc != LS_ELIMIT)
        return rc; /* a db error is not fatal to the announcement */
    lookup_t *lk = kad_lookup_new(LK_PROVIDE, key, klen, cb, arg);
    if (mlen) {
        lk->payload = ls_memdup(meta, mlen);
        lk->payload_len = mlen;
    }
    return kad_lookup_start(kad, now_ms, lk, NULL, 0);
}

int
kad_get_providers(kad_t *kad, uint64_t now_ms, const uint8_t *key, size_t klen, size_t max,
                  kad_done_fn cb, void *arg)
{
    int rc = check_key(key, klen);
    if (rc < 0)
        return rc;
    lookup_t *lk = kad_lookup_new(LK_GET_PROVIDERS, key, klen, cb, arg);
    lk->max_providers = LS_MAX(max, (size_t)1);
    const kad_provider_t *local[KADMSG_MAX_PEERS];
    size_t n = kad_store_get_providers(kad->store, key, klen, local,
                                       LS_MIN(lk->max_providers, (size_t)KADMSG_MAX_PEERS));
    for (size_t i = 0; i < n; i++) {
        lk->found = ls_realloc(lk->found, (lk->nfound + 1) * sizeof *lk->found);
        owned_peer_t *o = &lk->found[lk->nfound++];
        memset(o, 0, sizeof *o);
        o->info.id = local[i]->id;
        if (local[i]->addrs_len) {
            o->addrs = ls_memdup(local[i]->addrs, local[i]->addrs_len);
            o->info.addrs = o->addrs;
            o->info.addrs_len = local[i]->addrs_len;
        }
        if (local[i]->meta_len) {
            o->meta = ls_memdup(local[i]->meta, local[i]->meta_len);
            o->info.meta = o->meta;
            o->info.meta_len = local[i]->meta_len;
        }
    }
    if (lk->nfound >= lk->max_providers) {
        lk->done_due = true;
        lk->due_status = 0;
    }
    return kad_lookup_start(kad, now_ms, lk, NULL, 0);
}
