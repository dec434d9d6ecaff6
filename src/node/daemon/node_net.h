/* node_net — the node's libp2p host: the swarm with identify, ping and the test
 * protocols, its metrics, its API routes (routes_swarm.c), and bootstrap dials. */
#ifndef LS_NODE_NODE_NET_H
#define LS_NODE_NODE_NET_H

#include "lib/buf/buf.h"
#include "node/daemon/node.h"
#include "net/identify/identify.h"
#include "net/ping/ping.h"
#include "net/swarm/swarm.h"

typedef struct node_net_t {
    node_t *node;
    swarm_t *swarm;
    identify_t *identify;
    ping_t *ping;
} node_net_t;

/** Create the host on the node's loop, listen on `swarm.listen`, register the
 *  routes, and dial `swarm.bootstrap`. 0, or an error explained in `err`. */
int node_net_start(node_t *n, buf_t *err);

/** Close every connection and free the host (before the API and the loop). */
void node_net_stop(node_t *n);

/** Register /api/v0/swarm/..., /api/v0/ping, /api/v0/diag/{echo,bulk}. */
void node_routes_swarm(node_t *n);

/** The addresses we listen on, as full multiaddrs (/p2p/<id>), as a JSON array. */
json_t *node_net_addresses_json(const node_t *n);

#endif
