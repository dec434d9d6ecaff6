/* Lookups over an in-process simulated network of 200 nodes (kad_sim). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dht/kad.h"
#include "dht/kad_sim.h"
#include "dht/kadmsg.h"
#include "lib/crypto/ed25519.h"
#include "lib/err/err.h"

#define N 200

typedef struct outcome_t {
    int calls, status;
    size_t hops, messages, npeers, successes;
    peer_id_t peers[64];
    bool meta[64];
    uint8_t value[KAD_VALUE_MAX];
    size_t value_len;
} outcome_t;

static void
on_done(void *arg, const kad_result_t *res)
{
    outcome_t *o = arg;
    o->calls++;
    o->status = res->status;
    o->hops = res->hops;
    o->messages = res->messages;
    o->successes = res->successes;
    o->npeers = LS_MIN(res->npeers, (size_t)64);
    for (size_t i = 0; i < o->npeers; i++) {
        o->peers[i] = res->peers[i].id;
        o->meta[i] = res->peers[i].meta_len > 0;
    }
    o->value_len = res->value_len;
    if (res->value_len)
        memcpy(o->value, res->value, res->value_len);
}

static kad_sim_t *
make_sim(uint64_t seed)
{
    kad_sim_config_t cfg;
    kad_sim_config_default(&cfg);
    cfg.nodes = N;
    cfg.seed = seed;
    kad_sim_t *sim = kad_sim_new(&cfg);
    kad_sim_fill_tables(sim, 20);
    kad_sim_run(sim, 60000); /* eviction pings from the fill */
    return sim;
}

static void
test_find_peer_all(void **state)
{
    (void)state;
    kad_sim_t *sim = make_sim(7);
    outcome_t *o = calloc(50, sizeof *o);
    for (size_t i = 0; i < 50; i++) {
        size_t from = kad_sim_random(sim, N), to = (from + 1 + kad_sim_random(sim, N - 1)) % N;
        assert_int_equal(kad_find_peer(kad_sim_node(sim, from), kad_sim_now(sim),
                                       kad_sim_peer(sim, to), on_done, &o[i]),
                         0);
        kad_sim_poke(sim, from);
        kad_sim_run(sim, 120000);
        assert_int_equal(o[i].calls, 1);
        assert_int_equal(o[i].status, 0);
        assert_true(peer_id_equal(&o[i].peers[0], kad_sim_peer(sim, to)));
        assert_true(o[i].hops >= 1 && o[i].hops <= 4);
    }
    free(o);
    kad_sim_free(sim);
}

/* The k closest found by a lookup are the true k closest. */
static void
test_closest_is_exact(void **state)
{
    (void)state;
    kad_sim_t *sim = make_sim(11);
    outcome_t *o = calloc(1, sizeof *o);
    const uint8_t key[] = "some key";
    kad_key_t target;
    kad_key_from_bytes(&target, key, sizeof key);
    assert_int_equal(
        kad_get_closest(kad_sim_node(sim, 3), kad_sim_now(sim), key, sizeof key, on_done, o), 0);
    kad_sim_poke(sim, 3);
    kad_sim_run(sim, 120000);
    assert_int_equal(o->calls, 1);
    assert_int_equal(o->npeers, 20);
    /* count nodes strictly closer than the 20th returned: must be 19 (+ maybe node 3) */
    kad_key_t last;
    kad_key_from_peer(&last, &o->peers[19]);
    size_t closer = 0;
    for (size_t i = 0; i < N; i++) {
        kad_key_t k;
        kad_key_from_peer(&k, kad_sim_peer(sim, i));
        closer += kad_key_cmp_dist(&target, &k, &last) < 0 && i != 3;
    }
    assert_int_equal(closer, 19);
    free(o);
    kad_sim_free(sim);
}

static void
test_put_get_value(void **state)
{
    (void)state;
    kad_sim_t *sim = make_sim(13);
    ed25519_keypair_t kp;
    ed25519_keypair_generate(&kp);
    const uint8_t key[] = "/lester/pkg/hello";
    buf_t val = BUF_INIT(KAD_VALUE_MAX);
    uint64_t now = kad_sim_now(sim);
    assert_int_equal(kad_lester_value_make(key, sizeof key - 1, (const uint8_t *)"world", 5, 1, now,
                                           now + 86400000, &kp, &val),
                     0);
    outcome_t *o = calloc(2, sizeof *o);
    assert_int_equal(kad_put_value(kad_sim_node(sim, 5), now, key, sizeof key - 1, val.data,
                                   val.len, on_done, &o[0]),
                     0);
    kad_sim_poke(sim, 5);
    kad_sim_run(sim, 120000);
    assert_int_equal(o[0].calls, 1);
    assert_int_equal(o[0].status, 0);
    assert_true(o[0].successes >= 15);
    /* an unknown namespace is refused locally */
    assert_int_equal(kad_put_value(kad_sim_node(sim, 5), now, (const uint8_t *)"/x/y", 4, val.data,
                                   val.len, on_done, &o[1]),
                     LS_EINVAL);

    assert_int_equal(kad_get_value(kad_sim_node(sim, 150), kad_sim_now(sim), key, sizeof key - 1, 3,
                                   on_done, &o[1]),
                     0);
    kad_sim_poke(sim, 150);
    kad_sim_run(sim, 120000);
    assert_int_equal(o[1].calls, 1);
    assert_int_equal(o[1].status, 0);
    assert_int_equal(o[1].successes, 3);
    buf_t payload = BUF_INIT(KAD_VALUE_MAX);
    assert_int_equal(kad_lester_value_check(NULL, kad_sim_now(sim), key, sizeof key - 1, o[1].value,
                                            o[1].value_len, NULL, &payload),
                     0);
    assert_int_equal(payload.len, 5);
    assert_memory_equal(payload.data, "world", 5);
    buf_free(&payload);
    buf_free(&val);
    free(o);
    kad_sim_free(sim);
}

static void
test_provide_and_find_providers(void **state)
{
    (void)state;
    kad_sim_t *sim = make_sim(17);
    /* node 9's identity must sign its metadata: use a real key for a fresh node */
    const uint8_t key[] = "\x01\x55\x12\x20"
                          "cid-of-some-file-0123456789abcdef";
    outcome_t *o = calloc(2, sizeof *o);
    assert_int_equal(kad_provide(kad_sim_node(sim, 9), kad_sim_now(sim), key, sizeof key - 1, NULL,
                                 0, on_done, &o[0]),
                     0);
    kad_sim_poke(sim, 9);
    kad_sim_run(sim, 120000);
    assert_int_equal(o[0].status, 0);
    assert_true(o[0].successes >= 15);
    assert_int_equal(kad_get_providers(kad_sim_node(sim, 77), kad_sim_now(sim), key, sizeof key - 1,
                                       1, on_done, &o[1]),
                     0);
    kad_sim_poke(sim, 77);
    kad_sim_run(sim, 120000);
    assert_int_equal(o[1].calls, 1);
    assert_int_equal(o[1].status, 0);
    assert_int_equal(o[1].npeers, 1);
    assert_true(peer_id_equal(&o[1].peers[0], kad_sim_peer(sim, 9)));
    free(o);
    kad_sim_free(sim);
}

static void
test_churn_and_timeouts(void **state)
{
    (void)state;
    kad_sim_t *sim = make_sim(19);
    for (size_t i = 0; i < N; i++)
        kad_sim_set_dead(sim, i, kad_sim_random(sim, 100) < 30);
    size_t ok = 0, tried = 0;
    outcome_t *o = calloc(1, sizeof *o);
    for (size_t t = 0; t < 40; t++) {
        size_t from = kad_sim_random(sim, N), to = kad_sim_random(sim, N);
        if (from == to || kad_sim_is_dead(sim, from) || kad_sim_is_dead(sim, to))
            continue;
        memset(o, 0, sizeof *o);
        assert_int_equal(kad_find_peer(kad_sim_node(sim, from), kad_sim_now(sim),
                                       kad_sim_peer(sim, to), on_done, o),
                         0);
        kad_sim_poke(sim, from);
        kad_sim_run(sim, 600000);
        assert_int_equal(o->calls, 1);
        tried++;
        ok += o->status == 0;
    }
    assert_true(tried > 10);
    assert_int_equal(ok, tried);
    /* everyone dead but one node: its lookup times out and reports it once */
    for (size_t i = 1; i < N; i++)
        kad_sim_set_dead(sim, i, true);
    kad_sim_set_dead(sim, 0, false);
    memset(o, 0, sizeof *o);
    assert_int_equal(kad_get_closest(kad_sim_node(sim, 0), kad_sim_now(sim), (const uint8_t *)"k",
                                     1, on_done, o),
                     0);
    kad_sim_poke(sim, 0);
    kad_sim_run(sim, 600000);
    assert_int_equal(o->calls, 1);
    assert_int_equal(o->status, LS_ETIMEDOUT);
    assert_int_equal(kad_pending_count(kad_sim_node(sim, 0)), 0);
    free(o);
    kad_sim_free(sim);
}

static void
test_bootstrap_from_one_seed(void **state)
{
    (void)state;
    kad_sim_t *sim = make_sim(23);
    kad_t *fresh = kad_sim_node(sim, 42);
    /* forget node 42's table by making a node whose table is empty: use a lookup
     * from node 42 after removing all its entries */
    const routing_entry_t *all[400];
    size_t n = routing_closest(kad_routing(fresh), routing_self_key(kad_routing(fresh)), 400, all);
    peer_id_t *ids = calloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = all[i]->id;
    for (size_t i = 0; i < n; i++)
        routing_remove((routing_t *)kad_routing(fresh), &ids[i]);
    free(ids);
    assert_int_equal(routing_size(kad_routing(fresh)), 0);
    outcome_t *o = calloc(1, sizeof *o);
    assert_int_equal(kad_get_closest(fresh, kad_sim_now(sim), (const uint8_t *)"x", 1, on_done, o),
                     LS_ENOENT);
    kad_peer_info_t seed = {*kad_sim_peer(sim, 7), NULL, 0, NULL, 0};
    assert_int_equal(kad_bootstrap(fresh, kad_sim_now(sim), &seed, 1, on_done, o), 0);
    kad_sim_poke(sim, 42);
    kad_sim_run(sim, 120000);
    assert_int_equal(o->calls, 1);
    assert_int_equal(o->status, 0);
    assert_true(routing_size(kad_routing(fresh)) >= 20);
    free(o);
    kad_sim_free(sim);
}

/* Indices of the `n` nodes closest to `key`, nearest first. */
static void
closest_nodes(kad_sim_t *sim, const uint8_t *key, size_t klen, size_t *out, size_t n)
{
    kad_key_t t;
    kad_key_from_bytes(&t, key, klen);
    for (size_t j = 0; j < n; j++) {
        size_t best = SIZE_MAX;
        kad_key_t bk;
        for (size_t i = 0; i < N; i++) {
            bool taken = false;
            for (size_t q = 0; q < j; q++)
                taken = taken || out[q] == i;
            kad_key_t k;
            kad_key_from_peer(&k, kad_sim_peer(sim, i));
            if (!taken && (best == SIZE_MAX || kad_key_cmp_dist(&t, &k, &bk) < 0))
                best = i, bk = k;
        }
        out[j] = best;
    }
}

static int
inject_put(kad_sim_t *sim, size_t node, const uint8_t *key, size_t klen, const buf_t *val)
{
    kadmsg_t *m = calloc(1, sizeof *m);
    kadmsg_init(m, KADMSG_PUT_VALUE);
    m->key = (kadmsg_bytes_t){key, klen};
    m->has_record = true;
    m->record.key = m->key;
    m->record.value = (kadmsg_bytes_t){val->data, val->len};
    buf_t msg = BUF_INIT(BUF_UNLIMITED), reply = BUF_INIT(BUF_UNLIMITED);
    kadmsg_encode(m, &msg);
    int rc = kad_input_request(kad_sim_node(sim, node), kad_sim_now(sim), kad_sim_peer(sim, 0),
                               msg.data, msg.len, &reply);
    buf_free(&msg), buf_free(&reply);
    free(m);
    return rc;
}

/* A get with a large quorum sends the best value to peers that returned an older one. */
static void
test_entry_correction(void **state)
{
    (void)state;
    kad_sim_t *sim = make_sim(29);
    ed25519_keypair_t kp;
    ed25519_keypair_generate(&kp);
    const uint8_t key[] = "/lester/pkg/corrected";
    size_t klen = sizeof key - 1, near[20];
    uint64_t now = kad_sim_now(sim);
    buf_t v1 = BUF_INIT(KAD_VALUE_MAX), v2 = BUF_INIT(KAD_VALUE_MAX);
    kad_lester_value_make(key, klen, (const uint8_t *)"old", 3, 1, now, now + 86400000, &kp, &v1);
    kad_lester_value_make(key, klen, (const uint8_t *)"new", 3, 2, now, now + 86400000, &kp, &v2);
    closest_nodes(sim, key, klen, near, 20);
    outcome_t *o = calloc(1, sizeof *o);
    assert_int_equal(
        kad_put_value(kad_sim_node(sim, near[19]), now, key, klen, v1.data, v1.len, on_done, o), 0);
    kad_sim_poke(sim, near[19]);
    kad_sim_run(sim, 120000);
    assert_int_equal(inject_put(sim, near[0], key, klen, &v2), 0);
    size_t from = near[0] == 150 || near[19] == 150 ? 151 : 150;
    memset(o, 0, sizeof *o);
    assert_int_equal(
        kad_get_value(kad_sim_node(sim, from), kad_sim_now(sim), key, klen, 20, on_done, o), 0);
    kad_sim_poke(sim, from);
    kad_sim_run(sim, 120000);
    assert_int_equal(o->status, 0);
    assert_int_equal(o->value_len, v2.len);
    assert_memory_equal(o->value, v2.data, v2.len);
    size_t updated = 0;
    for (size_t i = 0; i < 20; i++) {
        const kad_stored_record_t *r =
            kad_store_get_record(kad_store(kad_sim_node(sim, near[i])), key, klen);
        updated += r && r->vlen == v2.len && memcmp(r->value, v2.data, v2.len) == 0;
    }
    assert_true(updated >= 18);
    buf_free(&v1), buf_free(&v2);
    free(o);
    kad_sim_free(sim);
}

/* Bucket refresh and republishing run from kad_tick. */
static void
test_refresh_and_republish(void **state)
{
    (void)state;
    kad_sim_config_t cfg;
    kad_sim_config_default(&cfg);
    cfg.nodes = N;
    cfg.seed = 31;
    cfg.kad.refresh_interval_ms = 5 * 60 * 1000;
    cfg.kad.record_republish_ms = 4 * 60 * 1000;
    kad_sim_t *sim = kad_sim_new(&cfg);
    kad_sim_fill_tables(sim, 20);
    for (size_t i = 0; i < N; i++)
        kad_sim_poke(sim, i);
    kad_sim_run(sim, 1000); /* every node refreshes its buckets at once (never refreshed) */
    uint64_t after_first = kad_sim_messages(sim);
    assert_true(after_first > N * 10);
    kad_sim_run(sim, 60000);
    uint64_t quiet = kad_sim_messages(sim);
    kad_sim_run(sim, 5 * 60 * 1000); /* the next refresh round */
    assert_true(kad_sim_messages(sim) > quiet + N * 10);

    ed25519_keypair_t kp;
    ed25519_keypair_generate(&kp);
    const uint8_t key[] = "/lester/pkg/republished";
    size_t klen = sizeof key - 1, near[1];
    uint64_t now = kad_sim_now(sim);
    buf_t v = BUF_INIT(KAD_VALUE_MAX);
    kad_lester_value_make(key, klen, (const uint8_t *)"x", 1, 1, now, now + 86400000, &kp, &v);
    closest_nodes(sim, key, klen, near, 1);
    size_t from = near[0] == 3 ? 4 : 3;
    outcome_t *o = calloc(1, sizeof *o);
    assert_int_equal(
        kad_put_value(kad_sim_node(sim, from), now, key, klen, v.data, v.len, on_done, o), 0);
    kad_sim_poke(sim, from);
    kad_sim_run(sim, 60000);
    const kad_stored_record_t *r =
        kad_store_get_record(kad_store(kad_sim_node(sim, near[0])), key, klen);
    assert_non_null(r);
    uint64_t first = r->received_ms;
    kad_sim_run(sim, 5 * 60 * 1000);
    r = kad_store_get_record(kad_store(kad_sim_node(sim, near[0])), key, klen);
    assert_non_null(r);

    /* republished 4 min after the put (received `first` one network delay later) */
    assert_true(r->received_ms >= first + 3 * 60 * 1000);
    buf_free(&v);
    free(o);
    kad_sim_free(sim);
}

/* A hand-driven env: records the last request, can refuse to send. */
typedef struct capture_t {
    int sent;
    uint64_t last_id;
    bool refuse;
} capture_t;

static int
capture_send(void *ctx, uint64_t id, const peer_id_t *to, const uint8_t *addrs, size_t alen,
             const uint8_t *msg, size_t len, bool want)
{
    capture_t *c = ctx;
    (void)to, (void)addrs, (void)alen, (void)msg, (void)len, (void)want;
    if (c->refuse)
        return LS_ECONNRESET;
    c->sent++;
    c->last_id = id;
    return 0;
}

static void
test_callback_contract_and_bad_replies(void **state)
{
    (void)state;
    capture_t cap = {0};
    kad_env_t env = {&cap, capture_send, NULL};
    peer_id_t self, seed_id;
    uint8_t pk[32] = {1}, pk2[32] = {2};
    peer_id_from_ed25519(&self, pk);
    peer_id_from_ed25519(&seed_id, pk2);
    kad_t *kad = kad_new(&self, NULL, &env);
    kad_peer_info_t seed = {seed_id, NULL, 0, NULL, 0};
    outcome_t *o = calloc(1, sizeof *o);
    uint64_t now = KAD_SIM_EPOCH_MS;

    /* nothing can be sent: the lookup completes, but only from kad_tick */
    cap.refuse = true;
    assert_int_equal(kad_bootstrap(kad, now, &seed, 1, on_done, o), 0);
    assert_int_equal(o->calls, 0);
    kad_tick(kad, now);
    assert_int_equal(o->calls, 1);
    assert_int_equal(o->status, LS_ETIMEDOUT);

    /* a malformed reply fails that request; the lookup then converges */
    cap.refuse = false;
    memset(o, 0, sizeof *o);
    assert_int_equal(kad_bootstrap(kad, now, &seed, 1, on_done, o), 0);
    assert_int_equal(cap.sent, 1);
    assert_int_equal(kad_input_response(kad, now + 5, cap.last_id, (const uint8_t *)"\x08\x09", 2),
                     LS_EINVAL);
    assert_int_equal(o->calls, 1);
    assert_int_equal(o->status, LS_ETIMEDOUT);
    assert_int_equal(routing_size(kad_routing(kad)), 0);
    /* a late reply to a forgotten request is ignored */
    assert_int_equal(kad_input_response(kad, now + 6, cap.last_id, (const uint8_t *)"", 0), 0);

    /* a timeout fails the request from kad_tick */
    memset(o, 0, sizeof *o);
    assert_int_equal(kad_bootstrap(kad, now, &seed, 1, on_done, o), 0);
    uint64_t deadline = kad_tick(kad, now);
    assert_int_equal(deadline, now + 10000);
    kad_tick(kad, deadline);
    assert_int_equal(o->calls, 1);
    assert_int_equal(kad_pending_count(kad), 0);

    /* an empty but valid reply: the seed answered and enters the table */
    memset(o, 0, sizeof *o);
    assert_int_equal(kad_bootstrap(kad, now, &seed, 1, on_done, o), 0);
    assert_int_equal(kad_input_response(kad, now + 5, cap.last_id, (const uint8_t *)"\x08\x04", 2),
                     0);
    assert_int_equal(o->calls, 1);
    assert_int_equal(o->status, 0);
    assert_int_equal(routing_size(kad_routing(kad)), 1);
    free(o);
    kad_free(kad);
}

/* ---- trust (seed 001 through kad_env_t.trust) ---- */

typedef struct trust_env_t {
    peer_id_t ids[64];
    double trust[64];
    size_t n;
    peer_id_t to[64]; /* requests sent, in order */
    uint64_t req[64];
    size_t sent;
} trust_env_t;

static double
fake_trust(void *ctx, const peer_id_t *p)
{
    trust_env_t *t = ctx;
    for (size_t i = 0; i < t->n; i++)
        if (peer_id_equal(&t->ids[i], p))
            return t->trust[i];
    return 0.5;
}

static int
trust_send(void *ctx, uint64_t id, const peer_id_t *to, const uint8_t *addrs, size_t alen,
           const uint8_t *msg, size_t len, bool want)
{
    trust_env_t *t = ctx;
    (void)addrs, (void)alen, (void)msg, (void)len, (void)want;
    assert_true(t->sent < 64);
    t->to[t->sent] = *to;
    t->req[t->sent++] = id;
    return 0;
}

/* Peer `i` of the fake network, with trust `trust`. */
static peer_id_t
trust_peer(trust_env_t *t, uint8_t i, double trust)
{
    uint8_t pk[32] = {i, 0x5a, 0xa5};
    peer_id_t id;
    peer_id_from_ed25519(&id, pk);
    t->ids[t->n] = id;
    t->trust[t->n++] = trust;
    return id;
}

static void
set_trust(trust_env_t *t, const peer_id_t *p, double trust)
{
    for (size_t i = 0; i < t->n; i++)
        if (peer_id_equal(&t->ids[i], p))
            t->trust[i] = trust;
}

/* A FIND_NODE reply listing `closer`. */
static void
closer_reply(const peer_id_t *closer, size_t n, buf_t *out)
{
    kadmsg_t *m = malloc(sizeof *m);
    kadmsg_init(m, KADMSG_FIND_NODE);
    for (size_t i = 0; i < n; i++) {
        memset(&m->closer[i], 0, sizeof m->closer[i]);
        m->closer[i].id = (kadmsg_bytes_t){closer[i].bytes, closer[i].len};
    }
    m->ncloser = n;
    assert_int_equal(kadmsg_encode(m, out), 0);
    free(m);
}

static bool
sent_to(const trust_env_t *t, const peer_id_t *p)
{
    for (size_t i = 0; i < t->sent; i++)
        if (peer_id_equal(&t->to[i], p))
            return true;
    return false;
}

/* Peers below min_trust are never asked (as seeds or as closer peers), never enter
 * the table, leave it when their trust falls, and are not handed to others. */
static void
test_trust_skips_low_peers(void **state)
{
    (void)state;
    trust_env_t *t = calloc(1, sizeof *t);
    peer_id_t self = trust_peer(t, 1, 1.0), low = trust_peer(t, 2, 0.05);
    peer_id_t h1 = trust_peer(t, 3, 0.5), h2 = trust_peer(t, 4, 0.5);
    kad_config_t cfg;
    kad_config_default(&cfg);
    cfg.min_trust = 0.1;
    kad_env_t env = {.ctx = t, .send_request = trust_send, .trust = fake_trust};
    kad_t *kad = kad_new(&self, &cfg, &env);
    uint64_t now = KAD_SIM_EPOCH_MS;
    outcome_t *o = calloc(1, sizeof *o);
    kad_peer_info_t seeds[2] = {{low, NULL, 0, NULL, 0}, {h1, NULL, 0, NULL, 0}};

    assert_int_equal(kad_bootstrap(kad, now, seeds, 2, on_done, o), 0);
    assert_int_equal(t->sent, 1);
    assert_true(peer_id_equal(&t->to[0], &h1));
    buf_t reply = BUF_INIT(KADMSG_MAX_SIZE);
    peer_id_t closer[2] = {low, h2};
    closer_reply(closer, 2, &reply);
    assert_int_equal(kad_input_response(kad, now + 1, t->req[0], reply.data, reply.len), 0);
    assert_int_equal(t->sent, 2); /* h2, told of by h1; never `low` */
    assert_true(peer_id_equal(&t->to[1], &h2));
    assert_int_equal(kad_input_response(kad, now + 2, t->req[1], (const uint8_t *)"\x08\x04", 2),
                     0);
    assert_int_equal(o->calls, 1);
    assert_int_equal(o->status, 0);
    assert_int_equal(o->npeers, 2);
    assert_false(sent_to(t, &low));

    /* the table: refused, no probe; a tabled peer whose trust fell is dropped */
    assert_int_equal(routing_size(kad_routing(kad)), 2);
    assert_int_equal(kad_peer_answered(kad, now + 3, &low, NULL, 0), LS_EACCES);
    assert_int_equal(kad_probe_peer(kad, now + 3, &low, NULL, 0), 0);
    assert_null(routing_find(kad_routing(kad), &low));
    set_trust(t, &h1, 0.09);
    assert_int_equal(kad_peer_answered(kad, now + 4, &h1, NULL, 0), LS_EACCES);
    assert_null(routing_find(kad_routing(kad), &h1));
    assert_int_equal(routing_size(kad_routing(kad)), 1);

    /* a tabled peer that fell below is not handed out in our replies */
    set_trust(t, &low, 0.5);
    assert_true(kad_peer_answered(kad, now + 5, &low, NULL, 0) > 0);
    set_trust(t, &low, 0.05);
    kadmsg_t *req = malloc(sizeof *req), *ans = malloc(sizeof *ans);
    kadmsg_init(req, KADMSG_FIND_NODE);
    req->key = (kadmsg_bytes_t){self.bytes, self.len};
    buf_t q = BUF_INIT(KADMSG_MAX_SIZE), a = BUF_INIT(KADMSG_MAX_SIZE);
    assert_int_equal(kadmsg_encode(req, &q), 0);
    assert_int_equal(kad_input_request(kad, now + 6, &h1, q.data, q.len, &a), 0);
    assert_int_equal(kadmsg_decode(a.data, a.len, ans), 0);
    assert_int_equal(ans->ncloser, 1); /* h2 only */
    assert_memory_equal(ans->closer[0].id.p, h2.bytes, h2.len);
    buf_free(&q);
    buf_free(&a);
    buf_free(&reply);
    free(req);
    free(ans);
    free(o);
    free(t);
    kad_free(kad);
}

/* Order of the first requests with alpha 1: within the nearest distance group (same
 * common prefix with the target) the higher-trust peer goes first; a farther group
 * waits whatever its trust; without a trust function, nearest first. */
static void
run_order(bool with_trust, const peer_id_t *self, const peer_id_t p[3], trust_env_t *t,
          peer_id_t out[3])
{
    kad_config_t cfg;
    kad_config_default(&cfg);
    cfg.alpha = 1;
    cfg.min_trust = 0.1;
    kad_env_t env = {.ctx = t, .send_request = trust_send, .trust = with_trust ? fake_trust : NULL};
    kad_t *kad = kad_new(self, &cfg, &env);
    outcome_t *o = calloc(1, sizeof *o);
    kad_peer_info_t seeds[3];
    for (size_t i = 0; i < 3; i++)
        seeds[i] = (kad_peer_info_t){p[i], NULL, 0, NULL, 0};
    uint64_t now = KAD_SIM_EPOCH_MS;
    t->sent = 0;
    assert_int_equal(kad_bootstrap(kad, now, seeds, 3, on_done, o), 0);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(t->sent, i + 1);
        out[i] = t->to[i];
        assert_int_equal(
            kad_input_response(kad, now + i, t->req[i], (const uint8_t *)"\x08\x04", 2), 0);
    }
    assert_int_equal(o->calls, 1);
    free(o);
    kad_free(kad);
}

static void
test_trust_orders_equally_near(void **state)
{
    (void)state;
    trust_env_t *t = calloc(1, sizeof *t);
    peer_id_t self = trust_peer(t, 1, 1.0);
    kad_key_t target, k[40];
    kad_key_from_peer(&target, &self);
    peer_id_t cand[40];
    for (uint8_t i = 0; i < 40; i++) {
        cand[i] = trust_peer(t, (uint8_t)(10 + i), 0.5);
        kad_key_from_peer(&k[i], &cand[i]);
    }
    /* near, far: one distance group, near closer; other: a farther group */
    int near = -1, far = -1, other = -1;
    for (int i = 0; i < 40 && other < 0; i++)
        for (int j = 0; j < 40 && other < 0; j++) {
            unsigned ci = kad_key_cpl(&target, &k[i]), cj = kad_key_cpl(&target, &k[j]);
            if (i == j || ci != cj || kad_key_cmp_dist(&target, &k[i], &k[j]) >= 0)
                continue;
            for (int m = 0; m < 40 && other < 0; m++)
                if (kad_key_cpl(&target, &k[m]) < ci)
                    near = i, far = j, other = m;
        }
    assert_true(other >= 0);
    set_trust(t, &cand[near], 0.3);
    set_trust(t, &cand[far], 0.9);
    set_trust(t, &cand[other], 1.0);
    peer_id_t p[3] = {cand[other], cand[far], cand[near]}, got[3];

    run_order(true, &self, p, t, got);
    assert_true(peer_id_equal(&got[0], &cand[far]));
    assert_true(peer_id_equal(&got[1], &cand[near]));
    assert_true(peer_id_equal(&got[2], &cand[other]));
    run_order(false, &self, p, t, got);
    assert_true(peer_id_equal(&got[0], &cand[near]));
    assert_true(peer_id_equal(&got[1], &cand[far]));
    assert_true(peer_id_equal(&got[2], &cand[other]));
    free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_peer_all),
        cmocka_unit_test(test_closest_is_exact),
        cmocka_unit_test(test_put_get_value),
        cmocka_unit_test(test_provide_and_find_providers),
        cmocka_unit_test(test_churn_and_timeouts),
        cmocka_unit_test(test_bootstrap_from_one_seed),
        cmocka_unit_test(test_entry_correction),
        cmocka_unit_test(test_refresh_and_republish),
        cmocka_unit_test(test_callback_contract_and_bad_replies),
        cmocka_unit_test(test_trust_skips_low_peers),
        cmocka_unit_test(test_trust_orders_equally_near),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
