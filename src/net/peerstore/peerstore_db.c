/* peerstore_db — loading and flushing the peer store: seed 001's `peers` table and
 * `peer_addrs` (net migration 100). Rows on disk are outside input: see
 * peerstore_load_row(). */
#define LOG_MODULE "peerstore"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/log/log.h"
#include "net/peerstore/peerstore_internal.h"

/* Longest public_key blob read from disk (a PublicKey protobuf's Data plus its tags
 * and lengths). */
#define MAX_PUBKEY_ROW (PUBKEY_PROTO_MAX_DATA + 16)

static const char SQL_PRUNE[] = "DELETE FROM peers WHERE node_id NOT IN (SELECT node_id FROM peers"
                                " ORDER BY last_seen IS NULL, last_seen DESC LIMIT ?1)";
static const char SQL_PRUNE_ADDRS[] =
    "DELETE FROM peer_addrs WHERE node_id NOT IN (SELECT node_id FROM peers)";
static const char SQL_SELECT[] =
    "SELECT node_id, address, public_key, last_seen, trust_score FROM peers"
    " ORDER BY last_seen IS NULL, last_seen DESC LIMIT ?1";
static const char SQL_SELECT_ADDRS[] =
    "SELECT addr FROM peer_addrs WHERE node_id = ?1 ORDER BY rank LIMIT ?2";
static const char SQL_UPSERT[] =
    "INSERT INTO peers (node_id, address, public_key, last_seen, trust_score)"
    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (node_id) DO UPDATE SET"
    " address = excluded.address, public_key = excluded.public_key,"
    " last_seen = excluded.last_seen, trust_score = excluded.trust_score";
static const char SQL_DELETE_ADDRS[] = "DELETE FROM peer_addrs WHERE node_id = ?1";
static const char SQL_INSERT_ADDR[] =
    "INSERT INTO peer_addrs (node_id, rank, addr) VALUES (?1, ?2, ?3)";
static const char SQL_DELETE[] = "DELETE FROM peers WHERE node_id = ?1";

/* ---- decoding one row (fuzzed by tests/fuzz/fuzz_peerstore_row.c) ---- */

/* Parse address text `s` and add it to `e`; false if it is invalid. */
static bool
load_addr(peerstore_t *ps, peer_entry_t *e, const char *s, bool confirm)
{
    multiaddr_t *ma = NULL, *stored;
    if (strnlen(s, MULTIADDR_MAX_STRING + 1) > MULTIADDR_MAX_STRING || multiaddr_parse(s, &ma) < 0)
        return false;
    stored = peerstore_addr_for_store(ps, &e->id, ma);
    multiaddr_free(ma);
    if (!stored)
        return false;
    peerstore_entry_add_addr(ps, e, stored, confirm);
    multiaddr_free(stored);
    return true;
}

/* Validate the row's peer ID: canonical base58 text of a valid ID. */
static int
row_peer_id(const char *node_id, peer_id_t *id)
{
    if (!node_id || strnlen(node_id, PEER_ID_MAX_STRING + 1) > PEER_ID_MAX_STRING ||
        peer_id_from_string(id, node_id) < 0)
        return LS_ECORRUPT;
    char *canon = peer_id_to_str(id);
    bool same = strcmp(canon, node_id) == 0;
    free(canon);
    return same ? 0 : LS_ECORRUPT;
}

static bool
row_pubkey_ok(const peerstore_row_t *row, const peer_id_t *id)
{
    peer_id_t derived;
    return row->public_key_len <= MAX_PUBKEY_ROW &&
           peer_id_from_pubkey_proto(&derived, row->public_key, row->public_key_len) == 0 &&
           peer_id_equal(&derived, id);
}

int
peerstore_load_row(peerstore_t *ps, const peerstore_row_t *row)
{
    peer_id_t id;
    int err = row_peer_id(row->node_id, &id);
    if (err < 0 || peerstore_entry(ps, &id))
        return LS_ECORRUPT;
    peer_entry_t *e = peerstore_entry_ensure(ps, &id, false, &err);
    if (!e)
        return err;

    size_t bad = 0;
    if (row->has_trust && isfinite(row->trust) && row->trust >= 0 && row->trust <= 1)
        e->trust = row->trust;
    else
        bad += row->has_trust;
    if (row->has_last_seen && row->last_seen >= 0)
        e->last_seen = e->learned_at = (uint64_t)row->last_seen;
    else
        bad += row->has_last_seen;
    if (row->public_key && row_pubkey_ok(row, &id)) {
        e->pubkey = ls_memdup(row->public_key, row->public_key_len);
        e->pubkey_len = row->public_key_len;
    } else {
        bad += row->public_key != NULL;
    }
    /* The rest first, so the address that last worked ends up first and confirmed. */
    for (size_t i = row->n_addrs; i-- > 0;)
        bad += !load_addr(ps, e, row->addrs[i], false);
    if (row->address)
        bad += !load_addr(ps, e, row->address, true);

    e->persisted = true;
    if (e->dirty) { /* adding the addresses marked it; it matches the disk */
        e->dirty = false;
        ps->n_dirty--;
    }
    if (bad) {
        ps->stats.rows_rejected += bad;
        peerstore_entry_dirty(ps, e); /* rewrite the row without what was dropped */
    }
    return 0;
}

/* ---- loading ---- */

/* A copy of text column `col`, or NULL if it is NULL, holds a NUL, or is longer
 * than `max`. `*bad` is set when the column was present but unusable. */
static char *
column_text(sqlite3_stmt *st, int col, size_t max, bool *bad)
{
    *bad = false;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (!t || n > max || strlen((const char *)t) != n) {
        *bad = true;
        return NULL;
    }
    return ls_strndup((const char *)t, n);
}

/* Read the peer_addrs of `node_id` into `out` (strings the caller frees). */
static size_t
read_addrs(peerstore_t *ps, const char *node_id, char **out, size_t max)
{
    sqlite3_stmt *st = db_stmt(ps->db, SQL_SELECT_ADDRS);
    size_t n = 0;
    bool bad;
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    while (n < max && sqlite3_step(st) == SQLITE_ROW) {
        char *a = column_text(st, 0, MULTIADDR_MAX_STRING, &bad);
        if (a)
            out[n++] = a;
        else
            ps->stats.rows_rejected++;
    }
    sqlite3_reset(st);
    return n;
}

static void
load_one(peerstore_t *ps, sqlite3_stmt *st, char **addrs)
{
    bool bad_id, bad_addr;
    peerstore_row_t row = {0};
    char *node_id = column_text(st, 0, PEER_ID_MAX_STRING, &bad_id);
    char *address = column_text(st, 1, MULTIADDR_MAX_STRING, &bad_addr);

    if (sqlite3_column_type(st, 2) == SQLITE_BLOB) {
        row.public_key_len = (size_t)sqlite3_column_bytes(st, 2);
        row.public_key = sqlite3_column_blob(st, 2);
    }
    row.has_last_seen = sqlite3_column_type(st, 3) != SQLITE_NULL;
    row.last_seen = sqlite3_column_type(st, 3) == SQLITE_INTEGER ? sqlite3_column_int64(st, 3) : -1;
    int ttype = sqlite3_column_type(st, 4);
    row.has_trust = ttype != SQLITE_NULL;
    row.trust =
        (ttype == SQLITE_FLOAT || ttype == SQLITE_INTEGER) ? sqlite3_column_double(st, 4) : NAN;
    row.node_id = node_id;
    row.address = address;
    row.n_addrs = node_id ? read_addrs(ps, node_id, addrs, ps->cfg.max_addrs) : 0;
    row.addrs = (const char *const *)addrs;

    if (peerstore_load_row(ps, &row) == 0)
        ps->stats.rows_loaded++;
    else
        ps->stats.rows_rejected++;
    ps->stats.rows_rejected += bad_addr;
    for (size_t i = 0; i < row.n_addrs; i++)
        free(addrs[i]);
    free(node_id);
    free(address);
}

/* Keep only the max_peers most recently seen rows on disk. */
static void
prune(peerstore_t *ps)
{
    sqlite3_stmt *st = db_stmt(ps->db, SQL_PRUNE);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)ps->cfg.max_peers);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (db_check(ps->db, rc, "pruning peers") == 0)
        db_exec(ps->db, SQL_PRUNE_ADDRS);
}

void
peerstore_db_load(peerstore_t *ps)
{
    prune(ps);
    sqlite3_stmt *st = db_stmt(ps->db, SQL_SELECT);
    if (!st)
        return;
    char **addrs = ls_calloc(ps->cfg.max_addrs, sizeof *addrs);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)ps->cfg.max_peers);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        load_one(ps, st, addrs);
    db_check(ps->db, rc, "loading peers");
    sqlite3_reset(st);
    free(addrs);
    if (ps->stats.rows_rejected)
        log_warn("%llu invalid peer fields on disk were dropped",
                 (unsigned long long)ps->stats.rows_rejected);
    log_debug("loaded %llu peers", (unsigned long long)ps->stats.rows_loaded);
}

/* ---- flushing ---- */

static int
step_done(db_t *db, sqlite3_stmt *st, const char *what)
{
    if (!st)
        return LS_EIO;
    int rc = db_check(db, sqlite3_step(st), what);
    sqlite3_reset(st);
    return rc;
}

static int
delete_row(db_t *db, const peer_id_t *id)
{
    char *node_id = peer_id_to_str(id);
    sqlite3_stmt *st = db_stmt(db, SQL_DELETE_ADDRS);
    int rc = LS_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
        rc = step_done(db, st, "deleting peer addresses");
    }
    if (rc == 0 && (st = db_stmt(db, SQL_DELETE))) {
        sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
        rc = step_done(db, st, "deleting a peer");
    }
    free(node_id);
    return rc;
}

static int
write_addrs(db_t *db, const char *node_id, const peer_entry_t *e)
{
    sqlite3_stmt *st = db_stmt(db, SQL_DELETE_ADDRS);
    if (!st)
        return LS_EIO;
    sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
    int rc = step_done(db, st, "replacing peer addresses");
    for (size_t i = 0; rc == 0 && i < e->n_addrs; i++) {
        if (!(st = db_stmt(db, SQL_INSERT_ADDR)))
            return LS_EIO;
        char *text = multiaddr_to_str(e->addrs[i]);
        sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
        sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
        rc = step_done(db, st, "writing a peer address");
        free(text);
    }
    return rc;
}

static int
write_row(db_t *db, const peer_entry_t *e)
{
    sqlite3_stmt *st = db_stmt(db, SQL_UPSERT);
    if (!st)
        return LS_EIO;
    char *node_id = peer_id_to_str(&e->id);
    char *address = e->addr0_confirmed ? multiaddr_to_str(e->addrs[0]) : NULL;
    sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
    if (address)
        sqlite3_bind_text(st, 2, address, -1, SQLITE_STATIC);
    if (e->pubkey)
        sqlite3_bind_blob(st, 3, e->pubkey, (int)e->pubkey_len, SQLITE_STATIC);
    if (e->last_seen)
        sqlite3_bind_int64(st, 4, (sqlite3_int64)LS_MIN(e->last_seen, (uint64_t)INT64_MAX));
    sqlite3_bind_double(st, 5, e->trust);
    int rc = step_done(db, st, "writing a peer");
    if (rc == 0)
        rc = write_addrs(db, node_id, e);
    free(address);
    free(node_id);
    return rc;
}

static int
write_all(peerstore_t *ps)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < ps->n_deleted; i++)
        rc = delete_row(ps->db, &ps->deleted[i]);
    size_t it = 0;
    peer_entry_t *e;
    while (rc == 0 && (e = peermap_next(ps->peers, &it)))
        if (e->dirty)
            rc = write_row(ps->db, e);
    return rc;
}

int
peerstore_db_flush(peerstore_t *ps)
{
    int rc = db_begin(ps->db);
    if (rc < 0)
        return rc;
    rc = write_all(ps);
    if (rc == 0)
        rc = db_commit(ps->db);
    if (rc < 0) {
        db_rollback(ps->db);
        return rc;
    }
    size_t it = 0;
    peer_entry_t *e;
    while ((e = peermap_next(ps->peers, &it))) {
        if (e->dirty)
            e->persisted = true;
        e->dirty = false;
    }
    ps->n_dirty = 0;
    ps->n_deleted = 0;
    return 0;
}
