/* gs_idmap — a hash table of objects keyed by the message ID they hold, for the
 * router's seen cache and message cache. A typed face of lib/keymap, as net/peermap
 * is: intrusive (objects hold a gs_msgid_t at `key_offset`; the map never owns them),
 * SipHash-2-4 under a random key (IDs are chosen by peers), linear probing with
 * backward-shift deletion, load <= 1/2. */
#ifndef LS_PUBSUB_GS_IDMAP_H
#define LS_PUBSUB_GS_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/mem/mem.h"
#include "pubsub/rpc/pubsub_msg.h"

/** A message ID: `len` bytes of `b`. */
typedef struct gs_msgid_t {
    uint8_t len;
    uint8_t b[PUBSUB_MSGID_MAX];
} gs_msgid_t;

/** Set `*id` from `len` bytes at `p`; false if longer than PUBSUB_MSGID_MAX. */
bool gs_msgid_set(gs_msgid_t *id, const uint8_t *p, size_t len);

typedef struct gs_idmap_t gs_idmap_t;

/** Never returns NULL. */
gs_idmap_t *gs_idmap_new(size_t key_offset);
void gs_idmap_free_(gs_idmap_t *m);
#define gs_idmap_free(m) FREE_AND_NULL(gs_idmap_t, gs_idmap_free_, (m))
size_t gs_idmap_count(const gs_idmap_t *m);
/** The object with key `id`, or NULL. */
void *gs_idmap_get(const gs_idmap_t *m, const gs_msgid_t *id);
/** Insert `obj`; returns the object it replaced (same key) or NULL. */
void *gs_idmap_put(gs_idmap_t *m, void *obj);
/** Remove and return the object with key `id`, or NULL. */
void *gs_idmap_remove(gs_idmap_t *m, const gs_msgid_t *id);

#endif
