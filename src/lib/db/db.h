/* db — SQLite access for Lester: one connection per data directory, WAL mode,
 * versioned schema migrations, a prepared-statement cache and error mapping.
 *
 * Threading: a db_t belongs to one thread at a time (the loop thread, in practice).
 * SQLite itself is thread-safe, but the statement cache here is not locked.
 *
 * Migrations: each layer owns a static array of db_migration_t with its own version
 * range (e.g. lib 1–99, net 100–199, dht 200–299, ...) and the node passes their
 * concatenation, merged with db_migrations_merge(), to db_open(). A migration is
 * applied when its version is not yet recorded in `schema_migrations`, so a layer
 * may add a migration in its range after a higher layer's migrations have been
 * applied. A database that records a version this binary does not know was written
 * by a newer (or different) lester and is refused. */
#ifndef LS_LIB_DB_DB_H
#define LS_LIB_DB_DB_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "lib/buf/buf.h"
#include "lib/mem/mem.h"

typedef struct db_t db_t;

/** One schema step. `sql` may hold several statements; it runs inside a
 *  transaction, so it must not contain BEGIN/COMMIT, VACUUM or journal-mode
 *  pragmas. Once released, a migration's version and SQL never change. */
typedef struct db_migration_t {
    int version;      /* > 0; strictly increasing within the array given to db_open */
    const char *name; /* short description stored in schema_migrations */
    const char *sql;
} db_migration_t;

/** A borrowed array of migrations, for db_migrations_merge(). */
typedef struct db_migration_list_t {
    const db_migration_t *items;
    size_t n;
} db_migration_list_t;

/** Merge `nlists` migration arrays into one sorted by version. On success `*out`
 *  is a new array (caller frees with free(); it borrows the names and SQL of the
 *  inputs) of `*out_n` entries and 0 is returned. Two migrations with the same
 *  version, or a version <= 0, give LS_EINVAL and a message in `err` (may be NULL);
 *  `*out` is then untouched. */
int db_migrations_merge(const db_migration_list_t *lists, size_t nlists, db_migration_t **out,
                        size_t *out_n, buf_t *err);

/** Open (creating if needed) the database at `path`, enable WAL mode,
 *  synchronous=NORMAL, foreign keys and a 5 s busy timeout, then apply the pending
 *  `migrations` (borrowed; versions strictly increasing), each in its own
 *  transaction. On success `*out` owns the connection. On failure `*out` is NULL, a
 *  message for a person is appended to `err` (may be NULL) and logged, and the
 *  result is:
 *    LS_EINVAL   the migration array is not strictly increasing;
 *    LS_ECORRUPT the file is not a SQLite database, is damaged, or records a schema
 *                version this binary does not know ("... is newer than this lester");
 *    LS_ELOCKED  another process holds a lock for longer than the busy timeout;
 *    LS_EIO      anything else, e.g. a migration's SQL failed (its transaction is
 *                rolled back; earlier migrations stay applied). */
int db_open(const char *path, const db_migration_t *migrations, size_t n, db_t **out, buf_t *err);

/** Finalize cached statements, checkpoint the WAL into the main file and close.
 *  NULL is a no-op. */
void db_free_(db_t *db);
#define db_free(d) FREE_AND_NULL(db_t, db_free_, (d))

/** The underlying connection, borrowed; for code that needs the full SQLite API. */
sqlite3 *db_handle(db_t *db);

/** Run one or more SQL statements that return no rows. 0 or a mapped error. */
int db_exec(db_t *db, const char *sql);

/** BEGIN IMMEDIATE: take the write lock now, so a transaction never fails with
 *  SQLITE_BUSY halfway through. 0 or a mapped error (LS_ELOCKED after the busy
 *  timeout). */
int db_begin(db_t *db);
int db_commit(db_t *db);
/** Roll back the open transaction; harmless if none is open. */
int db_rollback(db_t *db);

/** A prepared statement for `sql`, reset and with its bindings cleared, owned by
 *  the cache (never finalize it). Statements are cached by SQL text, so pass a
 *  fixed set of strings (literals), never SQL built from data. Call sqlite3_reset()
 *  when done with the rows, so the statement does not hold a read transaction open
 *  (which would stop WAL checkpoints). Returns NULL, with the error logged, if `sql`
 *  does not compile — a bug in the caller. */
sqlite3_stmt *db_stmt(db_t *db, const char *sql);

/** Run PRAGMA integrity_check, appending its rows (one per line) to `report` (may
 *  be NULL). 0 if the result is "ok", LS_ECORRUPT if not, or another mapped error. */
int db_integrity_check(db_t *db, buf_t *report);

/** Bytes used on disk: page_count * page_size plus the size of the -wal file. */
int64_t db_size_bytes(db_t *db);

/** The highest migration version applied, 0 for a fresh database, or a negative
 *  mapped error. */
int db_schema_version(db_t *db);

/** Map a SQLite result code to an LS code: SQLITE_OK/ROW/DONE → 0, BUSY/LOCKED →
 *  LS_ELOCKED, CORRUPT/NOTADB → LS_ECORRUPT, a UNIQUE/PRIMARY KEY violation →
 *  LS_EEXIST, another constraint → LS_EINVAL, FULL → -ENOSPC, READONLY/PERM →
 *  LS_EACCES, NOMEM → LS_ENOMEM, anything else → LS_EIO. Extended codes are
 *  accepted. */
int db_error_code(int sqlite_rc);

/** Like db_error_code(), but also logs SQLite's message for `db` with `what`
 *  (e.g. the operation) when `sqlite_rc` is an error. For use after sqlite3_step(). */
int db_check(db_t *db, int sqlite_rc, const char *what);

#endif
