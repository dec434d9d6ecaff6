/* peerstore internals, shared by peerstore.c (memory), peerstore_db.c (SQLite) and
 * visible to tests and the fuzz harness. Not part of the API. */
#ifndef LS_NET_PEERSTORE_INTERNAL_H
#define LS_NET_PEERSTORE_INTERNAL_H

#include "net/peermap/peermap.h"
#include "net/peerstore/peerstore.h"

typedef struct peer_entry_t {
    peer_id_t id;        /* the map key */
    multiaddr_t **addrs; /* cfg.max_addrs slots, allocated with the first address */
    size_t n_addrs;
    bool addr0_confirmed;
    char **protos;
    size_t n_protos;
    char *agent;
    uint8_t *pubkey;
    size_t pubkey_len;
    double trust;
    uint64_t last_seen;  /* Unix ms, 0: never connected */
    uint64_t learned_at; /* Unix ms the entry was created (or loaded) */
    uint64_t seq;        /* creation order, the last tie-break for eviction */
    peer_state_t state;
    uint64_t backoff_until;
    uint32_t dial_failures;
    bool dirty;     /* persisted fields changed since the last flush */
    bool persisted; /* a row exists on disk */
} peer_entry_t;

struct peerstore_t {
    peerstore_config_t cfg;
    db_t *db; /* borrowed; NULL: memory only */
    peermap_t *peers;
    uint64_t next_seq;
    uint64_t wall_now;      /* latest Unix ms any caller gave us */
    uint64_t no_room_until; /* Unix ms: a scan found nothing to evict; refuse quickly */
    peer_id_t *deleted;     /* persisted rows to delete at the next flush */
    size_t n_deleted, cap_deleted;
    size_t n_dirty;
    bool flush_clock_started;
    uint64_t last_flush; /* peerstore_tick() clock */
    peerstore_stats_t stats;
};

/** The entry for `id`, or NULL. */
peer_entry_t *peerstore_entry(const peerstore_t *ps, const peer_id_t *id);

/** The entry for `id`, created if new. A new entry needs room: when the store is
 *  full an entry worth less than a newcomer is evicted; if there is none, `force`
 *  creates it anyway (connected peers) and otherwise *err is LS_ELIMIT and the result
 *  NULL. */
peer_entry_t *peerstore_entry_ensure(peerstore_t *ps, const peer_id_t *id, bool force, int *err);

/** Mark `e` to be written at the next flush. */
void peerstore_entry_dirty(peerstore_t *ps, peer_entry_t *e);

/** Add `ma` (already stripped of /p2p and checked for length; copied) to `e`.
 *  `confirm` puts it first and marks it confirmed. Returns 1 if it was new, else 0. */
int peerstore_entry_add_addr(peerstore_t *ps, peer_entry_t *e, const multiaddr_t *ma, bool confirm);

/** `ma` without a final /p2p/<peer>, as a new multiaddr the caller frees; NULL if
 *  it names another peer, is only /p2p, or is longer than max_addr_len. */
multiaddr_t *peerstore_addr_for_store(const peerstore_t *ps, const peer_id_t *peer,
                                      const multiaddr_t *ma);

/** One row of `peers` with its `peer_addrs`, as read from disk (all borrowed).
 *  Text fields may be NULL (SQL NULL) and need not be NUL-free or valid. */
typedef struct peerstore_row_t {
    const char *node_id;
    const char *address; /* seed column: the address that last worked */
    const uint8_t *public_key;
    size_t public_key_len;
    bool has_last_seen;
    int64_t last_seen;
    bool has_trust;
    double trust;
    const char *const *addrs; /* peer_addrs, in rank order */
    size_t n_addrs;
} peerstore_row_t;

/** Validate `row` and add it to the store as a persisted, clean entry. Fields that
 *  are invalid on their own (an address, the public key, trust, last_seen) are
 *  dropped and counted in rows_rejected; a row whose node_id is not a canonical
 *  base58 peer ID, or that repeats a loaded peer, is rejected whole: LS_ECORRUPT.
 *  LS_ELIMIT if the store is full. 0 on success. */
int peerstore_load_row(peerstore_t *ps, const peerstore_row_t *row);

/** Load every row from ps->db (peerstore_db.c). */
void peerstore_db_load(peerstore_t *ps);

/** Write dirty entries and deletions in one transaction (peerstore_db.c). */
int peerstore_db_flush(peerstore_t *ps);

#endif
