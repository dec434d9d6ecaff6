/* Tests of pubsub/gossipsub over an in-process simulated network: routers exchange
 * RPCs through a FIFO queue, time is simulated, randomness is seeded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/err/err.h"
#include "pubsub/gossipsub/gossipsub.h"
#include "pubsub/rpc/pubsub_msg.h"

#define MAX_NODES 64
#define MAX_MSGS 1000

typedef struct sim_t sim_t;

typedef struct node_t {
    sim_t *sim;
    int idx;
    gossipsub_t *gs; /* NULL for a raw (attacker) peer */
    ed25519_keypair_t kp;
    peer_id_t id;
    uint16_t got[MAX_MSGS]; /* deliveries per message index */
    size_t invalid_reports, valid_reports;
} node_t;

typedef struct packet_t {
    int from, to;
    uint8_t *rpc;
    size_t len;
} packet_t;

struct sim_t {
    node_t nodes[MAX_NODES];
    int n;
    packet_t *q;
    size_t q_head, q_tail, q_cap;
    uint64_t now;
    uint64_t rng;
    unsigned drop_pct;     /* RPCs carrying messages dropped, percent */
    size_t iwants, ihaves; /* control messages seen on the wire */
    size_t raw_rx;         /* RPCs received by raw peers */
    size_t raw_msgs;       /* messages in RPCs sent to raw peers */
    struct {               /* deferred signature checks (env.verify) */
        int node;
        uint8_t *msg, id[PUBSUB_MSGID_MAX];
        size_t len, id_len;
    } *vq;
    size_t vq_n, vq_cap;
};

/* Routers created by sim_init() defer their signature checks (env.verify). */
static bool g_deferred;

static uint32_t
sim_rand(sim_t *s, uint32_t bound)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return bound ? (uint32_t)(s->rng % bound) : 0;
}

static uint32_t
env_random(void *ctx, uint32_t bound)
{
    return sim_rand(((node_t *)ctx)->sim, bound);
}

static int
find_node(const sim_t *s, const peer_id_t *id)
{
    for (int i = 0; i < s->n; i++)
        if (peer_id_equal(&s->nodes[i].id, id))
            return i;
    return -1;
}

static int
env_send(void *ctx, const peer_id_t *to, const uint8_t *rpc, size_t len)
{
    node_t *me = ctx;
    sim_t *s = me->sim;
    PubsubPb__RPC *r;

    assert_int_equal(pubsub_rpc_decode(rpc, len, NULL, &r), 0); /* we only send valid RPCs */
    if (r->control) {
        s->iwants += r->control->n_iwant;
        s->ihaves += r->control->n_ihave;
    }
    bool drop = r->n_publish > 0 && !r->control && sim_rand(s, 100) < s->drop_pct;
    if (!s->nodes[find_node(s, to)].gs)
        s->raw_msgs += r->n_publish;
    pubsub_rpc_free(r);
    if (drop)
        return 0;
    if (s->q_tail == s->q_cap) {
        s->q_cap = s->q_cap ? 2 * s->q_cap : 1024;
        s->q = realloc(s->q, s->q_cap * sizeof *s->q);
    }
    s->q[s->q_tail++] = (packet_t){me->idx, find_node(s, to), ls_memdup(rpc, len), len};
    return 0;
}

static void
env_deliver(void *ctx, const gossipsub_message_t *m)
{
    node_t *me = ctx;
    unsigned k;
    char buf[16] = {0};
    memcpy(buf, m->data, m->data_len < 15 ? m->data_len : 15);
    if (sscanf(buf, "m%u", &k) == 1 && k < MAX_MSGS)
        me->got[k]++;
}

static void
env_report(void *ctx, const peer_id_t *peer, trust_event_t ev)
{
    node_t *me = ctx;
    (void)peer;
    if (ev == TRUST_INVALID_MESSAGE)
        me->invalid_reports++;
    if (ev == TRUST_VALID_MESSAGE)
        me->valid_reports++;
}

static int
env_verify(void *ctx, const uint8_t *msg, size_t len, const uint8_t *id, size_t id_len)
{
    node_t *me = ctx;
    sim_t *s = me->sim;
    if (s->vq_n == s->vq_cap) {
        s->vq_cap = s->vq_cap ? 2 * s->vq_cap : 256;
        s->vq = realloc(s->vq, s->vq_cap * sizeof *s->vq);
    }
    s->vq[s->vq_n].node = me->idx;
    s->vq[s->vq_n].msg = ls_memdup(msg, len);
    s->vq[s->vq_n].len = len;
    memcpy(s->vq[s->vq_n].id, id, id_len);
    s->vq[s->vq_n++].id_len = id_len;
    return 0;
}

/* The "worker pool": check every queued signature, in a batch, then report back. */
static void
sim_verify_batch(sim_t *s)
{
    size_t n = s->vq_n;
    s->vq_n = 0;
    void *batch = ls_memdup(s->vq, n * sizeof *s->vq);
    for (size_t i = 0; i < n; i++) {
        __typeof__(s->vq) v = (__typeof__(s->vq))batch + i;
        PubsubPb__Message *m = pubsub_pb__message__unpack(NULL, v->len, v->msg);
        peer_id_t author;
        int rc = m ? pubsub_msg_verify(m, &author) : LS_EINVAL;
        pubsub_pb__message__free_unpacked(m, NULL);
        assert_int_equal(gossipsub_verified(s->nodes[v->node].gs, s->now, v->id, v->id_len, rc,
                                            rc == 0 ? &author : NULL),
                         0);
        free(v->msg);
    }
    free(batch);
}

static void sim_drain_net(sim_t *s);

static void
sim_drain(sim_t *s)
{
    do {
        sim_drain_net(s);
        sim_verify_batch(s);
    } while (s->q_head < s->q_tail);
}

static void
sim_drain_net(sim_t *s)
{
    while (s->q_head < s->q_tail) {
        packet_t p = s->q[s->q_head++];
        node_t *to = &s->nodes[p.to];
        if (to->gs)
            assert_int_equal(gossipsub_input(to->gs, s->now, &s->nodes[p.from].id, p.rpc, p.len),
                             0);
        else
            s->raw_rx++;
        free(p.rpc);
    }
    s->q_head = s->q_tail = 0;
}

static void
sim_init(sim_t *s, int n, int raw, const gossipsub_config_t *cfg)
{
    memset(s, 0, sizeof *s);
    s->rng = 0x9e3779b97f4a7c15u;
    s->now = 1000000;
    s->n = n + raw;
    for (int i = 0; i < s->n; i++) {
        node_t *nd = &s->nodes[i];
        uint8_t seed[32] = {(uint8_t)i, (uint8_t)(i >> 8), 0x5a};
        nd->sim = s;
        nd->idx = i;
        ed25519_keypair_from_seed(&nd->kp, seed);
        peer_id_from_ed25519(&nd->id, nd->kp.pk);
        if (i >= n)
            continue;
        gossipsub_env_t env = {nd,         env_send, env_deliver, NULL,
                               env_random, NULL,     NULL,        {nd, env_report},
                               g_deferred ? env_verify : NULL};
        nd->gs = gossipsub_new(cfg, &env, &nd->kp, s->now);
    }
}

static void
sim_free(sim_t *s)
{
    sim_drain(s);
    for (int i = 0; i < s->n; i++)
        gossipsub_free(s->nodes[i].gs);
    free(s->q);
    free(s->vq);
}

static void
sim_connect(sim_t *s, int a, int b)
{
    if (s->nodes[a].gs)
        gossipsub_add_peer(s->nodes[a].gs, s->now, &s->nodes[b].id, GOSSIPSUB_V11, true, NULL);
    if (s->nodes[b].gs)
        gossipsub_add_peer(s->nodes[b].gs, s->now, &s->nodes[a].id, GOSSIPSUB_V11, false, NULL);
    sim_drain(s);
}

/* A ring plus `extra` random links per node: connected, degree about 2 + 2 * extra. */
static void
sim_random_graph(sim_t *s, int n, int extra)
{
    for (int i = 0; i < n; i++)
        sim_connect(s, i, (i + 1) % n);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < extra; k++) {
            int j = (int)sim_rand(s, (uint32_t)n);
            if (j != i && j != (i + 1) % n && (i != (j + 1) % n))
                sim_connect(s, i, j);
        }
}

static void
sim_heartbeats(sim_t *s, int count)
{
    for (int k = 0; k < count; k++) {
        s->now += 1000;
        for (int i = 0; i < s->n; i++)
            if (s->nodes[i].gs)
                gossipsub_tick(s->nodes[i].gs, s->now);
        sim_drain(s);
    }
}

static void
sim_subscribe(sim_t *s, int n, const char *topic)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(
            gossipsub_subscribe(s->nodes[i].gs, s->now, (const uint8_t *)topic, strlen(topic)), 0);
    sim_drain(s);
}

static int
publish(sim_t *s, int from, const char *topic, unsigned k)
{
    char data[16];
    int len = snprintf(data, sizeof data, "m%u", k);
    int rc = gossipsub_publish(s->nodes[from].gs, s->now, (const uint8_t *)topic, strlen(topic),
                               (const uint8_t *)data, (size_t)len, NULL, NULL);
    sim_drain(s);
    return rc;
}

#define T "chat"
#define TL ((const uint8_t *)T), 4

static void
test_mesh_forms(void **state)
{
    static sim_t s;
    gossipsub_config_t cfg;
    peer_id_t mesh[64];
    (void)state;

    gossipsub_config_default(&cfg);
    sim_init(&s, 50, 0, &cfg);
    sim_random_graph(&s, 50, 5);
    sim_subscribe(&s, 50, T);
    sim_heartbeats(&s, 5);
    for (int i = 0; i < 50; i++) {
        size_t n = gossipsub_mesh(s.nodes[i].gs, TL, mesh, 64);
        assert_true(n >= cfg.d_lo && n <= cfg.d_hi);
        for (size_t k = 0; k < n; k++) { /* meshes are symmetric */
            int j = find_node(&s, &mesh[k]);
            peer_id_t back[64];
            size_t m = gossipsub_mesh(s.nodes[j].gs, TL, back, 64);
            bool found = false;
            for (size_t x = 0; x < m; x++)
                found |= peer_id_equal(&back[x], &s.nodes[i].id);
            assert_true(found);
        }
    }
    sim_free(&s);
}

static void
test_delivery_exactly_once(void **state)
{
    static sim_t s;
    gossipsub_config_t cfg;
    (void)state;

    gossipsub_config_default(&cfg);
    sim_init(&s, 50, 0, &cfg);
    sim_random_graph(&s, 50, 4);
    sim_subscribe(&s, 50, T);
    sim_heartbeats(&s, 3);
    for (unsigned k = 0; k < MAX_MSGS; k++) {
        assert_true(publish(&s, (int)sim_rand(&s, 50), T, k) > 0);
        if (k % 50 == 49)
            sim_heartbeats(&s, 1);
    }
    sim_heartbeats(&s, 3);
    for (int i = 0; i < 50; i++)
        for (unsigned k = 0; k < MAX_MSGS; k++)
            assert_int_equal(s.nodes[i].got[k], 1);
    sim_free(&s);
}

static void
test_gossip_recovers_losses(void **state)
{
    static sim_t s;
    gossipsub_config_t cfg;
    (void)state;

    gossipsub_config_default(&cfg);
    cfg.flood_publish = false;
    sim_init(&s, 30, 0, &cfg);
    sim_random_graph(&s, 30, 6);
    sim_subscribe(&s, 30, T);
    sim_heartbeats(&s, 3);
    s.drop_pct = 40; /* RPCs carrying only messages are lost; gossip must repair */
    for (unsigned k = 0; k < 100; k++)
        publish(&s, (int)sim_rand(&s, 30), T, k);
    sim_heartbeats(&s, 1);
    s.drop_pct = 0;
    sim_heartbeats(&s, 3);
    assert_true(s.ihaves > 0);
    assert_true(s.iwants > 0);
    for (int i = 0; i < 30; i++)
        for (unsigned k = 0; k < 100; k++)
            assert_int_equal(s.nodes[i].got[k], 1);
    sim_free(&s);
}

static void
test_lester_hop_limit(void **state)
{
    static sim_t s;
    gossipsub_config_t cfg;
    const char *lt = "/lester/t";
    (void)state;

    gossipsub_config_default(&cfg);
    cfg.hop_limit = 2;
    sim_init(&s, 6, 0, &cfg);
    for (int i = 0; i < 5; i++) /* a line 0-1-2-3-4-5 */
        sim_connect(&s, i, i + 1);
    sim_subscribe(&s, 6, lt);
    sim_heartbeats(&s, 2);
    assert_true(publish(&s, 0, lt, 7) > 0);
    sim_heartbeats(&s, 3);
    for (int i = 0; i < 6; i++)
        assert_int_equal(s.nodes[i].got[7], i <= 3 ? 1 : 0);
    /* content IDs: the same data again is the same message */
    assert_int_equal(publish(&s, 0, lt, 7), LS_EEXIST);
    sim_free(&s);
}

/* An RPC from raw peer `r` with one message on T whose signature is broken. */
static void
send_forged(sim_t *s, int r, int to, unsigned k)
{
    PubsubPb__RPC rpc;
    PubsubPb__RPC__SubOpts sub, *subs[1] = {&sub};
    PubsubPb__Message m, *ms[1] = {&m};
    pubsub_msg_sig_t sig;
    char data[16];
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    int len = snprintf(data, sizeof data, "m%u", k);

    pubsub_pb__rpc__init(&rpc);
    pubsub_pb__rpc__sub_opts__init(&sub);
    sub.has_subscribe = sub.subscribe = sub.has_topicid = 1;
    sub.topicid = (ProtobufCBinaryData){4, (uint8_t *)T};
    pubsub_pb__message__init(&m);
    m.has_topic = m.has_data = 1;
    m.topic = sub.topicid;
    m.data = (ProtobufCBinaryData){(size_t)len, (uint8_t *)data};
    pubsub_msg_sign(&m, 1000 + k, &s->nodes[r].kp, &sig);
    sig.signature[0] ^= 1;
    rpc.n_subscriptions = 1;
    rpc.subscriptions = subs;
    rpc.n_publish = 1;
    rpc.publish = ms;
    assert_int_equal(pubsub_rpc_encode(&rpc, false, &out), 0);
    assert_int_equal(gossipsub_input(s->nodes[to].gs, s->now, &s->nodes[r].id, out.data, out.len),
                     0);
    buf_free(&out);
    sim_drain(s);
}

static void
test_invalid_signatures_graylisted(void **state)
{
    static sim_t s;
    gossipsub_config_t cfg;
    gossipsub_config_default(&cfg);
    const int n = 20, bad = 20;
    (void)state;

    sim_init(&s, n, 1, &cfg);
    sim_random_graph(&s, n, 3);
    for (int i = 0; i < 5; i++)
        sim_connect(&s, bad, i);
    sim_subscribe(&s, n, T);
    sim_heartbeats(&s, 2);
    for (unsigned k = 0; k < 3; k++)
        for (int i = 0; i < 5; i++)
            send_forged(&s, bad, i, 500 + k);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(s.nodes[i].invalid_reports, 3);
        assert_true(gossipsub_score(s.nodes[i].gs, s.now, &s.nodes[bad].id) <
                    cfg.thresholds.graylist);
        send_forged(&s, bad, i, 600); /* graylisted: dropped before decoding */
        assert_int_equal(s.nodes[i].invalid_reports, 3);
        assert_int_equal(s.nodes[i].got[500], 0);
    }
    /* honest traffic is unaffected */
    for (unsigned k = 0; k < 50; k++)
        publish(&s, (int)sim_rand(&s, (uint32_t)n), T, k);
    sim_heartbeats(&s, 2);
    for (int i = 0; i < n; i++)
        for (unsigned k = 0; k < 50; k++)
            assert_int_equal(s.nodes[i].got[k], 1);
    /* the attacker is never grafted: its score is negative */
    peer_id_t mesh[64];
    for (int i = 0; i < 5; i++) {
        size_t m = gossipsub_mesh(s.nodes[i].gs, TL, mesh, 64);
        for (size_t x = 0; x < m; x++)
            assert_false(peer_id_equal(&mesh[x], &s.nodes[bad].id));
    }
    sim_free(&s);
}

/* Raw peer `r` subscribes to T and GRAFTs at node `to`. */
static void
send_graft(sim_t *s, int r, int to)
{
    static const uint8_t rpc[] = {0x0a, 0x08, 0x08, 0x01, 0x12, 0x04, 'c', 'h', 'a', 't',
                                  0x1a, 0x08, 0x1a, 0x06, 0x0a, 0x04, 'c', 'h', 'a', 't'};
    assert_int_equal(gossipsub_input(s->nodes[to].gs, s->now, &s->nodes[r].id, rpc, sizeof rpc), 0);
    sim_drain(s);
}

static void
test_sybils_do_not_take_over(void **state)
{
    static sim_t s;
    gossipsub_config_t cfg;
    peer_id_t mesh[64];
    const int n = 13, sybils = 10, h = 0;
    (void)state;

    gossipsub_config_default(&cfg);
    sim_init(&s, n, sybils, &cfg);
    for (int i = 1; i < n; i++) /* h is connected to 12 honest peers */
        sim_connect(&s, h, i);
    sim_random_graph(&s, n, 2);
    sim_subscribe(&s, n, T);
    sim_heartbeats(&s, 10);
    for (unsigned k = 0; k < 40; k++)
        publish(&s, 1 + (int)sim_rand(&s, n - 1), T, k);
    sim_heartbeats(&s, 5);
    for (int i = n; i < n + sybils; i++) {
        gossipsub_add_peer(s.nodes[h].gs, s.now, &s.nodes[i].id, GOSSIPSUB_V11, false, NULL);
        send_graft(&s, i, h);
    }
    sim_heartbeats(&s, 5);
    size_t m = gossipsub_mesh(s.nodes[h].gs, TL, mesh, 64), honest = 0;
    for (size_t x = 0; x < m; x++)
        honest += find_node(&s, &mesh[x]) < n;
    assert_true(m <= cfg.d_hi);
    assert_true(honest >= cfg.d_score);
    assert_true(honest * 2 >= m); /* Sybils are not the majority */
    /* and honest delivery continues */
    for (unsigned k = 100; k < 120; k++)
        publish(&s, 1 + (int)sim_rand(&s, n - 1), T, k);
    for (unsigned k = 100; k < 120; k++)
        assert_int_equal(s.nodes[h].got[k], 1);
    sim_free(&s);
}

/* Sybils that GRAFT before the honest peers arrive hold mesh slots by time in mesh
 * (P1) until opportunistic grafting (every 60 heartbeats) brings better-scoring honest
 * peers in; the outbound quota keeps honest peers in the mesh throughout. */
static void
test_sybils_first(void **state)
{
    static sim_t s;
    gossipsub_config_t cfg;
    peer_id_t mesh[64];
    const int n = 13, sybils = 10, h = 0;
    size_t m = 0, honest = 0;
    (void)state;

    gossipsub_config_default(&cfg);
    sim_init(&s, n, sybils, &cfg);
    assert_int_equal(gossipsub_subscribe(s.nodes[h].gs, s.now, TL), 0);
    for (int i = n; i < n + sybils; i++) {
        gossipsub_add_peer(s.nodes[h].gs, s.now, &s.nodes[i].id, GOSSIPSUB_V11, false, NULL);
        send_graft(&s, i, h);
    }
    for (int i = 1; i < n; i++) /* h dials the honest peers: they are outbound */
        sim_connect(&s, h, i);
    sim_random_graph(&s, n, 2);
    sim_subscribe(&s, n, T);
    for (int round = 0; round < 7; round++) {
        sim_heartbeats(&s, 10);
        for (unsigned k = 0; k < 20; k++)
            publish(&s, 1 + (int)sim_rand(&s, n - 1), T, 20 * (unsigned)round + k);
        m = gossipsub_mesh(s.nodes[h].gs, TL, mesh, 64);
        honest = 0;
        for (size_t x = 0; x < m; x++)
            honest += find_node(&s, &mesh[x]) < n;
        assert_true(honest >= cfg.d_out);
        assert_true(m <= cfg.d_hi);
    }
    assert_true(honest * 2 > m); /* after opportunistic grafting */
    for (unsigned k = 0; k < 140; k++)
        assert_int_equal(s.nodes[h].got[k], 1);
    sim_free(&s);
}

/* Deferred signature checks (env.verify, as the node does on its worker pool):
 * every message reaches everyone exactly once, forgeries are still penalised, and
 * nothing is left waiting. */
static void
test_deferred_verification(void **state)
{
    static sim_t s;
    gossipsub_config_t cfg;
    gossipsub_stats_t st;
    const int n = 20, bad = 20;
    (void)state;

    gossipsub_config_default(&cfg);
    g_deferred = true;
    sim_init(&s, n, 1, &cfg);
    g_deferred = false;
    sim_random_graph(&s, n, 3);
    sim_connect(&s, bad, 0);
    sim_subscribe(&s, n, T);
    sim_heartbeats(&s, 3);
    for (unsigned k = 0; k < 100; k++)
        publish(&s, (int)sim_rand(&s, (uint32_t)n), T, k);
    sim_heartbeats(&s, 2);
    for (int i = 0; i < n; i++) {
        for (unsigned k = 0; k < 100; k++)
            assert_int_equal(s.nodes[i].got[k], 1);
        assert_int_equal(gossipsub_pending(s.nodes[i].gs), 0);
    }
    send_forged(&s, bad, 0, 700);
    assert_int_equal(s.nodes[0].invalid_reports, 1);
    assert_int_equal(s.nodes[0].got[700], 0);
    gossipsub_stats(s.nodes[0].gs, &st);
    assert_int_equal(st.msg[GOSSIPSUB_CLASS_OTHER].invalid, 1);
    assert_true(st.msg[GOSSIPSUB_CLASS_OTHER].delivered >= 100);
    assert_int_equal(gossipsub_verified(s.nodes[0].gs, s.now, (const uint8_t *)"x", 1, 0, NULL),
                     LS_ENOENT);
    sim_free(&s);
}

static void
test_api_edges(void **state)
{
    static sim_t s;
    gossipsub_config_t cfg;
    (void)state;

    gossipsub_config_default(&cfg);
    sim_init(&s, 2, 0, &cfg);
    gossipsub_t *g = s.nodes[0].gs;
    assert_int_equal(gossipsub_subscribe(g, s.now, (const uint8_t *)"", 0), LS_EINVAL);
    assert_int_equal(gossipsub_unsubscribe(g, s.now, TL), LS_ENOENT);
    assert_int_equal(gossipsub_subscribe(g, s.now, TL), 0);
    assert_int_equal(gossipsub_subscribe(g, s.now, TL), 0);
    assert_true(gossipsub_is_subscribed(g, TL));
    /* no peers: published, delivered to ourselves, sent to nobody */
    assert_int_equal(publish(&s, 0, T, 1), 0);
    assert_int_equal(s.nodes[0].got[1], 1);
    /* a malformed RPC is an error; from an unknown peer it is ignored */
    sim_connect(&s, 0, 1);
    static const uint8_t junk[] = {0x12, 0x05, 0x01};
    assert_int_equal(gossipsub_input(g, s.now, &s.nodes[1].id, junk, sizeof junk), LS_EINVAL);
    peer_id_t stranger;
    uint8_t pk[32] = {9};
    peer_id_from_ed25519(&stranger, pk);
    assert_int_equal(gossipsub_input(g, s.now, &stranger, junk, sizeof junk), 0);
    assert_int_equal(gossipsub_unsubscribe(g, s.now, TL), 0);
    assert_false(gossipsub_is_subscribed(g, TL));
    gossipsub_remove_peer(g, s.now, &s.nodes[1].id);
    assert_int_equal(gossipsub_proto_from_id("/meshsub/1.2.0"), GOSSIPSUB_V12);
    assert_int_equal(gossipsub_proto_from_id("/floodsub/1.0.0"), GOSSIPSUB_FLOODSUB);
    assert_int_equal(gossipsub_proto_from_id("/meshsub/9"), -1);
    sim_free(&s);
}

/* gossipsub v1.1 GossipRetransmission: a peer asking for one message by IWANT again
 * and again gets it gossip_retransmission (3) times, then nothing. */
static void
test_iwant_retransmission_cap(void **state)
{
    static sim_t s;
    gossipsub_config_t cfg;
    uint8_t id[PUBSUB_MSGID_MAX];
    size_t id_len = 0;
    (void)state;

    gossipsub_config_default(&cfg);
    sim_init(&s, 1, 2, &cfg);
    sim_connect(&s, 0, 1);
    sim_connect(&s, 0, 2);
    sim_subscribe(&s, 1, T);
    assert_true(gossipsub_publish(s.nodes[0].gs, s.now, TL, (const uint8_t *)"m1", 2, id,
                                  &id_len) >= 0);
    sim_drain(&s);
    size_t before = s.raw_msgs;

    ProtobufCBinaryData mid = {id_len, id};
    PubsubPb__ControlIWant iw = PUBSUB_PB__CONTROL_IWANT__INIT, *iwp = &iw;
    iw.n_messageids = 1;
    iw.messageids = &mid;
    PubsubPb__ControlMessage ctl = PUBSUB_PB__CONTROL_MESSAGE__INIT;
    ctl.n_iwant = 1;
    ctl.iwant = &iwp;
    PubsubPb__RPC rpc = PUBSUB_PB__RPC__INIT;
    rpc.control = &ctl;
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(pubsub_rpc_encode(&rpc, false, &out), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(gossipsub_input(s.nodes[0].gs, s.now, &s.nodes[1].id, out.data, out.len),
                         0);
        sim_drain(&s);
    }
    assert_int_equal(s.raw_msgs - before, 3);
    /* another peer has its own allowance */
    assert_int_equal(gossipsub_input(s.nodes[0].gs, s.now, &s.nodes[2].id, out.data, out.len), 0);
    sim_drain(&s);
    assert_int_equal(s.raw_msgs - before, 4);
    gossipsub_stats_t st;
    gossipsub_stats(s.nodes[0].gs, &st);
    assert_int_equal(st.iwant_served, 4);
    assert_int_equal(st.iwant_over_retransmission, 2);
    buf_free(&out);
    sim_free(&s);
}

/* Raw peer `r` tells router 0 it (un)subscribes `topic`. */
static void
raw_subscription(sim_t *s, int r, const char *topic, bool subscribe)
{
    PubsubPb__RPC__SubOpts so = PUBSUB_PB__RPC__SUB_OPTS__INIT, *sop = &so;
    so.has_subscribe = so.has_topicid = 1;
    so.subscribe = subscribe;
    so.topicid = (ProtobufCBinaryData){strlen(topic), (uint8_t *)topic};
    PubsubPb__RPC rpc = PUBSUB_PB__RPC__INIT;
    rpc.n_subscriptions = 1;
    rpc.subscriptions = &sop;
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(pubsub_rpc_encode(&rpc, false, &out), 0);
    assert_int_equal(gossipsub_input(s->nodes[0].gs, s->now, &s->nodes[r].id, out.data, out.len),
                     0);
    buf_free(&out);
    sim_drain(s);
}

/* Topics peers subscribed to and left do not fill the table for good: when no new
 * slot may be taken, an idle one (no subscriber, not ours, nothing cached or backed
 * off under it) takes the new topic; one still named by cached messages does not. */
static void
test_topic_slots_reclaimed(void **state)
{
    static sim_t s;
    gossipsub_config_t cfg;
    gossipsub_stats_t st;
    (void)state;

    gossipsub_config_default(&cfg);
    cfg.max_topics = 64 + 3; /* gs_internal.h: 64 are kept for our own */
    sim_init(&s, 1, 1, &cfg);
    sim_connect(&s, 0, 1);
    gossipsub_t *gs = s.nodes[0].gs;
    peer_id_t who[4];
#define PEERS_OF(t) gossipsub_topic_peers(gs, (const uint8_t *)(t), strlen(t), who, 4)
    raw_subscription(&s, 1, "t1", true);
    raw_subscription(&s, 1, "t2", true);
    raw_subscription(&s, 1, "t3", true);
    raw_subscription(&s, 1, "t4", true);
    assert_int_equal(PEERS_OF("t3"), 1);
    assert_int_equal(PEERS_OF("t4"), 0); /* the rest is ours */
    raw_subscription(&s, 1, "t1", false);
    raw_subscription(&s, 1, "t4", true);
    assert_int_equal(PEERS_OF("t4"), 1);
    gossipsub_stats(gs, &st);
    assert_int_equal(st.topics_reclaimed, 1);

    /* our own fill the table; then leaving one frees its slot */
    char name[16];
    int mine = 0;
    for (;; mine++) {
        snprintf(name, sizeof name, "o%d", mine);
        if (gossipsub_subscribe(gs, s.now, (const uint8_t *)name, strlen(name)) == LS_ELIMIT)
            break;
    }
    assert_int_equal(mine, 64);
    assert_int_equal(gossipsub_unsubscribe(gs, s.now, (const uint8_t *)"o5", 2), 0);
    assert_int_equal(gossipsub_subscribe(gs, s.now, (const uint8_t *)"x", 1), 0);

    /* our message on x stays in the message cache after we leave x */
    assert_true(gossipsub_publish(gs, s.now, (const uint8_t *)"x", 1, (const uint8_t *)"m1", 2,
                                  NULL, NULL) >= 0);
    sim_drain(&s);
    assert_int_equal(gossipsub_unsubscribe(gs, s.now, (const uint8_t *)"x", 1), 0);
    assert_int_equal(gossipsub_subscribe(gs, s.now, (const uint8_t *)"y", 1), LS_ELIMIT);
    sim_heartbeats(&s, (int)cfg.history_length + 1); /* the cache forgets it */
    assert_int_equal(gossipsub_subscribe(gs, s.now, (const uint8_t *)"y", 1), 0);
    gossipsub_stats(gs, &st);
    assert_int_equal(st.topics_reclaimed, 3);
    assert_int_equal(PEERS_OF("t2"), 1); /* the peer's topics were untouched */
    assert_int_equal(PEERS_OF("t4"), 1);
#undef PEERS_OF
    sim_free(&s);
}

/* An RPC from raw peer `r` to router 0: one validly signed message `k` on T, or,
 * with `dontwant`, an IDONTWANT for that message's ID instead. */
static void
raw_message(sim_t *s, int r, unsigned k, int author, bool dontwant)
{
    PubsubPb__Message m, *ms[1] = {&m};
    pubsub_msg_sig_t sig;
    char data[16];
    int len = snprintf(data, sizeof data, "m%u", k);
    pubsub_pb__message__init(&m);
    m.has_topic = m.has_data = 1;
    m.topic = (ProtobufCBinaryData){4, (uint8_t *)T};
    m.data = (ProtobufCBinaryData){(size_t)len, (uint8_t *)data};
    assert_int_equal(pubsub_msg_sign(&m, 2000 + k, &s->nodes[author].kp, &sig), 0);
    uint8_t id[PUBSUB_MSGID_MAX];
    int id_len = pubsub_msgid_default(&m, id);
    assert_true(id_len > 0);
    ProtobufCBinaryData mid = {(size_t)id_len, id};
    PubsubPb__ControlIDontWant dw = PUBSUB_PB__CONTROL_IDONT_WANT__INIT, *dwp = &dw;
    dw.n_messageids = 1;
    dw.messageids = &mid;
    PubsubPb__ControlMessage ctl = PUBSUB_PB__CONTROL_MESSAGE__INIT;
    ctl.n_idontwant = 1;
    ctl.idontwant = &dwp;
    PubsubPb__RPC rpc = PUBSUB_PB__RPC__INIT;
    if (dontwant) {
        rpc.control = &ctl;
    } else {
        rpc.n_publish = 1;
        rpc.publish = ms;
    }
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(pubsub_rpc_encode(&rpc, false, &out), 0);
    assert_int_equal(gossipsub_input(s->nodes[0].gs, s->now, &s->nodes[r].id, out.data, out.len),
                     0);
    buf_free(&out);
    sim_drain(s);
}

/* gossipsub v1.2 IDONTWANT: a v1.2 mesh peer that said it does not want a message is
 * not sent it; a v1.1 peer's IDONTWANT means nothing; it lapses after 3 heartbeats. */
static void
test_idontwant_honoured(void **state)
{
    static sim_t s;
    gossipsub_config_t cfg;
    gossipsub_stats_t st;
    (void)state;

    gossipsub_config_default(&cfg);
    sim_init(&s, 1, 2, &cfg);
    sim_connect(&s, 0, 1);
    sim_connect(&s, 0, 2);
    gossipsub_t *gs = s.nodes[0].gs;
    gossipsub_add_peer(gs, s.now, &s.nodes[2].id, GOSSIPSUB_V12, false, NULL);
    raw_subscription(&s, 1, T, true);
    raw_subscription(&s, 2, T, true);
    sim_subscribe(&s, 1, T); /* both raw peers join our mesh */
    assert_int_equal(gossipsub_mesh(gs, TL, NULL, 0), 2);

    size_t before = s.raw_msgs;
    raw_message(&s, 1, 1, 1, false); /* no IDONTWANT: forwarded to peer 2 */
    assert_int_equal(s.raw_msgs - before, 1);
    raw_message(&s, 2, 2, 1, true); /* peer 2: IDONTWANT m2 */
    before = s.raw_msgs;
    raw_message(&s, 1, 2, 1, false);
    assert_int_equal(s.raw_msgs - before, 0);
    assert_int_equal(s.nodes[0].got[2], 1); /* still delivered here */
    gossipsub_stats(gs, &st);
    assert_int_equal(st.idontwant_received, 1);
    assert_int_equal(st.idontwant_skipped, 1);

    /* peer 1 speaks v1.1: its IDONTWANT is not part of its protocol */
    raw_message(&s, 1, 3, 2, true);
    before = s.raw_msgs;
    raw_message(&s, 2, 3, 2, false);
    assert_int_equal(s.raw_msgs - before, 1);

    /* an IDONTWANT lapses: after 3 heartbeats it no longer holds back a message */
    raw_message(&s, 2, 4, 1, true);
    sim_heartbeats(&s, 3);
    before = s.raw_msgs;
    raw_message(&s, 1, 4, 1, false);
    assert_true(s.raw_msgs - before >= 1);
    sim_free(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mesh_forms),
        cmocka_unit_test(test_delivery_exactly_once),
        cmocka_unit_test(test_gossip_recovers_losses),
        cmocka_unit_test(test_iwant_retransmission_cap),
        cmocka_unit_test(test_topic_slots_reclaimed),
        cmocka_unit_test(test_idontwant_honoured),
        cmocka_unit_test(test_lester_hop_limit),
        cmocka_unit_test(test_invalid_signatures_graylisted),
        cmocka_unit_test(test_sybils_do_not_take_over),
        cmocka_unit_test(test_sybils_first),
        cmocka_unit_test(test_deferred_verification),
        cmocka_unit_test(test_api_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
