/* gossipsub — the GossipSub v1.1 router (libp2p/specs pubsub/gossipsub/gossipsub-v1.0.md
 * and gossipsub-v1.1.md; IDONTWANT of v1.2 is accepted and ignored), sans-I/O.
 *
 * The caller owns streams and the clock: it tells the router which peers are connected
 * and which protocol they speak, hands it each inbound RPC (without its length prefix),
 * calls gossipsub_tick() at the returned deadline, and sends what env.send asks for.
 *
 * What the router does:
 *   - subscriptions (announced to every peer), a mesh of D = 6 (D_lo 4, D_hi 12,
 *     D_score 4 kept by score, D_out 2 outbound) per subscribed topic, fanout for
 *     topics published to without subscribing (expires after fanout_ttl);
 *   - IHAVE to D_lazy (or gossip_factor of the eligible) non-mesh peers each
 *     heartbeat for the last history_gossip windows of the message cache; IWANT for
 *     unseen IDs, with per-heartbeat limits on IHAVEs accepted and IDs asked, and a
 *     behaviour penalty (P7) for IWANTs a peer promised and never answered;
 *   - GRAFT/PRUNE with backoff (prune_backoff, unsubscribe_backoff; a GRAFT in backoff
 *     costs P7, twice if within graft_flood of the PRUNE) and peer exchange (PX to
 *     peers that could use it; PX accepted only from peers above accept_px);
 *   - flood publishing of our own messages to every subscribed peer above the publish
 *     threshold; opportunistic grafting when the mesh's median score is low;
 *   - the v1.1 score (score.h) with its thresholds: gossip (no IHAVE/IWANT with
 *     peers below), publish, graylist (RPCs from peers below are dropped whole);
 *   - a seen cache (seen_ttl), StrictSign verification, then env.validate (accept,
 *     reject, ignore) before delivery and forwarding; the trust hook hears
 *     TRUST_VALID_MESSAGE / TRUST_INVALID_MESSAGE for the peer that forwarded it;
 *   - message IDs per topic (pubsub_msgid(): from||seqno, content hash on Lester's
 *     topics) and, on Lester's topics, seed 001's TTL: lester_hops starts at
 *     hop_limit, each forwarder decrements it and a message at 0 is delivered but
 *     not forwarded (an absent count, e.g. from a js peer, is taken as hop_limit).
 *
 * Peers are trusted for nothing: sizes and counts are bounded (pubsub_rpc_limits_t,
 * max_topics, max_peer_topics); a malformed RPC is an error the caller answers by
 * closing the stream and reporting TRUST_PROTOCOL_VIOLATION.
 *
 * Validation: env.validate runs on the caller's thread. Signature checks run inside
 * gossipsub_input() unless env.verify is set: then each unseen message is handed to
 * the caller (e.g. for a worker pool, in batches) and its processing resumes when the
 * caller reports the outcome with gossipsub_verified(). */
#ifndef LS_PUBSUB_GOSSIPSUB_H
#define LS_PUBSUB_GOSSIPSUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/crypto/ed25519.h"
#include "lib/mem/mem.h"
#include "lib/peerid/peerid.h"
#include "net/trust_hook/trust_hook.h"
#include "pubsub/rpc/pubsub_rpc.h"
#include "pubsub/score/score.h"

#define GOSSIPSUB_ID_12 "/meshsub/1.2.0"
#define GOSSIPSUB_ID_11 "/meshsub/1.1.0"
#define GOSSIPSUB_ID_10 "/meshsub/1.0.0"
#define FLOODSUB_ID "/floodsub/1.0.0"

typedef enum gossipsub_proto_t {
    GOSSIPSUB_FLOODSUB = 0, /* no mesh, no control: flooded */
    GOSSIPSUB_V10,          /* no PX, no backoff in PRUNE */
    GOSSIPSUB_V11,
    GOSSIPSUB_V12,
} gossipsub_proto_t;

/** The protocol of a multistream ID above; -1 for anything else. */
int gossipsub_proto_from_id(const char *id);

typedef enum gossipsub_verdict_t {
    GOSSIPSUB_ACCEPT = 0, /* deliver and forward */
    GOSSIPSUB_REJECT,     /* invalid: penalise the forwarder (P4, trust) */
    GOSSIPSUB_IGNORE,     /* drop without penalty */
} gossipsub_verdict_t;

typedef struct gossipsub_config_t {
    uint32_t d, d_lo, d_hi, d_lazy, d_score, d_out;
    uint64_t heartbeat_ms;
    uint64_t fanout_ttl_ms;
    uint64_t seen_ttl_ms;
    uint32_t history_length, history_gossip; /* message cache windows */
    double gossip_factor;
    uint64_t prune_backoff_ms, unsubscribe_backoff_ms, graft_flood_ms;
    uint32_t prune_peers;        /* PX entries in a PRUNE */
    uint32_t max_ihave_length;   /* IDs asked per peer per heartbeat */
    uint32_t max_ihave_messages; /* IHAVEs accepted per peer per heartbeat */
    uint64_t iwant_followup_ms;  /* a promised message must arrive within this */
    uint32_t gossip_retransmission; /* IWANT answers per message per peer (3) */
    uint32_t opportunistic_graft_ticks, opportunistic_graft_peers;
    bool flood_publish;
    uint32_t hop_limit;     /* Lester topics (seed 001's TTL) */
    size_t max_topics;      /* topics known (ours and peers') */
    size_t max_peer_topics; /* subscriptions kept per peer */
    score_params_t score;
    score_thresholds_t thresholds;
    score_topic_params_t topic_score; /* for every topic we subscribe to */
    pubsub_rpc_limits_t limits;
} gossipsub_config_t;

/** The spec's defaults (D 6/4/12, D_lazy 6, D_score 4, D_out 2, heartbeat 1 s,
 *  fanout TTL 60 s, seen TTL 120 s, history 5/3, gossip factor 0.25, prune backoff
 *  60 s, unsubscribe backoff 10 s, graft flood 10 s, PX 16, 5,000 IDs and 10 IHAVEs per
 *  heartbeat, follow-up 3 s, 3 IWANT answers per message per peer (v1.1
 *  GossipRetransmission: a peer asking again and again gets nothing more),
 *  opportunistic graft every 60 heartbeats for 2 peers, flood
 *  publish on), hop limit 32, 4,096 topics, 128 per peer, and score.h's defaults. */
void gossipsub_config_default(gossipsub_config_t *cfg);

/** A message handed to the application or its validator; everything is borrowed for
 *  the call. */
typedef struct gossipsub_message_t {
    const uint8_t *topic;
    size_t topic_len;
    const uint8_t *data;
    size_t data_len;
    const peer_id_t *author;        /* from `from` (verified) */
    const peer_id_t *received_from; /* NULL for our own messages */
    const uint8_t *id;
    size_t id_len;
    uint32_t hops_left; /* Lester topics; 0 on others */
} gossipsub_message_t;

typedef struct gossipsub_env_t {
    void *ctx; /* passed back, never freed */
    /** Required. Send one RPC (unframed protobuf, borrowed) to `to`. A negative return
     *  is logged; the router does not retry. */
    int (*send)(void *ctx, const peer_id_t *to, const uint8_t *rpc, size_t len);
    /** Optional. A validated message on a topic we subscribe to, once per ID. */
    void (*deliver)(void *ctx, const gossipsub_message_t *m);
    /** Optional (NULL accepts). Called after the signature has been verified. */
    gossipsub_verdict_t (*validate)(void *ctx, const gossipsub_message_t *m);
    /** Optional. Uniform in [0, bound), bound > 0; NULL uses lib/crypto/random. */
    uint32_t (*random)(void *ctx, uint32_t bound);
    /** Optional. P5 (e.g. trust_app_score()). */
    double (*app_score)(void *ctx, const peer_id_t *peer);
    /** Optional. A peer offered by PX (with its signed peer record, possibly empty),
     *  for the connection manager to consider dialling. */
    void (*px)(void *ctx, const peer_id_t *peer, const uint8_t *record, size_t len);
    /** Where message verdicts go (ctx/report may be NULL). */
    trust_hook_t trust;
    /** Optional: deferred signature checks. When set, gossipsub_input() does not verify
     *  StrictSign signatures itself: each unseen message's encoding (`msg`, borrowed for
     *  the call) and ID are handed here and the message waits (gossipsub_pending())
     *  until the caller calls gossipsub_verified() with that ID, once. Copies of a
     *  waiting message count as duplicates. A negative return drops the message
     *  without penalty (e.g. the caller's queue is full); verified() is then not
     *  expected. */
    int (*verify)(void *ctx, const uint8_t *msg, size_t len, const uint8_t *id, size_t id_len);
} gossipsub_env_t;

/** Message counters by topic class: Lester's own topics and all others. */
typedef enum gossipsub_class_t {
    GOSSIPSUB_CLASS_LESTER = 0,
    GOSSIPSUB_CLASS_OTHER,
    GOSSIPSUB_CLASS_COUNT
} gossipsub_class_t;

typedef struct gossipsub_msg_stats_t {
    uint64_t received;   /* messages in RPCs on topics we subscribe to */
    uint64_t duplicates; /* already seen or waiting for verification */
    uint64_t invalid;    /* bad ID fields, bad signature, or rejected by validate */
    uint64_t ignored;    /* validate said ignore, or dropped by env.verify */
    uint64_t delivered;  /* handed to env.deliver (ours included) */
    uint64_t forwarded;  /* copies queued to peers for others' messages */
    uint64_t published;  /* our own */
} gossipsub_msg_stats_t;

typedef struct gossipsub_stats_t {
    gossipsub_msg_stats_t msg[GOSSIPSUB_CLASS_COUNT];
    uint64_t ihave_sent, iwant_sent; /* IDs announced / asked */
    uint64_t iwant_served;           /* messages sent in answer to IWANT */
    uint64_t iwant_over_retransmission; /* IWANTs refused: gossip_retransmission reached */
    uint64_t graylisted_rpcs;        /* RPCs dropped whole from graylisted peers */
    uint64_t topics_reclaimed;       /* idle topic slots given to new topics (max_topics) */
    uint64_t idontwant_received;     /* IDs v1.2 peers asked us not to send */
    uint64_t idontwant_skipped;      /* copies not sent for an IDONTWANT */
} gossipsub_stats_t;

typedef struct gossipsub_t gossipsub_t;

/** A router for the node whose key is `kp` (copied, wiped on free), with `cfg` and
 *  `env` (copied). Never returns NULL; an invalid cfg is a bug (logged and fixed up:
 *  D_lo <= D <= D_hi, D_score <= D, D_out < D_lo, history_gossip <= history_length,
 *  thresholds). */
gossipsub_t *gossipsub_new(const gossipsub_config_t *cfg, const gossipsub_env_t *env,
                           const ed25519_keypair_t *kp, uint64_t now_ms);
void gossipsub_free_(gossipsub_t *gs);
#define gossipsub_free(g) FREE_AND_NULL(gossipsub_t, gossipsub_free_, (g))

/** A connection to `peer` speaking `proto` is up (`outbound`: we dialled it; `ip`
 *  for P6, may be NULL). Sends it our subscriptions. Adding a known peer only
 *  updates its protocol. */
void gossipsub_add_peer(gossipsub_t *gs, uint64_t now_ms, const peer_id_t *peer,
                        gossipsub_proto_t proto, bool outbound, const char *ip);
/** The peer is gone: it leaves every mesh (its score is retained). */
void gossipsub_remove_peer(gossipsub_t *gs, uint64_t now_ms, const peer_id_t *peer);

/** Handle one RPC from `from` (borrowed, no length prefix). 0 (also when the peer is
 *  graylisted and the RPC was dropped, or unknown); LS_ETOOBIG / LS_EINVAL if it is
 *  oversized or malformed (the caller closes the stream and reports
 *  TRUST_PROTOCOL_VIOLATION). Invalid messages inside a valid RPC are not errors. */
int gossipsub_input(gossipsub_t *gs, uint64_t now_ms, const peer_id_t *from, const uint8_t *rpc,
                    size_t len);

/** Join `topic`: announce it and build its mesh (from fanout first). 0; LS_EINVAL
 *  for an invalid name; LS_ELIMIT past max_topics. Subscribing twice is a no-op. */
int gossipsub_subscribe(gossipsub_t *gs, uint64_t now_ms, const uint8_t *topic, size_t len);
/** Leave `topic`: announce it and PRUNE the mesh (unsubscribe backoff). 0 or LS_ENOENT. */
int gossipsub_unsubscribe(gossipsub_t *gs, uint64_t now_ms, const uint8_t *topic, size_t len);

/** Sign and publish `data` on `topic`; the ID goes to `id` (may be NULL; room for
 *  PUBSUB_MSGID_MAX bytes) and its length to `*id_len` (may be NULL). Delivered locally
 *  if we subscribe. Returns the number of peers it was sent to (>= 0); LS_EINVAL for
 *  an invalid topic or data above limits.max_data_len; LS_EEXIST if the same content
 *  was already published on a Lester topic (same ID). */
int gossipsub_publish(gossipsub_t *gs, uint64_t now_ms, const uint8_t *topic, size_t topic_len,
                      const uint8_t *data, size_t len, uint8_t *id, size_t *id_len);

/** The outcome of a deferred signature check (env.verify) of message `id`:
 *  `result` 0 with its `author`, or a negative pubsub_msg_verify() code (the peer
 *  that sent it is penalised as for an invalid message). Processing resumes as in
 *  gossipsub_input(): seen cache, env.validate, delivery and forwarding. Returns 0,
 *  or LS_ENOENT if no message with that ID is waiting. */
int gossipsub_verified(gossipsub_t *gs, uint64_t now_ms, const uint8_t *id, size_t id_len,
                       int result, const peer_id_t *author);

/** Messages waiting for gossipsub_verified(). */
size_t gossipsub_pending(const gossipsub_t *gs);

/** Read the counters. */
void gossipsub_stats(const gossipsub_t *gs, gossipsub_stats_t *out);

/** The class of `topic` for the counters. */
gossipsub_class_t gossipsub_topic_class(const uint8_t *topic, size_t len);

/** Heartbeat work when due. Returns the time of the next heartbeat. */
uint64_t gossipsub_tick(gossipsub_t *gs, uint64_t now_ms);

/** The mesh of `topic`: up to `max` peers into `out`; returns the mesh size. */
size_t gossipsub_mesh(const gossipsub_t *gs, const uint8_t *topic, size_t len, peer_id_t *out,
                      size_t max);
/** Peers known to subscribe to `topic` (same contract). */
size_t gossipsub_topic_peers(const gossipsub_t *gs, const uint8_t *topic, size_t len,
                             peer_id_t *out, size_t max);
/** True if we subscribe to `topic`. */
bool gossipsub_is_subscribed(const gossipsub_t *gs, const uint8_t *topic, size_t len);
/** The score of `peer` now. */
double gossipsub_score(const gossipsub_t *gs, uint64_t now_ms, const peer_id_t *peer);

#endif
