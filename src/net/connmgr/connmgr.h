/* connmgr — seed 001's peer management on the libp2p host, without I/O (issue 3:
 * "Seed 001's peer management", "Limits and flood protection").
 *
 * Seed 001 ("Peer Management Module"): peers are known → connecting → active; the
 * node keeps between min_peers and max_peers connections, evicts the lowest-trust
 * peer at capacity, removes peers that time out, and discovers peers from the
 * bootstrap list and from other peers. Seed 003: bootstrap from the configured list
 * and from the peers cached at the last run (the peer store), best first.
 *
 * The caller (the swarm) owns connections and the clock. It tells the manager what
 * happened (connmgr_on_*), asks it before accepting an inbound connection
 * (connmgr_allow_inbound), and calls connmgr_tick() by the deadline it returns; the
 * manager acts through connmgr_env_t: dial, disconnect, ping. All times here are
 * monotonic ms (clock_mono_ms()); the peer store's last_seen is Unix ms and is the
 * swarm's to update (peerstore_touch()) when it hears from a peer.
 *
 * The swarm reports per *peer*, not per connection: connmgr_on_connected() when the
 * first connection to a peer is up (handshake done, peer ID proven), and
 * connmgr_on_disconnected() when the last one closes. Extra reports are harmless.
 *
 * Policy, in the order connmgr_tick() applies it:
 *  - Dials: while active + connecting < min_peers, dial known peers, at most
 *    max_dials at once: bootstrap addresses first (in the order added), then cached
 *    peers by trust (highest first), then last_seen (most recent first). Peers in
 *    backoff or below min_trust are skipped. A cached peer is dialled at its
 *    addresses in turn, one per attempt, the confirmed one first.
 *  - Dial failures (or no connection within dial_timeout_ms) back off exponentially:
 *    backoff_base_ms * 2^(failures-1), capped at backoff_max_ms, with "equal jitter"
 *    (a uniformly random time in [d/2, d]). A connection resets the count. A peer
 *    that disconnects, or that we disconnect, is not redialled for backoff_base_ms.
 *  - Capacity: when active > max_peers, the lowest-trust unprotected peer is
 *    disconnected ("evicted: connection limit"); among equal trust the most recent
 *    connection goes first, so incumbents are kept. The newcomer is a candidate too:
 *    a newcomer worth less than every incumbent is the one evicted. A connection
 *    younger than grace_ms is never evicted: if the lowest is in its grace period,
 *    eviction waits for the grace to end (so a new node can finish identify and
 *    learn peers from a full bootstrap node before it may be dropped), and inbound
 *    connections are capped at max_peers + headroom meanwhile.
 *  - Protection (connmgr_protect, like go-libp2p's tags) exempts a peer from
 *    capacity eviction only — not from disconnection for low trust or timeouts.
 *    Bootstrap peers are not protected automatically: protect them if you want.
 *  - Trust: an active peer whose trust (read from the peer store) falls below
 *    min_trust is disconnected ("low trust") and not redialled for
 *    low_trust_backoff_ms; an inbound connection from such a peer is closed at once.
 *  - Liveness: every keepalive_ms an active peer gets a ping (env.ping); each failed
 *    ping is reported to the trust hook as TRUST_TIMEOUT, and max_ping_failures in a
 *    row disconnect the peer ("ping timeout"). A peer not heard from (activity or a
 *    successful ping) for idle_timeout_ms is disconnected ("idle timeout") and
 *    reported as TRUST_TIMEOUT.
 *  - Newcomers at capacity: an inbound peer that connects while max_peers +
 *    headroom peers are active is accepted and the lowest-trust unprotected peer
 *    past its grace period is evicted for it ("evicted: connection limit") —
 *    unless every such peer trusts higher than the newcomer, or all are in their
 *    grace period: then the newcomer is refused ("connection limit").
 *  - Inbound: connmgr_allow_inbound() refuses at connmgr_inbound_cap() connections
 *    (active + connecting) and past inbound_per_sec (a token bucket with a burst of
 *    inbound_burst). The swarm must also bound its unfinished handshakes.
 *
 * Re-entrancy: env callbacks may call connmgr_on_* (e.g. a dial that fails at once
 * may call connmgr_on_dial_failed, a disconnect may call connmgr_on_disconnected)
 * and peer-store functions, but must not free the manager or call connmgr_tick().
 * Before calling disconnect the manager has already forgotten the connection, so a
 * synchronous connmgr_on_disconnected() for it is a no-op. */
#ifndef LS_NET_CONNMGR_H
#define LS_NET_CONNMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/config/config.h"
#include "lib/mem/mem.h"
#include "lib/multiaddr/multiaddr.h"
#include "lib/peerid/peerid.h"
#include "net/peerstore/peerstore.h"
#include "net/trust_hook/trust_hook.h"

/** Most bootstrap addresses; most protected peers; most tags per peer; longest tag. */
#define CONNMGR_MAX_BOOTSTRAP 64
#define CONNMGR_MAX_PROTECTED 4096
#define CONNMGR_MAX_TAGS 8
#define CONNMGR_MAX_TAG_LEN 64
/** connmgr_tick() asks to be called at least this often, to notice trust changes. */
#define CONNMGR_MAX_TICK_MS 1000

typedef struct connmgr_config_t {
    uint32_t min_peers;            /* dial while below (seed 001; config peers.min) */
    uint32_t max_peers;            /* evict above (seed 001; config peers.max) */
    uint32_t headroom;             /* inbound accepted above max_peers, to choose whom to
                                      evict */
    uint32_t max_dials;            /* concurrent outbound dials */
    uint64_t dial_timeout_ms;      /* a dial not connected by then has failed */
    uint64_t backoff_base_ms;      /* first retry delay; also after a disconnection */
    uint64_t backoff_max_ms;       /* cap of the exponential backoff (<= 2^31) */
    uint64_t keepalive_ms;         /* ping interval per active peer; 0: no pings */
    uint32_t max_ping_failures;    /* consecutive failed pings that disconnect */
    uint64_t idle_timeout_ms;      /* not heard from this long: disconnect; 0: never */
    uint64_t grace_ms;             /* new connections are not evicted this long */
    double min_trust;              /* below: disconnect (seed 001; trust.min_threshold) */
    uint64_t low_trust_backoff_ms; /* no redial after a low-trust disconnect */
    uint32_t inbound_per_sec;      /* inbound connections accepted per second; 0: no limit */
    uint32_t inbound_burst;
} connmgr_config_t;

/** Lester's defaults: 8..50 peers, headroom max(2, max/8), 8 dials, 15 s dial
 *  timeout, backoff 5 s doubling to 10 min, keepalive 15 s, 3 ping failures, 60 s
 *  idle timeout, 20 s grace, min trust 0.1, 1 h low-trust backoff, 32 inbound
 *  connections/s with a burst of 64. */
void connmgr_config_default(connmgr_config_t *cfg);

/** Apply one of seed 001's profiles on top of `cfg`. Seed 001 sets max_peers (100
 *  high-throughput, 20 low-resource) and min_trust (0.5 high-security); Lester adds:
 *  high-throughput 16 dials and 64 inbound/s; low-resource 4 dials, keepalive 30 s,
 *  idle 120 s, 8 inbound/s; high-security 10 s grace, 6 h low-trust backoff, 8
 *  inbound/s. "default" changes nothing. Headroom follows max_peers. 0, or LS_EINVAL
 *  for an unknown name (`cfg` unchanged). */
int connmgr_config_profile(connmgr_config_t *cfg, const char *profile);

/** The configuration for a node config: defaults, then its `profile`, then its
 *  peers.min, peers.max and trust.min_threshold (keys absent from `cfg`'s schema are
 *  skipped). 0, or LS_ECONFIG with a message in `err` (may be NULL) for an unknown
 *  profile or peers.min above peers.max. */
int connmgr_config_from(connmgr_config_t *out, const config_t *cfg, buf_t *err);

/** The swarm's side. `ctx` is passed back and never freed. */
typedef struct connmgr_env_t {
    void *ctx;
    /** Required. Start dialling `peer` at `addr` (without /p2p; the dial must prove
     *  the peer's identity). Return 0 if started — the outcome then comes through
     *  connmgr_on_connected() or connmgr_on_dial_failed() — or a negative code if it
     *  failed at once, in which case no later report is expected. */
    int (*dial)(void *ctx, const peer_id_t *peer, const multiaddr_t *addr);
    /** Required. Close every connection to `peer`, or abort a dial in progress;
     *  `reason` (static text) is for the log. */
    void (*disconnect)(void *ctx, const peer_id_t *peer, const char *reason);
    /** Optional (NULL: no keepalive). Ping `peer`; report the outcome with
     *  connmgr_on_ping(), whose timeout is the swarm's. */
    void (*ping)(void *ctx, const peer_id_t *peer);
    /** Optional. A uniform value in [0, bound), for backoff jitter; NULL uses the
     *  system's secure random numbers. Tests make it deterministic. */
    uint32_t (*random)(void *ctx, uint32_t bound);
} connmgr_env_t;

typedef struct connmgr_t connmgr_t;

/** A manager with `cfg` (copied; inconsistent values are corrected: min_peers at
 *  most max_peers, at least one dial...), over `ps` (borrowed; must outlive it),
 *  acting through `env` (copied; dial and disconnect must be set). Never returns
 *  NULL. */
connmgr_t *connmgr_new(const connmgr_config_t *cfg, peerstore_t *ps, const connmgr_env_t *env);

/** Free the manager. It calls no callback; the swarm closes its connections itself.
 *  NULL is a no-op. */
void connmgr_free_(connmgr_t *cm);
#define connmgr_free(c) FREE_AND_NULL(connmgr_t, connmgr_free_, (c))

/** Our own peer ID: never dialled, and a connection from it is closed. */
void connmgr_set_self(connmgr_t *cm, const peer_id_t *self);

/** Where trust events go (copied; NULL: trust_hook_none). See trust_hook.h. */
void connmgr_set_trust_hook(connmgr_t *cm, const trust_hook_t *hook);

/** Report `ev` about `peer` through the manager's trust hook (for the swarm's own
 *  events: protocol violations, invalid messages). */
void connmgr_report(connmgr_t *cm, const peer_id_t *peer, trust_event_t ev);

/** Add a bootstrap address (borrowed; copied), which must end in /p2p/<peer id>.
 *  It is also added to the peer store. 0 (also if already present); LS_EINVAL
 *  without a final /p2p or for our own ID; LS_ELIMIT past CONNMGR_MAX_BOOTSTRAP. */
int connmgr_add_bootstrap(connmgr_t *cm, const multiaddr_t *addr);

/* ---- notifications from the swarm ---- */

/** The first connection to `peer` is up (inbound: the peer dialled us). The peer
 *  becomes active and its backoff is reset; for our own dial the address is
 *  confirmed in the peer store. Then capacity is enforced (see above). Returns 0,
 *  or LS_EACCES if the manager closed the connection at once (our own ID, or trust
 *  below min_trust): env.disconnect has then been called. */
int connmgr_on_connected(connmgr_t *cm, const peer_id_t *peer, bool inbound, uint64_t now_ms);

/** The last connection to `peer` closed (or a dial ended without connecting, which
 *  counts as a failure). Unknown peers are ignored. */
void connmgr_on_disconnected(connmgr_t *cm, const peer_id_t *peer, uint64_t now_ms);

/** A dial to `peer` failed with `err` (negative code, for the log): back off.
 *  Ignored if the peer is active (e.g. it dialled us meanwhile). Dials the swarm
 *  started on its own count too, so it should report them. */
void connmgr_on_dial_failed(connmgr_t *cm, const peer_id_t *peer, int err, uint64_t now_ms);

/** Outcome of a keepalive ping: `ok` with the round trip, or a failure (timeout).
 *  Ignored unless the peer is active. */
void connmgr_on_ping(connmgr_t *cm, const peer_id_t *peer, bool ok, uint64_t rtt_ms,
                     uint64_t now_ms);

/** We heard from `peer` (any frame): it is not idle. Cheap; may be called often. */
void connmgr_on_activity(connmgr_t *cm, const peer_id_t *peer, uint64_t now_ms);

/** May the swarm accept one more inbound connection (before its handshake)? False
 *  at connmgr_inbound_cap() connections (active + connecting) or past the inbound
 *  rate; refusals are counted. A true answer takes one token of the inbound rate. */
bool connmgr_allow_inbound(connmgr_t *cm, uint64_t now_ms);

/** Connections (active + connecting, plus the swarm's handshakes in flight) past
 *  which inbound connections are refused before their handshake: max_peers +
 *  2 x headroom. The second headroom is for newcomers at capacity, each of which
 *  is decided once its peer ID is proven (connmgr_on_connected: evict or refuse). */
size_t connmgr_inbound_cap(const connmgr_t *cm);

/** Close `peer` on request (e.g. `lester swarm disconnect`): env.disconnect is called
 *  with `reason`, and the peer is not redialled for backoff_base_ms. 0, or
 *  LS_ENOENT if it is neither active nor connecting. */
int connmgr_disconnect(connmgr_t *cm, const peer_id_t *peer, const char *reason, uint64_t now_ms);

/** Run the policy above at `now_ms`, then flush the peer store if due
 *  (peerstore_tick() on this clock: the swarm need not call it). Returns the absolute
 *  time of the next deadline, never later than now_ms + CONNMGR_MAX_TICK_MS. */
uint64_t connmgr_tick(connmgr_t *cm, uint64_t now_ms);

/* ---- protection ---- */

/** Protect `peer` from capacity eviction under `tag` (copied; 1..64 bytes). A peer
 *  stays protected while it has any tag. 0 (also if already tagged so); LS_EINVAL
 *  for a bad tag; LS_ELIMIT past CONNMGR_MAX_TAGS tags or CONNMGR_MAX_PROTECTED
 *  peers. */
int connmgr_protect(connmgr_t *cm, const peer_id_t *peer, const char *tag);

/** Remove `tag` from `peer`. Returns true if the peer is still protected (by other
 *  tags), as go-libp2p does. */
bool connmgr_unprotect(connmgr_t *cm, const peer_id_t *peer, const char *tag);

/** True if `peer` has `tag`, or any tag when `tag` is NULL. */
bool connmgr_is_protected(const connmgr_t *cm, const peer_id_t *peer, const char *tag);

/* ---- queries ---- */

/** KNOWN (also for peers the manager never saw), CONNECTING or ACTIVE. */
peer_state_t connmgr_state(const connmgr_t *cm, const peer_id_t *peer);

/** What the manager knows of one connecting or active peer. */
typedef struct connmgr_peer_t {
    peer_state_t state;
    bool inbound;
    bool protected_peer;
    uint64_t since;         /* dial start or connection time */
    uint64_t last_heard;    /* activity or successful ping */
    uint64_t rtt_ms;        /* last ping round trip; 0 if none yet */
    uint32_t ping_failures; /* consecutive */
} connmgr_peer_t;

/** Fill `*out` and return true if `peer` is connecting or active; false otherwise. */
bool connmgr_peer_info(const connmgr_t *cm, const peer_id_t *peer, connmgr_peer_t *out);

/** Copy up to `max` active peers to `out` (arbitrary order); returns how many. */
size_t connmgr_active_peers(const connmgr_t *cm, peer_id_t *out, size_t max);

typedef struct connmgr_stats_t {
    size_t active;
    size_t connecting;
    size_t inbound;  /* active peers that dialled us */
    size_t outbound; /* active peers we dialled */
    size_t protected_peers;
    uint64_t dials_started;
    uint64_t dials_ok;
    uint64_t dials_failed; /* including timeouts */
    uint64_t dial_timeouts;
    uint64_t evictions;         /* capacity evictions */
    uint64_t inbound_refused;   /* connmgr_allow_inbound() said no */
    uint64_t low_trust_refused; /* connections closed at once for low trust */
    uint64_t low_trust_disconnects;
    uint64_t ping_failures;
    uint64_t timeout_disconnects; /* ping timeouts and idle timeouts */
    uint64_t self_refused;
} connmgr_stats_t;

void connmgr_stats(const connmgr_t *cm, connmgr_stats_t *out);

#endif
