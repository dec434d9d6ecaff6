/* cid — content identifiers (multiformats/cid).
 *
 * CIDv0 is a bare sha2-256 multihash, written in base58btc ("Qm..."), and implies
 * the dag-pb codec. CIDv1 is <varint 1><varint codec><multihash>, written in any
 * multibase; Lester writes base32 ('b'). cid_t is a plain value: copy it freely. */
#ifndef LS_LIB_CID_H
#define LS_LIB_CID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/multihash/multihash.h"

/* Content codecs (multicodec table) Lester names; any other code is carried as is. */
#define CID_CODEC_RAW 0x55
#define CID_CODEC_DAG_PB 0x70
#define CID_CODEC_DAG_CBOR 0x71
#define CID_CODEC_LIBP2P_KEY 0x72

/** Longest CID text cid_from_string() accepts (base16 of the largest CID is ~180). */
#define CID_MAX_STRING 256

typedef struct cid_t {
    int version;    /* 0 or 1 */
    uint64_t codec; /* CID_CODEC_DAG_PB for every v0 CID */
    multihash_t hash;
} cid_t;

/** Decode one binary CID from the start of `p[0..len)` into `*out`: a v0 CID is the
 *  34-byte multihash 0x12 0x20 <digest>, anything else must start with version 1.
 *  Returns bytes consumed (> 0); LS_EAGAIN if `p` ends early; LS_EINVAL if
 *  malformed (including an explicit version 0); LS_ENOTSUP for versions above 1;
 *  LS_ETOOBIG for digests over MULTIHASH_MAX_DIGEST. `*out` is written only on
 *  success. */
int cid_from_bytes(cid_t *out, const uint8_t *p, size_t len);

/** Append the binary form of `cid` to `out`. 0; LS_EINVAL if `cid` is not
 *  representable (v0 that is not dag-pb + 32-byte sha2-256, or a version other
 *  than 0 or 1); LS_ERANGE / LS_ETOOBIG as varint_append(). */
int cid_to_bytes(const cid_t *cid, buf_t *out);

/** Parse CID text `s` (NUL-terminated): a 46-character "Qm..." is CIDv0, anything
 *  else is a multibase CIDv1 (base58btc, base32, base16). The whole text must be
 *  one CID. 0; LS_ETOOBIG if longer than CID_MAX_STRING or the digest is longer
 *  than MULTIHASH_MAX_DIGEST; LS_ENOTSUP for an unsupported multibase or CID
 *  version; LS_EINVAL otherwise. */
int cid_from_string(cid_t *out, const char *s);

/** Append the text form of `cid` to `out`: base58btc for v0, 'b' base32 for v1.
 *  0 or the errors of cid_to_bytes(). */
int cid_to_string(const cid_t *cid, buf_t *out);

/** True if both CIDs have the same version, codec and multihash. A v0 CID and the
 *  v1 CID of the same content are not equal; convert by setting version = 1. */
bool cid_equal(const cid_t *a, const cid_t *b);

/** Set `*out` to the CIDv1 with `codec` and the sha2-256 of `data[0..len)`. */
void cid_v1_sha256(cid_t *out, uint64_t codec, const void *data, size_t len);

#endif
