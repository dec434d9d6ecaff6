/* diag — Lester's test protocols, used by the interop tests and benchmarks (the js
 * peer in tests/interop/js/peer.mjs serves and uses the same two):
 *   /lester/echo/1.0.0  echo every byte until the remote half-closes, then close;
 *   /lester/bulk/1.0.0  read and discard until the remote half-closes, then close.
 * Both servers push back through flow control: the echo consumes only what it has
 * written back. The clients drive many echo streams at once, or one bulk stream. */
#ifndef LS_NET_DIAG_H
#define LS_NET_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include "net/swarm/swarm.h"

#define DIAG_ECHO_PROTOCOL_ID "/lester/echo/1.0.0"
#define DIAG_BULK_PROTOCOL_ID "/lester/bulk/1.0.0"
/** Largest run a client accepts: streams and bytes per stream. */
#define DIAG_MAX_STREAMS 1024
#define DIAG_MAX_ECHO_BYTES ((size_t)256 << 20)

/** Serve both protocols on `sw`, at most `max_streams` of each per connection. */
void diag_serve(swarm_t *sw, uint32_t max_streams);

typedef struct diag_result_t {
    int err;                  /* 0 if every stream matched (echo) / finished (bulk) */
    uint32_t ok_streams, failed_streams, mismatched;
    uint64_t sent, received;  /* payload bytes */
    uint64_t us;              /* from the first open to the last close */
} diag_result_t;

/** `res` is borrowed for the call. */
typedef void (*diag_fn)(void *ctx, const diag_result_t *res);

/** Open `streams` streams to `peer` at once, write `bytes` random bytes on each,
 *  half-close, and read everything back, comparing. 0 and the callback follows, or
 *  LS_EINVAL / LS_ETOOBIG for bad sizes (no callback). */
int diag_echo(swarm_t *sw, const peer_id_t *peer, uint32_t streams, size_t bytes,
              diag_fn cb, void *ctx);

/** Write `bytes` on one bulk stream as fast as flow control allows, half-close,
 *  and wait for the remote to close. 0 and the callback follows, or an error. */
int diag_bulk(swarm_t *sw, const peer_id_t *peer, uint64_t bytes, diag_fn cb, void *ctx);

#endif
