/* pubsub_verify — StrictSign checks of gossip messages in batches on the worker pool,
 * results back on the event loop (issue 5's goal: validate at >= 70 % of the Ed25519
 * ceiling of every core, off the loop). The node's pubsub glue and
 * bench/bench_pubsub.c both use it, so the bench measures the node's own code.
 *
 * gossipsub's env.verify hands over each message it deferred; pubsub_verifier_add()
 * copies it into the current batch. A batch goes to lib/workpool as soon as it holds
 * `batch` messages, or at the end of the current loop round (an event made active
 * when the batch was started): a lone message waits for no timer, and a burst read
 * in one round fills whole batches. A worker unpacks and verifies every message of
 * the batch (pubsub_msg_verify); back on the loop, env.done reports each result —
 * the caller passes it to gossipsub_verified() — then env.batch_done, if set, runs
 * once. If the pool refuses a batch (full), it is checked right there on the loop:
 * slower, but honest messages are not dropped.
 *
 * At most `max_inflight` messages wait (their copies are bounded by the RPC limits
 * times that); beyond it pubsub_verifier_add() returns LS_ELIMIT, which gossipsub
 * counts as ignored (gossipsub.h, env.verify).
 *
 * Lifetime: batches still on the pool when the verifier is freed complete without
 * callbacks; a small shared record, freed by the last holder, tells them. The pool
 * and the event base must outlive the verifier. Loop thread only. */
#ifndef LS_PUBSUB_VERIFY_H
#define LS_PUBSUB_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/mem/mem.h"
#include "lib/peerid/peerid.h"
#include "lib/workpool/workpool.h"

struct event_base;

/** Messages per batch in the node (a batch amortises the pool's hand-off; 256 keeps
 *  one batch's work around 7 ms on one core). */
#define PUBSUB_VERIFY_BATCH 256
/** Messages waiting at most in the node. */
#define PUBSUB_VERIFY_MAX 65536

typedef struct pubsub_verify_env_t {
    void *ctx; /* passed back, never freed */
    /** The check of message `id` (borrowed): `rc` 0 with its `author`, or a negative
     *  pubsub_msg_verify() code (LS_EINVAL if it did not even unpack) and NULL. */
    void (*done)(void *ctx, const uint8_t *id, size_t id_len, int rc, const peer_id_t *author);
    /** Optional: a batch was reported (after its done calls). */
    void (*batch_done)(void *ctx, size_t n);
} pubsub_verify_env_t;

typedef struct pubsub_verifier_t pubsub_verifier_t;

/** A verifier on `base` and `pool` (both borrowed) with `env` (copied), batches of
 *  `batch` messages (0: PUBSUB_VERIFY_BATCH) and at most `max_inflight` waiting (0:
 *  PUBSUB_VERIFY_MAX). Never returns NULL. */
pubsub_verifier_t *pubsub_verifier_new(struct event_base *base, workpool_t *pool,
                                       const pubsub_verify_env_t *env, size_t batch,
                                       size_t max_inflight);
/** Drop the collecting batch; batches on the pool finish without callbacks. NULL is
 *  a no-op. */
void pubsub_verifier_free_(pubsub_verifier_t *v);
#define pubsub_verifier_free(v) FREE_AND_NULL(pubsub_verifier_t, pubsub_verifier_free_, (v))

/** Queue the encoded message `msg` (copied) whose ID is `id` (copied, at most
 *  PUBSUB_MSGID_MAX bytes) for a check. 0 (env.done follows, never from this call),
 *  LS_ELIMIT if max_inflight messages already wait, LS_EINVAL for an ID too long. */
int pubsub_verifier_add(pubsub_verifier_t *v, const uint8_t *msg, size_t len, const uint8_t *id,
                        size_t id_len);

typedef struct pubsub_verify_stats_t {
    size_t inflight;   /* messages waiting or being checked */
    uint64_t verified; /* good signatures */
    uint64_t rejected; /* bad ones (or not a message) */
    uint64_t batches;  /* batches reported */
    uint64_t on_loop;  /* batches checked on the loop because the pool was full */
} pubsub_verify_stats_t;

void pubsub_verifier_stats(const pubsub_verifier_t *v, pubsub_verify_stats_t *out);

#endif
