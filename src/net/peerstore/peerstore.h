/* peerstore — everything Lester remembers about other peers, bounded, persisted in
 * SQLite (seed 001, "Peer Management" and "Storage Module"; issue 3).
 *
 * Per peer: its addresses (most useful first), public key, supported protocols,
 * agent version, trust score, last_seen, and the connection manager's view of it
 * (state known / connecting / active, dial backoff). Addresses, public key,
 * last_seen and trust survive restarts in the seed's `peers` table plus `peer_addrs`
 * (net migration 100, see net/migrations): the peers cached at the last run are the
 * bootstrap source of the next one (seed 003), loaded most recently seen first.
 * Protocols and agent are not persisted; identify refreshes them on connection.
 *
 * Two clocks. Everything this module *stores* (last_seen, the time a peer was
 * learned) is Unix time in ms (clock_wall_ms()), because it outlives the process.
 * `backoff_until` belongs to the connection manager and is on its clock (monotonic).
 * peerstore_tick() only measures intervals on whatever clock it is given.
 *
 * Bounds (peerstore_config_t): at most max_peers peers, max_addrs addresses of at
 * most max_addr_len bytes each, max_protocols protocol IDs, an agent of at most
 * max_agent_len bytes. Past max_peers a newcomer evicts the entry that is worth the
 * least, if one is worth less than the newcomer, ranked as follows (first evicted):
 *   1. stale entries: not seen (or, if never connected, not learned) for stale_ms;
 *   2. fresh entries we never connected to;
 *   3. peers we connected to within stale_ms;
 * within a class lower trust goes first, then the older recency, then the older
 * entry. A newcomer counts as class 2 with the initial trust and the newest
 * recency, so a flood of new IDs from discovery churns only stale entries and
 * never-connected ones it does not outrank; it never displaces a peer we talked to
 * within stale_ms — not even a distrusted one, whose low trust is thereby remembered
 * rather than reset by forgetting it. While the store is over max_peers (connected
 * peers are always stored, see peerstore_set_state()) newcomers are refused until
 * evictions bring it back under. Peers that are connecting or active
 * are never evicted. Evictions come in batches of up to max_peers/64 so a flood costs
 * one scan per batch, not per peer.
 *
 * Writes to SQLite are batched: setters only mark an entry dirty, and
 * peerstore_tick() (called by connmgr_tick()) writes every dirty entry and every
 * pending deletion in one transaction at most once per flush_interval_ms.
 * peerstore_free() flushes what is left. A failed flush is logged and retried at the
 * next interval; the in-memory store stays authoritative.
 *
 * Rows read from disk are outside input: every field is validated (peer ID text must
 * be canonical base58, the public key must hash to the peer ID, addresses must
 * parse, trust must be a number in [0, 1]) and what fails is dropped and counted.
 *
 * Not thread-safe: the loop thread owns the store. */
#ifndef LS_NET_PEERSTORE_H
#define LS_NET_PEERSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/db/db.h"
#include "lib/mem/mem.h"
#include "lib/multiaddr/multiaddr.h"
#include "lib/peerid/peerid.h"

/** Seed 001's peer states, as the connection manager sets them. */
typedef enum peer_state_t {
    PEER_STATE_KNOWN = 0,  /* discovered, not connected */
    PEER_STATE_CONNECTING, /* a dial is in progress */
    PEER_STATE_ACTIVE      /* connected */
} peer_state_t;

/** "known", "connecting" or "active"; "unknown" out of range. Never NULL. */
const char *peer_state_name(peer_state_t st);

typedef struct peerstore_config_t {
    double initial_trust;       /* trust of a new peer (seed 001: 0.5) */
    size_t max_peers;           /* peers remembered (10,000) */
    size_t max_addrs;           /* addresses per peer (16), 1..255 */
    size_t max_addr_len;        /* bytes of a binary multiaddr (256) */
    size_t max_protocols;       /* protocol IDs per peer (128) */
    size_t max_protocol_len;    /* bytes of one protocol ID (256) */
    size_t max_agent_len;       /* bytes of the agent version (256) */
    uint64_t stale_ms;          /* unseen this long: first to go (7 days) */
    uint64_t flush_interval_ms; /* SQLite writes at most this often (30 s) */
} peerstore_config_t;

/** Fill `cfg` with the defaults above and `initial_trust` (clamped to [0, 1]). */
void peerstore_config_default(peerstore_config_t *cfg, double initial_trust);

typedef struct peerstore_t peerstore_t;

/** A new store with the default limits and `initial_trust`. With `db` (borrowed; it
 *  must outlive the store and hold net migration 100) the peers persisted there are
 *  loaded now, most recently seen first up to max_peers, and rows past that limit
 *  are deleted; with NULL the store lives in memory only. A database error while
 *  loading is logged and leaves the store empty. Never returns NULL. */
peerstore_t *peerstore_new(db_t *db, double initial_trust);

/** As peerstore_new() with explicit limits (`cfg` is copied; zero limits are raised
 *  to 1). */
peerstore_t *peerstore_new_with(db_t *db, const peerstore_config_t *cfg);

/** Flush pending writes, then free. NULL is a no-op. */
void peerstore_free_(peerstore_t *ps);
#define peerstore_free(p) FREE_AND_NULL(peerstore_t, peerstore_free_, (p))

/* ---- updates; each creates the peer if it is new (see the eviction rule) ---- */

/** Remember addresses of `peer` (borrowed; copied). A final /p2p/<peer> component
 *  is stripped; an address with another peer's /p2p, or longer than max_addr_len,
 *  is skipped. New addresses go first (after a confirmed one, see
 *  peerstore_confirm_addr()); past max_addrs the oldest are dropped. `now_ms` is
 *  Unix ms. Returns the number of addresses that were new (0 or more);
 *  LS_EINVAL for an empty peer ID; LS_ELIMIT if `peer` is new and the store is full
 *  of entries worth more than a newcomer (nothing is stored). */
int peerstore_add_addrs(peerstore_t *ps, const peer_id_t *peer, const multiaddr_t *const *addrs,
                        size_t n, uint64_t now_ms);

/** A connection through `addr` succeeded: move it to the front (adding it if new)
 *  and keep it there, so dials try it first and address churn never drops it. It is
 *  persisted as the seed's `peers.address` ("last multiaddr that worked"). 0, or
 *  the errors of peerstore_add_addrs(). */
int peerstore_confirm_addr(peerstore_t *ps, const peer_id_t *peer, const multiaddr_t *addr,
                           uint64_t now_ms);

/** Store the peer's PublicKey protobuf `p[0..len)` (copied), of any libp2p key type.
 *  0; LS_EPEERID if the key does not hash to `peer`; the errors of
 *  peer_id_from_pubkey_proto() if it is malformed; LS_EINVAL if its Data is not a key
 *  of its type (lib/crypto/sigverify); LS_ELIMIT as above. Nothing changes on error. */
int peerstore_set_pubkey(peerstore_t *ps, const peer_id_t *peer, const uint8_t *p, size_t len);

/** Replace the peer's protocol list with `protos[0..n)` (copied; as identify
 *  reports it). Empty IDs, IDs longer than max_protocol_len, duplicates and IDs past
 *  max_protocols are dropped: the result is 0 if all were kept, LS_ETOOBIG if any
 *  was dropped (the rest are stored; the caller may report a protocol violation),
 *  or LS_ELIMIT as above. */
int peerstore_set_protocols(peerstore_t *ps, const peer_id_t *peer, const char *const *protos,
                            size_t n);

/** Set the agent version (copied). 0; LS_ETOOBIG past max_agent_len (unchanged);
 *  LS_ELIMIT as above. */
int peerstore_set_agent(peerstore_t *ps, const peer_id_t *peer, const char *agent);

/** We heard from `peer` at `now_ms` (Unix ms): set last_seen (never moves back).
 *  0 or LS_ELIMIT as above. Cheap: the write to SQLite waits for the next flush. */
int peerstore_touch(peerstore_t *ps, const peer_id_t *peer, uint64_t now_ms);

/** Set the trust score (clamped to [0, 1]); for the trust manager. 0; LS_EINVAL
 *  for NaN; LS_ELIMIT as above. */
int peerstore_set_trust(peerstore_t *ps, const peer_id_t *peer, double trust);

/** Forget `peer`, here and (at the next flush) on disk. 0; LS_ENOENT if unknown;
 *  LS_EACCES if it is connecting or active (disconnect it first). */
int peerstore_remove(peerstore_t *ps, const peer_id_t *peer);

/* ---- for the connection manager ---- */

/** Set the connection state. Unlike the other setters this always succeeds for
 *  CONNECTING and ACTIVE, even past max_peers (a connected peer always has an
 *  entry; the connection manager bounds how many there are). 0, LS_EINVAL for an
 *  empty ID or a state out of range, or LS_ELIMIT (KNOWN, new peer, store full). */
int peerstore_set_state(peerstore_t *ps, const peer_id_t *peer, peer_state_t st);

/** Record dial backoff: no dial before `until` (connection manager's clock), after
 *  `failures` consecutive failed dials. 0, LS_ENOENT if the peer is unknown. */
int peerstore_set_backoff(peerstore_t *ps, const peer_id_t *peer, uint64_t until,
                          uint32_t failures);

/* ---- queries ---- */

/** A read-only view of one peer. Pointers are borrowed from the store and valid
 *  until the next call that changes this peer or frees the store. */
typedef struct peer_view_t {
    const peer_id_t *id;
    const multiaddr_t *const *addrs; /* most useful first, without /p2p */
    size_t n_addrs;
    bool addr0_confirmed; /* addrs[0] is the last one that worked */
    const char *const *protocols;
    size_t n_protocols;
    const char *agent;     /* NULL if unknown */
    const uint8_t *pubkey; /* PublicKey protobuf; NULL if unknown */
    size_t pubkey_len;
    double trust;
    peer_state_t state;
    uint64_t last_seen;     /* Unix ms; 0 if never seen */
    uint64_t backoff_until; /* connection manager's clock; 0 if none */
    uint32_t dial_failures; /* consecutive */
} peer_view_t;

/** Fill `*out` for `peer` and return true, or return false if it is unknown. */
bool peerstore_get(const peerstore_t *ps, const peer_id_t *peer, peer_view_t *out);

/** True if the store holds `peer`. */
bool peerstore_has(const peerstore_t *ps, const peer_id_t *peer);

/** The peer's trust, or the initial trust if it is unknown. */
double peerstore_trust(const peerstore_t *ps, const peer_id_t *peer);

/** The peer's state; PEER_STATE_KNOWN if unknown. */
peer_state_t peerstore_state(const peerstore_t *ps, const peer_id_t *peer);

/** True if identify reported `proto` for `peer`. */
bool peerstore_has_protocol(const peerstore_t *ps, const peer_id_t *peer, const char *proto);

/** The initial trust the store was created with. */
double peerstore_initial_trust(const peerstore_t *ps);

/** Number of peers. */
size_t peerstore_count(const peerstore_t *ps);

/** Called once per peer in arbitrary order with a view valid for the call; return
 *  false to stop. It must not change the store. */
typedef bool (*peerstore_visit_fn)(void *ctx, const peer_view_t *peer);

/** Visit every peer. */
void peerstore_foreach(const peerstore_t *ps, peerstore_visit_fn fn, void *ctx);

/* ---- persistence ---- */

/** Write every dirty entry and pending deletion now, in one transaction. 0 (also
 *  without a database), or the mapped SQLite error (the transaction is rolled back
 *  and everything stays pending). */
int peerstore_flush(peerstore_t *ps);

/** Flush if something is pending and flush_interval_ms has passed since the last
 *  flush on this clock (`now_ms` may be any clock that does not go back; the first
 *  call starts the interval). Returns the absolute time, on the same clock, by
 *  which it wants to be called again (UINT64_MAX if nothing is pending). */
uint64_t peerstore_tick(peerstore_t *ps, uint64_t now_ms);

typedef struct peerstore_stats_t {
    size_t peers;
    uint64_t evicted; /* entries dropped to make room */
    uint64_t refused; /* newcomers refused: store full of better entries */
    uint64_t flushes; /* transactions committed */
    uint64_t flush_errors;
    uint64_t rows_loaded;
    uint64_t rows_rejected; /* invalid rows or fields found on disk */
} peerstore_stats_t;

void peerstore_stats(const peerstore_t *ps, peerstore_stats_t *out);

#endif
