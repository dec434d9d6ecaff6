/* kad_sim — discrete-event network for kad nodes (see kad_sim.h). */
#include "dht/kad_sim.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"

enum { EV_REQUEST, EV_RESPONSE, EV_FAIL, EV_TICK };

typedef struct event_t {
    uint64_t t, seq, req_id;
    uint32_t node, from, len;
    uint8_t type;
    bool want_reply;
    uint8_t *msg;
} event_t;

typedef struct sim_node_t {
    kad_sim_t *sim;
    uint32_t index;
    bool dead;
    uint64_t tick_at; /* earliest TICK event queued, UINT64_MAX if none */
    peer_id_t id;
    kad_key_t key;
    kad_t *kad;
} sim_node_t;

struct kad_sim_t {
    kad_sim_config_t cfg;
    sim_node_t *nodes;
    event_t *heap;
    size_t nheap, capheap;
    uint64_t now, seq, rng, messages;
};

void
kad_sim_config_default(kad_sim_config_t *cfg)
{
    cfg->probe_inbound = false;
    cfg->nodes = 200;
    cfg->seed = 1;
    cfg->min_latency_ms = 10;
    cfg->max_latency_ms = 100;
    kad_config_default(&cfg->kad);
    cfg->kad.request_timeout_ms = 2000;
    cfg->kad.refresh_interval_ms = 0;
}

/* xorshift64*: deterministic, not for secrets. */
uint64_t
kad_sim_random(kad_sim_t *sim, uint64_t n)
{
    sim->rng ^= sim->rng >> 12;
    sim->rng ^= sim->rng << 25;
    sim->rng ^= sim->rng >> 27;
    uint64_t x = sim->rng * 0x2545F4914F6CDD1Dull;
    return n ? x % n : x;
}

/* ---- event heap ---- */

static bool
ev_before(const event_t *a, const event_t *b)
{
    return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

static void
heap_push(kad_sim_t *sim, event_t ev)
{
    if (sim->nheap == sim->capheap) {
        sim->capheap = sim->capheap ? sim->capheap * 2 : 1024;
        sim->heap = ls_realloc(sim->heap, sim->capheap * sizeof *sim->heap);
    }
    ev.seq = sim->seq++;
    size_t i = sim->nheap++;
    while (i > 0 && ev_before(&ev, &sim->heap[(i - 1) / 2])) {
        sim->heap[i] = sim->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    sim->heap[i] = ev;
}

static event_t
heap_pop(kad_sim_t *sim)
{
    event_t top = sim->heap[0], last = sim->heap[--sim->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= sim->nheap)
            break;
        if (c + 1 < sim->nheap && ev_before(&sim->heap[c + 1], &sim->heap[c]))
            c++;
        if (!ev_before(&sim->heap[c], &last))
            break;
        sim->heap[i] = sim->heap[c];
        i = c;
    }
    if (sim->nheap)
        sim->heap[i] = last;
    return top;
}

static uint64_t
latency(kad_sim_t *sim)
{
    uint32_t span = sim->cfg.max_latency_ms - sim->cfg.min_latency_ms + 1;
    return sim->cfg.min_latency_ms + kad_sim_random(sim, span);
}

/* ---- env ---- */

static sim_node_t *
node_of(kad_sim_t *sim, const peer_id_t *id)
{
    const uint8_t *pk;
    size_t len;
    if (!peer_id_pubkey_proto(id, &pk, &len) || len != 36)
        return NULL;
    uint32_t i = (uint32_t)pk[4] << 24 | (uint32_t)pk[5] << 16 | (uint32_t)pk[6] << 8 | pk[7];
    if (i >= sim->cfg.nodes || !peer_id_equal(&sim->nodes[i].id, id))
        return NULL;
    return &sim->nodes[i];
}

static int
sim_send(void *ctx, uint64_t req_id, const peer_id_t *to, const uint8_t *addrs, size_t addrs_len,
         const uint8_t *msg, size_t len, bool want_reply)
{
    sim_node_t *self = ctx;
    kad_sim_t *sim = self->sim;
    sim_node_t *dst = node_of(sim, to);
    (void)addrs, (void)addrs_len;
    if (!dst)
        return LS_ENOENT;
    sim->messages++;
    if (dst->dead)
        return 0; /* silence: the sender times out */
    event_t ev = {.t = sim->now + latency(sim),
                  .req_id = req_id,
                  .node = dst->index,
                  .from = self->index,
                  .len = (uint32_t)len,
                  .type = EV_REQUEST,
                  .want_reply = want_reply,
                  .msg = ls_memdup(msg, len)};
    heap_push(sim, ev);
    return 0;
}

static void
sim_random(void *ctx, void *out, size_t len)
{
    sim_node_t *self = ctx;
    uint8_t *p = out;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t x = kad_sim_random(self->sim, 0);
        memcpy(p + i, &x, LS_MIN(len - i, (size_t)8));
    }
}

kad_sim_t *
kad_sim_new(const kad_sim_config_t *cfg)
{
    kad_sim_t *sim = ls_calloc(1, sizeof *sim);
    sim->cfg = *cfg;
    sim->rng = cfg->seed ? cfg->seed : 0x9E3779B97F4A7C15ull;
    sim->now = KAD_SIM_EPOCH_MS;
    sim->nodes = ls_calloc(cfg->nodes, sizeof *sim->nodes);
    for (size_t i = 0; i < cfg->nodes; i++) {
        sim_node_t *n = &sim->nodes[i];
        uint8_t pk[32];
        for (size_t b = 4; b < 32; b++)
            pk[b] = (uint8_t)kad_sim_random(sim, 256);
        pk[0] = (uint8_t)(i >> 24), pk[1] = (uint8_t)(i >> 16);
        pk[2] = (uint8_t)(i >> 8), pk[3] = (uint8_t)i;
        peer_id_from_ed25519(&n->id, pk);
        kad_key_from_peer(&n->key, &n->id);
        n->sim = sim;
        n->index = (uint32_t)i;
        n->tick_at = UINT64_MAX;
        kad_env_t env = {n, sim_send, sim_random};
        n->kad = kad_new(&n->id, &cfg->kad, &env);
    }
    return sim;
}

void
kad_sim_free_(kad_sim_t *sim)
{
    if (!sim)
        return;
    for (size_t i = 0; i < sim->cfg.nodes; i++)
        kad_free(sim->nodes[i].kad);
    for (size_t i = 0; i < sim->nheap; i++)
        free(sim->heap[i].msg);
    free(sim->heap);
    free(sim->nodes);
    free(sim);
}

size_t
kad_sim_size(const kad_sim_t *sim)
{
    return sim->cfg.nodes;
}

kad_t *
kad_sim_node(kad_sim_t *sim, size_t i)
{
    return sim->nodes[i].kad;
}

const peer_id_t *
kad_sim_peer(const kad_sim_t *sim, size_t i)
{
    return &sim->nodes[i].id;
}

uint64_t
kad_sim_now(const kad_sim_t *sim)
{
    return sim->now;
}

uint64_t
kad_sim_messages(const kad_sim_t *sim)
{
    return sim->messages;
}

void
kad_sim_set_dead(kad_sim_t *sim, size_t i, bool dead)
{
    sim->nodes[i].dead = dead;
}

bool
kad_sim_is_dead(const kad_sim_t *sim, size_t i)
{
    return sim->nodes[i].dead;
}

void
kad_sim_poke(kad_sim_t *sim, size_t i)
{
    sim_node_t *n = &sim->nodes[i];
    uint64_t next = kad_tick(n->kad, sim->now);
    if (next != UINT64_MAX && next < n->tick_at) {
        n->tick_at = next;
        heap_push(sim, (event_t){.t = next, .node = (uint32_t)i, .type = EV_TICK});
    }
}

/* ---- running ---- */

static void
deliver(kad_sim_t *sim, event_t *ev)
{
    sim_node_t *n = &sim->nodes[ev->node];
    if (n->dead)
        return;
    if (ev->type == EV_TICK) {
        if (ev->t == n->tick_at)
            n->tick_at = UINT64_MAX;
    } else if (ev->type == EV_REQUEST) {
        buf_t reply = BUF_INIT(KADMSG_MAX_SIZE);
        int rc =
            kad_input_request(n->kad, sim->now, &sim->nodes[ev->from].id, ev->msg, ev->len, &reply);
        if (sim->cfg.probe_inbound)
            (void)kad_probe_peer(n->kad, sim->now, &sim->nodes[ev->from].id, NULL, 0);
        if (ev->want_reply) {
            event_t r = {.t = sim->now + latency(sim),
                         .req_id = ev->req_id,
                         .node = ev->from,
                         .from = ev->node,
                         .len = (uint32_t)reply.len,
                         .type = rc == 0 ? EV_RESPONSE : EV_FAIL,
                         .msg = rc == 0 && reply.len ? ls_memdup(reply.data, reply.len) : NULL};
            heap_push(sim, r);
        }
        buf_free(&reply);
    } else if (ev->type == EV_RESPONSE) {
        (void)kad_input_response(n->kad, sim->now, ev->req_id, ev->msg, ev->len);
    } else {
        kad_request_failed(n->kad, sim->now, ev->req_id);
    }
    kad_sim_poke(sim, ev->node);
}

size_t
kad_sim_run_until(kad_sim_t *sim, uint64_t max_ms, bool (*stop)(void *), void *arg)
{
    uint64_t end = sim->now + max_ms;
    size_t count = 0;
    while (sim->nheap > 0 && sim->heap[0].t <= end) {
        event_t ev = heap_pop(sim);
        sim->now = LS_MAX(sim->now, ev.t);
        deliver(sim, &ev);
        free(ev.msg);
        count++;
        if (stop && stop(arg))
            break;
    }
    return count;
}

size_t
kad_sim_run(kad_sim_t *sim, uint64_t max_ms)
{
    return kad_sim_run_until(sim, max_ms, NULL, NULL);
}

static void
join_done(void *arg, const kad_result_t *res)
{
    (void)arg, (void)res;
}

void
kad_sim_join(kad_sim_t *sim, uint64_t interval_ms)
{
    kad_sim_poke(sim, 0);
    for (size_t i = 1; i < sim->cfg.nodes; i++) {
        size_t j = kad_sim_random(sim, i);
        kad_peer_info_t seed = {sim->nodes[j].id, NULL, 0, NULL, 0};
        if (kad_bootstrap(sim->nodes[i].kad, sim->now, &seed, 1, join_done, NULL) == 0)
            kad_sim_poke(sim, i);
        kad_sim_run(sim, interval_ms);
    }
}

/* ---- filling routing tables ---- */

/* Compare the first `bits` bits of two keys. */
static int
cmp_prefix(const kad_key_t *a, const kad_key_t *b, unsigned bits)
{
    for (unsigned i = 0; i < bits; i++) {
        int x = (a->b[i / 8] >> (7 - i % 8)) & 1, y = (b->b[i / 8] >> (7 - i % 8)) & 1;
        if (x != y)
            return x - y;
    }
    return 0;
}

/* [lo, hi) of `order` (indices sorted by key) whose keys share `bits` with `k`. */
static void
prefix_range(const kad_sim_t *sim, const uint32_t *order, const kad_key_t *k, unsigned bits,
             size_t *lo, size_t *hi)
{
    size_t a = 0, b = sim->cfg.nodes;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (cmp_prefix(&sim->nodes[order[m]].key, k, bits) < 0)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    b = sim->cfg.nodes;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (cmp_prefix(&sim->nodes[order[m]].key, k, bits) <= 0)
            a = m + 1;
        else
            b = m;
    }
    *hi = a;
}

static int
by_key(const void *a, const void *b, void *arg)
{
    const kad_sim_t *sim = arg;
    const kad_key_t *x = &sim->nodes[*(const uint32_t *)a].key;
    const kad_key_t *y = &sim->nodes[*(const uint32_t *)b].key;
    return memcmp(x->b, y->b, KAD_KEY_LEN);
}

static void
fill_node(kad_sim_t *sim, const uint32_t *order, size_t x, size_t per_bucket)
{
    sim_node_t *n = &sim->nodes[x];
    for (unsigned cpl = 0; cpl < 64; cpl++) {
        kad_key_t y = n->key;
        y.b[cpl / 8] ^= (uint8_t)(0x80 >> (cpl % 8));
        size_t lo, hi;
        prefix_range(sim, order, &y, cpl + 1, &lo, &hi);
        for (size_t t = 0; t < per_bucket && hi > lo; t++) {
            size_t pick = hi - lo <= per_bucket ? lo + t : lo + kad_sim_random(sim, hi - lo);
            if (pick >= hi)
                break;
            (void)kad_peer_answered(n->kad, sim->now, &sim->nodes[order[pick]].id, NULL, 0);
        }
        prefix_range(sim, order, &n->key, cpl + 1, &lo, &hi);
        if (hi - lo <= 1)
            break; /* nobody else shares this prefix: deeper buckets are empty */
    }
}

void
kad_sim_fill_tables(kad_sim_t *sim, size_t per_bucket)
{
    uint32_t *order = ls_malloc(sim->cfg.nodes * sizeof *order);
    for (size_t i = 0; i < sim->cfg.nodes; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, sim->cfg.nodes, sizeof *order, by_key, sim);
    for (size_t i = 0; i < sim->cfg.nodes; i++)
        fill_node(sim, order, i, per_bucket);
    free(order);
    /* eviction pings queued by full buckets are answered by live nodes */
}
