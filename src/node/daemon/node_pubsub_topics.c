/* node_pubsub_topics — the API's side of the router: listeners per topic (each topic
 * is joined while it has a listener or is pinned), and the pubsub/trust metrics. */
#define LOG_MODULE "pubsub"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "node/daemon/node_net.h"
#include "node/daemon/node_pubsub_internal.h"

/* ---- topics ---- */

static ps_topic_t *
topic_find(const node_pubsub_t *ps, const char *name)
{
    for (size_t i = 0; i < ps->n_topics; i++)
        if (strcmp(ps->topics[i].name, name) == 0)
            return &ps->topics[i];
    return NULL;
}

/* Join `name` if new; NULL and *err on failure. */
static ps_topic_t *
topic_join(node_pubsub_t *ps, const char *name, int *err)
{
    ps_topic_t *t = topic_find(ps, name);
    if (t)
        return t;
    if (ps->n_topics >= PUBSUB_MAX_TOPICS) {
        *err = LS_ELIMIT;
        return NULL;
    }
    int rc = gossipsub_subscribe(ps->gs, clock_mono_ms(), (const uint8_t *)name, strlen(name));
    if (rc < 0) {
        *err = rc;
        return NULL;
    }
    ps->topics = ls_realloc(ps->topics, (ps->n_topics + 1) * sizeof *ps->topics);
    t = &ps->topics[ps->n_topics++];
    *t = (ps_topic_t){ls_strdup(name), 0, false};
    return t;
}

/* Leave `t` if nothing holds it any more. */
static void
topic_release(node_pubsub_t *ps, ps_topic_t *t)
{
    if (t->listeners || t->pinned)
        return;
    gossipsub_unsubscribe(ps->gs, clock_mono_ms(), (const uint8_t *)t->name, strlen(t->name));
    free(t->name);
    *t = ps->topics[--ps->n_topics];
}

void
ps_topics_free(node_pubsub_t *ps)
{
    for (size_t i = 0; i < ps->n_topics; i++)
        free(ps->topics[i].name);
    free(ps->topics);
    free(ps->listeners);
}

size_t
node_pubsub_topics(const node_pubsub_t *ps, const char **out, size_t max)
{
    for (size_t i = 0; i < ps->n_topics && i < max; i++)
        out[i] = ps->topics[i].name;
    return ps->n_topics;
}

int
node_pubsub_pin(node_pubsub_t *ps, const char *topic, bool pin)
{
    int err = 0;
    ps_topic_t *t = pin ? topic_join(ps, topic, &err) : topic_find(ps, topic);
    if (!t)
        return pin ? err : LS_ENOENT;
    t->pinned = pin;
    topic_release(ps, t);
    return 0;
}

/* ---- listeners ---- */

int64_t
node_pubsub_listen(node_pubsub_t *ps, const char *topic, node_pubsub_listen_fn fn, void *ctx)
{
    int err = 0;
    ps_topic_t *t = topic_join(ps, topic, &err);
    if (!t)
        return err;
    t->listeners++;
    ps->listeners = ls_realloc(ps->listeners, (ps->n_listeners + 1) * sizeof *ps->listeners);
    ps_listener_t *l = &ps->listeners[ps->n_listeners++];
    *l = (ps_listener_t){++ps->next_listener, t->name, fn, ctx};
    return l->id;
}

void
node_pubsub_unlisten(node_pubsub_t *ps, int64_t id)
{
    for (size_t i = 0; i < ps->n_listeners; i++) {
        if (ps->listeners[i].id != id)
            continue;
        ps_topic_t *t = topic_find(ps, ps->listeners[i].topic);
        ps->listeners[i] = ps->listeners[--ps->n_listeners];
        if (t) {
            t->listeners--;
            topic_release(ps, t);
        }
        return;
    }
}

void
ps_listeners_deliver(node_pubsub_t *ps, const node_pubsub_msg_t *msg)
{
    const gossipsub_message_t *m = msg->m;
    /* listeners may unlisten from their callback: walk by ID */
    for (size_t i = 0; i < ps->n_listeners; i++) {
        ps_listener_t l = ps->listeners[i];
        if (strlen(l.topic) == m->topic_len && memcmp(l.topic, m->topic, m->topic_len) == 0) {
            l.fn(l.ctx, msg);
            if (i < ps->n_listeners && ps->listeners[i].id != l.id)
                i--; /* it removed itself: the last one moved here */
        }
    }
}

void
ps_listeners_close(node_pubsub_t *ps)
{
    while (ps->n_listeners) {
        ps_listener_t l = ps->listeners[ps->n_listeners - 1];
        l.fn(l.ctx, NULL); /* the listener unlistens */
        if (ps->n_listeners && ps->listeners[ps->n_listeners - 1].id == l.id)
            node_pubsub_unlisten(ps, l.id);
    }
}

/* ---- metrics ---- */

/* The verifier's counters (zero once it stopped). */
static pubsub_verify_stats_t
verify_stats(void *ctx)
{
    pubsub_verify_stats_t st = {0};
    node_pubsub_t *ps = ctx;
    if (ps->verifier)
        pubsub_verifier_stats(ps->verifier, &st);
    return st;
}

static double
g_verify_queue(void *ctx)
{
    return (double)verify_stats(ctx).inflight;
}

static double
g_verified(void *ctx)
{
    return (double)verify_stats(ctx).verified;
}

static double
g_batches(void *ctx)
{
    return (double)verify_stats(ctx).batches;
}

static double
g_peers(void *ctx)
{
    return (double)peermap_count(((node_pubsub_t *)ctx)->peers);
}

static double
g_out_dropped(void *ctx)
{
    return (double)((node_pubsub_t *)ctx)->out_dropped;
}

static double
g_rate_limited(void *ctx)
{
    return (double)((node_pubsub_t *)ctx)->rate_limited;
}

void
ps_metrics_init(node_pubsub_t *ps)
{
    metrics_t *m = ps->net->node->metrics;
    metrics_describe(m, "lester_pubsub_messages_total", METRIC_COUNTER,
                     "pubsub messages by topic class (lester, other) and outcome (received, "
                     "delivered, duplicate, invalid, ignored, forwarded, published)");
    metrics_describe(m, "lester_pubsub_control_total", METRIC_COUNTER,
                     "gossip control: IHAVE IDs sent, IWANT IDs sent, messages served for IWANT, "
                     "RPCs dropped from graylisted peers");
    metrics_describe(m, "lester_pubsub_mesh_peers", METRIC_GAUGE, "mesh size by topic");
    metrics_describe(m, "lester_pubsub_graylisted_peers", METRIC_GAUGE,
                     "connected pubsub peers whose score is below the graylist threshold");
    metrics_describe(m, "lester_trust_peers", METRIC_GAUGE,
                     "peers held by the trust manager by trust band");
    metrics_gauge_fn(m, "lester_pubsub_verify_queue", "signatures waiting for the worker pool",
                     g_verify_queue, ps);
    metrics_gauge_fn(m, "lester_pubsub_verified", "signatures verified on the worker pool",
                     g_verified, ps);
    metrics_gauge_fn(m, "lester_pubsub_verify_batches", "verification batches completed",
                     g_batches, ps);
    metrics_gauge_fn(m, "lester_pubsub_peers", "connected peers speaking pubsub", g_peers, ps);
    metrics_gauge_fn(m, "lester_pubsub_out_dropped", "RPCs dropped: the peer's queue was full",
                     g_out_dropped, ps);
    metrics_gauge_fn(m, "lester_pubsub_rate_limited", "inbound RPCs dropped by the rate limiter",
                     g_rate_limited, ps);
}

static void
add_delta(metrics_t *m, const char *name, const char *labels, uint64_t now, uint64_t before)
{
    if (now > before)
        metrics_add(m, name, labels, (double)(now - before));
}

static void
message_counters(node_pubsub_t *ps, const gossipsub_stats_t *st)
{
    static const char *const cls[] = {"lester", "other"};
    metrics_t *m = ps->net->node->metrics;
    char l[96];
    for (int c = 0; c < GOSSIPSUB_CLASS_COUNT; c++) {
        const gossipsub_msg_stats_t *a = &st->msg[c], *b = &ps->last.msg[c];
#define MSG(field, kind)                                                                           \
    snprintf(l, sizeof l, "class=\"%s\",kind=\"%s\"", cls[c], kind);                               \
    add_delta(m, "lester_pubsub_messages_total", l, a->field, b->field);
        MSG(received, "received")
        MSG(delivered, "delivered")
        MSG(duplicates, "duplicate")
        MSG(invalid, "invalid")
        MSG(ignored, "ignored")
        MSG(forwarded, "forwarded")
        MSG(published, "published")
#undef MSG
    }
    add_delta(m, "lester_pubsub_control_total", "kind=\"ihave_sent\"", st->ihave_sent,
              ps->last.ihave_sent);
    add_delta(m, "lester_pubsub_control_total", "kind=\"iwant_sent\"", st->iwant_sent,
              ps->last.iwant_sent);
    add_delta(m, "lester_pubsub_control_total", "kind=\"iwant_served\"", st->iwant_served,
              ps->last.iwant_served);
    add_delta(m, "lester_pubsub_control_total", "kind=\"graylisted_rpcs\"", st->graylisted_rpcs,
              ps->last.graylisted_rpcs);
    add_delta(m, "lester_pubsub_control_total", "kind=\"iwant_over_retransmission\"",
              st->iwant_over_retransmission, ps->last.iwant_over_retransmission);
    add_delta(m, "lester_pubsub_control_total", "kind=\"idontwant_received\"",
              st->idontwant_received, ps->last.idontwant_received);
    add_delta(m, "lester_pubsub_control_total", "kind=\"idontwant_skipped\"",
              st->idontwant_skipped, ps->last.idontwant_skipped);
    ps->last = *st;
}

static void
mesh_and_graylist(node_pubsub_t *ps)
{
    metrics_t *m = ps->net->node->metrics;
    uint64_t now = clock_mono_ms();
    char l[320];
    for (size_t i = 0; i < ps->n_topics; i++) {
        const char *t = ps->topics[i].name;
        size_t n = gossipsub_mesh(ps->gs, (const uint8_t *)t, strlen(t), NULL, 0);
        buf_t esc = BUF_INIT(300);
        for (const char *c = t; *c && esc.len < 256; c++)
            buf_printf(&esc, "%s%c", (*c == '"' || *c == '\\') ? "\\" : "", *c == '\n' ? ' ' : *c);
        snprintf(l, sizeof l, "topic=\"%s\"", buf_cstr(&esc));
        buf_free(&esc);
        metrics_set(m, "lester_pubsub_mesh_peers", l, (double)n);
    }
    size_t it = 0, gray = 0;
    ps_peer_t *p;
    while ((p = peermap_next(ps->peers, &it)))
        gray += gossipsub_score(ps->gs, now, &p->id) < ps->cfg.thresholds.graylist;
    metrics_set(m, "lester_pubsub_graylisted_peers", NULL, (double)gray);
}

/* Trust bands: [0, 0.1) [0.1, 0.3) [0.3, 0.5) [0.5, 0.7) [0.7, 1]. */
static void
trust_bands(node_pubsub_t *ps)
{
    static const double lo[] = {0.0, 0.1, 0.3, 0.5, 0.7, 1.01};
    static const char *const name[] = {"0-0.1", "0.1-0.3", "0.3-0.5", "0.5-0.7", "0.7-1"};
    trust_t *t = ps->net->trust_mgr;
    size_t count = t ? trust_count(t) : 0;
    trust_entry_t *e = ls_calloc(count + 1, sizeof *e);
    size_t n = t ? trust_top(t, 0.0, e, count) : 0;
    size_t bands[5] = {0};
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 5; b++)
            if (e[i].trust >= lo[b] && e[i].trust < lo[b + 1])
                bands[b]++;
    char l[32];
    for (int b = 0; b < 5; b++) {
        snprintf(l, sizeof l, "band=\"%s\"", name[b]);
        metrics_set(ps->net->node->metrics, "lester_trust_peers", l, (double)bands[b]);
    }
    free(e);
}

void
ps_metrics_tick(node_pubsub_t *ps)
{
    gossipsub_stats_t st;
    gossipsub_stats(ps->gs, &st);
    message_counters(ps, &st);
    mesh_and_graylist(ps);
    if (ps->ticks++ % 5 == 0)
        trust_bands(ps);
}
