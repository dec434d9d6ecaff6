/* kad_validate — /pk/ and /lester/ validators, provider metadata (seeds 003, 004). */
#include "dht/kad_validate.h"

#include <string.h>

#include "lib/err/err.h"

static const kad_lester_policy_t default_policy = {KAD_LESTER_MAX_AGE_MS, KAD_LESTER_MAX_SKEW_MS,
                                                   KAD_VALUE_MAX};

int
kad_key_namespace(const uint8_t *key, size_t klen, const uint8_t **ns, size_t *nslen)
{
    if (klen < 3 || key[0] != '/')
        return LS_EINVAL;
    const uint8_t *end = memchr(key + 1, '/', klen - 1);
    if (!end || end == key + 1)
        return LS_EINVAL;
    *ns = key + 1;
    *nslen = (size_t)(end - key - 1);
    return 0;
}

/* ---- /pk/ ---- */

static int
pk_validate(const void *ctx, uint64_t now_ms, const uint8_t *key, size_t klen, const uint8_t *val,
            size_t vlen)
{
    peer_id_t want, got;
    (void)ctx, (void)now_ms;
    if (klen <= 4 || memcmp(key, "/pk/", 4) != 0)
        return LS_EINVAL;
    if (vlen > KAD_VALUE_MAX)
        return LS_ETOOBIG;
    int rc = peer_id_from_bytes(&want, key + 4, klen - 4);
    if (rc == 0)
        rc = peer_id_from_pubkey_proto(&got, val, vlen);
    if (rc < 0)
        return rc;
    return peer_id_equal(&want, &got) ? 0 : LS_EINVAL;
}

static size_t
first_select(const void *ctx, const uint8_t *key, size_t klen, const kadmsg_bytes_t *vals, size_t n)
{
    (void)ctx, (void)key, (void)klen, (void)vals, (void)n;
    return 0;
}

const kad_validator_t *
kad_validator_pk(void)
{
    static const kad_validator_t v = {"pk", pk_validate, first_select, NULL, NULL};
    return &v;
}

/* ---- signed lib/record values ---- */

/* Check the common envelope of signed values: signature, key binding, times. */
static int
check_signed(const record_t *r, uint64_t now_ms, const uint8_t *key, size_t klen, uint64_t max_age,
             uint64_t max_skew, kad_lester_info_t *info)
{
    const uint8_t *k;
    size_t kl;
    kad_lester_info_t tmp;
    int rc = record_verify(r, tmp.pk);
    if (rc < 0)
        return rc == LS_EINVAL ? LS_EBADSIG : rc; /* unsigned counts as a bad signature */
    if (record_get_bin(r, "key", &k, &kl) < 0 || kl != klen || memcmp(k, key, klen) != 0)
        return LS_EINVAL;
    if (record_get_u64(r, "ts", &tmp.ts_ms) < 0 || record_get_u64(r, "exp", &tmp.exp_ms) < 0)
        return LS_EINVAL;
    if (tmp.exp_ms <= tmp.ts_ms || tmp.exp_ms - tmp.ts_ms > max_age)
        return LS_EEXPIRED; /* claims to live longer than the maximum age */
    if (now_ms >= tmp.exp_ms || now_ms - LS_MIN(now_ms, max_age) > tmp.ts_ms)
        return LS_EEXPIRED;
    if (tmp.ts_ms > now_ms + max_skew)
        return LS_EEXPIRED; /* from the future */
    tmp.seq = 0;
    if (info)
        *info = tmp;
    return 0;
}

int
kad_lester_value_check(const kad_lester_policy_t *pol, uint64_t now_ms, const uint8_t *key,
                       size_t klen, const uint8_t *val, size_t vlen, kad_lester_info_t *info,
                       buf_t *payload)
{
    record_t *r = NULL;
    const uint8_t *v;
    size_t vl;
    kad_lester_info_t tmp;
    if (!pol)
        pol = &default_policy;
    if (vlen > pol->max_size || klen > KAD_KEY_MAX)
        return LS_ETOOBIG;
    int rc = record_decode(val, vlen, pol->max_size, &r);
    if (rc == 0)
        rc = check_signed(r, now_ms, key, klen, pol->max_age_ms, pol->max_skew_ms, &tmp);
    if (rc == 0 &&
        (record_get_u64(r, "seq", &tmp.seq) < 0 || record_get_bin(r, "value", &v, &vl) < 0))
        rc = LS_EINVAL;
    if (rc == 0 && payload && buf_append(payload, v, vl) < 0)
        rc = LS_ETOOBIG;
    if (rc == 0 && info)
        *info = tmp;
    record_free(r);
    return rc;
}

static int
lester_validate(const void *ctx, uint64_t now_ms, const uint8_t *key, size_t klen,
                const uint8_t *val, size_t vlen)
{
    if (klen < 8 || memcmp(key, "/lester/", 8) != 0)
        return LS_EINVAL;
    return kad_lester_value_check(ctx, now_ms, key, klen, val, vlen, NULL, NULL);
}

/* Fields of a value that already passed validation (time is not re-checked). */
static void
lester_peek(const kadmsg_bytes_t *v, kad_lester_info_t *info)
{
    record_t *r = NULL;
    memset(info, 0, sizeof *info);
    if (record_decode(v->p, v->len, KAD_VALUE_MAX, &r) == 0) {
        const uint8_t *pk;
        size_t n;
        (void)record_get_u64(r, "seq", &info->seq);
        (void)record_get_u64(r, "ts", &info->ts_ms);
        if (record_get_bin(r, "pk", &pk, &n) == 0 && n == ED25519_PK_LEN)
            memcpy(info->pk, pk, n);
    }
    record_free(r);
}

/* <0 if a is better than b: higher seq, then newer ts, then smaller/lower bytes. */
static int
lester_cmp(const kadmsg_bytes_t *a, const kadmsg_bytes_t *b)
{
    kad_lester_info_t ia, ib;
    lester_peek(a, &ia);
    lester_peek(b, &ib);
    if (ia.seq != ib.seq)
        return ia.seq > ib.seq ? -1 : 1;
    if (ia.ts_ms != ib.ts_ms)
        return ia.ts_ms > ib.ts_ms ? -1 : 1;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return memcmp(a->p, b->p, a->len);
}

static size_t
lester_select(const void *ctx, const uint8_t *key, size_t klen, const kadmsg_bytes_t *vals,
              size_t n)
{
    size_t best = 0;
    (void)ctx, (void)key, (void)klen;
    for (size_t i = 1; i < n; i++)
        if (lester_cmp(&vals[i], &vals[best]) < 0)
            best = i;
    return best;
}

static int
lester_may_replace(const void *ctx, const uint8_t *old, size_t olen, const uint8_t *newer,
                   size_t nlen)
{
    kadmsg_bytes_t a = {old, olen}, b = {newer, nlen};
    kad_lester_info_t ia, ib;
    (void)ctx;
    lester_peek(&a, &ia);
    lester_peek(&b, &ib);
    if (memcmp(ia.pk, ib.pk, ED25519_PK_LEN) != 0)
        return LS_EACCES;
    return lester_cmp(&b, &a) < 0 ? 0 : LS_ESTALE;
}

kad_validator_t
kad_validator_lester_with(const kad_lester_policy_t *policy)
{
    kad_validator_t v = {"lester", lester_validate, lester_select, lester_may_replace,
                         policy ? policy : &default_policy};
    return v;
}

const kad_validator_t *
kad_validator_lester(void)
{
    static const kad_validator_t v = {"lester", lester_validate, lester_select, lester_may_replace,
                                      &default_policy};
    return &v;
}

int
kad_lester_value_make(const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen,
                      uint64_t seq, uint64_t ts_ms, uint64_t exp_ms, const ed25519_keypair_t *kp,
                      buf_t *out)
{
    if (klen > KAD_KEY_MAX || vlen > KAD_VALUE_MAX)
        return LS_ETOOBIG;
    if (exp_ms <= ts_ms)
        return LS_EINVAL;
    record_t *r = record_new();
    record_set_bin(r, "key", key, klen);
    record_set_bin(r, "value", value, vlen);
    record_set_u64(r, "seq", seq);
    record_set_u64(r, "ts", ts_ms);
    record_set_u64(r, "exp", exp_ms);
    size_t before = out->len;
    int rc = record_sign(r, kp);
    if (rc == 0)
        rc = record_encode(r, out);
    if (rc == 0 && out->len - before > KAD_VALUE_MAX) {
        buf_truncate(out, before);
        rc = LS_ETOOBIG;
    }
    record_free(r);
    return rc;
}

/* ---- provider metadata (seed 004) ---- */

int
kad_provider_meta_make(record_t *meta, const uint8_t *key, size_t klen, uint64_t ts_ms,
                       uint64_t exp_ms, const ed25519_keypair_t *kp, buf_t *out)
{
    peer_id_t self;
    peer_id_from_ed25519(&self, kp->pk);
    int rc = exp_ms > ts_ms && klen <= KAD_KEY_MAX ? 0 : LS_EINVAL;
    if (rc == 0)
        rc = record_set_bin(meta, "key", key, klen);
    if (rc == 0)
        rc = record_set_bin(meta, "provider", self.bytes, self.len);
    if (rc == 0)
        rc = record_set_u64(meta, "ts", ts_ms);
    if (rc == 0)
        rc = record_set_u64(meta, "exp", exp_ms);
    if (rc == 0)
        rc = record_sign(meta, kp);
    size_t before = out->len;
    if (rc == 0)
        rc = record_encode(meta, out);
    if (rc == 0 && out->len - before > KAD_META_MAX) {
        buf_truncate(out, before);
        rc = LS_ETOOBIG;
    }
    record_free(meta);
    return rc;
}

/* Optional fields must have their documented types when present. */
static int
check_meta_fields(const record_t *r)
{
    const record_array_t *a;
    const char *s;
    uint64_t u;
    static const char *const str_arrays[] = {"protocols", "endpoints"};
    for (size_t k = 0; k < 2; k++) {
        int rc = record_get_array(r, str_arrays[k], &a);
        for (size_t i = 0; rc == 0 && i < record_array_len(a); i++)
            if (record_array_get_str(a, i, &s) < 0)
                return LS_EINVAL;
        if (rc != 0 && rc != LS_ENOENT)
            return LS_EINVAL;
    }
    int rc = record_get_array(r, "chunks", &a);
    for (size_t i = 0; rc == 0 && i < record_array_len(a); i++)
        if (record_array_get_u64(a, i, &u) < 0)
            return LS_EINVAL;
    if ((rc != 0 && rc != LS_ENOENT) ||
        (record_has(r, "wallet") && record_get_str(r, "wallet", &s) < 0) ||
        (record_has(r, "price_per_mb") && record_get_u64(r, "price_per_mb", &u) < 0))
        return LS_EINVAL;
    return 0;
}

int
kad_provider_meta_check(uint64_t now_ms, const uint8_t *key, size_t klen, const peer_id_t *provider,
                        const uint8_t *meta, size_t mlen, record_t **out)
{
    record_t *r = NULL;
    kad_lester_info_t info;
    const uint8_t *p;
    size_t pl;
    peer_id_t signer;
    if (mlen > KAD_META_MAX)
        return LS_ETOOBIG;
    int rc = record_decode(meta, mlen, KAD_META_MAX, &r);
    if (rc == 0)
        rc = check_signed(r, now_ms, key, klen, KAD_LESTER_MAX_AGE_MS, KAD_LESTER_MAX_SKEW_MS,
                          &info);
    if (rc == 0) {
        peer_id_from_ed25519(&signer, info.pk);
        if (record_get_bin(r, "provider", &p, &pl) < 0 || pl != provider->len ||
            memcmp(p, provider->bytes, pl) != 0 || !peer_id_equal(&signer, provider))
            rc = LS_EBADSIG; /* signed by someone else than the provider */
    }
    if (rc == 0)
        rc = check_meta_fields(r);
    if (rc == 0 && out)
        *out = r;
    else
        record_free(r);
    return rc;
}
