/* car_header — the strict dag-cbor subset for a CARv1 header (internal to car/).
 *   {"roots": [tag 42 (bytes 0x00 ++ CID), ...], "version": 1}
 * as canonical dag-cbor: map keys sorted by length then bytes, shortest heads. */
#ifndef LS_CONTENT_CAR_HEADER_H
#define LS_CONTENT_CAR_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/cid/cid.h"

/** Append the dag-cbor header (no length prefix). 0, LS_EINVAL or LS_ETOOBIG. */
int car_header_encode(const cid_t *roots, size_t n, buf_t *out);

/** Decode a whole header `p[0..len)`; `*roots` is allocated (free()) with `*n`
 *  entries. 0; LS_EPROTO if not exactly the shape above; LS_ENOTSUP for a version
 *  other than 1; LS_ETOOBIG for more than CAR_MAX_ROOTS roots. */
int car_header_decode(const uint8_t *p, size_t len, cid_t **roots, size_t *n);

#endif
