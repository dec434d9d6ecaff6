/* kad_sim — many kad nodes in one process over a simulated network, for tests and
 * bench/bench_dht_sim.c. It uses the real kad code: every node is a kad_t whose env
 * delivers messages through a priority queue of timed events with random latency.
 * Dead nodes never answer, so their peers time out (churn).
 *
 * Node i's peer ID is the Ed25519-style ID of a key whose first four bytes are i, so
 * a message finds its node without a map; keys are SHA-256 of the ID, so the
 * keyspace positions are still uniform. Time starts at KAD_SIM_EPOCH_MS (a wall
 * clock value, since kad works in wall time). Deterministic for a given seed. */
#ifndef LS_DHT_KAD_SIM_H
#define LS_DHT_KAD_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dht/kad.h"

#define KAD_SIM_EPOCH_MS 1800000000000ull

typedef struct kad_sim_config_t {
    size_t nodes;
    uint64_t seed;
    uint32_t min_latency_ms, max_latency_ms; /* one way, uniform */
    kad_config_t kad;                        /* for every node */
    bool probe_inbound; /* a node probes (kad_probe_peer) peers that query it, as
                           the glue does for peers identify shows serving kad */
} kad_sim_config_t;

/** Defaults: 200 nodes, latency 10–100 ms, kad defaults with 2 s request timeout
 *  and bucket refresh off. */
void kad_sim_config_default(kad_sim_config_t *cfg);

typedef struct kad_sim_t kad_sim_t;

/** Create the nodes (no routing entries yet). Never returns NULL. */
kad_sim_t *kad_sim_new(const kad_sim_config_t *cfg);
void kad_sim_free_(kad_sim_t *sim);
#define kad_sim_free(s) FREE_AND_NULL(kad_sim_t, kad_sim_free_, (s))

size_t kad_sim_size(const kad_sim_t *sim);
kad_t *kad_sim_node(kad_sim_t *sim, size_t i);
const peer_id_t *kad_sim_peer(const kad_sim_t *sim, size_t i);
uint64_t kad_sim_now(const kad_sim_t *sim);
/** Uniform in [0, n) from the simulation's deterministic generator. */
uint64_t kad_sim_random(kad_sim_t *sim, uint64_t n);

/** Fill every routing table as a converged network would have it: for each bucket
 *  of each node, up to `per_bucket` random nodes of that bucket (via
 *  kad_peer_answered, so the table's own rules apply). */
void kad_sim_fill_tables(kad_sim_t *sim, size_t per_bucket);

/** Build the tables with the protocol itself: nodes join one at a time, each
 *  bootstrapping from a random node that joined before it, `interval_ms` of
 *  simulated time apart (bucket refresh and probes do the rest; enable them in the
 *  config). */
void kad_sim_join(kad_sim_t *sim, uint64_t interval_ms);

/** Mark node `i` dead (never answers, never acts) or alive. */
void kad_sim_set_dead(kad_sim_t *sim, size_t i, bool dead);
bool kad_sim_is_dead(const kad_sim_t *sim, size_t i);

/** Call after starting lookups on node `i` outside kad_sim_run (schedules its timers). */
void kad_sim_poke(kad_sim_t *sim, size_t i);

/** Process events in time order until none is left or simulated time passes
 *  `max_ms` from now. Returns the number of events processed. */
size_t kad_sim_run(kad_sim_t *sim, uint64_t max_ms);
/** As kad_sim_run, but also stop as soon as `stop(arg)` returns true (checked after
 *  every event). */
size_t kad_sim_run_until(kad_sim_t *sim, uint64_t max_ms, bool (*stop)(void *), void *arg);

/** Requests sent by all nodes so far. */
uint64_t kad_sim_messages(const kad_sim_t *sim);

#endif
