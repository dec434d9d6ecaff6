/* pbread — a reader of Protocol Buffers wire format for the messages other
 * implementations send us (Bitswap, kad-dht): varints of up to 10 bytes and 64 bits
 * (non-minimal forms accepted, as protobuf decoders accept them), field keys
 * (field 0, numbers above 2^29-1 and the group and reserved wire types 3, 4, 6, 7
 * refused), length-delimited payloads bounded by the input, skipping of unknown
 * fields. Every read is bounds-checked; errors are LS_EINVAL. The reader borrows
 * its bytes. (content/dagpb/pbwire is the strict, minimal-varint variant that
 * dag-pb's canonical form needs.) */
#ifndef LS_LIB_PBREAD_H
#define LS_LIB_PBREAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct pbread_t {
    const uint8_t *p;
    size_t len, off;
} pbread_t;

/** One varint. 0 or LS_EINVAL (truncated, over 10 bytes or over 64 bits). */
int pbread_varint(pbread_t *r, uint64_t *v);
/** A length-delimited payload: `*p` points into the input, `*n` bytes. */
int pbread_bytes(pbread_t *r, const uint8_t **p, size_t *n);
/** A field key: its number in `*field` and wire type (0, 1, 2 or 5) in `*wire`. */
int pbread_tag(pbread_t *r, uint64_t *field, unsigned *wire);
/** Skip the value of an unknown field of wire type `wire`. */
int pbread_skip(pbread_t *r, unsigned wire);
/** A varint field, refusing any other wire type. */
int pbread_uint(pbread_t *r, unsigned wire, uint64_t *v);
/** A length-delimited field, refusing any other wire type. */
int pbread_len(pbread_t *r, unsigned wire, const uint8_t **p, size_t *n);

#endif
