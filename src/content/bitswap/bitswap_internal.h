/* bitswap_internal — structures shared by the files of the Bitswap engine. Not a
 * public header: only src/content/bitswap/ and its tests include it. */
#ifndef LS_CONTENT_BITSWAP_INTERNAL_H
#define LS_CONTENT_BITSWAP_INTERNAL_H

#include "content/bitswap/bitswap.h"
#include "lib/fanout/fanout.h"

/* ---- a map from byte keys (binary CIDs, multihashes, peer IDs) to pointers ----
 * Chained buckets with a seeded hash: keys come from peers, so the seed keeps them
 * from choosing collisions; wantlists are bounded besides. */
typedef struct bitswap_map_t bitswap_map_t;

bitswap_map_t *bitswap_map_new(uint64_t seed);
void bitswap_map_free_(bitswap_map_t *m);
#define bitswap_map_free(m) FREE_AND_NULL(bitswap_map_t, bitswap_map_free_, (m))
void *bitswap_map_get(const bitswap_map_t *m, const uint8_t *key, size_t klen);
/** Insert or replace; keys are copied (at most BITSWAP_CID_MAX bytes). */
void bitswap_map_put(bitswap_map_t *m, const uint8_t *key, size_t klen, void *val);
/** Remove `key`; returns its value or NULL. */
void *bitswap_map_del(bitswap_map_t *m, const uint8_t *key, size_t klen);
size_t bitswap_map_count(const bitswap_map_t *m);
/** Call `fn` on every value; `fn` must not change the map. */
void bitswap_map_each(const bitswap_map_t *m, void (*fn)(void *ctx, void *val), void *ctx);

/** The multihash part of a CID as a map key: wants are matched by hash, so a block
 *  arriving under another CID version or codec (1.0.0 peers imply CIDv0) still
 *  matches. Returns the key length. */
size_t bitswap_mh_key(const multihash_t *mh, uint8_t out[static BITSWAP_CID_MAX]);

/* ---- server side: one entry of a peer's wantlist ---- */
typedef struct bitswap_wentry_t {
    cid_t cid;
    uint8_t want_type;
    bool send_dont_have;
    bool queued; /* in the peer's answer queue; else waiting for the block */
    bool hinted; /* env.prefetch was told */
    struct bitswap_wentry_t *prev, *next;
} bitswap_wentry_t;

typedef struct bitswap_peer_t {
    peer_id_t id;
    int version;
    bool connected;
    uint32_t refs; /* sessions using it: not pruned while > 0 */
    bitswap_ledger_t ledger;
    bitswap_map_t *wantlist; /* CID bytes -> bitswap_wentry_t; NULL when empty */
    bitswap_wentry_t *q_head, *q_tail;
    uint64_t vbytes;      /* fair-queuing clock: bytes served, adjusted on activation */
    bitswap_writer_t out; /* our wants and cancels for it, sent by bitswap_flush */
    bool out_used;
} bitswap_peer_t;

/* ---- client side ---- */
enum { WANT_PENDING = 0, WANT_INFLIGHT, WANT_STALLED, WANT_CLAIMED };

typedef struct bitswap_want_t {
    cid_t cid;
    struct bitswap_session_t *s;
    struct bitswap_want_t *next_same;   /* other sessions wanting the same hash */
    struct bitswap_want_t *prev, *next; /* in the session list of its state */
    uint8_t state;
    bool broadcast; /* want-have already sent around */
    int8_t at;      /* session peer slot of the want-block in flight */
    uint64_t sent_at;
    uint64_t have, dont, asked, tried; /* bit i: session peer slot i */
} bitswap_want_t;

typedef struct bitswap_wlist_t {
    bitswap_want_t *head, *tail;
    size_t n;
} bitswap_wlist_t;

typedef struct bitswap_speer_t {
    bitswap_peer_t *peer; /* NULL: free slot */
    bool dropped;         /* sent a bad block: not asked again */
    bool demoted;         /* timed out repeatedly: asked last and little */
    uint32_t inflight, failures;
    uint64_t blocks, bytes, lat_ms;
} bitswap_speer_t;

struct bitswap_session_t {
    bitswap_t *bs;
    struct bitswap_session_t *prev, *next;
    bitswap_speer_t peers[BITSWAP_SESSION_MAX_PEERS];
    bitswap_wlist_t pending, inflight, stalled;
    bitswap_wlist_t claimed; /* taken by a fetcher outside Bitswap (bitswap_session_claim) */
    uint64_t start_ms, next_rebroadcast;
    unsigned rr; /* rotates where peer scans start */
    int run_peer, run_len; /* who took the last wants in a row, and how many */
    bitswap_session_stats_t st;
};

struct bitswap_t {
    bitswap_config_t cfg;
    bitswap_env_t env;
    uint64_t now;
    bitswap_map_t *peer_index; /* peer ID bytes -> bitswap_peer_t */
    bitswap_peer_t **peers;
    size_t npeers, cap;
    bitswap_map_t *wants; /* multihash key -> bitswap_want_t chain */
    bitswap_session_t *sessions;
    fanout_t *verify; /* hashes the blocks of one message (cfg.verify_helpers) */
    buf_t scratch; /* a block read from the store, when env.size is not given */
    /* the message being served and its encoding, kept between messages: a fresh
     * 1 MiB buffer per message cost a seeder a fifth of its CPU in page faults.
     * With env.send_frame, `serve` is framed: blocks are read into it and its
     * buffer goes to the glue as it is (the glue hands back a recycled one). */
    bitswap_writer_t serve;
    buf_t msg;
    bool busy;    /* serving stopped on its budget: call again now */
    bool blocked; /* serving paused on a full send queue: poll soon */
};

/* bitswap.c */
bitswap_peer_t *bitswap_peer_get(bitswap_t *bs, const peer_id_t *id, bool create);
void bitswap_report(bitswap_t *bs, bitswap_peer_t *p, bitswap_event_t ev);
/** Queue a want or cancel for `p` (sent by bitswap_flush). */
void bitswap_outbox(bitswap_t *bs, bitswap_peer_t *p, const cid_t *cid, int type, bool cancel);
void bitswap_flush(bitswap_t *bs);
/** Finish `w` and send it to `p` (counted in the ledger); `w` is reset. */
void bitswap_send_writer(bitswap_t *bs, bitswap_peer_t *p, bitswap_writer_t *w);

/* bitswap_serve.c */
int bitswap_serve_check(bitswap_t *bs, bitswap_peer_t *p, const bitswap_msg_t *m);
void bitswap_serve_apply(bitswap_t *bs, bitswap_peer_t *p, const bitswap_msg_t *m);
void bitswap_serve_drop(bitswap_peer_t *p);
void bitswap_serve_notify(bitswap_t *bs, const cid_t *cid);
void bitswap_serve_run(bitswap_t *bs);

/* bitswap_session.c */
void bitswap_sess_got(bitswap_want_t *w, bitswap_peer_t *from, size_t len);
void bitswap_sess_presence(bitswap_want_t *w, bitswap_peer_t *from, int type);
void bitswap_sess_peer_up(bitswap_t *bs, bitswap_peer_t *p);
void bitswap_sess_peer_down(bitswap_t *bs, bitswap_peer_t *p, bool bad);
bool bitswap_sess_has_inflight(const bitswap_t *bs, const bitswap_peer_t *p);
void bitswap_sess_pump_all(bitswap_t *bs);
uint64_t bitswap_sess_tick(bitswap_session_t *s, uint64_t now);

#endif
