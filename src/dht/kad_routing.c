/* kad_routing — k-buckets with replacement caches and IP-group limits. */
#include "dht/kad_routing.h"

#include <stdlib.h>
#include <string.h>

#include "lib/crypto/sha256.h"
#include "lib/err/err.h"
#include "lib/multiaddr/multiaddr.h"

typedef struct bucket_t {
    routing_entry_t *live; /* [0] least recently seen */
    size_t nlive, caplive;
    routing_entry_t *spare; /* replacement cache, most recent last */
    size_t nspare, capspare;
    uint64_t refreshed_ms;
} bucket_t;

struct routing_t {
    routing_config_t cfg;
    peer_id_t self;
    kad_key_t self_key;
    size_t size;
    bucket_t *buckets[KAD_BUCKETS + 1];
};

/* ---- keys and address lists ---- */

void
kad_key_from_peer(kad_key_t *out, const peer_id_t *id)
{
    sha256(out->b, id->bytes, id->len);
}

void
kad_key_from_bytes(kad_key_t *out, const uint8_t *p, size_t len)
{
    sha256(out->b, p, len);
}

unsigned
kad_key_cpl(const kad_key_t *a, const kad_key_t *b)
{
    for (unsigned i = 0; i < KAD_KEY_LEN; i++) {
        uint8_t x = a->b[i] ^ b->b[i];
        if (x)
            return i * 8 + (unsigned)__builtin_clz((unsigned)x) - 24;
    }
    return KAD_KEY_LEN * 8;
}

int
kad_key_cmp_dist(const kad_key_t *target, const kad_key_t *a, const kad_key_t *b)
{
    for (unsigned i = 0; i < KAD_KEY_LEN; i++) {
        uint8_t da = a->b[i] ^ target->b[i], db = b->b[i] ^ target->b[i];
        if (da != db)
            return da < db ? -1 : 1;
    }
    return 0;
}

const uint8_t *
kad_addrs_next(const uint8_t *list, size_t len, size_t *off, size_t *ma_len)
{
    if (!list || *off + 2 > len)
        return NULL;
    size_t n = (size_t)list[*off] << 8 | list[*off + 1];
    if (n > len - *off - 2)
        return NULL;
    const uint8_t *ma = list + *off + 2;
    *off += 2 + n;
    *ma_len = n;
    return ma;
}

bool
kad_addrs_add(uint8_t *out, size_t *len, const uint8_t *ma, size_t ma_len)
{
    if (ma_len > 0xffff || ma_len + 2 > KAD_ADDRS_MAX - *len)
        return false;
    out[*len] = (uint8_t)(ma_len >> 8);
    out[*len + 1] = (uint8_t)ma_len;
    memcpy(out + *len + 2, ma, ma_len);
    *len += 2 + ma_len;
    return true;
}

/* The IP group of the first address: /24 or /48 prefix, or exempt ([0] = 0). */
static void
ip_group(const routing_config_t *cfg, const uint8_t *addrs, size_t len, uint8_t group[8])
{
    size_t off = 0, ma_len;
    const uint8_t *p = kad_addrs_next(addrs, len, &off, &ma_len);
    multiaddr_t *ma = NULL;
    const uint8_t *v;
    size_t vlen;
    uint64_t code;

    memset(group, 0, 8);
    if (!p || multiaddr_from_bytes(p, ma_len, &ma) < 0)
        return;
    bool exempt = multiaddr_is_loopback(ma) || multiaddr_is_private(ma);
    if ((!exempt || cfg->limit_private) && multiaddr_component(ma, 0, &code, &v, &vlen) == 0) {
        if (code == MULTIADDR_IP4 && vlen == 4) {
            group[0] = 4;
            memcpy(group + 1, v, 3);
        } else if (code == MULTIADDR_IP6 && vlen == 16) {
            group[0] = 6;
            memcpy(group + 1, v, 6);
        }
    }
    multiaddr_free(ma);
}

/* ---- table ---- */

void
routing_config_default(routing_config_t *cfg)
{
    *cfg = (routing_config_t){.k = 20,
                              .replacement = 10,
                              .group_per_bucket = 2,
                              .group_per_table = 10,
                              .limit_private = false,
                              .max_fails = 2};
}

routing_t *
routing_new(const peer_id_t *self, const routing_config_t *cfg)
{
    routing_t *rt = ls_calloc(1, sizeof *rt);
    if (cfg)
        rt->cfg = *cfg;
    else
        routing_config_default(&rt->cfg);
    if (rt->cfg.k == 0)
        rt->cfg.k = 20;
    rt->self = *self;
    kad_key_from_peer(&rt->self_key, self);
    return rt;
}

static void
bucket_free(bucket_t *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->nlive; i++)
        free(b->live[i].addrs);
    for (size_t i = 0; i < b->nspare; i++)
        free(b->spare[i].addrs);
    free(b->live);
    free(b->spare);
    free(b);
}

void
routing_free_(routing_t *rt)
{
    if (!rt)
        return;
    for (size_t i = 0; i <= KAD_BUCKETS; i++)
        bucket_free(rt->buckets[i]);
    free(rt);
}

const kad_key_t *
routing_self_key(const routing_t *rt)
{
    return &rt->self_key;
}

static bucket_t *
bucket_get(routing_t *rt, unsigned cpl, bool create)
{
    if (!rt->buckets[cpl] && create) {
        rt->buckets[cpl] = ls_calloc(1, sizeof(bucket_t));
    }
    return rt->buckets[cpl];
}

/* Room for one more element in a list that grows by doubling up to `max`. */
static routing_entry_t *
list_room(routing_entry_t *list, size_t n, size_t *cap, size_t max)
{
    if (n < *cap)
        return list;
    *cap = LS_MIN(LS_MAX(*cap * 2, (size_t)4), LS_MAX(max, (size_t)1));
    return ls_realloc(list, *cap * sizeof *list);
}

static ssize_t
find_in(const routing_entry_t *list, size_t n, const peer_id_t *id)
{
    for (size_t i = 0; i < n; i++)
        if (peer_id_equal(&list[i].id, id))
            return (ssize_t)i;
    return -1;
}

/* Remove element `i` of an entry array, keeping the order; frees its addresses. */
static void
list_remove(routing_entry_t *list, size_t *n, size_t i)
{
    free(list[i].addrs);
    memmove(&list[i], &list[i + 1], (*n - i - 1) * sizeof *list);
    (*n)--;
}

static void
set_addrs(routing_entry_t *e, const uint8_t *addrs, size_t len)
{
    if (!addrs || len == 0 || len > KAD_ADDRS_MAX)
        return;
    free(e->addrs);
    e->addrs = ls_memdup(addrs, len);
    e->addrs_len = (uint16_t)len;
}

/* Count entries of `group` in bucket `b` (live only) and in the whole table. */
static bool
group_allowed(const routing_t *rt, const bucket_t *b, const uint8_t group[8])
{
    if (group[0] == 0)
        return true;
    size_t in_bucket = 0, in_table = 0;
    for (size_t i = 0; i < b->nlive; i++)
        in_bucket += memcmp(b->live[i].group, group, 8) == 0;
    if (in_bucket >= rt->cfg.group_per_bucket)
        return false;
    for (size_t c = 0; c <= KAD_BUCKETS; c++) {
        const bucket_t *o = rt->buckets[c];
        for (size_t i = 0; o && i < o->nlive; i++)
            in_table += memcmp(o->live[i].group, group, 8) == 0;
    }
    return in_table < rt->cfg.group_per_table;
}

/* Move entry `i` of the live list to the most-recent end. */
static void
touch(bucket_t *b, size_t i, uint64_t now_ms)
{
    routing_entry_t e = b->live[i];
    memmove(&b->live[i], &b->live[i + 1], (b->nlive - i - 1) * sizeof e);
    e.last_seen_ms = now_ms;
    e.ping_ms = 0;
    e.fails = 0;
    b->live[b->nlive - 1] = e;
}

static routing_entry_t
entry_make(const peer_id_t *id, const kad_key_t *key, uint64_t now_ms, const uint8_t group[8])
{
    routing_entry_t e = {.id = *id, .key = *key, .last_seen_ms = now_ms};
    memcpy(e.group, group, 8);
    return e;
}

/* Bucket full: keep `e` as the freshest replacement; maybe ask for a ping. */
static int
cache_spare(routing_t *rt, bucket_t *b, routing_entry_t e, peer_id_t *ping_out)
{
    ssize_t j = find_in(b->spare, b->nspare, &e.id);
    if (j >= 0)
        list_remove(b->spare, &b->nspare, (size_t)j);
    if (rt->cfg.replacement == 0) {
        free(e.addrs);
    } else {
        if (b->nspare == rt->cfg.replacement)
            list_remove(b->spare, &b->nspare, 0);
        b->spare = list_room(b->spare, b->nspare, &b->capspare, rt->cfg.replacement);
        b->spare[b->nspare++] = e;
    }
    routing_entry_t *lru = &b->live[0];
    if (lru->ping_ms == 0) {
        lru->ping_ms = e.last_seen_ms ? e.last_seen_ms : 1;
        if (ping_out)
            *ping_out = lru->id;
        return ROUTING_CACHED + 10;
    }
    return ROUTING_CACHED;
}

int
routing_seen(routing_t *rt, uint64_t now_ms, const peer_id_t *id, const uint8_t *addrs,
             size_t addrs_len, peer_id_t *ping_out)
{
    kad_key_t key;
    uint8_t group[8];
    if (id->len == 0 || peer_id_equal(id, &rt->self))
        return LS_EINVAL;
    kad_key_from_peer(&key, id);
    unsigned cpl = kad_key_cpl(&key, &rt->self_key);
    bucket_t *b = bucket_get(rt, cpl, true);
    ssize_t i = find_in(b->live, b->nlive, id);
    if (i >= 0) {
        set_addrs(&b->live[i], addrs, addrs_len);
        touch(b, (size_t)i, now_ms);
        return ROUTING_UPDATED;
    }
    ip_group(&rt->cfg, addrs, addrs_len, group);
    if (!group_allowed(rt, b, group))
        return LS_ELIMIT;
    routing_entry_t e = entry_make(id, &key, now_ms, group);
    set_addrs(&e, addrs, addrs_len);
    if (b->nlive == rt->cfg.k)
        return cache_spare(rt, b, e, ping_out);
    ssize_t j = find_in(b->spare, b->nspare, id);
    if (j >= 0)
        list_remove(b->spare, &b->nspare, (size_t)j);
    b->live = list_room(b->live, b->nlive, &b->caplive, rt->cfg.k);
    b->live[b->nlive++] = e;
    rt->size++;
    return ROUTING_ADDED;
}

/* Drop live entry `i` and promote the freshest replacement allowed by the limits. */
static void
evict(routing_t *rt, bucket_t *b, size_t i)
{
    list_remove(b->live, &b->nlive, i);
    rt->size--;
    while (b->nspare > 0) {
        routing_entry_t e = b->spare[--b->nspare];
        if (group_allowed(rt, b, e.group)) {
            e.ping_ms = 0;
            b->live[b->nlive++] = e; /* it answered more recently than the rest */
            rt->size++;
            return;
        }
        free(e.addrs);
    }
}

int
routing_failed(routing_t *rt, const peer_id_t *id)
{
    kad_key_t key;
    kad_key_from_peer(&key, id);
    bucket_t *b = bucket_get(rt, kad_key_cpl(&key, &rt->self_key), false);
    ssize_t i = b ? find_in(b->live, b->nlive, id) : -1;
    if (i < 0)
        return LS_ENOENT;
    routing_entry_t *e = &b->live[i];
    if (e->fails < UINT8_MAX)
        e->fails++;
    if (e->ping_ms != 0 || e->fails >= rt->cfg.max_fails) {
        evict(rt, b, (size_t)i);
        return 1;
    }
    return 0;
}

int
routing_remove(routing_t *rt, const peer_id_t *id)
{
    kad_key_t key;
    kad_key_from_peer(&key, id);
    bucket_t *b = bucket_get(rt, kad_key_cpl(&key, &rt->self_key), false);
    if (!b)
        return LS_ENOENT;
    ssize_t i = find_in(b->live, b->nlive, id);
    if (i >= 0) {
        evict(rt, b, (size_t)i);
        return 0;
    }
    i = find_in(b->spare, b->nspare, id);
    if (i < 0)
        return LS_ENOENT;
    list_remove(b->spare, &b->nspare, (size_t)i);
    return 0;
}

const routing_entry_t *
routing_find(const routing_t *rt, const peer_id_t *id)
{
    kad_key_t key;
    kad_key_from_peer(&key, id);
    const bucket_t *b = rt->buckets[kad_key_cpl(&key, &rt->self_key)];
    ssize_t i = b ? find_in(b->live, b->nlive, id) : -1;
    return i >= 0 ? &b->live[i] : NULL;
}

/* The first 8 bytes of the XOR distance, as a number: decides almost every
 * comparison, so routing_closest rarely needs kad_key_cmp_dist. */
static uint64_t
dist64(const kad_key_t *t, const kad_key_t *k)
{
    uint64_t d = 0;
    for (int i = 0; i < 8; i++)
        d = d << 8 | (uint8_t)(t->b[i] ^ k->b[i]);
    return d;
}

static bool
closer(const kad_key_t *t, uint64_t da, const kad_key_t *a, uint64_t db, const kad_key_t *b)
{
    return da != db ? da < db : kad_key_cmp_dist(t, a, b) < 0;
}

/* Insert `e` (distance prefix `d`) into the sorted `out[0..*n)` of capacity `cap`. */
static void
closest_insert(const kad_key_t *t, const routing_entry_t **out, uint64_t *dist, size_t *n,
               size_t cap, const routing_entry_t *e, uint64_t d)
{
    if (*n == cap && !closer(t, d, &e->key, dist[cap - 1], &out[cap - 1]->key))
        return; /* the common case: farther than everything kept */
    size_t pos = *n < cap ? *n : cap - 1;
    while (pos > 0 && closer(t, d, &e->key, dist[pos - 1], &out[pos - 1]->key)) {
        out[pos] = out[pos - 1];
        dist[pos] = dist[pos - 1];
        pos--;
    }
    out[pos] = e;
    dist[pos] = d;
    if (*n < cap)
        (*n)++;
}

static void
scan_bucket(const bucket_t *b, const kad_key_t *target, const routing_entry_t **out, uint64_t *dist,
            size_t *got, size_t n)
{
    for (size_t i = 0; b && i < b->nlive; i++)
        closest_insert(target, out, dist, got, n, &b->live[i], dist64(target, &b->live[i].key));
}

/* Buckets are visited nearest group first, so the scan stops early. With t the
 * prefix `target` shares with us: entries of bucket t are nearest (they agree with
 * the target on bit t), then those of every bucket past t (the first bit they
 * differ from the target in is t), then buckets t-1, t-2, ... 0, each farther than
 * the one before (first differing bit c). */
size_t
routing_closest(const routing_t *rt, const kad_key_t *target, size_t n, const routing_entry_t **out)
{
    size_t got = 0;
    if (n == 0)
        return 0;
    uint64_t *dist = ls_malloc(n * sizeof *dist);
    unsigned t = kad_key_cpl(target, &rt->self_key);
    scan_bucket(rt->buckets[t], target, out, dist, &got, n);
    /* buckets past t form one group (first differing bit t): a later one may hold
     * nearer entries than an earlier one, so the group is scanned whole */
    bool group_needed = got < n;
    for (unsigned c = t + 1; group_needed && c <= KAD_BUCKETS; c++)
        scan_bucket(rt->buckets[c], target, out, dist, &got, n);
    for (unsigned c = t; got < n && c-- > 0;)
        scan_bucket(rt->buckets[c], target, out, dist, &got, n);
    free(dist);
    return got;
}

const routing_entry_t *
routing_bucket_entry(const routing_t *rt, unsigned cpl, size_t i)
{
    const bucket_t *b = cpl <= KAD_BUCKETS ? rt->buckets[cpl] : NULL;
    return b && i < b->nlive ? &b->live[i] : NULL;
}

size_t
routing_size(const routing_t *rt)
{
    return rt->size;
}

size_t
routing_bucket_size(const routing_t *rt, unsigned cpl, size_t *replacements)
{
    const bucket_t *b = cpl <= KAD_BUCKETS ? rt->buckets[cpl] : NULL;
    if (replacements)
        *replacements = b ? b->nspare : 0;
    return b ? b->nlive : 0;
}

int
routing_refresh_due(const routing_t *rt, uint64_t now_ms, uint64_t interval_ms)
{
    int deepest = -1;
    for (int c = KAD_BUCKETS; c >= 0; c--)
        if (rt->buckets[c] && rt->buckets[c]->nlive > 0) {
            deepest = c;
            break;
        }
    for (int c = 0; c <= deepest + 1 && c < KAD_BUCKETS; c++) {
        const bucket_t *b = rt->buckets[c];
        uint64_t last = b ? b->refreshed_ms : 0;
        if (last + interval_ms <= now_ms)
            return c;
    }
    return -1;
}

void
routing_mark_refreshed(routing_t *rt, unsigned cpl, uint64_t now_ms)
{
    if (cpl > KAD_BUCKETS)
        return;
    bucket_get(rt, cpl, true)->refreshed_ms = now_ms;
}
