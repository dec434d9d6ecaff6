/* bench_dht_sim — 10,000 kad nodes in one process over a simulated network
 * (src/dht/kad_sim.h), with the real routing and lookup code (issue 4).
 *
 * For each churn level (0 %, 10 %, 30 %): build the network, fill every routing
 * table as a converged network would have it, store VALUES signed values while all
 * nodes are up, then kill the given fraction of nodes (they never answer again, so
 * requests to them time out) and run LOOKUPS find-peer lookups between random live
 * nodes and one get-value lookup per stored value from a random live node. Reports
 * success rate, median and p99 hops, and messages per lookup.
 *
 * Tables are "filled" (default: every bucket holds k random peers of its range, as
 * in a converged network, entered through the routing table's own rules) or, with
 * "join", built by the protocol: nodes join one by one, bootstrapping from an
 * earlier node, probe the peers that query them, and refresh their buckets.
 *
 * Usage: bench_dht_sim [nodes [lookups [values [seed [fill|join]]]]]
 *        (10000 2000 500 1 fill) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dht/kad.h"
#include "dht/kad_sim.h"
#include "lib/crypto/ed25519.h"
#include "lib/err/err.h"

typedef struct stats_t {
    size_t n, ok;
    size_t *hops, *msgs; /* of successful lookups: [0, ok) */
} stats_t;

#define BATCH 50 /* lookups started together */

static size_t outstanding; /* lookups started and not yet reported */

typedef struct job_t {
    stats_t *st;
    bool done;
} job_t;

static void
on_done(void *arg, const kad_result_t *res)
{
    job_t *j = arg;
    stats_t *st = j->st;
    j->done = true;
    outstanding--;
    st->n++;
    if (res->status != 0)
        return;
    st->msgs[st->ok] = res->messages;
    st->hops[st->ok] = res->hops;
    st->ok++;
}

static int
cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static size_t
pct(size_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_size);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

static void
report(unsigned churn_pct, const char *what, stats_t *st)
{
    printf("| %u %% | %s | %zu | %.2f %% | %zu | %zu | %zu | %zu |\n", churn_pct, what, st->n,
           100.0 * (double)st->ok / (double)(st->n ? st->n : 1), pct(st->hops, st->ok, 0.5),
           pct(st->hops, st->ok, 0.99), pct(st->msgs, st->ok, 0.5), pct(st->msgs, st->ok, 0.99));
}

static size_t
live_node(kad_sim_t *sim)
{
    size_t i;
    do
        i = kad_sim_random(sim, kad_sim_size(sim));
    while (kad_sim_is_dead(sim, i));
    return i;
}

static bool
all_done(void *arg)
{
    (void)arg;
    return outstanding == 0;
}

/* Run until the lookups started so far are done (two simulated minutes at most:
 * ample with 2 s timeouts, and short of the hourly republish timers). */
static void
drain(kad_sim_t *sim)
{
    kad_sim_run_until(sim, 120 * 1000, all_done, NULL);
}

static void
put_values(kad_sim_t *sim, size_t nvalues, uint8_t (*keys)[32])
{
    ed25519_keypair_t kp;
    ed25519_keypair_generate(&kp);
    for (size_t v = 0; v < nvalues; v++) {
        size_t from = live_node(sim);
        int klen = snprintf((char *)keys[v], 32, "/lester/bench/%zu", v);
        buf_t val = BUF_INIT(KAD_VALUE_MAX);
        uint64_t now = kad_sim_now(sim);
        kad_lester_value_make(keys[v], (size_t)klen, (const uint8_t *)"payload", 7, 1, now,
                              now + 86400000ull, &kp, &val);
        job_t j = {NULL, false};
        stats_t dummy = {0, 0, (size_t[1]){0}, (size_t[1]){0}};
        j.st = &dummy;
        if (kad_put_value(kad_sim_node(sim, from), now, keys[v], (size_t)klen, val.data, val.len,
                          on_done, &j) == 0) {
            outstanding++;
            kad_sim_poke(sim, from);
            drain(sim);
        }
        buf_free(&val);
    }
}

/* A network whose tables are either filled as a converged network's would be, or
 * built by the protocol: joins, probes and a bucket refresh round. */
static kad_sim_t *
build(size_t nodes, uint64_t seed, bool join)
{
    kad_sim_config_t cfg;
    kad_sim_config_default(&cfg);
    cfg.nodes = nodes;
    cfg.seed = seed;
    if (join) {
        cfg.kad.refresh_interval_ms = 10 * 60 * 1000;
        cfg.probe_inbound = true;
    }
    kad_sim_t *sim = kad_sim_new(&cfg);
    if (join) {
        kad_sim_join(sim, 50);
        kad_sim_run(sim, cfg.kad.refresh_interval_ms + 60 * 1000);
    } else {
        kad_sim_fill_tables(sim, cfg.kad.routing.k);
        kad_sim_run(sim, 120 * 1000);
    }
    return sim;
}

static void
run_finds(kad_sim_t *sim, size_t lookups, stats_t *fp, job_t *jobs)
{
    for (size_t i = 0; i < lookups; i++) {
        size_t from = live_node(sim), to;
        do
            to = live_node(sim);
        while (to == from);
        jobs[i].st = fp;
        if (kad_find_peer(kad_sim_node(sim, from), kad_sim_now(sim), kad_sim_peer(sim, to), on_done,
                          &jobs[i]) == 0)
            outstanding++, kad_sim_poke(sim, from);
        else
            fp->n++; /* could not even start: a failure */
        if ((i + 1) % BATCH == 0)
            drain(sim);
    }
    drain(sim);
}

static void
run_gets(kad_sim_t *sim, size_t nvalues, uint8_t (*keys)[32], stats_t *gv, job_t *jobs)
{
    for (size_t v = 0; v < nvalues; v++) {
        size_t from = live_node(sim);
        jobs[v].st = gv;
        if (kad_get_value(kad_sim_node(sim, from), kad_sim_now(sim), keys[v],
                          strlen((const char *)keys[v]), 1, on_done, &jobs[v]) == 0)
            outstanding++, kad_sim_poke(sim, from);
        else
            gv->n++;
        if ((v + 1) % BATCH == 0)
            drain(sim);
    }
    drain(sim);
}

/* One churn level on `sim`: store values with everyone up, kill `churn_pct` % of
 * the nodes, look up; everyone is revived afterwards. */
static void
run_level(kad_sim_t *sim, size_t lookups, size_t nvalues, unsigned churn_pct)
{
    clock_t t0 = clock();
    uint64_t msgs0 = kad_sim_messages(sim);
    uint8_t(*keys)[32] = calloc(nvalues, sizeof *keys);
    put_values(sim, nvalues, keys);
    for (size_t i = 0; i < kad_sim_size(sim); i++)
        kad_sim_set_dead(sim, i, kad_sim_random(sim, 100) < churn_pct);
    stats_t fp = {0, 0, calloc(lookups, sizeof(size_t)), calloc(lookups, sizeof(size_t))};
    stats_t gv = {0, 0, calloc(nvalues + 1, sizeof(size_t)), calloc(nvalues + 1, sizeof(size_t))};
    job_t *jobs = calloc(lookups + nvalues, sizeof *jobs);
    run_finds(sim, lookups, &fp, jobs);
    run_gets(sim, nvalues, keys, &gv, jobs + lookups);
    report(churn_pct, "find peer", &fp);
    report(churn_pct, "get value", &gv);
    fprintf(stderr, "churn %u%%: %.1f s CPU, %" PRIu64 " messages\n", churn_pct,
            (double)(clock() - t0) / CLOCKS_PER_SEC, kad_sim_messages(sim) - msgs0);
    fflush(stdout);
    for (size_t i = 0; i < kad_sim_size(sim); i++)
        kad_sim_set_dead(sim, i, false);
    free(jobs);
    free(fp.hops), free(fp.msgs), free(gv.hops), free(gv.msgs);
    free(keys);
}

static kad_sim_t *
build_timed(size_t nodes, uint64_t seed, bool join)
{
    clock_t t0 = clock();
    kad_sim_t *sim = build(nodes, seed, join);
    size_t table = 0;
    for (size_t i = 0; i < nodes; i++)
        table += routing_size(kad_routing(kad_sim_node(sim, i)));
    fprintf(stderr, "network built in %.1f s CPU, %.0f peers per table, %" PRIu64 " messages\n",
            (double)(clock() - t0) / CLOCKS_PER_SEC, (double)table / (double)nodes,
            kad_sim_messages(sim));
    return sim;
}

int
main(int argc, char **argv)
{
    size_t nodes = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    size_t lookups = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000;
    size_t values = argc > 3 ? strtoul(argv[3], NULL, 10) : 500;
    uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
    bool join = argc > 5 && strcmp(argv[5], "join") == 0;
    if (nodes < 2 || nodes > 1000000 || lookups == 0) {
        fprintf(stderr, "usage: bench_dht_sim [nodes [lookups [values [seed [fill|join]]]]]\n");
        return 2;
    }
    printf("%zu nodes, k = 20, alpha = 3, latency 10-100 ms, request timeout 2 s, tables %s\n\n",
           nodes, join ? "built by joining" : "filled");
    printf("| churn | lookup | lookups | success | median hops | p99 hops | median msgs | "
           "p99 msgs |\n|---|---|---|---|---|---|---|---|\n");
    /* filled tables are rebuilt for each level; a joined network is built once and
     * lives through the three levels, as a real one would */
    static const unsigned levels[] = {0, 10, 30};
    kad_sim_t *sim = NULL;
    for (size_t i = 0; i < 3; i++) {
        if (!sim)
            sim = build_timed(nodes, seed + i, join);
        run_level(sim, lookups, values, levels[i]);
        if (!join)
            kad_sim_free(sim);
    }
    kad_sim_free(sim);
    return 0;
}
