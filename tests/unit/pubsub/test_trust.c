/* Tests of pubsub/trust: seed 001's formulas with exact numbers, and the
 * /lester/trust/1.0.0 message codec. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <math.h>

#include "lib/config/config.h"
#include "lib/err/err.h"
#include "lib/record/record.h"
#include "pubsub/trust/trust.h"
#include "pubsub/trust/trust_msg.h"

#define EPS 1e-12

/* This cmocka has no assert_double_equal. */
static void
near_(double a, double b, double eps, const char *file, int line)
{
    if (!(fabs(a - b) <= eps)) {
        print_error("%.17g != %.17g (eps %g)\n", a, b, eps);
        _fail(file, line);
    }
}
#define assert_near(a, b, eps) near_((a), (b), (eps), __FILE__, __LINE__)

static peer_id_t
pid(unsigned i)
{
    uint8_t pk[32] = {0};
    peer_id_t id;
    pk[0] = (uint8_t)i;
    pk[1] = (uint8_t)(i >> 8);
    pk[2] = 0x77;
    peer_id_from_ed25519(&id, pk);
    return id;
}

/* A pointer to pid(i) that stays valid for the next seven calls. */
static const peer_id_t *
pp(unsigned i)
{
    static peer_id_t ring[8];
    static unsigned k;
    peer_id_t *p = &ring[k++ % 8];
    *p = pid(i);
    return p;
}

#define MAX_EV 64
typedef struct sink_t {
    size_t n;
    peer_id_t peer[MAX_EV];
    const char *type[MAX_EV];
    double delta[MAX_EV], after[MAX_EV];
    uint64_t ts[MAX_EV];
    size_t below;
    peer_id_t below_peer;
    double stored;
    bool has_stored;
    uint64_t now;
} sink_t;

static void
on_change(void *ctx, const trust_change_t *c)
{
    sink_t *s = ctx;
    if (s->n < MAX_EV) {
        s->peer[s->n] = *c->peer;
        s->type[s->n] = c->event_type;
        s->delta[s->n] = c->trust_delta;
        s->after[s->n] = c->trust_after;
        s->ts[s->n] = c->timestamp_ms;
    }
    s->n++;
}

static void
on_below(void *ctx, const peer_id_t *peer, double trust)
{
    sink_t *s = ctx;
    (void)trust;
    s->below++;
    s->below_peer = *peer;
}

static bool
lookup(void *ctx, const peer_id_t *peer, double *trust)
{
    sink_t *s = ctx;
    (void)peer;
    if (s->has_stored)
        *trust = s->stored;
    return s->has_stored;
}

static uint64_t
now_ms(void *ctx)
{
    return ((sink_t *)ctx)->now;
}

static trust_t *
make(sink_t *s, const trust_config_t *cfg)
{
    trust_config_t d;
    trust_env_t env = {s, on_change, on_below, lookup, now_ms};
    peer_id_t self = pid(9999);
    memset(s, 0, sizeof *s);
    if (!cfg) {
        trust_config_default(&d);
        cfg = &d;
    }
    return trust_new(cfg, &env, &self, 0);
}

static void
test_event_deltas(void **state)
{
    sink_t s;
    trust_t *t = make(&s, NULL);
    peer_id_t a = pid(1);
    (void)state;

    assert_near(trust_get(t, &a), 0.5, EPS);
    assert_near(trust_report(t, 10, &a, TRUST_VALID_MESSAGE), 0.501, EPS);
    assert_near(trust_report(t, 11, &a, TRUST_INVALID_MESSAGE), 0.401, EPS);
    assert_near(trust_report(t, 12, &a, TRUST_TIMEOUT), 0.351, EPS);
    assert_near(trust_report(t, 13, &a, TRUST_PROTOCOL_VIOLATION), 0.251, EPS);
    assert_near(trust_report(t, 14, &a, TRUST_RATE_LIMITED), 0.201, EPS);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.type[0], "valid_message");
    assert_near(s.delta[0], 0.001, EPS);
    assert_near(s.after[0], 0.501, EPS);
    assert_int_equal(s.ts[0], 10);
    assert_true(peer_id_equal(&s.peer[0], &a));
    assert_string_equal(s.type[1], "invalid_message");
    assert_near(s.delta[1], -0.1, EPS);
    assert_string_equal(s.type[2], "timeout");
    assert_near(s.delta[2], -0.05, EPS);
    assert_string_equal(s.type[3], "protocol_violation");
    assert_string_equal(s.type[4], "rate_limited");
    uint64_t v, b;
    assert_true(trust_counts(t, &a, &v, &b));
    assert_int_equal(v, 1);
    assert_int_equal(b, 4);
    /* out of range: nothing */
    assert_near(trust_report(t, 15, &a, TRUST_EVENT_COUNT), 0.201, EPS);
    assert_int_equal(s.n, 5);
    trust_free(t);
}

static void
test_clamp(void **state)
{
    sink_t s;
    trust_t *t = make(&s, NULL);
    peer_id_t a = pid(1), b = pid(2);
    (void)state;

    trust_set(t, 0, &a, 0.05);
    assert_near(trust_report(t, 1, &a, TRUST_INVALID_MESSAGE), 0.0, 0);
    assert_near(s.delta[0], -0.05, EPS); /* the delta actually applied */
    assert_near(trust_report(t, 2, &a, TRUST_TIMEOUT), 0.0, 0);
    assert_int_equal(s.n, 1); /* no change, no event */
    trust_set(t, 0, &b, 0.9995);
    assert_near(trust_report(t, 3, &b, TRUST_VALID_MESSAGE), 1.0, 0);
    assert_near(s.delta[1], 0.0005, EPS);
    assert_near(trust_report(t, 4, &b, TRUST_VALID_MESSAGE), 1.0, 0);
    assert_int_equal(s.n, 2);
    trust_set(t, 0, &b, 7.0);
    assert_near(trust_get(t, &b), 1.0, 0);
    trust_free(t);
}

static void
test_decay(void **state)
{
    sink_t s;
    trust_t *t = make(&s, NULL);
    peer_id_t a = pid(1), b = pid(2), c = pid(3);
    (void)state;

    trust_set(t, 0, &a, 0.4);
    trust_set(t, 0, &b, 0.9);
    trust_set(t, 0, &c, 0.5);
    assert_int_equal(trust_tick(t, 59999), 60000);
    assert_int_equal(s.n, 0);
    assert_int_equal(trust_tick(t, 60000), 120000);
    /* trust + (initial - trust) * decay_rate */
    assert_near(trust_get(t, &a), 0.4 + (0.5 - 0.4) * 0.01, EPS); /* 0.401 */
    assert_near(trust_get(t, &a), 0.401, EPS);
    assert_near(trust_get(t, &b), 0.896, EPS);
    assert_near(trust_get(t, &c), 0.5, 0);
    assert_int_equal(s.n, 2); /* c did not change */
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(s.type[i], "decay");
    /* two intervals at once: two steps */
    assert_int_equal(trust_tick(t, 180000), 240000);
    assert_near(trust_get(t, &a), 0.401 + 0.099 * 0.01 + (0.5 - 0.40199) * 0.01, EPS);
    assert_near(trust_get(t, &a), 0.4029701, EPS);
    trust_free(t);
}

static void
test_decay_snaps_and_stops(void **state)
{
    sink_t s;
    trust_config_t cfg;
    trust_config_default(&cfg);
    cfg.decay_rate = 0.5;
    trust_t *t = make(&s, &cfg);
    peer_id_t a = pid(1);
    (void)state;

    trust_set(t, 0, &a, 0.6);
    uint64_t now = 0;
    for (int i = 0; i < 40; i++)
        now = trust_tick(t, now);
    assert_near(trust_get(t, &a), 0.5, 0);
    size_t n = s.n;
    trust_tick(t, now);
    assert_int_equal(s.n, n);
    assert_true(n < 40);
    trust_free(t);
}

static void
test_transitive_formula(void **state)
{
    sink_t s;
    trust_config_t cfg;
    trust_config_default(&cfg);
    cfg.transitive_cap = 1.0;
    trust_t *t = make(&s, &cfg);
    peer_id_t a = pid(1), b = pid(2);
    double boost;
    (void)state;

    /* seed 001: A (0.8) recommends B with 0.8: trust(B) += 0.8 x 0.8 x 0.1 */
    trust_set(t, 0, &a, 0.8);
    assert_int_equal(trust_recommend(t, 5, &a, &b, 0.8, &boost), 0);
    assert_near(boost, 0.064, EPS);
    assert_near(trust_get(t, &b), 0.564, EPS);
    assert_string_equal(s.type[0], "recommendation");
    assert_near(s.delta[0], 0.064, EPS);
    trust_free(t);
}

static void
test_transitive_bounds(void **state)
{
    sink_t s;
    trust_t *t = make(&s, NULL);
    peer_id_t a = pid(1), b = pid(2), low = pid(3), self = pid(9999);
    double boost;
    (void)state;

    trust_set(t, 0, &a, 1.0);
    trust_set(t, 0, &low, 0.59);
    assert_int_equal(trust_recommend(t, 1, &a, &b, 1.5, &boost), LS_EINVAL);
    assert_int_equal(trust_recommend(t, 1, &a, &b, -0.1, &boost), LS_EINVAL);
    assert_int_equal(trust_recommend(t, 1, &low, &b, 1.0, &boost), LS_EACCES);
    assert_int_equal(trust_recommend(t, 1, &a, &a, 1.0, &boost), LS_EACCES);
    assert_int_equal(trust_recommend(t, 1, &a, &self, 1.0, &boost), LS_EACCES);
    assert_int_equal(trust_recommend(t, 1, pp(77), &b, 1.0, &boost), LS_EACCES);
    assert_near(boost, 0.0, 0);
    /* 1.0 x 1.0 x 0.1 = 0.1, cut to the cap of 0.05 per interval */
    assert_int_equal(trust_recommend(t, 1, &a, &b, 1.0, &boost), 0);
    assert_near(boost, 0.05, EPS);
    assert_int_equal(trust_recommend(t, 1, &a, &b, 1.0, &boost), 0);
    assert_near(boost, 0.0, 0);
    assert_near(trust_get(t, &b), 0.55, EPS);
    /* a recommender counts 32 times per interval */
    for (unsigned i = 0; i < 30; i++)
        assert_int_equal(trust_recommend(t, 1, &a, pp(100 + i), 0.1, NULL), 0);
    assert_int_equal(trust_recommend(t, 1, &a, pp(200), 0.1, NULL), LS_EACCES);
    /* a new interval resets both */
    trust_tick(t, 60000);
    assert_int_equal(trust_recommend(t, 60001, &a, pp(200), 0.1, &boost), 0);
    assert_near(boost, 0.1 * trust_get(t, &a) * 0.1, EPS);
    trust_free(t);
}

static void
test_recommend_evicts_recommender(void **state)
{
    sink_t s;
    trust_config_t cfg;
    trust_config_default(&cfg);
    cfg.max_peers = 2;
    trust_t *t = make(&s, &cfg);
    peer_id_t a = pid(1), b = pid(2), c = pid(3);
    double boost;
    (void)state;

    trust_set(t, 0, &a, 1.0);
    trust_set(t, 5, &b, 0.5);
    /* c is new and the table is full: a, the least recently changed, makes room */
    assert_int_equal(trust_recommend(t, 10, &a, &c, 0.4, &boost), 0);
    assert_near(boost, 0.4 * 1.0 * 0.1, EPS);
    assert_near(trust_get(t, &c), 0.54, EPS);
    assert_false(trust_counts(t, &a, NULL, NULL));
    trust_free(t);
}

static void
test_reputation(void **state)
{
    sink_t s;
    trust_t *t = make(&s, NULL);
    peer_id_t a = pid(1), b = pid(2);
    double trend, stats;
    (void)state;

    /* a stranger: 0.6 x 0.5 + 0.2 x 0.5 + 0.2 x 0.5 */
    assert_near(trust_reputation(t, &a, &trend, &stats), 0.5, EPS);
    trust_report(t, 1, &a, TRUST_VALID_MESSAGE);
    /* trust 0.501; trend 0.5 + 5 x 0.001 = 0.505; stats (1+1)/(1+0+2) = 2/3 */
    double rep = trust_reputation(t, &a, &trend, &stats);
    assert_near(trend, 0.505, EPS);
    assert_near(stats, 2.0 / 3.0, EPS);
    assert_near(rep, 0.6 * 0.501 + 0.2 * 0.505 + 0.2 * (2.0 / 3.0), EPS);
    /* a fall of 0.15 saturates trend at 0; stats (0+1)/(0+2+2) */
    trust_report(t, 1, &b, TRUST_INVALID_MESSAGE);
    trust_report(t, 1, &b, TRUST_TIMEOUT);
    rep = trust_reputation(t, &b, &trend, &stats);
    assert_near(trend, 0.0, 0);
    assert_near(stats, 0.25, EPS);
    assert_near(rep, 0.6 * 0.35 + 0.2 * 0.25, EPS);
    /* after 8 decay intervals the window has moved past the first snapshot */
    uint64_t now = 0;
    for (int i = 0; i < 8; i++)
        now = trust_tick(t, now == 0 ? 60000 : now);
    trust_reputation(t, &a, &trend, &stats);
    double then = 0.501;
    for (int i = 0; i < 1; i++)
        then += (0.5 - then) * 0.01;
    assert_near(trend, 0.5 + 5 * (trust_get(t, &a) - then), 1e-9);
    trust_free(t);
}

static void
test_below_threshold(void **state)
{
    sink_t s;
    trust_t *t = make(&s, NULL);
    peer_id_t a = pid(1);
    (void)state;

    trust_report(t, 1, &a, TRUST_INVALID_MESSAGE); /* 0.4 */
    trust_report(t, 1, &a, TRUST_INVALID_MESSAGE); /* 0.3 */
    trust_report(t, 1, &a, TRUST_INVALID_MESSAGE); /* 0.2 */
    trust_report(t, 1, &a, TRUST_INVALID_MESSAGE); /* 0.1: not below */
    assert_int_equal(s.below, 0);
    trust_report(t, 1, &a, TRUST_TIMEOUT); /* 0.05 */
    assert_int_equal(s.below, 1);
    assert_true(peer_id_equal(&s.below_peer, &a));
    trust_report(t, 1, &a, TRUST_TIMEOUT);
    assert_int_equal(s.below, 1); /* once */
    trust_set(t, 1, &a, 0.15);
    trust_report(t, 1, &a, TRUST_INVALID_MESSAGE);
    assert_int_equal(s.below, 2);
    trust_free(t);
}

static void
test_presets(void **state)
{
    trust_config_t c;
    (void)state;

    trust_config_default(&c);
    assert_near(c.initial, 0.5, 0);
    assert_near(c.min_threshold, 0.1, 0);
    assert_near(c.decay_rate, 0.01, 0);
    assert_int_equal(trust_config_profile(&c, "high-throughput"), 0);
    assert_int_equal(trust_config_profile(&c, "low-resource"), 0);
    assert_near(c.initial, 0.5, 0);
    assert_int_equal(trust_config_profile(&c, "high-security"), 0);
    assert_near(c.initial, 0.3, 0);
    assert_near(c.min_threshold, 0.5, 0);
    assert_near(c.decay_rate, 0.02, 0);
    assert_int_equal(trust_config_profile(&c, "paranoid"), LS_EINVAL);

    /* high-security arithmetic: start 0.3, already below 0.5 */
    sink_t s;
    trust_t *t = make(&s, &c);
    peer_id_t a = pid(1);
    assert_near(trust_report(t, 1, &a, TRUST_VALID_MESSAGE), 0.301, EPS);
    assert_int_equal(s.below, 0); /* born below: not a fall */
    trust_set(t, 1, &a, 0.5);
    trust_tick(t, 60000);
    assert_near(trust_get(t, &a), 0.5 + (0.3 - 0.5) * 0.02, EPS); /* 0.496 */
    assert_int_equal(s.below, 1);
    trust_free(t);

    static const config_key_t schema[] = {
        {"profile", CONFIG_STRING, "\"high-security\"", 0, 0, NULL},
        {"trust.decay_rate", CONFIG_DOUBLE, "0.03", 0, 1, NULL},
    };
    config_t *cfg = config_new(schema, 2);
    assert_int_equal(trust_config_from(&c, cfg, NULL), 0);
    assert_near(c.initial, 0.3, 0);
    assert_near(c.decay_rate, 0.03, 0);
    config_free(cfg);
}

static void
test_hook_lookup_evict_top(void **state)
{
    sink_t s;
    trust_config_t cfg;
    trust_config_default(&cfg);
    cfg.max_peers = 3;
    trust_t *t = make(&s, &cfg);
    (void)state;

    trust_hook_t hook = trust_as_hook(t);
    s.now = 42;
    trust_hook_report(&hook, pp(1), TRUST_TIMEOUT);
    assert_near(trust_get(t, pp(1)), 0.45, EPS);
    assert_int_equal(s.ts[0], 42);
    s.has_stored = true;
    s.stored = 0.7;
    assert_near(trust_report(t, 50, pp(2), TRUST_VALID_MESSAGE), 0.701, EPS);
    s.has_stored = false;
    trust_report(t, 60, pp(3), TRUST_VALID_MESSAGE);
    trust_report(t, 70, pp(4), TRUST_VALID_MESSAGE); /* evicts pid(1), touched at 42 */
    assert_int_equal(trust_count(t), 3);
    assert_false(trust_counts(t, pp(1), NULL, NULL));
    trust_entry_t top[4];
    assert_int_equal(trust_top(t, 0.5, top, 4), 3);
    assert_true(peer_id_equal(&top[0].peer, pp(2)));
    assert_near(top[0].trust, 0.701, EPS);
    assert_int_equal(trust_top(t, 0.6, top, 4), 1);
    assert_int_equal(trust_top(t, 0.0, top, 2), 2);
    trust_forget(t, pp(2));
    assert_int_equal(trust_count(t), 2);
    trust_free(t);
}

/* ---- messages ---- */

static void
keypair(ed25519_keypair_t *kp, uint8_t b)
{
    uint8_t seed[32];
    memset(seed, b, sizeof seed);
    ed25519_keypair_from_seed(kp, seed);
}

static void
test_msg_roundtrip(void **state)
{
    ed25519_keypair_t kp;
    trust_msg_t m = {0}, d;
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    peer_id_t me;
    (void)state;

    keypair(&kp, 1);
    peer_id_from_ed25519(&me, kp.pk);
    m.type = TRUST_MSG_UPDATE;
    m.ts_ms = 1700000000000;
    m.ttl_ms = 60000;
    m.update.peer = pid(5);
    m.update.trust_ppm = trust_msg_to_ppm(0.8);
    assert_int_equal(m.update.trust_ppm, 800000);
    assert_int_equal(trust_msg_encode(&m, &kp, &out), 0);
    assert_int_equal(trust_msg_decode(out.data, out.len, m.ts_ms + 1000, &d), 0);
    assert_int_equal(d.type, TRUST_MSG_UPDATE);
    assert_true(peer_id_equal(&d.signer, &me));
    assert_true(peer_id_equal(&d.update.peer, pp(5)));
    assert_near(trust_msg_from_ppm(d.update.trust_ppm), 0.8, EPS);
    /* expiry and skew */
    assert_int_equal(trust_msg_decode(out.data, out.len, m.ts_ms + 60001, &d), LS_EEXPIRED);
    assert_int_equal(trust_msg_decode(out.data, out.len, m.ts_ms - 300001, &d), LS_EEXPIRED);
    assert_int_equal(d.type, 0);
    /* a flipped bit in the signature */
    out.data[out.len - 1] ^= 1;
    assert_int_equal(trust_msg_decode(out.data, out.len, m.ts_ms, &d), LS_EBADSIG);
    buf_clear(&out);

    m.type = TRUST_MSG_PEERS_REQUEST;
    m.request_id = 7;
    m.limit = 16;
    m.min_ppm = 600000;
    assert_int_equal(trust_msg_encode(&m, &kp, &out), 0);
    assert_int_equal(trust_msg_decode(out.data, out.len, m.ts_ms, &d), 0);
    assert_int_equal(d.request_id, 7);
    assert_int_equal(d.limit, 16);
    assert_int_equal(d.min_ppm, 600000);
    buf_clear(&out);

    m.type = TRUST_MSG_PEERS_RESPONSE;
    m.n_peers = TRUST_MSG_MAX_PEERS;
    for (size_t i = 0; i < m.n_peers; i++)
        m.peers[i] = (trust_msg_peer_t){pid(100 + (unsigned)i), (uint32_t)(i * 1000)};
    assert_int_equal(trust_msg_encode(&m, &kp, &out), 0);
    assert_true(out.len <= TRUST_MSG_MAX_LEN);
    assert_int_equal(trust_msg_decode(out.data, out.len, m.ts_ms, &d), 0);
    assert_int_equal(d.n_peers, TRUST_MSG_MAX_PEERS);
    assert_true(peer_id_equal(&d.peers[63].peer, pp(163)));
    assert_int_equal(d.peers[63].trust_ppm, 63000);
    buf_free(&out);
}

static void
test_msg_rejects(void **state)
{
    ed25519_keypair_t kp;
    trust_msg_t m = {0}, d;
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    (void)state;

    keypair(&kp, 2);
    m.type = TRUST_MSG_PEERS_RESPONSE;
    m.ts_ms = 1000;
    m.ttl_ms = 1000;
    m.n_peers = 2;
    m.peers[0] = m.peers[1] = (trust_msg_peer_t){pid(1), 5};
    assert_int_equal(trust_msg_encode(&m, &kp, &out), LS_EINVAL); /* duplicate */
    m.n_peers = 1;
    m.peers[0].trust_ppm = TRUST_PPM + 1;
    assert_int_equal(trust_msg_encode(&m, &kp, &out), LS_EINVAL);
    m.peers[0].trust_ppm = 1;
    m.ttl_ms = 0;
    assert_int_equal(trust_msg_encode(&m, &kp, &out), LS_EINVAL);
    m.ttl_ms = TRUST_MSG_MAX_TTL_MS + 1;
    assert_int_equal(trust_msg_encode(&m, &kp, &out), LS_EINVAL);
    m.ttl_ms = 1000;
    m.type = TRUST_MSG_PEERS_REQUEST;
    m.limit = 0;
    assert_int_equal(trust_msg_encode(&m, &kp, &out), LS_EINVAL);
    assert_int_equal(out.len, 0);

    /* a correctly signed record with an extra key, or a wrong type */
    record_t *r = record_new();
    record_set_str(r, "type", "trust_update");
    record_set_u64(r, "ts", 1000);
    record_set_u64(r, "ttl", 1000);
    record_set_bin(r, "peer", pid(1).bytes, pid(1).len);
    record_set_u64(r, "trust", 5);
    record_set_u64(r, "extra", 1);
    record_sign(r, &kp);
    assert_int_equal(record_encode(r, &out), 0);
    assert_int_equal(trust_msg_decode(out.data, out.len, 1000, &d), LS_EINVAL);
    buf_clear(&out);
    record_remove(r, "extra");
    record_set_str(r, "type", "trust_gossip");
    record_sign(r, &kp);
    assert_int_equal(record_encode(r, &out), 0);
    assert_int_equal(trust_msg_decode(out.data, out.len, 1000, &d), LS_EINVAL);
    buf_clear(&out);
    record_set_str(r, "type", "trust_update");
    record_set_bin(r, "peer",
                   "\x00\x03"
                   "abc",
                   5); /* not a peer ID */
    record_sign(r, &kp);
    assert_int_equal(record_encode(r, &out), 0);
    assert_int_equal(trust_msg_decode(out.data, out.len, 1000, &d), LS_EINVAL);
    record_free(r);

    uint8_t big[TRUST_MSG_MAX_LEN + 1] = {0};
    assert_int_equal(trust_msg_decode(big, sizeof big, 0, &d), LS_ETOOBIG);
    static const uint8_t not_canonical[] = {0xde, 0x00, 0x00}; /* map16 of 0 */
    assert_int_equal(trust_msg_decode(not_canonical, 3, 0, &d), LS_ENONCANON);
    assert_int_equal(trust_msg_to_ppm(-1), 0);
    assert_int_equal(trust_msg_to_ppm(2), TRUST_PPM);
    assert_int_equal(trust_msg_to_ppm(0.0000004), 0);
    assert_int_equal(trust_msg_to_ppm(0.0000005), 1);
    buf_free(&out);
}

/* A flood of valid messages earns at most valid_cap per decay interval, so one
 * rate-limit report (-0.05) outweighs a whole interval of it; the cap renews with
 * the interval, and the messages still count in stats. */
static void
test_valid_cap(void **state)
{
    sink_t s;
    trust_t *t = make(&s, NULL);
    peer_id_t a = pid(1);
    (void)state;

    assert_near(trust_config(t)->valid_cap, 0.02, 0);
    for (int i = 0; i < 5000; i++)
        trust_report(t, 10, &a, TRUST_VALID_MESSAGE);
    assert_near(trust_get(t, &a), 0.52, 1e-9);
    assert_int_equal(s.n, 20); /* +0.001 twenty times; the rest change nothing */
    assert_near(trust_report(t, 11, &a, TRUST_RATE_LIMITED), 0.47, 1e-9);
    for (int i = 0; i < 5000; i++)
        trust_report(t, 12, &a, TRUST_VALID_MESSAGE);
    assert_near(trust_get(t, &a), 0.47, 1e-9); /* the flood cannot win it back */
    uint64_t valid = 0, bad = 0;
    assert_true(trust_counts(t, &a, &valid, &bad));
    assert_int_equal(valid, 10000);
    assert_int_equal(bad, 1);

    trust_tick(t, 60000); /* decay toward 0.5, and a fresh allowance */
    double after_decay = 0.47 + (0.5 - 0.47) * 0.01;
    assert_near(trust_get(t, &a), after_decay, 1e-9);
    assert_near(trust_report(t, 60001, &a, TRUST_VALID_MESSAGE), after_decay + 0.001, 1e-9);
    trust_free(t);

    /* configurable; 0 turns valid-message gains off */
    trust_config_t c;
    trust_config_default(&c);
    c.valid_cap = 0.0;
    t = make(&s, &c);
    assert_near(trust_report(t, 1, &a, TRUST_VALID_MESSAGE), 0.5, 0);
    assert_int_equal(s.n, 0);
    trust_free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_deltas),
        cmocka_unit_test(test_clamp),
        cmocka_unit_test(test_valid_cap),
        cmocka_unit_test(test_decay),
        cmocka_unit_test(test_decay_snaps_and_stops),
        cmocka_unit_test(test_transitive_formula),
        cmocka_unit_test(test_transitive_bounds),
        cmocka_unit_test(test_recommend_evicts_recommender),
        cmocka_unit_test(test_reputation),
        cmocka_unit_test(test_below_threshold),
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_hook_lookup_evict_top),
        cmocka_unit_test(test_msg_roundtrip),
        cmocka_unit_test(test_msg_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
