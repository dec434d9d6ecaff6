/* keymap — see keymap.h. */
#include "lib/keymap/keymap.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crypto/random.h"

typedef struct slot_t {
    uint64_t hash;
    void *obj; /* NULL: empty */
} slot_t;

struct keymap_t {
    slot_t *slots;
    size_t cap; /* a power of two */
    size_t count;
    size_t key_offset;
    keymap_view_fn view;
    uint8_t sipkey[crypto_shorthash_KEYBYTES];
};

static const void *
key_of(const keymap_t *m, const void *obj)
{
    return (const char *)obj + m->key_offset;
}

static uint64_t
hash_key(const keymap_t *m, const void *key)
{
    uint8_t out[crypto_shorthash_BYTES];
    size_t len;
    const uint8_t *b = m->view(key, &len);
    uint64_t h;

    crypto_shorthash(out, b, len, m->sipkey);
    memcpy(&h, out, sizeof h);
    return h;
}

static bool
key_equal(const keymap_t *m, const void *a, const void *b)
{
    size_t alen, blen;
    const uint8_t *ab = m->view(a, &alen);
    const uint8_t *bb = m->view(b, &blen);

    return alen == blen && (alen == 0 || memcmp(ab, bb, alen) == 0);
}

keymap_t *
keymap_new(size_t key_offset, keymap_view_fn view, size_t min_slots)
{
    keymap_t *m = ls_calloc(1, sizeof *m);

    m->cap = 2;
    while (m->cap < min_slots)
        m->cap *= 2;
    m->slots = ls_calloc(m->cap, sizeof *m->slots);
    m->key_offset = key_offset;
    m->view = view;
    random_bytes(m->sipkey, sizeof m->sipkey);
    return m;
}

void
keymap_free_(keymap_t *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

size_t
keymap_count(const keymap_t *m)
{
    return m->count;
}

/* The slot holding `key`, or the empty slot where it would go. Load <= 1/2 means
 * there always is an empty slot, so the probe ends. */
static size_t
find_slot(const keymap_t *m, const void *key, uint64_t h)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)h & mask;

    while (m->slots[i].obj) {
        if (m->slots[i].hash == h && key_equal(m, key_of(m, m->slots[i].obj), key))
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

/* Double the table; stored hashes are reused, so no key is read or rehashed. */
static void
grow(keymap_t *m)
{
    slot_t *old = m->slots;
    size_t oldcap = m->cap;
    size_t mask;

    m->cap *= 2;
    mask = m->cap - 1;
    m->slots = ls_calloc(m->cap, sizeof *m->slots);
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].obj)
            continue;
        size_t j = (size_t)old[i].hash & mask;
        while (m->slots[j].obj)
            j = (j + 1) & mask;
        m->slots[j] = old[i];
    }
    free(old);
}

void *
keymap_get(const keymap_t *m, const void *key)
{
    return m->slots[find_slot(m, key, hash_key(m, key))].obj;
}

void *
keymap_put(keymap_t *m, void *obj)
{
    const void *key = key_of(m, obj);
    uint64_t h = hash_key(m, key);
    size_t i = find_slot(m, key, h);
    void *old = m->slots[i].obj;

    if (old) {
        m->slots[i].obj = obj;
        return old;
    }
    if ((m->count + 1) * 2 > m->cap) {
        grow(m);
        i = find_slot(m, key, h);
    }
    m->slots[i] = (slot_t){h, obj};
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
keymap_remove(keymap_t *m, const void *key)
{
    size_t mask = m->cap - 1;
    size_t i = find_slot(m, key, hash_key(m, key));
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
    m->slots[i] = (slot_t){0, NULL};
    m->count--;
    return obj;
}

void *
keymap_next(const keymap_t *m, size_t *it)
{
    while (*it < m->cap) {
        void *obj = m->slots[(*it)++].obj;
        if (obj)
            return obj;
    }
    return NULL;
}
