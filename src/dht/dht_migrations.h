/* dht_migrations — the DHT layer's SQLite schema steps (versions 200–299).
 *
 * The node passes these to db_open() together with the other layers' lists
 * (db_migrations_merge()). Once released, a migration never changes.
 *
 *   200  dht_records (key → signed value, times) and dht_providers (key, peer →
 *        address list, metadata, times) for kad_store.h. */
#ifndef LS_DHT_MIGRATIONS_H
#define LS_DHT_MIGRATIONS_H

#include <stddef.h>

#include "lib/db/db.h"

extern const db_migration_t dht_migrations[];
extern const size_t dht_migrations_len;

#endif
