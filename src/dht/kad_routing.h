/* kad_routing — the Kademlia routing table (libp2p/specs kad-dht, "Kademlia routing
 * table"; Maymounkov & Mazières 2002, section 2.2), sans I/O.
 *
 * Keyspace: SHA-256 of the binary peer ID (or of a record key); distance is XOR.
 * Bucket i holds peers whose key shares exactly i leading bits with ours (256 of
 * them, allocated on first use). Each bucket keeps at most `k` live entries ordered
 * from least to most recently seen, and a replacement cache of at most
 * `replacement` candidates (most recent last).
 *
 * Policy, against pollution and eclipse (issue 4):
 *   - only peers that answered one of our queries are given to routing_seen();
 *   - at most `group_per_bucket` peers of one IP group per bucket and
 *     `group_per_table` in the whole table, a group being a public IPv4 /24 or IPv6
 *     /48 (the first address decides). Loopback and private addresses are exempt
 *     unless `limit_private` is set (tests use that);
 *   - a full bucket never drops a live entry for a newcomer: the newcomer waits in
 *     the replacement cache and the caller pings the least recently seen entry
 *     (routing_seen's `ping_out`). An entry whose requests fail `max_fails` times in
 *     a row is removed and the freshest replacement takes its place.
 *
 * Addresses are kept as an "address list": repeated (2-byte big-endian length,
 * binary multiaddr), at most KAD_ADDRS_MAX bytes (kad_addrs_* below). */
#ifndef LS_DHT_KAD_ROUTING_H
#define LS_DHT_KAD_ROUTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/mem/mem.h"
#include "lib/peerid/peerid.h"

#define KAD_KEY_LEN 32
#define KAD_BUCKETS 256
/** Largest address list kept for one peer. */
#define KAD_ADDRS_MAX 1024

typedef struct kad_key_t {
    uint8_t b[KAD_KEY_LEN];
} kad_key_t;

/** The keyspace point of a peer: SHA-256 of its binary ID. */
void kad_key_from_peer(kad_key_t *out, const peer_id_t *id);
/** The keyspace point of `len` bytes (a record or provider key). */
void kad_key_from_bytes(kad_key_t *out, const uint8_t *p, size_t len);
/** Number of leading bits `a` and `b` share (256 if equal). */
unsigned kad_key_cpl(const kad_key_t *a, const kad_key_t *b);
/** <0 if `a` is closer to `target` than `b`, 0 if equal, >0 otherwise. */
int kad_key_cmp_dist(const kad_key_t *target, const kad_key_t *a, const kad_key_t *b);

/** Iterate an address list: returns the next multiaddr and advances `*off`, or
 *  NULL at the end (or at a malformed tail). */
const uint8_t *kad_addrs_next(const uint8_t *list, size_t len, size_t *off, size_t *ma_len);
/** Append one multiaddr to an address list in `out` (capacity KAD_ADDRS_MAX,
 *  length `*len`). false if it does not fit. */
bool kad_addrs_add(uint8_t *out, size_t *len, const uint8_t *ma, size_t ma_len);

typedef struct routing_config_t {
    size_t k;                /* bucket size (20) */
    size_t replacement;      /* replacement cache per bucket (10) */
    size_t group_per_bucket; /* peers of one /24 or /48 per bucket (2) */
    size_t group_per_table;  /* ... in the whole table (10) */
    bool limit_private;      /* apply the group limits to loopback/private too */
    unsigned max_fails;      /* failures in a row before eviction (2) */
} routing_config_t;

void routing_config_default(routing_config_t *cfg);

/** One known peer. Read-only outside kad_routing.c. */
typedef struct routing_entry_t {
    peer_id_t id;
    kad_key_t key;
    uint64_t last_seen_ms; /* last answer */
    uint64_t ping_ms;      /* when we asked the caller to ping it; 0 if not pending */
    uint8_t fails;
    uint8_t group[8]; /* [0] = 0 (exempt), 4 or 6; then the /24 or /48 prefix */
    uint16_t addrs_len;
    uint8_t *addrs; /* address list, owned; NULL if empty */
} routing_entry_t;

typedef struct routing_t routing_t;

/** A table for `self`; `cfg` (NULL for defaults) is copied. Never returns NULL. */
routing_t *routing_new(const peer_id_t *self, const routing_config_t *cfg);
void routing_free_(routing_t *rt); /* NULL is a no-op */
#define routing_free(r) FREE_AND_NULL(routing_t, routing_free_, (r))

const kad_key_t *routing_self_key(const routing_t *rt);

enum {
    ROUTING_ADDED = 1,   /* now in the table */
    ROUTING_UPDATED = 2, /* was in the table; moved to most recently seen */
    ROUTING_CACHED = 3,  /* bucket full: kept as a replacement */
};

/** `id` answered a query at `now_ms`; `addrs` (address list, borrowed, may be NULL)
 *  replaces its stored addresses when non-empty. Returns ROUTING_*; LS_EINVAL for
 *  ourselves or an empty ID; LS_ELIMIT if its IP group is over a limit. When the
 *  result is ROUTING_CACHED and the bucket's least recently seen entry has no ping
 *  pending, that entry's ID is copied to `*ping_out` (if not NULL), it is marked
 *  pending and the function returns ROUTING_CACHED + 10: the caller must ping it and
 *  report the outcome with routing_seen() or routing_failed(). */
int routing_seen(routing_t *rt, uint64_t now_ms, const peer_id_t *id, const uint8_t *addrs,
                 size_t addrs_len, peer_id_t *ping_out);

/** A request to `id` failed or timed out. After max_fails in a row (or at once if a
 *  ping for eviction was pending) it is removed and replaced from the cache.
 *  Returns 1 if it was removed, 0 if not, LS_ENOENT if unknown. */
int routing_failed(routing_t *rt, const peer_id_t *id);

/** Remove `id` (entry or replacement). 0 or LS_ENOENT. */
int routing_remove(routing_t *rt, const peer_id_t *id);

/** The entry for `id`, borrowed until the table changes, or NULL. */
const routing_entry_t *routing_find(const routing_t *rt, const peer_id_t *id);

/** Fill `out` with up to `n` entries closest to `target`, nearest first (borrowed
 *  until the table changes). Returns the count. */
size_t routing_closest(const routing_t *rt, const kad_key_t *target, size_t n,
                       const routing_entry_t **out);

/** Entry `i` of bucket `cpl` (borrowed until the table changes), or NULL. */
const routing_entry_t *routing_bucket_entry(const routing_t *rt, unsigned cpl, size_t i);

/** Live entries in the table. */
size_t routing_size(const routing_t *rt);
/** Entries and replacements in bucket `cpl`. */
size_t routing_bucket_size(const routing_t *rt, unsigned cpl, size_t *replacements);

/** The first bucket (by cpl, up to one past the deepest non-empty one) not
 *  refreshed since `now_ms - interval_ms`, or -1. A bucket never refreshed is due
 *  at once, so a new node fills its table. */
int routing_refresh_due(const routing_t *rt, uint64_t now_ms, uint64_t interval_ms);
/** Record a lookup into bucket `cpl` at `now_ms` (any lookup counts). */
void routing_mark_refreshed(routing_t *rt, unsigned cpl, uint64_t now_ms);

#endif
