/* kad_store — the DHT's local records and provider records, bounded, with expiry,
 * republish times, and optional write-through persistence in SQLite (lib/db; schema
 * in dht_migrations.h) so that they survive a restart.
 *
 * Times are wall-clock milliseconds since the epoch (they are stored on disk).
 * Entries with republish_ms != 0 are "ours": kad republishes them when that time
 * comes. Memory is authoritative; the database, when attached, mirrors every change
 * and is read once by kad_store_attach_db(). Lookups are linear scans: the limits
 * keep the store small (a hash index is future work). */
#ifndef LS_DHT_KAD_STORE_H
#define LS_DHT_KAD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/db/db.h"
#include "lib/mem/mem.h"
#include "lib/peerid/peerid.h"

typedef struct kad_store_limits_t {
    size_t max_records;           /* 4096 */
    size_t max_provider_keys;     /* 4096 */
    size_t max_providers_per_key; /* 64 */
} kad_store_limits_t;

void kad_store_limits_default(kad_store_limits_t *lim);

typedef struct kad_stored_record_t {
    uint8_t *key, *value; /* owned by the store */
    size_t klen, vlen;
    uint64_t received_ms, expires_ms, republish_ms;
} kad_stored_record_t;

typedef struct kad_provider_t {
    peer_id_t id;
    const uint8_t *addrs; /* address list (kad_routing.h); may be NULL */
    size_t addrs_len;
    const uint8_t *meta; /* signed metadata (kad_validate.h); may be NULL */
    size_t meta_len;
    uint64_t expires_ms, republish_ms;
} kad_provider_t;

typedef struct kad_store_t kad_store_t;

/** An empty in-memory store; `lim` NULL for defaults (copied). Never NULL. */
kad_store_t *kad_store_new(const kad_store_limits_t *lim);
void kad_store_free_(kad_store_t *s); /* NULL is a no-op; the db is not closed */
#define kad_store_free(s) FREE_AND_NULL(kad_store_t, kad_store_free_, (s))

/** Mirror the store in `db` (borrowed; must outlive the store; migrations
 *  dht_migrations applied): load its unexpired rows (within the limits), delete the
 *  expired ones, and write every later change through. 0 or a db error. */
int kad_store_attach_db(kad_store_t *s, db_t *db, uint64_t now_ms);

/** Store (or replace) the record under `key`; bytes are copied. 0; LS_ELIMIT if
 *  the store is full and `key` is new; LS_ETOOBIG for sizes past the kad limits;
 *  a db error if the write-through failed (memory is updated anyway). */
int kad_store_put_record(kad_store_t *s, const uint8_t *key, size_t klen, const uint8_t *value,
                         size_t vlen, uint64_t received_ms, uint64_t expires_ms,
                         uint64_t republish_ms);

/** The record under `key`, borrowed until the store changes, or NULL. */
const kad_stored_record_t *kad_store_get_record(const kad_store_t *s, const uint8_t *key,
                                                size_t klen);

/** Set the next republish time of a record we hold. 0 or LS_ENOENT. */
int kad_store_set_record_republish(kad_store_t *s, const uint8_t *key, size_t klen,
                                   uint64_t republish_ms);

/** Add or refresh provider `p` (copied) of `key`. 0; LS_ELIMIT if the key table is
 *  full, or the key's list is full and every provider expires later than `p`. */
int kad_store_add_provider(kad_store_t *s, const uint8_t *key, size_t klen,
                           const kad_provider_t *p);

/** Up to `max` providers of `key`, borrowed until the store changes. Returns the
 *  count (0 if none). */
size_t kad_store_get_providers(const kad_store_t *s, const uint8_t *key, size_t klen,
                               const kad_provider_t **out, size_t max);

/** Drop entries whose expiry is <= now_ms. Returns how many went. */
size_t kad_store_expire(kad_store_t *s, uint64_t now_ms);

/** What is due: a record or a provider entry of ours whose republish time is
 *  <= now_ms. Call repeatedly; kad must move the republish time forward before the
 *  next call (kad_store_set_*_republish). `*key` etc. are borrowed. */
typedef struct kad_store_due_t {
    const uint8_t *key;
    size_t klen;
    const kad_stored_record_t *record; /* non-NULL for a record */
    const kad_provider_t *provider;    /* non-NULL for a provider entry */
} kad_store_due_t;
int kad_store_next_due(const kad_store_t *s, uint64_t now_ms, kad_store_due_t *out);

/** Set the next republish time of our provider entry `id` for `key`. 0 or
 *  LS_ENOENT. */
int kad_store_set_provider_republish(kad_store_t *s, const uint8_t *key, size_t klen,
                                     const peer_id_t *id, uint64_t republish_ms);

/** The earliest expiry or republish time in the store, or UINT64_MAX. */
uint64_t kad_store_next_event(const kad_store_t *s);

/** Counts for statistics. */
size_t kad_store_record_count(const kad_store_t *s);
size_t kad_store_provider_count(const kad_store_t *s);

#endif
