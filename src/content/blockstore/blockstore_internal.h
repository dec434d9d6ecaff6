/* blockstore_internal — what the blockstore's files share (blockstore*.c, pin.c,
 * gc.c); not for use outside src/content/blockstore, except by its unit tests. */
#ifndef LS_CONTENT_BLOCKSTORE_INTERNAL_H
#define LS_CONTENT_BLOCKSTORE_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "content/blockstore/blockstore.h"

/* Longest file key: base32 of MULTIHASH_MAX_LEN bytes, plus ".data" and NUL. */
#define BS_KEY_MAX 160
/* Longest root directory accepted, leaving room for "/xx/<key>.data.tmp-...". */
#define BS_DIR_MAX (PATH_MAX - BS_KEY_MAX - 64)

/* Pack files (blockstore_pack.c): a pack is closed for appends past this size, so
 * compaction after a GC copies at most this much to free a pack. */
#define BS_PACK_MAX ((uint64_t)256 << 20)
/* Read descriptors of packs kept open (pread on cached fds). */
#define BS_PACK_FDS 16
/* A pack record: "LBK1", u32 LE data length, u64 LE codec, u8 multihash length,
 * the binary multihash, then the block's bytes. */
#define BS_REC_FIXED 17
#define BS_REC_MAX_HDR (BS_REC_FIXED + MULTIHASH_MAX_LEN)
/* The header of a block named by a SHA-256 multihash (34 bytes). */
#define BS_REC_SHA256_HDR (BS_REC_FIXED + 34)
/* Direct I/O granularity: memory, file offsets and lengths of O_DIRECT writes are
 * multiples of it (the common page and sector sizes all divide 4096). */
#define BS_DIO_ALIGN 4096
/* A block of at least this many bytes starts on a BS_DIO_ALIGN boundary of its
 * pack, so `lester get` can write it to the user's file directly from the stage.
 * A filler record ("LBKP", u32 LE total length >= BS_FILLER_MIN, then zeros) takes
 * the gap before its header; smaller blocks are packed tight. */
#define BS_ALIGN_MIN ((size_t)64 << 10)
#define BS_FILLER_MIN 8

/** Where a block's bytes are: `pack` > 0 names a pack file and `off` the offset of
 *  the bytes in it; `pack` == 0 is a file of the flatfs layout. */
typedef struct bs_loc_t {
    int64_t pack;
    uint64_t off;
} bs_loc_t;

/** A put of a batch whose index row is not written yet. */
typedef struct bs_pending_t {
    multihash_t mh;
    uint64_t codec;
    uint64_t size;
    int64_t row_id; /* > 0: an absent row to mark present; 0: insert */
    bs_loc_t loc;
} bs_pending_t;

/** A decoded pack record header. */
typedef struct bs_record_t {
    multihash_t mh;
    uint64_t codec;
    uint32_t len;   /* the block's bytes that follow the header */
    size_t hdr_len; /* bytes of the header */
} bs_record_t;

/** The pack writer thread (blockstore_writer.c). */
typedef struct bs_writer_t bs_writer_t;

/** The direct reads of closed packs (blockstore_reader.c). */
typedef struct bs_reader_t bs_reader_t;

/** One cached read descriptor. */
typedef struct bs_packfd_t {
    int64_t id; /* 0: free */
    int fd;
    int dfd;        /* O_DIRECT, opened on first use; -1 if not (yet) */
    uint8_t *map;   /* the pack mapped, only to ask mincore() what is cached; or NULL */
    size_t map_len;
} bs_packfd_t;

struct blockstore_t {
    char *dir;               /* owned */
    db_t *db;                /* borrowed */
    blockstore_config_t cfg; /* defaults filled in */
    int dirfd;               /* the root, for syncfs() and directory fsync */
    uint64_t blocks;         /* present blocks, pending ones included */
    uint64_t bytes;
    unsigned holds;
    bool in_batch;
    bs_pending_t *pending; /* owned, `npending` used of `pending_cap` */
    size_t npending, pending_cap;
    uint32_t *slots; /* open-addressing index into pending, 0 = empty */
    size_t nslots;   /* power of two, >= 2 * pending_cap */
    /* packs (BLOCKSTORE_LAYOUT_PACK): <dir>/packs/<id>.pack, appended to one at a
     * time; `cur_size` is where the next record goes (the writer thread may not
     * have written all before it yet), `cur_committed` its length when its last
     * rows were committed (an aborted batch truncates back to it) */
    int packs_dirfd;
    int64_t cur_pack; /* 0: none open yet */
    int cur_fd, cur_dfd; /* cur_dfd: O_DIRECT, for the writer; -1 if refused or off */
    uint64_t cur_size, cur_committed;
    bs_packfd_t fds[BS_PACK_FDS];
    size_t fd_next;
    /* records at or after (fresh_pack, fresh_off), in pack order, were appended by
     * this process, each hashed on its way in: reads of them skip the hash */
    int64_t fresh_pack;
    uint64_t fresh_off;
    bs_writer_t *writer; /* owned; appends to the current pack */
    bs_reader_t *reader; /* owned; NULL when the store is buffered */
    /* closed-pack reads so far, and that count at the last one from the disk:
       prefetch hints are only worth their lookup while reads go to the disk */
    uint64_t closed_reads, last_disk_read;
    /* the block of the last append while its bytes are still staged (blockstore_tee_last) */
    const uint8_t *last_body;
    multihash_t last_mh;
    size_t last_len;
    int pack_err;        /* a failed append: no row may commit until a rewind */
};

/** True if the bytes at `loc` were written (and hashed) since the store opened. */
static inline bool
bs_is_fresh(const blockstore_t *bs, const bs_loc_t *loc)
{
    return loc->pack > bs->fresh_pack ||
           (loc->pack == bs->fresh_pack && loc->pack > 0 && loc->off >= bs->fresh_off);
}

/* ---- blockstore_file.c: names and file I/O ---- */

/** Write "<dir>/<shard>/<KEY>.data" for `mh` into `path` (PATH_MAX bytes) and,
 *  if `shard` is not NULL, "<dir>/<shard>" into it. 0 or LS_EINVAL. */
int bs_path(const blockstore_t *bs, const multihash_t *mh, char *path, char *shard);
/** Decode a file name "<KEY>.data" to its multihash. 0 or LS_EINVAL. */
int bs_name_to_mh(const char *name, multihash_t *out);
/** Write a block file atomically (temp + rename), fsyncing file and directory if
 *  `sync`. 0 or -errno. */
int bs_file_write(blockstore_t *bs, const multihash_t *mh, const uint8_t *data, size_t len,
                  bool sync);
/** Append the file of `mh` to `out`. 0, -ENOENT, LS_ECORRUPT if larger than the
 *  block limit, LS_ETOOBIG if `out` is full, -errno. */
int bs_file_read(blockstore_t *bs, const multihash_t *mh, buf_t *out);
/** Unlink the file of `mh`; a missing file is 0. */
int bs_file_unlink(blockstore_t *bs, const multihash_t *mh);
/** Move the file of `mh` to <dir>/quarantine/. 0 or -errno. */
int bs_file_quarantine(blockstore_t *bs, const multihash_t *mh);

/* ---- blockstore.c: index ---- */

/** Look `mh` up in the index: 1 with `*id`, `*size` and `*present` set (any may be
 *  NULL), 0 if absent, or a db error. */
int bs_row_find(blockstore_t *bs, const multihash_t *mh, int64_t *id, uint64_t *size,
                bool *present);
/** As bs_row_find() for a present block, with its location: 1, 0 if not held, or a
 *  db error. */
int bs_row_locate(blockstore_t *bs, const multihash_t *mh, int64_t *id, uint64_t *size,
                  bs_loc_t *loc);
/** Forget a block whose file is gone: delete its row, or mark it absent if a pin
 *  refers to it; adjust the counters. 0 or a db error. */
int bs_row_lost(blockstore_t *bs, int64_t id, uint64_t size);
/** Recount present blocks and bytes from the index. 0 or a db error. */
int bs_load_counters(blockstore_t *bs);
/** Insert (row_id == 0) or mark present the row of one put. 0 or a db error. */
int bs_row_store(blockstore_t *bs, const bs_pending_t *p, uint64_t now_ms);

/* ---- blockstore_pack.c: pack files ---- */

/** Write the record header for a block into `out`; returns its length. */
size_t bs_record_encode(const multihash_t *mh, uint64_t codec, uint32_t len,
                        uint8_t out[BS_REC_MAX_HDR]);
/** Decode a record header from `p[0..n)` (bytes read from disk: untrusted). Returns
 *  the header length (> 0), 0 if `p` ends before the header does, or LS_ECORRUPT
 *  (bad magic, bad multihash, data length over `max_block`). */
int bs_record_decode(const uint8_t *p, size_t n, size_t max_block, bs_record_t *out);
/** If `p[0..n)` starts a filler record (BS_ALIGN_MIN), its total length; 0 if it
 *  starts something else (or `n` < BS_FILLER_MIN); LS_ECORRUPT for a filler with an
 *  impossible length. */
int bs_filler_decode(const uint8_t *p, size_t n);
/** "<dir>/packs/<id>.pack" into `path` (PATH_MAX bytes). 0 or LS_EINVAL. */
int bs_pack_path(const blockstore_t *bs, int64_t id, char *path);
/** Open the packs directory and pick the pack to append to (after any repair).
 *  0 or -errno / a db error. */
int bs_pack_open(blockstore_t *bs);
/** Record the append position as committed and close every descriptor. */
void bs_pack_close(blockstore_t *bs);
/** Append one record to the current pack (rolling over to a new pack past
 *  BS_PACK_MAX, which flushes an open batch first); `*loc` is where the bytes go.
 *  The write itself is queued to the writer thread: its error comes back from the
 *  next bs_pack_sync(). `hot`: through the page cache even if the store writes
 *  directly (blockstore_put_hot). 0, -errno or a db error (then nothing was
 *  appended). */
int bs_pack_append(blockstore_t *bs, const multihash_t *mh, uint64_t codec, const uint8_t *data,
                   size_t len, bool hot, bs_loc_t *loc);
/** A buffer for the next append's `len` bytes of block data, in the writer's stage
 *  where they will go (blockstore_put_buffer), or NULL (then use your own). */
uint8_t *bs_pack_lend(blockstore_t *bs, size_t len);
/** Wait for the queued appends. 0, or the error of a failed one (which sticks
 *  until bs_pack_rewind()). */
int bs_pack_drain(blockstore_t *bs);
/** Wait for the queued appends, then fdatasync the current pack (unless sync is
 *  NONE). Call it before any row naming appended bytes commits. 0 or -errno (a
 *  failed append stays an error until bs_pack_rewind()). */
int bs_pack_sync(blockstore_t *bs);
/** Store the current pack's append position as its committed size (inside the
 *  caller's transaction, if any). 0 or a db error. */
int bs_pack_commit_size(blockstore_t *bs);
/** Truncate the current pack back to its committed size (abort); clears a failed
 *  append. */
void bs_pack_rewind(blockstore_t *bs);
/** Append the `size` bytes at `loc` to `out`. 0, LS_ECORRUPT if the pack is short,
 *  LS_ETOOBIG if `out` is full, -errno. */
int bs_pack_read(blockstore_t *bs, const bs_loc_t *loc, uint64_t size, buf_t *out);
/** The block at `loc` will be read soon: if it sits in a closed pack the page cache
 *  does not hold, its extents start loading (bs_reader_prefetch). */
void bs_pack_prefetch(blockstore_t *bs, const bs_loc_t *loc, uint64_t size);
/** Close the cached descriptor of pack `id`, if any (before unlinking it). */
void bs_pack_forget(blockstore_t *bs, int64_t id);
/** Keep the bytes of a block that failed its hash check in quarantine/. */
void bs_quarantine_bytes(blockstore_t *bs, const multihash_t *mh, const uint8_t *p, size_t n);

/* ---- blockstore_writer.c ---- */

/** Start the writer thread. Never returns NULL (aborts like an allocation). */
bs_writer_t *bs_writer_new(void);
/** Write what is staged, stop the thread, free it. NULL is a no-op. */
void bs_writer_free_(bs_writer_t *w);
#define bs_writer_free(w) FREE_AND_NULL(bs_writer_t, bs_writer_free_, (w))
/** Room for `n` bytes that go at `off` of the pack `fd` (`dfd`: its O_DIRECT
 *  descriptor, or -1): a pointer into the stage being filled, valid until the next
 *  reserve or drain. Appends must follow each other in the file; one that does not
 *  continue the stage (another pack, an offset after a rewind, or the other of
 *  direct and buffered) starts a new stage.
 *  May wait for the thread (a full queue). Fill the bytes, then bs_writer_commit(). */
uint8_t *bs_writer_reserve(bs_writer_t *w, int fd, int dfd, uint64_t off, size_t n);
/** The `n` bytes at the last reserve are filled: they will be written. */
void bs_writer_commit(bs_writer_t *w, size_t n);
/** Also write the `len` committed bytes at `p` (in the stage being filled) at `off`
 *  of `fd` (`dfd`: an O_DIRECT descriptor of the same file, or -1), from the
 *  thread. 0, or LS_ENOENT if `p` is not in that stage (write them yourself). The
 *  descriptors must stay open until bs_writer_tee_result(). */
int bs_writer_tee(bs_writer_t *w, const uint8_t *p, size_t len, int fd, int dfd, uint64_t off);
/** Wait for everything staged; the first error of a tee into file `fd` since the
 *  last call for it (-errno), or 0. */
int bs_writer_tee_result(bs_writer_t *w, int fd);
/** The `len` bytes at `off` of `fd` if the stage being filled holds them (not yet
 *  written), else NULL. Valid until the next reserve. */
const uint8_t *bs_writer_peek(bs_writer_t *w, int fd, uint64_t off, size_t len);
/** Wait until everything staged is written. 0, or the first write error since the
 *  last drain (-errno). */
int bs_writer_drain(bs_writer_t *w);
/** True if nothing is staged or queued. */
bool bs_writer_idle(bs_writer_t *w);
/** False once a direct write was refused (then every write is buffered). */
bool bs_writer_direct(bs_writer_t *w);

/* ---- blockstore_reader.c ---- */

/** Start the reader and its read-ahead thread. Never NULL. */
bs_reader_t *bs_reader_new(void);
/** Stop the thread, free the extents. NULL is a no-op. */
void bs_reader_free_(bs_reader_t *r);
#define bs_reader_free(r) FREE_AND_NULL(bs_reader_t, bs_reader_free_, (r))
/** Copy `len` (> 0) bytes at `off` of the closed pack `id` (`pack_len` bytes long:
 *  no read-ahead past it) into `dst`, reading through O_DIRECT extents of
 *  descriptor `dfd` (kept open by the caller; the read-ahead uses dups of it). 0;
 *  LS_ENOTSUP: read it buffered (direct reads refused, or every extent busy);
 *  LS_ECORRUPT if the pack ends early; -errno. */
int bs_reader_read(bs_reader_t *r, int64_t id, int dfd, uint64_t pack_len, uint64_t off,
                   size_t len, uint8_t *dst);
/** A hint: bytes [off, off + len) of the closed pack `id` will be read soon; their
 *  extents are loaded by the thread now (dups of `dfd`). While hints come, reads do
 *  no blind read-ahead. NULL `r` is a no-op. */
void bs_reader_prefetch(bs_reader_t *r, int64_t id, int dfd, uint64_t off, size_t len);
/** Extents read from the disk so far (for tests and diagnostics). */
uint64_t bs_reader_loads(bs_reader_t *r);
/** Drop every extent of pack `id` (before it is unlinked). NULL is a no-op. */
void bs_reader_forget(bs_reader_t *r, int64_t id);

/* ---- blockstore_pack_repair.c ---- */

/** Reconcile pack files and index (inside repair's transaction): rows past the
 *  end of their pack dropped, packs of an interrupted compaction removed, records
 *  past a pack's committed size verified and indexed, a torn tail cut off. */
int bs_pack_repair(blockstore_t *bs, blockstore_repair_t *rep);
/** Drop rows whose pack is missing or too short. Adds to rep->rows_dropped. */
int bs_pack_check_rows(blockstore_t *bs, blockstore_repair_t *rep);

/* ---- blockstore_compact.c ---- */

/** Rewrite packs whose live bytes fell under half their size (after a GC) and
 *  delete packs with nothing live. Adds what was freed on disk to `*freed`. */
int bs_compact(blockstore_t *bs, uint64_t *freed);

/* ---- blockstore_batch.c ---- */

/** The pending entry for `mh`, or NULL. */
const bs_pending_t *bs_pending_find(const blockstore_t *bs, const multihash_t *mh);
/** Record a put made inside the batch; flushes when the batch is full. */
int bs_pending_add(blockstore_t *bs, const bs_pending_t *p);
/** Make the pending files durable and index them (the batch stays open). */
int bs_batch_flush(blockstore_t *bs);
void bs_pending_free(blockstore_t *bs);

/** True if `mh` may be verified by Lester (sha2-256 with 32 bytes, or identity). */
bool bs_hash_supported(const multihash_t *mh);

#endif
