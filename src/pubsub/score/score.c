/* score — GossipSub v1.1 peer scoring; the contract and formulas are in score.h. */
#include "pubsub/score/score.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "net/peermap/peermap.h"

/* Decay intervals applied at most in one tick (pow() makes more pointless). */
#define MAX_CATCHUP 100000

typedef struct tstats_t {
    bool in_mesh;
    uint64_t graft_ms;
    double first_deliveries; /* P2 */
    double mesh_deliveries;  /* P3 */
    double mesh_failure;     /* P3b */
    double invalid;          /* P4 */
} tstats_t;

typedef struct peer_t {
    peer_id_t id;
    bool connected;
    uint64_t expire_ms; /* when !connected */
    char ip[SCORE_IP_MAX_LEN + 1];
    bool has_ip;
    double behaviour; /* P7 */
    tstats_t *ts;     /* indexed by topic */
    size_t n_ts;
} peer_t;

typedef struct topic_t {
    uint8_t *name;
    size_t len;
    score_topic_params_t p;
} topic_t;

typedef struct ip_count_t {
    char ip[SCORE_IP_MAX_LEN + 1];
    size_t n;
} ip_count_t;

struct score_t {
    score_params_t p;
    score_env_t env;
    peermap_t *peers;
    topic_t topics[SCORE_MAX_TOPICS];
    size_t n_topics;
    ip_count_t *ips;
    size_t n_ips;
    uint64_t next_decay_ms;
};

void
score_topic_params_default(score_topic_params_t *p)
{
    *p = (score_topic_params_t){
        .topic_weight = 1.0,
        .time_in_mesh_weight = 0.01,
        .time_in_mesh_quantum_ms = 1000,
        .time_in_mesh_cap = 3600,
        .first_message_deliveries_weight = 1.0,
        .first_message_deliveries_decay = 0.9,
        .first_message_deliveries_cap = 20,
        .mesh_message_deliveries_weight = 0.0,
        .mesh_message_deliveries_decay = 0.5,
        .mesh_message_deliveries_cap = 20,
        .mesh_message_deliveries_threshold = 1,
        .mesh_message_deliveries_window_ms = 10,
        .mesh_message_deliveries_activation_ms = 5000,
        .mesh_failure_penalty_weight = 0.0,
        .mesh_failure_penalty_decay = 0.5,
        .invalid_message_deliveries_weight = -10.0,
        .invalid_message_deliveries_decay = 0.5,
    };
}

void
score_params_default(score_params_t *p)
{
    *p = (score_params_t){
        .topic_score_cap = 50,
        .app_specific_weight = 10,
        .ip_colocation_factor_weight = -10,
        .ip_colocation_factor_threshold = 3,
        .behaviour_penalty_weight = -10,
        .behaviour_penalty_threshold = 1,
        .behaviour_penalty_decay = 0.9,
        .decay_interval_ms = 1000,
        .decay_to_zero = 0.01,
        .retain_score_ms = 3600 * 1000,
    };
}

void
score_thresholds_default(score_thresholds_t *t)
{
    *t = (score_thresholds_t){-10, -50, -80, 10, 5};
}

bool
score_thresholds_valid(const score_thresholds_t *t)
{
    return t->gossip <= 0 && t->publish <= t->gossip && t->graylist <= t->publish &&
           t->accept_px >= 0 && t->opportunistic_graft >= 0;
}

static bool
decay_ok(double d)
{
    return d >= 0.0 && d < 1.0;
}

bool
score_topic_params_valid(const score_topic_params_t *p)
{
    return p->topic_weight >= 0 && p->time_in_mesh_weight >= 0 && p->time_in_mesh_quantum_ms > 0 &&
           p->time_in_mesh_cap >= 0 && p->first_message_deliveries_weight >= 0 &&
           decay_ok(p->first_message_deliveries_decay) && p->first_message_deliveries_cap >= 0 &&
           p->mesh_message_deliveries_weight <= 0 && decay_ok(p->mesh_message_deliveries_decay) &&
           p->mesh_message_deliveries_cap >= p->mesh_message_deliveries_threshold &&
           p->mesh_message_deliveries_threshold >= 0 && p->mesh_failure_penalty_weight <= 0 &&
           decay_ok(p->mesh_failure_penalty_decay) && p->invalid_message_deliveries_weight <= 0 &&
           decay_ok(p->invalid_message_deliveries_decay);
}

score_t *
score_new(const score_params_t *params, const score_env_t *env, uint64_t now_ms)
{
    score_t *s = ls_calloc(1, sizeof *s);
    s->p = *params;
    if (s->p.decay_interval_ms == 0)
        s->p.decay_interval_ms = 1;
    if (env)
        s->env = *env;
    s->peers = peermap_new(offsetof(peer_t, id));
    s->next_decay_ms = now_ms + s->p.decay_interval_ms;
    return s;
}

static void
peer_free(peer_t *p)
{
    if (p) {
        free(p->ts);
        free(p);
    }
}

void
score_free_(score_t *s)
{
    if (!s)
        return;
    size_t it = 0;
    peer_t *p;
    while ((p = peermap_next(s->peers, &it)))
        peer_free(p);
    peermap_free(s->peers);
    for (size_t i = 0; i < s->n_topics; i++)
        free(s->topics[i].name);
    free(s->ips);
    free(s);
}

static int
topic_index(const score_t *s, const uint8_t *topic, size_t len)
{
    for (size_t i = 0; i < s->n_topics; i++)
        if (s->topics[i].len == len && memcmp(s->topics[i].name, topic, len) == 0)
            return (int)i;
    return -1;
}

int
score_set_topic(score_t *s, const uint8_t *topic, size_t len, const score_topic_params_t *p)
{
    if (!score_topic_params_valid(p))
        return LS_EINVAL;
    int i = topic_index(s, topic, len);
    if (i < 0) {
        if (s->n_topics >= SCORE_MAX_TOPICS)
            return LS_ELIMIT;
        i = (int)s->n_topics++;
        s->topics[i].name = ls_memdup(topic, len);
        s->topics[i].len = len;
    }
    s->topics[i].p = *p;
    return 0;
}

/* The stats of `peer` in `topic`, or NULL if either is unknown (not scored). */
static tstats_t *
stats(const score_t *s, const peer_id_t *peer, const uint8_t *topic, size_t len)
{
    peer_t *p = peermap_get(s->peers, peer);
    int i = topic_index(s, topic, len);
    if (!p || i < 0)
        return NULL;
    if ((size_t)i >= p->n_ts) {
        p->ts = ls_realloc(p->ts, (size_t)(i + 1) * sizeof *p->ts);
        memset(p->ts + p->n_ts, 0, ((size_t)i + 1 - p->n_ts) * sizeof *p->ts);
        p->n_ts = (size_t)i + 1;
    }
    return &p->ts[i];
}

static bool
ip_exempt(const char *ip)
{
    return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 ||
           strncmp(ip, "::ffff:127.", 11) == 0;
}

static ip_count_t *
ip_find(const score_t *s, const char *ip)
{
    for (size_t i = 0; i < s->n_ips; i++)
        if (strcmp(s->ips[i].ip, ip) == 0)
            return &s->ips[i];
    return NULL;
}

static void
ip_add(score_t *s, const char *ip, int delta)
{
    ip_count_t *c = ip_find(s, ip);
    if (!c && delta > 0) {
        s->ips = ls_realloc(s->ips, (s->n_ips + 1) * sizeof *s->ips);
        c = &s->ips[s->n_ips++];
        memset(c, 0, sizeof *c);
        memcpy(c->ip, ip, strlen(ip));
    }
    if (!c)
        return;
    if (delta > 0)
        c->n++;
    else if (c->n > 0 && --c->n == 0)
        *c = s->ips[--s->n_ips]; /* swap-remove */
}

void
score_add_peer(score_t *s, uint64_t now_ms, const peer_id_t *peer, const char *ip)
{
    (void)now_ms;
    peer_t *p = peermap_get(s->peers, peer);
    if (p && p->connected)
        return;
    if (!p) {
        p = ls_calloc(1, sizeof *p);
        p->id = *peer;
        peermap_put(s->peers, p);
    }
    p->connected = true;
    p->has_ip = ip && strlen(ip) <= SCORE_IP_MAX_LEN;
    if (p->has_ip) {
        memset(p->ip, 0, sizeof p->ip);
        memcpy(p->ip, ip, strlen(ip));
        ip_add(s, p->ip, +1);
    }
}

void
score_remove_peer(score_t *s, uint64_t now_ms, const peer_id_t *peer)
{
    peer_t *p = peermap_get(s->peers, peer);
    if (!p || !p->connected)
        return;
    for (size_t i = 0; i < p->n_ts; i++)
        if (p->ts[i].in_mesh)
            score_prune(s, now_ms, peer, s->topics[i].name, s->topics[i].len);
    p->connected = false;
    p->expire_ms = now_ms + s->p.retain_score_ms;
    if (p->has_ip)
        ip_add(s, p->ip, -1);
}

void
score_graft(score_t *s, uint64_t now_ms, const peer_id_t *peer, const uint8_t *topic, size_t len)
{
    tstats_t *t = stats(s, peer, topic, len);
    if (t && !t->in_mesh) {
        t->in_mesh = true;
        t->graft_ms = now_ms;
        t->mesh_deliveries = 0;
    }
}

/* P3's deficit of `t` at `now_ms` (0 if not active). */
static double
deficit(const topic_t *tp, const tstats_t *t, uint64_t now_ms)
{
    const score_topic_params_t *p = &tp->p;
    if (!t->in_mesh || now_ms < t->graft_ms ||
        now_ms - t->graft_ms < p->mesh_message_deliveries_activation_ms ||
        t->mesh_deliveries >= p->mesh_message_deliveries_threshold)
        return 0.0;
    return p->mesh_message_deliveries_threshold - t->mesh_deliveries;
}

void
score_prune(score_t *s, uint64_t now_ms, const peer_id_t *peer, const uint8_t *topic, size_t len)
{
    tstats_t *t = stats(s, peer, topic, len);
    if (!t || !t->in_mesh)
        return;
    double d = deficit(&s->topics[topic_index(s, topic, len)], t, now_ms);
    t->mesh_failure += d * d;
    t->in_mesh = false;
}

void
score_first_delivery(score_t *s, const peer_id_t *peer, const uint8_t *topic, size_t len)
{
    tstats_t *t = stats(s, peer, topic, len);
    if (!t)
        return;
    const score_topic_params_t *p = &s->topics[topic_index(s, topic, len)].p;
    t->first_deliveries = fmin(t->first_deliveries + 1, p->first_message_deliveries_cap);
    if (t->in_mesh)
        t->mesh_deliveries = fmin(t->mesh_deliveries + 1, p->mesh_message_deliveries_cap);
}

void
score_duplicate_delivery(score_t *s, uint64_t now_ms, uint64_t first_ms, const peer_id_t *peer,
                         const uint8_t *topic, size_t len)
{
    tstats_t *t = stats(s, peer, topic, len);
    if (!t || !t->in_mesh)
        return;
    const score_topic_params_t *p = &s->topics[topic_index(s, topic, len)].p;
    if (now_ms >= first_ms && now_ms - first_ms <= p->mesh_message_deliveries_window_ms)
        t->mesh_deliveries = fmin(t->mesh_deliveries + 1, p->mesh_message_deliveries_cap);
}

void
score_invalid(score_t *s, const peer_id_t *peer, const uint8_t *topic, size_t len)
{
    tstats_t *t = stats(s, peer, topic, len);
    if (t)
        t->invalid += 1;
}

void
score_add_penalty(score_t *s, const peer_id_t *peer, double count)
{
    peer_t *p = peermap_get(s->peers, peer);
    if (p && count > 0)
        p->behaviour += count;
}

static double
topic_score(const topic_t *tp, const tstats_t *t, uint64_t now_ms)
{
    const score_topic_params_t *p = &tp->p;
    double v = 0.0;
    if (t->in_mesh && now_ms > t->graft_ms) {
        double q = (double)(now_ms - t->graft_ms) / (double)p->time_in_mesh_quantum_ms;
        v += p->time_in_mesh_weight * fmin(q, p->time_in_mesh_cap);
    }
    v += p->first_message_deliveries_weight * t->first_deliveries;
    double d = deficit(tp, t, now_ms);
    v += p->mesh_message_deliveries_weight * d * d;
    v += p->mesh_failure_penalty_weight * t->mesh_failure;
    v += p->invalid_message_deliveries_weight * t->invalid * t->invalid;
    return p->topic_weight * v;
}

double
score_get(const score_t *s, uint64_t now_ms, const peer_id_t *peer)
{
    const peer_t *p = peermap_get(s->peers, peer);
    double v = 0.0;
    if (p) {
        for (size_t i = 0; i < p->n_ts && i < s->n_topics; i++)
            v += topic_score(&s->topics[i], &p->ts[i], now_ms);
        if (s->p.topic_score_cap > 0 && v > s->p.topic_score_cap)
            v = s->p.topic_score_cap;
        if (p->has_ip && !ip_exempt(p->ip)) {
            const ip_count_t *c = ip_find(s, p->ip);
            double surplus = (c ? (double)c->n : 0.0) - s->p.ip_colocation_factor_threshold;
            if (surplus > 0)
                v += s->p.ip_colocation_factor_weight * surplus * surplus;
        }
        double b = p->behaviour - s->p.behaviour_penalty_threshold;
        if (b > 0)
            v += s->p.behaviour_penalty_weight * b * b;
    }
    if (s->env.app_score)
        v += s->p.app_specific_weight * s->env.app_score(s->env.ctx, peer);
    return v;
}

static double
decayed(double v, double decay, double k, double to_zero)
{
    v *= pow(decay, k);
    return v < to_zero ? 0.0 : v;
}

static void
decay_peer(const score_t *s, peer_t *p, double k)
{
    double z = s->p.decay_to_zero;
    for (size_t i = 0; i < p->n_ts && i < s->n_topics; i++) {
        const score_topic_params_t *tp = &s->topics[i].p;
        tstats_t *t = &p->ts[i];
        t->first_deliveries =
            decayed(t->first_deliveries, tp->first_message_deliveries_decay, k, z);
        t->mesh_deliveries = decayed(t->mesh_deliveries, tp->mesh_message_deliveries_decay, k, z);
        t->mesh_failure = decayed(t->mesh_failure, tp->mesh_failure_penalty_decay, k, z);
        t->invalid = decayed(t->invalid, tp->invalid_message_deliveries_decay, k, z);
    }
    p->behaviour = decayed(p->behaviour, s->p.behaviour_penalty_decay, k, z);
}

uint64_t
score_tick(score_t *s, uint64_t now_ms)
{
    if (now_ms < s->next_decay_ms)
        return s->next_decay_ms;
    uint64_t k = (now_ms - s->next_decay_ms) / s->p.decay_interval_ms + 1;
    s->next_decay_ms += k * s->p.decay_interval_ms;
    if (k > MAX_CATCHUP)
        k = MAX_CATCHUP;
    size_t it = 0, n_dead = 0;
    peer_t *p;
    peer_t **dead = ls_calloc(peermap_count(s->peers) + 1, sizeof *dead);
    while ((p = peermap_next(s->peers, &it))) {
        if (!p->connected && now_ms >= p->expire_ms)
            dead[n_dead++] = p;
        else
            decay_peer(s, p, (double)k);
    }
    for (size_t i = 0; i < n_dead; i++) {
        peermap_remove(s->peers, &dead[i]->id);
        peer_free(dead[i]);
    }
    free(dead);
    return s->next_decay_ms;
}

size_t
score_count(const score_t *s)
{
    return peermap_count(s->peers);
}
