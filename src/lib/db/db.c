/* db — connection set-up, statement cache, transactions and error mapping.
 * Migrations live in db_migrate.c. */
#define LOG_MODULE "db"
#include "lib/db/db.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "lib/db/db_internal.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "lib/mem/mem.h"

#define DB_BUSY_TIMEOUT_MS 5000
#define DB_STMT_CACHE_INITIAL 32 /* slots; a power of two */

typedef struct stmt_slot_t {
    char *sql; /* owned copy of the key; NULL for an empty slot */
    sqlite3_stmt *stmt;
} stmt_slot_t;

struct db_t {
    sqlite3 *h;
    stmt_slot_t *slots; /* open addressing, linear probing */
    size_t nslots;      /* a power of two */
    size_t nused;
};

/* ---- errors ---- */

int
db_error_code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return LS_ELOCKED;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return LS_ECORRUPT;
    case SQLITE_CONSTRAINT:
        return (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) ? LS_EEXIST
                                                                                      : LS_EINVAL;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return LS_EACCES;
    case SQLITE_NOMEM:
        return LS_ENOMEM;
    default:
        return LS_EIO;
    }
}

int
db_check(db_t *db, int rc, const char *what)
{
    int code = db_error_code(rc);
    if (code < 0)
        log_error("%s: %s (sqlite %d)", what, sqlite3_errmsg(db->h), rc);
    return code;
}

int
db_fail_msg(buf_t *err, int rc, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_error("%s", msg);
    if (err)
        buf_append_str(err, msg);
    return rc;
}

/* ---- statement cache ---- */

static size_t
hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return (size_t)h;
}

static stmt_slot_t *
slot_find(stmt_slot_t *slots, size_t nslots, const char *sql)
{
    size_t i = hash_str(sql) & (nslots - 1);
    while (slots[i].sql && strcmp(slots[i].sql, sql) != 0)
        i = (i + 1) & (nslots - 1);
    return &slots[i]; /* the match, or the empty slot where it belongs */
}

static void
cache_grow(db_t *db)
{
    size_t n = db->nslots ? db->nslots * 2 : DB_STMT_CACHE_INITIAL;
    stmt_slot_t *slots = ls_calloc(n, sizeof *slots);
    for (size_t i = 0; i < db->nslots; i++) {
        if (db->slots[i].sql)
            *slot_find(slots, n, db->slots[i].sql) = db->slots[i];
    }
    free(db->slots);
    db->slots = slots;
    db->nslots = n;
}

sqlite3_stmt *
db_stmt(db_t *db, const char *sql)
{
    if (!db->slots || (db->nused + 1) * 4 > db->nslots * 3)
        cache_grow(db);
    stmt_slot_t *slot = slot_find(db->slots, db->nslots, sql);
    if (slot->sql) {
        sqlite3_reset(slot->stmt);
        sqlite3_clear_bindings(slot->stmt);
        return slot->stmt;
    }
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK || !stmt) {
        log_error("cannot prepare \"%s\": %s", sql, sqlite3_errmsg(db->h));
        sqlite3_finalize(stmt);
        return NULL;
    }
    slot->sql = ls_strdup(sql);
    slot->stmt = stmt;
    db->nused++;
    return stmt;
}

static void
cache_clear(db_t *db)
{
    for (size_t i = 0; i < db->nslots; i++) {
        if (db->slots[i].sql) {
            sqlite3_finalize(db->slots[i].stmt);
            free(db->slots[i].sql);
        }
    }
    free(db->slots);
    db->slots = NULL;
    db->nslots = db->nused = 0;
}

/* ---- open / close ---- */

static bool
is_memory_path(const char *path)
{
    return path[0] == '\0' || strcmp(path, ":memory:") == 0;
}

/* Switch to WAL and check that it took: on a file system without shared-memory
 * support SQLite silently keeps the old journal mode. The first statement is also
 * where SQLite first reads the header, so it is where a non-database shows up. */
static int
enable_wal(db_t *db, const char *path, buf_t *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->h, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if ((rc & 0xff) == SQLITE_NOTADB) {
        sqlite3_finalize(st);
        return db_fail_msg(err, LS_ECORRUPT, "%s is not a SQLite database", path);
    }
    if (rc != SQLITE_ROW) {
        int code = db_fail_msg(err, db_error_code(rc), "%s: cannot set WAL mode: %s", path,
                               sqlite3_errmsg(db->h));
        sqlite3_finalize(st);
        return code;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    bool ok = mode && (strcasecmp(mode, "wal") == 0 ||
                       (is_memory_path(path) && strcasecmp(mode, "memory") == 0));
    int code = ok ? 0
                  : db_fail_msg(err, LS_EIO, "%s: WAL mode did not take (journal_mode is %s)", path,
                                mode ? mode : "?");
    sqlite3_finalize(st);
    return code;
}

static int
configure(db_t *db, const char *path, buf_t *err)
{
    sqlite3_extended_result_codes(db->h, 1);
    /* Before WAL: switching journal modes needs a brief exclusive lock. */
    sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
    int rc = enable_wal(db, path, err);
    if (rc < 0)
        return rc;
    /* synchronous=NORMAL in WAL mode: a commit appends to the WAL without fsync;
     * the WAL is fsynced at checkpoints. A process crash (kill -9) never loses a
     * committed transaction, since the WAL's bytes are in the OS page cache once
     * COMMIT returns; only a power loss or OS crash may roll back the last few
     * commits, and never corrupts the database. That is the trade we want for a
     * node that commits often. */
    char *msg = NULL;
    rc =
        sqlite3_exec(db->h, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int code = db_fail_msg(err, db_error_code(rc), "%s: %s", path, msg ? msg : "pragma failed");
        sqlite3_free(msg);
        return code;
    }
    return 0;
}

int
db_open(const char *path, const db_migration_t *migrations, size_t n, db_t **out, buf_t *err)
{
    *out = NULL;
    int rc = db_migrations_check(migrations, n, err);
    if (rc < 0)
        return rc;
    db_t *db = ls_calloc(1, sizeof *db);
    int src = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (src != SQLITE_OK) {
        rc = db_fail_msg(err, db_error_code(src), "cannot open database %s: %s", path,
                         db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(src));
        goto fail;
    }
    if ((rc = configure(db, path, err)) < 0 || (rc = db_migrate(db, migrations, n, err)) < 0)
        goto fail;
    *out = db;
    return 0;
fail:
    cache_clear(db);
    sqlite3_close_v2(db->h); /* NULL is a no-op */
    free(db);
    return rc;
}

void
db_free_(db_t *db)
{
    if (!db)
        return;
    cache_clear(db);
    /* SQLite checkpoints when the last connection closes; doing it explicitly with
     * TRUNCATE also leaves a zero-length -wal file if another connection is open. */
    int rc = sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    if (rc != SQLITE_OK)
        log_warn("checkpoint on close: %s", sqlite3_errmsg(db->h));
    if (sqlite3_close(db->h) != SQLITE_OK) {
        log_error("close: %s (statements still open?)", sqlite3_errmsg(db->h));
        sqlite3_close_v2(db->h); /* closes once the caller's statements are finalized */
    }
    free(db);
}

sqlite3 *
db_handle(db_t *db)
{
    return db->h;
}

/* ---- statements and transactions ---- */

int
db_exec(db_t *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        log_error("exec: %s (sqlite %d)", msg ? msg : sqlite3_errstr(rc), rc);
        sqlite3_free(msg);
    }
    return db_error_code(rc);
}

/* Step a cached statement that returns no rows, and reset it. */
static int
step_once(db_t *db, const char *sql)
{
    sqlite3_stmt *st = db_stmt(db, sql);
    if (!st)
        return LS_EIO;
    int rc = sqlite3_step(st);
    int code = db_check(db, rc, sql);
    sqlite3_reset(st);
    return code;
}

int
db_begin(db_t *db)
{
    return step_once(db, "BEGIN IMMEDIATE");
}

int
db_commit(db_t *db)
{
    return step_once(db, "COMMIT");
}

int
db_rollback(db_t *db)
{
    if (sqlite3_get_autocommit(db->h))
        return 0; /* no transaction open (SQLite may have rolled back already) */
    return step_once(db, "ROLLBACK");
}

/* ---- inspection ---- */

int
db_integrity_check(db_t *db, buf_t *report)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->h, "PRAGMA integrity_check", -1, &st, NULL);
    bool ok = false;
    size_t rows = 0;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        if ((rc = sqlite3_step(st)) != SQLITE_ROW)
            break;
        const char *line = (const char *)sqlite3_column_text(st, 0);
        ok = rows++ == 0 && line && strcmp(line, "ok") == 0;
        if (report)
            buf_printf(report, "%s\n", line ? line : "");
    }
    int code = db_check(db, rc, "integrity_check");
    if (code < 0 && report) /* e.g. "database disk image is malformed" */
        buf_printf(report, "%s\n", sqlite3_errmsg(db->h));
    sqlite3_finalize(st);
    if (code < 0)
        return code;
    return ok && rows == 1 ? 0 : LS_ECORRUPT;
}

static int64_t
pragma_int(db_t *db, const char *sql)
{
    sqlite3_stmt *st = db_stmt(db, sql);
    if (!st)
        return LS_EIO;
    int rc = sqlite3_step(st);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : db_check(db, rc, sql);
    sqlite3_reset(st);
    return v;
}

int64_t
db_size_bytes(db_t *db)
{
    int64_t pages = pragma_int(db, "PRAGMA page_count");
    int64_t page_size = pragma_int(db, "PRAGMA page_size");
    if (pages < 0 || page_size < 0)
        return pages < 0 ? pages : page_size;
    int64_t total = pages * page_size;
    const char *file = sqlite3_db_filename(db->h, "main");
    if (file && file[0]) {
        buf_t wal = BUF_INIT(BUF_UNLIMITED);
        buf_printf(&wal, "%s-wal", file);
        struct stat st;
        if (stat(buf_cstr(&wal), &st) == 0)
            total += (int64_t)st.st_size;
        buf_free(&wal);
    }
    return total;
}

int
db_schema_version(db_t *db)
{
    int64_t v = pragma_int(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    return v > INT32_MAX ? LS_ECORRUPT : (int)v;
}
