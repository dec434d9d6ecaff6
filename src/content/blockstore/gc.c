/* gc — sweep every block that no pin refers to (pin.h). The mark set is
 * `pin_refs`, kept up to date by pin_add()/pin_rm(), so GC reads no block. */
#include "content/blockstore/pin.h"

#define LOG_MODULE "blockstore"

#include <stdlib.h>

#include "content/blockstore/blockstore_internal.h"
#include "lib/err/err.h"
#include "lib/log/log.h"

/* Rows per round: bounds memory and the length of each transaction. */
#define GC_ROUND 1024

typedef struct victim_t {
    int64_t id;
    uint64_t size;
    bool present;
    bool in_pack; /* nothing to unlink: compaction reclaims the space */
    multihash_t mh;
} victim_t;

static int
select_victims(blockstore_t *bs, victim_t *v, size_t *n)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT id, mh, size, present, pack IS NOT NULL "
                                       "FROM blocks b WHERE NOT "
                                       "EXISTS (SELECT 1 FROM pin_refs r WHERE r.block_id = b.id) "
                                       "LIMIT ?");
    if (!st)
        return LS_EIO;
    sqlite3_bind_int(st, 1, GC_ROUND);
    int step;
    *n = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        victim_t *x = &v[*n];
        int len = sqlite3_column_bytes(st, 1);
        x->id = sqlite3_column_int64(st, 0);
        x->size = (uint64_t)sqlite3_column_int64(st, 2);
        x->present = sqlite3_column_int(st, 3) != 0;
        x->in_pack = sqlite3_column_int(st, 4) != 0;
        if (multihash_decode(sqlite3_column_blob(st, 1), (size_t)len, &x->mh) != len)
            x->present = false; /* no file name: just drop the row */
        (*n)++;
    }
    int rc = db_check(bs->db, step, "gc select");
    sqlite3_reset(st);
    return rc;
}

static int
delete_rows(blockstore_t *bs, const victim_t *v, size_t n)
{
    int rc = db_begin(bs->db);
    sqlite3_stmt *st = rc == 0 ? db_stmt(bs->db, "DELETE FROM blocks WHERE id = ?") : NULL;
    if (!st) {
        db_rollback(bs->db);
        return rc < 0 ? rc : LS_EIO;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_bind_int64(st, 1, v[i].id);
        rc = db_check(bs->db, sqlite3_step(st), "gc delete");
        sqlite3_reset(st);
    }
    if (rc == 0)
        rc = db_commit(bs->db);
    if (rc < 0)
        db_rollback(bs->db);
    return rc;
}

/* One round: files first (a crash leaves rows without files, dropped by the next
 * open's repair), then the rows in one transaction. */
static int
gc_round(blockstore_t *bs, victim_t *v, blockstore_gc_result_t *res, size_t *n)
{
    int rc = select_victims(bs, v, n);
    size_t done = 0;
    for (; rc == 0 && done < *n; done++) {
        if (v[done].present && !v[done].in_pack && (rc = bs_file_unlink(bs, &v[done].mh)) < 0)
            break;
    }
    int rc2 = delete_rows(bs, v, done);
    if (rc2 < 0)
        return rc2;
    for (size_t i = 0; i < done; i++) {
        if (!v[i].present)
            continue;
        res->blocks++;
        res->bytes += v[i].size;
        bs->blocks -= bs->blocks > 0;
        bs->bytes -= LS_MIN(bs->bytes, v[i].size);
    }
    return rc;
}

int
blockstore_gc(blockstore_t *bs, blockstore_gc_result_t *out)
{
    blockstore_gc_result_t res = {0};
    if (bs->in_batch || bs->holds > 0)
        return LS_ELOCKED;
    victim_t *v = ls_malloc(GC_ROUND * sizeof *v);
    size_t n = 0;
    int rc;
    do {
        rc = gc_round(bs, v, &res, &n);
    } while (rc == 0 && n == GC_ROUND);
    free(v);
    if (rc == 0)
        rc = bs_compact(bs, &res.pack_bytes);
    if (rc < 0)
        log_error("%s: gc: %s", bs->dir, ls_strerror(rc));
    log_info("%s: gc freed %llu blocks, %llu bytes (%llu bytes of packs)", bs->dir,
             (unsigned long long)res.blocks, (unsigned long long)res.bytes,
             (unsigned long long)res.pack_bytes);
    if (out)
        *out = res;
    return rc;
}
