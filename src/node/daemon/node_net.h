/* node_net — the node's libp2p host: the swarm with identify, ping, peer exchange and
 * the test protocols; seed 001's peer management on top of it (peer store in the
 * node's database, connection manager, per-peer rate limiter, trust hook); their
 * metrics, their API routes, and bootstrap.
 *
 * Wiring (node_peers.c): the swarm reports connections per connection; the node turns
 * them into the connection manager's per-peer events (first connection up, last one
 * down) and feeds identify results and last_seen to the peer store. The connection
 * manager acts through the swarm (dial, disconnect, ping) from a timer on the node's
 * loop. Refusals and rate-limit hits reach the trust hook and /metrics. The net
 * layer never includes node/: the node reads its counters through gauge callbacks
 * (node_net_metrics.c). */
#ifndef LS_NODE_NODE_NET_H
#define LS_NODE_NODE_NET_H

#include "lib/buf/buf.h"
#include "net/connmgr/connmgr.h"
#include "net/identify/identify.h"
#include "net/peerex/peerex.h"
#include "net/peerstore/peerstore.h"
#include "net/ping/ping.h"
#include "net/ratelimit/ratelimit.h"
#include "net/swarm/swarm.h"
#include "net/trust_hook/trust_hook.h"
#include "node/daemon/node.h"

typedef struct node_net_t {
    node_t *node;
    swarm_t *swarm;
    identify_t *identify;
    ping_t *ping;
    peerex_t *peerex;
    peerstore_t *peers;    /* on node->db */
    connmgr_t *connmgr;
    ratelimit_t *ratelimit;
    trust_hook_t trust;    /* counts events in /metrics, then feeds trust_mgr */
    struct trust_t *trust_mgr;          /* seed 001's trust manager (node_trust.c) */
    struct node_trust_t *trust_glue;    /* trust_events, /lester/trust/1.0.0 */
    struct node_pubsub_t *pubsub;       /* the gossipsub router (node_pubsub.c) */
    struct node_dht_t *dht;             /* the Kademlia DHT (node_dht.c) */
    connmgr_config_t cm_cfg;
    struct event *ev_tick; /* connmgr_tick() and discovery */
    uint64_t discovery_ms, next_discovery; /* monotonic */
    size_t discovery_turn;
} node_net_t;

/** Create the host on the node's loop, listen on `swarm.listen`, register the
 *  routes, and start peer management (bootstrap from `swarm.bootstrap` and the
 *  peers cached in the database). 0, or an error explained in `err`. */
int node_net_start(node_t *n, buf_t *err);

/** Close every connection, flush the peer store and free the host (before the API,
 *  the database and the loop). */
void node_net_stop(node_t *n);

/** Register /api/v0/swarm/..., /api/v0/ping, /api/v0/diag/{echo,bulk}. */
void node_routes_swarm(node_t *n);

/** Register /api/v0/swarm/peers and /api/v0/swarm/known (routes_peers.c). */
void node_routes_peers(node_t *n);

/** The API's view of the peer on `c` (new reference). */
json_t *node_peer_json(node_net_t *net, swarm_conn_t *c);

/** The addresses we listen on, as full multiaddrs (/p2p/<id>), as a JSON array. */
json_t *node_net_addresses_json(const node_t *n);

/* ---- node_peers.c ---- */

/** Create the peer store, rate limiter and connection manager from the node's
 *  config (before the swarm: they make its hooks). 0 or LS_ECONFIG with `err`. */
int node_peers_init(node_net_t *net, buf_t *err);

/** The swarm hooks and the identify environment that feed peer management. */
swarm_hooks_t node_peers_hooks(node_net_t *net);
identify_env_t node_peers_identify_env(node_net_t *net);

/** Once the swarm, identify, ping and peer exchange exist: subscribe to connection
 *  events, add the bootstrap peers and start the timer that drives the manager. */
void node_peers_start(node_net_t *net);

/** Free what node_peers_init() made, after the swarm (the store is flushed). */
void node_peers_free(node_net_t *net);

/** Close every connection to `peer` and hold redials off; returns how many were
 *  closed. */
int node_peers_disconnect(node_net_t *net, const peer_id_t *peer, const char *reason);

/* ---- node_net_metrics.c ---- */

/** Register the host's metrics: gauges read from the net layer's counters. */
void node_net_metrics(node_net_t *net);

/** Count a refusal (by reason) in /metrics. */
void node_net_count_refusal(node_net_t *net, swarm_refusal_t why);

/** The node's trust hook: counts events by kind in /metrics and hands them to the
 *  trust manager (net->trust_mgr, once it exists). */
trust_hook_t node_net_trust_hook(node_net_t *net);

#endif
