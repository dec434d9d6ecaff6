/* pin — direct and recursive pins over a blockstore, and garbage collection.
 *
 * A pin names a CID. A direct pin protects that block; a recursive pin protects
 * the whole DAG under it, and every block of that DAG that is not itself pinned is
 * "indirectly" pinned. The blockstore does not decode blocks: recursion goes
 * through a caller-given links callback (the node passes dag-pb's link walker), so
 * this module stays independent of any codec. Raw-codec blocks have no links and
 * are never read while pinning.
 *
 * The mark set is materialised when a pin is added: SQLite `pin_refs` holds one
 * (pin, block) row per distinct block of the pin's DAG. GC is then "delete every
 * block no pin refers to" — index work, no DAG walk, no block read — and pinned
 * blocks cannot be deleted (blockstore_delete() gives LS_EACCES). A pinned block
 * later found corrupt stays in the index marked absent, so a re-fetch (a plain
 * blockstore_put()) makes the pin whole again and pin_missing() lists what to fetch.
 *
 * Concurrency contract: everything runs on the event loop. blockstore_gc() is
 * synchronous and refuses (LS_ELOCKED) while a blockstore batch is open or a hold
 * is taken (blockstore_hold()); so an `add` in a batch, or a download holding the
 * store, never loses blocks to a GC before it pins them. */
#ifndef LS_CONTENT_BLOCKSTORE_PIN_H
#define LS_CONTENT_BLOCKSTORE_PIN_H

#include <stdbool.h>
#include <stdint.h>

#include "content/blockstore/blockstore.h"

typedef enum pin_mode_t {
    PIN_NONE = 0,
    PIN_DIRECT = 1,
    PIN_RECURSIVE = 2,
    PIN_INDIRECT = 3, /* under a recursive pin (status only; cannot be added) */
} pin_mode_t;

/** The links of one block. `fn` appends the CIDs `block` (borrowed, already
 *  verified against `cid`) links to, in order, to `out`. It returns 0, or a
 *  negative error (e.g. LS_EINVAL for a malformed node), which aborts the pin. It
 *  is never called for raw-codec blocks. */
typedef struct pin_links_t {
    void *ctx; /* passed back, never freed */
    int (*fn)(void *ctx, const cid_t *cid, const uint8_t *block, size_t len,
              blockstore_cidlist_t *out);
} pin_links_t;

/** Most missing CIDs pin_add() reports. */
#define PIN_MAX_MISSING_REPORT 1024

/** Pin `cid`, directly or (with `recursive`) with its whole DAG, walking it with
 *  `links` (borrowed; may be NULL when every block is raw). Every block must be
 *  held: if some are not, nothing changes, the first PIN_MAX_MISSING_REPORT
 *  missing CIDs are appended to `missing` (may be NULL) and LS_ENOENT is returned.
 *  Idempotent; a direct pin is upgraded to recursive, while a direct pin on a
 *  recursively pinned CID is LS_EEXIST. A batch's pending rows are indexed first.
 *  Other errors: the callback's, LS_ECORRUPT if a block fails its hash check (it
 *  is also reported missing), db errors. */
int pin_add(blockstore_t *bs, const cid_t *cid, bool recursive, const pin_links_t *links,
            blockstore_cidlist_t *missing);

/** Remove the pin on `cid` (direct or recursive). 0 or LS_ENOENT. The blocks stay
 *  until a GC. */
int pin_rm(blockstore_t *bs, const cid_t *cid);

/** Called by pin_ls() per pin; non-zero stops the listing. */
typedef int (*pin_ls_fn)(void *ctx, const cid_t *cid, pin_mode_t mode);
/** List pins in the order they were added. 0, the callback's value or a db error. */
int pin_ls(blockstore_t *bs, pin_ls_fn fn, void *ctx);

/** The pin status of `cid` (a pin_mode_t >= 0) or a negative db error. A pin on
 *  the CID itself wins over INDIRECT; a pin made through another CID of the same
 *  multihash reports INDIRECT. */
int pin_status(blockstore_t *bs, const cid_t *cid);
/** True if `cid`'s block is protected from GC in any way. */
bool pin_is_pinned(blockstore_t *bs, const cid_t *cid);

/** Append to `out` the blocks that recursive or direct pins refer to but that are
 *  no longer on disk (found corrupt and quarantined); at most `max`. Returns how
 *  many were appended, or a db error. */
int pin_missing(blockstore_t *bs, blockstore_cidlist_t *out, size_t max);

typedef struct blockstore_gc_result_t {
    uint64_t blocks;     /* blocks freed */
    uint64_t bytes;      /* bytes freed */
    uint64_t pack_bytes; /* pack file bytes given back to the disk by compaction */
} blockstore_gc_result_t;

/** Delete every block that no pin protects, then compact the packs left less than
 *  half live (blockstore.h). `out` may be NULL. 0; LS_ELOCKED while a batch is
 *  open or a hold is taken (nothing deleted); -errno or a db error (blocks freed
 *  so far stay freed and are counted). A kill -9 during GC leaves rows without
 *  files, or a pack a compaction emptied, both finished at the next open. */
int blockstore_gc(blockstore_t *bs, blockstore_gc_result_t *out);

#endif
