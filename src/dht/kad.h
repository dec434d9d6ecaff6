/* kad — sans-I/O Kademlia DHT node (libp2p/specs kad-dht/README.md); the caller owns
 * the streams and the clock.
 *
 * The glue (next to the swarm) does three things:
 *   1. Inbound stream on the kad protocol: read one length-prefixed message, call
 *      kad_input_request(); if it returns 0 and `reply` is non-empty, write it back
 *      (framed) and read the next request. On an error, reset the stream and tell
 *      the trust manager. In client mode it returns LS_ENOTSUP: do not advertise the
 *      protocol at all.
 *   2. env.send_request(ctx, req_id, to, addrs, msg, len, want_reply): open a
 *      stream to `to` (addresses are hints), write the framed `msg`; if want_reply,
 *      read one framed reply and pass it to kad_input_response(req_id), or call
 *      kad_request_failed(req_id) if the dial or stream fails. Never call back into
 *      kad from inside send_request. kad times requests out itself, so a late
 *      reply or failure for a forgotten req_id is ignored.
 *   3. Call kad_tick() at (or after) the time it returned, and also right after
 *      starting a lookup or handing kad any input: the deadline may have moved
 *      earlier, and a lookup that could not send anything completes there.
 *
 * Every `now_ms` is wall-clock milliseconds since the epoch: records carry wall
 * times and persist across restarts. Request ids are unique per kad_t, never 0.
 *
 * Only peers that answered one of our requests enter the routing table. Start with
 * kad_bootstrap() over the configured bootstrap peers (those that answer are added).
 * A lookup's callback is called exactly once, from kad_input_response(),
 * kad_request_failed() or kad_tick() — never from the call that started it; if
 * that call fails it is never called. kad_free() drops lookups without callbacks. */
#ifndef LS_DHT_KAD_H
#define LS_DHT_KAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dht/kad_routing.h"
#include "dht/kad_store.h"
#include "dht/kad_validate.h"
#include "lib/buf/buf.h"
#include "lib/db/db.h"
#include "lib/mem/mem.h"
#include "lib/peerid/peerid.h"

#define KAD_PROTOCOL_ID "/lester/kad/1.0.0"
#define KAD_PROTOCOL_ID_IPFS "/ipfs/kad/1.0.0"
/** Validators a node can hold (two built in). */
#define KAD_MAX_VALIDATORS 8

typedef struct kad_config_t {
    routing_config_t routing; /* routing.k is the replication parameter k (20) */
    kad_store_limits_t store;
    size_t alpha;                   /* parallel requests per lookup (3) */
    uint64_t request_timeout_ms;    /* one request (10 s) */
    uint64_t refresh_interval_ms;   /* bucket refresh (10 min); 0 disables */
    uint64_t record_ttl_ms;         /* keep others' records at most (36 h) */
    uint64_t record_republish_ms;   /* republish our records (1 h) */
    uint64_t provider_ttl_ms;       /* provider records expire (48 h) */
    uint64_t provider_republish_ms; /* republish our provider records (22 h) */
    size_t max_lookups;             /* concurrent lookups (64) */
    size_t max_pending;             /* outstanding requests (512) */
    bool client_mode;               /* query only, never serve */
    double min_trust;               /* with env.trust: peers below it are never asked,
                                       tabled nor handed to others (0: none excluded) */
} kad_config_t;

void kad_config_default(kad_config_t *cfg);

typedef struct kad_env_t {
    void *ctx; /* passed back, never freed */
    /** Send one request (see the file comment). 0 if it will be sent; an error
     *  code fails the request at once (no kad_request_failed needed). */
    int (*send_request)(void *ctx, uint64_t req_id, const peer_id_t *to, const uint8_t *addrs,
                        size_t addrs_len, const uint8_t *msg, size_t len, bool want_reply);
    /** Random bytes; NULL uses lib/crypto. */
    void (*random)(void *ctx, void *out, size_t len);
    /** Optional: the trust in `peer` (seed 001's, in [0, 1]). Lookups ask the
     *  higher-trust of equally near candidates first (same common prefix with the
     *  target, so neither gets the lookup further than the other), and peers below
     *  cfg.min_trust are skipped as candidates, refused by the routing table (and
     *  dropped from it when they answer again) and left out of our replies. NULL:
     *  every peer is trusted alike. Called often: keep it a table lookup. */
    double (*trust)(void *ctx, const peer_id_t *peer);
} kad_env_t;

/** A peer as lookups report it; pointers are borrowed for the callback. */
typedef struct kad_peer_info_t {
    peer_id_t id;
    const uint8_t *addrs; /* address list (kad_addrs_next) */
    size_t addrs_len;
    const uint8_t *meta; /* provider metadata, checked (kad_provider_meta_check) */
    size_t meta_len;
} kad_peer_info_t;

/** The outcome of a lookup, borrowed for the callback. */
typedef struct kad_result_t {
    int status; /* 0; LS_ENOENT not found; LS_ELIMIT; LS_ETIMEDOUT none answered */
    const kad_peer_info_t *peers; /* find_peer: the peer; closest/put/provide: the k
                                     closest that answered; get_providers: providers */
    size_t npeers;
    const uint8_t *value; /* get_value: the best valid value */
    size_t value_len;
    size_t hops;      /* depth of the answer that settled the lookup (1 = a peer
                         of our table) */
    size_t messages;  /* requests sent */
    size_t successes; /* put/provide: peers that took it; get_value: valid values */
} kad_result_t;

typedef void (*kad_done_fn)(void *arg, const kad_result_t *res);

typedef struct kad_t kad_t;

/** A node for `self`. `cfg` (NULL for defaults) and `env` are copied. The pk and
 *  lester validators are registered. Never returns NULL. */
kad_t *kad_new(const peer_id_t *self, const kad_config_t *cfg, const kad_env_t *env);
void kad_free_(kad_t *kad); /* NULL is a no-op */
#define kad_free(k) FREE_AND_NULL(kad_t, kad_free_, (k))

/** Register (copy) a validator; one per namespace, a later one replaces. 0 or
 *  LS_ELIMIT. */
int kad_add_validator(kad_t *kad, const kad_validator_t *v);
/** The validator for `key`'s namespace, or NULL. */
const kad_validator_t *kad_validator_for(const kad_t *kad, const uint8_t *key, size_t klen);

/** Our own address list (copied), put in our provider records. */
void kad_set_self_addrs(kad_t *kad, const uint8_t *addrs, size_t len);

/** Persist records and providers in `db` (see kad_store_attach_db). */
int kad_attach_db(kad_t *kad, db_t *db, uint64_t now_ms);

/** Handle one inbound request `msg` from `from` (both borrowed); the reply, if
 *  any, is appended to `reply` (unframed). 0; LS_ENOTSUP in client mode; LS_EINVAL,
 *  LS_ETOOBIG for a malformed message; validation errors (LS_EBADSIG, LS_EEXPIRED,
 *  LS_ESTALE, LS_EACCES...) for a refused PUT_VALUE or ADD_PROVIDER. */
int kad_input_request(kad_t *kad, uint64_t now_ms, const peer_id_t *from, const uint8_t *msg,
                      size_t len, buf_t *reply);

/** The reply to request `req_id`. 0 (also for an unknown or timed-out id);
 *  LS_EINVAL/LS_ETOOBIG if malformed (the request then counts as failed). */
int kad_input_response(kad_t *kad, uint64_t now_ms, uint64_t req_id, const uint8_t *msg,
                       size_t len);

/** Request `req_id` failed (dial, stream reset, protocol not supported). */
void kad_request_failed(kad_t *kad, uint64_t now_ms, uint64_t req_id);

/** Run timers: request timeouts, bucket refresh, store expiry and republish.
 *  Returns the absolute time it wants to be called next. */
uint64_t kad_tick(kad_t *kad, uint64_t now_ms);

/** Tell kad that `id` answered us on the kad protocol outside a lookup (e.g. the
 *  glue's own check); it is offered to the routing table. Returns routing_seen's
 *  result; a needed eviction ping is sent. LS_EACCES if it is below cfg.min_trust
 *  (it is then removed from the table). */
int kad_peer_answered(kad_t *kad, uint64_t now_ms, const peer_id_t *id, const uint8_t *addrs,
                      size_t addrs_len);

/** A peer that serves the kad protocol connected (identify listed it): if it is
 *  not in the table and its bucket has room, send it a FIND_NODE for our own key;
 *  it enters the table if it answers. This is how a network learns about a node
 *  that joined, while keeping "only peers that answered enter". 1 if a probe was
 *  sent, 0 if not needed (or the peer is below cfg.min_trust), or an error from
 *  send_request. */
int kad_probe_peer(kad_t *kad, uint64_t now_ms, const peer_id_t *id, const uint8_t *addrs,
                   size_t addrs_len);

/* ---- lookups: 0 and a later callback, or an error and no callback ---- */

/** Self-lookup starting from `seeds` as well as the table. LS_ENOENT if there is
 *  no peer to ask at all. */
int kad_bootstrap(kad_t *kad, uint64_t now_ms, const kad_peer_info_t *seeds, size_t n,
                  kad_done_fn cb, void *arg);
/** The k closest peers to `key` (hashed). */
int kad_get_closest(kad_t *kad, uint64_t now_ms, const uint8_t *key, size_t klen, kad_done_fn cb,
                    void *arg);
/** Find `target`'s addresses; done as soon as a peer returns it. */
int kad_find_peer(kad_t *kad, uint64_t now_ms, const peer_id_t *target, kad_done_fn cb, void *arg);
/** The best valid value of `key`, once `quorum` (>= 1) valid values were seen or the
 *  lookup converged; a local valid value counts as one. */
int kad_get_value(kad_t *kad, uint64_t now_ms, const uint8_t *key, size_t klen, size_t quorum,
                  kad_done_fn cb, void *arg);
/** Validate `value` for `key`, keep it as ours (republished), then store it at the
 *  k closest peers. Validation errors are returned (no callback); LS_ENOENT if no
 *  peer is known, in which case the value is still kept and republished later. */
int kad_put_value(kad_t *kad, uint64_t now_ms, const uint8_t *key, size_t klen,
                  const uint8_t *value, size_t vlen, kad_done_fn cb, void *arg);
/** Announce ourselves as a provider of `key` with optional signed metadata `meta`
 *  (kad_provider_meta_make), locally and at the k closest peers. */
int kad_provide(kad_t *kad, uint64_t now_ms, const uint8_t *key, size_t klen, const uint8_t *meta,
                size_t mlen, kad_done_fn cb, void *arg);
/** Up to `max` providers of `key` (local ones included). */
int kad_get_providers(kad_t *kad, uint64_t now_ms, const uint8_t *key, size_t klen, size_t max,
                      kad_done_fn cb, void *arg);

/* ---- inspection ---- */
const routing_t *kad_routing(const kad_t *kad);
const kad_store_t *kad_store(const kad_t *kad);
size_t kad_pending_count(const kad_t *kad);
size_t kad_lookup_count(const kad_t *kad);

#endif
