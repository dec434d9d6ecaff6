/* net_migrations — the net layer's SQLite schema steps (versions 100–199).
 *
 * The node passes these to db_open() together with its own (node_store.c merges the
 * lists with db_migrations_merge()). Once released, a migration never changes: add
 * a new version instead.
 *
 *   100  peer store: `peer_addrs` (every address of a peer, in rank order) beside
 *        seed 001's `peers` table. `peers` itself is node migration 1; it is created
 *        here too (IF NOT EXISTS, same definition) so that net tests and tools can
 *        open a database with the net migrations alone. */
#ifndef LS_NET_MIGRATIONS_H
#define LS_NET_MIGRATIONS_H

#include <stddef.h>

#include "lib/db/db.h"

extern const db_migration_t net_migrations[];
extern const size_t net_migrations_len;

#endif
