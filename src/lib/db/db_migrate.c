/* db_migrate — versioned schema migrations recorded in `schema_migrations`. */
#define LOG_MODULE "db"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/db/db.h"
#include "lib/db/db_internal.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "lib/mem/mem.h"

static const char create_table_sql[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                       " version INTEGER PRIMARY KEY,"
                                       " name TEXT NOT NULL,"
                                       " applied_at INTEGER NOT NULL)";

int
db_migrations_check(const db_migration_t *m, size_t n, buf_t *err)
{
    for (size_t i = 0; i < n; i++) {
        if (m[i].version <= 0 || !m[i].name || !m[i].sql)
            return db_fail_msg(err, LS_EINVAL, "migration #%zu (version %d) is incomplete", i,
                               m[i].version);
        if (i > 0 && m[i].version <= m[i - 1].version)
            return db_fail_msg(err, LS_EINVAL,
                               "migration versions must increase: %d (%s) follows %d (%s)",
                               m[i].version, m[i].name, m[i - 1].version, m[i - 1].name);
    }
    return 0;
}

static int
cmp_version(const void *a, const void *b)
{
    int va = ((const db_migration_t *)a)->version, vb = ((const db_migration_t *)b)->version;
    return (va > vb) - (va < vb);
}

int
db_migrations_merge(const db_migration_list_t *lists, size_t nlists, db_migration_t **out,
                    size_t *out_n, buf_t *err)
{
    size_t total = 0;
    for (size_t i = 0; i < nlists; i++)
        total += lists[i].n;
    db_migration_t *all = ls_calloc(total ? total : 1, sizeof *all);
    size_t k = 0;
    for (size_t i = 0; i < nlists; i++) {
        if (lists[i].n)
            memcpy(all + k, lists[i].items, lists[i].n * sizeof *all);
        k += lists[i].n;
    }
    /* qsort is not stable, but equal versions are rejected below anyway */
    qsort(all, total, sizeof *all, cmp_version);
    for (size_t i = 0; i < total; i++) {
        int rc = 0;
        if (all[i].version <= 0)
            rc = db_fail_msg(err, LS_EINVAL, "migration \"%s\" has version %d (must be > 0)",
                             all[i].name ? all[i].name : "?", all[i].version);
        else if (i > 0 && all[i].version == all[i - 1].version)
            rc = db_fail_msg(err, LS_EINVAL, "two migrations have version %d: \"%s\" and \"%s\"",
                             all[i].version, all[i - 1].name ? all[i - 1].name : "?",
                             all[i].name ? all[i].name : "?");
        if (rc < 0) {
            free(all);
            return rc;
        }
    }
    *out = all;
    *out_n = total;
    return 0;
}

static const db_migration_t *
find_version(const db_migration_t *m, size_t n, int version)
{
    db_migration_t key = {.version = version};
    return n ? bsearch(&key, m, n, sizeof *m, cmp_version) : NULL;
}

/* Mark in `applied` (parallel to `m`) the migrations already recorded; refuse a
 * database that records a version this binary does not know. */
static int
read_applied(db_t *db, const db_migration_t *m, size_t n, bool *applied, buf_t *err)
{
    sqlite3 *h = db_handle(db);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h, "SELECT version, name FROM schema_migrations ORDER BY version",
                                -1, &st, NULL);
    int code = 0;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        if ((rc = sqlite3_step(st)) != SQLITE_ROW)
            break;
        sqlite3_int64 v = sqlite3_column_int64(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        int max = n ? m[n - 1].version : 0;
        const db_migration_t *known = v > 0 && v <= max ? find_version(m, n, (int)v) : NULL;
        if (!known) {
            code = v > max ? db_fail_msg(err, LS_ECORRUPT,
                                         "database schema version %lld is newer than this "
                                         "lester (max %d)",
                                         (long long)v, max)
                           : db_fail_msg(err, LS_ECORRUPT,
                                         "database has schema migration %lld (%s) that this "
                                         "lester does not know",
                                         (long long)v, name ? name : "?");
            break;
        }
        if (name && strcmp(name, known->name) != 0)
            log_warn("migration %d is recorded as \"%s\" but known as \"%s\"", known->version, name,
                     known->name);
        applied[known - m] = true;
    }
    if (code == 0 && rc != SQLITE_DONE)
        code =
            db_fail_msg(err, db_error_code(rc), "reading schema_migrations: %s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    return code;
}

/* Apply one migration and record it, in one transaction. Another process may have
 * applied it since we looked: the check inside the transaction makes that a no-op. */
static int
apply_one(db_t *db, const db_migration_t *m, buf_t *err)
{
    sqlite3 *h = db_handle(db);
    int rc = db_begin(db);
    if (rc < 0)
        return db_fail_msg(err, rc, "migration %d (%s): cannot begin: %s", m->version, m->name,
                           sqlite3_errmsg(h));
    sqlite3_stmt *st = db_stmt(db, "SELECT 1 FROM schema_migrations WHERE version = ?");
    if (!st)
        goto fail;
    sqlite3_bind_int(st, 1, m->version);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src == SQLITE_ROW)
        return db_rollback(db);
    if (sqlite3_exec(h, m->sql, NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    st = db_stmt(db, "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)");
    if (!st)
        goto fail;
    sqlite3_bind_int(st, 1, m->version);
    sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
    src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE || (rc = db_commit(db)) < 0)
        goto fail;
    log_info("applied schema migration %d (%s)", m->version, m->name);
    return 0;
fail:
    rc = db_error_code(sqlite3_extended_errcode(h));
    /* the message is taken before the rollback replaces it */
    rc = db_fail_msg(err, rc < 0 ? rc : LS_EIO, "migration %d (%s) failed: %s", m->version, m->name,
                     sqlite3_errmsg(h));
    db_rollback(db);
    return rc;
}

int
db_migrate(db_t *db, const db_migration_t *m, size_t n, buf_t *err)
{
    int rc = db_exec(db, create_table_sql);
    if (rc < 0)
        return db_fail_msg(err, rc, "cannot create schema_migrations: %s",
                           sqlite3_errmsg(db_handle(db)));
    bool *applied = ls_calloc(n ? n : 1, sizeof *applied);
    rc = read_applied(db, m, n, applied, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!applied[i])
            rc = apply_one(db, &m[i], err);
    }
    free(applied);
    return rc;
}
