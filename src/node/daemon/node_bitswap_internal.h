/* node_bitswap_internal — what node_bitswap.c (streams, engine) and node_fetch.c
 * (DAG downloads) share. Not for other files. */
#ifndef LS_NODE_NODE_BITSWAP_INTERNAL_H
#define LS_NODE_NODE_BITSWAP_INTERNAL_H

#include "content/bitswap/bitswap.h"
#include "net/swarm/swarm.h"
#include "node/daemon/node_content.h"

/* One peer the engine knows: its outbound stream and what waits to be written. */
typedef struct bpeer_t {
    struct bpeer_t *next;
    peer_id_t id;
    int version;
    swarm_stream_t *out;     /* reused for every message; NULL when none */
    struct bstream_t *out_ud;
    bool opening;
    buf_t q;                 /* framed messages the stream has not taken yet */
} bpeer_t;

struct node_bitswap_t {
    node_content_t *c;
    swarm_t *sw;
    bitswap_t *engine;
    bpeer_t *peers;
    struct bstream_t *streams;
    node_fetch_t *fetches;
    struct event *ev_tick;
    uint64_t next_scan;
    uint64_t msgs_in, msgs_bad, send_dropped;
};

/** Every known Bitswap peer joins the fetch's session (node_bitswap.c). */
void node_bitswap_join_all(node_bitswap_t *g, bitswap_session_t *s);
/** Run the engine soon (after new wants). */
void node_bitswap_kick(node_bitswap_t *g);

/** A verified wanted block arrived: the downloads that wait for it go on
 *  (node_fetch.c). */
void node_fetch_on_block(node_bitswap_t *g, const cid_t *cid, const uint8_t *data, size_t len);
/** Add every known peer to every download's session (node_fetch.c). */
void node_fetch_join_peers(node_bitswap_t *g);
/** Free every download without calling back (at stop). */
void node_fetch_free_all(node_bitswap_t *g);

#endif
