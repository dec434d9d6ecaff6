/* node_pubsub — GossipSub and seed 001's trust manager wired into the node (issue 5).
 *
 * node_trust.c: the trust manager (pubsub/trust) made from the config; every change
 * goes to the peer store (peerstore_set_trust) and, batched, to the trust_events
 * table; peers below trust.min_threshold are disconnected and backed off (deferred to
 * the loop: the manager's callbacks may run inside a stream callback); the node's
 * trust hook (connmgr, ratelimit, swarm refusals, gossipsub verdicts) feeds it; and
 * /lester/trust/1.0.0: TRUSTED_PEERS_REQUEST is answered with our most trusted peers,
 * a TRUST_UPDATE or a RESPONSE applies seed 001's transitive boost, and every
 * trust.exchange interval a few trusted peers are asked.
 *
 * node_pubsub.c: the router (pubsub/gossipsub) on the swarm. Inbound streams of
 * /meshsub/1.1.0, /meshsub/1.0.0 and /floodsub/1.0.0 (not /meshsub/1.2.0: multistream
 * answers `na` and the peer falls back) are read as a sequence of uvarint-prefixed
 * RPCs, each passing the per-peer rate limiter; one long-lived outbound stream per
 * peer carries what the router sends (queued while it opens, bounded). Peers join the
 * router when identify lists a pubsub protocol or when they open a pubsub stream, and
 * leave when their last connection closes. StrictSign checks run on the worker pool:
 * the router defers them (env.verify) to pubsub/verify, which batches them per loop
 * iteration (or PUBSUB_VERIFY_BATCH messages); results go to gossipsub_verified().
 * A peer that keeps sending while graylisted is reported (protocol violation) once
 * per heartbeat, which drives its trust below the threshold and out.
 *
 * Received messages on topics the API subscribed to go to listeners
 * (node_pubsub_listen) — the API's chunked streams. */
#ifndef LS_NODE_NODE_PUBSUB_H
#define LS_NODE_NODE_PUBSUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/identify/identify.h"
#include "net/swarm/swarm.h"
#include "pubsub/gossipsub/gossipsub.h"
#include "pubsub/trust/trust.h"

struct node_net_t;
struct node_t;

/* ---- node_trust.c ---- */

/** Create the trust manager from the config (profile, trust.*) on `net` (its peer
 *  store must exist). 0, or LS_ECONFIG with a message in `err`. */
int node_trust_init(struct node_net_t *net, buf_t *err);
/** Once the swarm exists: serve /lester/trust/1.0.0 and start the exchange timer. */
void node_trust_start(struct node_net_t *net);
/** Write pending trust_events and free the manager (after the swarm). */
void node_trust_free(struct node_net_t *net);
/** Write the buffered trust_events rows now. */
void node_trust_flush(struct node_net_t *net);
/** Register GET /api/v0/trust/list and /api/v0/trust/show. */
void node_routes_trust(struct node_t *n);

/* ---- node_pubsub.c ---- */

typedef struct node_pubsub_t node_pubsub_t;

/** One received message for a listener (everything borrowed for the call). */
typedef struct node_pubsub_msg_t {
    const gossipsub_message_t *m;
    const uint8_t *seqno; /* 8 bytes, or NULL */
    uint64_t received_ms; /* wall clock */
} node_pubsub_msg_t;

typedef void (*node_pubsub_listen_fn)(void *ctx, const node_pubsub_msg_t *msg);

/** Create the router on the node's swarm and register its handlers, metrics and
 *  routes. */
void node_pubsub_start(struct node_net_t *net);
/** Free the router (after the swarm; listeners are told with a NULL message). */
void node_pubsub_stop(struct node_net_t *net);
/** Identify told us what `c`'s peer serves. */
void node_pubsub_on_identified(struct node_net_t *net, swarm_conn_t *c,
                               const identify_info_t *info);

/** Subscribe `fn` to messages on `topic` (joining it in the router on the first
 *  listener). Returns a listener ID > 0, or a negative error (LS_EINVAL, LS_ELIMIT). */
int64_t node_pubsub_listen(node_pubsub_t *ps, const char *topic, node_pubsub_listen_fn fn,
                           void *ctx);
/** Remove a listener (leaving the topic with the last one, unless pinned). */
void node_pubsub_unlisten(node_pubsub_t *ps, int64_t id);

/** Register the /api/v0/pubsub/... routes (routes_pubsub.c). */
void node_routes_pubsub(struct node_t *n);

/* For routes_pubsub.c. */
gossipsub_t *node_pubsub_router(node_pubsub_t *ps);
/** Topics we subscribe to (API listeners and pinned topics): count, names into out. */
size_t node_pubsub_topics(const node_pubsub_t *ps, const char **out, size_t max);
/** Keep `topic` subscribed without a listener (POST /api/v0/pubsub/join). */
int node_pubsub_pin(node_pubsub_t *ps, const char *topic, bool pin);
/** Publish; as gossipsub_publish(). */
int node_pubsub_publish(node_pubsub_t *ps, const char *topic, const uint8_t *data, size_t len);

#endif
