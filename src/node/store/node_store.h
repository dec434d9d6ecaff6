/* node_store — the node's SQLite schema: seed 001's tables, and the list of every
 * layer's migrations that the daemon applies at start.
 *
 * Version ranges per layer keep migrations from colliding as layers add tables:
 * node 1–99, net 100–199, dht 200–299, pubsub 300–399, content 400–499,
 * chain 500–599, app 600–699. */
#ifndef LS_NODE_STORE_H
#define LS_NODE_STORE_H

#include "lib/buf/buf.h"
#include "lib/db/db.h"

/** Open (creating and migrating) the node database at `path`. */
int node_store_open(const char *path, db_t **out, buf_t *err);

#endif
