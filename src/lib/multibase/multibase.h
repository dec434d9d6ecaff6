/* multibase — the text encodings libp2p and CIDs use (multiformats/multibase).
 *
 * Three bases: base58btc (Bitcoin alphabet), base32 (RFC 4648 §6 alphabet, no
 * padding) and base16. The raw codecs work without a prefix; multibase_encode() and
 * multibase_decode() add and read the one-character multibase prefix.
 *
 * Decoding is strict so that decode-then-encode gives back the same text: invalid
 * characters, '=' padding, impossible base32/base16 lengths and non-zero unused
 * base32 bits are all LS_EINVAL. Every function *appends* to `out`; on error `out`
 * is left as it was. base58 is quadratic in the input length, so its codecs refuse
 * more than MULTIBASE_BASE58_MAX input bytes or characters with LS_ETOOBIG. */
#ifndef LS_LIB_MULTIBASE_H
#define LS_LIB_MULTIBASE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"

/** Longest base58 input (bytes to encode, or characters to decode). */
#define MULTIBASE_BASE58_MAX 4096

/** A supported base, named by its multibase prefix character. */
typedef enum multibase_t {
    MULTIBASE_BASE16 = 'f',       /* lowercase hex */
    MULTIBASE_BASE16_UPPER = 'F', /* uppercase hex */
    MULTIBASE_BASE32 = 'b',       /* lowercase RFC 4648, no padding */
    MULTIBASE_BASE32_UPPER = 'B', /* uppercase RFC 4648, no padding */
    MULTIBASE_BASE58BTC = 'z',    /* Bitcoin alphabet */
} multibase_t;

/** Append the base58btc text of `p[0..len)`. 0, or LS_ETOOBIG if len >
 *  MULTIBASE_BASE58_MAX or `out` would pass its maximum. */
int base58btc_encode(const uint8_t *p, size_t len, buf_t *out);
/** Append the bytes of base58btc text `s[0..len)`. 0, LS_EINVAL on a character
 *  outside the alphabet, LS_ETOOBIG if len > MULTIBASE_BASE58_MAX or `out` is full. */
int base58btc_decode(const char *s, size_t len, buf_t *out);

/** Append lowercase unpadded base32 of `p[0..len)`. 0 or LS_ETOOBIG (`out` full). */
int base32_encode(const uint8_t *p, size_t len, buf_t *out);
/** Append the bytes of unpadded base32 text; each character may be either case.
 *  0, LS_EINVAL (bad character, padding, impossible length, non-zero unused bits)
 *  or LS_ETOOBIG. */
int base32_decode(const char *s, size_t len, buf_t *out);

/** Append lowercase hex of `p[0..len)`. 0 or LS_ETOOBIG. */
int base16_encode(const uint8_t *p, size_t len, buf_t *out);
/** Append the bytes of hex text in either case. 0, LS_EINVAL (bad character or odd
 *  length) or LS_ETOOBIG. */
int base16_decode(const char *s, size_t len, buf_t *out);

/** Append the prefix character of `base` and the text of `p[0..len)` in that base.
 *  0, LS_ENOTSUP for a value outside multibase_t, or the codec's error. */
int multibase_encode(multibase_t base, const uint8_t *p, size_t len, buf_t *out);

/** Decode multibase text `s[0..len)` (prefix included), appending the bytes to `out`
 *  and storing the base in `*which` if it is not NULL. The case of the text must
 *  match the prefix ('b'/'f' lowercase, 'B'/'F' uppercase). 0; LS_EINVAL for an
 *  empty string or bad text; LS_ENOTSUP for a prefix Lester does not support;
 *  LS_ETOOBIG as the codecs. */
int multibase_decode(const char *s, size_t len, buf_t *out, multibase_t *which);

#endif
