/* keymap — an intrusive hash table of objects keyed by a byte string they hold, the
 * one behind net/peermap (peer IDs) and pubsub's gs_idmap (message IDs).
 *
 * The map stores pointers to the caller's objects, each of which contains its key at
 * the `key_offset` given to keymap_new(), so a slot costs 16 bytes (hash + pointer)
 * rather than a copy of the key. The map never owns or frees the objects. A key is
 * any struct the caller likes (a length field and a byte array, typically); the map
 * reads its bytes through the `view` function, which it calls only when two full
 * 64-bit hashes agree, so the indirection costs about one call per lookup.
 *
 * Keys usually come from the network, so an attacker chooses them: they are hashed
 * with SipHash-2-4 (libsodium crypto_shorthash) under a random key drawn per map,
 * so no one can precompute keys that collide. Linear probing with backward-shift
 * deletion keeps lookups short with no tombstones. Load stays at most 1/2; the
 * table grows by doubling and never shrinks (its high-water mark is the bound). */
#ifndef LS_LIB_KEYMAP_KEYMAP_H
#define LS_LIB_KEYMAP_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

#include "lib/mem/mem.h"

typedef struct keymap_t keymap_t;

/** The bytes of the key struct at `key` and, in `*len`, their number. Must return
 *  the same bytes for as long as the object is in the map, and must not read past
 *  the struct (clamp an out-of-range length field). */
typedef const uint8_t *(*keymap_view_fn)(const void *key, size_t *len);

/** An empty map whose objects hold their key struct at byte `key_offset` (use
 *  offsetof), read through `view`. `min_slots` (rounded up to a power of two, at
 *  least 2) is the table's first size: small for maps made by the thousand. Never
 *  returns NULL. */
keymap_t *keymap_new(size_t key_offset, keymap_view_fn view, size_t min_slots);

/** Free the table, not the objects. NULL is a no-op. */
void keymap_free_(keymap_t *m);
#define keymap_free(m) FREE_AND_NULL(keymap_t, keymap_free_, (m))

/** Number of objects in the map. */
size_t keymap_count(const keymap_t *m);

/** The object whose key equals the key struct `key` (same layout as the objects'
 *  keys, read through `view`), or NULL. */
void *keymap_get(const keymap_t *m, const void *key);

/** Insert `obj` (not NULL) under the key it holds, replacing any object with an
 *  equal key. Returns the replaced object, or NULL if the key was new. The key
 *  inside `obj` must not change while it is in the map. */
void *keymap_put(keymap_t *m, void *obj);

/** Remove and return the object whose key equals `key`; NULL if there is none. */
void *keymap_remove(keymap_t *m, const void *key);

/** Iterate: `size_t it = 0; void *obj; while ((obj = keymap_next(m, &it))) ...`.
 *  The order is arbitrary. The map must not be changed (put or remove) until the
 *  iteration ends: collect what to remove, then remove it. */
void *keymap_next(const keymap_t *m, size_t *it);

#endif
