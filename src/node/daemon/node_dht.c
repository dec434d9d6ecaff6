/* node_dht — kad on the swarm (node_dht.h): inbound request streams, outbound
 * request streams (kad_env_t.send_request), the timer, bootstrap and probes. */
#define LOG_MODULE "dht"
#include "node/daemon/node_dht.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dht/kadmsg.h"
#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "pubsub/trust/trust.h"

/* Bootstrap again this often while the table is small, and at this size it is not. */
#define BOOTSTRAP_FIRST_MS 1500
#define BOOTSTRAP_EVERY_MS 30000
/* Longest wait between ticks (stale streams are reaped, bootstrap checked). */
#define TICK_MAX_MS 1000
/* Receive buffer of one stream: one message and its prefix. */
#define RX_MAX (KADMSG_MAX_SIZE + 16)

struct dht_stream_t {
    node_dht_t *d; /* NULL once the DHT stopped */
    dht_stream_t *prev, *next;
    swarm_stream_t *s;
    peer_id_t peer;
    buf_t rx, tx;
    uint64_t req_id; /* outbound: the kad request; 0 inbound */
    uint64_t started_ms; /* wall */
    bool outbound, want_reply, done;
    bool close_drained; /* half-close once tx is written (no reply expected) */
};

static void node_dht_metrics(node_dht_t *d);
static void count_request(node_dht_t *d, bool in, unsigned type);

/* ---- stream contexts ---- */

static dht_stream_t *
stream_new(node_dht_t *d, const peer_id_t *peer, bool outbound)
{
    dht_stream_t *st = ls_calloc(1, sizeof *st);
    st->d = d;
    st->peer = *peer;
    st->outbound = outbound;
    st->started_ms = clock_wall_ms();
    buf_init(&st->rx, RX_MAX);
    buf_init(&st->tx, RX_MAX * 2);
    st->next = d->streams;
    if (d->streams)
        d->streams->prev = st;
    d->streams = st;
    return st;
}

static void
stream_free(dht_stream_t *st)
{
    if (st->d) {
        if (st->prev)
            st->prev->next = st->next;
        else
            st->d->streams = st->next;
        if (st->next)
            st->next->prev = st->prev;
    }
    buf_free(&st->rx);
    buf_free(&st->tx);
    free(st);
}

static void
pump(dht_stream_t *st)
{
    while (st->s && st->tx.len) {
        int n = swarm_stream_write(st->s, st->tx.data, st->tx.len);
        if (n <= 0)
            break;
        buf_consume(&st->tx, (size_t)n);
    }
    if (st->s && st->close_drained && st->tx.len == 0) {
        st->close_drained = false;
        swarm_stream_close_write(st->s);
    }
}

/* The message type for metrics: field 1 comes first when present (proto3 encoders
 * write fields in order); absent means 0, PUT_VALUE. */
static unsigned
msg_type(const uint8_t *p, size_t len)
{
    if (len >= 2 && p[0] == 0x08)
        return p[1] < DHT_MSG_TYPES - 1 ? p[1] : DHT_MSG_TYPES - 1;
    return 0;
}

void
node_dht_kick(node_dht_t *d)
{
    if (!d->tick_pending) {
        d->tick_pending = true;
        event_active(d->ev_tick, EV_TIMEOUT, 0);
    }
}

/* ---- inbound: a sequence of length-prefixed requests, one reply each ---- */

/* Why kad refused a request, for the trust manager. */
static trust_event_t
refusal_event(int rc)
{
    return rc == LS_EINVAL || rc == LS_ETOOBIG ? TRUST_PROTOCOL_VIOLATION
                                                : TRUST_INVALID_MESSAGE;
}

/* One request; false if the stream must be reset. */
static bool
serve_one(dht_stream_t *st, const uint8_t *msg, size_t len)
{
    node_dht_t *d = st->d;
    node_net_t *net = d->net;
    if (!ratelimit_allow(d->rl, &st->peer, len, clock_mono_ms())) {
        d->rate_limited++;
        return false; /* the limiter reports to the trust hook itself */
    }
    count_request(d, true, msg_type(msg, len));
    connmgr_on_activity(net->connmgr, &st->peer, clock_mono_ms());
    buf_t reply = BUF_INIT(KADMSG_MAX_SIZE);
    int rc = kad_input_request(d->kad, clock_wall_ms(), &st->peer, msg, len, &reply);
    if (rc < 0) {
        if (rc == LS_EINVAL || rc == LS_ETOOBIG)
            d->in_malformed++;
        else
            d->in_refused++;
        log_debug("request refused: %s", ls_strerror(rc));
        if (rc != LS_ENOTSUP)
            trust_hook_report(&net->trust, &st->peer, refusal_event(rc));
    } else {
        unsigned type = msg_type(msg, len);
        if (type == KADMSG_PUT_VALUE || type == KADMSG_ADD_PROVIDER) /* a record that passed */
            trust_hook_report(&net->trust, &st->peer, TRUST_VALID_MESSAGE);
        if (reply.len && kadmsg_frame_append(&st->tx, reply.data, reply.len) == 0)
            pump(st);
    }
    buf_free(&reply);
    node_dht_kick(d);
    return rc >= 0;
}

static size_t
in_data(void *ud, swarm_stream_t *s, const uint8_t *p, size_t len)
{
    dht_stream_t *st = ud;
    if (!st->d)
        return len;
    if (buf_append(&st->rx, p, len) < 0)
        goto oversize;
    size_t off = 0;
    while (st->d && off < st->rx.len) {
        const uint8_t *body;
        size_t blen;
        int n = kadmsg_frame_decode(st->rx.data + off, st->rx.len - off, &body, &blen);
        if (n == LS_EAGAIN)
            break;
        if (n == LS_ETOOBIG)
            goto oversize;
        if (n < 0) {
            trust_hook_report(&st->d->net->trust, &st->peer, TRUST_PROTOCOL_VIOLATION);
            goto bad;
        }
        if (!serve_one(st, body, blen))
            goto bad;
        off += (size_t)n;
    }
    buf_consume(&st->rx, off);
    return len;
oversize:
    swarm_stream_report_oversize(s);
bad:
    buf_clear(&st->rx);
    swarm_stream_reset(s);
    return len;
}

static void
in_eof(void *ud, swarm_stream_t *s)
{
    (void)ud;
    swarm_stream_close_write(s);
}

static void
any_writable(void *ud, swarm_stream_t *s)
{
    (void)s;
    pump(ud);
}

static void
in_close(void *ud, swarm_stream_t *s, int reason)
{
    (void)s;
    (void)reason;
    stream_free(ud);
}

static const swarm_stream_cbs_t in_cbs = {
    .on_data = in_data, .on_eof = in_eof, .on_writable = any_writable, .on_close = in_close};

static void
handle_kad(void *ctx, swarm_stream_t *s, const char *protocol)
{
    node_dht_t *d = ctx;
    (void)protocol;
    dht_stream_t *st = stream_new(d, swarm_conn_peer(swarm_stream_conn(s)), false);
    st->s = s;
    swarm_stream_set_cbs(s, &in_cbs, st);
}

/* ---- outbound: one request, at most one reply ---- */

static void
out_finish(dht_stream_t *st, bool failed)
{
    node_dht_t *d = st->d;
    if (st->done)
        return;
    st->done = true;
    if (!d)
        return;
    if (failed) {
        d->req_failed++;
        kad_request_failed(d->kad, clock_wall_ms(), st->req_id);
    }
    node_dht_kick(d);
}

static size_t
out_data(void *ud, swarm_stream_t *s, const uint8_t *p, size_t len)
{
    dht_stream_t *st = ud;
    if (!st->d || st->done || !st->want_reply)
        return len;
    if (buf_append(&st->rx, p, len) < 0) {
        swarm_stream_report_oversize(s);
        out_finish(st, true);
        swarm_stream_reset(s);
        return len;
    }
    const uint8_t *body;
    size_t blen;
    int n = kadmsg_frame_decode(st->rx.data, st->rx.len, &body, &blen);
    if (n == LS_EAGAIN)
        return len;
    if (n < 0) {
        trust_hook_report(&st->d->net->trust, &st->peer, TRUST_PROTOCOL_VIOLATION);
        out_finish(st, true);
        swarm_stream_reset(s);
        return len;
    }
    st->done = true;
    int rc = kad_input_response(st->d->kad, clock_wall_ms(), st->req_id, body, blen);
    if (rc < 0) {
        st->d->req_failed++;
        trust_hook_report(&st->d->net->trust, &st->peer, TRUST_PROTOCOL_VIOLATION);
    }
    node_dht_kick(st->d);
    swarm_stream_close_write(s);
    return len;
}

static void
out_eof(void *ud, swarm_stream_t *s)
{
    dht_stream_t *st = ud;
    swarm_stream_close_write(s);
    out_finish(st, st->want_reply); /* closed before its reply */
}

static void
out_close(void *ud, swarm_stream_t *s, int reason)
{
    dht_stream_t *st = ud;
    (void)s;
    (void)reason;
    out_finish(st, st->want_reply);
    stream_free(st);
}

static const swarm_stream_cbs_t out_cbs = {
    .on_data = out_data, .on_eof = out_eof, .on_writable = any_writable, .on_close = out_close};

static void
out_opened(void *ctx, swarm_stream_t *s, int err, const char *protocol)
{
    dht_stream_t *st = ctx;
    (void)protocol;
    if (!s || err < 0 || !st->d) {
        if (s)
            swarm_stream_reset(s);
        out_finish(st, true);
        stream_free(st);
        return;
    }
    st->s = s;
    swarm_stream_set_cbs(s, &out_cbs, st);
    st->close_drained = !st->want_reply; /* ADD_PROVIDER: nothing comes back */
    pump(st);
    if (!st->want_reply)
        out_finish(st, false);
}

/* Give the swarm the kad address list `addrs` of `to` as dial hints. */
static void
add_hints(node_dht_t *d, const peer_id_t *to, const uint8_t *addrs, size_t len)
{
    multiaddr_t *mas[KADMSG_MAX_ADDRS];
    size_t n = 0, off = 0, ml;
    const uint8_t *m;
    while (n < LS_ARRAY_LEN(mas) && (m = kad_addrs_next(addrs, len, &off, &ml)))
        if (multiaddr_from_bytes(m, ml, &mas[n]) == 0)
            n++;
    if (n)
        swarm_add_addrs(d->net->swarm, to, (const multiaddr_t *const *)mas, n);
    for (size_t i = 0; i < n; i++)
        multiaddr_free(mas[i]);
}

/* Near peers.max, a request to a peer we are not connected to would make the
 * connection manager evict someone, and our dials are not in its count of inbound
 * room (max + headroom): the DHT then asks only connected peers. */
static bool
at_capacity(node_dht_t *d)
{
    swarm_stats_t st; /* the swarm's counts include the dials we started ourselves */
    swarm_get_stats(d->net->swarm, &st);
    const connmgr_config_t *c = &d->net->cm_cfg;
    uint64_t room = c->max_peers > c->headroom ? c->max_peers - c->headroom : 1;
    return st.conns_open + st.conns_pending >= room;
}

/* A peer whose dials failed lately (the connection manager's backoff, e.g. a full
 * peer that refused us) is not dialled again for the DHT before the backoff ends. */
static bool
in_backoff(node_dht_t *d, const peer_id_t *peer)
{
    peer_view_t v;
    return peerstore_get(d->net->peers, peer, &v) && v.backoff_until > clock_mono_ms();
}

static int
env_send_request(void *ctx, uint64_t req_id, const peer_id_t *to, const uint8_t *addrs,
                 size_t addrs_len, const uint8_t *msg, size_t len, bool want_reply)
{
    node_dht_t *d = ctx;
    swarm_t *sw = d->net->swarm;
    if (!swarm_find_conn(sw, to)) {
        if (at_capacity(d) || in_backoff(d, to)) {
            d->dials_skipped++;
            return LS_ELIMIT; /* kad skips this candidate; its table entry is kept */
        }
        if (addrs_len)
            add_hints(d, to, addrs, addrs_len);
    }
    dht_stream_t *st = stream_new(d, to, true);
    st->req_id = req_id;
    st->want_reply = want_reply;
    int rc = kadmsg_frame_append(&st->tx, msg, len);
    if (rc == 0)
        rc = swarm_open_stream(sw, to, d->protocols, d->n_protocols, out_opened, st);
    if (rc < 0) {
        st->done = true;
        stream_free(st);
        return rc;
    }
    count_request(d, false, msg_type(msg, len));
    return 0;
}

/* The trust manager's view of `peer` (kad_env_t.trust): a peer-map lookup. */
static double
env_trust(void *ctx, const peer_id_t *peer)
{
    node_dht_t *d = ctx;
    return trust_get(d->net->trust_mgr, peer);
}

/* ---- addresses ---- */

size_t
node_dht_peer_addrs(node_dht_t *d, const peer_id_t *peer, uint8_t *out)
{
    peer_view_t v;
    size_t len = 0;
    if (!peerstore_get(d->net->peers, peer, &v))
        return 0;
    for (size_t i = 0; i < v.n_addrs; i++) {
        size_t ml;
        const uint8_t *m = multiaddr_bytes(v.addrs[i], &ml);
        if (!kad_addrs_add(out, &len, m, ml))
            break;
    }
    return len;
}

void
node_dht_learn_addrs(node_dht_t *d, const peer_id_t *peer, const uint8_t *addrs, size_t len)
{
    multiaddr_t *mas[KADMSG_MAX_ADDRS];
    size_t n = 0, off = 0, ml;
    const uint8_t *m;
    if (peer_id_equal(peer, &d->net->node->id))
        return;
    while (n < LS_ARRAY_LEN(mas) && (m = kad_addrs_next(addrs, len, &off, &ml)))
        if (multiaddr_from_bytes(m, ml, &mas[n]) == 0)
            n++;
    if (n)
        peerstore_add_addrs(d->net->peers, peer, (const multiaddr_t *const *)mas, n,
                            clock_wall_ms());
    for (size_t i = 0; i < n; i++)
        multiaddr_free(mas[i]);
}

/* ---- bootstrap and probes ---- */

static bool
serves_kad(node_dht_t *d, const peer_id_t *peer)
{
    for (size_t i = 0; i < d->n_protocols; i++)
        if (peerstore_has_protocol(d->net->peers, peer, d->protocols[i]))
            return true;
    return false;
}

static void
bootstrapped(void *arg, const kad_result_t *res)
{
    node_dht_t *d = arg;
    log_debug("bootstrap: %s, %zu peers answered, table %zu", ls_strerror(res->status),
              res->npeers, routing_size(kad_routing(d->kad)));
}

/* A self-lookup seeded with every connected peer that serves kad. */
static void
bootstrap(node_dht_t *d, uint64_t now)
{
    enum { MAX_SEEDS = 64 };
    swarm_conn_t *conns[MAX_SEEDS];
    kad_peer_info_t seeds[MAX_SEEDS];
    uint8_t(*addrs)[KAD_ADDRS_MAX] = ls_malloc(MAX_SEEDS * sizeof *addrs);
    size_t n = 0, count = swarm_conns(d->net->swarm, conns, MAX_SEEDS);
    for (size_t i = 0; i < count && i < MAX_SEEDS; i++) {
        const peer_id_t *p = swarm_conn_peer(conns[i]);
        if (!serves_kad(d, p))
            continue;
        seeds[n] = (kad_peer_info_t){.id = *p, .addrs = addrs[n]};
        seeds[n].addrs_len = node_dht_peer_addrs(d, p, addrs[n]);
        n++;
    }
    if ((n > 0 || routing_size(kad_routing(d->kad)) > 0) &&
        kad_bootstrap(d->kad, now, seeds, n, bootstrapped, d) == 0)
        d->lookups++;
    free(addrs);
}

void
node_dht_on_identified(node_net_t *net, swarm_conn_t *c, const identify_info_t *info)
{
    node_dht_t *d = net->dht;
    if (!d)
        return;
    bool kad = false;
    for (size_t i = 0; i < info->n_protocols && !kad; i++)
        for (size_t j = 0; j < d->n_protocols; j++)
            kad |= strcmp(info->protocols[i], d->protocols[j]) == 0;
    if (!kad)
        return;
    uint8_t addrs[KAD_ADDRS_MAX];
    const peer_id_t *p = swarm_conn_peer(c);
    size_t len = node_dht_peer_addrs(d, p, addrs);
    if (kad_probe_peer(d->kad, clock_wall_ms(), p, addrs, len) > 0)
        node_dht_kick(d);
}

/* ---- the timer ---- */

/* Requests kad already gave up on may leave streams to silent peers: reset them. */
static void
reap_streams(node_dht_t *d, uint64_t now)
{
    for (dht_stream_t *st = d->streams; st; st = st->next)
        if (st->outbound && st->s && now > st->started_ms + d->request_timeout_ms * 2)
            swarm_stream_reset(st->s);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    node_dht_t *d = arg;
    (void)fd;
    (void)what;
    d->tick_pending = false;
    uint64_t now = clock_wall_ms();
    if (now >= d->next_bootstrap) {
        d->next_bootstrap = now + BOOTSTRAP_EVERY_MS;
        if (routing_size(kad_routing(d->kad)) < 20)
            bootstrap(d, now);
    }
    reap_streams(d, now);
    uint64_t next = kad_tick(d->kad, now);
    uint64_t wait = next > now ? LS_MIN(next - now, (uint64_t)TICK_MAX_MS) : 1;
    if (!d->tick_pending) {
        struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
        evtimer_add(d->ev_tick, &tv);
    }
}

/* ---- lifecycle ---- */

static int
config_mode(node_dht_t *d, const config_t *cfg, buf_t *err)
{
    const char *mode = config_get_str(cfg, "dht.mode");
    const multiaddr_t *const *la;
    if (strcmp(mode, "server") == 0)
        d->server = true;
    else if (strcmp(mode, "client") == 0)
        d->server = false;
    else if (strcmp(mode, "auto") == 0)
        d->server = swarm_listen_addrs(d->net->swarm, &la) > 0;
    else {
        buf_printf(err, "dht.mode: '%s' is not auto, client or server", mode);
        return LS_ECONFIG;
    }
    const char *proto = config_get_str(cfg, "dht.protocol");
    if (proto[0] != '/') {
        buf_printf(err, "dht.protocol: '%s' must start with '/'", proto);
        return LS_ECONFIG;
    }
    d->protocol = ls_strdup(proto);
    d->protocols[d->n_protocols++] = d->protocol;
    if (config_get_bool(cfg, "dht.ipfs_protocol") && strcmp(proto, KAD_PROTOCOL_ID_IPFS) != 0)
        d->protocols[d->n_protocols++] = KAD_PROTOCOL_ID_IPFS;
    return 0;
}

static void
kad_config_from(const config_t *cfg, bool server, kad_config_t *kc)
{
    kad_config_default(kc);
    kc->client_mode = !server;
    kc->routing.limit_private = config_get_bool(cfg, "dht.sybil_limit_private");
    kc->request_timeout_ms = (uint64_t)config_get_int(cfg, "dht.request_timeout_ms");
}

/* Our announce addresses, for provider records. */
static void
set_self_addrs(node_dht_t *d)
{
    uint8_t list[KAD_ADDRS_MAX];
    size_t len = 0;
    multiaddr_t **addrs;
    size_t n = swarm_announce_addrs(d->net->swarm, &addrs);
    for (size_t i = 0; i < n; i++) {
        size_t ml;
        const uint8_t *m = multiaddr_bytes(addrs[i], &ml);
        (void)kad_addrs_add(list, &len, m, ml);
        multiaddr_free(addrs[i]);
    }
    if (n)
        free(addrs);
    kad_set_self_addrs(d->kad, list, len);
}


int
node_dht_start(node_net_t *net, buf_t *err)
{
    node_t *n = net->node;
    node_dht_t *d = ls_calloc(1, sizeof *d);
    d->net = net;
    net->dht = d;
    int rc = config_mode(d, n->cfg, err);
    if (rc < 0)
        return rc;
    kad_config_t kc;
    kad_config_from(n->cfg, d->server, &kc);
    d->request_timeout_ms = kc.request_timeout_ms;
    kad_env_t env = {.ctx = d, .send_request = env_send_request};
    if (net->trust_mgr) { /* seed 001: trust feeds DHT peer choice */
        env.trust = env_trust;
        kc.min_trust = trust_config(net->trust_mgr)->min_threshold;
    }
    d->kad = kad_new(&n->id, &kc, &env);
    set_self_addrs(d);
    if ((rc = kad_attach_db(d->kad, n->db, clock_wall_ms())) < 0) {
        buf_printf(err, "dht: cannot load records from the database: %s", ls_strerror(rc));
        return rc;
    }
    ratelimit_config_t rl;
    ratelimit_config_default(&rl);
    rl.msgs_per_sec = (uint64_t)config_get_int(n->cfg, "dht.requests_per_sec");
    rl.msg_burst = (uint64_t)config_get_int(n->cfg, "dht.request_burst");
    d->rl = ratelimit_new(&rl, &net->trust);
    if (d->server)
        for (size_t i = 0; i < d->n_protocols; i++)
            swarm_handle(net->swarm, d->protocols[i], handle_kad, d, 64);
    d->ev_tick = evtimer_new(n->base, on_tick, d);
    d->next_bootstrap = clock_wall_ms() + BOOTSTRAP_FIRST_MS;
    node_dht_kick(d);
    node_dht_metrics(d);
    node_routes_dht(n);
    log_info("dht: %s mode on %s%s%s", d->server ? "server" : "client", d->protocols[0],
             d->n_protocols > 1 ? " and " : "", d->n_protocols > 1 ? d->protocols[1] : "");
    return 0;
}

static void queries_free(node_dht_t *d);

void
node_dht_stop(node_net_t *net)
{
    node_dht_t *d = net->dht;
    if (!d)
        return;
    net->dht = NULL;
    if (d->server && net->swarm)
        for (size_t i = 0; i < d->n_protocols; i++)
            swarm_unhandle(net->swarm, d->protocols[i]);
    kad_free(d->kad); /* drops lookups without callbacks */
    node_dht_ops_abort(d);
    queries_free(d);
    for (dht_stream_t *st = d->streams, *next; st; st = next) {
        next = st->next;
        st->d = NULL; /* the swarm frees them through on_close */
        st->prev = st->next = NULL;
    }
    if (d->ev_tick)
        event_free(d->ev_tick);
    ratelimit_free(d->rl);
    free(d->protocol);
    free(d);
}

/* ---- lookups for other node modules ---- */

struct node_dht_query_t {
    node_dht_query_t *next;
    node_dht_t *d;
    node_dht_query_fn cb; /* NULL once cancelled */
    void *arg;
};

static void
queries_free(node_dht_t *d)
{
    while (d->queries) {
        node_dht_query_t *q = d->queries;
        d->queries = q->next;
        free(q);
    }
}

static void
query_done(void *arg, const kad_result_t *res)
{
    node_dht_query_t *q = arg;
    for (node_dht_query_t **pp = &q->d->queries; *pp; pp = &(*pp)->next)
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    if (q->cb)
        q->cb(q->arg, res);
    free(q);
}

static node_dht_query_t *
query_start(node_dht_t *d, const uint8_t *key, size_t klen, size_t max, const uint8_t *meta,
            size_t mlen, bool provide, node_dht_query_fn cb, void *arg, int *err)
{
    node_dht_query_t *q = ls_calloc(1, sizeof *q);
    q->d = d;
    q->cb = cb;
    q->arg = arg;
    q->next = d->queries; /* linked first: a callback may come before kad returns */
    d->queries = q;
    int rc = provide ? kad_provide(d->kad, clock_wall_ms(), key, klen, meta, mlen, query_done, q)
                     : kad_get_providers(d->kad, clock_wall_ms(), key, klen, max, query_done, q);
    if (rc < 0) {
        d->queries = q->next;
        free(q);
        *err = rc;
        return NULL;
    }
    node_dht_kick(d);
    return q;
}

node_dht_query_t *
node_dht_find_providers(node_dht_t *d, const uint8_t *key, size_t klen, size_t max,
                        node_dht_query_fn cb, void *arg, int *err)
{
    return query_start(d, key, klen, max, NULL, 0, false, cb, arg, err);
}

node_dht_query_t *
node_dht_provide(node_dht_t *d, const uint8_t *key, size_t klen, const uint8_t *meta,
                 size_t mlen, node_dht_query_fn cb, void *arg, int *err)
{
    return query_start(d, key, klen, 0, meta, mlen, true, cb, arg, err);
}

void
node_dht_query_cancel(node_dht_query_t *q)
{
    if (q)
        q->cb = NULL;
}

/* ---- metrics ---- */

#define DHT_GAUGE(fn, expr)                                                                        \
    static double fn(void *ctx)                                                                    \
    {                                                                                              \
        const node_dht_t *d = ctx;                                                                 \
        return (double)(expr);                                                                     \
    }
DHT_GAUGE(g_table, routing_size(kad_routing(d->kad)))
DHT_GAUGE(g_records, kad_store_record_count(kad_store(d->kad)))
DHT_GAUGE(g_providers, kad_store_provider_count(kad_store(d->kad)))
DHT_GAUGE(g_pending, kad_pending_count(d->kad))
DHT_GAUGE(g_active_lookups, kad_lookup_count(d->kad))
DHT_GAUGE(g_lookups, d->lookups)
DHT_GAUGE(g_lookups_failed, d->lookups_failed)
DHT_GAUGE(g_failed, d->req_failed)
DHT_GAUGE(g_refused, d->in_refused)
DHT_GAUGE(g_malformed, d->in_malformed)
DHT_GAUGE(g_rate_limited, d->rate_limited)
DHT_GAUGE(g_dials_skipped, d->dials_skipped)

static const char *const type_names[DHT_MSG_TYPES] = {
    "put_value", "get_value", "add_provider", "get_providers", "find_node", "ping", "other"};

static void
node_dht_metrics(node_dht_t *d)
{
    metrics_t *m = d->net->node->metrics;
    static const struct {
        const char *name, *help;
        metrics_gauge_cb fn;
    } gauges[] = {
        {"lester_dht_routing_peers", "peers in the DHT routing table", g_table},
        {"lester_dht_records", "DHT records held", g_records},
        {"lester_dht_provider_records", "DHT provider records held", g_providers},
        {"lester_dht_requests_pending", "outbound DHT requests waiting for a reply", g_pending},
        {"lester_dht_lookups_active", "DHT lookups running", g_active_lookups},
        {"lester_dht_lookups_total", "DHT lookups started", g_lookups},
        {"lester_dht_lookups_failed_total", "DHT lookups that found nothing", g_lookups_failed},
        {"lester_dht_requests_failed_total", "outbound DHT requests that failed", g_failed},
        {"lester_dht_requests_refused_total", "inbound DHT requests refused (validation)",
         g_refused},
        {"lester_dht_requests_malformed_total", "inbound DHT requests that did not parse",
         g_malformed},
        {"lester_dht_requests_rate_limited_total", "inbound DHT requests over the peer's rate",
         g_rate_limited},
        {"lester_dht_dials_skipped_total",
         "DHT requests not sent: a new connection would pass peers.max, or the peer is in dial backoff", g_dials_skipped},
    };
    for (size_t i = 0; i < LS_ARRAY_LEN(gauges); i++)
        metrics_gauge_fn(m, gauges[i].name, gauges[i].help, gauges[i].fn, d);
    metrics_describe(m, "lester_dht_requests_in_total", METRIC_COUNTER,
                     "DHT requests received, by message type");
    metrics_describe(m, "lester_dht_requests_out_total", METRIC_COUNTER,
                     "DHT requests sent, by message type");
}

static void
count_request(node_dht_t *d, bool in, unsigned type)
{
    char labels[48];
    (in ? d->req_in : d->req_out)[type]++;
    snprintf(labels, sizeof labels, "type=\"%s\"", type_names[type]);
    metrics_inc(d->net->node->metrics,
                in ? "lester_dht_requests_in_total" : "lester_dht_requests_out_total", labels);
}

