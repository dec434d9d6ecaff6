/* node — the running node: every long-lived object of a daemon, owned in one place.
 *
 * Only node/ holds global state (STYLE.md); layers below receive what they need
 * through their constructors. Lifecycle (seed 001): identity → storage → trust →
 * peers → gossip → transport → bootstrap → background tasks. */
#ifndef LS_NODE_NODE_H
#define LS_NODE_NODE_H

#include <stdint.h>

#include <event2/event.h>

#include "lib/config/config.h"
#include "lib/crypto/ed25519.h"
#include "lib/db/db.h"
#include "lib/peerid/peerid.h"
#include "lib/workpool/workpool.h"
#include "node/api/api.h"
#include "node/metrics/metrics.h"

typedef struct node_t {
    char *home;
    config_t *cfg;
    db_t *db;
    ed25519_keypair_t key;
    peer_id_t id;
    char *id_str;                /* base58btc form */
    struct event_base *base;
    metrics_t *metrics;
    api_t *api;
    workpool_t *pool;
    char *api_token;
    uint16_t api_port;
    uint64_t started_ms;         /* monotonic */
    int lock_fd;
    struct event *sig_int, *sig_term, *sig_hup;
    struct node_net_t *net;      /* the libp2p host (node_net.h) */
    struct node_content_t *content; /* blocks, pins, Bitswap (node_content.h) */
} node_t;

/** Register the core routes: /health, /metrics, /api/v0/id, /api/v0/version,
 *  /api/v0/shutdown, /api/v0/log/level, /api/v0/diag/state/{get,set}. */
void node_routes_core(node_t *node);

/** Listen addresses of this node as full multiaddrs ending in /p2p/<id>, as a JSON
 *  array (new reference). */
json_t *node_addresses_json(const node_t *node);

#endif
