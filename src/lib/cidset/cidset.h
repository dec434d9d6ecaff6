/* cidset — a set of CIDs keyed by their multihash: two CIDs of the same bytes under
 * other codecs are one member, as a blockstore keys blocks (kubo, helia).
 *
 * The CIDs come from the network (links of DAGs anyone can write), so members are
 * hashed with SipHash-2-4 under a random key drawn per set: no one can prepare CIDs
 * that collide. Open addressing, linear probing, backward-shift deletion (no
 * tombstones), load at most 1/2. Members are copied in. */
#ifndef LS_LIB_CIDSET_CIDSET_H
#define LS_LIB_CIDSET_CIDSET_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/cid/cid.h"
#include "lib/mem/mem.h"

typedef struct cidset_t cidset_t;

/** An empty set. Never NULL. */
cidset_t *cidset_new(void);

/** Free the set. NULL is a no-op. */
void cidset_free_(cidset_t *s);
#define cidset_free(s) FREE_AND_NULL(cidset_t, cidset_free_, (s))

/** Add `cid`; true if it was not a member (by multihash) before. */
bool cidset_add(cidset_t *s, const cid_t *cid);

/** True if a CID with `cid`'s multihash is a member. */
bool cidset_has(const cidset_t *s, const cid_t *cid);

/** Remove the member with `cid`'s multihash; true if there was one. */
bool cidset_remove(cidset_t *s, const cid_t *cid);

/** Members. */
size_t cidset_count(const cidset_t *s);

/** Some member (the first in slot order) into `*out`; false if the set is empty. */
bool cidset_any(const cidset_t *s, cid_t *out);

#endif
