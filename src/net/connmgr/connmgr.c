/* connmgr — construction, notifications from the swarm, protection and queries.
 * Timers, dialling and eviction are in connmgr_tick.c. */
#define LOG_MODULE "connmgr"
#include "net/connmgr/connmgr.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/log/log.h"
#include "net/connmgr/connmgr_internal.h"

static void
normalize(connmgr_config_t *c)
{
    c->max_peers = LS_MAX(c->max_peers, 1);
    c->min_peers = LS_MIN(c->min_peers, c->max_peers);
    c->max_dials = LS_MAX(c->max_dials, 1);
    c->backoff_max_ms = LS_MIN(c->backoff_max_ms, (uint64_t)1 << 31);
    c->backoff_base_ms = LS_MIN(LS_MAX(c->backoff_base_ms, 1), c->backoff_max_ms);
    c->backoff_max_ms = LS_MAX(c->backoff_max_ms, c->backoff_base_ms);
    c->max_ping_failures = LS_MAX(c->max_ping_failures, 1);
    c->dial_timeout_ms = LS_MAX(c->dial_timeout_ms, 1);
    if (isnan(c->min_trust))
        c->min_trust = 0;
    c->inbound_burst = LS_MAX(c->inbound_burst, 1);
}

connmgr_t *
connmgr_new(const connmgr_config_t *cfg, peerstore_t *ps, const connmgr_env_t *env)
{
    assert(env->dial && env->disconnect);
    connmgr_t *cm = ls_calloc(1, sizeof *cm);
    cm->cfg = *cfg;
    normalize(&cm->cfg);
    cm->env = *env;
    cm->hook = trust_hook_none;
    cm->ps = ps;
    cm->conns = peermap_new(offsetof(conn_rec_t, id));
    cm->protected_peers = peermap_new(offsetof(protect_rec_t, id));
    cm->inbound_milli = (uint64_t)cm->cfg.inbound_burst * 1000;
    return cm;
}

static void
protect_rec_free(protect_rec_t *p)
{
    for (size_t i = 0; i < p->n_tags; i++)
        free(p->tags[i]);
    free(p);
}

void
connmgr_free_(connmgr_t *cm)
{
    if (!cm)
        return;
    size_t it = 0;
    void *obj;
    while ((obj = peermap_next(cm->conns, &it))) {
        conn_rec_t *rec = obj;
        multiaddr_free(rec->dial_addr);
        free(rec);
    }
    it = 0;
    while ((obj = peermap_next(cm->protected_peers, &it)))
        protect_rec_free(obj);
    peermap_free(cm->conns);
    peermap_free(cm->protected_peers);
    for (size_t i = 0; i < cm->n_boot; i++)
        multiaddr_free(cm->boot[i].addr);
    free(cm);
}

void
connmgr_set_self(connmgr_t *cm, const peer_id_t *self)
{
    cm->self = *self;
    cm->has_self = true;
}

bool
connmgr_is_self(const connmgr_t *cm, const peer_id_t *peer)
{
    return cm->has_self && peer_id_equal(&cm->self, peer);
}

void
connmgr_set_trust_hook(connmgr_t *cm, const trust_hook_t *hook)
{
    cm->hook = hook ? *hook : trust_hook_none;
}

void
connmgr_report(connmgr_t *cm, const peer_id_t *peer, trust_event_t ev)
{
    trust_hook_report(&cm->hook, peer, ev);
}

int
connmgr_add_bootstrap(connmgr_t *cm, const multiaddr_t *addr)
{
    peer_id_t id;
    if (!multiaddr_get_peer_id(addr, &id) || connmgr_is_self(cm, &id))
        return LS_EINVAL;
    multiaddr_t *bare = multiaddr_without_peer_id(addr);
    if (!bare)
        return LS_EINVAL;
    for (size_t i = 0; i < cm->n_boot; i++) {
        if (peer_id_equal(&cm->boot[i].id, &id) && multiaddr_equal(cm->boot[i].addr, bare)) {
            multiaddr_free(bare);
            return 0;
        }
    }
    if (cm->n_boot == CONNMGR_MAX_BOOTSTRAP) {
        multiaddr_free(bare);
        return LS_ELIMIT;
    }
    cm->boot[cm->n_boot++] = (boot_rec_t){id, bare};
    /* Also cache it, so it is remembered and has an entry for its backoff. */
    peerstore_add_addrs(cm->ps, &id, (const multiaddr_t *const *)&bare, 1, 0);
    return 0;
}

/* ---- records ---- */

static void
count(connmgr_t *cm, const conn_rec_t *rec, int delta)
{
    if (rec->state == PEER_STATE_ACTIVE) {
        cm->n_active += (size_t)delta;
        if (rec->inbound)
            cm->n_inbound += (size_t)delta;
    } else if (rec->state == PEER_STATE_CONNECTING) {
        cm->n_connecting += (size_t)delta;
    }
}

conn_rec_t *
connmgr_rec_add(connmgr_t *cm, const peer_id_t *peer, peer_state_t state, uint64_t now_ms)
{
    conn_rec_t *rec = ls_calloc(1, sizeof *rec);
    rec->id = *peer;
    rec->state = state;
    rec->since = rec->last_heard = now_ms;
    peermap_put(cm->conns, rec);
    count(cm, rec, 1);
    peerstore_set_state(cm->ps, peer, state);
    return rec;
}

void
connmgr_rec_set_state(connmgr_t *cm, conn_rec_t *rec, peer_state_t state)
{
    count(cm, rec, -1);
    rec->state = state;
    count(cm, rec, 1);
    peerstore_set_state(cm->ps, &rec->id, state);
}

void
connmgr_rec_remove(connmgr_t *cm, conn_rec_t *rec)
{
    peermap_remove(cm->conns, &rec->id);
    count(cm, rec, -1);
    peerstore_set_state(cm->ps, &rec->id, PEER_STATE_KNOWN);
    multiaddr_free(rec->dial_addr);
    free(rec);
}

/* Hold redials of `peer` off until now + delay, keeping its failure count. */
static void
hold_off(connmgr_t *cm, const peer_id_t *peer, uint64_t delay, uint64_t now_ms)
{
    peer_view_t v;
    uint32_t failures = peerstore_get(cm->ps, peer, &v) ? v.dial_failures : 0;
    peerstore_set_backoff(cm->ps, peer, now_ms + delay, failures);
}

void
connmgr_drop(connmgr_t *cm, const peer_id_t *peer, const char *reason, uint64_t backoff_ms,
             uint64_t now_ms)
{
    conn_rec_t *rec = peermap_get(cm->conns, peer);
    if (!rec)
        return;
    peer_id_t id = *peer; /* `peer` may point into the record */
    connmgr_rec_remove(cm, rec);
    hold_off(cm, &id, backoff_ms, now_ms);
    char shortid[PEER_ID_SHORT_LEN];
    peer_id_short(&id, shortid);
    log_debug("disconnecting %s: %s", shortid, reason);
    cm->env.disconnect(cm->env.ctx, &id, reason);
}

/* ---- notifications ---- */

/* Close a connection at once; hold redials off for `backoff_ms` if not 0. */
static int
refuse_connection(connmgr_t *cm, const peer_id_t *peer, const char *reason, uint64_t backoff_ms,
                  uint64_t now_ms)
{
    conn_rec_t *rec = peermap_get(cm->conns, peer);
    if (rec)
        connmgr_rec_remove(cm, rec);
    if (backoff_ms)
        hold_off(cm, peer, backoff_ms, now_ms);
    cm->env.disconnect(cm->env.ctx, peer, reason);
    return LS_EACCES;
}

/* Active peers plus our own dials in flight fill max_peers + headroom: an inbound
 * newcomer needs someone to leave. Our dials keep their slots (they were started
 * below peers.min), or every one of them completing after a burst of inbound
 * connections would push the count past the cap. `rec` (the newcomer's record) is
 * not counted as a dial of ours. */
static bool
over_hard_cap(const connmgr_t *cm, const conn_rec_t *rec)
{
    size_t dials = cm->n_connecting - (rec->state == PEER_STATE_CONNECTING ? 1 : 0);
    return cm->n_active + dials >= (size_t)cm->cfg.max_peers + cm->cfg.headroom;
}

/* Seed 001's eviction for an inbound newcomer at capacity: the lowest-trust
 * unprotected peer past its grace period leaves, unless the newcomer is worth less
 * (then LS_ELIMIT: the newcomer is refused). Peers in their grace period stay, so
 * a burst of newcomers cannot push each other out before they learn any peers. */
static int
make_room(connmgr_t *cm, const peer_id_t *newcomer, uint64_t now_ms)
{
    conn_rec_t *victim = connmgr_lowest_established(cm, newcomer, now_ms);
    if (!victim || peerstore_trust(cm->ps, &victim->id) > peerstore_trust(cm->ps, newcomer)) {
        cm->stats.inbound_refused++;
        return LS_ELIMIT;
    }
    peer_id_t id = victim->id;
    cm->stats.evictions++;
    connmgr_drop(cm, &id, "evicted: connection limit", cm->cfg.backoff_base_ms, now_ms);
    return 0;
}

int
connmgr_on_connected(connmgr_t *cm, const peer_id_t *peer, bool inbound, uint64_t now_ms)
{
    if (connmgr_is_self(cm, peer)) {
        cm->stats.self_refused++;
        return refuse_connection(cm, peer, "connection to self", 0, now_ms);
    }
    conn_rec_t *rec = peermap_get(cm->conns, peer);
    if (rec && rec->state == PEER_STATE_ACTIVE) {
        rec->last_heard = now_ms; /* another connection to a connected peer */
        return 0;
    }
    if (peerstore_trust(cm->ps, peer) < cm->cfg.min_trust) {
        cm->stats.low_trust_refused++;
        return refuse_connection(cm, peer, "low trust", cm->cfg.low_trust_backoff_ms, now_ms);
    }
    if (!rec)
        rec = connmgr_rec_add(cm, peer, PEER_STATE_CONNECTING, now_ms);
    bool ours = rec->dial_addr != NULL;
    if (ours && !inbound) {
        peerstore_confirm_addr(cm->ps, peer, rec->dial_addr, 0);
        cm->stats.dials_ok++;
    }
    if (inbound && over_hard_cap(cm, rec) && make_room(cm, peer, now_ms) < 0)
        return refuse_connection(cm, peer, "connection limit", 0, now_ms);
    multiaddr_free(rec->dial_addr);
    rec->inbound = inbound;
    connmgr_rec_set_state(cm, rec, PEER_STATE_ACTIVE);
    rec->since = rec->last_heard = now_ms;
    rec->next_ping = now_ms + cm->cfg.keepalive_ms;
    peerstore_set_backoff(cm->ps, peer, 0, 0);
    connmgr_trim(cm, now_ms);
    return 0;
}

void
connmgr_on_disconnected(connmgr_t *cm, const peer_id_t *peer, uint64_t now_ms)
{
    conn_rec_t *rec = peermap_get(cm->conns, peer);
    if (!rec)
        return;
    if (rec->state == PEER_STATE_CONNECTING) {
        connmgr_dial_failed(cm, peer, LS_ECONNRESET, now_ms);
        return;
    }
    connmgr_rec_remove(cm, rec);
    hold_off(cm, peer, cm->cfg.backoff_base_ms, now_ms);
}

void
connmgr_on_dial_failed(connmgr_t *cm, const peer_id_t *peer, int err, uint64_t now_ms)
{
    connmgr_dial_failed(cm, peer, err, now_ms);
}

void
connmgr_on_ping(connmgr_t *cm, const peer_id_t *peer, bool ok, uint64_t rtt_ms, uint64_t now_ms)
{
    conn_rec_t *rec = peermap_get(cm->conns, peer);
    if (!rec || rec->state != PEER_STATE_ACTIVE)
        return;
    rec->ping_outstanding = false;
    rec->next_ping = now_ms + cm->cfg.keepalive_ms;
    if (ok) {
        rec->ping_failures = 0;
        rec->rtt_ms = rtt_ms;
        rec->last_heard = LS_MAX(rec->last_heard, now_ms);
        return;
    }
    cm->stats.ping_failures++;
    peer_id_t id = *peer;
    if (++rec->ping_failures >= cm->cfg.max_ping_failures) {
        cm->stats.timeout_disconnects++;
        connmgr_drop(cm, &id, "ping timeout", cm->cfg.backoff_base_ms, now_ms);
    }
    trust_hook_report(&cm->hook, &id, TRUST_TIMEOUT);
}

void
connmgr_on_activity(connmgr_t *cm, const peer_id_t *peer, uint64_t now_ms)
{
    conn_rec_t *rec = peermap_get(cm->conns, peer);
    if (rec && rec->state == PEER_STATE_ACTIVE && now_ms > rec->last_heard)
        rec->last_heard = now_ms;
}

size_t
connmgr_inbound_cap(const connmgr_t *cm)
{
    return (size_t)cm->cfg.max_peers + 2 * (size_t)cm->cfg.headroom;
}

bool
connmgr_allow_inbound(connmgr_t *cm, uint64_t now_ms)
{
    if (cm->n_active + cm->n_connecting >= connmgr_inbound_cap(cm)) {
        cm->stats.inbound_refused++;
        return false;
    }
    if (cm->cfg.inbound_per_sec == 0)
        return true;
    uint64_t cap = (uint64_t)cm->cfg.inbound_burst * 1000;
    if (!cm->inbound_started) {
        cm->inbound_started = true;
        cm->inbound_last = now_ms;
    }
    if (now_ms > cm->inbound_last) {
        /* past cap / rate + 1 ms the bucket is full anyway; this bounds the product */
        uint64_t elapsed = LS_MIN(now_ms - cm->inbound_last, cap / cm->cfg.inbound_per_sec + 1);
        cm->inbound_milli = LS_MIN(cap, cm->inbound_milli + elapsed * cm->cfg.inbound_per_sec);
        cm->inbound_last = now_ms;
    }
    if (cm->inbound_milli < 1000) {
        cm->stats.inbound_refused++;
        return false;
    }
    cm->inbound_milli -= 1000;
    return true;
}

int
connmgr_disconnect(connmgr_t *cm, const peer_id_t *peer, const char *reason, uint64_t now_ms)
{
    if (!peermap_get(cm->conns, peer))
        return LS_ENOENT;
    connmgr_drop(cm, peer, reason, cm->cfg.backoff_base_ms, now_ms);
    return 0;
}

/* ---- protection ---- */

static bool
tag_ok(const char *tag)
{
    size_t n = tag ? strnlen(tag, CONNMGR_MAX_TAG_LEN + 1) : 0;
    return n > 0 && n <= CONNMGR_MAX_TAG_LEN;
}

static ptrdiff_t
find_tag(const protect_rec_t *p, const char *tag)
{
    for (size_t i = 0; i < p->n_tags; i++)
        if (strcmp(p->tags[i], tag) == 0)
            return (ptrdiff_t)i;
    return -1;
}

int
connmgr_protect(connmgr_t *cm, const peer_id_t *peer, const char *tag)
{
    if (!tag_ok(tag) || peer->len == 0)
        return LS_EINVAL;
    protect_rec_t *p = peermap_get(cm->protected_peers, peer);
    if (p && find_tag(p, tag) >= 0)
        return 0;
    if (p ? p->n_tags == CONNMGR_MAX_TAGS
          : peermap_count(cm->protected_peers) == CONNMGR_MAX_PROTECTED)
        return LS_ELIMIT;
    if (!p) {
        p = ls_calloc(1, sizeof *p);
        p->id = *peer;
        peermap_put(cm->protected_peers, p);
    }
    p->tags[p->n_tags++] = ls_strdup(tag);
    return 0;
}

bool
connmgr_unprotect(connmgr_t *cm, const peer_id_t *peer, const char *tag)
{
    protect_rec_t *p = peermap_get(cm->protected_peers, peer);
    if (!p)
        return false;
    ptrdiff_t k = tag ? find_tag(p, tag) : -1;
    if (k >= 0) {
        free(p->tags[k]);
        p->tags[k] = p->tags[--p->n_tags];
    }
    if (p->n_tags > 0)
        return true;
    peermap_remove(cm->protected_peers, peer);
    protect_rec_free(p);
    return false;
}

bool
connmgr_is_protected(const connmgr_t *cm, const peer_id_t *peer, const char *tag)
{
    const protect_rec_t *p = peermap_get(cm->protected_peers, peer);
    if (!p)
        return false;
    return !tag || find_tag(p, tag) >= 0;
}

/* ---- queries ---- */

peer_state_t
connmgr_state(const connmgr_t *cm, const peer_id_t *peer)
{
    const conn_rec_t *rec = peermap_get(cm->conns, peer);
    return rec ? rec->state : PEER_STATE_KNOWN;
}

bool
connmgr_peer_info(const connmgr_t *cm, const peer_id_t *peer, connmgr_peer_t *out)
{
    const conn_rec_t *rec = peermap_get(cm->conns, peer);
    if (!rec)
        return false;
    out->state = rec->state;
    out->inbound = rec->inbound;
    out->protected_peer = connmgr_is_protected(cm, peer, NULL);
    out->since = rec->since;
    out->last_heard = rec->last_heard;
    out->rtt_ms = rec->rtt_ms;
    out->ping_failures = rec->ping_failures;
    return true;
}

size_t
connmgr_active_peers(const connmgr_t *cm, peer_id_t *out, size_t max)
{
    size_t n = 0, it = 0;
    const conn_rec_t *rec;
    while (n < max && (rec = peermap_next(cm->conns, &it)))
        if (rec->state == PEER_STATE_ACTIVE)
            out[n++] = rec->id;
    return n;
}

void
connmgr_stats(const connmgr_t *cm, connmgr_stats_t *out)
{
    *out = cm->stats;
    out->active = cm->n_active;
    out->connecting = cm->n_connecting;
    out->inbound = cm->n_inbound;
    out->outbound = cm->n_active - cm->n_inbound;
    out->protected_peers = peermap_count(cm->protected_peers);
}
