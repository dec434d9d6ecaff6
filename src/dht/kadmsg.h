/* kadmsg — the Kademlia DHT wire message (libp2p/specs kad-dht/README.md, "RPC
 * messages"), a strict hand-written protobuf codec.
 *
 *   message Record  { bytes key = 1; bytes value = 2; string timeReceived = 5; }
 *   message Message {
 *     message Peer  { bytes id = 1; repeated bytes addrs = 2; ConnectionType connection = 3;
 *                     bytes lester_meta = 100;   // Lester extension, see below }
 *     MessageType type = 1; int32 clusterLevelRaw = 10; bytes key = 2; Record record = 3;
 *     repeated Peer closerPeers = 8; repeated Peer providerPeers = 9; }
 *
 * On a stream every message is preceded by its length as an unsigned varint
 * (kadmsg_frame_decode). Decoding is zero-copy: every byte field of a decoded
 * kadmsg_t points into the input, which must outlive it.
 *
 * Protobuf rules kept: fields in any order, the last occurrence of a scalar wins,
 * unknown fields of wire types 0, 1, 2 and 5 are skipped (so newer peers interoperate),
 * a missing field has its default. Refused (LS_EINVAL): groups (wire types 3/4),
 * truncation, lengths past the end, varints over 10 bytes, a MessageType outside 0..5,
 * a Record or Peer that is not itself well-formed. Limits (LS_ETOOBIG): the whole
 * message (KADMSG_MAX_SIZE). Past KADMSG_MAX_PEERS peers in a list, or
 * KADMSG_MAX_ADDRS addresses in a peer, the extra ones are dropped, not refused:
 * interop peers may send long address lists and the spare ones are never needed.
 *
 * Field 100 of Peer is Lester's extension: a signed provider metadata record (seed
 * 004; kad_validate.h). Peers that do not know it skip it as an unknown field. */
#ifndef LS_DHT_KADMSG_H
#define LS_DHT_KADMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"

/** Largest message accepted or produced, without its length prefix. */
#ifndef KADMSG_MAX_SIZE
#define KADMSG_MAX_SIZE (128 * 1024)
#endif
/** Peers kept per list (closer, providers); more are dropped. */
#ifndef KADMSG_MAX_PEERS
#define KADMSG_MAX_PEERS 64
#endif
/** Addresses kept per peer; more are dropped. */
#ifndef KADMSG_MAX_ADDRS
#define KADMSG_MAX_ADDRS 16
#endif
#define KADMSG_PEER_META_FIELD 100

typedef enum kadmsg_type_t {
    KADMSG_PUT_VALUE = 0,
    KADMSG_GET_VALUE = 1,
    KADMSG_ADD_PROVIDER = 2,
    KADMSG_GET_PROVIDERS = 3,
    KADMSG_FIND_NODE = 4,
    KADMSG_PING = 5,
} kadmsg_type_t;

typedef enum kadmsg_conn_t {
    KADMSG_NOT_CONNECTED = 0,
    KADMSG_CONNECTED = 1,
    KADMSG_CAN_CONNECT = 2,
    KADMSG_CANNOT_CONNECT = 3,
} kadmsg_conn_t;

/** Borrowed bytes; `p` is NULL when the field is absent. */
typedef struct kadmsg_bytes_t {
    const uint8_t *p;
    size_t len;
} kadmsg_bytes_t;

typedef struct kadmsg_peer_t {
    kadmsg_bytes_t id;                      /* binary peer ID (not checked here) */
    kadmsg_bytes_t addrs[KADMSG_MAX_ADDRS]; /* binary multiaddrs (not checked here) */
    size_t naddrs;
    int connection;      /* kadmsg_conn_t, or an unknown value */
    kadmsg_bytes_t meta; /* Lester provider metadata, may be absent */
} kadmsg_peer_t;

typedef struct kadmsg_record_t {
    kadmsg_bytes_t key;
    kadmsg_bytes_t value;
    kadmsg_bytes_t time_received; /* RFC 3339 text, not interpreted */
} kadmsg_record_t;

/** One message. About 40 KB: allocate it, do not put it on a small stack. */
typedef struct kadmsg_t {
    int type; /* kadmsg_type_t */
    int32_t cluster_level;
    kadmsg_bytes_t key;
    bool has_record;
    kadmsg_record_t record;
    size_t ncloser, nproviders;
    kadmsg_peer_t closer[KADMSG_MAX_PEERS];
    kadmsg_peer_t providers[KADMSG_MAX_PEERS];
} kadmsg_t;

/** Reset `m` to an empty message of type `type` (all fields absent). */
void kadmsg_init(kadmsg_t *m, kadmsg_type_t type);

/** Decode `p[0..len)` (all of it) into `*out`, which then borrows from `p`.
 *  0; LS_ETOOBIG if len > KADMSG_MAX_SIZE; LS_EINVAL if malformed (see above).
 *  On error `*out` holds no pointer worth reading. */
int kadmsg_decode(const uint8_t *p, size_t len, kadmsg_t *out);

/** Append the encoding of `m` to `out` (without a length prefix). Absent (NULL)
 *  byte fields and zero scalars are omitted, as proto3 does. 0, or LS_ETOOBIG if
 *  the result would pass KADMSG_MAX_SIZE or `out`'s maximum (`out` unchanged). */
int kadmsg_encode(const kadmsg_t *m, buf_t *out);

/** Find one length-prefixed frame at the start of `p[0..len)`: on success return
 *  the bytes consumed (prefix + body) and point `*body`/`*body_len` at the body.
 *  LS_EAGAIN if more bytes are needed; LS_EINVAL for a bad varint; LS_ETOOBIG if
 *  the announced length passes KADMSG_MAX_SIZE (checked before waiting for it). */
int kadmsg_frame_decode(const uint8_t *p, size_t len, const uint8_t **body, size_t *body_len);

/** Append varint(len) || msg to `out`. 0 or LS_ETOOBIG (`out` unchanged). */
int kadmsg_frame_append(buf_t *out, const uint8_t *msg, size_t len);

#endif
