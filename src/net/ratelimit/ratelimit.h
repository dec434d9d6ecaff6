/* ratelimit — per-peer inbound rate limits: token buckets for messages per second
 * and bytes per second, each with a burst (issue 3, "Limits and flood protection";
 * seed 001's message-flooding mitigation).
 *
 * Meant for message-oriented inbound protocols (gossip RPCs, DHT requests, identify
 * pushes): the caller asks ratelimit_allow() before handling each message and drops
 * (or closes on) what is refused. Bulk stream data is paced by yamux windows and
 * should not pass through here.
 *
 * A bucket starts full, refills continuously at its rate and holds at most its
 * burst; a message costs 1 message token and `bytes` byte tokens, taken from both
 * buckets or from neither. Arithmetic is in integer thousandths of a token, so rates
 * are exact at millisecond resolution. A time that goes back refills nothing.
 *
 * Memory is bounded: at most max_peers buckets, least recently used evicted first
 * (an evicted peer gets a full bucket if it comes back). Keep max_peers above the
 * connection limit so that no connected peer can be evicted by others' traffic;
 * call ratelimit_forget() when a peer disconnects.
 *
 * Refusals are counted and reported to the trust hook as TRUST_RATE_LIMITED, at most
 * once per peer per report_interval_ms, so a flood is one event per interval rather
 * than one per message. Sans-I/O: the caller passes the time (any monotonic ms). */
#ifndef LS_NET_RATELIMIT_H
#define LS_NET_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/config/config.h"
#include "lib/mem/mem.h"
#include "lib/peerid/peerid.h"
#include "net/trust_hook/trust_hook.h"

/** Largest rate or burst accepted (larger values are clamped), so that arithmetic
 *  in thousandths of a token cannot overflow. */
#define RATELIMIT_MAX_RATE ((uint64_t)1 << 40)

typedef struct ratelimit_config_t {
    uint64_t msgs_per_sec;       /* 0: messages are not limited */
    uint64_t msg_burst;          /* >= 1 when limited */
    uint64_t bytes_per_sec;      /* 0: bytes are not limited */
    uint64_t byte_burst;         /* also the largest single message accepted */
    size_t max_peers;            /* buckets kept (LRU beyond) */
    uint64_t report_interval_ms; /* at most one TRUST_RATE_LIMITED per peer per this */
} ratelimit_config_t;

/** Defaults: 1,000 messages/s with a burst of 2,000; 4 MiB/s with a burst of
 *  8 MiB; 4,096 peers; one report per second. Seed 001 puts a typical node at
 *  100–1,000 messages/s in total, so an honest peer stays well inside. */
void ratelimit_config_default(ratelimit_config_t *cfg);

/** Adjust `cfg` for one of seed 001's profiles ("default", "high-throughput",
 *  "low-resource", "high-security"): high-throughput doubles the rates,
 *  low-resource quarters them and keeps 1,024 buckets, high-security halves them.
 *  0, or LS_EINVAL for an unknown name (`cfg` unchanged). */
int ratelimit_config_profile(ratelimit_config_t *cfg, const char *profile);

/** Defaults adjusted by the `profile` key of a node configuration, if it has one.
 *  0, or LS_ECONFIG with a message in `err` (may be NULL). */
int ratelimit_config_from(ratelimit_config_t *out, const config_t *cfg, buf_t *err);

typedef struct ratelimit_t ratelimit_t;

/** A limiter with `cfg` (copied; zero max_peers or bursts are raised to 1) that
 *  reports through `hook` (copied; NULL: none). Never returns NULL. */
ratelimit_t *ratelimit_new(const ratelimit_config_t *cfg, const trust_hook_t *hook);

/** NULL is a no-op. */
void ratelimit_free_(ratelimit_t *rl);
#define ratelimit_free(r) FREE_AND_NULL(ratelimit_t, ratelimit_free_, (r))

/** May `peer` deliver one message of `bytes` bytes at `now_ms`? If so its tokens are
 *  taken and true is returned; if not nothing is taken, the refusal is counted and
 *  possibly reported, and false is returned. While bytes are limited, a message
 *  larger than byte_burst is always refused. */
bool ratelimit_allow(ratelimit_t *rl, const peer_id_t *peer, size_t bytes, uint64_t now_ms);

/** Drop the bucket of `peer` (it disconnected). */
void ratelimit_forget(ratelimit_t *rl, const peer_id_t *peer);

typedef struct ratelimit_stats_t {
    size_t peers;     /* buckets held */
    uint64_t allowed; /* messages */
    uint64_t refused; /* messages */
    uint64_t refused_bytes;
    uint64_t evicted;  /* buckets dropped for room (LRU) */
    uint64_t reported; /* TRUST_RATE_LIMITED events sent */
} ratelimit_stats_t;

void ratelimit_stats(const ratelimit_t *rl, ratelimit_stats_t *out);

#endif
