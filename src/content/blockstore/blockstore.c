/* blockstore — open/close, put/get/has/delete, iteration and stat (blockstore.h). */
#include "content/blockstore/blockstore_internal.h"

#define LOG_MODULE "blockstore"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "lib/log/log.h"

bool
bs_hash_supported(const multihash_t *mh)
{
    return (mh->code == MULTIHASH_SHA2_256 && mh->len == 32) || mh->code == MULTIHASH_IDENTITY;
}

void
blockstore_cidlist_push(blockstore_cidlist_t *l, const cid_t *cid)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = ls_realloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->n++] = *cid;
}

void
blockstore_cidlist_clear(blockstore_cidlist_t *l)
{
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* Bind the binary multihash as parameter `idx`. */
static int
bind_mh(sqlite3_stmt *st, int idx, const multihash_t *mh)
{
    uint8_t raw[MULTIHASH_MAX_LEN];
    buf_t b = BUF_INIT(sizeof raw);
    int rc = multihash_encode(mh, &b);
    if (rc == 0)
        rc = sqlite3_bind_blob(st, idx, b.data, (int)b.len, SQLITE_TRANSIENT) == SQLITE_OK ? 0
                                                                                           : LS_EIO;
    buf_free(&b);
    return rc;
}

int
bs_row_find(blockstore_t *bs, const multihash_t *mh, int64_t *id, uint64_t *size, bool *present)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT id, size, present FROM blocks WHERE mh = ?");
    if (!st || bind_mh(st, 1, mh) < 0)
        return LS_EIO;
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? 1 : db_check(bs->db, step, "blocks lookup");
    if (rc == 1) {
        if (id)
            *id = sqlite3_column_int64(st, 0);
        if (size)
            *size = (uint64_t)sqlite3_column_int64(st, 1);
        if (present)
            *present = sqlite3_column_int(st, 2) != 0;
    }
    sqlite3_reset(st);
    return rc;
}

int
bs_row_locate(blockstore_t *bs, const multihash_t *mh, int64_t *id, uint64_t *size, bs_loc_t *loc)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT id, size, pack, off FROM blocks "
                                       "WHERE mh = ? AND present = 1");
    if (!st || bind_mh(st, 1, mh) < 0)
        return LS_EIO;
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? 1 : db_check(bs->db, step, "blocks lookup");
    if (rc == 1) {
        *id = sqlite3_column_int64(st, 0);
        *size = (uint64_t)sqlite3_column_int64(st, 1);
        loc->pack = sqlite3_column_int64(st, 2); /* NULL reads as 0: a file */
        loc->off = (uint64_t)sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    return rc;
}

static int
exec_id(blockstore_t *bs, const char *sql, int64_t id)
{
    sqlite3_stmt *st = db_stmt(bs->db, sql);
    if (!st)
        return LS_EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = db_check(bs->db, sqlite3_step(st), "blocks update");
    sqlite3_reset(st);
    return rc;
}

int
bs_row_lost(blockstore_t *bs, int64_t id, uint64_t size)
{
    int rc = exec_id(bs,
                     "DELETE FROM blocks WHERE id = ?1 AND NOT EXISTS "
                     "(SELECT 1 FROM pin_refs WHERE block_id = ?1)",
                     id);
    if (rc == 0 && sqlite3_changes(db_handle(bs->db)) == 0)
        rc = exec_id(bs, "UPDATE blocks SET present = 0 WHERE id = ?", id);
    if (rc == 0) {
        bs->blocks -= bs->blocks > 0;
        bs->bytes -= LS_MIN(bs->bytes, size);
    }
    return rc;
}

int
bs_row_store(blockstore_t *bs, const bs_pending_t *p, uint64_t now_ms)
{
    sqlite3_stmt *st;
    if (p->row_id > 0) {
        st = db_stmt(bs->db, "UPDATE blocks SET present = 1, size = ?2, pack = ?5, off = ?6 "
                             "WHERE id = ?1");
        if (!st)
            return LS_EIO;
        sqlite3_bind_int64(st, 1, p->row_id);
    } else {
        st = db_stmt(bs->db, "INSERT INTO blocks(mh, size, codec, added_at, pack, off) "
                             "VALUES (?1,?2,?3,?4,?5,?6)");
        if (!st || bind_mh(st, 1, &p->mh) < 0)
            return LS_EIO;
        sqlite3_bind_int64(st, 3, (int64_t)p->codec);
        sqlite3_bind_int64(st, 4, (int64_t)now_ms);
    }
    sqlite3_bind_int64(st, 2, (int64_t)p->size);
    if (p->loc.pack > 0) {
        sqlite3_bind_int64(st, 5, p->loc.pack);
        sqlite3_bind_int64(st, 6, (int64_t)p->loc.off);
    } else {
        sqlite3_bind_null(st, 5);
        sqlite3_bind_null(st, 6);
    }
    int rc = db_check(bs->db, sqlite3_step(st), "blocks store");
    sqlite3_reset(st);
    return rc;
}

/* ---- clean-shutdown marker and counters ---- */

static int
read_clean(blockstore_t *bs)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT value FROM blockstore_state WHERE key = 'clean'");
    if (!st)
        return LS_EIO;
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? sqlite3_column_int(st, 0) != 0
                                : db_check(bs->db, step, "blockstore_state");
    sqlite3_reset(st);
    return rc;
}

/* The "dirty" mark must reach the disk before any block is written, or a power
 * loss could leave unindexed files behind a "clean" mark: that one commit is
 * synchronous=FULL. */
static int
write_clean(blockstore_t *bs, int clean)
{
    int rc = db_exec(bs->db, clean ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL");
    sqlite3_stmt *st = rc == 0 ? db_stmt(bs->db, "INSERT OR REPLACE INTO blockstore_state"
                                                 "(key, value) VALUES ('clean', ?)")
                               : NULL;
    if (!st)
        return rc < 0 ? rc : LS_EIO;
    sqlite3_bind_int(st, 1, clean);
    rc = db_check(bs->db, sqlite3_step(st), "blockstore_state");
    sqlite3_reset(st);
    int rc2 = db_exec(bs->db, "PRAGMA synchronous=NORMAL");
    return rc < 0 ? rc : rc2;
}

int
bs_load_counters(blockstore_t *bs)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM blocks "
                                       "WHERE present = 1");
    if (!st)
        return LS_EIO;
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? 0 : db_check(bs->db, step, "blocks count");
    if (step == SQLITE_ROW) {
        bs->blocks = (uint64_t)sqlite3_column_int64(st, 0);
        bs->bytes = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc;
}

static int
config_fill(blockstore_config_t *c, const blockstore_config_t *in, buf_t *err)
{
    if (in)
        *c = *in;
    else
        memset(c, 0, sizeof *c);
    if (c->max_block == 0)
        c->max_block = BLOCKSTORE_DEFAULT_MAX_BLOCK;
    if (c->batch_flush == 0)
        c->batch_flush = BLOCKSTORE_DEFAULT_BATCH_FLUSH;
    if (c->pack_max == 0)
        c->pack_max = BS_PACK_MAX;
    if (c->max_block > BLOCKSTORE_MAX_BLOCK || c->batch_flush > (1u << 20) ||
        c->sync > BLOCKSTORE_SYNC_NONE || c->layout > BLOCKSTORE_LAYOUT_FILES) {
        if (err)
            buf_printf(err, "blockstore: invalid configuration");
        return LS_ECONFIG;
    }
    return 0;
}

static int
open_fail(blockstore_t *bs, buf_t *err, int rc, const char *what)
{
    if (err)
        buf_printf(err, "blockstore %s: %s: %s", bs->dir, what, ls_strerror(rc));
    log_error("%s: %s: %s", bs->dir, what, ls_strerror(rc));
    bs_pack_close(bs);
    if (bs->dirfd >= 0)
        close(bs->dirfd);
    free(bs->dir);
    free(bs);
    return rc;
}

int
blockstore_open(const char *dir, db_t *db, const blockstore_config_t *cfg, blockstore_t **out,
                buf_t *err)
{
    *out = NULL;
    blockstore_config_t c;
    int rc = config_fill(&c, cfg, err);
    if (rc < 0)
        return rc;
    if (strlen(dir) > BS_DIR_MAX)
        return LS_EINVAL;
    blockstore_t *bs = ls_calloc(1, sizeof *bs);
    bs->dir = ls_strdup(dir);
    bs->db = db;
    bs->cfg = c;
    bs->dirfd = bs->packs_dirfd = bs->cur_fd = bs->cur_dfd = -1;
    if ((rc = fs_mkdir_p(dir, 0755)) < 0)
        return open_fail(bs, err, rc, "create");
    bs->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (bs->dirfd < 0)
        return open_fail(bs, err, -errno, "open");
    blockstore_repair_t rep = {0};
    if ((rc = read_clean(bs)) == 0 && (rc = blockstore_repair(bs, &rep)) == 0 &&
        rep.rows_dropped + rep.files_indexed + rep.files_removed + rep.bytes_cut > 0)
        log_warn("%s: repaired after an unclean shutdown: %llu rows dropped, %llu blocks "
                 "indexed, %llu files removed, %llu torn bytes cut",
                 dir, (unsigned long long)rep.rows_dropped, (unsigned long long)rep.files_indexed,
                 (unsigned long long)rep.files_removed, (unsigned long long)rep.bytes_cut);
    if (rc < 0)
        return open_fail(bs, err, rc, "repair");
    if ((rc = bs_pack_open(bs)) < 0)
        return open_fail(bs, err, rc, "packs");
    if ((rc = bs_load_counters(bs)) < 0 || (rc = write_clean(bs, 0)) < 0)
        return open_fail(bs, err, rc, "index");
    *out = bs;
    return 0;
}

void
blockstore_free_(blockstore_t *bs)
{
    if (!bs)
        return;
    blockstore_batch_abort(bs);
    bs_pack_close(bs);
    if (write_clean(bs, 1) < 0)
        log_warn("%s: could not record a clean close; the next open will repair", bs->dir);
    bs_pending_free(bs);
    close(bs->dirfd);
    free(bs->dir);
    free(bs);
}
