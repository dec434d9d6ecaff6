/* node_content — the node's content service (issue 6): the blockstore in
 * $LESTER_HOME/blocks indexed in the node's database, pins and GC, `add` jobs
 * (UnixFS import from a local path), Bitswap (node_bitswap.c) with DAG downloads,
 * and their API (routes_content.c) and HTTP gateway (routes_gateway.c).
 *
 * Everything runs on the node's event loop, like the blockstore it owns. Config:
 * repo.max_bytes (the blockstore quota), content.chunk_size, and the test-only
 * test.corrupt_blocks (serve every block with one byte flipped: adversarial
 * tests). */
#ifndef LS_NODE_NODE_CONTENT_H
#define LS_NODE_NODE_CONTENT_H

#include <stdbool.h>
#include <stdint.h>

#include "content/blockstore/blockstore.h"
#include "content/blockstore/pin.h"
#include "content/unixfs/unixfs.h"
#include "node/daemon/gateway_path.h"
#include "node/daemon/node.h"

typedef struct node_bitswap_t node_bitswap_t;
typedef struct node_fetch_t node_fetch_t;

typedef struct node_content_t {
    node_t *node;
    blockstore_t *bs;
    unixfs_params_t params;    /* content.chunk_size, kubo's 174 links */
    node_bitswap_t *bitswap;   /* node_bitswap.c; NULL before the host is up */
    bool corrupt_blocks;       /* test.corrupt_blocks */
    unsigned batch_users;      /* imports and downloads sharing the open batch */
    struct event *ev_commit;   /* commits the shared batch every few seconds */
    struct content_job_t *jobs; /* running API jobs, cancelled at stop */
} node_content_t;

/** A long-running API job (an import, a download stream): cancelled and freed by
 *  node_content_stop() if still running. */
typedef struct content_job_t {
    struct content_job_t *next;
    void (*cancel)(struct content_job_t *job); /* ends the request and frees the job */
} content_job_t;

void node_content_job_add(node_content_t *c, content_job_t *job);
void node_content_job_remove(node_content_t *c, content_job_t *job);

/** Open the blockstore and start Bitswap on the host (after node_net_start()).
 *  0 or an error explained in `err`. */
int node_content_start(node_t *n, buf_t *err);

/** Stop Bitswap and close the blockstore (before node_net_stop()). */
void node_content_stop(node_t *n);

/** Store a block the caller has just hashed (the importer: a unixfs_put_fn with ctx
 *  the node_content_t) and tell Bitswap. Not for bytes of unknown origin. */
int node_content_put(void *ctx, const cid_t *cid, const uint8_t *block, size_t len);

/** A UnixFS block source reading the local blockstore. */
unixfs_source_t node_content_source(node_content_t *c);

/** dag-pb's link walker for pin_add(). */
pin_links_t node_content_links(void);

/** Share the blockstore batch (fast puts, made durable every few seconds and at
 *  the last release). */
void node_content_batch_take(node_content_t *c);
void node_content_batch_release(node_content_t *c);

/** Append the links of dag-pb block `data` to `out`; raw blocks have none.
 *  0 or LS_EINVAL. */
int node_content_block_links(const cid_t *cid, const uint8_t *data, size_t len,
                             blockstore_cidlist_t *out);

/* ---- Bitswap and downloads (node_bitswap.c) ---- */

int node_bitswap_start(node_content_t *c);
void node_bitswap_stop(node_content_t *c);
/** Tell Bitswap the store gained `cid`. */
void node_bitswap_block_added(node_content_t *c, const cid_t *cid);
/** Ledgers and totals as JSON (new reference). */
json_t *node_bitswap_stat_json(node_content_t *c);

/** Progress of a download. */
typedef struct node_fetch_progress_t {
    uint64_t bytes, total;       /* DAG bytes held so far / expected (0 unknown) */
    uint64_t blocks, fetched_blocks, fetched_bytes;
    uint32_t peers;
    uint64_t rate_bps, elapsed_ms;
} node_fetch_progress_t;

/** Called once when the download ends: err 0 (every block held and the DAG
 *  checked) or an error. The fetch is freed right after the callback. */
typedef void (*node_fetch_done_fn)(void *ctx, int err);

/** Fetch into the blockstore the DAG that the content path `p` names (content_path.h:
 *  a bare CID, or `<cid>/dir/name`; `*p` is taken and left empty) from the connected
 *  Bitswap peers, the root's providers in the DHT and the HTTP seeders their records
 *  name; blocks already held are not fetched again (resume); provided once complete.
 *  The blocks a path's walk needs and does not hold are fetched alone, one after the
 *  other, then the DAG it names — or with `block_only` that block alone (`lester
 *  block get`: no link followed, not provided). A path that does not resolve ends
 *  the download with the walk's error (node_fetch_why() says where). If `path`
 *  (absolute, copied; may be NULL) is given and the target is a UnixFS file, the file
 *  is written there while downloading (node_fetch_out.c): `lester get` then needs no
 *  export pass. Never NULL; `done` may run before this returns (everything held). */
node_fetch_t *node_fetch_start_path(node_content_t *c, gateway_path_t *p, const char *path,
                                    bool block_only, node_fetch_done_fn done, void *ctx);
/** The CID downloaded: the path's target once walked (its root before). */
const cid_t *node_fetch_root(const node_fetch_t *f);
/** In the done callback: a sentence for the user about the error, or NULL. */
const char *node_fetch_why(const node_fetch_t *f);
/** In the done callback: true if the file was written to the path given at start,
 *  complete and verified (else the caller exports it from the store). */
bool node_fetch_written(const node_fetch_t *f);
void node_fetch_progress(const node_fetch_t *f, node_fetch_progress_t *out);
/** Abandon a download (its callback is not called). */
void node_fetch_cancel(node_fetch_t *f);

/** Announce `root` (content.provide "roots"), every held block of its DAG ("all")
 *  or nothing ("none") in the DHT with this node's protocols and HTTP endpoints
 *  (node_provide.c); queued, sent a few at a time. True if queued. */
bool node_provide_dag(node_content_t *c, const cid_t *root);

/** The sources of a download so far: [{peer, kind:"bitswap"|"http", blocks, bytes,
 *  ...}] (new reference; node_fetch.c). */
json_t *node_fetch_sources_json(const node_fetch_t *f);

/* ---- routes ---- */

/** /api/v0/{add,cat,get,ls,fetch,pin/...,repo/...,block/...,bitswap/stat}. */
void node_routes_content(node_t *n);
/** GET /ipfs/{cid} (trustless gateway subset), GET /file/{cid}/chunk/{index}. */
void node_routes_gateway(node_t *n);

#endif
