/* score — GossipSub v1.1 peer scoring (libp2p/specs pubsub/gossipsub/gossipsub-v1.1.md
 * "Peer Scoring"), sans-I/O: the router reports what peers do, asks for scores, and
 * calls score_tick() for the decay.
 *
 *   score = min(Σ_topics topic_weight × (P1 + P2 + P3 + P3b + P4), topic_score_cap)
 *           + w5 × P5 + w6 × P6 + w7 × P7
 * where, per topic (only topics given parameters with score_set_topic() count):
 *   P1  w1 × min(time in mesh / quantum, cap)                             (w1 > 0)
 *   P2  w2 × first message deliveries (a counter capped at cap)             (w2 > 0)
 *   P3  w3 × deficit², deficit = threshold − mesh message deliveries, when
 *       the peer has been in the mesh for at least the activation time and
 *       its deliveries are below the threshold                             (w3 < 0)
 *   P3b w3b × mesh failure penalty: on PRUNE of a peer with a P3 deficit,
 *       the penalty grows by deficit²                                       (w3b < 0)
 *   P4  w4 × invalid message deliveries²                                    (w4 < 0)
 * and globally:
 *   P5  the application score, from env.app_score: Lester's trust manager
 *       (trust − initial trust: a stranger is 0, a misbehaving peer negative)
 *   P6  (peers sharing the IP − threshold)² when above the threshold, for
 *       IPs not exempt (loopback, and any ip NULL)                         (w6 < 0)
 *   P7  (behaviour penalty − threshold)² when above the threshold          (w7 < 0)
 * Every counter decays each decay interval (counter ×= its decay; below decay_to_zero
 * it is 0). The router decides what a first delivery is and whether a duplicate came
 * within the mesh delivery window (it has the seen cache): it reports
 * score_first_delivery() / score_duplicate_delivery() / score_invalid().
 *
 * A peer that disconnects keeps its counters for retain_score_ms (its mesh status is
 * dropped), so reconnecting does not wash away a negative score. */
#ifndef LS_PUBSUB_SCORE_H
#define LS_PUBSUB_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/mem/mem.h"
#include "lib/peerid/peerid.h"

/** Most topics with score parameters; most distinct IPs counted for P6. */
#define SCORE_MAX_TOPICS 64
#define SCORE_IP_MAX_LEN 64

typedef struct score_topic_params_t {
    double topic_weight;
    double time_in_mesh_weight; /* w1 */
    uint64_t time_in_mesh_quantum_ms;
    double time_in_mesh_cap;
    double first_message_deliveries_weight; /* w2 */
    double first_message_deliveries_decay;
    double first_message_deliveries_cap;
    double mesh_message_deliveries_weight; /* w3 (<= 0; 0 disables P3) */
    double mesh_message_deliveries_decay;
    double mesh_message_deliveries_cap;
    double mesh_message_deliveries_threshold;
    uint64_t mesh_message_deliveries_window_ms;
    uint64_t mesh_message_deliveries_activation_ms;
    double mesh_failure_penalty_weight; /* w3b (<= 0) */
    double mesh_failure_penalty_decay;
    double invalid_message_deliveries_weight; /* w4 (<= 0) */
    double invalid_message_deliveries_decay;
} score_topic_params_t;

typedef struct score_params_t {
    double topic_score_cap;             /* > 0; 0: no cap */
    double app_specific_weight;         /* w5 */
    double ip_colocation_factor_weight; /* w6 (<= 0) */
    double ip_colocation_factor_threshold;
    double behaviour_penalty_weight; /* w7 (<= 0) */
    double behaviour_penalty_threshold;
    double behaviour_penalty_decay;
    uint64_t decay_interval_ms;
    double decay_to_zero;
    uint64_t retain_score_ms;
} score_params_t;

typedef struct score_thresholds_t {
    double gossip;              /* below: no gossip to or from the peer (<= 0) */
    double publish;             /* below: no flood publishing to it (<= gossip) */
    double graylist;            /* below: its RPCs are ignored (<= publish) */
    double accept_px;           /* PX accepted only from peers above (>= 0) */
    double opportunistic_graft; /* median mesh score below: graft better peers (>= 0) */
} score_thresholds_t;

/** Lester's defaults: topic weight 1; P1 0.01 per second up to 3,600 s; P2 weight 1,
 *  decay 0.9, cap 20; P3/P3b off (weight 0: set them per topic once its message rate
 *  is known; threshold 1, window 10 ms, activation 5 s, decays 0.5, cap 20 prepared);
 *  P4 weight −10, decay 0.5 (three invalid messages reach the graylist). */
void score_topic_params_default(score_topic_params_t *p);
/** Topic cap 50; w5 10; w6 −10 above 3 peers per IP; w7 −10 above 1, decay 0.9;
 *  decay every 1 s, to zero below 0.01; retain 1 h. */
void score_params_default(score_params_t *p);
/** gossip −10, publish −50, graylist −80, accept PX 10, opportunistic graft 5. */
void score_thresholds_default(score_thresholds_t *t);
/** The spec's constraints: gossip <= 0, publish <= gossip, graylist <= publish,
 *  accept_px >= 0, opportunistic_graft >= 0. */
bool score_thresholds_valid(const score_thresholds_t *t);
/** Weights of the right sign, decays in [0, 1), quantum > 0. */
bool score_topic_params_valid(const score_topic_params_t *p);

typedef struct score_env_t {
    void *ctx;
    /** Optional: P5 for `peer` (NULL: 0). */
    double (*app_score)(void *ctx, const peer_id_t *peer);
} score_env_t;

typedef struct score_t score_t;

/** A scorer with `params` and `env` (copied). Decay intervals count from `now_ms`.
 *  Never returns NULL. */
score_t *score_new(const score_params_t *params, const score_env_t *env, uint64_t now_ms);
void score_free_(score_t *s);
#define score_free(s) FREE_AND_NULL(score_t, score_free_, (s))

/** Score `topic` with `p` (copied; replaces earlier parameters). 0; LS_EINVAL if `p`
 *  is invalid; LS_ELIMIT beyond SCORE_MAX_TOPICS. */
int score_set_topic(score_t *s, const uint8_t *topic, size_t len, const score_topic_params_t *p);

/** A connection to `peer` from `ip` (text, at most SCORE_IP_MAX_LEN; NULL if
 *  unknown): starts or revives its record. */
void score_add_peer(score_t *s, uint64_t now_ms, const peer_id_t *peer, const char *ip);
/** `peer` disconnected: it leaves every mesh; the record is kept for retain_score_ms. */
void score_remove_peer(score_t *s, uint64_t now_ms, const peer_id_t *peer);

/** `peer` joined / left our mesh for `topic`. */
void score_graft(score_t *s, uint64_t now_ms, const peer_id_t *peer, const uint8_t *topic,
                 size_t len);
void score_prune(score_t *s, uint64_t now_ms, const peer_id_t *peer, const uint8_t *topic,
                 size_t len);

/** `peer` was the first to deliver a message on `topic` that passed validation. */
void score_first_delivery(score_t *s, const peer_id_t *peer, const uint8_t *topic, size_t len);
/** `peer` delivered a message (valid) first delivered at `first_ms`: counts toward P3
 *  if it is in the mesh and now_ms − first_ms is within the delivery window. */
void score_duplicate_delivery(score_t *s, uint64_t now_ms, uint64_t first_ms, const peer_id_t *peer,
                              const uint8_t *topic, size_t len);
/** `peer` delivered a message on `topic` that failed validation (reject). */
void score_invalid(score_t *s, const peer_id_t *peer, const uint8_t *topic, size_t len);
/** P7: add `count` to the behaviour penalty (e.g. a GRAFT during backoff, broken
 *  IWANT promises). */
void score_add_penalty(score_t *s, const peer_id_t *peer, double count);

/** The score of `peer` at `now_ms`; 0 for a peer without a record (P5 still counts). */
double score_get(const score_t *s, uint64_t now_ms, const peer_id_t *peer);

/** Decay every counter for each interval elapsed; drop expired records. Returns the
 *  time of the next decay. */
uint64_t score_tick(score_t *s, uint64_t now_ms);

/** Records held (connected and retained). */
size_t score_count(const score_t *s);

#endif
