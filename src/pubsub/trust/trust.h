/* trust — seed 001's trust manager ("Trust Module", "Trust Propagation"), sans-I/O.
 *
 * Every peer has a trust in [0, 1]. The arithmetic is seed 001's, to the letter:
 *   new peer            trust = initial                          (0.5, configurable)
 *   valid message       trust = clamp(trust + 0.001)
 *   invalid message     trust = clamp(trust - 0.1)
 *   timeout             trust = clamp(trust - 0.05)
 *   every decay interval  trust = trust + (initial - trust) * decay_rate
 *   recommendation      boost = recommended_trust * recommender_trust * 0.1,
 *                       trust = clamp(trust + boost)
 * where clamp() is to [0, 1]. The net layer's two extra events are mapped to the
 * seed's penalties: TRUST_PROTOCOL_VIOLATION is an invalid message (-0.1: malformed
 * input is invalid input) and TRUST_RATE_LIMITED a timeout (-0.05: seed 001's
 * "trust penalties for spam", reported at most once per interval by the limiter).
 *
 * Transitive trust is bounded so that it cannot be farmed (Lester's rules; the seed
 * gives only the formula):
 *   - a recommender counts only if its own trust is >= recommender_min (0.6), i.e.
 *     it has earned trust above any preset's initial value;
 *   - recommending oneself or us is ignored; recommended_trust must be in [0, 1];
 *   - a recommender's recommendations count at most max_recommendations times per
 *     decay interval (32), and a recommended peer gains at most transitive_cap (0.05)
 *     in total from recommendations per decay interval; the boost is cut to what is
 *     left of that cap.
 *
 * Valid messages earn at most valid_cap (0.02) per peer per decay interval (Lester's
 * rule; the seed's +0.001 per message is kept up to the cap, the message still counts
 * in stats). Without it a flood of valid messages — 1,000 a second pass the rate
 * limiter — would add +1.0 a second, far faster than the limiter's penalty (-0.05 at
 * most once a second, TRUST_RATE_LIMITED) takes it away: trust would reward volume.
 * With it, one rate-limit report outweighs a whole interval of valid traffic, while
 * an honest busy peer still climbs 0.02 a minute (decay takes back 1 % of the gap to
 * the initial trust), i.e. from 0.5 to 0.7 in about a quarter of an hour.
 *
 * Reputation (seed 001: trust x 0.6 + trend x 0.2 + stats x 0.2) with, in [0, 1]:
 *   trend = clamp(0.5 + 5 x (trust - trust_then)), trust_then being the oldest of
 *           the last TRUST_TREND_INTERVALS (8) snapshots of the peer's trust, one
 *           taken when it is first seen and one after each decay: 0.5 is flat, a rise
 *           of 0.1 or more over that window is 1, a fall of 0.1 or more is 0.
 *   stats = (valid + 1) / (valid + bad + 2), valid counting valid messages and bad
 *           all penalised events (invalid, timeout, protocol violation, rate limited):
 *           the share of good events, with one good and one bad pseudo-event so
 *           that a stranger is at 0.5 and one message is not a verdict.
 *
 * Every change of a peer's trust is reported to env.on_change as a trust_change_t
 * (node_id, event_type, trust_delta, timestamp: the columns of trust_events) with the
 * new value, which the node also writes to the peer store. Events that change nothing
 * (a valid message at trust 1.0) are not reported. Once decay has brought a peer
 * within TRUST_SNAP (1e-9) of the initial trust it is set to exactly the initial
 * trust, so a quiet peer stops producing decay events.
 *
 * A peer whose trust falls below min_threshold is reported once to
 * env.on_below_threshold (the node disconnects it and backs off redialling; connmgr
 * does that from the peer store); it is reported again only after it has risen to
 * the threshold or above and fallen again.
 *
 * Memory: at most max_peers entries; a new peer beyond that evicts the least recently
 * changed entry. An evicted peer's trust survives in the peer store (on_change wrote
 * it) and env.lookup brings it back; only its counters are lost.
 *
 * Time is any monotonic or wall-clock millisecond count passed in by the caller;
 * trust_tick() runs the decay. */
#ifndef LS_PUBSUB_TRUST_H
#define LS_PUBSUB_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/config/config.h"
#include "lib/mem/mem.h"
#include "lib/peerid/peerid.h"
#include "net/trust_hook/trust_hook.h"

/* Seed 001's constants. */
#define TRUST_DELTA_VALID 0.001
#define TRUST_DELTA_INVALID (-0.1)
#define TRUST_DELTA_TIMEOUT (-0.05)
#define TRUST_TRANSITIVE_FACTOR 0.1
/* Reputation weights (seed 001). */
#define TRUST_W_TRUST 0.6
#define TRUST_W_TREND 0.2
#define TRUST_W_STATS 0.2
/** Decay intervals over which trend is measured, and its gain. */
#define TRUST_TREND_INTERVALS 8
#define TRUST_TREND_GAIN 5.0
/** Distance to the initial trust below which decay snaps to it. */
#define TRUST_SNAP 1e-9
/** Decay intervals applied at most in one tick (a clock jump is not a loop). */
#define TRUST_MAX_CATCHUP 10000

typedef struct trust_t trust_t;

typedef struct trust_config_t {
    double initial;               /* trust of a new peer (seed 001: 0.5) */
    double min_threshold;         /* below: reported for disconnection (0.1) */
    double decay_rate;            /* share of the gap to `initial` closed per interval (0.01) */
    uint64_t decay_interval_ms;   /* 60 s */
    double recommender_min;       /* a recommender's trust must be >= this (0.6) */
    double transitive_cap;        /* most a peer gains from recommendations per interval (0.05) */
    double valid_cap;             /* most a peer gains from valid messages per interval (0.02) */
    uint32_t max_recommendations; /* counted per recommender per interval (32) */
    size_t max_peers;             /* entries kept (10,000) */
} trust_config_t;

/** Lester's defaults, which are seed 001's: initial 0.5, threshold 0.1 (the node
 *  config's default), decay 0.01 every 60 s; the transitive bounds above. */
void trust_config_default(trust_config_t *cfg);

/** Apply one of seed 001's presets: "high-security" sets initial 0.3, threshold 0.5,
 *  decay 0.02; "default", "high-throughput" and "low-resource" leave trust as it is
 *  (the seed tunes only gossip and peers for them). 0, or LS_EINVAL for an unknown
 *  name (`cfg` unchanged). */
int trust_config_profile(trust_config_t *cfg, const char *profile);

/** Defaults, then the `profile` key, then trust.initial, trust.min_threshold,
 *  trust.decay_rate and trust.valid_cap of a node configuration (keys absent from its
 *  schema are skipped).
 *  0, or LS_ECONFIG with a message appended to `err` (may be NULL) for an unknown
 *  profile. */
int trust_config_from(trust_config_t *out, const config_t *cfg, buf_t *err);

/** One change of a peer's trust: a row of trust_events plus the new value. */
typedef struct trust_change_t {
    const peer_id_t *peer;  /* borrowed for the call */
    const char *event_type; /* static: trust_event_name(), "decay" or "recommendation" */
    double trust_delta;     /* trust_after - trust before */
    double trust_after;
    uint64_t timestamp_ms;
} trust_change_t;

/** The node's side. Callbacks run synchronously inside the manager's calls and must
 *  not call back into the manager. */
typedef struct trust_env_t {
    void *ctx; /* passed back, never freed */
    /** Optional. Record `c` (trust_events row; peerstore_set_trust()). */
    void (*on_change)(void *ctx, const trust_change_t *c);
    /** Optional. `peer` fell below min_threshold: disconnect it and back off. */
    void (*on_below_threshold)(void *ctx, const peer_id_t *peer, double trust);
    /** Optional. The stored trust of a peer the manager does not hold (peer store);
     *  false if unknown (it then starts at `initial`). */
    bool (*lookup)(void *ctx, const peer_id_t *peer, double *trust);
    /** Optional. The time for events arriving through the trust hook, which carries
     *  none; NULL uses the last time given to trust_tick() or an input function. */
    uint64_t (*now_ms)(void *ctx);
} trust_env_t;

/** A manager for `self` (whose recommendations are ignored) with `cfg` and `env`
 *  (both copied; values are clamped to their ranges). Decay intervals count from
 *  `now_ms`. Never returns NULL. */
trust_t *trust_new(const trust_config_t *cfg, const trust_env_t *env, const peer_id_t *self,
                   uint64_t now_ms);
/** NULL is a no-op. */
void trust_free_(trust_t *t);
#define trust_free(t) FREE_AND_NULL(trust_t, trust_free_, (t))

/** Apply `ev` about `peer` at `now_ms` (deltas above; a valid message beyond
 *  valid_cap in this interval changes nothing). Returns the new trust. An event out
 *  of range changes nothing. */
double trust_report(trust_t *t, uint64_t now_ms, const peer_id_t *peer, trust_event_t ev);

/** A hook for connmgr_set_trust_hook() and ratelimit_new() that feeds trust_report()
 *  (time from env.now_ms). `t` must outlive every holder of the hook. */
trust_hook_t trust_as_hook(trust_t *t);

/** `recommender` vouches for `peer` with `recommended_trust` (from a verified
 *  TRUST_UPDATE or TRUSTED_PEERS_RESPONSE): applies the bounded boost above and writes
 *  it to `*boost` (may be NULL; 0 when nothing was applied). 0 if the recommendation
 *  counted (the boost may have been cut by transitive_cap, down to 0); LS_EINVAL if
 *  recommended_trust is outside [0, 1] or NaN; LS_EACCES if it does not count (the
 *  recommender is below recommender_min or over max_recommendations, or recommends
 *  itself or us). */
int trust_recommend(trust_t *t, uint64_t now_ms, const peer_id_t *recommender,
                    const peer_id_t *peer, double recommended_trust, double *boost);

/** Run the decay for every interval elapsed up to `now_ms`. Returns the time of the
 *  next decay. */
uint64_t trust_tick(trust_t *t, uint64_t now_ms);

/** The trust of `peer` (env.lookup or `initial` if not held). */
double trust_get(const trust_t *t, const peer_id_t *peer);

/** Seed 001's reputation of `peer` and its parts (any output may be NULL). A peer not
 *  held has trend 0.5 and stats 0.5. */
double trust_reputation(const trust_t *t, const peer_id_t *peer, double *trend, double *stats);

/** GossipSub's application-specific score P5 for `peer` (score.h): trust − initial,
 *  so a stranger is 0, a peer that misbehaved negative and one that earned trust
 *  positive. For score_env_t.app_score. */
double trust_app_score(const trust_t *t, const peer_id_t *peer);

/** Counters of a held peer; false (outputs untouched) if it is not held. */
bool trust_counts(const trust_t *t, const peer_id_t *peer, uint64_t *valid, uint64_t *bad);

/** Set a peer's trust (clamped) without an event, e.g. from the peer store at start. */
void trust_set(trust_t *t, uint64_t now_ms, const peer_id_t *peer, double trust);

/** Forget `peer` (its stored trust stays in the peer store). */
void trust_forget(trust_t *t, const peer_id_t *peer);

/** One entry of trust_top(). */
typedef struct trust_entry_t {
    peer_id_t peer;
    double trust;
} trust_entry_t;

/** The at most `max` held peers with trust >= min_trust, highest first (ties by
 *  peer ID), for a TRUSTED_PEERS_RESPONSE. Returns how many were written. */
size_t trust_top(const trust_t *t, double min_trust, trust_entry_t *out, size_t max);

/** Peers held. */
size_t trust_count(const trust_t *t);

/** The configuration in force (clamped). */
const trust_config_t *trust_config(const trust_t *t);

#endif
