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

/** A put of a batch whose index row is not written yet. */
typedef struct bs_pending_t {
    multihash_t mh;
    uint64_t codec;
    uint64_t size;
    int64_t row_id; /* > 0: an absent row to mark present; 0: insert */
} bs_pending_t;

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
};

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
/** Forget a block whose file is gone: delete its row, or mark it absent if a pin
 *  refers to it; adjust the counters. 0 or a db error. */
int bs_row_lost(blockstore_t *bs, int64_t id, uint64_t size);
/** Recount present blocks and bytes from the index. 0 or a db error. */
int bs_load_counters(blockstore_t *bs);
/** Insert (row_id == 0) or mark present the row of one put. 0 or a db error. */
int bs_row_store(blockstore_t *bs, const bs_pending_t *p, uint64_t now_ms);

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
