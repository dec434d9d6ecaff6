/* trust_msg — the messages of `/lester/trust/1.0.0` (seed 001, "Trust Management":
 * TRUST_UPDATE, TRUSTED_PEERS_REQUEST, TRUSTED_PEERS_RESPONSE) as canonical signed
 * records (lib/record: MessagePack, Ed25519 over the encoding without "sig").
 *
 * Seed 001 says every message carries a signature, a timestamp and a TTL. Keys:
 *   all        "type" str, "ts" uint (unix ms when signed), "ttl" uint (ms the message
 *              stays valid, 1..TRUST_MSG_MAX_TTL_MS), "pk" bin 32, "sig" bin 64
 *   "trust_update"            "peer" bin (binary peer ID), "trust" uint (ppm)
 *   "trusted_peers_request"   "id" uint (echoed), "limit" uint 1..TRUST_MSG_MAX_PEERS,
 *                             "min" uint (ppm: least trust wanted)
 *   "trusted_peers_response"  "id" uint, "peers" array (at most TRUST_MSG_MAX_PEERS,
 *                             no peer twice) of {"peer" bin, "trust" uint (ppm)}
 * Trust travels as an integer in millionths (0..1,000,000), since canonical records
 * have no floats. No other key is accepted, so one message has one encoding.
 *
 * On the wire each message is one frame: an unsigned varint length (at most
 * TRUST_MSG_MAX_LEN) and the record; framing is the stream glue's job. A peer sends a
 * TRUST_UPDATE or a request; a request is answered by one response on the same stream.
 * The receiver checks that the signer is the stream's remote peer. */
#ifndef LS_PUBSUB_TRUST_MSG_H
#define LS_PUBSUB_TRUST_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/crypto/ed25519.h"
#include "lib/peerid/peerid.h"

#define TRUST_PROTOCOL_ID "/lester/trust/1.0.0"
/** Largest encoded message accepted. */
#define TRUST_MSG_MAX_LEN 8192
/** Most peers in a request's limit and a response. */
#define TRUST_MSG_MAX_PEERS 64
/** Longest TTL accepted, and how far in the future a timestamp may be. */
#define TRUST_MSG_MAX_TTL_MS (3600u * 1000u)
#define TRUST_MSG_MAX_SKEW_MS (300u * 1000u)
#define TRUST_PPM 1000000u

typedef enum trust_msg_type_t {
    TRUST_MSG_UPDATE = 1,
    TRUST_MSG_PEERS_REQUEST,
    TRUST_MSG_PEERS_RESPONSE,
} trust_msg_type_t;

typedef struct trust_msg_peer_t {
    peer_id_t peer;
    uint32_t trust_ppm; /* 0..TRUST_PPM */
} trust_msg_peer_t;

/** A message. Fields not used by `type` are ignored by the encoder and zero after
 *  decoding. A plain value (about 3.5 KB). */
typedef struct trust_msg_t {
    trust_msg_type_t type;
    uint64_t ts_ms, ttl_ms;
    peer_id_t signer;        /* set by the decoder from "pk"; ignored by the encoder */
    uint64_t request_id;     /* request, response */
    uint32_t limit;          /* request */
    uint32_t min_ppm;        /* request */
    trust_msg_peer_t update; /* update */
    size_t n_peers;          /* response */
    trust_msg_peer_t peers[TRUST_MSG_MAX_PEERS];
} trust_msg_t;

/** Trust in [0, 1] as ppm (rounded to nearest); out-of-range values are clamped and
 *  NaN is 0. */
uint32_t trust_msg_to_ppm(double trust);
static inline double
trust_msg_from_ppm(uint32_t ppm)
{
    return (double)ppm / TRUST_PPM;
}

/** Append the signed canonical record of `m` (signed by `kp`) to `out`. 0; LS_EINVAL
 *  if `m` is not valid as the decoder defines it (type, ttl, limit, ppm, peer count,
 *  duplicate or empty peer IDs); LS_ETOOBIG if `out` is full or the encoding passes
 *  TRUST_MSG_MAX_LEN (`out` unchanged on error). */
int trust_msg_encode(const trust_msg_t *m, const ed25519_keypair_t *kp, buf_t *out);

/** Decode and check `len` borrowed bytes at `now_ms` (unix ms). On success fills `*m`
 *  (m->signer from the signing key) and returns 0; otherwise `*m` is zeroed and:
 *    LS_ETOOBIG    longer than TRUST_MSG_MAX_LEN
 *    LS_EINVAL     not a record, a missing, unknown or ill-typed key, a value out of
 *                  range, an unknown type, a bad peer ID, a duplicate peer
 *    LS_ENONCANON  not the canonical encoding
 *    LS_EBADSIG    the signature does not verify
 *    LS_EEXPIRED   ts + ttl < now_ms, or ts more than TRUST_MSG_MAX_SKEW_MS ahead
 *  A caller then closes the stream and reports TRUST_INVALID_MESSAGE (LS_EEXPIRED:
 *  drop only). */
int trust_msg_decode(const uint8_t *p, size_t len, uint64_t now_ms, trust_msg_t *m);

/** The "type" string of `type`, or NULL if unknown. */
const char *trust_msg_type_name(trust_msg_type_t type);

#endif
