/* peermap — see peermap.h. A peermap_t is a lib/keymap keymap_t under another name:
 * the pointer is converted, never dereferenced as a peermap_t, so the typed face
 * costs neither an allocation nor an indirection. */
#include "net/peermap/peermap.h"

#include "lib/keymap/keymap.h"

#define MIN_SLOTS 16

static keymap_t *
km(peermap_t *m)
{
    return (keymap_t *)m;
}

static const keymap_t *
ckm(const peermap_t *m)
{
    return (const keymap_t *)m;
}

/* A peer_id_t's bytes; an out-of-range length (never made by lib/peerid) is
 * clamped so the map cannot read past the struct. */
static const uint8_t *
view_peer_id(const void *key, size_t *len)
{
    const peer_id_t *id = key;

    *len = id->len <= PEER_ID_MAX_LEN ? id->len : PEER_ID_MAX_LEN;
    return id->bytes;
}

peermap_t *
peermap_new(size_t key_offset)
{
    return (peermap_t *)keymap_new(key_offset, view_peer_id, MIN_SLOTS);
}

void
peermap_free_(peermap_t *m)
{
    keymap_free_(km(m));
}

size_t
peermap_count(const peermap_t *m)
{
    return keymap_count(ckm(m));
}

/* peer_id_equal() never matches an out-of-range length: neither does the map. */
void *
peermap_get(const peermap_t *m, const peer_id_t *id)
{
    return id->len <= PEER_ID_MAX_LEN ? keymap_get(ckm(m), id) : NULL;
}

void *
peermap_put(peermap_t *m, void *obj)
{
    return keymap_put(km(m), obj);
}

void *
peermap_remove(peermap_t *m, const peer_id_t *id)
{
    return id->len <= PEER_ID_MAX_LEN ? keymap_remove(km(m), id) : NULL;
}

void *
peermap_next(const peermap_t *m, size_t *it)
{
    return keymap_next(ckm(m), it);
}
