/* bench_pubsub — issue 5's goal: a node validates (signature checked) and forwards
 * signed messages at >= 70% of the Ed25519 verification ceiling of both cores,
 * measured in the same run.
 *
 *   ceiling   libsodium crypto_sign_verify_detached() on one thread per core, over the
 *             very signing inputs of the messages below (same size): verifications/s
 *   lester    the gossipsub router (src/pubsub/gossipsub) with the node's validation
 *             pipeline, as src/node/daemon/node_pubsub.c builds it: a libevent loop,
 *             the per-peer rate limiter (charged per message), the trust manager as
 *             P5 and trust hook, env.verify handing messages to the node's own
 *             batch verifier (src/pubsub/verify: batches of PUBSUB_VERIFY_BATCH on
 *             lib/workpool, one worker per core, submitted at the end of each loop
 *             round) and gossipsub_verified() back on the loop. N_PUB simulated peers send
 *             pre-signed RPCs (MSGS_PER_RPC messages each, closed loop: at most WINDOW
 *             messages wait for verification); every message is delivered to the
 *             local subscriber and forwarded to the mesh (bytes counted in env.send).
 *
 * Both figures are wall-clock rates (the point is both cores), messages/s for lester:
 * validated, delivered and forwarded. usage: bench_pubsub [seconds] [data_bytes]
 * Prints `pubsub_verify_ceiling ...` and `pubsub_validate_forward ...` lines. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "lib/buf/buf.h"
#include "lib/clock/clock.h"
#include "lib/crypto/ed25519.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "lib/varint/varint.h"
#include "lib/workpool/workpool.h"
#include "net/ratelimit/ratelimit.h"
#include "pubsub/gossipsub/gossipsub.h"
#include "pubsub/rpc/pubsub_msg.h"
#include "pubsub/rpc/pubsub_rpc.h"
#include "pubsub/trust/trust.h"
#include "pubsub/verify/pubsub_verify.h"

#define TOPIC "bench/gossip"
#define N_PUB 8   /* peers sending messages (each also the author) */
#define N_QUIET 6 /* subscribed peers that only receive */
#define N_PEERS (N_PUB + N_QUIET)
#define MSGS_PER_RPC 8   /* messages per inbound RPC */
#define RATE_GUESS 40000 /* messages signed per second of run time (above the ceiling) */
#define WINDOW 8192      /* messages waiting for verification at most */
#define MAX_THREADS 64

/* ---- the pre-signed workload ---- */

typedef struct verify_input_t { /* for the ceiling: exactly what StrictSign checks */
    uint8_t *signing;           /* "libp2p-pubsub:" || message without signature/key */
    size_t len;
    uint8_t sig[ED25519_SIG_LEN];
    const uint8_t *pk;
} verify_input_t;

typedef struct rpc_t {
    int from; /* publisher index */
    uint8_t *bytes;
    size_t len;
} rpc_t;

typedef struct workload_t {
    ed25519_keypair_t keys[N_PEERS];
    peer_id_t ids[N_PEERS];
    verify_input_t *vin;
    size_t n_msgs;
    rpc_t *rpcs;
    size_t n_rpcs;
} workload_t;

/* Sign message `i` (author i % N_PUB) into `m`/`store`, recording its verify input. */
static void
sign_one(workload_t *w, size_t i, PubsubPb__Message *m, pubsub_msg_sig_t *store, uint8_t *data,
         size_t data_len)
{
    int pub = (int)(i % N_PUB);
    pubsub_pb__message__init(m);
    snprintf((char *)data, data_len, "m%zu", i);
    m->has_topic = m->has_data = 1;
    m->topic = (ProtobufCBinaryData){strlen(TOPIC), (uint8_t *)TOPIC};
    m->data = (ProtobufCBinaryData){data_len, data};
    if (pubsub_msg_sign(m, i / N_PUB + 1, &w->keys[pub], store) < 0)
        abort();
    buf_t sb = BUF_INIT(BUF_UNLIMITED);
    pubsub_msg_signing_bytes(m, &sb);
    verify_input_t *v = &w->vin[i];
    v->signing = sb.data;
    v->len = sb.len;
    memcpy(v->sig, store->signature, ED25519_SIG_LEN);
    v->pk = w->keys[pub].pk;
}

/* `n_msgs` messages of `data_len` bytes in RPCs of MSGS_PER_RPC from one publisher. */
static void
workload_build(workload_t *w, size_t n_msgs, size_t data_len)
{
    memset(w, 0, sizeof *w);
    for (int p = 0; p < N_PEERS; p++) {
        ed25519_keypair_generate(&w->keys[p]);
        peer_id_from_ed25519(&w->ids[p], w->keys[p].pk);
    }
    n_msgs -= n_msgs % (N_PUB * MSGS_PER_RPC);
    w->n_msgs = n_msgs;
    w->vin = ls_calloc(n_msgs, sizeof *w->vin);
    w->rpcs = ls_calloc(n_msgs / MSGS_PER_RPC, sizeof *w->rpcs);
    PubsubPb__Message m[MSGS_PER_RPC], *pm[MSGS_PER_RPC];
    pubsub_msg_sig_t st[MSGS_PER_RPC];
    uint8_t *data = ls_calloc(MSGS_PER_RPC, data_len);
    /* message i belongs to publisher i % N_PUB; RPC r carries one publisher's run */
    for (size_t base = 0; base < n_msgs; base += N_PUB * MSGS_PER_RPC) {
        for (int p = 0; p < N_PUB; p++) {
            for (size_t k = 0; k < MSGS_PER_RPC; k++) {
                sign_one(w, base + (size_t)p + k * N_PUB, &m[k], &st[k], data + k * data_len,
                         data_len);
                pm[k] = &m[k];
            }
            PubsubPb__RPC r;
            pubsub_pb__rpc__init(&r);
            r.n_publish = MSGS_PER_RPC;
            r.publish = pm;
            buf_t out = BUF_INIT(BUF_UNLIMITED);
            pubsub_rpc_encode(&r, false, &out);
            w->rpcs[w->n_rpcs++] = (rpc_t){p, out.data, out.len};
        }
    }
    free(data);
}

static void
workload_free(workload_t *w)
{
    for (size_t i = 0; i < w->n_msgs; i++)
        free(w->vin[i].signing);
    for (size_t i = 0; i < w->n_rpcs; i++)
        free(w->rpcs[i].bytes);
    free(w->vin);
    free(w->rpcs);
}

/* ---- (a) the ceiling: libsodium verify on every core ---- */

typedef struct ceil_arg_t {
    const workload_t *w;
    size_t start;
    uint64_t until_us, done;
} ceil_arg_t;

static void *
ceil_thread(void *p)
{
    ceil_arg_t *a = p;
    size_t i = a->start;
    while (clock_mono_us() < a->until_us) {
        for (int k = 0; k < 64; k++, i = (i + 1) % a->w->n_msgs) {
            const verify_input_t *v = &a->w->vin[i];
            if (crypto_sign_verify_detached(v->sig, v->signing, v->len, v->pk) != 0)
                abort();
        }
        a->done += 64;
    }
    return NULL;
}

static double
run_ceiling(const workload_t *w, unsigned threads, double seconds)
{
    pthread_t th[MAX_THREADS];
    ceil_arg_t args[MAX_THREADS];
    uint64_t t0 = clock_mono_us(), until = t0 + (uint64_t)(seconds * 1e6);
    for (unsigned i = 0; i < threads; i++) {
        args[i] = (ceil_arg_t){w, w->n_msgs * i / threads, until, 0};
        pthread_create(&th[i], NULL, ceil_thread, &args[i]);
    }
    uint64_t total = 0;
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += args[i].done;
    }
    return (double)total / ((double)(clock_mono_us() - t0) / 1e6);
}

/* ---- (b) the router with the node's validation pipeline ---- */

typedef struct bench_t {
    const workload_t *w;
    struct event_base *base;
    workpool_t *pool;
    gossipsub_t *gs;
    gossipsub_config_t cfg;
    trust_t *trust;
    ratelimit_t *rl;
    trust_hook_t hook;
    pubsub_verifier_t *verifier;
    size_t next_rpc;
    struct event *ev_feed, *ev_tick;
    uint64_t t0_us, t1_us, deadline_us;
    /* counters */
    uint64_t delivered, rate_limited;
    uint64_t sent_rpcs, sent_bytes;
} bench_t;

static int
env_send(void *ctx, const peer_id_t *to, const uint8_t *rpc, size_t len)
{
    bench_t *b = ctx;
    (void)to;
    (void)rpc;
    b->sent_rpcs++; /* the node frames and queues it: that copy is not the router's */
    b->sent_bytes += len + varint_len(len);
    return 0;
}

static void
env_deliver(void *ctx, const gossipsub_message_t *m)
{
    bench_t *b = ctx;
    (void)m;
    b->delivered++;
}

static double
env_app_score(void *ctx, const peer_id_t *peer)
{
    bench_t *b = ctx;
    return trust_app_score(b->trust, peer);
}

/* node_pubsub.c env_verify() and verified(): the node's batch verifier. */
static int
env_verify(void *ctx, const uint8_t *msg, size_t len, const uint8_t *id, size_t id_len)
{
    bench_t *b = ctx;
    return pubsub_verifier_add(b->verifier, msg, len, id, id_len);
}

static void
verified(void *ctx, const uint8_t *id, size_t id_len, int rc, const peer_id_t *author)
{
    bench_t *b = ctx;
    gossipsub_verified(b->gs, clock_mono_ms(), id, id_len, rc, author);
}

/* After each batch: stop when done, else let the peers send into the room made. */
static void
batch_done(void *ctx, size_t n)
{
    bench_t *b = ctx;
    (void)n;
    if (b->delivered == b->w->n_msgs || clock_mono_us() > b->deadline_us) {
        b->t1_us = clock_mono_us();
        event_base_loopbreak(b->base);
    }
    event_active(b->ev_feed, EV_TIMEOUT, 0);
}

static size_t
inflight(const bench_t *b)
{
    pubsub_verify_stats_t st;
    pubsub_verifier_stats(b->verifier, &st);
    return st.inflight;
}

/* node_pubsub.c input_rpc(): the limiter, then the router. */
static void
input_rpc(bench_t *b, const rpc_t *r)
{
    uint64_t now = clock_mono_ms();
    const peer_id_t *from = &b->w->ids[r->from];
    int n = pubsub_rpc_count_messages(r->bytes, r->len); /* charged per message */
    bool ok = ratelimit_allow(b->rl, from, r->len, now);
    for (int i = 1; ok && i < n; i++)
        ok = ratelimit_allow(b->rl, from, 0, now);
    if (!ok) {
        b->rate_limited++;
        return;
    }
    (void)gossipsub_score(b->gs, now, from); /* the node checks the graylist here */
    if (gossipsub_input(b->gs, now, from, r->bytes, r->len) < 0)
        abort();
}

/* The simulated peers: feed RPCs while the verification window has room. */
static void
on_feed(evutil_socket_t fd, short what, void *arg)
{
    bench_t *b = arg;
    (void)fd;
    (void)what;
    if (!b->t0_us)
        b->t0_us = clock_mono_us();
    while (b->next_rpc < b->w->n_rpcs && inflight(b) + MSGS_PER_RPC <= WINDOW)
        input_rpc(b, &b->w->rpcs[b->next_rpc++]);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    bench_t *b = arg;
    (void)fd;
    (void)what;
    uint64_t now = clock_mono_ms(), next = gossipsub_tick(b->gs, now);
    trust_tick(b->trust, now);
    uint64_t wait = next > now ? next - now : 1;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
    evtimer_add(b->ev_tick, &tv);
}

/* Every peer connects and subscribes; we subscribe and build the mesh. */
static void
bench_peers_join(bench_t *b)
{
    uint64_t now = clock_mono_ms();
    PubsubPb__RPC__SubOpts so = PUBSUB_PB__RPC__SUB_OPTS__INIT, *sop = &so;
    so.has_subscribe = so.has_topicid = 1;
    so.subscribe = 1;
    so.topicid = (ProtobufCBinaryData){strlen(TOPIC), (uint8_t *)TOPIC};
    PubsubPb__RPC r = PUBSUB_PB__RPC__INIT;
    r.n_subscriptions = 1;
    r.subscriptions = &sop;
    buf_t sub = BUF_INIT(BUF_UNLIMITED);
    pubsub_rpc_encode(&r, false, &sub);
    for (int p = 0; p < N_PEERS; p++) {
        gossipsub_add_peer(b->gs, now, &b->w->ids[p], GOSSIPSUB_V11, p % 2 == 0, "127.0.0.1");
        gossipsub_input(b->gs, now, &b->w->ids[p], sub.data, sub.len);
    }
    buf_free(&sub);
    gossipsub_subscribe(b->gs, now, (const uint8_t *)TOPIC, strlen(TOPIC));
}

static void
bench_init(bench_t *b, const workload_t *w, double seconds)
{
    memset(b, 0, sizeof *b);
    b->w = w;
    b->base = event_base_new();
    b->pool = workpool_new(b->base, 0); /* workers.threads = 0: one per core */
    ed25519_keypair_t self;
    ed25519_keypair_generate(&self);
    peer_id_t self_id;
    peer_id_from_ed25519(&self_id, self.pk);
    trust_config_t tc;
    trust_config_default(&tc);
    b->trust = trust_new(&tc, &(trust_env_t){0}, &self_id, clock_mono_ms());
    b->hook = trust_as_hook(b->trust);
    ratelimit_config_t rc;
    ratelimit_config_default(&rc);
    /* each simulated peer sends ~3,000 messages/s, over the node's default of 1,000
     * per peer (counted per message): raised, or the bench measures the limiter */
    rc.msgs_per_sec = 20000;
    rc.msg_burst = 40000;
    b->rl = ratelimit_new(&rc, &b->hook);
    gossipsub_config_default(&b->cfg);
    gossipsub_env_t env = {.ctx = b,
                           .send = env_send,
                           .deliver = env_deliver,
                           .app_score = env_app_score,
                           .trust = b->hook,
                           .verify = env_verify};
    b->gs = gossipsub_new(&b->cfg, &env, &self, clock_mono_ms());
    ed25519_keypair_wipe(&self);
    pubsub_verify_env_t venv = {.ctx = b, .done = verified, .batch_done = batch_done};
    b->verifier = pubsub_verifier_new(b->base, b->pool, &venv, PUBSUB_VERIFY_BATCH,
                                      PUBSUB_VERIFY_MAX);
    b->ev_feed = event_new(b->base, -1, 0, on_feed, b);
    b->ev_tick = evtimer_new(b->base, on_tick, b);
    bench_peers_join(b);
    struct timeval tv = {0, 1000};
    evtimer_add(b->ev_tick, &tv);
    b->deadline_us = clock_mono_us() + (uint64_t)(seconds * 3 * 1e6);
}

static void
bench_free(bench_t *b)
{
    pubsub_verifier_free(b->verifier); /* batches left on the pool report nothing */
    workpool_free(b->pool);
    event_free(b->ev_feed);
    event_free(b->ev_tick);
    gossipsub_free(b->gs);
    ratelimit_free(b->rl);
    trust_free(b->trust);
    event_base_free(b->base);
}

static void
run_router(const workload_t *w, double seconds, double ceiling, size_t data_len)
{
    bench_t b;
    bench_init(&b, w, seconds);
    size_t mesh = gossipsub_mesh(b.gs, (const uint8_t *)TOPIC, strlen(TOPIC), NULL, 0);
    event_active(b.ev_feed, EV_TIMEOUT, 0);
    event_base_dispatch(b.base);
    if (!b.t1_us)
        b.t1_us = clock_mono_us();
    double secs = (double)(b.t1_us - b.t0_us) / 1e6;
    gossipsub_stats_t st;
    gossipsub_stats(b.gs, &st);
    const gossipsub_msg_stats_t *ms = &st.msg[GOSSIPSUB_CLASS_OTHER];
    double rate = (double)b.delivered / secs;
    pubsub_verify_stats_t vs;
    pubsub_verifier_stats(b.verifier, &vs);
    printf("pubsub_validate_forward lester=%.0f/s ceiling=%.0f/s ratio=%.2f msgs=%llu "
           "data_bytes=%zu forwarded_copies=%llu forwarded_MBps=%.1f mesh=%zu batches=%llu "
           "invalid=%llu rate_limited=%llu workers=%u seconds=%.2f\n",
           rate, ceiling, rate / ceiling, (unsigned long long)b.delivered, data_len,
           (unsigned long long)ms->forwarded, (double)b.sent_bytes / secs / 1e6, mesh,
           (unsigned long long)vs.batches, (unsigned long long)vs.rejected,
           (unsigned long long)b.rate_limited, workpool_threads(b.pool), secs);
    bench_free(&b);
}

int
main(int argc, char **argv)
{
    double seconds = argc > 1 ? strtod(argv[1], NULL) : 2.0;
    size_t data_len = argc > 2 ? strtoul(argv[2], NULL, 10) : 256;
    if (seconds <= 0 || seconds > 600 || data_len < 16 || data_len > 65536) {
        fprintf(stderr, "usage: bench_pubsub [seconds (0-600]] [data_bytes 16..65536]\n");
        return 2;
    }
    ls_crypto_init();
    log_set_level(LOG_WARN);
    unsigned cores = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    cores = cores < 1 ? 1 : cores > MAX_THREADS ? MAX_THREADS : cores;
    workload_t w;
    workload_build(&w, (size_t)(seconds * RATE_GUESS), data_len);
    double ceiling = run_ceiling(&w, cores, seconds);
    printf("pubsub_verify_ceiling libsodium=%.0f/s threads=%u data_bytes=%zu\n", ceiling, cores,
           data_len);
    run_router(&w, seconds, ceiling, data_len);
    workload_free(&w);
    return 0;
}
