/* peerex — Lester's peer exchange, `/lester/peers/1.0.0` (seed 001, "Peer
 * Management": "Request peers from connected nodes"; issue 3).
 *
 * The requester opens a stream and half-closes it; the responder writes one message,
 * a varint length and a `Peers` protobuf (peerex.proto), and half-closes. The message
 * lists up to PEEREX_MAX_PEERS peers from the responder's peer store, connected ones
 * first and then the most recently seen, with up to PEEREX_MAX_ADDRS addresses each;
 * never the requester itself. The requester checks every field (counts, sizes, peer
 * IDs, addresses) and adds what it learns to its own peer store, where the connection
 * manager finds peers to dial while it is below its minimum.
 *
 * Records are not signed: a peer can lie about addresses, but every dial proves the
 * peer ID (Noise), and the peer store's eviction rule keeps a flood of invented peers
 * from displacing the ones we talked to. The DHT issue will add a second source. */
#ifndef LS_NET_PEEREX_H
#define LS_NET_PEEREX_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/mem/mem.h"
#include "lib/multiaddr/multiaddr.h"
#include "lib/peerid/peerid.h"
#include "net/peerstore/peerstore.h"
#include "net/swarm/swarm.h"

#define PEEREX_PROTOCOL_ID "/lester/peers/1.0.0"
/** Most peers in one response, addresses per peer, bytes of one address and of the
 *  whole message (the varint prefix excluded). */
#define PEEREX_MAX_PEERS 32
#define PEEREX_MAX_ADDRS 8
#define PEEREX_MAX_ADDR_LEN 256
#define PEEREX_MAX_MESSAGE (32u * 1024)

/** One peer of a response. */
typedef struct peerex_entry_t {
    peer_id_t id;
    multiaddr_t *addrs[PEEREX_MAX_ADDRS]; /* owned, without /p2p */
    size_t n_addrs;
} peerex_entry_t;

/* ---- codec (peerex_codec.c) ---- */

/** Append the protobuf of `e[0..n)` (borrowed) to `out`, without length prefix.
 *  Entries past PEEREX_MAX_PEERS and addresses past PEEREX_MAX_ADDRS are left out.
 *  0, or LS_ETOOBIG if the message would exceed PEEREX_MAX_MESSAGE or `out`'s
 *  maximum. */
int peerex_encode(const peerex_entry_t *e, size_t n, buf_t *out);

/** Decode `p[0..len)` into a new array `*out` of `*n` entries (free with
 *  peerex_entries_free()). Addresses this build cannot parse, or that carry /p2p,
 *  are skipped. 0; LS_ETOOBIG past PEEREX_MAX_MESSAGE or a count limit; LS_EINVAL
 *  if the protobuf is malformed or a peer ID is invalid. Nothing is allocated on
 *  error. */
int peerex_decode(const uint8_t *p, size_t len, peerex_entry_t **out, size_t *n);

/** Free `n` entries and the array. NULL is a no-op. */
void peerex_entries_free(peerex_entry_t *e, size_t n);

/* ---- service (peerex.c) ---- */

typedef struct peerex_t peerex_t;

/** Serve the protocol on `sw` from `ps` (both borrowed; free the swarm first, then
 *  this, then the store). Never returns NULL. */
peerex_t *peerex_new(swarm_t *sw, peerstore_t *ps);

/** NULL is a no-op. Requests still running end quietly with the swarm. */
void peerex_free_(peerex_t *px);
#define peerex_free(p) FREE_AND_NULL(peerex_t, peerex_free_, (p))

/** Ask `peer` (connected or not: the swarm dials it) for the peers it knows; the
 *  answer goes to the peer store. 0 if the request started, or the swarm's error. */
int peerex_request(peerex_t *px, const peer_id_t *peer);

typedef struct peerex_stats_t {
    uint64_t served;   /* responses sent */
    uint64_t requests; /* requests we sent */
    uint64_t answers;  /* valid responses received */
    uint64_t failed;   /* requests that failed: stream errors, malformed answers */
    uint64_t learned;  /* peers that were new to the peer store */
} peerex_stats_t;

void peerex_stats(const peerex_t *px, peerex_stats_t *out);

#endif
