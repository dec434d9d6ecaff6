/* gs_internal — the router's state, shared by its files (gossipsub.c: lifecycle,
 * peers, subscriptions, publishing; gs_input.c: inbound RPCs; gs_heartbeat.c: mesh
 * maintenance and gossip; gs_cache.c: seen and message caches; gs_out.c: outbound
 * RPCs and peer sets). Not for use outside src/pubsub/gossipsub and its tests. */
#ifndef LS_PUBSUB_GS_INTERNAL_H
#define LS_PUBSUB_GS_INTERNAL_H

#include "lib/buf/buf.h"
#include "net/peermap/peermap.h"
#include "pubsub/gossipsub/gossipsub.h"
#include "pubsub/gossipsub/gs_idmap.h"

/* A set of peers, kept in insertion order (deterministic given env.random). */
typedef struct gs_pset_t {
    peer_id_t *v;
    size_t n, cap;
} gs_pset_t;

bool gs_pset_has(const gs_pset_t *s, const peer_id_t *p);
/* false if already there */
bool gs_pset_add(gs_pset_t *s, const peer_id_t *p);
/* false if absent */
bool gs_pset_remove(gs_pset_t *s, const peer_id_t *p);
void gs_pset_free(gs_pset_t *s);

typedef struct gs_backoff_t {
    uint32_t topic;
    uint64_t until_ms, since_ms;
} gs_backoff_t;

/* A message ID a v1.2 peer said it does not want (IDONTWANT), kept for
 * GS_DONTWANT_HEARTBEATS heartbeats (the time a forwarded copy could still be sent);
 * at most GS_MAX_DONTWANT per peer, oldest dropped first. */
typedef struct gs_dontwant_t {
    gs_msgid_t id;
    uint64_t heartbeat;
    struct gs_dontwant_t *next; /* FIFO */
} gs_dontwant_t;
#define GS_DONTWANT_HEARTBEATS 3
#define GS_MAX_DONTWANT 5000

typedef struct gs_peer_t {
    peer_id_t id;
    gossipsub_proto_t proto;
    bool outbound;
    uint32_t *topics; /* indexes of topics it subscribes to */
    size_t n_topics;
    gs_backoff_t *backoff;
    size_t n_backoff;
    uint32_t ihaves, asked; /* this heartbeat */
    buf_t out_pub;          /* RPC fields 1 and 2 of the next RPC */
    buf_t out_ctl;          /* the body of its field 3 (ControlMessage) */
    bool dirty;             /* on gs->dirty */
    gs_idmap_t *dontwant;   /* gs_dontwant_t by ID; NULL until the first IDONTWANT */
    gs_dontwant_t *dw_head, *dw_tail;
    size_t n_dontwant;
} gs_peer_t;

typedef struct gs_topic_t {
    uint8_t *name;
    size_t len;
    bool subscribed;
    gs_pset_t peers;  /* peers subscribed to it */
    gs_pset_t mesh;   /* when subscribed */
    gs_pset_t fanout; /* when not subscribed and published to */
    uint64_t fanout_last_ms;
    uint32_t refs; /* cached messages and peers' backoffs naming it by index */
} gs_topic_t;

typedef struct gs_seen_t {
    gs_msgid_t id;
    uint64_t first_ms;
    struct gs_seen_t *next; /* FIFO by first_ms */
} gs_seen_t;

/* Peers a cached message was sent to in answer to IWANT, and how often. */
typedef struct gs_tx_t {
    peer_id_t peer;
    uint32_t count;
} gs_tx_t;
/* Peers tracked per message; a message asked for by more is served to them untracked
 * (each identity still costs the asker a connection and a mesh-less score). */
#define GS_MAX_TX 64

typedef struct gs_cached_t {
    gs_msgid_t id;
    uint32_t topic;
    uint8_t *msg; /* encoded Message */
    size_t len;
    gs_tx_t *tx; /* IWANT answers, NULL until the first */
    uint32_t n_tx;
} gs_cached_t;

typedef struct gs_window_t {
    gs_cached_t **v;
    size_t n, cap;
} gs_window_t;

typedef struct gs_promise_t {
    gs_msgid_t id;
    peer_id_t peer;
    uint64_t deadline_ms;
} gs_promise_t;

#define GS_MAX_PROMISES 4096

/* A message waiting for a deferred signature check (env.verify). */
typedef struct gs_pending_t {
    gs_msgid_t id;
    peer_id_t from;
    uint8_t *msg; /* encoded Message */
    size_t len;
    struct gs_pending_t *prev, *next;
} gs_pending_t;

/* Most messages waiting for verification; more are dropped (ignored). */
#define GS_MAX_PENDING 65536

struct gossipsub_t {
    gossipsub_config_t cfg;
    gossipsub_env_t env;
    ed25519_keypair_t kp;
    peer_id_t self;
    uint64_t seqno;
    peermap_t *peers;
    gs_pset_t peer_order; /* every peer, in arrival order, for deterministic scans */
    gs_topic_t *topics;
    size_t n_topics;
    score_t *score;
    gs_idmap_t *seen;
    gs_seen_t *seen_head, *seen_tail;
    gs_idmap_t *mcache;
    gs_window_t *windows; /* history_length; [0] is the newest */
    gs_promise_t *promises;
    size_t n_promises;
    gs_idmap_t *pending; /* gs_pending_t by ID */
    gs_pending_t *pending_head;
    gossipsub_stats_t stats;
    gs_pset_t dirty;
    uint64_t next_heartbeat_ms;
    uint64_t heartbeats;
};

/* gossipsub.c */
gs_topic_t *gs_topic_find(const gossipsub_t *gs, const uint8_t *name, size_t len);
/* Topic slots only our own subscriptions and publications may take: peers cannot
 * fill the table to the last slot. */
#define GS_RESERVED_TOPICS 64
/* The index of topic `name`, created if absent: in a new slot while fewer than
 * max_topics - `reserve` exist, else in the slot of an idle topic (not ours, no
 * subscriber, no mesh or fanout, nothing cached or backed off under it), so that
 * topics peers subscribed to and left do not fill the table for good. -1 if none. */
int gs_topic_index(gossipsub_t *gs, const uint8_t *name, size_t len, size_t reserve);
uint32_t gs_random(gossipsub_t *gs, uint32_t bound);
void gs_shuffle(gossipsub_t *gs, peer_id_t *v, size_t n);
bool gs_in_backoff(const gs_peer_t *p, uint32_t topic, uint64_t now_ms);
void gs_set_backoff(gossipsub_t *gs, gs_peer_t *p, uint32_t topic, uint64_t now_ms, uint64_t ms);
/* Drop `p`'s backoff entry `i` (keeps the topic's reference count). */
void gs_backoff_drop(gossipsub_t *gs, gs_peer_t *p, size_t i);
bool gs_peer_has_topic(const gs_peer_t *p, uint32_t topic);
void gs_peer_unsubscribed(gossipsub_t *gs, uint64_t now_ms, gs_peer_t *p, uint32_t topic);
void gs_deliver_and_forward(gossipsub_t *gs, uint64_t now_ms, const gs_peer_t *from,
                            const PubsubPb__Message *m, const gs_msgid_t *id,
                            const peer_id_t *author);

/* gs_out.c: queue pieces of the next RPC to a peer; gs_flush() sends them. */
void gs_out_subscription(gossipsub_t *gs, gs_peer_t *p, const gs_topic_t *t, bool subscribe);
void gs_out_message(gossipsub_t *gs, gs_peer_t *p, const uint8_t *msg, size_t len);
void gs_out_graft(gossipsub_t *gs, gs_peer_t *p, const gs_topic_t *t);
/* PRUNE with backoff (v1.1+) and, when `px`, up to prune_peers other mesh peers. */
void gs_out_prune(gossipsub_t *gs, uint64_t now_ms, gs_peer_t *p, uint32_t topic, bool px,
                  uint64_t backoff_ms);
void gs_out_ihave(gossipsub_t *gs, gs_peer_t *p, const gs_topic_t *t, const gs_msgid_t *ids,
                  size_t n);
void gs_out_iwant(gossipsub_t *gs, gs_peer_t *p, const gs_msgid_t *ids, size_t n);
void gs_flush(gossipsub_t *gs);

/* gs_dontwant.c */
/* Record `p`'s IDONTWANT (ignored unless it speaks v1.2). */
void gs_dontwant_add(gossipsub_t *gs, gs_peer_t *p, const PubsubPb__ControlIDontWant *dw);
bool gs_dontwant_has(const gs_peer_t *p, const gs_msgid_t *id);
/* Forget entries older than GS_DONTWANT_HEARTBEATS (each heartbeat). */
void gs_dontwant_expire(gossipsub_t *gs, gs_peer_t *p);
void gs_dontwant_free(gs_peer_t *p);

/* gs_cache.c */
/* Records `id` as seen at now_ms; false if it already was. */
bool gs_seen_add(gossipsub_t *gs, uint64_t now_ms, const gs_msgid_t *id);
const gs_seen_t *gs_seen_get(const gossipsub_t *gs, const gs_msgid_t *id);
void gs_seen_expire(gossipsub_t *gs, uint64_t now_ms);
/* Takes a copy of `msg`. */
void gs_mcache_put(gossipsub_t *gs, const gs_msgid_t *id, uint32_t topic, const uint8_t *msg,
                   size_t len);
const gs_cached_t *gs_mcache_get(const gossipsub_t *gs, const gs_msgid_t *id);
/** The cached message `id` for an IWANT from `peer`, counted against
 *  gossip_retransmission; NULL if not cached or asked too often. */
const gs_cached_t *gs_mcache_get_for_peer(gossipsub_t *gs, const gs_msgid_t *id,
                                          const peer_id_t *peer);
void gs_mcache_shift(gossipsub_t *gs);
/* IDs of `topic` in the newest history_gossip windows; a new array in *ids. */
size_t gs_mcache_gossip_ids(const gossipsub_t *gs, uint32_t topic, gs_msgid_t **ids);
void gs_cache_free(gossipsub_t *gs);
void gs_promise_add(gossipsub_t *gs, const peer_id_t *peer, const gs_msgid_t *id,
                    uint64_t deadline_ms);
void gs_promises_check(gossipsub_t *gs, uint64_t now_ms);

/* gs_heartbeat.c */
void gs_heartbeat(gossipsub_t *gs, uint64_t now_ms);
/* Graft up to `n` eligible peers of topic `ti` into its mesh (score >= 0, not in
 * backoff, mesh-capable), preferring outbound ones if `outbound_only`. */
size_t gs_graft_peers(gossipsub_t *gs, uint64_t now_ms, uint32_t ti, size_t n, bool outbound_only);

/* gs_input.c */
gossipsub_msg_stats_t *gs_msg_stats(gossipsub_t *gs, const uint8_t *topic, size_t len);
void gs_pending_free_all(gossipsub_t *gs);
int gs_input(gossipsub_t *gs, uint64_t now_ms, gs_peer_t *p, const uint8_t *rpc, size_t len);

#endif
