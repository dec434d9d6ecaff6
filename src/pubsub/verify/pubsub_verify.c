/* pubsub_verify — batched StrictSign checks on the worker pool (contract in
 * pubsub_verify.h). */
#include "pubsub/verify/pubsub_verify.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "lib/err/err.h"
#include "pubsub/rpc/pubsub_msg.h"

/* Lets batches on the pool outlive the verifier: freed by the last of both. */
typedef struct life_t {
    pubsub_verifier_t *v; /* NULL once freed */
    size_t refs;          /* batches holding it */
} life_t;

typedef struct item_t {
    uint8_t *msg;
    size_t len;
    uint8_t id[PUBSUB_MSGID_MAX];
    size_t id_len;
    int rc;           /* set by the worker */
    peer_id_t author; /* set by the worker */
} item_t;

typedef struct batch_t {
    life_t *life;
    item_t *items;
    size_t n, cap;
} batch_t;

struct pubsub_verifier_t {
    struct event_base *base;
    workpool_t *pool;
    pubsub_verify_env_t env;
    size_t batch_max, max_inflight;
    life_t *life;
    batch_t *collecting; /* submitted at the end of the loop round */
    struct event *ev_flush;
    pubsub_verify_stats_t stats;
};

/* On a worker: touches only the batch. */
static void
verify_work(void *arg)
{
    batch_t *b = arg;
    for (size_t i = 0; i < b->n; i++) {
        item_t *it = &b->items[i];
        PubsubPb__Message *m = pubsub_pb__message__unpack(NULL, it->len, it->msg);
        it->rc = m ? pubsub_msg_verify(m, &it->author) : LS_EINVAL;
        pubsub_pb__message__free_unpacked(m, NULL);
    }
}

static void
batch_free(batch_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->items[i].msg);
    free(b->items);
    if (--b->life->refs == 0 && !b->life->v)
        free(b->life);
    free(b);
}

/* On the loop: report, unless the verifier is gone or the pool cancelled the job. */
static void
verify_done(void *arg, bool cancelled)
{
    batch_t *b = arg;
    pubsub_verifier_t *v = b->life->v;
    if (v) {
        v->stats.inflight -= b->n;
        v->stats.batches++;
        for (size_t i = 0; i < b->n && !cancelled; i++) {
            item_t *it = &b->items[i];
            if (it->rc == 0)
                v->stats.verified++;
            else
                v->stats.rejected++;
            v->env.done(v->env.ctx, it->id, it->id_len, it->rc, it->rc == 0 ? &it->author : NULL);
        }
        if (v->env.batch_done)
            v->env.batch_done(v->env.ctx, b->n);
    }
    batch_free(b);
}

static void
submit(pubsub_verifier_t *v)
{
    batch_t *b = v->collecting;
    if (!b)
        return;
    v->collecting = NULL;
    if (workpool_submit(v->pool, verify_work, verify_done, b) < 0) {
        v->stats.on_loop++;
        verify_work(b); /* pool full: check here rather than drop honest messages */
        verify_done(b, false);
    }
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    submit(arg);
}

pubsub_verifier_t *
pubsub_verifier_new(struct event_base *base, workpool_t *pool, const pubsub_verify_env_t *env,
                    size_t batch, size_t max_inflight)
{
    pubsub_verifier_t *v = ls_calloc(1, sizeof *v);
    v->base = base;
    v->pool = pool;
    v->env = *env;
    v->batch_max = batch ? batch : PUBSUB_VERIFY_BATCH;
    v->max_inflight = max_inflight ? max_inflight : PUBSUB_VERIFY_MAX;
    v->life = ls_calloc(1, sizeof *v->life);
    v->life->v = v;
    v->ev_flush = event_new(base, -1, 0, on_flush, v);
    return v;
}

void
pubsub_verifier_free_(pubsub_verifier_t *v)
{
    if (!v)
        return;
    if (v->collecting) {
        batch_t *b = v->collecting;
        v->collecting = NULL;
        batch_free(b);
    }
    v->life->v = NULL; /* batches still on the pool report to no one */
    if (v->life->refs == 0)
        free(v->life);
    event_free(v->ev_flush);
    free(v);
}

int
pubsub_verifier_add(pubsub_verifier_t *v, const uint8_t *msg, size_t len, const uint8_t *id,
                    size_t id_len)
{
    if (id_len > PUBSUB_MSGID_MAX)
        return LS_EINVAL;
    if (v->stats.inflight >= v->max_inflight)
        return LS_ELIMIT;
    batch_t *b = v->collecting;
    if (!b) {
        b = v->collecting = ls_calloc(1, sizeof *b);
        b->life = v->life;
        v->life->refs++;
        event_active(v->ev_flush, EV_TIMEOUT, 0); /* submit at the end of this round */
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->items = ls_realloc(b->items, b->cap * sizeof *b->items);
    }
    item_t *it = &b->items[b->n++];
    memset(it, 0, sizeof *it);
    it->msg = ls_memdup(msg, len);
    it->len = len;
    memcpy(it->id, id, id_len);
    it->id_len = id_len;
    v->stats.inflight++;
    if (b->n >= v->batch_max)
        submit(v);
    return 0;
}

void
pubsub_verifier_stats(const pubsub_verifier_t *v, pubsub_verify_stats_t *out)
{
    *out = v->stats;
}
