/* noise_payload — the libp2p NoiseHandshakePayload protobuf (libp2p/specs noise/README.md,
 * "The libp2p Handshake Payload"), hand-coded so decoding allocates nothing:
 *
 *   message NoiseExtensions {
 *     repeated bytes  webtransport_certhashes = 1;
 *     repeated string stream_muxers           = 2;
 *   }
 *   message NoiseHandshakePayload {
 *     optional bytes identity_key            = 1;   // a PublicKey protobuf
 *     optional bytes identity_sig            = 2;
 *     optional NoiseExtensions extensions    = 4;   // field 3 ("data") is retired
 *   }
 *
 * Decoding follows protobuf rules strictly but tolerantly: unknown fields of any
 * valid wire type are skipped (so newer peers may add fields), a repeated singular
 * field keeps its last value, repeated extension messages merge; malformed varints,
 * lengths past the end, groups, field number 0 and known fields with the wrong wire
 * type are refused. Internal to net/noise; exported for the fuzzer and the tests. */
#ifndef LS_NET_NOISE_NOISE_PAYLOAD_H
#define LS_NET_NOISE_NOISE_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"

/** Stream muxer names kept from a peer's extensions; more are counted, not kept. */
#define NOISE_PAYLOAD_MAX_MUXERS 8
/** Longest muxer name kept (multistream protocol IDs are short). */
#define NOISE_PAYLOAD_MAX_MUXER_LEN 256

typedef struct noise_bytes_t {
    const uint8_t *p; /* borrowed from the decoded input; NULL when absent */
    size_t len;
} noise_bytes_t;

/** A decoded payload. Every pointer borrows from the input buffer. */
typedef struct noise_payload_t {
    noise_bytes_t identity_key;
    noise_bytes_t identity_sig;
    bool has_identity_key;
    bool has_identity_sig;
    bool has_extensions;
    size_t n_muxers; /* entries of `muxers` in use */
    noise_bytes_t muxers[NOISE_PAYLOAD_MAX_MUXERS];
    size_t n_muxers_seen; /* all stream_muxers entries, kept or not */
    size_t n_certhashes;  /* webtransport_certhashes entries (ignored over TCP) */
} noise_payload_t;

/** Decode `p[0..len)` into `*out` (always fully written). Returns 0 or LS_EPROTO.
 *  Muxer names that are empty, too long or contain a NUL are counted but not kept.
 *  Presence of the identity fields is reported, not required: the caller decides. */
int noise_payload_decode(noise_payload_t *out, const uint8_t *p, size_t len);

/** Append the encoding of a payload to `out`: `key` (a PublicKey protobuf) and `sig`,
 *  then, if n_muxers > 0, extensions with those stream muxer names (NUL-terminated).
 *  Returns 0, or LS_ETOOBIG if `out` would pass its maximum (then `out` is
 *  unchanged). */
int noise_payload_encode(buf_t *out, const uint8_t *key, size_t keylen, const uint8_t *sig,
                         size_t siglen, const char *const *muxers, size_t n_muxers);

#endif
