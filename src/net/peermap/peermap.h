/* peermap — a hash table of objects keyed by the peer ID they hold, for the net
 * layer's per-peer tables (peer store, connection manager, rate limiter).
 *
 * The map is intrusive: it stores pointers to the caller's objects, each of which
 * contains its peer_id_t at the `key_offset` given to peermap_new(), so a slot costs
 * 16 bytes rather than a copy of the key. The map never owns or frees the objects.
 *
 * Peer IDs arrive from the network (discovery, inbound connections), so an attacker
 * chooses them. A typed face of lib/keymap: SipHash-2-4 under a random key drawn per
 * map, so no one can precompute IDs that collide; linear probing with backward-shift
 * deletion keeps lookups short with no tombstones. Load stays at most 1/2. */
#ifndef LS_NET_PEERMAP_H
#define LS_NET_PEERMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/mem/mem.h"
#include "lib/peerid/peerid.h"

typedef struct peermap_t peermap_t;

/** An empty map whose objects hold their peer_id_t at byte `key_offset` (use
 *  offsetof). Never returns NULL. */
peermap_t *peermap_new(size_t key_offset);

/** Free the table, not the objects. NULL is a no-op. */
void peermap_free_(peermap_t *m);
#define peermap_free(m) FREE_AND_NULL(peermap_t, peermap_free_, (m))

/** Number of objects in the map. */
size_t peermap_count(const peermap_t *m);

/** The object whose key equals `id`, or NULL. */
void *peermap_get(const peermap_t *m, const peer_id_t *id);

/** Insert `obj` (not NULL) under the key it holds, replacing any object with an
 *  equal key. Returns the replaced object, or NULL if the key was new. The key
 *  inside `obj` must not change while it is in the map. */
void *peermap_put(peermap_t *m, void *obj);

/** Remove and return the object whose key equals `id`; NULL if there is none. */
void *peermap_remove(peermap_t *m, const peer_id_t *id);

/** Iterate: `size_t it = 0; void *obj; while ((obj = peermap_next(m, &it))) ...`.
 *  The order is arbitrary. The map must not be changed (put or remove) until the
 *  iteration ends: collect what to remove, then remove it. */
void *peermap_next(const peermap_t *m, size_t *it);

#endif
