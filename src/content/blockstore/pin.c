/* pin — direct and recursive pins with a materialised mark set (pin.h). */
#include "content/blockstore/pin.h"

#include "content/blockstore/blockstore_internal.h"
#include "lib/clock/clock.h"
#include "lib/err/err.h"

static int
bind_cid(sqlite3_stmt *st, int idx, const cid_t *cid)
{
    buf_t b = BUF_INIT(CID_MAX_STRING);
    int rc = cid_to_bytes(cid, &b);
    if (rc == 0)
        rc = sqlite3_bind_blob(st, idx, b.data, (int)b.len, SQLITE_TRANSIENT) == SQLITE_OK ? 0
                                                                                           : LS_EIO;
    buf_free(&b);
    return rc;
}

/* 1 with `*id` and `*recursive` if `cid` itself is pinned, 0 if not, or an error. */
static int
pin_find(blockstore_t *bs, const cid_t *cid, int64_t *id, bool *recursive)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT id, recursive FROM pins WHERE cid = ?");
    int rc = st ? bind_cid(st, 1, cid) : LS_EIO;
    if (rc < 0)
        return rc;
    int step = sqlite3_step(st);
    rc = step == SQLITE_ROW ? 1 : db_check(bs->db, step, "pins lookup");
    if (rc == 1) {
        *id = sqlite3_column_int64(st, 0);
        *recursive = sqlite3_column_int(st, 1) != 0;
    }
    sqlite3_reset(st);
    return rc;
}

/* Add (pin, block) to the mark set: 1 if new, 0 if the walk saw it already. */
static int
ref_add(blockstore_t *bs, int64_t pin_id, int64_t block_id)
{
    sqlite3_stmt *st = db_stmt(bs->db, "INSERT OR IGNORE INTO pin_refs(pin_id, block_id) "
                                       "VALUES (?, ?)");
    if (!st)
        return LS_EIO;
    sqlite3_bind_int64(st, 1, pin_id);
    sqlite3_bind_int64(st, 2, block_id);
    int rc = db_check(bs->db, sqlite3_step(st), "pin_refs insert");
    sqlite3_reset(st);
    return rc < 0 ? rc : sqlite3_changes(db_handle(bs->db)) > 0;
}

typedef struct walk_t {
    blockstore_t *bs;
    int64_t pin_id;
    bool recursive;
    const pin_links_t *links;
    blockstore_cidlist_t *missing; /* may be NULL */
    size_t nmissing;
    blockstore_cidlist_t corrupt; /* found damaged (and quarantined) on the way */
    blockstore_cidlist_t stack;
    buf_t data;
} walk_t;

static void
note_missing(walk_t *w, const cid_t *cid)
{
    if (w->missing && w->nmissing < PIN_MAX_MISSING_REPORT)
        blockstore_cidlist_push(w->missing, cid);
    w->nmissing++;
}

/* Visit one CID: mark it, and push its children when the walk is recursive. */
static int
visit(walk_t *w, const cid_t *c)
{
    int64_t id;
    bool present = false;
    int rc = bs_row_find(w->bs, &c->hash, &id, NULL, &present);
    if (rc <= 0 || !present) {
        if (rc >= 0)
            note_missing(w, c);
        return rc < 0 ? rc : 0;
    }
    if ((rc = ref_add(w->bs, w->pin_id, id)) <= 0)
        return rc; /* error, or seen already */
    if (!w->recursive || c->codec == CID_CODEC_RAW)
        return 0;
    if (!w->links || !w->links->fn)
        return LS_EINVAL;
    buf_clear(&w->data);
    rc = blockstore_get(w->bs, c, &w->data);
    if (rc == LS_ECORRUPT || rc == LS_ENOENT) {
        if (rc == LS_ECORRUPT)
            blockstore_cidlist_push(&w->corrupt, c);
        note_missing(w, c);
        return 0;
    }
    if (rc < 0)
        return rc;
    return w->links->fn(w->links->ctx, c, w->data.data, w->data.len, &w->stack);
}

static int
walk(walk_t *w, const cid_t *root)
{
    int rc = 0;
    blockstore_cidlist_push(&w->stack, root);
    while (rc == 0 && w->stack.n > 0) {
        cid_t c = w->stack.items[--w->stack.n];
        rc = visit(w, &c);
    }
    if (rc == 0 && w->nmissing > 0)
        rc = w->corrupt.n > 0 ? LS_ECORRUPT : LS_ENOENT;
    return rc;
}

static int
pin_insert(blockstore_t *bs, const cid_t *cid, bool recursive, int64_t *id)
{
    sqlite3_stmt *st = db_stmt(bs->db, "INSERT INTO pins(cid, recursive, created_at) "
                                       "VALUES (?, ?, ?)");
    int rc = st ? bind_cid(st, 1, cid) : LS_EIO;
    if (rc < 0)
        return rc;
    sqlite3_bind_int(st, 2, recursive);
    sqlite3_bind_int64(st, 3, (int64_t)clock_wall_ms());
    rc = db_check(bs->db, sqlite3_step(st), "pins insert");
    sqlite3_reset(st);
    *id = sqlite3_last_insert_rowid(db_handle(bs->db));
    return rc;
}

static int
pin_delete(blockstore_t *bs, const cid_t *cid)
{
    sqlite3_stmt *st = db_stmt(bs->db, "DELETE FROM pins WHERE cid = ?");
    int rc = st ? bind_cid(st, 1, cid) : LS_EIO;
    if (rc < 0)
        return rc;
    rc = db_check(bs->db, sqlite3_step(st), "pins delete");
    sqlite3_reset(st);
    if (rc == 0 && sqlite3_changes(db_handle(bs->db)) == 0)
        rc = LS_ENOENT;
    return rc;
}

/* The rollback restored the index rows of blocks found corrupt (their files are in
 * quarantine): forget them again, outside the transaction. */
static void
forget_corrupt(blockstore_t *bs, const blockstore_cidlist_t *corrupt)
{
    for (size_t i = 0; i < corrupt->n; i++) {
        int64_t id;
        uint64_t size;
        bool present;
        if (bs_row_find(bs, &corrupt->items[i].hash, &id, &size, &present) == 1 && present)
            bs_row_lost(bs, id, size);
    }
    bs_load_counters(bs);
}

int
pin_add(blockstore_t *bs, const cid_t *cid, bool recursive, const pin_links_t *links,
        blockstore_cidlist_t *missing)
{
    int64_t id;
    bool was_recursive = false;
    int rc = bs->in_batch ? bs_batch_flush(bs) : 0;
    int found = rc < 0 ? rc : pin_find(bs, cid, &id, &was_recursive);
    if (found < 0)
        return found;
    if (found == 1 && (was_recursive || !recursive))
        return (was_recursive && !recursive) ? LS_EEXIST : 0;
    if ((rc = db_begin(bs->db)) < 0)
        return rc;
    if (found == 1) /* direct → recursive: start the mark set again */
        rc = pin_delete(bs, cid);
    walk_t w = {bs, 0, recursive, links, missing, 0, {0}, {0}, BUF_INIT(bs->cfg.max_block)};
    if (rc == 0 && (rc = pin_insert(bs, cid, recursive, &w.pin_id)) == 0)
        rc = walk(&w, cid);
    if (rc == 0)
        rc = db_commit(bs->db);
    if (rc < 0) {
        db_rollback(bs->db);
        forget_corrupt(bs, &w.corrupt);
    }
    blockstore_cidlist_clear(&w.corrupt);
    blockstore_cidlist_clear(&w.stack);
    buf_free(&w.data);
    return rc;
}

int
pin_rm(blockstore_t *bs, const cid_t *cid)
{
    return pin_delete(bs, cid);
}

int
pin_ls(blockstore_t *bs, pin_ls_fn fn, void *ctx)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT cid, recursive FROM pins ORDER BY id");
    if (!st)
        return LS_EIO;
    int rc = 0, step = SQLITE_DONE;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        cid_t cid;
        int n = sqlite3_column_bytes(st, 0);
        if (cid_from_bytes(&cid, sqlite3_column_blob(st, 0), (size_t)n) != n)
            continue; /* only cid_to_bytes() output is stored */
        rc = fn(ctx, &cid, sqlite3_column_int(st, 1) ? PIN_RECURSIVE : PIN_DIRECT);
    }
    if (rc == 0)
        rc = db_check(bs->db, step, "pins list");
    sqlite3_reset(st);
    return rc;
}

int
pin_status(blockstore_t *bs, const cid_t *cid)
{
    int64_t id;
    bool recursive;
    int rc = pin_find(bs, cid, &id, &recursive);
    if (rc != 0)
        return rc < 0 ? rc : recursive ? PIN_RECURSIVE : PIN_DIRECT;
    if ((rc = bs_row_find(bs, &cid->hash, &id, NULL, NULL)) <= 0)
        return rc < 0 ? rc : PIN_NONE;
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT 1 FROM pin_refs WHERE block_id = ? LIMIT 1");
    if (!st)
        return LS_EIO;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    rc = step == SQLITE_ROW ? PIN_INDIRECT : db_check(bs->db, step, "pin_refs lookup");
    sqlite3_reset(st);
    return rc;
}

bool
pin_is_pinned(blockstore_t *bs, const cid_t *cid)
{
    return pin_status(bs, cid) > 0;
}

int
pin_missing(blockstore_t *bs, blockstore_cidlist_t *out, size_t max)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT mh, codec FROM blocks WHERE present = 0 "
                                       "ORDER BY id LIMIT ?");
    if (!st)
        return LS_EIO;
    sqlite3_bind_int64(st, 1, (int64_t)LS_MIN(max, (size_t)INT64_MAX));
    int n = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        cid_t cid = {1, (uint64_t)sqlite3_column_int64(st, 1), {0}};
        int len = sqlite3_column_bytes(st, 0);
        if (multihash_decode(sqlite3_column_blob(st, 0), (size_t)len, &cid.hash) != len)
            continue;
        blockstore_cidlist_push(out, &cid);
        n++;
    }
    int rc = db_check(bs->db, step, "pins missing");
    sqlite3_reset(st);
    return rc < 0 ? rc : n;
}
