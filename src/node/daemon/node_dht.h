/* node_dht — the Kademlia DHT (dht/kad.h) on the node's swarm: the stream glue that
 * kad.h's file comment asks for, the timer, bootstrap from connected peers, probes of
 * peers that identify shows serving kad, persistence in the node's database, per-peer
 * request rate limits, trust reports and /metrics. routes_dht.c is its API.
 *
 * Mode (config dht.mode): "server" serves the kad protocol (and identify lists it),
 * "client" only queries, "auto" serves when the swarm has listen addresses. The
 * protocol is dht.protocol (/lester/kad/1.0.0); with dht.ipfs_protocol the node also
 * serves and proposes /ipfs/kad/1.0.0 (interop with public libp2p DHT peers).
 *
 * Clock: kad runs on wall-clock ms (records carry wall times); the rate limiter on
 * monotonic ms. */
#ifndef LS_NODE_NODE_DHT_H
#define LS_NODE_NODE_DHT_H

#include <stdbool.h>
#include <stdint.h>

#include "dht/kad.h"
#include "lib/buf/buf.h"
#include "net/identify/identify.h"
#include "net/ratelimit/ratelimit.h"
#include "node/daemon/node_net.h"

enum { DHT_MSG_TYPES = 7 }; /* kadmsg types 0..5, then "other" */

typedef struct dht_stream_t dht_stream_t;
typedef struct dht_op_t dht_op_t;
typedef struct node_dht_query_t node_dht_query_t;

typedef struct node_dht_t {
    node_net_t *net;
    kad_t *kad;
    bool server;
    const char *protocols[2]; /* proposed in this order, served when server */
    size_t n_protocols;
    char *protocol;           /* dht.protocol (owned) */
    ratelimit_t *rl;          /* inbound requests per peer */
    struct event *ev_tick;
    bool tick_pending;
    uint64_t next_bootstrap;  /* wall ms */
    uint64_t request_timeout_ms;
    dht_stream_t *streams;    /* every live stream context */
    dht_op_t *ops;            /* API operations waiting for a lookup (routes_dht.c) */
    node_dht_query_t *queries; /* lookups for other modules (node_dht_find_providers) */
    /* counters for /metrics */
    uint64_t req_in[DHT_MSG_TYPES], req_out[DHT_MSG_TYPES];
    uint64_t req_failed, in_refused, in_malformed, rate_limited, lookups, lookups_failed;
    uint64_t dials_skipped;
} node_dht_t;

/** Create the DHT from the config, attach its store to the node's database and, in
 *  server mode, serve the protocol. Call after the swarm listens. 0 or LS_ECONFIG
 *  (or a database error) explained in `err`. */
int node_dht_start(node_net_t *net, buf_t *err);

/** Stop: pending API operations are answered with an error, lookups are dropped,
 *  live streams are forgotten (the swarm frees them). Call before swarm_free().
 *  NULL net->dht is a no-op. */
void node_dht_stop(node_net_t *net);

/** Identify told us what `c`'s peer serves: if one of our kad protocols, probe it
 *  into the routing table (kad_probe_peer). */
void node_dht_on_identified(node_net_t *net, swarm_conn_t *c, const identify_info_t *info);

/** Run kad_tick() soon (after the current callback): a lookup started or input
 *  arrived. */
void node_dht_kick(node_dht_t *d);

/** `peer`'s addresses from the peer store as a kad address list in `out` (capacity
 *  KAD_ADDRS_MAX); returns its length. */
size_t node_dht_peer_addrs(node_dht_t *d, const peer_id_t *peer, uint8_t *out);

/** Remember the addresses of a kad address list in the peer store (DHT-discovered
 *  addresses). */
void node_dht_learn_addrs(node_dht_t *d, const peer_id_t *peer, const uint8_t *addrs,
                          size_t len);

/* ---- lookups for other node modules (providing, downloads) ---- */

/** Called once with a lookup's result (borrowed for the call). */
typedef void (*node_dht_query_fn)(void *arg, const kad_result_t *res);

/** Find up to `max` providers of `key` (a multihash: the provider key of a CID).
 *  `cb` (may be NULL) runs once, unless node_dht_query_cancel() comes first. The
 *  query belongs to the DHT (freed after the callback, or at stop without one).
 *  NULL and `*err` set if the lookup could not start (LS_ENOENT: no DHT peer yet). */
node_dht_query_t *node_dht_find_providers(node_dht_t *d, const uint8_t *key, size_t klen,
                                          size_t max, node_dht_query_fn cb, void *arg, int *err);

/** Announce this node as a provider of `key` with signed metadata `meta` (may be
 *  NULL; kad_provider_meta_make). As node_dht_find_providers(). */
node_dht_query_t *node_dht_provide(node_dht_t *d, const uint8_t *key, size_t klen,
                                   const uint8_t *meta, size_t mlen, node_dht_query_fn cb,
                                   void *arg, int *err);

/** The caller is going away: `q`'s callback will not run. NULL is a no-op. */
void node_dht_query_cancel(node_dht_query_t *q);

/** Register /api/v0/dht/... (routes_dht.c). */
void node_routes_dht(node_t *n);

/** Answer every pending API operation with "stopped" (routes_dht.c). */
void node_dht_ops_abort(node_dht_t *d);

#endif
