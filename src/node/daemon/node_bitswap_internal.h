/* node_bitswap_internal — what node_bitswap.c (streams, engine) and node_fetch.c
 * (DAG downloads) share. Not for other files. */
#ifndef LS_NODE_NODE_BITSWAP_INTERNAL_H
#define LS_NODE_NODE_BITSWAP_INTERNAL_H

#include "content/bitswap/bitswap.h"
#include "net/swarm/swarm.h"
#include "node/daemon/node_content.h"

/* One peer the engine knows: its outbound stream and what waits to be written. */
typedef struct bpeer_t {
    struct bpeer_t *next;
    peer_id_t id;
    int version;
    swarm_stream_t *out;     /* reused for every message; NULL when none */
    struct bstream_t *out_ud;
    bool opening;
    /* framed messages the stream has not taken yet, one allocation each: the
     * stream takes them in pieces and a finished one is freed, so no byte is ever
     * moved (moving a single queue's rest was half a seeder's CPU) */
    struct bseg_t *q_head, *q_tail;
    size_t queued;           /* bytes in the segments not taken yet */
} bpeer_t;

#define NODE_BITSWAP_MAX_SPARE 4

struct node_bitswap_t {
    node_content_t *c;
    swarm_t *sw;
    bitswap_t *engine;
    bpeer_t *peers;
    struct bstream_t *streams;
    node_fetch_t *fetches;
    struct event *ev_tick;
    uint64_t next_scan;
    uint64_t msgs_in, msgs_bad, send_dropped;
    bool serve_off;                  /* test.bitswap_off: Bitswap not served */
    buf_t spare[NODE_BITSWAP_MAX_SPARE]; /* sent frames' storage, for the engine's next */
    size_t nspare;
    struct node_provide_t *provide;  /* node_provide.c */
    /* content.upload_rate_limit: a token bucket over served frames' bytes; while it
     * is empty every peer's queue reads as full, and ev_up resumes serving */
    uint64_t up_rate; /* bytes per second, 0: none */
    double up_tokens;
    uint64_t up_ms;
    uint64_t up_throttled; /* times serving paused for it */
    struct event *ev_up;
};

typedef struct node_provide_t node_provide_t;

/** Read content.provide / reprovide_interval_s and start the reprovide timer
 *  (node_provide.c). */
void node_provide_start(node_bitswap_t *g);
/** Stop providing (before the DHT stops): announcements in flight are forgotten. */
void node_provide_stop(node_bitswap_t *g);

/* ---- HTTP seeders of one download (node_http_seed.c) ---- */

typedef struct http_seeds_t http_seeds_t;

/** HTTP seeders feeding `session` (borrowed; outlives the set). Never NULL. */
http_seeds_t *http_seeds_new(node_bitswap_t *g, bitswap_session_t *session);
/** Free the set; requests in flight are abandoned. NULL is a no-op. */
void http_seeds_free(http_seeds_t *hs);
/** Add `peer`'s endpoint URL template (from signed provider metadata). 0 added;
 *  LS_EEXIST already there or dropped; LS_ENOTSUP not a template we can use;
 *  LS_ELIMIT too many seeders. */
int http_seeds_add(http_seeds_t *hs, const peer_id_t *peer, const char *endpoint);
/** Claim wants from the session for seeders with room and request them. */
void http_seeds_pump(http_seeds_t *hs);
/** Seeders not dropped. */
uint32_t http_seeds_live(const http_seeds_t *hs);
/** Append one {peer, kind:"http", url, blocks, bytes, dropped} per seeder to `arr`. */
void http_seeds_json(const http_seeds_t *hs, json_t *arr);

/** Every known Bitswap peer joins the fetch's session (node_bitswap.c). */
void node_bitswap_join_all(node_bitswap_t *g, bitswap_session_t *s);
/** Look for new Bitswap peers shortly (a provider was just dialled: once identify
 *  has told us its protocols), not only at the next periodic scan. */
void node_bitswap_scan_soon(node_bitswap_t *g);
/** Run the engine soon (after new wants). */
void node_bitswap_kick(node_bitswap_t *g);

/** A verified wanted block arrived: the downloads that wait for it go on
 *  (node_fetch.c). */
void node_fetch_on_block(node_bitswap_t *g, const cid_t *cid, const uint8_t *data, size_t len);
/** Add every known peer to every download's session (node_fetch.c). */
void node_fetch_join_peers(node_bitswap_t *g);
/** Free every download without calling back (at stop). */
void node_fetch_free_all(node_bitswap_t *g);

/* ---- node_fetch_out.c: the file of `lester get`, written during the download ---- */
typedef struct fetch_out_t fetch_out_t;
/** Write the UnixFS file under `root` to `path` (copied) as its blocks come:
 *  into `<path>.lester-part`, renamed at fetch_out_finish(). Leaves that `bs`
 *  (borrowed, may be NULL) has just stored are written by its writer thread from its
 *  stage; `direct`: with O_DIRECT where the file system allows. Never NULL. */
fetch_out_t *fetch_out_new(const char *path, const cid_t *root, blockstore_t *bs, bool direct);
/** True if `cid` still has a place in the file (a held block must be read for it). */
bool fetch_out_wants(const fetch_out_t *o, const cid_t *cid);
/** A verified block of the DAG (`data` borrowed): written at every offset it has,
 *  and a file node's children given theirs. A directory or any mismatch gives up
 *  quietly (the export pass of /api/v0/get then writes the file or the error). */
void fetch_out_block(fetch_out_t *o, const cid_t *cid, const uint8_t *data, size_t len);
/** The download ended with `err` (0: DAG checked). True if the whole file was
 *  written and renamed to its path; else the part file is gone. NULL: false. */
bool fetch_out_finish(fetch_out_t *o, int err);
/** Free; drops an unfinished part file. NULL is a no-op. */
void fetch_out_free(fetch_out_t *o);

#endif
