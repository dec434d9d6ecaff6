/* node_pubsub — the gossipsub router on the node's swarm (node_pubsub.h): streams,
 * peers, deferred signature checks on the worker pool, listeners, timers. Metrics are
 * in node_pubsub_metrics.c. Clock: monotonic ms for the router. */
#define LOG_MODULE "pubsub"
#include "node/daemon/node_pubsub.h"

#include <stdlib.h>
#include <string.h>

#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "lib/varint/varint.h"
#include "net/peermap/peermap.h"
#include "node/daemon/node_net.h"
#include "node/daemon/node_pubsub_internal.h"
#include "pubsub/rpc/pubsub_msg.h"
#include "pubsub/rpc/pubsub_rpc.h"

static const char *const served[] = {GOSSIPSUB_ID_12, GOSSIPSUB_ID_11, GOSSIPSUB_ID_10,
                                     FLOODSUB_ID};

/* ---- outbound: one long-lived stream per peer ---- */

static void open_out(node_pubsub_t *ps, ps_peer_t *p);

static void
pump(ps_peer_t *p)
{
    while (p->out && p->queue.len) {
        int n = swarm_stream_write(p->out, p->queue.data, p->queue.len);
        if (n <= 0)
            break;
        buf_consume(&p->queue, (size_t)n);
    }
}

static ps_peer_t *
find_peer(node_pubsub_t *ps, const peer_id_t *id)
{
    return peermap_get(ps->peers, id);
}

static ps_peer_t *
ensure_peer(node_pubsub_t *ps, const peer_id_t *id)
{
    ps_peer_t *p = find_peer(ps, id);
    if (p)
        return p;
    p = ls_calloc(1, sizeof *p);
    p->id = *id;
    buf_init(&p->queue, PUBSUB_OUT_MAX);
    peermap_put(ps->peers, p);
    return p;
}

/* The IP of `c`'s remote for P6 ("1.2.3.4"), into `out`; NULL if none. */
static const char *
conn_ip(swarm_conn_t *c, char *out, size_t size)
{
    char *s = c ? multiaddr_to_str(swarm_conn_remote_addr(c)) : NULL;
    const char *r = NULL;
    if (s && (strncmp(s, "/ip4/", 5) == 0 || strncmp(s, "/ip6/", 5) == 0)) {
        const char *a = s + 5, *e = strchr(a, '/');
        size_t n = e ? (size_t)(e - a) : strlen(a);
        if (n < size) {
            memcpy(out, a, n);
            out[n] = '\0';
            r = out;
        }
    }
    free(s);
    return r;
}

/* Tell the router about `p` speaking `protocol` (first time only). */
static void
add_to_router(node_pubsub_t *ps, ps_peer_t *p, const char *protocol, swarm_conn_t *c)
{
    int proto = gossipsub_proto_from_id(protocol);
    if (p->added || proto < 0)
        return;
    char ip[64];
    p->added = true;
    gossipsub_add_peer(ps->gs, clock_mono_ms(), &p->id, (gossipsub_proto_t)proto,
                       c ? !swarm_conn_is_inbound(c) : true, conn_ip(c, ip, sizeof ip));
}

static size_t
out_data(void *ud, swarm_stream_t *s, const uint8_t *p, size_t len)
{
    (void)ud;
    (void)s;
    (void)p;
    return len; /* nothing is expected back on our sending stream */
}

static void
out_writable(void *ud, swarm_stream_t *s)
{
    ps_ref_t *r = ud;
    ps_peer_t *p = r->ps ? find_peer(r->ps, &r->id) : NULL;
    (void)s;
    if (p)
        pump(p);
}

static void
out_close(void *ud, swarm_stream_t *s, int reason)
{
    ps_ref_t *r = ud;
    ps_peer_t *p = r->ps ? find_peer(r->ps, &r->id) : NULL;
    (void)reason;
    if (p && p->out == s)
        p->out = NULL;
    free(r);
}

static const swarm_stream_cbs_t out_cbs = {
    .on_data = out_data, .on_writable = out_writable, .on_close = out_close};

static void
out_opened(void *ctx, swarm_stream_t *s, int err, const char *protocol)
{
    ps_ref_t *r = ctx;
    node_pubsub_t *ps = r->ps;
    ps_peer_t *p = find_peer(ps, &r->id);
    if (p)
        p->opening = false;
    if (!s || err < 0 || !p) {
        if (s)
            swarm_stream_reset(s);
        free(r);
        return;
    }
    p->out = s;
    swarm_stream_set_cbs(s, &out_cbs, r);
    add_to_router(ps, p, protocol, swarm_stream_conn(s));
    pump(p);
}

static void
open_out(node_pubsub_t *ps, ps_peer_t *p)
{
    if (p->out || p->opening || !swarm_find_conn(ps->net->swarm, &p->id))
        return;
    ps_ref_t *r = ls_calloc(1, sizeof *r);
    r->ps = ps;
    r->id = p->id;
    p->opening = true;
    if (swarm_open_stream(ps->net->swarm, &p->id, served, LS_ARRAY_LEN(served), out_opened, r) <
        0) {
        p->opening = false;
        free(r);
    }
}

/* ---- router environment ---- */

static int
env_send(void *ctx, const peer_id_t *to, const uint8_t *rpc, size_t len)
{
    node_pubsub_t *ps = ctx;
    ps_peer_t *p = find_peer(ps, to);
    if (!p)
        return LS_ENOENT;
    if (p->queue.len + len + VARINT_MAX_LEN > PUBSUB_OUT_MAX) {
        ps->out_dropped++; /* a peer that does not read loses RPCs, not our memory */
        return LS_ELIMIT;
    }
    varint_append(&p->queue, len);
    buf_append(&p->queue, rpc, len);
    if (p->out)
        pump(p);
    else
        open_out(ps, p);
    return 0;
}

static void
env_deliver(void *ctx, const gossipsub_message_t *m)
{
    node_pubsub_t *ps = ctx;
    node_pubsub_msg_t msg = {m, NULL, clock_wall_ms()};
    if (gossipsub_topic_class(m->topic, m->topic_len) == GOSSIPSUB_CLASS_OTHER &&
        m->id_len > PUBSUB_SEQNO_LEN)
        msg.seqno = m->id + m->id_len - PUBSUB_SEQNO_LEN; /* default ID: from || seqno */
    ps_listeners_deliver(ps, &msg);
}

static double
env_app_score(void *ctx, const peer_id_t *peer)
{
    node_pubsub_t *ps = ctx;
    return ps->net->trust_mgr ? trust_app_score(ps->net->trust_mgr, peer) : 0.0;
}

static void
env_px(void *ctx, const peer_id_t *peer, const uint8_t *record, size_t len)
{
    node_pubsub_t *ps = ctx;
    (void)record;
    (void)len;
    /* a PX peer is only a hint: dial it if the peer store knows where it is */
    if (peerstore_has(ps->net->peers, peer) && !swarm_find_conn(ps->net->swarm, peer))
        swarm_dial_peer(ps->net->swarm, peer, NULL, NULL);
}

/* ---- inbound streams: a sequence of length-prefixed RPCs ---- */

/* The per-peer inbound limit counts messages, not RPCs: one RPC may carry up to
 * max_messages of them. An RPC costs one message token per published message (at
 * least one, for control-only RPCs) and its bytes; it passes only if all are there.
 * Tokens taken before a refusal stay taken: the sender was over its rate anyway. */
static bool
rate_allow(node_pubsub_t *ps, const peer_id_t *from, const uint8_t *rpc, size_t len,
           uint64_t now)
{
    int n = pubsub_rpc_count_messages(rpc, len); /* < 0: the decoder refuses it */
    if (!ratelimit_allow(ps->net->ratelimit, from, len, now))
        return false;
    for (int i = 1; i < n; i++)
        if (!ratelimit_allow(ps->net->ratelimit, from, 0, now))
            return false;
    return true;
}

/* One RPC from `from`; false if the stream must be reset. */
static bool
input_rpc(node_pubsub_t *ps, const peer_id_t *from, const uint8_t *rpc, size_t len)
{
    uint64_t now = clock_mono_ms();
    ps_peer_t *p = find_peer(ps, from);
    if (!rate_allow(ps, from, rpc, len, now)) {
        ps->rate_limited++;
        return true; /* throttled: dropped (the limiter tells the trust manager) */
    }
    if (p && gossipsub_score(ps->gs, now, from) < ps->cfg.thresholds.graylist)
        p->graylisted_rpcs++; /* reported each heartbeat (ps_tick) */
    connmgr_on_activity(ps->net->connmgr, from, now);
    int rc = gossipsub_input(ps->gs, now, from, rpc, len);
    if (rc < 0) {
        trust_hook_report(&ps->net->trust, from, TRUST_PROTOCOL_VIOLATION);
        return false;
    }
    return true;
}

static size_t
in_data(void *ud, swarm_stream_t *s, const uint8_t *data, size_t len)
{
    ps_in_t *in = ud;
    if (!in->ref.ps)
        return len;
    if (buf_append(&in->buf, data, len) < 0)
        goto oversize;
    size_t off = 0;
    for (;;) {
        uint64_t n;
        int hl = varint_decode(in->buf.data + off, in->buf.len - off, &n);
        if (hl == LS_EAGAIN)
            break;
        if (hl < 0)
            goto bad;
        if (n > in->ref.ps->cfg.limits.max_rpc_len)
            goto oversize;
        if (in->buf.len - off - (size_t)hl < n)
            break;
        if (!input_rpc(in->ref.ps, &in->ref.id, in->buf.data + off + hl, (size_t)n))
            goto bad;
        off += (size_t)hl + (size_t)n;
        if (!in->ref.ps)
            return len; /* stopped meanwhile */
    }
    buf_consume(&in->buf, off);
    return len;
oversize:
    swarm_stream_report_oversize(s);
bad:
    buf_clear(&in->buf);
    swarm_stream_reset(s);
    return len;
}

static void
in_close(void *ud, swarm_stream_t *s, int reason)
{
    ps_in_t *in = ud;
    (void)s;
    (void)reason;
    buf_free(&in->buf);
    free(in);
}

static void
in_eof(void *ud, swarm_stream_t *s)
{
    (void)ud;
    swarm_stream_close_write(s);
}

static const swarm_stream_cbs_t in_cbs = {.on_data = in_data, .on_eof = in_eof, .on_close = in_close};

static void
handle_pubsub(void *ctx, swarm_stream_t *s, const char *protocol)
{
    node_pubsub_t *ps = ctx;
    swarm_conn_t *c = swarm_stream_conn(s);
    ps_in_t *in = ls_calloc(1, sizeof *in);
    in->ref.ps = ps;
    in->ref.id = *swarm_conn_peer(c);
    buf_init(&in->buf, ps->cfg.limits.max_rpc_len + VARINT_MAX_LEN + 65536);
    swarm_stream_set_cbs(s, &in_cbs, in);
    ps_peer_t *p = ensure_peer(ps, &in->ref.id);
    add_to_router(ps, p, protocol, c);
    open_out(ps, p);
}

/* ---- peers come and go ---- */

void
node_pubsub_on_identified(node_net_t *net, swarm_conn_t *c, const identify_info_t *info)
{
    node_pubsub_t *ps = net->pubsub;
    bool speaks = false;
    if (!ps || !info->has_protocols)
        return;
    for (size_t i = 0; i < info->n_protocols && !speaks; i++)
        speaks = gossipsub_proto_from_id(info->protocols[i]) >= 0;
    if (speaks)
        open_out(ps, ensure_peer(ps, swarm_conn_peer(c)));
}

static void
on_disconnected(void *ctx, swarm_conn_t *c, int reason)
{
    node_pubsub_t *ps = ctx;
    const peer_id_t *id = swarm_conn_peer(c);
    (void)reason;
    if (swarm_peer_conn_count(ps->net->swarm, id) > 0)
        return;
    ps_peer_t *p = peermap_remove(ps->peers, id);
    if (!p)
        return;
    if (p->added)
        gossipsub_remove_peer(ps->gs, clock_mono_ms(), id);
    buf_free(&p->queue);
    free(p);
}

/* ---- deferred signature checks on the worker pool (pubsub/verify) ---- */

static int
env_verify(void *ctx, const uint8_t *msg, size_t len, const uint8_t *id, size_t id_len)
{
    node_pubsub_t *ps = ctx;
    return pubsub_verifier_add(ps->verifier, msg, len, id, id_len);
}

static void
verified(void *ctx, const uint8_t *id, size_t id_len, int rc, const peer_id_t *author)
{
    node_pubsub_t *ps = ctx;
    gossipsub_verified(ps->gs, clock_mono_ms(), id, id_len, rc, author);
}

/* ---- timer ---- */

/* Peers that kept sending while graylisted: one protocol violation per heartbeat,
 * so their trust falls to the threshold within a few heartbeats. */
static void
report_graylisted(node_pubsub_t *ps)
{
    size_t it = 0;
    ps_peer_t *p;
    while ((p = peermap_next(ps->peers, &it))) {
        if (!p->graylisted_rpcs)
            continue;
        p->graylisted_rpcs = 0;
        trust_hook_report(&ps->net->trust, &p->id, TRUST_PROTOCOL_VIOLATION);
    }
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    node_pubsub_t *ps = arg;
    (void)fd;
    (void)what;
    uint64_t now = clock_mono_ms();
    uint64_t next = gossipsub_tick(ps->gs, now);
    report_graylisted(ps);
    ps_metrics_tick(ps);
    uint64_t wait = next > now ? next - now : 1;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
    evtimer_add(ps->ev_tick, &tv);
}

/* ---- lifecycle ---- */

static void
config_from(const config_t *cfg, gossipsub_config_t *gc)
{
    gossipsub_config_default(gc);
    gc->heartbeat_ms = (uint64_t)config_get_int(cfg, "gossip.interval_ms");
    uint32_t d = (uint32_t)config_get_int(cfg, "gossip.fanout");
    gc->d = d;
    gc->d_lo = d > 2 ? d * 2 / 3 : 1;
    gc->d_hi = d * 2;
    gc->d_score = gc->d_lo < d ? gc->d_lo : d;
    gc->d_out = gc->d_lo > 1 ? LS_MIN(2u, gc->d_lo - 1) : 0;
    gc->d_lazy = d;
}

void
node_pubsub_start(node_net_t *net)
{
    node_pubsub_t *ps = ls_calloc(1, sizeof *ps);
    node_t *n = net->node;
    ps->net = net;
    net->pubsub = ps;
    ps->peers = peermap_new(offsetof(ps_peer_t, id));
    gossipsub_config_t gc;
    config_from(n->cfg, &gc);
    ps->cfg = gc;
    gossipsub_env_t env = {.ctx = ps,
                           .send = env_send,
                           .deliver = env_deliver,
                           .app_score = env_app_score,
                           .px = env_px,
                           .trust = net->trust,
                           .verify = env_verify};
    ps->gs = gossipsub_new(&gc, &env, &n->key, clock_mono_ms());
    for (size_t i = 0; i < LS_ARRAY_LEN(served); i++)
        swarm_handle(net->swarm, served[i], handle_pubsub, ps, 4);
    swarm_events_t ev = {ps, NULL, on_disconnected};
    swarm_add_events(net->swarm, &ev);
    pubsub_verify_env_t venv = {.ctx = ps, .done = verified};
    ps->verifier = pubsub_verifier_new(n->base, n->pool, &venv, PUBSUB_VERIFY_BATCH,
                                       PUBSUB_VERIFY_MAX);
    ps->ev_tick = evtimer_new(n->base, on_tick, ps);
    struct timeval tv = {0, (suseconds_t)LS_MIN(gc.heartbeat_ms, 999u) * 1000};
    evtimer_add(ps->ev_tick, &tv);
    ps_metrics_init(ps);
    node_routes_pubsub(n);
}

void
node_pubsub_stop(node_net_t *net)
{
    node_pubsub_t *ps = net->pubsub;
    if (!ps)
        return;
    ps_listeners_close(ps);
    pubsub_verifier_free(ps->verifier); /* batches still on the pool find no router */
    event_free(ps->ev_tick);
    size_t it = 0;
    ps_peer_t *p;
    while ((p = peermap_next(ps->peers, &it))) {
        peermap_remove(ps->peers, &p->id);
        buf_free(&p->queue);
        free(p);
        it = 0;
    }
    peermap_free(ps->peers);
    gossipsub_free(ps->gs);
    ps_topics_free(ps);
    free(ps);
    net->pubsub = NULL;
}

gossipsub_t *
node_pubsub_router(node_pubsub_t *ps)
{
    return ps->gs;
}

int
node_pubsub_publish(node_pubsub_t *ps, const char *topic, const uint8_t *data, size_t len)
{
    return gossipsub_publish(ps->gs, clock_mono_ms(), (const uint8_t *)topic, strlen(topic), data,
                             len, NULL, NULL);
}
