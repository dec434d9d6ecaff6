/* bitswap_map — byte-keyed hash map for the Bitswap engine (bitswap_internal.h). */
#include "content/bitswap/bitswap_internal.h"

#include <stdlib.h>
#include <string.h>

#include "lib/mem/mem.h"
#include "lib/varint/varint.h"

typedef struct node_t {
    struct node_t *next;
    void *val;
    uint8_t klen;
    uint8_t key[BITSWAP_CID_MAX];
} node_t;

struct bitswap_map_t {
    node_t **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
    uint64_t seed;
};

/* FNV-1a over the key, started from a random seed and finished with a mixer so the
 * low bits (the bucket) depend on every byte. */
static size_t
hash_key(const bitswap_map_t *m, const uint8_t *k, size_t n)
{
    uint64_t h = m->seed ^ 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ k[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (size_t)h & (m->nbuckets - 1);
}

bitswap_map_t *
bitswap_map_new(uint64_t seed)
{
    bitswap_map_t *m = ls_calloc(1, sizeof *m);
    m->nbuckets = 16;
    m->buckets = ls_calloc(m->nbuckets, sizeof *m->buckets);
    m->seed = seed;
    return m;
}

void
bitswap_map_free_(bitswap_map_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++)
        for (node_t *n = m->buckets[i], *next; n; n = next) {
            next = n->next;
            free(n);
        }
    free(m->buckets);
    free(m);
}

static node_t **
find(const bitswap_map_t *m, const uint8_t *k, size_t n)
{
    node_t **pp = &m->buckets[hash_key(m, k, n)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->klen == n && memcmp((*pp)->key, k, n) == 0)
            return pp;
    return pp;
}

void *
bitswap_map_get(const bitswap_map_t *m, const uint8_t *key, size_t klen)
{
    node_t *n = *find(m, key, klen);
    return n ? n->val : NULL;
}

static void
grow(bitswap_map_t *m)
{
    size_t old = m->nbuckets;
    node_t **ob = m->buckets;
    m->nbuckets = old * 2;
    m->buckets = ls_calloc(m->nbuckets, sizeof *m->buckets);
    for (size_t i = 0; i < old; i++)
        for (node_t *n = ob[i], *next; n; n = next) {
            next = n->next;
            size_t b = hash_key(m, n->key, n->klen);
            n->next = m->buckets[b];
            m->buckets[b] = n;
        }
    free(ob);
}

void
bitswap_map_put(bitswap_map_t *m, const uint8_t *key, size_t klen, void *val)
{
    node_t **pp = find(m, key, klen);
    if (*pp) {
        (*pp)->val = val;
        return;
    }
    if (klen > BITSWAP_CID_MAX)
        abort(); /* our bug: keys are encoded CIDs, multihashes or peer IDs */
    node_t *n = ls_calloc(1, sizeof *n);
    n->val = val;
    n->klen = (uint8_t)klen;
    memcpy(n->key, key, klen);
    *pp = n;
    if (++m->count > m->nbuckets)
        grow(m);
}

void *
bitswap_map_del(bitswap_map_t *m, const uint8_t *key, size_t klen)
{
    node_t **pp = find(m, key, klen), *n = *pp;
    if (!n)
        return NULL;
    void *val = n->val;
    *pp = n->next;
    free(n);
    m->count--;
    return val;
}

size_t
bitswap_map_count(const bitswap_map_t *m)
{
    return m->count;
}

void
bitswap_map_each(const bitswap_map_t *m, void (*fn)(void *ctx, void *val), void *ctx)
{
    for (size_t i = 0; i < m->nbuckets; i++)
        for (node_t *n = m->buckets[i], *next; n; n = next) {
            next = n->next;
            fn(ctx, n->val);
        }
}

size_t
bitswap_mh_key(const multihash_t *mh, uint8_t out[static BITSWAP_CID_MAX])
{
    size_t n = varint_encode(mh->code, out);
    size_t len = LS_MIN(mh->len, (size_t)MULTIHASH_MAX_DIGEST);
    n += varint_encode(len, out + n);
    memcpy(out + n, mh->digest, len);
    return n + len;
}
