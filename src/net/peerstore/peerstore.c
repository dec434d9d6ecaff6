/* peerstore — the in-memory store: entries, bounds, eviction, queries. SQLite is in
 * peerstore_db.c. */
#define LOG_MODULE "peerstore"
#include "net/peerstore/peerstore.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crypto/sigverify.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "net/peerstore/peerstore_internal.h"

#define DAY_MS (24ull * 3600 * 1000)
/* After a scan finds nothing to evict, newcomers are refused without rescanning for
 * this long (or until trust drops or an entry goes away), so a flood of new IDs
 * against a store full of good peers costs one scan per second. */
#define NO_ROOM_RETRY_MS 1000

const char *
peer_state_name(peer_state_t st)
{
    switch (st) {
    case PEER_STATE_KNOWN:
        return "known";
    case PEER_STATE_CONNECTING:
        return "connecting";
    case PEER_STATE_ACTIVE:
        return "active";
    }
    return "unknown";
}

static double
clamp_trust(double t)
{
    return t < 0 ? 0 : t > 1 ? 1 : t;
}

void
peerstore_config_default(peerstore_config_t *cfg, double initial_trust)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->initial_trust = isnan(initial_trust) ? 0.5 : clamp_trust(initial_trust);
    cfg->max_peers = 10000;
    cfg->max_addrs = 16;
    cfg->max_addr_len = 256;
    cfg->max_protocols = 128;
    cfg->max_protocol_len = 256;
    cfg->max_agent_len = 256;
    cfg->stale_ms = 7 * DAY_MS;
    cfg->flush_interval_ms = 30000;
}

static void
normalize(peerstore_config_t *c)
{
    c->initial_trust = isnan(c->initial_trust) ? 0.5 : clamp_trust(c->initial_trust);
    c->max_peers = LS_MAX(c->max_peers, 1);
    c->max_addrs = LS_MIN(LS_MAX(c->max_addrs, 1), 255);
    c->max_addr_len = LS_MAX(c->max_addr_len, 1);
    c->max_protocols = LS_MAX(c->max_protocols, 1);
    c->max_protocol_len = LS_MAX(c->max_protocol_len, 1);
    c->max_agent_len = LS_MAX(c->max_agent_len, 1);
}

peerstore_t *
peerstore_new_with(db_t *db, const peerstore_config_t *cfg)
{
    peerstore_t *ps = ls_calloc(1, sizeof *ps);
    ps->cfg = *cfg;
    normalize(&ps->cfg);
    ps->db = db;
    ps->peers = peermap_new(offsetof(peer_entry_t, id));
    if (db)
        peerstore_db_load(ps);
    return ps;
}

peerstore_t *
peerstore_new(db_t *db, double initial_trust)
{
    peerstore_config_t cfg;
    peerstore_config_default(&cfg, initial_trust);
    return peerstore_new_with(db, &cfg);
}

static void
entry_free(peer_entry_t *e)
{
    for (size_t i = 0; i < e->n_addrs; i++)
        multiaddr_free(e->addrs[i]);
    free(e->addrs);
    for (size_t i = 0; i < e->n_protos; i++)
        free(e->protos[i]);
    free(e->protos);
    free(e->agent);
    free(e->pubkey);
    free(e);
}

void
peerstore_free_(peerstore_t *ps)
{
    if (!ps)
        return;
    if (ps->db && peerstore_flush(ps) < 0)
        log_warn("final flush failed; recent peer changes are lost");
    size_t it = 0;
    peer_entry_t *e;
    while ((e = peermap_next(ps->peers, &it)))
        entry_free(e);
    peermap_free(ps->peers);
    free(ps->deleted);
    free(ps);
}

/* ---- entries and eviction ---- */

peer_entry_t *
peerstore_entry(const peerstore_t *ps, const peer_id_t *id)
{
    return peermap_get(ps->peers, id);
}

void
peerstore_entry_dirty(peerstore_t *ps, peer_entry_t *e)
{
    if (!e->dirty)
        ps->n_dirty++;
    e->dirty = true;
}

/* What keeping an entry is worth; the lowest is evicted first (see peerstore.h). */
typedef struct rank_t {
    int cls; /* 0 stale, 1 fresh but never connected, 2 connected recently */
    double trust;
    uint64_t recency;
    uint64_t seq;
} rank_t;

static rank_t
rank_of(const peerstore_t *ps, const peer_entry_t *e, uint64_t now)
{
    rank_t r = {2, e->trust, e->last_seen ? e->last_seen : e->learned_at, e->seq};
    if (now > r.recency && now - r.recency > ps->cfg.stale_ms)
        r.cls = 0;
    else if (!e->last_seen)
        r.cls = 1;
    return r;
}

static int
rank_cmp(const rank_t *a, const rank_t *b)
{
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    if (a->trust != b->trust)
        return a->trust < b->trust ? -1 : 1;
    if (a->recency != b->recency)
        return a->recency < b->recency ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return 0;
}

typedef struct victim_t {
    rank_t rank;
    peer_entry_t *e;
} victim_t;

static int
victim_cmp(const void *a, const void *b)
{
    return rank_cmp(&((const victim_t *)a)->rank, &((const victim_t *)b)->rank);
}

static void
forget_entry(peerstore_t *ps, peer_entry_t *e)
{
    peermap_remove(ps->peers, &e->id);
    if (e->dirty)
        ps->n_dirty--;
    if (e->persisted) {
        if (ps->n_deleted == ps->cap_deleted) {
            ps->cap_deleted = ps->cap_deleted ? ps->cap_deleted * 2 : 16;
            ps->deleted = ls_realloc(ps->deleted, ps->cap_deleted * sizeof *ps->deleted);
        }
        ps->deleted[ps->n_deleted++] = e->id;
    }
    entry_free(e);
}

/* Evict known entries worth less than a newcomer until the store is below its
 * limit, plus a batch of up to max_peers/64 so the next adds need no scan.
 * Returns true if there is room for one more entry. */
static bool
make_room(peerstore_t *ps)
{
    size_t count = peermap_count(ps->peers);
    if (count < ps->cfg.max_peers)
        return true;
    uint64_t now = ps->wall_now;
    if (now < ps->no_room_until)
        return false;

    rank_t newcomer = {1, ps->cfg.initial_trust, now, UINT64_MAX};
    victim_t *v = ls_malloc(count * sizeof *v);
    size_t nv = 0, it = 0;
    peer_entry_t *e;
    while ((e = peermap_next(ps->peers, &it))) {
        rank_t r = rank_of(ps, e, now);
        if (e->state == PEER_STATE_KNOWN && rank_cmp(&r, &newcomer) < 0)
            v[nv++] = (victim_t){r, e};
    }
    size_t need = count - ps->cfg.max_peers + 1;
    size_t batch = LS_MAX(need, ps->cfg.max_peers / 64);
    if (nv > batch)
        qsort(v, nv, sizeof *v, victim_cmp); /* only the order of the first `batch` matters */
    size_t n = LS_MIN(nv, batch);
    for (size_t i = 0; i < n; i++)
        forget_entry(ps, v[i].e);
    ps->stats.evicted += n;
    free(v);
    if (n < need) {
        ps->no_room_until = now + NO_ROOM_RETRY_MS;
        return false;
    }
    return true;
}

peer_entry_t *
peerstore_entry_ensure(peerstore_t *ps, const peer_id_t *id, bool force, int *err)
{
    peer_entry_t *e = peerstore_entry(ps, id);
    if (e)
        return e;
    if (id->len == 0 || id->len > PEER_ID_MAX_LEN) {
        *err = LS_EINVAL;
        return NULL;
    }
    if (!make_room(ps) && !force) {
        ps->stats.refused++;
        *err = LS_ELIMIT;
        return NULL;
    }
    e = ls_calloc(1, sizeof *e);
    e->id = *id;
    e->trust = ps->cfg.initial_trust;
    e->learned_at = ps->wall_now;
    e->seq = ps->next_seq++;
    peermap_put(ps->peers, e);
    return e;
}

/* Entries of a trust that dropped or of a peer that left may make room again. */
static void
room_may_have_changed(peerstore_t *ps)
{
    ps->no_room_until = 0;
}

/* ---- addresses ---- */

static ptrdiff_t
find_addr(const peer_entry_t *e, const multiaddr_t *ma)
{
    for (size_t i = 0; i < e->n_addrs; i++)
        if (multiaddr_equal(e->addrs[i], ma))
            return (ptrdiff_t)i;
    return -1;
}

/* Put `ma` (owned) at position `pos`, dropping the last address if full. */
static void
insert_addr(peerstore_t *ps, peer_entry_t *e, size_t pos, multiaddr_t *ma)
{
    if (!e->addrs)
        e->addrs = ls_calloc(ps->cfg.max_addrs, sizeof *e->addrs);
    if (e->n_addrs == ps->cfg.max_addrs) {
        e->n_addrs--; /* not inside multiaddr_free(): the macro evaluates it twice */
        multiaddr_free(e->addrs[e->n_addrs]);
    }
    memmove(&e->addrs[pos + 1], &e->addrs[pos], (e->n_addrs - pos) * sizeof *e->addrs);
    e->addrs[pos] = ma;
    e->n_addrs++;
}

int
peerstore_entry_add_addr(peerstore_t *ps, peer_entry_t *e, const multiaddr_t *ma, bool confirm)
{
    ptrdiff_t k = find_addr(e, ma);
    if (confirm) {
        multiaddr_t *own;
        if (k >= 0) {
            own = e->addrs[k];
            memmove(&e->addrs[1], &e->addrs[0], (size_t)k * sizeof *e->addrs);
            e->addrs[0] = own;
        } else {
            insert_addr(ps, e, 0, multiaddr_dup(ma));
        }
        e->addr0_confirmed = true;
        peerstore_entry_dirty(ps, e);
        return k < 0;
    }
    if (k >= 0)
        return 0;
    size_t pos = e->addr0_confirmed ? 1 : 0;
    if (pos >= ps->cfg.max_addrs)
        return 0; /* room only for the confirmed address */
    insert_addr(ps, e, pos, multiaddr_dup(ma));
    peerstore_entry_dirty(ps, e);
    return 1;
}

multiaddr_t *
peerstore_addr_for_store(const peerstore_t *ps, const peer_id_t *peer, const multiaddr_t *ma)
{
    peer_id_t in_addr;
    multiaddr_t *out;
    size_t len;

    if (multiaddr_get_peer_id(ma, &in_addr)) {
        if (!peer_id_equal(&in_addr, peer))
            return NULL;
        out = multiaddr_without_peer_id(ma);
    } else {
        out = multiaddr_dup(ma);
    }
    if (out && (multiaddr_bytes(out, &len), len > ps->cfg.max_addr_len))
        multiaddr_free(out);
    return out;
}

static void
note_wall(peerstore_t *ps, uint64_t now_ms)
{
    if (now_ms > ps->wall_now)
        ps->wall_now = now_ms;
}

static int
add_addrs(peerstore_t *ps, const peer_id_t *peer, const multiaddr_t *const *addrs, size_t n,
          uint64_t now_ms, bool confirm)
{
    int err = 0, added = 0;
    note_wall(ps, now_ms);
    peer_entry_t *e = peerstore_entry_ensure(ps, peer, false, &err);
    if (!e)
        return err;
    for (size_t i = 0; i < n; i++) {
        multiaddr_t *ma = peerstore_addr_for_store(ps, peer, addrs[i]);
        if (!ma)
            continue;
        added += peerstore_entry_add_addr(ps, e, ma, confirm);
        multiaddr_free(ma);
    }
    return added;
}

int
peerstore_add_addrs(peerstore_t *ps, const peer_id_t *peer, const multiaddr_t *const *addrs,
                    size_t n, uint64_t now_ms)
{
    return add_addrs(ps, peer, addrs, n, now_ms, false);
}

int
peerstore_confirm_addr(peerstore_t *ps, const peer_id_t *peer, const multiaddr_t *addr,
                       uint64_t now_ms)
{
    int rc = add_addrs(ps, peer, &addr, 1, now_ms, true);
    return rc < 0 ? rc : 0;
}

/* ---- other setters ---- */

int
peerstore_set_pubkey(peerstore_t *ps, const peer_id_t *peer, const uint8_t *p, size_t len)
{
    peer_id_t derived;
    const uint8_t *key;
    size_t keylen;
    int type, err = peer_id_from_pubkey_proto(&derived, p, len);
    if (err < 0)
        return err;
    if (!peer_id_equal(&derived, peer))
        return LS_EPEERID;
    /* a key of any type is kept only if it is one (a valid point, modulus, curve) */
    if (pubkey_proto_decode(p, len, &type, &key, &keylen) < 0 ||
        sigverify_check_key(type, key, keylen) < 0)
        return LS_EINVAL;
    peer_entry_t *e = peerstore_entry_ensure(ps, peer, false, &err);
    if (!e)
        return err;
    if (e->pubkey && e->pubkey_len == len && memcmp(e->pubkey, p, len) == 0)
        return 0;
    free(e->pubkey);
    e->pubkey = ls_memdup(p, len);
    e->pubkey_len = len;
    peerstore_entry_dirty(ps, e);
    return 0;
}

static bool
proto_ok(const peerstore_t *ps, char *const *kept, size_t n, const char *p)
{
    size_t len = p ? strnlen(p, ps->cfg.max_protocol_len + 1) : 0;
    if (len == 0 || len > ps->cfg.max_protocol_len)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(kept[i], p) == 0)
            return false;
    return true;
}

int
peerstore_set_protocols(peerstore_t *ps, const peer_id_t *peer, const char *const *protos, size_t n)
{
    int err = 0;
    peer_entry_t *e = peerstore_entry_ensure(ps, peer, false, &err);
    if (!e)
        return err;
    for (size_t i = 0; i < e->n_protos; i++)
        free(e->protos[i]);
    free(e->protos);
    e->n_protos = 0;
    e->protos = ls_calloc(LS_MIN(n, ps->cfg.max_protocols) + 1, sizeof *e->protos);
    bool dropped = false;
    for (size_t i = 0; i < n; i++) {
        if (e->n_protos == ps->cfg.max_protocols ||
            !proto_ok(ps, e->protos, e->n_protos, protos[i])) {
            dropped = true;
            continue;
        }
        e->protos[e->n_protos++] = ls_strdup(protos[i]);
    }
    return dropped ? LS_ETOOBIG : 0;
}

int
peerstore_set_agent(peerstore_t *ps, const peer_id_t *peer, const char *agent)
{
    int err = 0;
    if (strnlen(agent, ps->cfg.max_agent_len + 1) > ps->cfg.max_agent_len)
        return LS_ETOOBIG;
    peer_entry_t *e = peerstore_entry_ensure(ps, peer, false, &err);
    if (!e)
        return err;
    free(e->agent);
    e->agent = ls_strdup(agent);
    return 0;
}

int
peerstore_touch(peerstore_t *ps, const peer_id_t *peer, uint64_t now_ms)
{
    int err = 0;
    note_wall(ps, now_ms);
    peer_entry_t *e = peerstore_entry_ensure(ps, peer, false, &err);
    if (!e)
        return err;
    if (now_ms > e->last_seen) {
        e->last_seen = now_ms;
        peerstore_entry_dirty(ps, e);
    }
    return 0;
}

int
peerstore_set_trust(peerstore_t *ps, const peer_id_t *peer, double trust)
{
    int err = 0;
    if (isnan(trust))
        return LS_EINVAL;
    peer_entry_t *e = peerstore_entry_ensure(ps, peer, false, &err);
    if (!e)
        return err;
    trust = clamp_trust(trust);
    if (trust < e->trust)
        room_may_have_changed(ps);
    if (trust != e->trust) {
        e->trust = trust;
        peerstore_entry_dirty(ps, e);
    }
    return 0;
}

int
peerstore_remove(peerstore_t *ps, const peer_id_t *peer)
{
    peer_entry_t *e = peerstore_entry(ps, peer);
    if (!e)
        return LS_ENOENT;
    if (e->state != PEER_STATE_KNOWN)
        return LS_EACCES;
    forget_entry(ps, e);
    room_may_have_changed(ps);
    return 0;
}

int
peerstore_set_state(peerstore_t *ps, const peer_id_t *peer, peer_state_t st)
{
    int err = 0;
    if ((unsigned)st > PEER_STATE_ACTIVE)
        return LS_EINVAL;
    peer_entry_t *e = peerstore_entry_ensure(ps, peer, st != PEER_STATE_KNOWN, &err);
    if (!e)
        return err;
    if (st == PEER_STATE_KNOWN && e->state != PEER_STATE_KNOWN)
        room_may_have_changed(ps);
    e->state = st;
    return 0;
}

int
peerstore_set_backoff(peerstore_t *ps, const peer_id_t *peer, uint64_t until, uint32_t failures)
{
    peer_entry_t *e = peerstore_entry(ps, peer);
    if (!e)
        return LS_ENOENT;
    e->backoff_until = until;
    e->dial_failures = failures;
    return 0;
}

/* ---- queries ---- */

static void
fill_view(const peer_entry_t *e, peer_view_t *v)
{
    v->id = &e->id;
    v->addrs = (const multiaddr_t *const *)e->addrs;
    v->n_addrs = e->n_addrs;
    v->addr0_confirmed = e->addr0_confirmed;
    v->protocols = (const char *const *)e->protos;
    v->n_protocols = e->n_protos;
    v->agent = e->agent;
    v->pubkey = e->pubkey;
    v->pubkey_len = e->pubkey_len;
    v->trust = e->trust;
    v->state = e->state;
    v->last_seen = e->last_seen;
    v->backoff_until = e->backoff_until;
    v->dial_failures = e->dial_failures;
}

bool
peerstore_get(const peerstore_t *ps, const peer_id_t *peer, peer_view_t *out)
{
    const peer_entry_t *e = peerstore_entry(ps, peer);
    if (!e)
        return false;
    fill_view(e, out);
    return true;
}

bool
peerstore_has(const peerstore_t *ps, const peer_id_t *peer)
{
    return peerstore_entry(ps, peer) != NULL;
}

double
peerstore_trust(const peerstore_t *ps, const peer_id_t *peer)
{
    const peer_entry_t *e = peerstore_entry(ps, peer);
    return e ? e->trust : ps->cfg.initial_trust;
}

peer_state_t
peerstore_state(const peerstore_t *ps, const peer_id_t *peer)
{
    const peer_entry_t *e = peerstore_entry(ps, peer);
    return e ? e->state : PEER_STATE_KNOWN;
}

bool
peerstore_has_protocol(const peerstore_t *ps, const peer_id_t *peer, const char *proto)
{
    const peer_entry_t *e = peerstore_entry(ps, peer);
    for (size_t i = 0; e && i < e->n_protos; i++)
        if (strcmp(e->protos[i], proto) == 0)
            return true;
    return false;
}

double
peerstore_initial_trust(const peerstore_t *ps)
{
    return ps->cfg.initial_trust;
}

size_t
peerstore_count(const peerstore_t *ps)
{
    return peermap_count(ps->peers);
}

void
peerstore_foreach(const peerstore_t *ps, peerstore_visit_fn fn, void *ctx)
{
    size_t it = 0;
    const peer_entry_t *e;
    peer_view_t v;
    while ((e = peermap_next(ps->peers, &it))) {
        fill_view(e, &v);
        if (!fn(ctx, &v))
            return;
    }
}

/* ---- persistence scheduling ---- */

int
peerstore_flush(peerstore_t *ps)
{
    if (!ps->db || (ps->n_dirty == 0 && ps->n_deleted == 0))
        return 0;
    int rc = peerstore_db_flush(ps);
    if (rc < 0) {
        ps->stats.flush_errors++;
        log_warn("flushing peers failed: %s", ls_strerror(rc));
        return rc;
    }
    ps->stats.flushes++;
    return 0;
}

uint64_t
peerstore_tick(peerstore_t *ps, uint64_t now_ms)
{
    if (!ps->flush_clock_started) {
        ps->flush_clock_started = true;
        ps->last_flush = now_ms;
    }
    if (!ps->db || (ps->n_dirty == 0 && ps->n_deleted == 0))
        return UINT64_MAX;
    uint64_t due = ps->last_flush + ps->cfg.flush_interval_ms;
    if (now_ms < due)
        return due;
    peerstore_flush(ps); /* on failure everything stays pending for the next interval */
    ps->last_flush = now_ms;
    return (ps->n_dirty || ps->n_deleted) ? now_ms + ps->cfg.flush_interval_ms : UINT64_MAX;
}

void
peerstore_stats(const peerstore_t *ps, peerstore_stats_t *out)
{
    *out = ps->stats;
    out->peers = peermap_count(ps->peers);
}
