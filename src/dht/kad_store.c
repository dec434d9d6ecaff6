/* kad_store — bounded record and provider stores with SQLite write-through. */
#include "dht/kad_store.h"

#include <stdlib.h>
#include <string.h>

#include "dht/kad_routing.h"
#include "dht/kad_validate.h"
#include "lib/err/err.h"
#define LOG_MODULE "dht"
#include "lib/log/log.h"

typedef struct prov_entry_t {
    peer_id_t id;
    uint8_t *addrs, *meta;
    size_t addrs_len, meta_len;
    uint64_t expires_ms, republish_ms;
    kad_provider_t view; /* what kad_store_get_providers hands out */
} prov_entry_t;

typedef struct prov_key_t {
    uint8_t *key;
    size_t klen;
    prov_entry_t *list;
    size_t n, cap;
} prov_key_t;

struct kad_store_t {
    kad_store_limits_t lim;
    kad_stored_record_t *recs;
    size_t nrecs, caprecs;
    prov_key_t *pkeys;
    size_t npkeys, cappkeys;
    db_t *db;
};

void
kad_store_limits_default(kad_store_limits_t *lim)
{
    *lim = (kad_store_limits_t){4096, 4096, 64};
}

kad_store_t *
kad_store_new(const kad_store_limits_t *lim)
{
    kad_store_t *s = ls_calloc(1, sizeof *s);
    if (lim)
        s->lim = *lim;
    else
        kad_store_limits_default(&s->lim);
    return s;
}

static void
prov_entry_clear(prov_entry_t *e)
{
    free(e->addrs);
    free(e->meta);
}

static void
prov_key_clear(prov_key_t *k)
{
    for (size_t i = 0; i < k->n; i++)
        prov_entry_clear(&k->list[i]);
    free(k->list);
    free(k->key);
}

void
kad_store_free_(kad_store_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nrecs; i++) {
        free(s->recs[i].key);
        free(s->recs[i].value);
    }
    for (size_t i = 0; i < s->npkeys; i++)
        prov_key_clear(&s->pkeys[i]);
    free(s->recs);
    free(s->pkeys);
    free(s);
}

static bool
key_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

static ssize_t
rec_index(const kad_store_t *s, const uint8_t *key, size_t klen)
{
    for (size_t i = 0; i < s->nrecs; i++)
        if (key_eq(s->recs[i].key, s->recs[i].klen, key, klen))
            return (ssize_t)i;
    return -1;
}

static ssize_t
pkey_index(const kad_store_t *s, const uint8_t *key, size_t klen)
{
    for (size_t i = 0; i < s->npkeys; i++)
        if (key_eq(s->pkeys[i].key, s->pkeys[i].klen, key, klen))
            return (ssize_t)i;
    return -1;
}

/* ---- write-through ---- */

static int
db_put_record(kad_store_t *s, const kad_stored_record_t *r)
{
    if (!s->db)
        return 0;
    sqlite3_stmt *st = db_stmt(s->db, "INSERT OR REPLACE INTO dht_records (key, value, "
                                      "received_ms, expires_ms, republish_ms) VALUES (?,?,?,?,?)");
    if (!st)
        return LS_EIO;
    sqlite3_bind_blob(st, 1, r->key, (int)r->klen, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, r->value, (int)r->vlen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)r->received_ms);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)r->expires_ms);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)r->republish_ms);
    int rc = db_check(s->db, sqlite3_step(st), "dht record write");
    sqlite3_reset(st);
    return rc;
}

static int
db_put_provider(kad_store_t *s, const uint8_t *key, size_t klen, const prov_entry_t *e)
{
    if (!s->db)
        return 0;
    sqlite3_stmt *st = db_stmt(s->db, "INSERT OR REPLACE INTO dht_providers (key, peer, addrs, "
                                      "meta, expires_ms, republish_ms) VALUES (?,?,?,?,?,?)");
    if (!st)
        return LS_EIO;
    sqlite3_bind_blob(st, 1, key, (int)klen, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, e->id.bytes, (int)e->id.len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, e->addrs, (int)e->addrs_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, e->meta, (int)e->meta_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)e->expires_ms);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)e->republish_ms);
    int rc = db_check(s->db, sqlite3_step(st), "dht provider write");
    sqlite3_reset(st);
    return rc;
}

static void
db_delete_expired(kad_store_t *s, uint64_t now_ms)
{
    static const char *const sql[] = {"DELETE FROM dht_records WHERE expires_ms <= ?",
                                      "DELETE FROM dht_providers WHERE expires_ms <= ?"};
    for (size_t i = 0; s->db && i < 2; i++) {
        sqlite3_stmt *st = db_stmt(s->db, sql[i]);
        if (!st)
            continue;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)now_ms);
        (void)db_check(s->db, sqlite3_step(st), "dht expire");
        sqlite3_reset(st);
    }
}

/* ---- records ---- */

int
kad_store_put_record(kad_store_t *s, const uint8_t *key, size_t klen, const uint8_t *value,
                     size_t vlen, uint64_t received_ms, uint64_t expires_ms, uint64_t republish_ms)
{
    if (klen > KAD_KEY_MAX || vlen > KAD_VALUE_MAX)
        return LS_ETOOBIG;
    ssize_t i = rec_index(s, key, klen);
    kad_stored_record_t *r;
    if (i >= 0) {
        r = &s->recs[i];
        free(r->value);
    } else {
        if (s->nrecs >= s->lim.max_records)
            return LS_ELIMIT;
        if (s->nrecs == s->caprecs) { /* grow by doubling: most nodes hold few */
            s->caprecs = LS_MAX(s->caprecs * 2, (size_t)4);
            s->recs = ls_realloc(s->recs, s->caprecs * sizeof *s->recs);
        }
        r = &s->recs[s->nrecs++];
        r->key = ls_memdup(key, klen);
        r->klen = klen;
    }
    r->value = ls_memdup(value, vlen);
    r->vlen = vlen;
    r->received_ms = received_ms;
    r->expires_ms = expires_ms;
    r->republish_ms = republish_ms;
    return db_put_record(s, r);
}

const kad_stored_record_t *
kad_store_get_record(const kad_store_t *s, const uint8_t *key, size_t klen)
{
    ssize_t i = rec_index(s, key, klen);
    return i >= 0 ? &s->recs[i] : NULL;
}

int
kad_store_set_record_republish(kad_store_t *s, const uint8_t *key, size_t klen,
                               uint64_t republish_ms)
{
    ssize_t i = rec_index(s, key, klen);
    if (i < 0)
        return LS_ENOENT;
    s->recs[i].republish_ms = republish_ms;
    return db_put_record(s, &s->recs[i]);
}

/* ---- providers ---- */

static prov_key_t *
pkey_get(kad_store_t *s, const uint8_t *key, size_t klen)
{
    ssize_t i = pkey_index(s, key, klen);
    if (i >= 0)
        return &s->pkeys[i];
    if (s->npkeys >= s->lim.max_provider_keys)
        return NULL;
    if (s->npkeys == s->cappkeys) {
        s->cappkeys = LS_MAX(s->cappkeys * 2, (size_t)4);
        s->pkeys = ls_realloc(s->pkeys, s->cappkeys * sizeof *s->pkeys);
    }
    prov_key_t *k = &s->pkeys[s->npkeys++];
    *k = (prov_key_t){ls_memdup(key, klen), klen, NULL, 0, 0};
    return k;
}

/* The slot for `p` in `k`: its own, a free one, or the soonest-expiring one if `p`
 * outlives it; NULL if none. */
static prov_entry_t *
prov_slot(const kad_store_t *s, prov_key_t *k, const kad_provider_t *p)
{
    size_t soonest = 0;
    for (size_t i = 0; i < k->n; i++) {
        if (peer_id_equal(&k->list[i].id, &p->id))
            return &k->list[i];
        if (k->list[i].expires_ms < k->list[soonest].expires_ms)
            soonest = i;
    }
    if (k->n < s->lim.max_providers_per_key) {
        if (k->n == k->cap) {
            k->cap = LS_MAX(k->cap * 2, (size_t)2);
            k->list = ls_realloc(k->list, k->cap * sizeof *k->list);
        }
        k->list[k->n] = (prov_entry_t){0};
        return &k->list[k->n++];
    }
    if (k->n == 0 || k->list[soonest].expires_ms >= p->expires_ms)
        return NULL;
    return &k->list[soonest];
}

int
kad_store_add_provider(kad_store_t *s, const uint8_t *key, size_t klen, const kad_provider_t *p)
{
    if (klen > KAD_KEY_MAX || p->addrs_len > KAD_ADDRS_MAX || p->meta_len > KAD_META_MAX)
        return LS_ETOOBIG;
    prov_key_t *k = pkey_get(s, key, klen);
    prov_entry_t *e = k ? prov_slot(s, k, p) : NULL;
    if (!e)
        return LS_ELIMIT;
    prov_entry_clear(e);
    *e = (prov_entry_t){.id = p->id, .expires_ms = p->expires_ms, .republish_ms = p->republish_ms};
    if (p->addrs && p->addrs_len) {
        e->addrs = ls_memdup(p->addrs, p->addrs_len);
        e->addrs_len = p->addrs_len;
    }
    if (p->meta && p->meta_len) {
        e->meta = ls_memdup(p->meta, p->meta_len);
        e->meta_len = p->meta_len;
    }
    return db_put_provider(s, key, klen, e);
}

static const kad_provider_t *
prov_view(prov_entry_t *e)
{
    e->view = (kad_provider_t){e->id,       e->addrs,      e->addrs_len,   e->meta,
                               e->meta_len, e->expires_ms, e->republish_ms};
    return &e->view;
}

size_t
kad_store_get_providers(const kad_store_t *s, const uint8_t *key, size_t klen,
                        const kad_provider_t **out, size_t max)
{
    ssize_t i = pkey_index(s, key, klen);
    size_t n = 0;
    for (size_t j = 0; i >= 0 && j < s->pkeys[i].n && n < max; j++)
        out[n++] = prov_view(&s->pkeys[i].list[j]);
    return n;
}

int
kad_store_set_provider_republish(kad_store_t *s, const uint8_t *key, size_t klen,
                                 const peer_id_t *id, uint64_t republish_ms)
{
    ssize_t i = pkey_index(s, key, klen);
    for (size_t j = 0; i >= 0 && j < s->pkeys[i].n; j++) {
        prov_entry_t *e = &s->pkeys[i].list[j];
        if (peer_id_equal(&e->id, id)) {
            e->republish_ms = republish_ms;
            return db_put_provider(s, key, klen, e);
        }
    }
    return LS_ENOENT;
}

/* ---- maintenance ---- */

size_t
kad_store_expire(kad_store_t *s, uint64_t now_ms)
{
    size_t gone = 0;
    for (size_t i = 0; i < s->nrecs;) {
        if (s->recs[i].expires_ms > now_ms) {
            i++;
            continue;
        }
        free(s->recs[i].key);
        free(s->recs[i].value);
        s->recs[i] = s->recs[--s->nrecs];
        gone++;
    }
    for (size_t i = 0; i < s->npkeys;) {
        prov_key_t *k = &s->pkeys[i];
        for (size_t j = 0; j < k->n;) {
            if (k->list[j].expires_ms > now_ms) {
                j++;
                continue;
            }
            prov_entry_clear(&k->list[j]);
            k->list[j] = k->list[--k->n];
            gone++;
        }
        if (k->n == 0) {
            prov_key_clear(k);
            s->pkeys[i] = s->pkeys[--s->npkeys];
        } else {
            i++;
        }
    }
    if (gone)
        db_delete_expired(s, now_ms);
    return gone;
}

int
kad_store_next_due(const kad_store_t *s, uint64_t now_ms, kad_store_due_t *out)
{
    for (size_t i = 0; i < s->nrecs; i++) {
        const kad_stored_record_t *r = &s->recs[i];
        if (r->republish_ms && r->republish_ms <= now_ms) {
            *out = (kad_store_due_t){r->key, r->klen, r, NULL};
            return 1;
        }
    }
    for (size_t i = 0; i < s->npkeys; i++)
        for (size_t j = 0; j < s->pkeys[i].n; j++) {
            prov_entry_t *e = &s->pkeys[i].list[j];
            if (e->republish_ms && e->republish_ms <= now_ms) {
                *out = (kad_store_due_t){s->pkeys[i].key, s->pkeys[i].klen, NULL, prov_view(e)};
                return 1;
            }
        }
    return 0;
}

uint64_t
kad_store_next_event(const kad_store_t *s)
{
    uint64_t t = UINT64_MAX;
    for (size_t i = 0; i < s->nrecs; i++) {
        t = LS_MIN(t, s->recs[i].expires_ms);
        if (s->recs[i].republish_ms)
            t = LS_MIN(t, s->recs[i].republish_ms);
    }
    for (size_t i = 0; i < s->npkeys; i++)
        for (size_t j = 0; j < s->pkeys[i].n; j++) {
            const prov_entry_t *e = &s->pkeys[i].list[j];
            t = LS_MIN(t, e->expires_ms);
            if (e->republish_ms)
                t = LS_MIN(t, e->republish_ms);
        }
    return t;
}

size_t
kad_store_record_count(const kad_store_t *s)
{
    return s->nrecs;
}

size_t
kad_store_provider_count(const kad_store_t *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->npkeys; i++)
        n += s->pkeys[i].n;
    return n;
}

/* ---- loading ---- */

static const void *
col_blob(sqlite3_stmt *st, int col, size_t *len, size_t max, bool *bad)
{
    const void *p = sqlite3_column_blob(st, col);
    *len = (size_t)sqlite3_column_bytes(st, col);
    if (*len > max)
        *bad = true;
    return p;
}

static void
load_records(kad_store_t *s, sqlite3_stmt *st)
{
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t kl, vl;
        bool bad = false;
        const uint8_t *k = col_blob(st, 0, &kl, KAD_KEY_MAX, &bad);
        const uint8_t *v = col_blob(st, 1, &vl, KAD_VALUE_MAX, &bad);
        if (bad || !k || !v) {
            log_warn("dht: skipping a damaged stored record");
            continue;
        }
        db_t *db = s->db;
        s->db = NULL; /* no write-back while loading */
        (void)kad_store_put_record(s, k, kl, v, vl, (uint64_t)sqlite3_column_int64(st, 2),
                                   (uint64_t)sqlite3_column_int64(st, 3),
                                   (uint64_t)sqlite3_column_int64(st, 4));
        s->db = db;
    }
}

static void
load_providers(kad_store_t *s, sqlite3_stmt *st)
{
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t kl, il;
        bool bad = false;
        kad_provider_t p = {0};
        const uint8_t *k = col_blob(st, 0, &kl, KAD_KEY_MAX, &bad);
        const uint8_t *id = col_blob(st, 1, &il, PEER_ID_MAX_LEN, &bad);
        p.addrs = col_blob(st, 2, &p.addrs_len, KAD_ADDRS_MAX, &bad);
        p.meta = col_blob(st, 3, &p.meta_len, KAD_META_MAX, &bad);
        if (bad || !k || !id || peer_id_from_bytes(&p.id, id, il) < 0) {
            log_warn("dht: skipping a damaged stored provider");
            continue;
        }
        p.expires_ms = (uint64_t)sqlite3_column_int64(st, 4);
        p.republish_ms = (uint64_t)sqlite3_column_int64(st, 5);
        db_t *db = s->db;
        s->db = NULL;
        (void)kad_store_add_provider(s, k, kl, &p);
        s->db = db;
    }
}

int
kad_store_attach_db(kad_store_t *s, db_t *db, uint64_t now_ms)
{
    s->db = db;
    db_delete_expired(s, now_ms);
    sqlite3_stmt *st = db_stmt(db, "SELECT key, value, received_ms, expires_ms, republish_ms "
                                   "FROM dht_records ORDER BY expires_ms DESC");
    if (!st)
        return LS_EIO;
    load_records(s, st);
    sqlite3_reset(st);
    st = db_stmt(db, "SELECT key, peer, addrs, meta, expires_ms, republish_ms "
                     "FROM dht_providers ORDER BY expires_ms DESC");
    if (!st)
        return LS_EIO;
    load_providers(s, st);
    sqlite3_reset(st);
    return 0;
}
