/* mss — multistream-select 1.0 protocol negotiation, without I/O.
 *
 * Implements `/multistream/1.0.0` as described in libp2p/specs connections/README.md
 * ("Protocol Negotiation") and multiformats/multistream-select. Every message is a
 * multiformats varint length, then that many bytes: UTF-8 text ending in '\n' (the
 * newline is counted in the length). Both sides send the header `/multistream/1.0.0`
 * first; the initiator then proposes protocol ids one at a time, and the responder
 * echoes a supported id or answers `na`. After the echo, the channel belongs to the
 * agreed protocol.
 *
 * The caller owns the channel: it feeds received bytes to mss_input() and sends what
 * mss_output() produces, until mss_is_done(). Bytes that follow the final message
 * (application data pipelined by the peer) are never consumed, so the caller hands
 * them to the agreed protocol.
 *
 * The initiator pipelines its header with its first proposal in one write, as the
 * go and js implementations do; the responder accepts them in one read, and also
 * tolerates any split. The responder answers `ls` with its list of protocols when it
 * has one (mss_new_responder_list), else with `na`. */
#ifndef LS_NET_MSS_H
#define LS_NET_MSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/mem/mem.h"

/** The multistream-select protocol id (the header both sides send first). */
#define MSS_PROTOCOL_ID "/multistream/1.0.0"
/** Largest message accepted or sent, length prefix excluded and newline included.
 *  js-libp2p uses the same bound; a longer incoming message fails with LS_ETOOBIG. */
#define MSS_MAX_MESSAGE 1024
/** Longest protocol id (the message minus its newline). */
#define MSS_MAX_PROTOCOL (MSS_MAX_MESSAGE - 1)

typedef struct mss_t mss_t;

/** Decides whether the responder supports `proto` (a NUL-terminated, valid UTF-8
 *  string without NUL bytes, borrowed for the call). */
typedef bool (*mss_supported_fn)(void *ctx, const char *proto);

/** Start negotiating as the initiator, proposing `protocols[0..n)` in order of
 *  preference. The strings are copied. Each must be 1..MSS_MAX_PROTOCOL bytes
 *  without '\n' and n >= 1 (programming errors: asserted). Never returns NULL.
 *  The first mss_output() yields the header and the first proposal together. */
mss_t *mss_new_initiator(const char *const *protocols, size_t n);

/** Start negotiating as the responder; `supported(ctx, id)` is asked about every
 *  proposal (`ctx` is passed back, never freed). `ls` is answered with `na`.
 *  The first mss_output() yields the header right away. Never returns NULL. */
mss_t *mss_new_responder(mss_supported_fn supported, void *ctx);

/** Like mss_new_responder(), supporting exactly `protocols[0..n)` (copied; n may be
 *  0, with the same rules on each string as mss_new_initiator()); `ls` is answered
 *  with that list in the go/js format: one message holding, for each protocol, its
 *  own length-prefixed line. */
mss_t *mss_new_responder_list(const char *const *protocols, size_t n);

/** Free `m` and everything it holds; NULL is a no-op. */
void mss_free_(mss_t *m);
#define mss_free(m) FREE_AND_NULL(mss_t, mss_free_, (m))

/** Feed `len` received bytes (borrowed). Sets `*consumed` to the number of bytes
 *  that belong to the negotiation (a partial message is consumed and kept inside);
 *  bytes from `p + *consumed` on are application data the caller keeps. Returns 0
 *  (more input, or output, may be needed: check mss_output() and mss_is_done()), or
 *  an error after which the caller closes the channel: LS_EPROTO (malformed message,
 *  wrong header, unexpected answer), LS_ETOOBIG (message over MSS_MAX_MESSAGE),
 *  LS_ENOTSUP (initiator: every proposal was refused). Errors are sticky; after one,
 *  or once done, nothing is consumed. */
int mss_input(mss_t *m, const uint8_t *p, size_t len, size_t *consumed);

/** Append the bytes to send to `out`. Returns the number appended (0 when there is
 *  nothing to send), or LS_ETOOBIG if `out` lacks room, in which case nothing was
 *  appended and the bytes stay pending. */
int mss_output(mss_t *m, buf_t *out);

/** True once a protocol is agreed: for the responder when it has queued its echo,
 *  for the initiator when the echo arrived. Pending output must still be sent. */
bool mss_is_done(const mss_t *m);

/** The agreed protocol id (owned by `m`), or NULL before mss_is_done(). */
const char *mss_protocol(const mss_t *m);

#endif
