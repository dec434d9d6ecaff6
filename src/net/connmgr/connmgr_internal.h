/* connmgr internals shared by connmgr.c (notifications, queries), connmgr_tick.c
 * (timers, dialling, eviction) and tests. Not part of the API. */
#ifndef LS_NET_CONNMGR_INTERNAL_H
#define LS_NET_CONNMGR_INTERNAL_H

#include "net/connmgr/connmgr.h"
#include "net/peermap/peermap.h"

/** A peer that is connecting or active. Known peers have no record. */
typedef struct conn_rec_t {
    peer_id_t id; /* the map key */
    peer_state_t state;
    bool inbound;
    bool ping_outstanding;
    uint32_t ping_failures;
    uint64_t since; /* dial start, then connection time */
    uint64_t last_heard;
    uint64_t next_ping;
    uint64_t rtt_ms;
    multiaddr_t *dial_addr; /* owned; the address of our dial in progress */
} conn_rec_t;

typedef struct protect_rec_t {
    peer_id_t id; /* the map key */
    size_t n_tags;
    char *tags[CONNMGR_MAX_TAGS];
} protect_rec_t;

typedef struct boot_rec_t {
    peer_id_t id;
    multiaddr_t *addr; /* owned, without /p2p */
} boot_rec_t;

struct connmgr_t {
    connmgr_config_t cfg;
    connmgr_env_t env;
    trust_hook_t hook;
    peerstore_t *ps;            /* borrowed */
    peermap_t *conns;           /* conn_rec_t */
    peermap_t *protected_peers; /* protect_rec_t */
    boot_rec_t boot[CONNMGR_MAX_BOOTSTRAP];
    size_t n_boot;
    bool has_self;
    peer_id_t self;
    size_t n_active, n_connecting, n_inbound;
    uint64_t inbound_milli; /* inbound-rate tokens, in thousandths */
    uint64_t inbound_last;
    bool inbound_started;
    connmgr_stats_t stats;
};

bool connmgr_is_self(const connmgr_t *cm, const peer_id_t *peer);

/** A new record in `state`, counted and mirrored in the peer store. */
conn_rec_t *connmgr_rec_add(connmgr_t *cm, const peer_id_t *peer, peer_state_t state,
                            uint64_t now_ms);

/** Change a record's state, keeping the counts and the peer store in step. */
void connmgr_rec_set_state(connmgr_t *cm, conn_rec_t *rec, peer_state_t state);

/** Forget a record (the peer becomes known) and free it. */
void connmgr_rec_remove(connmgr_t *cm, conn_rec_t *rec);

/** Forget `peer`'s connection, hold redials off for `backoff_ms`, then ask the swarm
 *  to close it with `reason`. No-op if the peer has no record. */
void connmgr_drop(connmgr_t *cm, const peer_id_t *peer, const char *reason, uint64_t backoff_ms,
                  uint64_t now_ms);

/** Record a failed dial of `peer` and set its backoff (connmgr_on_dial_failed). */
void connmgr_dial_failed(connmgr_t *cm, const peer_id_t *peer, int err, uint64_t now_ms);

/** The delay before the next dial after `failures` consecutive failures, with
 *  jitter: uniform in [d/2, d] for d = min(max, base * 2^(failures-1)). */
uint64_t connmgr_backoff_delay(const connmgr_t *cm, uint32_t failures);

/** The active, unprotected peer past its grace period, other than `except`, to evict
 *  first (lowest trust, then the most recent connection); NULL if none. */
conn_rec_t *connmgr_lowest_established(const connmgr_t *cm, const peer_id_t *except,
                                       uint64_t now_ms);

/** Evict at capacity (see connmgr.h). Returns the time the lowest candidate's grace
 *  ends if eviction had to wait for it, else UINT64_MAX. */
uint64_t connmgr_trim(connmgr_t *cm, uint64_t now_ms);

#endif
