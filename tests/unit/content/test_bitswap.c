/* test_bitswap — the engine in an in-process simulated network: one client and three
 * servers exchanging messages through the env with per-link latency, block stores in
 * memory. Multi-source downloads, a server vanishing, a corrupting server, DONT_HAVE,
 * 1.0.0 / 1.1.0 peers, serving details and limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "content/bitswap/bitswap.h"
#include "lib/err/err.h"
#include "lib/mem/mem.h"

#define NNODES 4
#define MAXBLOCKS 2048
#define BLOCK_LEN 1024

/* ---- the blocks: deterministic data, CIDv1 raw ---- */
static uint8_t g_data[MAXBLOCKS][BLOCK_LEN];
static cid_t g_cid[MAXBLOCKS];

static void
make_blocks(void)
{
    for (int i = 0; i < MAXBLOCKS; i++) {
        for (int j = 0; j < BLOCK_LEN; j++)
            g_data[i][j] = (uint8_t)(i * 31 + j * 7 + (i >> 8));
        memcpy(g_data[i], &i, sizeof i);
        cid_v1_sha256(&g_cid[i], CID_CODEC_RAW, g_data[i], BLOCK_LEN);
    }
}

static int
block_index(const cid_t *c)
{
    for (int i = 0; i < MAXBLOCKS; i++)
        if (multihash_equal(&g_cid[i].hash, &c->hash))
            return i;
    return -1;
}

/* ---- nodes and the network ---- */
typedef struct node_t {
    int idx;
    peer_id_t id;
    bitswap_t *bs;
    bool have[MAXBLOCKS];
    bool dead, corrupt;
    int version;
    uint64_t latency_ms, deadline;
    int delivered, bad_puts;
    int prefetched;  /* env.prefetch calls (servers with env.size) */
    int wants_in;    /* want-block entries received */
    int reports[BITSWAP_EVENT_COUNT];
    int last_report_from;
} node_t;

typedef struct msg_t {
    int from, to, version;
    uint64_t at;
    uint8_t *data;
    size_t len;
} msg_t;

static node_t g_nodes[NNODES];
static int8_t g_asked[MAXBLOCKS]; /* the server node 0 first sent each want-block to */
static msg_t *g_q;
static size_t g_nq, g_capq;
static uint64_t g_now;
static int g_input_errors;

static int
node_of(const peer_id_t *id)
{
    for (int i = 0; i < NNODES; i++)
        if (peer_id_equal(&g_nodes[i].id, id))
            return i;
    return -1;
}

static int
link_version(int a, int b)
{
    return LS_MIN(g_nodes[a].version, g_nodes[b].version);
}

/* Who was asked for which block, and how many want-blocks each node received. */
static void
note_wants(int from, int to, const uint8_t *msg, size_t len)
{
    bitswap_msg_t m;
    if (bitswap_msg_decode(msg, len, &m) != 0)
        return;
    for (size_t i = 0; i < m.nentries; i++) {
        const bitswap_entry_t *e = &m.entries[i];
        if (e->cancel || e->want_type != BITSWAP_WANT_BLOCK)
            continue;
        g_nodes[to].wants_in++;
        int b = block_index(&e->cid);
        if (from == 0 && b >= 0 && g_asked[b] < 0)
            g_asked[b] = (int8_t)to;
    }
    bitswap_msg_clear(&m);
}

static int
env_send(void *ctx, const peer_id_t *to, const uint8_t *msg, size_t len)
{
    node_t *n = ctx;
    int t = node_of(to);
    assert_true(t >= 0);
    note_wants(n->idx, t, msg, len);
    if (g_nq == g_capq) {
        g_capq = g_capq ? 2 * g_capq : 64;
        g_q = ls_realloc(g_q, g_capq * sizeof *g_q);
    }
    g_q[g_nq++] = (msg_t){n->idx,
                          t,
                          link_version(n->idx, t),
                          g_now + n->latency_ms + g_nodes[t].latency_ms,
                          ls_memdup(msg, len),
                          len};
    return 0;
}

/* The odd nodes serve as the daemon does: each block read straight into the framed
 * message, whose buffer the glue takes (a fresh one given back). */
static int
env_send_frame(void *ctx, const peer_id_t *to, buf_t *frame, size_t off)
{
    buf_t mine = *frame;
    const uint8_t *body;
    size_t len;
    buf_init(frame, mine.max);
    int n = bitswap_msg_frame_decode(mine.data + off, mine.len - off, 0, &body, &len);
    assert_int_equal(n, mine.len - off);
    int rc = env_send(ctx, to, body, len);
    buf_free(&mine);
    return rc;
}

static int64_t
env_size(void *ctx, const cid_t *cid)
{
    node_t *n = ctx;
    int i = block_index(cid);
    return i >= 0 && n->have[i] ? BLOCK_LEN : LS_ENOENT;
}

static bool
env_has(void *ctx, const cid_t *cid)
{
    node_t *n = ctx;
    int i = block_index(cid);
    return i >= 0 && n->have[i];
}

static int
env_get(void *ctx, const cid_t *cid, buf_t *out)
{
    node_t *n = ctx;
    int i = block_index(cid);
    if (i < 0 || !n->have[i])
        return LS_ENOENT;
    int rc = buf_append(out, g_data[i], BLOCK_LEN);
    if (rc == 0 && n->corrupt)
        out->data[out->len - 1] ^= 0x5a;
    return rc;
}

static int
env_put(void *ctx, const cid_t *cid, const uint8_t *data, size_t len)
{
    node_t *n = ctx;
    int i = block_index(cid);
    if (i < 0 || len != BLOCK_LEN || memcmp(data, g_data[i], len) != 0) {
        n->bad_puts++;
        return LS_EINVAL;
    }
    n->have[i] = true;
    return 0;
}

static void
env_on_block(void *ctx, const cid_t *cid, const uint8_t *data, size_t len)
{
    node_t *n = ctx;
    (void)cid;
    (void)data;
    (void)len;
    n->delivered++;
}

static void
env_prefetch(void *ctx, const cid_t *cid)
{
    node_t *n = ctx;
    assert_true(block_index(cid) >= 0);
    n->prefetched++;
}

static void
env_report(void *ctx, const peer_id_t *peer, bitswap_event_t ev)
{
    node_t *n = ctx;
    n->reports[ev]++;
    n->last_report_from = node_of(peer);
}

static void
env_random(void *ctx, void *out, size_t len)
{
    (void)ctx;
    memset(out, 0x42, len);
}

static void
sim_init(const bitswap_config_t *cfg, const int versions[NNODES])
{
    static const uint64_t lat[NNODES] = {1, 2, 3, 5};
    make_blocks();
    memset(g_nodes, 0, sizeof g_nodes);
    memset(g_asked, -1, sizeof g_asked);
    g_now = 1000;
    g_input_errors = 0;
    for (int i = 0; i < NNODES; i++) {
        node_t *n = &g_nodes[i];
        uint8_t pk[32] = {(uint8_t)(i + 1)};
        bitswap_env_t env = {n,          env_send,   env_has, env_get, env_put, env_on_block,
                             env_report, env_random, NULL};
        n->idx = i;
        n->latency_ms = lat[i];
        n->version = versions ? versions[i] : BITSWAP_V120;
        n->last_report_from = -1;
        peer_id_from_ed25519(&n->id, pk);
        if (i % 2) {
            env.size = env_size;
            env.send_frame = env_send_frame;
            env.prefetch = env_prefetch;
        }
        n->bs = bitswap_new(cfg, &env);
    }
    for (int i = 0; i < NNODES; i++)
        for (int j = 0; j < NNODES; j++)
            if (i != j)
                bitswap_peer_connected(g_nodes[i].bs, g_now, &g_nodes[j].id, link_version(i, j));
}

static void
sim_free(void)
{
    for (size_t i = 0; i < g_nq; i++)
        free(g_q[i].data);
    free(g_q);
    g_q = NULL;
    g_nq = g_capq = 0;
    for (int i = 0; i < NNODES; i++)
        bitswap_free(g_nodes[i].bs);
}

static void
deliver(size_t k)
{
    msg_t m = g_q[k];
    memmove(&g_q[k], &g_q[k + 1], (g_nq - k - 1) * sizeof *g_q);
    g_nq--;
    if (!g_nodes[m.from].dead && !g_nodes[m.to].dead) {
        int rc =
            bitswap_input(g_nodes[m.to].bs, g_now, &g_nodes[m.from].id, m.version, m.data, m.len);
        if (rc != 0)
            g_input_errors++;
    }
    free(m.data);
}

/* Run until `done()` or the clock passes `limit_ms`; returns true if done. */
static bool
sim_run(bool (*done)(void), uint64_t limit_ms, void (*hook)(void))
{
    while (!done() && g_now < limit_ms) {
        size_t best = SIZE_MAX;
        uint64_t t = UINT64_MAX;
        for (size_t k = 0; k < g_nq; k++)
            if (g_q[k].at < t) {
                t = g_q[k].at;
                best = k;
            }
        for (int i = 0; i < NNODES; i++)
            if (!g_nodes[i].dead)
                t = LS_MIN(t, g_nodes[i].deadline);
        if (t == UINT64_MAX)
            return done();
        g_now = LS_MAX(g_now, t);
        if (best != SIZE_MAX && g_q[best].at <= g_now)
            deliver(best);
        for (int i = 0; i < NNODES; i++)
            if (!g_nodes[i].dead && g_nodes[i].deadline <= g_now)
                g_nodes[i].deadline = bitswap_tick(g_nodes[i].bs, g_now);
        if (hook)
            hook();
    }
    return done();
}

static bitswap_session_t *g_sess;

static bool
session_done(void)
{
    return bitswap_session_is_done(g_sess);
}

static void
serve_all(int node, int nblocks)
{
    for (int i = 0; i < nblocks; i++)
        g_nodes[node].have[i] = true;
}

static void
start_session(int nblocks)
{
    g_sess = bitswap_session_new(g_nodes[0].bs);
    for (int i = 1; i < NNODES; i++)
        assert_int_equal(bitswap_session_add_peer(g_sess, &g_nodes[i].id), 0);
    assert_int_equal(bitswap_session_add_peer(g_sess, &g_nodes[1].id), LS_EEXIST);
    assert_int_equal(bitswap_session_want(g_sess, g_cid, (size_t)nblocks), nblocks);
    for (int i = 0; i < NNODES; i++)
        g_nodes[i].deadline = g_now;
}

static bitswap_ledger_t
client_ledger(int server)
{
    bitswap_ledger_t l;
    assert_int_equal(bitswap_ledger_get(g_nodes[0].bs, &g_nodes[server].id, &l), 0);
    return l;
}

static void
assert_all_received(int nblocks)
{
    for (int i = 0; i < nblocks; i++)
        assert_true(g_nodes[0].have[i]);
    assert_int_equal(g_nodes[0].bad_puts, 0);
    assert_int_equal(g_nodes[0].delivered, nblocks);
}

/* ---- tests ---- */

static void
test_multi_source_2000(void **state)
{
    (void)state;
    sim_init(NULL, NULL);
    for (int s = 1; s < NNODES; s++)
        serve_all(s, 2000);
    start_session(2000);
    assert_true(sim_run(session_done, 60000, NULL));
    assert_all_received(2000);
    uint64_t total = 0;
    for (int s = 1; s < NNODES; s++) {
        bitswap_ledger_t l = client_ledger(s);
        assert_true(l.blocks_recv > 100); /* every server contributed */
        /* want-haves go only to peers that have not delivered yet: those of the
         * first round trip, not one per block for every other server */
        assert_true(l.haves_recv < 300); /* 64-128 here; 1120-1504 each before */
        total += l.blocks_recv;
        bitswap_ledger_t sl;
        assert_int_equal(bitswap_ledger_get(g_nodes[s].bs, &g_nodes[0].id, &sl), 0);
        assert_true(sl.blocks_sent >= l.blocks_recv);
        assert_int_equal(sl.bytes_sent, sl.blocks_sent * BLOCK_LEN);
    }
    assert_int_equal(total, 2000);
    /* consecutive blocks go to one server in runs (a seeder then reads whole
       stretches of its store), not alternately */
    int runs = 1;
    for (int i = 1; i < 2000; i++)
        runs += g_asked[i] != g_asked[i - 1];
    assert_true(2000 / runs >= 8);
    bitswap_session_stats_t st;
    bitswap_session_stats(g_sess, &st);
    assert_int_equal(st.received, 2000);
    assert_int_equal(st.bytes, 2000 * BLOCK_LEN);
    assert_int_equal(st.peers, 3);
    assert_int_equal(st.peers_with_blocks, 3);
    assert_true(st.rate_bps > 0);
    assert_int_equal(g_input_errors, 0);
    bitswap_session_free(g_sess);
    sim_free();
}

static void
vanish_hook(void)
{
    if (!g_nodes[2].dead && g_nodes[0].delivered >= 500)
        g_nodes[2].dead = true; /* no disconnect event: only timeouts tell */
}

static void
test_server_vanishes(void **state)
{
    (void)state;
    bitswap_config_t cfg = {.want_timeout_ms = 500};
    sim_init(&cfg, NULL);
    for (int s = 1; s < NNODES; s++)
        serve_all(s, 2000);
    start_session(2000);
    assert_true(sim_run(session_done, 120000, vanish_hook));
    assert_true(g_nodes[2].dead);
    assert_all_received(2000);
    bitswap_ledger_t l = client_ledger(2);
    assert_true(l.timeouts > 0);
    assert_true(g_nodes[0].reports[BITSWAP_EVENT_TIMEOUT] > 0);
    assert_true(client_ledger(1).blocks_recv + client_ledger(3).blocks_recv >= 1500);
    bitswap_session_free(g_sess);
    sim_free();
}

static void
test_disconnect_moves_wants(void **state)
{
    (void)state;
    sim_init(NULL, NULL);
    for (int s = 1; s < NNODES; s++)
        serve_all(s, 600);
    start_session(600);
    /* deliver a little, then tell the client that server 1 is gone */
    for (int k = 0; k < 20 && g_nq; k++)
        deliver(0);
    g_nodes[1].dead = true;
    bitswap_peer_disconnected(g_nodes[0].bs, &g_nodes[1].id);
    assert_true(sim_run(session_done, 60000, NULL));
    assert_all_received(600);
    assert_int_equal(g_nodes[0].reports[BITSWAP_EVENT_TIMEOUT], 0);
    bitswap_session_free(g_sess);
    sim_free();
}

static void
corrupt_server(const bitswap_config_t *cfg)
{
    sim_init(cfg, NULL);
    for (int s = 1; s < NNODES; s++)
        serve_all(s, 1000);
    g_nodes[3].corrupt = true;
    start_session(1000);
    assert_true(sim_run(session_done, 60000, NULL));
    assert_all_received(1000);
    assert_true(g_nodes[0].reports[BITSWAP_EVENT_BAD_BLOCK] >= 1);
    assert_int_equal(g_nodes[0].last_report_from, 3);
    bitswap_ledger_t l = client_ledger(3);
    assert_int_equal(l.blocks_recv, 0);
    assert_true(l.bad_blocks_recv >= 1);
    bitswap_session_stats_t st;
    bitswap_session_stats(g_sess, &st);
    assert_int_equal(st.peers, 2); /* the corrupting server was dropped */
    bitswap_session_free(g_sess);
    sim_free();
}

/* Each message's blocks are hashed before any is looked at, on helper threads when
 * there are several: the outcome is the same with none and with three (the
 * corrupting server's blocks are caught whichever thread hashed them). */
static void
test_corrupt_server(void **state)
{
    (void)state;
    bitswap_config_t inline_only = {.verify_helpers = -1}, three = {.verify_helpers = 3};
    corrupt_server(&inline_only);
    corrupt_server(&three);
    corrupt_server(NULL);
}

static bool
all_but_one(void)
{
    bitswap_session_stats_t st;
    bitswap_session_stats(g_sess, &st);
    return st.pending == 1;
}

static void
test_dont_have(void **state)
{
    (void)state;
    sim_init(NULL, NULL);
    /* server 1 has the even blocks, server 2 the odd ones, server 3 none; block 300
     * is held by nobody */
    for (int i = 0; i < 300; i++)
        g_nodes[1 + (i & 1)].have[i] = true;
    start_session(301);
    assert_true(sim_run(all_but_one, 60000, NULL));
    assert_all_received(300);
    assert_false(g_nodes[0].have[300]);
    assert_true(client_ledger(1).dont_haves_recv > 0);
    assert_true(client_ledger(3).dont_haves_recv > 0);
    assert_int_equal(client_ledger(1).blocks_recv, 150);
    assert_int_equal(client_ledger(2).blocks_recv, 150);
    /* the missing block stays wanted and is retried, without busy looping */
    g_now += 20000;
    uint64_t next = bitswap_tick(g_nodes[0].bs, g_now);
    assert_true(next > g_now && next != UINT64_MAX);
    /* it appears on server 3, and the next rebroadcast finds it */
    g_nodes[3].have[300] = true;
    for (int i = 0; i < NNODES; i++)
        g_nodes[i].deadline = g_now;
    assert_true(sim_run(session_done, g_now + 60000, NULL));
    assert_true(g_nodes[0].have[300]);
    bitswap_session_free(g_sess);
    sim_free();
}

static void
test_old_versions(void **state)
{
    (void)state;
    static const int versions[NNODES] = {BITSWAP_V120, BITSWAP_V100, BITSWAP_V110, BITSWAP_V120};
    bitswap_config_t cfg = {.want_timeout_ms = 300};
    sim_init(&cfg, versions);
    serve_all(1, 400);
    serve_all(2, 400);
    for (int i = 0; i < 200; i++)
        g_nodes[3].have[i] = true; /* 1.2.0, half: says DONT_HAVE for the rest */
    start_session(400);
    assert_true(sim_run(session_done, 60000, NULL));
    assert_all_received(400);
    assert_true(client_ledger(1).blocks_recv > 0); /* 1.0.0: blocks field, CIDv0 hash */
    assert_true(client_ledger(2).blocks_recv > 0); /* 1.1.0: payload */
    assert_int_equal(client_ledger(1).haves_recv + client_ledger(1).dont_haves_recv, 0);
    assert_int_equal(g_input_errors, 0);
    bitswap_session_free(g_sess);
    sim_free();
}

/* ---- serving details, driven by hand ---- */

/* A wantlist sent to `to` on a stream of `version` (encoded as 1.2.0 writes it, so
 * that an older stream may carry fields it does not define). */
static void
send_wants_on(int version, int from, int to, const int *idx, size_t n, int type, bool sdh,
              bool cancel)
{
    bitswap_writer_t w;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    bitswap_writer_init(&w, BITSWAP_V120);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(bitswap_writer_want(&w, &g_cid[idx[i]], 1, type, sdh, cancel), 0);
    assert_int_equal(bitswap_writer_finish(&w, &b), 0);
    assert_int_equal(
        bitswap_input(g_nodes[to].bs, g_now, &g_nodes[from].id, version, b.data, b.len), 0);
    bitswap_writer_free(&w);
    buf_free(&b);
}

static void
send_wants(int from, int to, const int *idx, size_t n, int type, bool sdh, bool cancel)
{
    send_wants_on(BITSWAP_V120, from, to, idx, n, type, sdh, cancel);
}

/* Decode the last queued message and drop the queue. */
static void
last_msg(bitswap_msg_t *m)
{
    assert_true(g_nq > 0);
    assert_int_equal(bitswap_msg_decode(g_q[g_nq - 1].data, g_q[g_nq - 1].len, m), 0);
}

static void
clear_queue(void)
{
    for (size_t i = 0; i < g_nq; i++)
        free(g_q[i].data);
    g_nq = 0;
}

static void
test_serving(void **state)
{
    (void)state;
    bitswap_msg_t m;
    sim_init(NULL, NULL);
    g_nodes[1].have[0] = true;
    int have_missing[] = {0, 1};
    send_wants(0, 1, have_missing, 2, BITSWAP_WANT_HAVE, true, false);
    last_msg(&m);
    assert_int_equal(m.npresences, 2);
    assert_int_equal(m.presences[0].type, BITSWAP_HAVE);
    assert_int_equal(m.presences[1].type, BITSWAP_DONT_HAVE);
    bitswap_msg_clear(&m);
    clear_queue();

    /* want-block without sendDontHave for a missing block: silence, until it arrives */
    int one[] = {1};
    send_wants(0, 1, one, 1, BITSWAP_WANT_BLOCK, false, false);
    assert_int_equal(g_nq, 0);
    g_nodes[1].have[1] = true;
    bitswap_block_added(g_nodes[1].bs, &g_cid[1]);
    last_msg(&m);
    assert_int_equal(m.nblocks, 1);
    assert_int_equal(m.blocks[0].len, BLOCK_LEN);
    assert_memory_equal(m.blocks[0].data, g_data[1], BLOCK_LEN);
    bitswap_msg_clear(&m);
    clear_queue();

    /* a cancelled want is not served later */
    int two[] = {2};
    send_wants(0, 1, two, 1, BITSWAP_WANT_BLOCK, false, false);
    send_wants(0, 1, two, 1, BITSWAP_WANT_BLOCK, false, true);
    g_nodes[1].have[2] = true;
    bitswap_block_added(g_nodes[1].bs, &g_cid[2]);
    assert_int_equal(g_nq, 0);

    /* a want-have on a 1.1.0 stream (which has no presences to answer it with) asks
       for the block, as go-bitswap reads it; it once made the server loop for ever */
    int three[] = {3};
    g_nodes[1].have[3] = true;
    send_wants_on(BITSWAP_V110, 2, 1, three, 1, BITSWAP_WANT_HAVE, true, false);
    last_msg(&m);
    assert_int_equal(m.nblocks, 1);
    assert_int_equal(m.npresences, 0);
    assert_memory_equal(m.blocks[0].data, g_data[3], BLOCK_LEN);
    bitswap_msg_clear(&m);
    sim_free();
}

static void
test_fairness(void **state)
{
    (void)state;
    bitswap_config_t cfg = {.batch_bytes = 3 * BLOCK_LEN + 512, .serve_budget_bytes = 1};
    int idx[60];
    int sent[NNODES] = {0};
    sim_init(&cfg, NULL);
    serve_all(1, 60);
    for (int i = 0; i < 60; i++)
        idx[i] = i;
    send_wants(0, 1, idx, 30, BITSWAP_WANT_BLOCK, false, false);
    send_wants(2, 1, idx + 30, 30, BITSWAP_WANT_BLOCK, false, false);
    clear_queue(); /* count from when both peers are waiting */
    for (int round = 0; round < 8; round++)
        assert_int_equal(bitswap_tick(g_nodes[1].bs, g_now), g_now); /* busy: more to do */
    for (size_t i = 0; i < g_nq; i++)
        sent[g_q[i].to]++;
    /* one message per call, alternating between the two peers */
    assert_int_equal(sent[0], 4);
    assert_int_equal(sent[2], 4);
    sim_free();
}

/* A server that reads blocks by size (env.size) names the next blocks of a peer's
 * queue to env.prefetch after each message, up to 16 ahead, each once: 40 wanted,
 * two per message, the first message's two read before any hint. */
static void
test_prefetch_hints(void **state)
{
    (void)state;
    bitswap_config_t cfg = {.batch_bytes = 2 * BLOCK_LEN + 512, .serve_budget_bytes = 1};
    int idx[40];
    sim_init(&cfg, NULL);
    serve_all(1, 40);
    for (int i = 0; i < 40; i++)
        idx[i] = i;
    send_wants(0, 1, idx, 40, BITSWAP_WANT_BLOCK, false, false);
    assert_int_equal(g_nodes[1].prefetched, 16); /* after the first message */
    for (int round = 0; round < 40 && g_nodes[1].prefetched < 38; round++)
        bitswap_tick(g_nodes[1].bs, g_now);
    assert_int_equal(g_nodes[1].prefetched, 38);
    for (int round = 0; round < 40; round++)
        bitswap_tick(g_nodes[1].bs, g_now);
    assert_int_equal(g_nodes[1].prefetched, 38); /* none twice */
    sim_free();
}

static void
test_limits(void **state)
{
    (void)state;
    bitswap_config_t cfg = {.max_wantlist = 100};
    int idx[101];
    bitswap_writer_t w;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    sim_init(&cfg, NULL);
    serve_all(1, 200);
    for (int i = 0; i < 101; i++)
        idx[i] = i;
    bitswap_writer_init(&w, BITSWAP_V120);
    for (int i = 0; i < 101; i++)
        assert_int_equal(bitswap_writer_want(&w, &g_cid[i], 1, 0, false, false), 0);
    assert_int_equal(bitswap_writer_finish(&w, &b), 0);
    assert_int_equal(
        bitswap_input(g_nodes[1].bs, g_now, &g_nodes[0].id, BITSWAP_V120, b.data, b.len),
        LS_ELIMIT);
    assert_int_equal(g_nq, 0); /* nothing applied */
    /* exactly the limit is fine */
    send_wants(0, 1, idx, 100, BITSWAP_WANT_HAVE, false, false);
    assert_true(g_nq > 0);

    uint8_t *big = ls_calloc(1, BITSWAP_MSG_MAX_SIZE + 1);
    assert_int_equal(bitswap_input(g_nodes[1].bs, g_now, &g_nodes[0].id, BITSWAP_V120, big,
                                   BITSWAP_MSG_MAX_SIZE + 1),
                     LS_ETOOBIG);
    static const uint8_t garbage[] = {0x0a, 0x05, 0xff};
    assert_int_equal(
        bitswap_input(g_nodes[1].bs, g_now, &g_nodes[0].id, BITSWAP_V120, garbage, sizeof garbage),
        LS_EINVAL);
    /* a block nobody wanted: reported, not stored */
    bitswap_writer_reset(&w);
    buf_clear(&b);
    assert_int_equal(bitswap_writer_block(&w, &g_cid[5], g_data[5], BLOCK_LEN), 0);
    assert_int_equal(bitswap_writer_finish(&w, &b), 0);
    assert_int_equal(
        bitswap_input(g_nodes[0].bs, g_now, &g_nodes[2].id, BITSWAP_V120, b.data, b.len), 0);
    assert_int_equal(g_nodes[0].reports[BITSWAP_EVENT_UNWANTED_BLOCK], 1);
    assert_false(g_nodes[0].have[5]);
    free(big);
    buf_free(&b);
    bitswap_writer_free(&w);
    sim_free();
}

static void
test_session_free_cancels(void **state)
{
    (void)state;
    bitswap_msg_t m;
    sim_init(NULL, NULL);
    start_session(10);
    clear_queue();
    bitswap_session_free(g_sess);
    assert_true(g_nq > 0);
    last_msg(&m);
    assert_true(m.nentries > 0);
    for (size_t i = 0; i < m.nentries; i++)
        assert_true(m.entries[i].cancel);
    bitswap_msg_clear(&m);
    sim_free();
}

/* Blocks fetched outside Bitswap (an HTTP seeder): claimed wants are not asked of
 * peers, corrupt bytes are refused, verified ones complete the want, and wants given
 * back are fetched by the peers. */
static void
test_outside_source(void **state)
{
    (void)state;
    cid_t claimed[50];
    uint8_t bad[BLOCK_LEN];
    sim_init(NULL, NULL);
    for (int s = 1; s < NNODES; s++)
        serve_all(s, 200);
    start_session(200);
    assert_int_equal(bitswap_session_claim(g_sess, claimed, 50), 50);
    int first = block_index(&claimed[0]);
    memcpy(bad, g_data[first], BLOCK_LEN);
    bad[7] ^= 1;
    assert_int_equal(bitswap_deliver(g_nodes[0].bs, &claimed[0], bad, BLOCK_LEN), LS_EPROTO);
    assert_false(g_nodes[0].have[first]);
    for (int i = 0; i < 25; i++) {
        int k = block_index(&claimed[i]);
        assert_int_equal(bitswap_deliver(g_nodes[0].bs, &claimed[i], g_data[k], BLOCK_LEN), 1);
        assert_true(g_nodes[0].have[k]);
        /* twice: nobody wants it any more */
        assert_int_equal(bitswap_deliver(g_nodes[0].bs, &claimed[i], g_data[k], BLOCK_LEN), 0);
    }
    for (int i = 25; i < 50; i++)
        bitswap_session_unclaim(g_sess, &claimed[i]);
    assert_true(sim_run(session_done, 60000, NULL));
    assert_all_received(200);
    uint64_t from_peers = 0;
    for (int s = 1; s < NNODES; s++)
        from_peers += client_ledger(s).blocks_recv;
    assert_int_equal(from_peers, 175); /* the 25 delivered outside were never asked */
    peer_id_t ids[BITSWAP_SESSION_MAX_PEERS];
    uint64_t blocks[BITSWAP_SESSION_MAX_PEERS], bytes[BITSWAP_SESSION_MAX_PEERS], sum = 0;
    size_t n = bitswap_session_peer_stats(g_sess, ids, blocks, bytes, BITSWAP_SESSION_MAX_PEERS);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        sum += blocks[i];
    assert_int_equal(sum, 175);
    bitswap_session_free(g_sess);
    sim_free();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multi_source_2000),
        cmocka_unit_test(test_server_vanishes),
        cmocka_unit_test(test_disconnect_moves_wants),
        cmocka_unit_test(test_corrupt_server),
        cmocka_unit_test(test_dont_have),
        cmocka_unit_test(test_old_versions),
        cmocka_unit_test(test_serving),
        cmocka_unit_test(test_fairness),
        cmocka_unit_test(test_prefetch_hints),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_session_free_cancels),
        cmocka_unit_test(test_outside_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
