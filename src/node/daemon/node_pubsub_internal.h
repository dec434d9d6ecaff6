/* node_pubsub_internal — state shared by node_pubsub.c (streams, router, worker
 * pool) and node_pubsub_topics.c (API listeners, topics, metrics). Not for other
 * files. */
#ifndef LS_NODE_NODE_PUBSUB_INTERNAL_H
#define LS_NODE_NODE_PUBSUB_INTERNAL_H

#include <event2/event.h>

#include "lib/buf/buf.h"
#include "net/peermap/peermap.h"
#include "node/daemon/node_pubsub.h"
#include "pubsub/rpc/pubsub_msg.h"
#include "pubsub/verify/pubsub_verify.h"

/* Bytes queued to one peer before its RPCs are dropped (a peer that does not read). */
#define PUBSUB_OUT_MAX (32u << 20)
/* Topics the node subscribes to for the API at most. */
#define PUBSUB_MAX_TOPICS 256

/* A pubsub peer (connected, speaking a pubsub protocol or about to). */
typedef struct ps_peer_t {
    peer_id_t id;
    swarm_stream_t *out; /* our sending stream, once open */
    bool opening, added; /* opening `out`; known to the router */
    buf_t queue;         /* framed RPCs not yet taken by `out` */
    uint64_t graylisted_rpcs;
} ps_peer_t;

/* What a stream callback needs to find its peer again (peers come and go). */
typedef struct ps_ref_t {
    node_pubsub_t *ps;
    peer_id_t id;
} ps_ref_t;

/* An inbound stream: bytes until a whole RPC is there. */
typedef struct ps_in_t {
    ps_ref_t ref;
    buf_t buf;
} ps_in_t;

typedef struct ps_listener_t {
    int64_t id;
    char *topic;
    node_pubsub_listen_fn fn;
    void *ctx;
} ps_listener_t;

typedef struct ps_topic_t {
    char *name;
    size_t listeners;
    bool pinned;
} ps_topic_t;

struct node_pubsub_t {
    struct node_net_t *net;
    gossipsub_t *gs;
    gossipsub_config_t cfg;
    peermap_t *peers; /* ps_peer_t */
    pubsub_verifier_t *verifier; /* StrictSign batches on the worker pool */
    struct event *ev_tick;
    ps_listener_t *listeners;
    size_t n_listeners;
    int64_t next_listener;
    ps_topic_t *topics;
    size_t n_topics;
    /* counters */
    uint64_t out_dropped, rate_limited;
    gossipsub_stats_t last; /* at the previous metrics tick */
    uint64_t ticks;
};

/* node_pubsub_topics.c */
void ps_listeners_deliver(node_pubsub_t *ps, const node_pubsub_msg_t *msg);
void ps_listeners_close(node_pubsub_t *ps);
void ps_topics_free(node_pubsub_t *ps);
void ps_metrics_init(node_pubsub_t *ps);
void ps_metrics_tick(node_pubsub_t *ps);

#endif
