#include "node/store/node_store.h"

#include <stdlib.h>

#include "content/blockstore/content_migrations.h"
#include "dht/dht_migrations.h"
#include "lib/mem/mem.h"
#include "net/migrations/net_migrations.h"

/* Seed 001, "Storage Module": peers, messages_seen, trust_events, network_state. */
static const db_migration_t node_migrations[] = {
    { 1, "seed 001 base tables",
      "CREATE TABLE peers ("
      "  node_id TEXT PRIMARY KEY,"          /* peer ID, base58btc */
      "  address TEXT,"                      /* last multiaddr that worked */
      "  public_key BLOB,"                   /* protobuf PublicKey */
      "  last_seen INTEGER,"                 /* unix ms */
      "  trust_score REAL NOT NULL DEFAULT 0.5);"
      "CREATE INDEX peers_last_seen ON peers(last_seen);"
      "CREATE TABLE messages_seen ("
      "  message_id BLOB PRIMARY KEY,"
      "  timestamp INTEGER NOT NULL,"
      "  sender_id TEXT) WITHOUT ROWID;"
      "CREATE INDEX messages_seen_ts ON messages_seen(timestamp);"
      "CREATE TABLE trust_events ("
      "  id INTEGER PRIMARY KEY,"
      "  node_id TEXT NOT NULL,"
      "  event_type TEXT NOT NULL,"
      "  trust_delta REAL NOT NULL,"
      "  timestamp INTEGER NOT NULL);"
      "CREATE INDEX trust_events_node ON trust_events(node_id, timestamp);"
      "CREATE TABLE network_state ("
      "  key TEXT PRIMARY KEY,"
      "  value BLOB,"
      "  updated_at INTEGER NOT NULL);" },
};

int
node_store_open(const char *path, db_t **out, buf_t *err)
{
    const db_migration_list_t lists[] = {
        { node_migrations, LS_ARRAY_LEN(node_migrations) },
        { net_migrations, net_migrations_len },
        { content_migrations, content_migrations_len },
        { dht_migrations, dht_migrations_len },
    };
    db_migration_t *all = NULL;
    size_t n = 0;
    int rc = db_migrations_merge(lists, LS_ARRAY_LEN(lists), &all, &n, err);
    if (rc < 0)
        return rc;
    rc = db_open(path, all, n, out, err);
    free(all);
    return rc;
}
