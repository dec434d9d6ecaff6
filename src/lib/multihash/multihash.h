/* multihash — self-describing digests (multiformats/multihash).
 *
 * Binary form: <varint hash code><varint digest length><digest>. Lester computes
 * sha2-256 and identity; other codes decode and re-encode unchanged so that CIDs and
 * addresses that carry them survive a round trip, but cannot be verified. */
#ifndef LS_LIB_MULTIHASH_H
#define LS_LIB_MULTIHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"

#define MULTIHASH_IDENTITY 0x00
#define MULTIHASH_SHA2_256 0x12

/** Longest digest carried; longer ones are refused (LS_ETOOBIG). 64 fits sha2-512
 *  and blake2b-512, and every identity multihash a peer ID may hold (≤ 42). */
#define MULTIHASH_MAX_DIGEST 64
/** Longest binary encoding: two varints of at most 9 bytes plus the digest. */
#define MULTIHASH_MAX_LEN (9 + 9 + MULTIHASH_MAX_DIGEST)

/** A decoded multihash; a plain value, copy it freely. `len` <= MULTIHASH_MAX_DIGEST
 *  and bytes of `digest` past `len` are zero when built by this module. */
typedef struct multihash_t {
    uint64_t code;
    size_t len;
    uint8_t digest[MULTIHASH_MAX_DIGEST];
} multihash_t;

/** Append the binary form of `mh` to `out`. 0; LS_EINVAL if mh->len >
 *  MULTIHASH_MAX_DIGEST; LS_ERANGE if the code is not encodable; LS_ETOOBIG if
 *  `out` would pass its maximum (then `out` is unchanged). */
int multihash_encode(const multihash_t *mh, buf_t *out);

/** Bytes multihash_encode() appends for `mh` (0 if it would fail). */
size_t multihash_encoded_len(const multihash_t *mh);

/** Decode one multihash from the start of `p[0..len)`. Returns the bytes consumed
 *  (> 0); LS_EAGAIN if `p` ends early; LS_EINVAL for a bad varint or a sha2-256
 *  digest whose length is not 32; LS_ETOOBIG for a digest longer than
 *  MULTIHASH_MAX_DIGEST. Unknown codes are accepted. `*out` is written only on
 *  success. */
int multihash_decode(const uint8_t *p, size_t len, multihash_t *out);

/** Set `*out` to the sha2-256 multihash of `data[0..len)`. */
void multihash_sha256(const void *data, size_t len, multihash_t *out);

/** Set `*out` to the identity multihash of `data[0..len)`. 0, or LS_ETOOBIG if len
 *  > MULTIHASH_MAX_DIGEST (then `*out` is untouched). */
int multihash_identity(const void *data, size_t len, multihash_t *out);

/** True if `a` and `b` have the same code and digest. */
bool multihash_equal(const multihash_t *a, const multihash_t *b);

/** True if `mh` is the digest of `data[0..len)`: sha2-256 (32-byte digest only) is
 *  recomputed, identity compares the bytes; any other code is false. */
bool multihash_verify(const multihash_t *mh, const void *data, size_t len);

#endif
