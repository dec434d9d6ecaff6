/* pbwire — the few Protocol Buffers wire-format primitives that dag-pb and UnixFS
 * need (protobuf encoding spec: varints, keys, length-delimited fields).
 *
 * Decoding is strict: varints are at most 10 bytes, at most 64 bits, and minimal
 * (no trailing zero groups), so every decoded value has one encoding. Shared by
 * content/dagpb and content/unixfs; not a general protobuf library. */
#ifndef LS_CONTENT_DAGPB_PBWIRE_H
#define LS_CONTENT_DAGPB_PBWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"

#define PBWIRE_VARINT 0
#define PBWIRE_I64 1
#define PBWIRE_LEN 2
#define PBWIRE_I32 5

/** Longest protobuf varint (a full uint64). */
#define PBWIRE_VARINT_MAX 10

/** Read one varint at `*pos` in `p[0..len)`, advancing `*pos`. 0; LS_EAGAIN if
 *  the bytes end inside it; LS_EINVAL if longer than 10 bytes, above 2^64-1 or
 *  not minimal. */
int pbwire_read_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out);

/** Read a field key: `*field` > 0 and `*wire` its wire type. Errors as
 *  pbwire_read_varint(), and LS_EINVAL for field number 0 or above 2^29-1. */
int pbwire_read_key(const uint8_t *p, size_t len, size_t *pos, uint32_t *field, int *wire);

/** Read a length-delimited payload: `*out` points into `p`, `*out_len` bytes, and
 *  the whole payload lies inside `p[0..len)`. Errors as pbwire_read_varint(),
 *  LS_EINVAL if the length runs past the end. */
int pbwire_read_bytes(const uint8_t *p, size_t len, size_t *pos, const uint8_t **out,
                      size_t *out_len);

/** Skip the value of a field of wire type `wire` (unknown fields). LS_EINVAL for
 *  wire types 3, 4 (groups), 6, 7 or a value running past the end. */
int pbwire_skip(const uint8_t *p, size_t len, size_t *pos, int wire);

/** Bytes a varint of `v` takes (1..10). */
size_t pbwire_varint_len(uint64_t v);
/** Write a varint to `out` (at least PBWIRE_VARINT_MAX bytes); returns its length. */
size_t pbwire_put_varint(uint8_t *out, uint64_t v);

/** Append a varint, a key, or a key + length + bytes to `b`. 0 or LS_ETOOBIG. */
int pbwire_append_varint(buf_t *b, uint64_t v);
int pbwire_append_key(buf_t *b, uint32_t field, int wire);
int pbwire_append_bytes(buf_t *b, uint32_t field, const void *p, size_t len);

#endif
