/* gs_idmap — see gs_idmap.h. */
#include "pubsub/gossipsub/gs_idmap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crypto/random.h"

#define MIN_CAP 64

typedef struct slot_t {
    uint64_t hash;
    void *obj; /* NULL: empty */
} slot_t;

struct gs_idmap_t {
    slot_t *slots;
    size_t cap; /* a power of two */
    size_t count;
    size_t key_offset;
    uint8_t sipkey[crypto_shorthash_KEYBYTES];
};

bool
gs_msgid_set(gs_msgid_t *id, const uint8_t *p, size_t len)
{
    if (len > PUBSUB_MSGID_MAX)
        return false;
    memset(id, 0, sizeof *id);
    id->len = (uint8_t)len;
    if (len)
        memcpy(id->b, p, len);
    return true;
}

static const gs_msgid_t *
key_of(const gs_idmap_t *m, const void *obj)
{
    return (const gs_msgid_t *)((const char *)obj + m->key_offset);
}

static bool
key_eq(const gs_msgid_t *a, const gs_msgid_t *b)
{
    return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

static uint64_t
hash_id(const gs_idmap_t *m, const gs_msgid_t *id)
{
    uint8_t out[crypto_shorthash_BYTES];
    uint64_t h = 0;

    crypto_shorthash(out, id->b, id->len, m->sipkey);
    for (size_t i = 0; i < sizeof out; i++)
        h = (h << 8) | out[i];
    return h;
}

gs_idmap_t *
gs_idmap_new(size_t key_offset)
{
    gs_idmap_t *m = ls_calloc(1, sizeof *m);
    m->cap = MIN_CAP;
    m->slots = ls_calloc(m->cap, sizeof *m->slots);
    m->key_offset = key_offset;
    random_bytes(m->sipkey, sizeof m->sipkey);
    return m;
}

void
gs_idmap_free_(gs_idmap_t *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

size_t
gs_idmap_count(const gs_idmap_t *m)
{
    return m->count;
}

static size_t
find_slot(const gs_idmap_t *m, const gs_msgid_t *id, uint64_t h)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)h & mask;

    while (m->slots[i].obj) {
        if (m->slots[i].hash == h && key_eq(key_of(m, m->slots[i].obj), id))
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

void *
gs_idmap_get(const gs_idmap_t *m, const gs_msgid_t *id)
{
    return m->slots[find_slot(m, id, hash_id(m, id))].obj;
}

static void
grow(gs_idmap_t *m)
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
gs_idmap_put(gs_idmap_t *m, void *obj)
{
    const gs_msgid_t *id = key_of(m, obj);
    uint64_t h = hash_id(m, id);
    size_t i = find_slot(m, id, h);
    void *prev = m->slots[i].obj;

    if (prev) {
        m->slots[i].obj = obj;
        return prev;
    }
    if (2 * (m->count + 1) > m->cap) {
        grow(m);
        i = find_slot(m, id, h);
    }
    m->slots[i] = (slot_t){h, obj};
    m->count++;
    return NULL;
}

void *
gs_idmap_remove(gs_idmap_t *m, const gs_msgid_t *id)
{
    size_t mask = m->cap - 1;
    size_t i = find_slot(m, id, hash_id(m, id));
    void *obj = m->slots[i].obj;

    if (!obj)
        return NULL;
    /* backward-shift deletion: pull later entries of the run into the hole */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j].obj)
            break;
        size_t home = (size_t)m->slots[j].hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i] = (slot_t){0, NULL};
    m->count--;
    return obj;
}
