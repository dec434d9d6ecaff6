#include "dht/dht_migrations.h"

#include "lib/mem/mem.h"

const db_migration_t dht_migrations[] = {
    {200, "dht records and providers",
     "CREATE TABLE dht_records ("
     "  key BLOB PRIMARY KEY,"
     "  value BLOB NOT NULL,"
     "  received_ms INTEGER NOT NULL,"
     "  expires_ms INTEGER NOT NULL,"
     "  republish_ms INTEGER NOT NULL DEFAULT 0" /* 0: not ours */
     ") WITHOUT ROWID;"
     "CREATE TABLE dht_providers ("
     "  key BLOB NOT NULL,"
     "  peer BLOB NOT NULL," /* binary peer ID */
     "  addrs BLOB,"         /* kad address list */
     "  meta BLOB,"          /* signed provider metadata */
     "  expires_ms INTEGER NOT NULL,"
     "  republish_ms INTEGER NOT NULL DEFAULT 0,"
     "  PRIMARY KEY (key, peer)) WITHOUT ROWID;"
     "CREATE INDEX dht_providers_expires ON dht_providers(expires_ms);"},
};
const size_t dht_migrations_len = LS_ARRAY_LEN(dht_migrations);
