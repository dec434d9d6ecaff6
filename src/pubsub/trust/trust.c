/* trust — seed 001's trust manager; the contract and the formulas are in trust.h. */
#define LOG_MODULE "trust"
#include "pubsub/trust/trust.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "lib/err/err.h"
#include "lib/log/log.h"
#include "net/peermap/peermap.h"

typedef struct entry_t {
    peer_id_t id;
    double trust;
    uint64_t valid, bad;                /* events for stats */
    double hist[TRUST_TREND_INTERVALS]; /* snapshots for trend (ring) */
    uint32_t hist_n, hist_head;         /* snapshots held; next slot to write */
    double boost;                       /* gained from recommendations this interval */
    double earned;                      /* gained from valid messages this interval */
    uint32_t recs;                      /* recommendations made this interval */
    bool below;                         /* reported below min_threshold */
    uint64_t touched_ms;                /* last change, for eviction */
} entry_t;

struct trust_t {
    trust_config_t cfg;
    trust_env_t env;
    peer_id_t self;
    peermap_t *peers;
    uint64_t next_decay_ms;
    uint64_t last_now_ms;
};

static double
clamp01(double v, double fallback)
{
    if (isnan(v))
        return fallback;
    return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
}

static void
sanitize(trust_config_t *c)
{
    trust_config_t d;

    trust_config_default(&d);
    c->initial = clamp01(c->initial, d.initial);
    c->min_threshold = clamp01(c->min_threshold, d.min_threshold);
    c->decay_rate = clamp01(c->decay_rate, d.decay_rate);
    c->recommender_min = clamp01(c->recommender_min, d.recommender_min);
    c->transitive_cap = clamp01(c->transitive_cap, d.transitive_cap);
    c->valid_cap = clamp01(c->valid_cap, d.valid_cap);
    if (c->decay_interval_ms == 0)
        c->decay_interval_ms = 1;
    if (c->max_peers == 0)
        c->max_peers = 1;
}

trust_t *
trust_new(const trust_config_t *cfg, const trust_env_t *env, const peer_id_t *self, uint64_t now_ms)
{
    trust_t *t = ls_calloc(1, sizeof *t);

    t->cfg = *cfg;
    sanitize(&t->cfg);
    if (env)
        t->env = *env;
    t->self = *self;
    t->peers = peermap_new(offsetof(entry_t, id));
    t->next_decay_ms = now_ms + t->cfg.decay_interval_ms;
    t->last_now_ms = now_ms;
    return t;
}

void
trust_free_(trust_t *t)
{
    if (!t)
        return;
    size_t it = 0;
    entry_t *e;
    while ((e = peermap_next(t->peers, &it)))
        free(e);
    peermap_free(t->peers);
    free(t);
}

static void
hist_push(entry_t *e, double v)
{
    e->hist[e->hist_head] = v;
    e->hist_head = (e->hist_head + 1) % TRUST_TREND_INTERVALS;
    if (e->hist_n < TRUST_TREND_INTERVALS)
        e->hist_n++;
}

/* The oldest snapshot held: the next slot to write once the ring is full. */
static double
hist_oldest(const entry_t *e)
{
    return e->hist_n < TRUST_TREND_INTERVALS ? e->hist[0] : e->hist[e->hist_head];
}

static void
evict_oldest(trust_t *t)
{
    size_t it = 0;
    entry_t *e, *victim = NULL;
    while ((e = peermap_next(t->peers, &it)))
        if (!victim || e->touched_ms < victim->touched_ms)
            victim = e;
    if (victim) {
        peermap_remove(t->peers, &victim->id);
        free(victim);
    }
}

/* The entry of `peer`, created (from env.lookup or `initial`) if absent. */
static entry_t *
entry_get(trust_t *t, uint64_t now_ms, const peer_id_t *peer)
{
    entry_t *e = peermap_get(t->peers, peer);
    if (e)
        return e;
    if (peermap_count(t->peers) >= t->cfg.max_peers)
        evict_oldest(t);
    e = ls_calloc(1, sizeof *e);
    e->id = *peer;
    e->trust = t->cfg.initial;
    double stored;
    if (t->env.lookup && t->env.lookup(t->env.ctx, peer, &stored))
        e->trust = clamp01(stored, t->cfg.initial);
    e->below = e->trust < t->cfg.min_threshold;
    e->touched_ms = now_ms;
    hist_push(e, e->trust);
    peermap_put(t->peers, e);
    return e;
}

/* Set e->trust to `v` (clamped), report the change and a fall below the threshold. */
static void
apply(trust_t *t, entry_t *e, uint64_t now_ms, const char *type, double v)
{
    double before = e->trust;
    e->trust = clamp01(v, before);
    e->touched_ms = now_ms;
    if (e->trust != before && t->env.on_change) {
        trust_change_t c = {&e->id, type, e->trust - before, e->trust, now_ms};
        t->env.on_change(t->env.ctx, &c);
    }
    if (e->trust >= t->cfg.min_threshold) {
        e->below = false;
    } else if (!e->below) {
        e->below = true;
        if (t->env.on_below_threshold)
            t->env.on_below_threshold(t->env.ctx, &e->id, e->trust);
    }
}

static double
event_delta(trust_event_t ev)
{
    switch (ev) {
    case TRUST_VALID_MESSAGE:
        return TRUST_DELTA_VALID;
    case TRUST_INVALID_MESSAGE:
    case TRUST_PROTOCOL_VIOLATION:
        return TRUST_DELTA_INVALID;
    case TRUST_TIMEOUT:
    case TRUST_RATE_LIMITED:
        return TRUST_DELTA_TIMEOUT;
    default:
        return 0.0;
    }
}

double
trust_report(trust_t *t, uint64_t now_ms, const peer_id_t *peer, trust_event_t ev)
{
    t->last_now_ms = now_ms;
    if ((unsigned)ev >= TRUST_EVENT_COUNT) {
        log_error("trust event %d out of range", (int)ev);
        return trust_get(t, peer);
    }
    entry_t *e = entry_get(t, now_ms, peer);
    double delta = event_delta(ev);
    if (ev == TRUST_VALID_MESSAGE) {
        e->valid++;
        double room = t->cfg.valid_cap - e->earned; /* see valid_cap in trust.h */
        if (room < delta)
            delta = room > 0.0 ? room : 0.0;
        e->earned += delta;
    } else {
        e->bad++;
    }
    apply(t, e, now_ms, trust_event_name(ev), e->trust + delta);
    return e->trust;
}

static void
hook_report(void *ctx, const peer_id_t *peer, trust_event_t ev)
{
    trust_t *t = ctx;
    uint64_t now = t->env.now_ms ? t->env.now_ms(t->env.ctx) : t->last_now_ms;
    trust_report(t, now, peer, ev);
}

trust_hook_t
trust_as_hook(trust_t *t)
{
    return (trust_hook_t){t, hook_report};
}

int
trust_recommend(trust_t *t, uint64_t now_ms, const peer_id_t *recommender, const peer_id_t *peer,
                double recommended_trust, double *boost)
{
    if (boost)
        *boost = 0.0;
    t->last_now_ms = now_ms;
    if (isnan(recommended_trust) || recommended_trust < 0.0 || recommended_trust > 1.0)
        return LS_EINVAL;
    if (peer_id_equal(recommender, peer) || peer_id_equal(peer, &t->self) ||
        peer_id_equal(recommender, &t->self))
        return LS_EACCES;
    entry_t *r = peermap_get(t->peers, recommender);
    if (!r || r->trust < t->cfg.recommender_min || r->recs >= t->cfg.max_recommendations)
        return LS_EACCES;
    r->recs++;
    /* read before entry_get(), which may evict `r` to make room */
    double b = recommended_trust * r->trust * TRUST_TRANSITIVE_FACTOR;
    entry_t *e = entry_get(t, now_ms, peer);
    double room = t->cfg.transitive_cap - e->boost;
    if (b > room)
        b = room > 0.0 ? room : 0.0;
    double before = e->trust;
    apply(t, e, now_ms, "recommendation", e->trust + b);
    e->boost += b;
    if (boost)
        *boost = e->trust - before;
    return 0;
}

/* One interval of decay for `e`: seed 001's step, snapping to `initial` at the end. */
static void
decay_once(const trust_t *t, entry_t *e)
{
    double init = t->cfg.initial;
    double v = e->trust + (init - e->trust) * t->cfg.decay_rate;
    if (fabs(v - init) < TRUST_SNAP)
        v = init;
    e->trust = v;
    hist_push(e, v);
}

uint64_t
trust_tick(trust_t *t, uint64_t now_ms)
{
    t->last_now_ms = now_ms;
    if (now_ms < t->next_decay_ms)
        return t->next_decay_ms;
    uint64_t k = (now_ms - t->next_decay_ms) / t->cfg.decay_interval_ms + 1;
    t->next_decay_ms += k * t->cfg.decay_interval_ms;
    if (k > TRUST_MAX_CATCHUP)
        k = TRUST_MAX_CATCHUP;
    size_t it = 0;
    entry_t *e;
    while ((e = peermap_next(t->peers, &it))) {
        double before = e->trust;
        for (uint64_t i = 0; i < k; i++)
            decay_once(t, e);
        double after = e->trust;
        e->trust = before;
        e->boost = 0.0;
        e->earned = 0.0;
        e->recs = 0;
        uint64_t touched = e->touched_ms;
        apply(t, e, now_ms, "decay", after);
        if (after == before)
            e->touched_ms = touched; /* decay to nothing is not activity */
    }
    return t->next_decay_ms;
}

double
trust_get(const trust_t *t, const peer_id_t *peer)
{
    const entry_t *e = peermap_get(t->peers, peer);
    if (e)
        return e->trust;
    double stored;
    if (t->env.lookup && t->env.lookup(t->env.ctx, peer, &stored))
        return clamp01(stored, t->cfg.initial);
    return t->cfg.initial;
}

double
trust_reputation(const trust_t *t, const peer_id_t *peer, double *trend, double *stats)
{
    const entry_t *e = peermap_get(t->peers, peer);
    double tr = 0.5, st = 0.5, trust = trust_get(t, peer);
    if (e) {
        tr = clamp01(0.5 + TRUST_TREND_GAIN * (e->trust - hist_oldest(e)), 0.5);
        st = ((double)e->valid + 1.0) / ((double)e->valid + (double)e->bad + 2.0);
    }
    if (trend)
        *trend = tr;
    if (stats)
        *stats = st;
    return TRUST_W_TRUST * trust + TRUST_W_TREND * tr + TRUST_W_STATS * st;
}

double
trust_app_score(const trust_t *t, const peer_id_t *peer)
{
    return trust_get(t, peer) - t->cfg.initial;
}

bool
trust_counts(const trust_t *t, const peer_id_t *peer, uint64_t *valid, uint64_t *bad)
{
    const entry_t *e = peermap_get(t->peers, peer);
    if (!e)
        return false;
    if (valid)
        *valid = e->valid;
    if (bad)
        *bad = e->bad;
    return true;
}

void
trust_set(trust_t *t, uint64_t now_ms, const peer_id_t *peer, double trust)
{
    entry_t *e = entry_get(t, now_ms, peer);
    e->trust = clamp01(trust, e->trust);
    e->below = e->trust < t->cfg.min_threshold;
}

void
trust_forget(trust_t *t, const peer_id_t *peer)
{
    free(peermap_remove(t->peers, peer));
}

static int
entry_cmp(const void *a, const void *b)
{
    const trust_entry_t *x = a, *y = b;
    if (x->trust != y->trust)
        return x->trust > y->trust ? -1 : 1;
    return peer_id_cmp(&x->peer, &y->peer);
}

size_t
trust_top(const trust_t *t, double min_trust, trust_entry_t *out, size_t max)
{
    size_t n = 0, it = 0;
    const entry_t *e;
    trust_entry_t *all = ls_calloc(peermap_count(t->peers) + 1, sizeof *all);
    while ((e = peermap_next(t->peers, &it)))
        if (e->trust >= min_trust)
            all[n++] = (trust_entry_t){e->id, e->trust};
    qsort(all, n, sizeof *all, entry_cmp);
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++)
        out[i] = all[i];
    free(all);
    return n;
}

size_t
trust_count(const trust_t *t)
{
    return peermap_count(t->peers);
}

const trust_config_t *
trust_config(const trust_t *t)
{
    return &t->cfg;
}
