/* kad_internal — state shared by kad.c, kad_lookup.c and kad_serve.c (not public). */
#ifndef LS_DHT_KAD_INTERNAL_H
#define LS_DHT_KAD_INTERNAL_H

#include "dht/kad.h"
#include "dht/kadmsg.h"

typedef enum lookup_kind_t {
    LK_CLOSEST,
    LK_FIND_PEER,
    LK_GET_VALUE,
    LK_GET_PROVIDERS,
    LK_PUT_VALUE,
    LK_PROVIDE,
} lookup_kind_t;

enum { C_NEW, C_WAITING, C_ANSWERED, C_FAILED };

/** A lookup candidate, sorted by distance to the target. */
typedef struct cand_t {
    peer_id_t id;
    kad_key_t key;
    uint8_t *addrs; /* owned address list */
    uint16_t addrs_len;
    uint8_t state;
    uint8_t hop;
    int16_t vidx; /* get_value: index of the value it returned, -1 if none */
} cand_t;

/** An owned peer (provider results). */
typedef struct owned_peer_t {
    kad_peer_info_t info; /* info.addrs / info.meta point into the owned copies */
    uint8_t *addrs, *meta;
} owned_peer_t;

typedef struct lookup_t {
    uint64_t id;
    lookup_kind_t kind;
    kad_key_t target;
    uint8_t *key; /* the key sent on the wire (owned) */
    size_t klen;
    peer_id_t target_peer; /* LK_FIND_PEER */
    cand_t *cands;
    size_t ncands, cap;
    bool starting; /* inside the call that started it: completion is deferred */
    bool done_due; /* completed while starting: kad_tick delivers it */
    int due_status;
    size_t inflight, messages, successes;
    bool storing; /* put/provide: second phase */
    size_t store_pending;
    uint8_t *payload; /* put: the value; provide: metadata (owned) */
    size_t payload_len;
    size_t quorum, max_providers;
    kadmsg_bytes_t *values; /* get_value: owned copies of valid values */
    size_t nvalues;
    size_t settled_hop;
    owned_peer_t *found; /* find_peer (1) / providers */
    size_t nfound;
    uint64_t now_ms; /* time of the latest event, for work done at completion */
    kad_done_fn cb;
    void *arg;
} lookup_t;

enum { REQ_QUERY, REQ_STORE, REQ_PING, REQ_PROBE };

typedef struct pending_t {
    uint64_t req_id, lookup_id, deadline_ms;
    peer_id_t peer;
    int kind;
    uint8_t *addrs; /* REQ_PROBE: the address list to file the peer under (owned) */
    size_t addrs_len;
} pending_t;

struct kad_t {
    kad_config_t cfg;
    kad_env_t env;
    peer_id_t self;
    routing_t *rt;
    kad_store_t *store;
    kad_validator_t validators[KAD_MAX_VALIDATORS];
    size_t nvalidators;
    uint8_t *self_addrs;
    size_t self_addrs_len;
    uint64_t next_req_id, next_lookup_id;
    uint64_t refresh_check_ms; /* next time kad_tick looks for buckets to refresh */
    pending_t *pending;
    size_t npending, cappending;
    lookup_t **lookups;
    size_t nlookups;
    kadmsg_t *in, *out; /* scratch messages (~40 KB each), only inside a call */
    unsigned depth;     /* nesting of public calls (callbacks may call back in) */
};

/* kad.c */
/** Every public entry point brackets its work with these: the scratch messages
 *  exist only while kad is running, so 10,000 idle nodes do not hold 800 MB. */
void kad_enter(kad_t *kad);
void kad_leave(kad_t *kad);
void kad_random(kad_t *kad, void *out, size_t len);
/** Encode kad->out and send it; records a pending entry when want_reply. Returns
 *  the request id (> 0) or an error. */
int64_t kad_send(kad_t *kad, uint64_t now_ms, const peer_id_t *to, const uint8_t *addrs,
                 size_t addrs_len, int kind, uint64_t lookup_id, bool want_reply);
/** A peer answered: offer it to the table, send an eviction ping if asked for. */
void kad_seen(kad_t *kad, uint64_t now_ms, const peer_id_t *id, const uint8_t *addrs,
              size_t addrs_len);
/** Fill kad->out's closer peers with the k closest to `target`, except `skip`. */
void kad_fill_closer(kad_t *kad, const kad_key_t *target, const peer_id_t *skip);
/** Address list from a message peer (unchecked bytes, bounded). */
size_t kad_peer_addrs(const kadmsg_peer_t *p, uint8_t out[KAD_ADDRS_MAX]);

/* kad_lookup.c */
/** env.trust of `id`, or 1 without a trust function. */
double kad_peer_trust(const kad_t *kad, const peer_id_t *id);
/** False if `id` is below cfg.min_trust: not asked, not tabled, not handed out. */
bool kad_peer_trusted(const kad_t *kad, const peer_id_t *id);
int kad_lookup_start(kad_t *kad, uint64_t now_ms, lookup_t *lk, const kad_peer_info_t *seeds,
                     size_t nseeds);
lookup_t *kad_lookup_new(lookup_kind_t kind, const uint8_t *key, size_t klen, kad_done_fn cb,
                         void *arg);
void kad_lookup_free(lookup_t *lk);
void kad_lookup_response(kad_t *kad, uint64_t now_ms, const pending_t *req, const kadmsg_t *m);
void kad_lookup_failure(kad_t *kad, uint64_t now_ms, const pending_t *req);
/** Deliver completions deferred by kad_lookup_start; true if any is left. */
void kad_lookup_deliver_due(kad_t *kad, uint64_t now_ms);

/* kad_serve.c */
int kad_serve(kad_t *kad, uint64_t now_ms, const peer_id_t *from, const kadmsg_t *m, buf_t *reply);
/** Store a validated value under `key` (rules of PUT_VALUE). */
int kad_store_value(kad_t *kad, uint64_t now_ms, const uint8_t *key, size_t klen,
                    const uint8_t *val, size_t vlen, bool ours);

#endif
