/* connmgr_tick — timers (dial timeouts, keepalive, idle, low trust), eviction at
 * capacity, and dialling below min_peers. The policy is described in connmgr.h. */
#define LOG_MODULE "connmgr"
#include <stdlib.h>
#include <string.h>

#include "lib/crypto/random.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "net/connmgr/connmgr_internal.h"

/* ---- backoff ---- */

static uint32_t
rnd(const connmgr_t *cm, uint32_t bound)
{
    if (cm->env.random)
        return cm->env.random(cm->env.ctx, bound) % bound;
    return random_uniform(bound);
}

uint64_t
connmgr_backoff_delay(const connmgr_t *cm, uint32_t failures)
{
    uint64_t d = cm->cfg.backoff_base_ms;
    for (uint32_t i = 1; i < failures && d < cm->cfg.backoff_max_ms; i++)
        d *= 2;
    d = LS_MIN(d, cm->cfg.backoff_max_ms); /* <= 2^31, so d - d/2 + 1 fits in 32 bits */
    uint64_t half = d / 2;
    return half + rnd(cm, (uint32_t)(d - half + 1));
}

void
connmgr_dial_failed(connmgr_t *cm, const peer_id_t *peer, int err, uint64_t now_ms)
{
    conn_rec_t *rec = peermap_get(cm->conns, peer);
    if (rec && rec->state == PEER_STATE_ACTIVE)
        return; /* it connected the other way meanwhile */
    peer_id_t id = *peer;
    if (rec)
        connmgr_rec_remove(cm, rec);
    peer_view_t v;
    uint32_t failures = peerstore_get(cm->ps, &id, &v) ? v.dial_failures : 0;
    if (failures < UINT32_MAX)
        failures++;
    uint64_t delay = connmgr_backoff_delay(cm, failures);
    peerstore_set_backoff(cm->ps, &id, now_ms + delay, failures);
    cm->stats.dials_failed++;
    char shortid[PEER_ID_SHORT_LEN];
    peer_id_short(&id, shortid);
    log_debug("dial to %s failed (%s); attempt %u, retry in %llu ms", shortid, ls_strerror(err),
              failures, (unsigned long long)delay);
}

/* ---- eviction at capacity ---- */

/* The active, unprotected peer to evict first: lowest trust, then the most recent
 * connection, then the larger ID (only so the choice is deterministic). With
 * `established`, only peers past their grace period at `now_ms`; never `except`. */
static conn_rec_t *
pick_lowest(const connmgr_t *cm, const peer_id_t *except, bool established, uint64_t now_ms)
{
    conn_rec_t *best = NULL, *rec;
    double best_trust = 0;
    size_t it = 0;
    while ((rec = peermap_next(cm->conns, &it))) {
        if (rec->state != PEER_STATE_ACTIVE || connmgr_is_protected(cm, &rec->id, NULL) ||
            (established && now_ms < rec->since + cm->cfg.grace_ms) ||
            (except && peer_id_equal(&rec->id, except)))
            continue;
        double t = peerstore_trust(cm->ps, &rec->id);
        if (best && (t > best_trust ||
                     (t == best_trust &&
                      (rec->since < best->since ||
                       (rec->since == best->since && peer_id_cmp(&rec->id, &best->id) < 0)))))
            continue;
        best = rec;
        best_trust = t;
    }
    return best;
}

static conn_rec_t *
lowest(const connmgr_t *cm)
{
    return pick_lowest(cm, NULL, false, 0);
}

conn_rec_t *
connmgr_lowest_established(const connmgr_t *cm, const peer_id_t *except, uint64_t now_ms)
{
    return pick_lowest(cm, except, true, now_ms);
}

uint64_t
connmgr_trim(connmgr_t *cm, uint64_t now_ms)
{
    while (cm->n_active > cm->cfg.max_peers) {
        conn_rec_t *victim = lowest(cm);
        if (!victim)
            return UINT64_MAX; /* everyone left is protected */
        uint64_t grace_end = victim->since + cm->cfg.grace_ms;
        if (now_ms < grace_end)
            return grace_end;
        peer_id_t id = victim->id;
        cm->stats.evictions++;
        connmgr_drop(cm, &id, "evicted: connection limit", cm->cfg.backoff_base_ms, now_ms);
    }
    return UINT64_MAX;
}

/* ---- timers ---- */

typedef enum { ACT_DIAL_TIMEOUT, ACT_LOW_TRUST, ACT_IDLE, ACT_PING } act_kind_t;

typedef struct action_t {
    peer_id_t id;
    act_kind_t kind;
} action_t;

/* What record `rec` needs now, if anything. */
static bool
due_action(const connmgr_t *cm, const conn_rec_t *rec, uint64_t now, act_kind_t *kind)
{
    const connmgr_config_t *c = &cm->cfg;
    if (rec->state == PEER_STATE_CONNECTING) {
        *kind = ACT_DIAL_TIMEOUT;
        return now >= rec->since + c->dial_timeout_ms;
    }
    if (peerstore_trust(cm->ps, &rec->id) < c->min_trust)
        *kind = ACT_LOW_TRUST;
    else if (c->idle_timeout_ms && now >= rec->last_heard + c->idle_timeout_ms)
        *kind = ACT_IDLE;
    else if (c->keepalive_ms && cm->env.ping && !rec->ping_outstanding && now >= rec->next_ping)
        *kind = ACT_PING;
    else
        return false;
    return true;
}

/* Collect first, act second: actions call back into the swarm, which may change
 * the records. The caller frees the array. */
static size_t
collect_actions(const connmgr_t *cm, uint64_t now, action_t **out)
{
    size_t n = 0, it = 0;
    const conn_rec_t *rec;
    *out = ls_malloc((peermap_count(cm->conns) + 1) * sizeof **out);
    while ((rec = peermap_next(cm->conns, &it))) {
        act_kind_t kind;
        if (due_action(cm, rec, now, &kind))
            (*out)[n++] = (action_t){rec->id, kind};
    }
    return n;
}

static void
run_action(connmgr_t *cm, const action_t *a, uint64_t now)
{
    conn_rec_t *rec = peermap_get(cm->conns, &a->id);
    if (!rec || (a->kind == ACT_DIAL_TIMEOUT) != (rec->state == PEER_STATE_CONNECTING))
        return; /* changed by an earlier action's callback */
    switch (a->kind) {
    case ACT_DIAL_TIMEOUT:
        cm->stats.dial_timeouts++;
        connmgr_dial_failed(cm, &a->id, LS_ETIMEDOUT, now);
        cm->env.disconnect(cm->env.ctx, &a->id, "dial timeout");
        break;
    case ACT_LOW_TRUST:
        cm->stats.low_trust_disconnects++;
        connmgr_drop(cm, &a->id, "low trust", cm->cfg.low_trust_backoff_ms, now);
        break;
    case ACT_IDLE:
        cm->stats.timeout_disconnects++;
        connmgr_drop(cm, &a->id, "idle timeout", cm->cfg.backoff_base_ms, now);
        trust_hook_report(&cm->hook, &a->id, TRUST_TIMEOUT);
        break;
    case ACT_PING:
        rec->ping_outstanding = true;
        rec->next_ping = now + cm->cfg.keepalive_ms;
        cm->env.ping(cm->env.ctx, &a->id);
        break;
    }
}

/* ---- dialling ---- */

typedef struct cand_t {
    peer_id_t id;
    multiaddr_t *addr; /* owned copy: callbacks may change the peer store */
    double trust;
    uint64_t last_seen;
} cand_t;

typedef struct pick_t {
    const connmgr_t *cm;
    uint64_t now;
    cand_t *c;
    size_t n, max;
    size_t n_boot; /* c[0..n_boot) are bootstrap picks, kept in order */
    uint64_t next; /* earliest end of a backoff that kept a candidate out */
} pick_t;

static bool
picked(const pick_t *pk, const peer_id_t *id)
{
    for (size_t i = 0; i < pk->n; i++)
        if (peer_id_equal(&pk->c[i].id, id))
            return true;
    return false;
}

static bool
eligible(pick_t *pk, const peer_id_t *id, double trust, uint64_t backoff_until)
{
    const connmgr_t *cm = pk->cm;
    if (connmgr_is_self(cm, id) || peermap_get(cm->conns, id) || trust < cm->cfg.min_trust ||
        picked(pk, id))
        return false;
    if (backoff_until > pk->now) {
        pk->next = LS_MIN(pk->next, backoff_until);
        return false;
    }
    return true;
}

static void
pick_bootstrap(pick_t *pk)
{
    const connmgr_t *cm = pk->cm;
    for (size_t i = 0; i < cm->n_boot && pk->n < pk->max; i++) {
        const boot_rec_t *b = &cm->boot[i];
        peer_view_t v;
        bool known = peerstore_get(cm->ps, &b->id, &v);
        double trust = known ? v.trust : peerstore_initial_trust(cm->ps);
        if (known && v.state != PEER_STATE_KNOWN)
            continue;
        if (eligible(pk, &b->id, trust, known ? v.backoff_until : 0))
            pk->c[pk->n++] = (cand_t){b->id, multiaddr_dup(b->addr), trust, 0};
    }
    pk->n_boot = pk->n;
}

/* True if `a` should be dialled before `b`: higher trust, then seen more recently. */
static bool
better(const cand_t *a, const cand_t *b)
{
    if (a->trust != b->trust)
        return a->trust > b->trust;
    return a->last_seen > b->last_seen;
}

/* Keep the best cached peers in c[n_boot..max), sorted, best first. */
static bool
visit_cached(void *ctx, const peer_view_t *v)
{
    pick_t *pk = ctx;
    if (v->state != PEER_STATE_KNOWN || v->n_addrs == 0 ||
        !eligible(pk, v->id, v->trust, v->backoff_until))
        return true;
    cand_t c = {*v->id, NULL, v->trust, v->last_seen};
    if (pk->n == pk->max && !better(&c, &pk->c[pk->n - 1]))
        return true;
    if (pk->n == pk->max) {
        pk->n--;
        multiaddr_free(pk->c[pk->n].addr);
    }
    size_t pos = pk->n;
    while (pos > pk->n_boot && better(&c, &pk->c[pos - 1]))
        pos--;
    memmove(&pk->c[pos + 1], &pk->c[pos], (pk->n - pos) * sizeof *pk->c);
    c.addr = multiaddr_dup(v->addrs[v->dial_failures % v->n_addrs]);
    pk->c[pos] = c;
    pk->n++;
    return true;
}

static void
start_dial(connmgr_t *cm, const peer_id_t *id, const multiaddr_t *addr, uint64_t now)
{
    if (peermap_get(cm->conns, id))
        return; /* an earlier dial's callback connected it */
    conn_rec_t *rec = connmgr_rec_add(cm, id, PEER_STATE_CONNECTING, now);
    rec->dial_addr = multiaddr_dup(addr);
    cm->stats.dials_started++;
    int rc = cm->env.dial(cm->env.ctx, id, addr);
    if (rc < 0) {
        rec = peermap_get(cm->conns, id);
        if (rec && rec->state == PEER_STATE_CONNECTING)
            connmgr_dial_failed(cm, id, rc, now);
    }
}

/* Dial while below min_peers. Returns when a backoff that held a candidate back
 * ends (UINT64_MAX if none did or no dial is wanted). */
static uint64_t
dial_more(connmgr_t *cm, uint64_t now)
{
    size_t have = cm->n_active + cm->n_connecting;
    if (have >= cm->cfg.min_peers || cm->n_connecting >= cm->cfg.max_dials)
        return UINT64_MAX;
    size_t want = LS_MIN(cm->cfg.min_peers - have, cm->cfg.max_dials - cm->n_connecting);
    pick_t pk = {cm, now, ls_calloc(want, sizeof(cand_t)), 0, want, 0, UINT64_MAX};

    pick_bootstrap(&pk);
    if (pk.n < pk.max)
        peerstore_foreach(cm->ps, visit_cached, &pk);
    for (size_t i = 0; i < pk.n; i++) {
        start_dial(cm, &pk.c[i].id, pk.c[i].addr, now);
        multiaddr_free(pk.c[i].addr);
    }
    free(pk.c);
    return pk.next;
}

/* ---- tick ---- */

static uint64_t
record_deadlines(const connmgr_t *cm, uint64_t next)
{
    const connmgr_config_t *c = &cm->cfg;
    size_t it = 0;
    const conn_rec_t *rec;
    while ((rec = peermap_next(cm->conns, &it))) {
        if (rec->state == PEER_STATE_CONNECTING) {
            next = LS_MIN(next, rec->since + c->dial_timeout_ms);
            continue;
        }
        if (c->idle_timeout_ms)
            next = LS_MIN(next, rec->last_heard + c->idle_timeout_ms);
        if (c->keepalive_ms && cm->env.ping && !rec->ping_outstanding)
            next = LS_MIN(next, rec->next_ping);
    }
    return next;
}

uint64_t
connmgr_tick(connmgr_t *cm, uint64_t now_ms)
{
    action_t *acts;
    size_t n = collect_actions(cm, now_ms, &acts);
    for (size_t i = 0; i < n; i++)
        run_action(cm, &acts[i], now_ms);
    free(acts);

    uint64_t next = now_ms + CONNMGR_MAX_TICK_MS;
    next = LS_MIN(next, connmgr_trim(cm, now_ms));
    next = LS_MIN(next, dial_more(cm, now_ms));
    next = LS_MIN(next, peerstore_tick(cm->ps, now_ms));
    next = record_deadlines(cm, next);
    return LS_MAX(next, now_ms + 1);
}
