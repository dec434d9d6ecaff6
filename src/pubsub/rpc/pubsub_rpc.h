/* pubsub_rpc — the pubsub RPC codec with limits (libp2p/specs pubsub/README.md "The
 * RPC"; gossipsub-v1.0.md / v1.1.md control messages; v1.2 IDONTWANT).
 *
 * The wire structures are protoc-c's, generated from rpc.proto (PubsubPb__RPC,
 * PubsubPb__Message, PubsubPb__ControlMessage, ...): callers read and build them
 * directly. Topic names are bytes with a length (see rpc.proto).
 *
 * On a stream each RPC is an unsigned-varint length prefix and the protobuf; the
 * stream glue reads the prefix, checks it against limits.max_rpc_len before reading
 * the body, and passes the body here.
 *
 * Decoding is bounded twice: the input is at most max_rpc_len bytes (checked before
 * protobuf-c allocates anything; its allocations are then at most about 32 bytes per
 * input byte), and the decoded RPC is refused unless every count and length is within
 * the limits. Unknown fields are kept (and re-encoded) as protobuf requires. */
#ifndef LS_PUBSUB_RPC_H
#define LS_PUBSUB_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/mem/mem.h"
#include "pubsub/rpc/rpc.pb-c.h"

typedef struct pubsub_rpc_limits_t {
    size_t max_rpc_len;       /* encoded RPC (1 MiB, go-libp2p's default) */
    size_t max_subscriptions; /* SubOpts per RPC (1,024) */
    size_t max_messages;      /* published messages per RPC (1,024) */
    size_t max_data_len;      /* data of one message (1 MiB - 4 KiB: fits one RPC) */
    size_t max_topic_len;     /* bytes of a topic name, at least 1 (256) */
    size_t max_control;       /* IHAVE + IWANT + GRAFT + PRUNE + IDONTWANT entries (1,024) */
    size_t max_ids;           /* message IDs in all control entries together (5,000:
                                 go's MaxIHaveLength) */
    size_t max_id_len;        /* bytes of a message ID (256) */
    size_t max_px;            /* PeerInfo per PRUNE (16) */
    size_t max_px_record;     /* bytes of a signed peer record in PX (4,096) */
} pubsub_rpc_limits_t;

/** The defaults above. */
void pubsub_rpc_limits_default(pubsub_rpc_limits_t *lim);

/** Decode the RPC in `len` borrowed bytes (no length prefix). On success `*out` is a
 *  new RPC the caller frees with pubsub_rpc_free() and 0 is returned; on error `*out`
 *  is NULL and:
 *    LS_ETOOBIG  len > max_rpc_len, or a count or length above its limit
 *    LS_EINVAL   not a valid protobuf of the RPC, a topic that is empty or holds a
 *                NUL, a message without a topic, a SubOpts without a topic
 *  Either is the peer's fault: the caller reports TRUST_PROTOCOL_VIOLATION.
 *  A NULL `lim` means the defaults. */
int pubsub_rpc_decode(const uint8_t *p, size_t len, const pubsub_rpc_limits_t *lim,
                      PubsubPb__RPC **out);

/** How many messages the encoded RPC `p[0..len)` publishes (its top-level field-2
 *  entries), found by walking the protobuf fields without decoding them: the stream
 *  glue charges the per-peer rate limiter per message, not per RPC, before paying
 *  for a decode (an RPC may carry up to max_messages). Returns the count (>= 0), or
 *  LS_EINVAL if the bytes are not a well-formed sequence of fields (which the decoder
 *  refuses as well). Whenever pubsub_rpc_decode() accepts `p`, the count equals the
 *  decoded n_publish. */
int pubsub_rpc_count_messages(const uint8_t *p, size_t len);

/** Free a decoded RPC. NULL is a no-op. Only for RPCs from pubsub_rpc_decode(). */
void pubsub_rpc_free_(PubsubPb__RPC *rpc);
#define pubsub_rpc_free(r) FREE_AND_NULL(PubsubPb__RPC, pubsub_rpc_free_, (r))

/** Append the encoding of `rpc` (decoded or built by the caller), with a varint length
 *  prefix if `framed`. 0, or LS_ETOOBIG if `out` would pass its maximum (`out`
 *  unchanged). */
int pubsub_rpc_encode(const PubsubPb__RPC *rpc, bool framed, buf_t *out);

/** True if `topic[0..len)` is a topic name the decoder accepts under `lim` (NULL:
 *  defaults): 1..max_topic_len bytes without NUL. */
bool pubsub_topic_is_valid(const uint8_t *topic, size_t len, const pubsub_rpc_limits_t *lim);

#endif
