/* db_internal — what db.c and db_migrate.c share; not for use outside lib/db. */
#ifndef LS_LIB_DB_DB_INTERNAL_H
#define LS_LIB_DB_DB_INTERNAL_H

#include <stddef.h>

#include "lib/buf/buf.h"
#include "lib/db/db.h"

/** Append a formatted message to `err` (may be NULL) and log it as an error.
 *  Returns `rc`, so callers can `return db_fail_msg(err, LS_EIO, ...)`. */
int db_fail_msg(buf_t *err, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** Check that `m` is strictly increasing with positive versions and has names and
 *  SQL. 0 or LS_EINVAL with a message in `err`. */
int db_migrations_check(const db_migration_t *m, size_t n, buf_t *err);

/** Create schema_migrations if needed, refuse unknown recorded versions, then apply
 *  every migration of `m` not yet recorded, each in its own transaction. */
int db_migrate(db_t *db, const db_migration_t *m, size_t n, buf_t *err);

#endif
