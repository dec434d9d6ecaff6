/* cidset — a set of CIDs keyed by multihash (cidset.h). */
#include "lib/cidset/cidset.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crypto/random.h"

#define MIN_CAP 64

struct cidset_t {
    cid_t *slots;
    bool *used;
    size_t cap, n; /* cap: a power of two */
    uint8_t sipkey[crypto_shorthash_KEYBYTES];
};

static size_t
home_of(const cidset_t *s, const cid_t *cid)
{
    uint8_t buf[16 + MULTIHASH_MAX_DIGEST], out[crypto_shorthash_BYTES];
    uint64_t h = 0;
    size_t n = 0;
    memcpy(buf, &cid->hash.code, sizeof cid->hash.code);
    n += sizeof cid->hash.code;
    memcpy(buf + n, cid->hash.digest, cid->hash.len);
    n += cid->hash.len;
    crypto_shorthash(out, buf, n, s->sipkey);
    memcpy(&h, out, sizeof h);
    return (size_t)(h & (s->cap - 1));
}

static bool
same_hash(const cid_t *a, const cid_t *b)
{
    return a->hash.code == b->hash.code && a->hash.len == b->hash.len &&
           memcmp(a->hash.digest, b->hash.digest, a->hash.len) == 0;
}

/* The slot holding `cid`, or the empty slot where it would go. */
static size_t
find(const cidset_t *s, const cid_t *cid)
{
    size_t i = home_of(s, cid);
    while (s->used[i] && !same_hash(&s->slots[i], cid))
        i = (i + 1) & (s->cap - 1);
    return i;
}

static void
alloc_slots(cidset_t *s, size_t cap)
{
    s->cap = cap;
    s->slots = ls_calloc(cap, sizeof *s->slots);
    s->used = ls_calloc(cap, sizeof *s->used);
}

cidset_t *
cidset_new(void)
{
    cidset_t *s = ls_calloc(1, sizeof *s);
    random_bytes(s->sipkey, sizeof s->sipkey);
    alloc_slots(s, MIN_CAP);
    return s;
}

void
cidset_free_(cidset_t *s)
{
    if (!s)
        return;
    free(s->slots);
    free(s->used);
    free(s);
}

static void
grow(cidset_t *s)
{
    cid_t *old = s->slots;
    bool *old_used = s->used;
    size_t old_cap = s->cap;
    alloc_slots(s, old_cap * 2);
    for (size_t i = 0; i < old_cap; i++)
        if (old_used[i]) {
            size_t j = find(s, &old[i]);
            s->slots[j] = old[i];
            s->used[j] = true;
        }
    free(old);
    free(old_used);
}

bool
cidset_add(cidset_t *s, const cid_t *cid)
{
    if ((s->n + 1) * 2 > s->cap)
        grow(s);
    size_t i = find(s, cid);
    if (s->used[i])
        return false;
    s->slots[i] = *cid;
    s->used[i] = true;
    s->n++;
    return true;
}

bool
cidset_has(const cidset_t *s, const cid_t *cid)
{
    return s->used[find(s, cid)];
}

bool
cidset_remove(cidset_t *s, const cid_t *cid)
{
    size_t mask = s->cap - 1, i = find(s, cid);
    if (!s->used[i])
        return false;
    s->used[i] = false;
    s->n--;
    for (size_t j = (i + 1) & mask; s->used[j]; j = (j + 1) & mask) {
        size_t home = home_of(s, &s->slots[j]);
        /* move slots[j] into the hole at i unless its home lies in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        s->slots[i] = s->slots[j];
        s->used[i] = true;
        s->used[j] = false;
        i = j;
    }
    return true;
}

size_t
cidset_count(const cidset_t *s)
{
    return s->n;
}

bool
cidset_any(const cidset_t *s, cid_t *out)
{
    for (size_t i = 0; i < s->cap; i++)
        if (s->used[i]) {
            *out = s->slots[i];
            return true;
        }
    return false;
}
