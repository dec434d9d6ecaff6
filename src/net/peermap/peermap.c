#include "net/peermap/peermap.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/crypto/random.h"

#define MIN_CAP 16

typedef struct slot_t {
    uint64_t hash;
    void *obj; /* NULL: empty */
} slot_t;

struct peermap_t {
    slot_t *slots;
    size_t cap; /* a power of two */
    size_t count;
    size_t key_offset;
    uint8_t sipkey[crypto_shorthash_KEYBYTES];
};

static const peer_id_t *
key_of(const peermap_t *m, const void *obj)
{
    return (const peer_id_t *)((const char *)obj + m->key_offset);
}

static uint64_t
hash_id(const peermap_t *m, const peer_id_t *id)
{
    uint8_t out[crypto_shorthash_BYTES];
    size_t len = id->len <= PEER_ID_MAX_LEN ? id->len : PEER_ID_MAX_LEN;
    uint64_t h = 0;

    crypto_shorthash(out, id->bytes, len, m->sipkey);
    for (size_t i = 0; i < sizeof out; i++)
        h = (h << 8) | out[i];
    return h;
}

peermap_t *
peermap_new(size_t key_offset)
{
    peermap_t *m = ls_calloc(1, sizeof *m);
    m->cap = MIN_CAP;
    m->slots = ls_calloc(m->cap, sizeof *m->slots);
    m->key_offset = key_offset;
    random_bytes(m->sipkey, sizeof m->sipkey);
    return m;
}

void
peermap_free_(peermap_t *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

size_t
peermap_count(const peermap_t *m)
{
    return m->count;
}

/* The slot holding `id`, or the empty slot where it would go. */
static size_t
find_slot(const peermap_t *m, const peer_id_t *id, uint64_t h)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)h & mask;

    while (m->slots[i].obj) {
        if (m->slots[i].hash == h && peer_id_equal(key_of(m, m->slots[i].obj), id))
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

static void
grow(peermap_t *m)
{
    slot_t *old = m->slots;
    size_t oldcap = m->cap;

    m->cap *= 2;
    m->slots = ls_calloc(m->cap, sizeof *m->slots);
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].obj)
            continue;
        size_t j = (size_t)old[i].hash & (m->cap - 1);
        while (m->slots[j].obj)
            j = (j + 1) & (m->cap - 1);
        m->slots[j] = old[i];
    }
    free(old);
}

void *
peermap_get(const peermap_t *m, const peer_id_t *id)
{
    return m->slots[find_slot(m, id, hash_id(m, id))].obj;
}

void *
peermap_put(peermap_t *m, void *obj)
{
    const peer_id_t *id = key_of(m, obj);
    uint64_t h = hash_id(m, id);
    size_t i = find_slot(m, id, h);
    void *old = m->slots[i].obj;

    if (old) {
        m->slots[i].obj = obj;
        return old;
    }
    if ((m->count + 1) * 2 > m->cap) {
        grow(m);
        i = find_slot(m, id, h);
    }
    m->slots[i].hash = h;
    m->slots[i].obj = obj;
    m->count++;
    return NULL;
}

/* True if home slot `k` lies cyclically in (i, j]: the entry at j may not move to i. */
static bool
home_between(size_t i, size_t j, size_t k)
{
    if (i <= j)
        return i < k && k <= j;
    return i < k || k <= j;
}

void *
peermap_remove(peermap_t *m, const peer_id_t *id)
{
    size_t mask = m->cap - 1;
    size_t i = find_slot(m, id, hash_id(m, id));
    void *obj = m->slots[i].obj;

    if (!obj)
        return NULL;
    /* Backward-shift deletion: pull later entries of the run into the hole when
     * their home slot allows it, so lookups never need tombstones. */
    for (size_t j = (i + 1) & mask; m->slots[j].obj; j = (j + 1) & mask) {
        size_t k = (size_t)m->slots[j].hash & mask;
        if (home_between(i, j, k))
            continue;
        m->slots[i] = m->slots[j];
        i = j;
    }
    m->slots[i].obj = NULL;
    m->slots[i].hash = 0;
    m->count--;
    return obj;
}

void *
peermap_next(const peermap_t *m, size_t *it)
{
    while (*it < m->cap) {
        void *obj = m->slots[(*it)++].obj;
        if (obj)
            return obj;
    }
    return NULL;
}
