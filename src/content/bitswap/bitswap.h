/* bitswap — the Bitswap exchange without I/O (ipfs/specs BITSWAP.md): serving blocks
 * to peers' wantlists and fetching blocks for download sessions from several peers at
 * once, for protocol versions 1.2.0, 1.1.0 and 1.0.0.
 *
 * The caller owns the streams and the clock. It feeds each received message (the
 * protobuf body, length prefix removed: bitswap_msg_frame_decode) to bitswap_input(),
 * tells the engine about connections, and calls bitswap_tick() by the deadline it
 * returns. The engine acts only through bitswap_env_t: it sends messages, reads and
 * writes the block store, delivers wanted blocks and reports misbehaving peers.
 *
 * Serving: per-peer wantlists (full and incremental, cancel); want-have is answered
 * with HAVE, or DONT_HAVE if asked; want-block with the block, or DONT_HAVE. Answers
 * are batched into messages of up to cfg.batch_bytes and peers are served in fair
 * order (the least-served active peer first), at most cfg.serve_budget_bytes per
 * call, and only while the glue's queue to a peer is under cfg.max_outstanding_bytes.
 * Entries for blocks we lack stay on the wantlist and are served when
 * bitswap_block_added() says the block arrived.
 *
 * Fetching: a session has peers and wanted CIDs. Each CID is sent as want-block to
 * the best session peer (by measured latency and load) and, the first time, as
 * want-have to the other 1.2.0 peers that have not delivered blocks to the session
 * yet, to learn who else has it. HAVE steers retries,
 * DONT_HAVE and timeouts move a want to another peer; a peer that times out
 * repeatedly is demoted, one that sends a block whose hash matches nothing wanted is
 * reported (BITSWAP_EVENT_BAD_BLOCK) and dropped from its sessions. Every block is
 * hashed here before it is stored or delivered. When a block arrives, wants for it at
 * other peers are cancelled.
 *
 * The engine's clock is the last now_ms given to bitswap_input(), bitswap_tick() or
 * bitswap_peer_connected(); calls without a time use it. Callbacks must not call
 * bitswap_free() or bitswap_session_free(); on_block may call bitswap_session_want(). */
#ifndef LS_CONTENT_BITSWAP_H
#define LS_CONTENT_BITSWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "content/bitswap/bitswap_msg.h"
#include "lib/buf/buf.h"
#include "lib/cid/cid.h"
#include "lib/mem/mem.h"
#include "lib/peerid/peerid.h"

typedef struct bitswap_t bitswap_t;
typedef struct bitswap_session_t bitswap_session_t;

/** Peer behaviour worth telling the trust manager about. */
typedef enum bitswap_event_t {
    BITSWAP_EVENT_BAD_BLOCK = 0,  /* a block matching nothing we asked it for: corrupt */
    BITSWAP_EVENT_UNWANTED_BLOCK, /* a block nobody asked for (none in flight there) */
    BITSWAP_EVENT_TIMEOUT,        /* a want-block went unanswered past the timeout */
    BITSWAP_EVENT_UNVERIFIABLE,   /* a block under a hash we cannot check: dropped */
    BITSWAP_EVENT_COUNT
} bitswap_event_t;

/** Short name of `ev` ("bad_block", ...), for logs and metric labels. */
const char *bitswap_event_name(bitswap_event_t ev);

/** How the engine reaches the world. `send`, `has` and `get` are required. */
typedef struct bitswap_env_t {
    void *ctx; /* passed back, never freed */
    /** Send one Message protobuf `msg[0..len)` (borrowed) to `to`: the glue adds the
     *  varint length prefix and opens or reuses a stream for the peer's version.
     *  A negative return is counted; the engine does not retry. */
    int (*send)(void *ctx, const peer_id_t *to, const uint8_t *msg, size_t len);
    /** True if the block store holds `cid`. */
    bool (*has)(void *ctx, const cid_t *cid);
    /** Append the block `cid` to `out` (whose max is the largest block served).
     *  0, LS_ENOENT, or another error (treated as not held). */
    int (*get)(void *ctx, const cid_t *cid, buf_t *out);
    /** Store a verified block. Optional, but without it `has` cannot see fetched
     *  blocks and late duplicates count as unwanted. A negative return is logged. */
    int (*put)(void *ctx, const cid_t *cid, const uint8_t *data, size_t len);
    /** A wanted block arrived and verified (after put). Optional. `cid` is the CID
     *  as wanted; bytes are borrowed for the call. */
    void (*on_block)(void *ctx, const cid_t *cid, const uint8_t *data, size_t len);
    /** Peer misbehaviour. Optional. */
    void (*report)(void *ctx, const peer_id_t *peer, bitswap_event_t ev);
    /** Fill `out` with random bytes (hash seeds). Required. */
    void (*random)(void *ctx, void *out, size_t len);
    /** Bytes handed to send() for `peer` and not yet written out, for backpressure.
     *  Optional (NULL: always 0). */
    size_t (*send_queued)(void *ctx, const peer_id_t *peer);
    /** The size of block `cid` (>= 0), or a negative error (not held). Optional:
     *  with it a served block is read by get() straight into the message being
     *  built instead of through a scratch buffer. */
    int64_t (*size)(void *ctx, const cid_t *cid);
    /** Optional, used instead of send() for served blocks: takes the message
     *  already framed (varint length prefix, then the protobuf) at
     *  frame->data[off .. frame->len) by taking frame's storage, so no byte is
     *  copied. It must leave `*frame` a valid empty buffer with the same max (a
     *  fresh one, or storage of an earlier frame it has finished with). A negative
     *  return is counted, the message is dropped either way. */
    int (*send_frame)(void *ctx, const peer_id_t *to, buf_t *frame, size_t off);
    /** A hint: get() will be asked for `cid` soon (it is among the next blocks a peer's
     *  queue will be served), so a store on disk may start loading it. Optional. */
    void (*prefetch)(void *ctx, const cid_t *cid);
} bitswap_env_t;

/** Limits and tuning. Zero fields take the defaults of bitswap_config_default(). */
typedef struct bitswap_config_t {
    uint32_t max_wantlist;        /* entries per peer wantlist (1024) */
    size_t batch_bytes;           /* target size of one served message (1 MiB) */
    size_t serve_budget_bytes;    /* block bytes served per input/tick call (8 MiB) */
    size_t max_outstanding_bytes; /* pause serving a peer with this much queued (4 MiB) */
    size_t max_block_size;        /* largest block served or accepted (2 MiB) */
    uint32_t max_inflight;        /* want-blocks in flight per session peer (32) */
    uint64_t want_timeout_ms;     /* want-block unanswered: ask elsewhere (15 s) */
    uint64_t rebroadcast_ms;      /* retry wants nobody had (5 s) */
    uint32_t max_failures;        /* timeouts in a row that demote a peer (3) */
    uint32_t max_peers;           /* peer records (ledgers) kept (4096) */
    int32_t verify_helpers;       /* threads that hash a message's blocks beside the
                                     caller (online CPUs - 1, at most 3); -1: none */
} bitswap_config_t;

void bitswap_config_default(bitswap_config_t *cfg);

/** Create an engine. `cfg` (may be NULL) and `env` are copied. Never NULL. */
bitswap_t *bitswap_new(const bitswap_config_t *cfg, const bitswap_env_t *env);

/** Free the engine and all its sessions (sending nothing). NULL is a no-op. */
void bitswap_free_(bitswap_t *bs);
#define bitswap_free(b) FREE_AND_NULL(bitswap_t, bitswap_free_, (b))

/** `peer` is connected and speaks `version` (bitswap_version_t: the best version in
 *  its identify protocol list; the glue opens streams proposing it first). Wants of
 *  sessions that include the peer are sent to it. */
void bitswap_peer_connected(bitswap_t *bs, uint64_t now_ms, const peer_id_t *peer, int version);

/** `peer` is gone: its wantlist is dropped (its ledger kept) and its in-flight
 *  wants move to other peers. */
void bitswap_peer_disconnected(bitswap_t *bs, const peer_id_t *peer);

/** Handle one message body (borrowed) from `from`, received on a stream of
 *  `version`. 0; LS_EINVAL / LS_ETOOBIG for a malformed or oversized message;
 *  LS_ELIMIT if it would take the peer's wantlist past cfg.max_wantlist. On an
 *  error nothing of the message was applied: the caller drops the stream and tells
 *  the trust manager. A peer not yet known is taken as connected. */
int bitswap_input(bitswap_t *bs, uint64_t now_ms, const peer_id_t *from, int version,
                  const uint8_t *msg, size_t len);

/** The block store gained `cid` (added locally or fetched): serve peers waiting for
 *  it. */
void bitswap_block_added(bitswap_t *bs, const cid_t *cid);

/** Run timers and pending work; returns the absolute time of the next deadline
 *  (now_ms itself if work is left, UINT64_MAX if nothing is pending). */
uint64_t bitswap_tick(bitswap_t *bs, uint64_t now_ms);

/* ---- ledgers ---- */

/** What was exchanged with one peer since the engine started. */
typedef struct bitswap_ledger_t {
    uint64_t bytes_sent, blocks_sent;         /* block data served to the peer */
    uint64_t bytes_recv, blocks_recv;         /* verified wanted blocks from it */
    uint64_t dup_blocks_recv, dup_bytes_recv; /* verified but already had */
    uint64_t bad_blocks_recv;                 /* corrupt, unwanted or unverifiable */
    uint64_t haves_sent, dont_haves_sent, haves_recv, dont_haves_recv;
    uint64_t msgs_sent, msgs_recv, timeouts;
    uint64_t first_seen_ms, last_seen_ms;
} bitswap_ledger_t;

/** Copy the ledger of `peer` to `*out`. 0 or LS_ENOENT. */
int bitswap_ledger_get(const bitswap_t *bs, const peer_id_t *peer, bitswap_ledger_t *out);

/** Fill up to `max` peer IDs and ledgers (either array may be NULL); returns the
 *  number of peers known. */
size_t bitswap_ledgers(const bitswap_t *bs, peer_id_t *ids, bitswap_ledger_t *out, size_t max);

/* ---- sessions ---- */

/** Most peers one session uses at a time. */
#define BITSWAP_SESSION_MAX_PEERS 64

/** Start a download session. Never NULL. */
bitswap_session_t *bitswap_session_new(bitswap_t *bs);

/** Cancel the session's outstanding wants and free it. NULL is a no-op. */
void bitswap_session_free_(bitswap_session_t *s);
#define bitswap_session_free(s) FREE_AND_NULL(bitswap_session_t, bitswap_session_free_, (s))

/** Let the session ask `peer` (typically a provider found in the DHT). Wants are
 *  sent once it is connected. 0; LS_EEXIST if already in; LS_ELIMIT past
 *  BITSWAP_SESSION_MAX_PEERS live peers. */
int bitswap_session_add_peer(bitswap_session_t *s, const peer_id_t *peer);

/** Want `n` CIDs (copied). CIDs already wanted by this session are skipped; those
 *  the block store already has are delivered at once through on_block. Returns the
 *  number of new wants, or LS_EINVAL for an unrepresentable CID (then none added). */
int bitswap_session_want(bitswap_session_t *s, const cid_t *cids, size_t n);

/** Progress of one session (bitswap_session_stats). */
typedef struct bitswap_session_stats_t {
    uint64_t wanted;            /* CIDs wanted so far */
    uint64_t received;          /* delivered (fetched, or already in the store) */
    uint64_t pending;           /* still wanted */
    uint64_t bytes;             /* block bytes fetched */
    uint32_t peers;             /* session peers that are connected and not dropped */
    uint32_t peers_with_blocks; /* of those, peers that have delivered blocks */
    uint64_t elapsed_ms;        /* since the session started */
    uint64_t rate_bps;          /* bytes per second over the elapsed time */
} bitswap_session_stats_t;

void bitswap_session_stats(const bitswap_session_t *s, bitswap_session_stats_t *out);

/* ---- other sources in the same download (HTTP seeders) ---- */

/** Take up to `max` of the session's wants that no Bitswap peer holds in flight
 *  (those no peer has first, then the pending ones peers would reach last) into
 *  `out`, for a fetcher outside Bitswap. They are not asked of peers until given
 *  back with bitswap_session_unclaim() or satisfied by bitswap_deliver() (or by a
 *  peer's block). Returns the count. */
size_t bitswap_session_claim(bitswap_session_t *s, cid_t *out, size_t max);

/** Give back a claimed want (the outside fetch failed): peers are asked for it
 *  again, first. A CID not claimed by `s` is ignored. */
void bitswap_session_unclaim(bitswap_session_t *s, const cid_t *cid);

/** A block for `cid` fetched outside Bitswap. It is hashed here: LS_EPROTO if the
 *  bytes do not hash to `cid`, LS_ETOOBIG over cfg.max_block_size, LS_ENOTSUP for
 *  a hash Lester cannot compute; nothing is stored then. Otherwise, if any session
 *  wants it, it is stored (env.put), every session's want is satisfied and
 *  cancelled at peers, waiting peers are served, on_block runs; returns 1. Returns
 *  0 if nobody wants it any more (a peer was faster). */
int bitswap_deliver(bitswap_t *bs, const cid_t *cid, const uint8_t *data, size_t len);

/** The session's peers that are usable or have delivered: IDs, blocks and bytes
 *  each delivered to this session (up to `max`). Returns the count filled. */
size_t bitswap_session_peer_stats(const bitswap_session_t *s, peer_id_t *ids, uint64_t *blocks,
                                  uint64_t *bytes, size_t max);

/** True when every wanted CID has been delivered. */
bool bitswap_session_is_done(const bitswap_session_t *s);

#endif
