/* varint — the multiformats unsigned varint (multiformats/unsigned-varint).
 *
 * Seven bits per byte, least significant group first, the high bit set on every byte
 * but the last. Lester accepts at most 9 bytes (63 bits), the limit the multiformats
 * implementations use, and only the minimal encoding: a trailing 0x00 group
 * (e.g. 0x80 0x00 for zero) is refused, so every value has exactly one encoding and
 * bytes that round-trip are byte-identical. libp2p's length prefixes and protobuf
 * varints for small values use the same format. */
#ifndef LS_LIB_VARINT_H
#define LS_LIB_VARINT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"

/** Longest encoding accepted or produced. */
#define VARINT_MAX_LEN 9
/** Largest encodable value, 2^63 - 1. */
#define VARINT_MAX_VALUE ((uint64_t)INT64_MAX)

/** Write `v` to `out` and return the number of bytes written (1..9), or 0 without
 *  writing anything if `v` > VARINT_MAX_VALUE. */
size_t varint_encode(uint64_t v, uint8_t out[static VARINT_MAX_LEN]);

/** Decode one varint from the start of `p[0..len)` into `*v`. Returns the number of
 *  bytes consumed (> 0); LS_EAGAIN if `p` ends inside the varint (including len 0);
 *  LS_EINVAL if it is longer than VARINT_MAX_LEN or not minimally encoded.
 *  `*v` is written only on success. */
int varint_decode(const uint8_t *p, size_t len, uint64_t *v);

/** Bytes varint_encode() would write for `v`; 0 if `v` > VARINT_MAX_VALUE. */
size_t varint_len(uint64_t v);

/** Append the encoding of `v` to `b`. Returns 0, LS_ERANGE if `v` > VARINT_MAX_VALUE,
 *  or LS_ETOOBIG if `b` would exceed its maximum (then `b` is unchanged). */
int varint_append(buf_t *b, uint64_t v);

#endif
