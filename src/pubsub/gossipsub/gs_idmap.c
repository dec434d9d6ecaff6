/* gs_idmap — see gs_idmap.h. A gs_idmap_t is a lib/keymap keymap_t under another
 * name: the pointer is converted, never dereferenced as a gs_idmap_t, so the typed
 * face costs neither an allocation nor an indirection. */
#include "pubsub/gossipsub/gs_idmap.h"

#include <string.h>

#include "lib/keymap/keymap.h"

/* The first table size of every gs_idmap: seen cache, message cache, pending
 * validations and each peer's DONTWANT list. */
#define MIN_SLOTS 64

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

static keymap_t *
km(gs_idmap_t *m)
{
    return (keymap_t *)m;
}

static const keymap_t *
ckm(const gs_idmap_t *m)
{
    return (const keymap_t *)m;
}

/* A gs_msgid_t's bytes; gs_msgid_set() keeps len in range, clamped here anyway so
 * the map cannot read past the struct. */
static const uint8_t *
view_msgid(const void *key, size_t *len)
{
    const gs_msgid_t *id = key;

    *len = id->len <= PUBSUB_MSGID_MAX ? id->len : PUBSUB_MSGID_MAX;
    return id->b;
}

gs_idmap_t *
gs_idmap_new(size_t key_offset)
{
    return (gs_idmap_t *)keymap_new(key_offset, view_msgid, MIN_SLOTS);
}

void
gs_idmap_free_(gs_idmap_t *m)
{
    keymap_free_(km(m));
}

size_t
gs_idmap_count(const gs_idmap_t *m)
{
    return keymap_count(ckm(m));
}

void *
gs_idmap_get(const gs_idmap_t *m, const gs_msgid_t *id)
{
    return keymap_get(ckm(m), id);
}

void *
gs_idmap_put(gs_idmap_t *m, void *obj)
{
    return keymap_put(km(m), obj);
}

void *
gs_idmap_remove(gs_idmap_t *m, const gs_msgid_t *id)
{
    return keymap_remove(km(m), id);
}
