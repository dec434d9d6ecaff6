/* kad_serve — answering requests (libp2p/specs kad-dht, "RPC messages"). */
#include "dht/kad_internal.h"

#include <string.h>

#include "lib/err/err.h"

/* Expiry for a stored value: the record TTL, capped by a Lester value's own exp. */
static uint64_t
value_expiry(const kad_t *kad, uint64_t now_ms, const uint8_t *key, size_t klen, const uint8_t *val,
             size_t vlen)
{
    uint64_t exp = now_ms + kad->cfg.record_ttl_ms;
    kad_lester_info_t info;
    if (klen >= 8 && memcmp(key, "/lester/", 8) == 0 &&
        kad_lester_value_check(NULL, now_ms, key, klen, val, vlen, &info, NULL) == 0)
        exp = LS_MIN(exp, info.exp_ms);
    return exp;
}

int
kad_store_value(kad_t *kad, uint64_t now_ms, const uint8_t *key, size_t klen, const uint8_t *val,
                size_t vlen, bool ours)
{
    const kad_validator_t *v = kad_validator_for(kad, key, klen);
    if (!v)
        return LS_EINVAL; /* unknown namespace */
    int rc = v->validate(v->ctx, now_ms, key, klen, val, vlen);
    if (rc < 0)
        return rc;
    const kad_stored_record_t *old = kad_store_get_record(kad->store, key, klen);
    bool same = old && old->vlen == vlen && memcmp(old->value, val, vlen) == 0;
    if (old && !same && old->expires_ms > now_ms &&
        v->validate(v->ctx, now_ms, key, klen, old->value, old->vlen) == 0) {
        kadmsg_bytes_t both[2] = {{old->value, old->vlen}, {val, vlen}};
        if (v->may_replace)
            rc = v->may_replace(v->ctx, old->value, old->vlen, val, vlen);
        else if (v->select(v->ctx, key, klen, both, 2) != 1)
            rc = LS_ESTALE;
        if (rc < 0)
            return rc;
    }
    uint64_t republish =
        ours ? now_ms + kad->cfg.record_republish_ms : (old && same ? old->republish_ms : 0);
    rc = kad_store_put_record(kad->store, key, klen, val, vlen, now_ms,
                              value_expiry(kad, now_ms, key, klen, val, vlen), republish);
    return rc == LS_ELIMIT || rc == LS_ETOOBIG ? rc : 0; /* db errors are logged */
}

static int
serve_put(kad_t *kad, uint64_t now_ms, const kadmsg_t *m)
{
    const kadmsg_record_t *r = &m->record;
    if (!m->has_record || !m->key.p || !r->key.p || !r->value.p || r->key.len != m->key.len ||
        memcmp(r->key.p, m->key.p, m->key.len) != 0)
        return LS_EINVAL;
    if (m->key.len > KAD_KEY_MAX || r->value.len > KAD_VALUE_MAX)
        return LS_ETOOBIG;
    return kad_store_value(kad, now_ms, m->key.p, m->key.len, r->value.p, r->value.len, false);
}

/* Store the providers of ADD_PROVIDER that are the sender itself (spec: a peer may
 * only announce itself). Invalid metadata refuses the whole message. */
static int
serve_add_provider(kad_t *kad, uint64_t now_ms, const peer_id_t *from, const kadmsg_t *m)
{
    uint8_t addrs[KAD_ADDRS_MAX];
    if (!m->key.p || m->key.len == 0)
        return LS_EINVAL;
    if (m->key.len > KAD_KEY_MAX)
        return LS_ETOOBIG;
    for (size_t i = 0; i < m->nproviders; i++) {
        const kadmsg_peer_t *p = &m->providers[i];
        peer_id_t id;
        if (peer_id_from_bytes(&id, p->id.p, p->id.len) < 0 || !peer_id_equal(&id, from))
            continue;
        if (p->meta.p) {
            int rc = kad_provider_meta_check(now_ms, m->key.p, m->key.len, &id, p->meta.p,
                                             p->meta.len, NULL);
            if (rc < 0)
                return rc;
        }
        kad_provider_t prov = {id,        addrs,       kad_peer_addrs(p, addrs),
                               p->meta.p, p->meta.len, now_ms + kad->cfg.provider_ttl_ms,
                               0};
        int rc = kad_store_add_provider(kad->store, m->key.p, m->key.len, &prov);
        if (rc == LS_ELIMIT || rc == LS_ETOOBIG)
            return rc;
    }
    return 0;
}

/* GET_VALUE: our record if valid, and closer peers. */
static void
reply_get_value(kad_t *kad, uint64_t now_ms, const kadmsg_t *m)
{
    const kad_stored_record_t *r = kad_store_get_record(kad->store, m->key.p, m->key.len);
    const kad_validator_t *v = kad_validator_for(kad, m->key.p, m->key.len);
    if (r && v && r->expires_ms > now_ms &&
        v->validate(v->ctx, now_ms, r->key, r->klen, r->value, r->vlen) == 0) {
        kad->out->has_record = true;
        kad->out->record.key = (kadmsg_bytes_t){r->key, r->klen};
        kad->out->record.value = (kadmsg_bytes_t){r->value, r->vlen};
    }
}

static void
reply_get_providers(kad_t *kad, uint64_t now_ms, const kadmsg_t *m)
{
    /* at most k, so that k providers with full metadata and k closer peers with
     * full address lists still fit in KADMSG_MAX_SIZE */
    const kad_provider_t *list[KADMSG_MAX_PEERS];
    size_t max = LS_MIN(kad->cfg.routing.k, (size_t)KADMSG_MAX_PEERS);
    size_t n = kad_store_get_providers(kad->store, m->key.p, m->key.len, list, max);
    for (size_t i = 0; i < n; i++) {
        if (list[i]->expires_ms <= now_ms)
            continue;
        kadmsg_peer_t *p = &kad->out->providers[kad->out->nproviders++];
        memset(p, 0, sizeof *p);
        p->id = (kadmsg_bytes_t){list[i]->id.bytes, list[i]->id.len};
        size_t off = 0, ml;
        const uint8_t *ma;
        while (p->naddrs < KADMSG_MAX_ADDRS &&
               (ma = kad_addrs_next(list[i]->addrs, list[i]->addrs_len, &off, &ml)))
            p->addrs[p->naddrs++] = (kadmsg_bytes_t){ma, ml};
        if (list[i]->meta_len)
            p->meta = (kadmsg_bytes_t){list[i]->meta, list[i]->meta_len};
    }
}

int
kad_serve(kad_t *kad, uint64_t now_ms, const peer_id_t *from, const kadmsg_t *m, buf_t *reply)
{
    int rc;
    kad_key_t target;
    switch (m->type) {
    case KADMSG_PING:
        kadmsg_init(kad->out, KADMSG_PING);
        return kadmsg_encode(kad->out, reply);
    case KADMSG_PUT_VALUE:
        rc = serve_put(kad, now_ms, m);
        return rc < 0 ? rc : kadmsg_encode(m, reply); /* the spec's echo */
    case KADMSG_ADD_PROVIDER:
        return serve_add_provider(kad, now_ms, from, m); /* no reply */
    default:
        break;
    }
    if (!m->key.p || m->key.len == 0)
        return LS_EINVAL;
    if (m->key.len > KAD_KEY_MAX)
        return LS_ETOOBIG;
    kadmsg_init(kad->out, (kadmsg_type_t)m->type);
    kad->out->key = m->key;
    kad_key_from_bytes(&target, m->key.p, m->key.len);
    kad_fill_closer(kad, &target, from);
    if (m->type == KADMSG_GET_VALUE)
        reply_get_value(kad, now_ms, m);
    else if (m->type == KADMSG_GET_PROVIDERS)
        reply_get_providers(kad, now_ms, m);
    return kadmsg_encode(kad->out, reply);
}
