/* blockstore_ops — put/get/has/size/delete, iteration, holds and stat
 * (blockstore.h). */
#include "content/blockstore/blockstore_internal.h"

#define LOG_MODULE "blockstore"

#include <errno.h>

#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/log/log.h"

/* Write the bytes where the layout puts them; `p->loc` is filled in. */
static int
write_block(blockstore_t *bs, bs_pending_t *p, const uint8_t *data, size_t len, bool sync,
            bool hot)
{
    if (bs->cfg.layout == BLOCKSTORE_LAYOUT_FILES)
        return bs_file_write(bs, &p->mh, data, len, sync);
    int rc = bs_pack_append(bs, &p->mh, p->codec, data, len, hot, &p->loc);
    /* a lone put's row follows at once: its bytes must be written first (synced
     * too, unless the store never syncs) */
    if (rc == 0 && (sync || !bs->in_batch) && (rc = bs_pack_sync(bs)) < 0 && !bs->in_batch)
        bs_pack_rewind(bs);
    return rc;
}

/* A lone put: its row, and for a pack the pack's new committed length, in one
 * transaction (one WAL commit, as the row alone was). */
static int
store_row(blockstore_t *bs, const bs_pending_t *p)
{
    if (p->loc.pack == 0)
        return bs_row_store(bs, p, clock_wall_ms());
    uint64_t committed = bs->cur_committed;
    int rc = db_begin(bs->db);
    if (rc == 0 && (rc = bs_row_store(bs, p, clock_wall_ms())) == 0 &&
        (rc = bs_pack_commit_size(bs)) == 0)
        rc = db_commit(bs->db);
    if (rc < 0) {
        db_rollback(bs->db);
        bs->cur_committed = committed; /* the record is an uncommitted tail: cut it */
        bs_pack_rewind(bs);
    }
    return rc;
}

static int
put(blockstore_t *bs, const cid_t *cid, const uint8_t *data, size_t len, bool verify, bool hot)
{
    if (len > bs->cfg.max_block)
        return LS_ETOOBIG;
    if (!bs_hash_supported(&cid->hash))
        return LS_ENOTSUP;
    if (verify && !multihash_verify(&cid->hash, data, len))
        return LS_ECORRUPT;
    if (bs->in_batch && bs_pending_find(bs, &cid->hash))
        return 0;
    int64_t id = 0;
    bool present = false;
    int rc = bs_row_find(bs, &cid->hash, &id, NULL, &present);
    if (rc < 0 || (rc == 1 && present))
        return rc < 0 ? rc : 0;
    if (bs->cfg.max_bytes && bs->bytes + len > bs->cfg.max_bytes)
        return LS_ELIMIT;
    bool sync = bs->cfg.sync == BLOCKSTORE_SYNC_EACH ||
                (bs->cfg.sync == BLOCKSTORE_SYNC_BATCH && !bs->in_batch);
    bs_pending_t p = {cid->hash, cid->codec, len, rc == 1 ? id : 0, {0, 0}};
    if ((rc = write_block(bs, &p, data, len, sync, hot)) < 0)
        return rc;
    bs->blocks++;
    bs->bytes += len;
    if (bs->in_batch)
        return bs_pending_add(bs, &p);
    if ((rc = store_row(bs, &p)) < 0) {
        if (p.loc.pack == 0)
            bs_file_unlink(bs, &cid->hash);
        bs->blocks--;
        bs->bytes -= len;
    }
    return rc;
}

int
blockstore_put(blockstore_t *bs, const cid_t *cid, const uint8_t *data, size_t len)
{
    return put(bs, cid, data, len, true, false);
}

int
blockstore_put_hashed(blockstore_t *bs, const cid_t *cid, const uint8_t *data, size_t len)
{
    return put(bs, cid, data, len, false, false);
}

int
blockstore_put_hot(blockstore_t *bs, const cid_t *cid, const uint8_t *data, size_t len)
{
    return put(bs, cid, data, len, false, true);
}

uint8_t *
blockstore_put_buffer(blockstore_t *bs, size_t len)
{
    return bs->cfg.layout == BLOCKSTORE_LAYOUT_PACK ? bs_pack_lend(bs, len) : NULL;
}

int
blockstore_tee_last(blockstore_t *bs, const cid_t *cid, size_t len, int fd, int dfd,
                    uint64_t off)
{
    if (!bs->writer || !bs->last_body || bs->last_len != len ||
        !multihash_equal(&bs->last_mh, &cid->hash))
        return LS_ENOENT;
    return bs_writer_tee(bs->writer, bs->last_body, len, fd, dfd, off);
}

int
blockstore_tee_wait(blockstore_t *bs, int fd)
{
    return bs->writer ? bs_writer_tee_result(bs->writer, fd) : 0;
}

/* The bytes failed their hash check: keep them for inspection, forget the block. */
static int
drop_corrupt(blockstore_t *bs, const cid_t *cid, const bs_loc_t *loc, const uint8_t *p, size_t n)
{
    int64_t id;
    uint64_t size;
    bool present;
    log_warn("%s: a block failed its hash check; moved to quarantine/", bs->dir);
    if (loc->pack > 0) {
        if (p) /* NULL: the pack ended early, nothing to keep */
            bs_quarantine_bytes(bs, &cid->hash, p, n);
    } else {
        int rc = bs_file_quarantine(bs, &cid->hash);
        if (rc < 0)
            log_error("%s: quarantine: %s", bs->dir, ls_strerror(rc));
    }
    if (bs->in_batch && bs_pending_find(bs, &cid->hash))
        return LS_ECORRUPT; /* not indexed yet: the next repair drops it */
    int rc = bs_row_find(bs, &cid->hash, &id, &size, &present);
    if (rc == 1 && present)
        bs_row_lost(bs, id, size);
    return LS_ECORRUPT;
}

/* Where the block is: 1 with its location and size, 0 if not held, or an error. */
static int
locate(blockstore_t *bs, const multihash_t *mh, bs_loc_t *loc, uint64_t *size)
{
    const bs_pending_t *p = bs->in_batch ? bs_pending_find(bs, mh) : NULL;
    if (p) {
        *loc = p->loc;
        *size = p->size;
        return 1;
    }
    int64_t id;
    return bs_row_locate(bs, mh, &id, size, loc);
}

/* Closed-pack reads since the last one from the disk after which hints stop. */
#define PREFETCH_COLD_READS 64

void
blockstore_prefetch(blockstore_t *bs, const cid_t *cid)
{
    bs_loc_t loc;
    uint64_t size;
    /* served from the page cache lately (a publisher's fresh import): skip the lookup */
    if (!bs->reader || bs->closed_reads - bs->last_disk_read > PREFETCH_COLD_READS)
        return;
    if (locate(bs, &cid->hash, &loc, &size) == 1)
        bs_pack_prefetch(bs, &loc, size);
}

int
blockstore_get(blockstore_t *bs, const cid_t *cid, buf_t *out)
{
    size_t old = out->len;
    bs_loc_t loc;
    uint64_t size;
    int rc = locate(bs, &cid->hash, &loc, &size);
    if (rc <= 0)
        return rc < 0 ? rc : LS_ENOENT;
    rc = loc.pack > 0 ? bs_pack_read(bs, &loc, size, out) : bs_file_read(bs, &cid->hash, out);
    if (rc == -ENOENT) {
        int64_t id;
        bool present;
        /* a row without its file (lost outside Lester): forget it */
        if (bs_row_find(bs, &cid->hash, &id, &size, &present) == 1 && present)
            bs_row_lost(bs, id, size);
        return LS_ENOENT;
    }
    if (rc == LS_ECORRUPT)
        return drop_corrupt(bs, cid, &loc, NULL, 0);
    if (rc < 0)
        return rc;
    const uint8_t *got = out->data ? out->data + old : NULL;
    if (!bs_is_fresh(bs, &loc) && !multihash_verify(&cid->hash, got, out->len - old)) {
        rc = drop_corrupt(bs, cid, &loc, got, out->len - old);
        buf_truncate(out, old);
        return rc;
    }
    return 0;
}

bool
blockstore_has(blockstore_t *bs, const cid_t *cid)
{
    bool present = false;
    if (bs->in_batch && bs_pending_find(bs, &cid->hash))
        return true;
    return bs_row_find(bs, &cid->hash, NULL, NULL, &present) == 1 && present;
}

int64_t
blockstore_size(blockstore_t *bs, const cid_t *cid)
{
    const bs_pending_t *p = bs->in_batch ? bs_pending_find(bs, &cid->hash) : NULL;
    if (p)
        return (int64_t)p->size;
    uint64_t size = 0;
    bool present = false;
    int rc = bs_row_find(bs, &cid->hash, NULL, &size, &present);
    if (rc < 0)
        return rc;
    return (rc == 1 && present) ? (int64_t)size : LS_ENOENT;
}

static int
is_referenced(blockstore_t *bs, int64_t id)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT 1 FROM pin_refs WHERE block_id = ? LIMIT 1");
    if (!st)
        return LS_EIO;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? 1 : db_check(bs->db, step, "pin_refs lookup");
    sqlite3_reset(st);
    return rc;
}

int
blockstore_delete(blockstore_t *bs, const cid_t *cid)
{
    if (bs->in_batch)
        return LS_ELOCKED;
    int64_t id;
    uint64_t size;
    bool present;
    int rc = bs_row_find(bs, &cid->hash, &id, &size, &present);
    if (rc <= 0 || !present)
        return rc < 0 ? rc : LS_ENOENT;
    if ((rc = is_referenced(bs, id)) != 0)
        return rc < 0 ? rc : LS_EACCES;
    /* file first: a crash in between leaves a row without a file, which the
     * next open drops without reading anything; a pack record just loses its row
     * (its space comes back when a GC compacts the pack) */
    bs_loc_t loc = {0, 0};
    uint64_t sz;
    if ((rc = bs_row_locate(bs, &cid->hash, &id, &sz, &loc)) < 0)
        return rc;
    if (loc.pack == 0 && (rc = bs_file_unlink(bs, &cid->hash)) < 0)
        return rc;
    return bs_row_lost(bs, id, size);
}

int
blockstore_foreach(blockstore_t *bs, blockstore_foreach_fn fn, void *ctx)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT mh, codec, size FROM blocks WHERE present = 1 "
                                       "ORDER BY id");
    if (!st)
        return LS_EIO;
    int rc = 0, step = SQLITE_DONE;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        cid_t cid = {1, (uint64_t)sqlite3_column_int64(st, 1), {0}};
        const uint8_t *p = sqlite3_column_blob(st, 0);
        int n = sqlite3_column_bytes(st, 0);
        if (multihash_decode(p, (size_t)n, &cid.hash) != n)
            continue; /* not ours: the index only holds what multihash_encode wrote */
        rc = fn(ctx, &cid, (uint64_t)sqlite3_column_int64(st, 2));
    }
    if (rc == 0)
        rc = db_check(bs->db, step, "blocks foreach");
    sqlite3_reset(st);
    return rc;
}

void
blockstore_hold(blockstore_t *bs)
{
    bs->holds++;
}

void
blockstore_release(blockstore_t *bs)
{
    if (bs->holds > 0)
        bs->holds--;
}

static int64_t
count(blockstore_t *bs, const char *sql)
{
    sqlite3_stmt *st = db_stmt(bs->db, sql);
    if (!st)
        return LS_EIO;
    int step = sqlite3_step(st);
    int64_t v = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : db_check(bs->db, step, sql);
    sqlite3_reset(st);
    return v;
}

int
blockstore_stat(blockstore_t *bs, blockstore_stat_t *out)
{
    int64_t rec = count(bs, "SELECT COUNT(*) FROM pins WHERE recursive = 1");
    int64_t dir = count(bs, "SELECT COUNT(*) FROM pins WHERE recursive = 0");
    int64_t blk = count(bs, "SELECT COUNT(DISTINCT block_id) FROM pin_refs");
    if (rec < 0 || dir < 0 || blk < 0)
        return (int)(rec < 0 ? rec : dir < 0 ? dir : blk);
    *out = (blockstore_stat_t){bs->blocks,    bs->bytes,     bs->cfg.max_bytes,
                               (uint64_t)rec, (uint64_t)dir, (uint64_t)blk,
                               bs->dir};
    return 0;
}
