/* blockstore — content-addressed blocks on disk with an index in SQLite.
 *
 * Layout (docs/PERFORMANCE.md, "Content", has the measurements behind it). New
 * blocks go to pack files (BLOCKSTORE_LAYOUT_PACK, the default):
 *   <dir>/packs/<id>.pack      append-only files of records (a small header naming
 *                              the block, then its bytes), closed for appends at
 *                              256 MiB; SQLite `blocks` holds (pack, offset, size)
 *                              and `packs` each pack's committed length;
 * Stores written before packs (and BLOCKSTORE_LAYOUT_FILES) keep one file per block,
 * still read, deleted and repaired as before:
 *   <dir>/<shard>/<KEY>.data   KEY = upper-case unpadded base32 of the binary
 *                              multihash, shard = the two characters before KEY's
 *                              last one (kubo flatfs "next-to-last/2");
 *   <dir>/quarantine/          bytes of blocks that failed their hash check on read;
 *   SQLite `blocks`            integer rowid, multihash (UNIQUE index), codec, size,
 *                              added time, present flag, location
 *                              (content_migrations.c).
 * Blocks are keyed by multihash, as in kubo: a CIDv0 and a CIDv1 of the same bytes
 * share one record. One file per 256 KiB block cost an inode allocation and a
 * directory entry each, a third of `lester add`'s time; a pack costs one append.
 *
 * Durability. Index rows only ever name synced bytes: a pack put appends its record,
 * fdatasyncs the pack (a batch: once per flush) and only then commits its rows; a
 * file put writes a temporary file and renames it before its row. A kill -9 at any
 * moment leaves at worst records or files without rows (or, after a delete, a row
 * without a file). The store records a clean close in SQLite; opening a store that
 * was not closed cleanly repairs it (blockstore_repair()): records past a pack's
 * committed length are verified and indexed up to the first torn one, where the
 * pack is cut. fsync policy is blockstore_sync_t. Power loss can lose an
 * uncommitted batch, never mix states.
 *
 * GC (pin.h) deletes index rows; packs left less than half live are rewritten
 * (live records copied to the current pack, synced, rows moved in one transaction,
 * then the old pack unlinked), packs with nothing live are unlinked.
 *
 * I/O. Downloads are written with O_DIRECT (repo.direct_io; no page-cache copy),
 * imports through the page cache (blockstore_put_hot: the publisher serves them
 * next); closed packs are read through the page cache when it holds the block, else
 * through O_DIRECT extents read ahead by a thread (blockstore_reader.c).
 *
 * Threading: one thread (the event loop), like the db_t it borrows; inside, two
 * writer threads per store perform the pack appends and tees (blockstore_writer.c)
 * and one reads ahead (blockstore_reader.c); every call that needs the appends on
 * disk waits for them. GC
 * (pin.h) refuses to run while a batch is open or a hold is taken. */
#ifndef LS_CONTENT_BLOCKSTORE_H
#define LS_CONTENT_BLOCKSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/cid/cid.h"
#include "lib/db/db.h"
#include "lib/mem/mem.h"

/** Default and largest block size. IPFS peers send blocks up to 2 MiB
 *  (Bitswap's limit); the default chunker makes 256 KiB ones. */
#define BLOCKSTORE_DEFAULT_MAX_BLOCK ((size_t)2 << 20)
#define BLOCKSTORE_MAX_BLOCK ((size_t)4 << 20)
/** Pending rows of a batch written to SQLite at once (bounds memory and the work
 *  a crash can leave unindexed). */
#define BLOCKSTORE_DEFAULT_BATCH_FLUSH 4096

typedef struct blockstore_t blockstore_t;

typedef enum blockstore_sync_t {
    /* default: a lone put fsyncs its pack (or its file and directory); a batch is
     * made durable by one fdatasync of the pack (syncfs for files) before its rows
     * commit */
    BLOCKSTORE_SYNC_BATCH = 0,
    /* every put fsyncs its file and directory, inside a batch too (slowest) */
    BLOCKSTORE_SYNC_EACH,
    /* never fsync: kill -9 safe, not power-loss safe (tests, scratch stores) */
    BLOCKSTORE_SYNC_NONE,
} blockstore_sync_t;

typedef enum blockstore_layout_t {
    BLOCKSTORE_LAYOUT_PACK = 0, /* default: new blocks appended to pack files */
    BLOCKSTORE_LAYOUT_FILES,    /* new blocks as one file each (the old layout) */
} blockstore_layout_t;

typedef struct blockstore_config_t {
    uint64_t max_bytes;         /* disk quota in block bytes (repo.max_bytes); 0 = none */
    blockstore_layout_t layout; /* where new blocks go; both are always readable */
    size_t max_block;           /* 0 = BLOCKSTORE_DEFAULT_MAX_BLOCK; <= BLOCKSTORE_MAX_BLOCK */
    blockstore_sync_t sync;     /* see above */
    size_t batch_flush;         /* 0 = BLOCKSTORE_DEFAULT_BATCH_FLUSH */
    uint64_t pack_max;          /* a pack takes no appends past this; 0 = 256 MiB */
    bool buffered;              /* write packs through the page cache (no O_DIRECT) */
} blockstore_config_t;

typedef struct blockstore_stat_t {
    uint64_t blocks;         /* blocks held (batch-pending ones included) */
    uint64_t bytes;          /* their total size */
    uint64_t max_bytes;      /* the quota, 0 = none */
    uint64_t pins_recursive; /* pins.h */
    uint64_t pins_direct;
    uint64_t pinned_blocks; /* distinct blocks protected by some pin */
    const char *path;       /* the blocks directory, borrowed from the store */
} blockstore_stat_t;

/** A growable list of CIDs (the links callback of pin.h fills one). Zero-initialise
 *  it; blockstore_cidlist_clear() frees it. */
typedef struct blockstore_cidlist_t {
    cid_t *items;
    size_t n;
    size_t cap;
} blockstore_cidlist_t;

void blockstore_cidlist_push(blockstore_cidlist_t *l, const cid_t *cid);
/** Free the items; the list is empty and reusable afterwards. */
void blockstore_cidlist_clear(blockstore_cidlist_t *l);

/** Open the store rooted at `dir` (created if needed) with its index in `db`
 *  (borrowed: it must outlive the store and have content_migrations applied).
 *  `cfg` may be NULL for defaults. If the store was not closed cleanly, it is
 *  repaired first (blockstore_repair()). On success `*out` owns the store. On error
 *  `*out` is NULL, a message is appended to `err` (may be NULL) and the result is
 *  LS_ECONFIG (bad config), LS_EINVAL (path too long), -errno, or a db error. */
int blockstore_open(const char *dir, db_t *db, const blockstore_config_t *cfg, blockstore_t **out,
                    buf_t *err);

/** Abort an open batch, mark the store cleanly closed and free it. NULL is a
 *  no-op. */
void blockstore_free_(blockstore_t *bs);
#define blockstore_free(b) FREE_AND_NULL(blockstore_t, blockstore_free_, (b))

/** Store `len` bytes at `data` (borrowed) as the block `cid`. The bytes are hashed
 *  first: LS_ECORRUPT if they do not match the CID's multihash, LS_ENOTSUP for a
 *  hash function Lester cannot verify (only sha2-256 and identity), LS_ETOOBIG
 *  over the block size limit, LS_ELIMIT if the quota would be passed (the caller
 *  may run pin.h's blockstore_gc() and retry; put never collects by itself, so an
 *  import in progress is never eaten by its own quota). Idempotent: an existing
 *  block is 0 without I/O. Else -errno or a db error, and nothing is stored. */
int blockstore_put(blockstore_t *bs, const cid_t *cid, const uint8_t *data, size_t len);

/** As blockstore_put(), without hashing: for callers that have just computed `cid`
 *  from these very bytes (the UnixFS importer) or verified them (Bitswap), so a
 *  block is hashed once on its way in. Passing bytes that do not match `cid` stores
 *  a corrupt block, served as it is until the store is reopened (then
 *  blockstore_get() catches it): a bug in the caller. */
int blockstore_put_hashed(blockstore_t *bs, const cid_t *cid, const uint8_t *data, size_t len);

/** As blockstore_put_hashed(), for bytes that will be read again soon: written
 *  through the page cache even when the store writes directly (repo.direct_io). An
 *  import: the publisher is the first to serve its blocks, and their source file is
 *  in the cache already; a download's blocks go straight to the disk instead, the
 *  file the user asked for being what is read next. */
int blockstore_put_hot(blockstore_t *bs, const cid_t *cid, const uint8_t *data, size_t len);

/** A buffer of at least `len` bytes to read one block into before putting it: the
 *  place in the pack writer's stage where the next hot append of a `len`-byte block
 *  named by a SHA-256 multihash puts its bytes, so a blockstore_put_hot() with this
 *  `data` copies nothing (`lester add`). Owned by
 *  the store, valid until the next call into it. NULL when the store keeps one file
 *  per block, or the next append starts a new pack: use your own. */
uint8_t *blockstore_put_buffer(blockstore_t *bs, size_t len);

/** Write the bytes of `cid` (`len` of them), which the last put appended and
 *  which are still staged, at `off` of the file `fd` as well, from the writer
 *  thread, without another copy on the caller's thread (`lester get` writing the
 *  user's file). `dfd`: an O_DIRECT descriptor of the same file, used when offset
 *  and length are multiples of 4096, or -1. 0 if queued; LS_ENOENT if the last put
 *  did not append these bytes or they are already written: write them yourself.
 *  Both descriptors must stay open until blockstore_tee_wait(bs, fd). */
int blockstore_tee_last(blockstore_t *bs, const cid_t *cid, size_t len, int fd, int dfd,
                        uint64_t off);
/** Wait for every queued tee write. 0, or the first error of one into `fd` (the
 *  buffered descriptor given to blockstore_tee_last) since the last call for it. */
int blockstore_tee_wait(blockstore_t *bs, int fd);

/** A hint: `cid` will be read soon (a seeder's queue). If it sits on disk outside the
 *  page cache, loading it starts now in the background (repo.direct_io stores);
 *  else nothing happens. Never fails: a block not held is ignored. */
void blockstore_prefetch(blockstore_t *bs, const cid_t *cid);

/** Append the block `cid` to `out`. The bytes are verified against the multihash:
 *  a block damaged on disk is moved to quarantine/, dropped from the index and
 *  reported as LS_ECORRUPT (fetch it again). Blocks this process appended to a pack
 *  since it opened the store are not hashed again: every put hashed them on the
 *  way in (or its caller did, blockstore_put_hashed()), so `lester get` writing
 *  out a file it has just downloaded hashes each block once, not twice. LS_ENOENT if not held;
 * LS_ETOOBIG if `out` cannot take it; -errno on I/O errors. `out` is unchanged on error. */
int blockstore_get(blockstore_t *bs, const cid_t *cid, buf_t *out);

/** True if the block is held (index lookup, no disk I/O). */
bool blockstore_has(blockstore_t *bs, const cid_t *cid);

/** The size of a held block (>= 0), or LS_ENOENT. */
int64_t blockstore_size(blockstore_t *bs, const cid_t *cid);

/** Remove a block. LS_ENOENT if not held; LS_EACCES if a pin protects it (directly
 *  or under a recursive pin); LS_ELOCKED while a batch is open. */
int blockstore_delete(blockstore_t *bs, const cid_t *cid);

/** Called by blockstore_foreach() for each indexed block: the CIDv1 with the codec
 *  it was put with (raw for blocks recovered by a repair) and its size. Return 0 to
 *  go on, anything else to stop (foreach then returns that value). The callback must
 *  not modify the store. */
typedef int (*blockstore_foreach_fn)(void *ctx, const cid_t *cid, uint64_t size);
/** Visit the indexed blocks in insertion order (batch-pending ones excluded).
 *  0, the callback's non-zero value, or a db error. */
int blockstore_foreach(blockstore_t *bs, blockstore_foreach_fn fn, void *ctx);

/** Start a batch: puts until blockstore_batch_commit() are written without fsync
 *  and indexed in groups of `batch_flush` rows, each group made durable with one
 *  syncfs() before its rows commit (the whole point: `lester add` of 1 GiB pays one
 *  sync per 4096 blocks instead of two fsyncs per block). Blocks put in a batch
 *  are visible to has/get/size at once. LS_EINVAL if a batch is already open. */
int blockstore_batch_begin(blockstore_t *bs);
/** Make every block of the batch durable and indexed, and close the batch.
 *  LS_EINVAL if none is open; on an error the batch stays open (retry or abort). */
int blockstore_batch_commit(blockstore_t *bs);
/** Close the batch, deleting the blocks not yet indexed. No-op if none is open. */
void blockstore_batch_abort(blockstore_t *bs);
bool blockstore_in_batch(const blockstore_t *bs);

/** Holds keep GC away (pin.h): take one for the length of a download whose blocks
 *  are not pinned yet; GC returns LS_ELOCKED while any is held. In memory only: a
 *  restart drops them (the blocks stay on disk, unpinned, until a GC). */
void blockstore_hold(blockstore_t *bs);
void blockstore_release(blockstore_t *bs);

/** Fill `*out` (repo stat). 0 or a db error. */
int blockstore_stat(blockstore_t *bs, blockstore_stat_t *out);

typedef struct blockstore_repair_t {
    uint64_t rows_dropped;  /* index rows whose file or pack bytes were missing */
    uint64_t files_indexed; /* verified files or pack records that had no row */
    uint64_t files_removed; /* temporaries, unverifiable files (quarantined), packs
                             * of an interrupted compaction */
    uint64_t bytes_cut;     /* torn pack tails cut off */
} blockstore_repair_t;

/** Reconcile files, packs and index: drop rows without a file of the right size or
 *  past the end of their pack (kept, marked absent, if a pin refers to them), index
 *  verified files (codec raw) and pack records (with their codec) without a row,
 *  quarantine files that fail verification, cut a pack at its first record that
 *  fails (only past its committed length), delete temporaries. Run
 *  by blockstore_open() after an unclean shutdown; may be called at any time
 *  outside a batch. `report` may be NULL. 0, LS_ELOCKED in a batch, -errno or a
 *  db error. */
int blockstore_repair(blockstore_t *bs, blockstore_repair_t *report);

#endif
