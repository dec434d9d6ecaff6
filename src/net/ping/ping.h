/* ping — libp2p ping, `/ipfs/ping/1.0.0` (libp2p/specs ping/ping.md): the
 * initiator sends 32 random bytes, the responder echoes them, repeatedly on one
 * stream until the initiator closes it.
 *
 * Besides serving and one-off pings, this module keeps connections alive the way
 * js-libp2p's connection monitor does: every `interval_ms` it pings each connection
 * on a new stream, records the round trip, and closes a connection after
 * `max_failures` pings in a row fail or time out. */
#ifndef LS_NET_PING_H
#define LS_NET_PING_H

#include <stdint.h>

#include "lib/mem/mem.h"
#include "net/swarm/swarm.h"

#define PING_PROTOCOL_ID "/ipfs/ping/1.0.0"
#define PING_SIZE 32
/** The per-connection slot (swarm_conn_get_data) ping uses. */
#define PING_CONN_SLOT 1

typedef struct ping_config_t {
    uint64_t interval_ms; /* keepalive period; 0 disables keepalive */
    uint64_t timeout_ms;  /* one ping */
    uint32_t max_failures;
} ping_config_t;

/** Defaults: keepalive every 15 s, 10 s timeout, 3 failures close the connection. */
void ping_config_default(ping_config_t *cfg);

typedef struct ping_t ping_t;

/** Serve ping on `sw` (borrowed; free the swarm first) and run the keepalive.
 *  `cfg` may be NULL (defaults); it is copied. Never returns NULL. */
ping_t *ping_new(swarm_t *sw, const ping_config_t *cfg);
void ping_free_(ping_t *p);
#define ping_free(p) FREE_AND_NULL(ping_t, ping_free_, (p))

/** The round trip in microseconds, or an error (LS_ETIMEDOUT, LS_EPROTO for a wrong
 *  echo, dial and stream errors). */
typedef void (*ping_fn)(void *ctx, const peer_id_t *peer, int64_t rtt_us, int err);

/** Ping `peer` once (dialling it if needed). 0 and the callback follows (never
 *  before this returns), or an error and it is not called. */
int ping_peer(ping_t *p, const peer_id_t *peer, ping_fn cb, void *ctx);

/** The last round trip measured on `c` in microseconds, or -1 if none yet. */
int64_t ping_conn_rtt_us(const swarm_conn_t *c);

#endif
