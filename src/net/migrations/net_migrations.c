#include "net/migrations/net_migrations.h"

#include "lib/mem/mem.h"

const db_migration_t net_migrations[] = {
    { 100, "peer store addresses",
      "CREATE TABLE IF NOT EXISTS peers ("
      "  node_id TEXT PRIMARY KEY,"
      "  address TEXT,"
      "  public_key BLOB,"
      "  last_seen INTEGER,"
      "  trust_score REAL NOT NULL DEFAULT 0.5);"
      "CREATE INDEX IF NOT EXISTS peers_last_seen ON peers(last_seen);"
      "CREATE TABLE peer_addrs ("
      "  node_id TEXT NOT NULL REFERENCES peers(node_id) ON DELETE CASCADE,"
      "  rank INTEGER NOT NULL," /* 0 first: the order dials try them in */
      "  addr TEXT NOT NULL,"    /* multiaddr text, without /p2p */
      "  PRIMARY KEY (node_id, rank)) WITHOUT ROWID;" },
};
const size_t net_migrations_len = LS_ARRAY_LEN(net_migrations);
