/* car — Content Addressable aRchives, version 1 (ipld/specs transport/car/carv1).
 *
 *   <varint header length> <dag-cbor {"roots": [CID, ...], "version": 1}>
 *   then sections: <varint section length> <binary CID> <block bytes>
 *
 * Only the dag-cbor needed for this header is implemented, strictly: a definite map
 * of exactly the keys "roots" and "version" in canonical (length-first) order,
 * minimal-length heads, CIDs as tag 42 over a byte string holding 0x00 + the binary
 * CID, and version 1. A CARv2 pragma ({"version": 2}) is LS_ENOTSUP.
 *
 * The reader is sans-I/O: feed it bytes as they arrive and it calls back once per
 * verified block. It bounds everything before buffering: the header at
 * CAR_MAX_HEADER bytes, a section at the block limit plus the longest CID, and it
 * checks every block against its CID (sha2-256 or identity; other hash functions
 * are LS_ENOTSUP) before handing it out. */
#ifndef LS_CONTENT_CAR_H
#define LS_CONTENT_CAR_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/cid/cid.h"
#include "lib/mem/mem.h"

/** Largest header accepted (about 1,500 CIDv1 roots). */
#define CAR_MAX_HEADER (64 * 1024)
/** Most roots written or read. */
#define CAR_MAX_ROOTS 1024
/** Longest binary CID: version and codec varints plus a multihash. */
#define CAR_MAX_CID (2 * 9 + MULTIHASH_MAX_LEN)

/** Append a CARv1 header naming `roots[0..n)` to `out`. 0; LS_EINVAL if n >
 *  CAR_MAX_ROOTS or a CID is not representable; LS_ETOOBIG past `out`'s maximum
 *  (then `out` is unchanged). */
int car_write_header(buf_t *out, const cid_t *roots, size_t n);

/** Append one section (`cid`, then `block[0..len)`) to `out`. The block is not
 *  hashed here: the caller vouches that it matches `cid`. 0, LS_EINVAL or
 *  LS_ETOOBIG as car_write_header(). */
int car_write_block(buf_t *out, const cid_t *cid, const uint8_t *block, size_t len);

typedef struct car_reader_t car_reader_t;

/** Receives one verified block, borrowed for the call. Return 0 to go on or a
 *  negative code that stops the reader and is returned by car_reader_feed(). */
typedef int (*car_block_fn)(void *ctx, const cid_t *cid, const uint8_t *block, size_t len);

/** A reader refusing blocks larger than `max_block` (0: DAGPB_MAX_BLOCK, 2 MiB).
 *  Never NULL. */
car_reader_t *car_reader_new(size_t max_block);
void car_reader_free_(car_reader_t *r); /* NULL is a no-op */
#define car_reader_free(r) FREE_AND_NULL(car_reader_t, car_reader_free_, (r))

/** Feed the next `len` bytes (borrowed); calls `fn` for each complete verified
 *  block. 0 (all bytes taken, possibly buffering a partial section); LS_EPROTO for
 *  a malformed header or section; LS_ETOOBIG for a header or section over its
 *  limit; LS_ECORRUPT for a block that does not match its CID; LS_ENOTSUP for a
 *  CARv2 or an unverifiable hash; or fn's error. After an error every call
 *  returns it again. */
int car_reader_feed(car_reader_t *r, const uint8_t *p, size_t len, car_block_fn fn, void *ctx);

/** End of input: 0 if the header was read and no section is cut short,
 *  LS_EPROTO otherwise (or the earlier error). */
int car_reader_finish(const car_reader_t *r);

/** The header's roots (valid until the reader is freed); 0 before the header has
 *  been read. */
size_t car_reader_roots(const car_reader_t *r, const cid_t **roots);

#endif
