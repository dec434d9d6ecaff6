/* gateway_car — the CAR answers of the gateway (ipfs/specs http-gateways
 * trustless-gateway, "CAR Responses", "dag-scope", "entity-bytes"): a CARv1 stream in
 * depth-first order (order=dfs), first the blocks on the content path from the
 * request's root CID to its terminal element, then the terminal's blocks as the scope
 * asks. Identity-hashed blocks are never written (their bytes are in the CID); with
 * dups=n every block is written once, with dups=y at every occurrence in the walk.
 *
 * Blocks come from the local blockstore only. The answer is 200 once the root block
 * is there; a block missing later ends the stream early (the spec's "Streaming and
 * Missing Child Blocks": the client checks completeness). */
#ifndef LS_NODE_GATEWAY_CAR_H
#define LS_NODE_GATEWAY_CAR_H

#include <stdbool.h>
#include <stdint.h>

#include "node/daemon/routes_content.h"

/** How the terminal element's DAG is walked. */
typedef enum gateway_walk_t {
    GATEWAY_WALK_ALL,    /* dag-scope=all: every block reachable */
    GATEWAY_WALK_ENTITY, /* dag-scope=entity: a file's blocks, a directory's own block
                            (every shard of a HAMT one), any other node's block */
    GATEWAY_WALK_BLOCK,  /* dag-scope=block: the one block */
    GATEWAY_WALK_RANGE,  /* entity-bytes on a file: the blocks holding bytes [lo, hi] */
} gateway_walk_t;

/** What one CAR answer holds. */
typedef struct gateway_car_plan_t {
    cid_t header_root;                /* the one root the CAR header names */
    const blockstore_cidlist_t *path; /* blocks on the path, in order; NULL for none */
    cid_t terminal;
    gateway_walk_t walk;
    uint64_t lo, hi; /* GATEWAY_WALK_RANGE: inclusive byte offsets in the terminal */
    bool dups;       /* dups=y */
} gateway_car_plan_t;

/** Answer `req` with the CAR of `plan` (borrowed; copied): a 200 stream of
 *  `content_type` with whatever headers the caller set already. The caller has
 *  checked that the first block is held. */
void gateway_car_start(node_content_t *c, api_req_t *req, const gateway_car_plan_t *plan,
                       const char *content_type);

/** Append the bytes of block `cid` to `out`: an identity CID's digest, any other from
 *  the blockstore. 0 or blockstore_get()'s error (LS_ENOENT when not held). */
int gateway_block_get(node_content_t *c, const cid_t *cid, buf_t *out);

#endif
