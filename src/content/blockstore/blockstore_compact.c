/* blockstore_compact — give the space of collected blocks back (blockstore.h,
 * "GC"). GC only deletes index rows; a pack whose live bytes fell under half its
 * length has its live records copied to the current pack (each verified on the
 * way), synced, then the rows moved and the old pack marked dead in one
 * transaction, and only then the old file unlinked. A kill -9 at any point leaves
 * either the old rows (the copies are an uncommitted tail, cut by repair) or the
 * new ones and a dead pack (unlinked by repair). */
#include "content/blockstore/blockstore_internal.h"

#define LOG_MODULE "blockstore"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err/err.h"
#include "lib/log/log.h"

typedef struct live_t {
    int64_t row;
    multihash_t mh;
    uint64_t codec, size;
    bs_loc_t loc; /* old, then new */
    bool lost;    /* failed its hash check: dropped instead of moved */
} live_t;

typedef struct live_list_t {
    live_t *items;
    size_t n, cap;
} live_list_t;

static int
load_live(blockstore_t *bs, int64_t pack, live_list_t *l)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT id, mh, codec, size, off FROM blocks "
                                       "WHERE pack = ? AND present = 1 ORDER BY off");
    if (!st)
        return LS_EIO;
    sqlite3_bind_int64(st, 1, pack);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        live_t x = {sqlite3_column_int64(st, 0),
                    {0},
                    (uint64_t)sqlite3_column_int64(st, 2),
                    (uint64_t)sqlite3_column_int64(st, 3),
                    {pack, (uint64_t)sqlite3_column_int64(st, 4)},
                    false};
        int len = sqlite3_column_bytes(st, 1);
        if (multihash_decode(sqlite3_column_blob(st, 1), (size_t)len, &x.mh) != len)
            continue; /* not ours: the index only holds what multihash_encode wrote */
        if (l->n == l->cap)
            l->items = ls_realloc(l->items, (l->cap = l->cap ? l->cap * 2 : 64) * sizeof *l->items);
        l->items[l->n++] = x;
    }
    int rc = db_check(bs->db, step, "compact scan");
    sqlite3_reset(st);
    return rc;
}

/* Copy every live record to the current pack; `x->loc` becomes the new place. */
static int
copy_live(blockstore_t *bs, live_list_t *l)
{
    buf_t data = BUF_INIT(bs->cfg.max_block);
    int rc = 0;
    for (size_t i = 0; i < l->n && rc == 0; i++) {
        live_t *x = &l->items[i];
        buf_clear(&data);
        rc = bs_pack_read(bs, &x->loc, x->size, &data);
        if (rc == LS_ECORRUPT || (rc == 0 && !multihash_verify(&x->mh, data.data, data.len))) {
            log_warn("%s: a block failed its hash check while compacting; dropped", bs->dir);
            if (rc == 0) /* else the pack ended early: nothing to keep */
                bs_quarantine_bytes(bs, &x->mh, data.data, data.len);
            x->lost = true;
            rc = 0;
            continue;
        }
        if (rc == 0)
            rc = bs_pack_append(bs, &x->mh, x->codec, data.data, data.len, false, &x->loc);
    }
    buf_free(&data);
    return rc < 0 ? rc : bs_pack_sync(bs);
}

static int
move_rows(blockstore_t *bs, const live_list_t *l, int64_t old)
{
    sqlite3_stmt *st = db_stmt(bs->db, "UPDATE blocks SET pack = ?2, off = ?3 WHERE id = ?1");
    int rc = st ? 0 : LS_EIO;
    for (size_t i = 0; i < l->n && rc == 0; i++) {
        const live_t *x = &l->items[i];
        if (x->lost) {
            rc = bs_row_lost(bs, x->row, x->size);
            continue;
        }
        sqlite3_bind_int64(st, 1, x->row);
        sqlite3_bind_int64(st, 2, x->loc.pack);
        sqlite3_bind_int64(st, 3, (int64_t)x->loc.off);
        rc = db_check(bs->db, sqlite3_step(st), "compact move");
        sqlite3_reset(st);
    }
    if (rc == 0)
        rc = bs_pack_commit_size(bs);
    st = rc == 0 ? db_stmt(bs->db, "UPDATE packs SET dead = 1 WHERE id = ?") : NULL;
    if (st) {
        sqlite3_bind_int64(st, 1, old);
        rc = db_check(bs->db, sqlite3_step(st), "compact mark");
        sqlite3_reset(st);
    }
    return rc;
}

/* Unlink a dead pack and forget it; returns the bytes it held on disk. */
static uint64_t
drop_pack(blockstore_t *bs, int64_t id)
{
    char path[PATH_MAX];
    struct stat st;
    uint64_t size = 0;
    bs_pack_forget(bs, id);
    if (bs_pack_path(bs, id, path) < 0)
        return 0;
    if (stat(path, &st) == 0)
        size = (uint64_t)st.st_size;
    if (unlink(path) < 0 && errno != ENOENT)
        return 0; /* the row stays dead: the next repair tries again */
    sqlite3_stmt *s = db_stmt(bs->db, "DELETE FROM packs WHERE id = ?");
    if (s) {
        sqlite3_bind_int64(s, 1, id);
        db_check(bs->db, sqlite3_step(s), "compact forget");
        sqlite3_reset(s);
    }
    return size;
}

static int
compact_one(blockstore_t *bs, int64_t id, uint64_t *freed)
{
    live_list_t l = {0};
    uint64_t committed = bs->cur_committed;
    int64_t cur = bs->cur_pack;
    int rc = load_live(bs, id, &l);
    if (rc == 0)
        rc = copy_live(bs, &l);
    if (rc == 0 && (rc = db_begin(bs->db)) == 0) {
        if ((rc = move_rows(bs, &l, id)) == 0)
            rc = db_commit(bs->db);
        if (rc < 0)
            db_rollback(bs->db);
    }
    if (rc < 0 && bs->cur_pack == cur) {
        bs->cur_committed = committed; /* the copies are an uncommitted tail */
        bs_pack_rewind(bs);
    }
    if (rc == 0)
        *freed += drop_pack(bs, id);
    if (rc == 0)
        bs_load_counters(bs); /* rows of damaged blocks were dropped */
    free(l.items);
    return rc;
}

typedef struct cand_t {
    int64_t id;
    uint64_t size, live;
} cand_t;

int
bs_compact(blockstore_t *bs, uint64_t *freed)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT p.id, p.size, (SELECT COALESCE(SUM(b.size), 0) "
                                       "FROM blocks b WHERE b.pack = p.id AND b.present = 1) "
                                       "FROM packs p WHERE p.dead = 0 AND p.id != ?");
    if (!st)
        return LS_EIO;
    sqlite3_bind_int64(st, 1, bs->cur_pack);
    cand_t *c = NULL;
    size_t n = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        cand_t x = {sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
                    (uint64_t)sqlite3_column_int64(st, 2)};
        if (x.live * 2 >= x.size)
            continue; /* at least half live: not worth the copy */
        c = ls_realloc(c, (n + 1) * sizeof *c);
        c[n++] = x;
    }
    int rc = db_check(bs->db, step, "compact candidates");
    sqlite3_reset(st);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = compact_one(bs, c[i].id, freed);
    free(c);
    return rc;
}
