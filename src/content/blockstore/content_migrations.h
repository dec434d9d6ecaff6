/* content_migrations — the content layer's SQLite schema steps (versions 400–499).
 *
 * The node passes these to db_open() together with the other layers' lists
 * (node_store.c merges them with db_migrations_merge()). Once released, a migration
 * never changes: add a new version instead. Other content modules (Bitswap ledger,
 * downloads) add their steps to this same array, in this range.
 *
 *   400  blockstore index (`blocks`), pins (`pins`, `pin_refs`) and the
 *        blockstore's clean-shutdown marker (`blockstore_state`). */
#ifndef LS_CONTENT_MIGRATIONS_H
#define LS_CONTENT_MIGRATIONS_H

#include <stddef.h>

#include "lib/db/db.h"

extern const db_migration_t content_migrations[];
extern const size_t content_migrations_len;

#endif
