/* dagpb — the DAG-PB codec (ipld/specs block-layer/codecs/dag-pb: "Serial Format",
 * "Protobuf Strictness", "Logical Format"), codec 0x70.
 *
 *   message PBLink { optional bytes Hash = 1; optional string Name = 2;
 *                    optional uint64 Tsize = 3; }
 *   message PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }
 *
 * Decoding is strict, as the spec asks: PBLink fields in field-number order, no
 * duplicate fields, no unknown fields or wire types, a Hash that is present and is
 * exactly one valid CID, minimal varints, and Links contiguous (Data may come before
 * or after them: "the decoder should accept either order"). Link order is kept as
 * found (the spec: "sorting should not be applied on decode"). Names are carried as
 * bytes; UTF-8 is not checked here (UnixFS directory readers check it).
 *
 * Encoding writes the canonical form: Links first, then Data; each link as Hash,
 * Name, Tsize. Links must already be sorted by name bytes (dagpb_sort_links()). */
#ifndef LS_CONTENT_DAGPB_H
#define LS_CONTENT_DAGPB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/cid/cid.h"

/** Largest block decoded or encoded: Bitswap peers refuse blocks above 2 MiB. */
#define DAGPB_MAX_BLOCK (2 * 1024 * 1024)

/** One link. When decoded, `name` points into the decoded block (borrowed). */
typedef struct dagpb_link_t {
    cid_t cid;
    const uint8_t *name; /* NULL when has_name is false */
    size_t name_len;
    uint64_t tsize;
    bool has_name;
    bool has_tsize;
} dagpb_link_t;

/** A node. After dagpb_decode(), `data` and link names point into the block,
 *  which must outlive the node; `links` is owned by the node (dagpb_node_clear()). */
typedef struct dagpb_node_t {
    const uint8_t *data; /* NULL when has_data is false */
    size_t data_len;
    bool has_data;
    dagpb_link_t *links;
    size_t n_links;
} dagpb_node_t;

/** Decode `p[0..len)` into `*out` (overwritten). 0; LS_ETOOBIG if len >
 *  DAGPB_MAX_BLOCK; LS_EINVAL if malformed (bad varint, truncated field, unknown
 *  field or wire type, duplicate field, Links interleaved with Data); LS_ENONCANON
 *  for PBLink fields out of order; and LS_EINVAL for a missing or invalid Hash.
 *  On error `*out` is empty and needs no clearing. */
int dagpb_decode(const uint8_t *p, size_t len, dagpb_node_t *out);

/** Free what dagpb_decode() allocated and empty `*node`. */
void dagpb_node_clear(dagpb_node_t *node);

/** Append the canonical encoding of `node` to `out`. 0; LS_EINVAL if links are
 *  not sorted by name bytes or a CID is not representable; LS_ETOOBIG if the
 *  block would pass DAGPB_MAX_BLOCK or `out` its maximum (then `out` is
 *  unchanged). */
int dagpb_encode(const dagpb_node_t *node, buf_t *out);

/** Exact size in bytes dagpb_encode() produces for `node` (links assumed valid). */
size_t dagpb_encoded_len(const dagpb_node_t *node);

/** Compare two links by name bytes, the dag-pb sort order (missing = empty). */
int dagpb_link_cmp(const dagpb_link_t *a, const dagpb_link_t *b);

/** Stable-sort `links[0..n)` by name bytes, as encoders must. */
void dagpb_sort_links(dagpb_link_t *links, size_t n);

#endif
