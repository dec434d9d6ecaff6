/* node_trust — seed 001's trust manager in the node, trust_events, and
 * /lester/trust/1.0.0 (node_pubsub.h). Trust runs on wall-clock ms: trust_events rows
 * carry unix ms, as the peers table does. */
#define LOG_MODULE "trust"
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "lib/varint/varint.h"
#include "node/daemon/node_net.h"
#include "node/daemon/node_pubsub.h"
#include "pubsub/trust/trust_msg.h"

/* Rows buffered before a write is forced; otherwise written every tick. */
#define EVENTS_BATCH 512
/* Peers asked per exchange round (how often: trust.exchange_interval_ms). */
#define EXCHANGE_PEERS 3
#define EXCHANGE_MS 30000
#define TICK_MS 1000
#define MAX_DOOMED 64

typedef struct trust_row_t {
    char *peer;
    const char *event;
    double delta;
    uint64_t ts;
} trust_row_t;

typedef struct node_trust_t {
    node_net_t *net;
    trust_row_t *rows;
    size_t n_rows, cap_rows;
    peer_id_t doomed[MAX_DOOMED]; /* below threshold: disconnect from the loop */
    size_t n_doomed;
    struct event *ev_tick, *ev_doom;
    uint64_t next_exchange, exchange_ms;
    uint64_t request_id;
} node_trust_t;

/* ---- trust manager environment ---- */

static void
on_change(void *ctx, const trust_change_t *c)
{
    node_trust_t *t = ctx;
    peerstore_set_trust(t->net->peers, c->peer, c->trust_after);
    if (t->n_rows == t->cap_rows) {
        t->cap_rows = t->cap_rows ? 2 * t->cap_rows : 64;
        t->rows = ls_realloc(t->rows, t->cap_rows * sizeof *t->rows);
    }
    t->rows[t->n_rows++] =
        (trust_row_t){peer_id_to_str(c->peer), c->event_type, c->trust_delta, c->timestamp_ms};
    if (t->n_rows >= EVENTS_BATCH)
        event_active(t->ev_doom, EV_TIMEOUT, 0);
}

static void
on_below(void *ctx, const peer_id_t *peer, double trust)
{
    node_trust_t *t = ctx;
    char *s = peer_id_to_str(peer);
    log_info("peer %s fell to trust %.3f: disconnecting", s, trust);
    free(s);
    if (t->n_doomed < MAX_DOOMED)
        t->doomed[t->n_doomed++] = *peer;
    event_active(t->ev_doom, EV_TIMEOUT, 0);
}

static bool
lookup(void *ctx, const peer_id_t *peer, double *trust)
{
    node_trust_t *t = ctx;
    if (!peerstore_has(t->net->peers, peer))
        return false;
    *trust = peerstore_trust(t->net->peers, peer);
    return true;
}

static uint64_t
now_wall(void *ctx)
{
    (void)ctx;
    return clock_wall_ms();
}

void
node_trust_flush(node_net_t *net)
{
    node_trust_t *t = net->trust_glue;
    if (!t || t->n_rows == 0)
        return;
    db_t *db = net->node->db;
    sqlite3_stmt *st = db_stmt(db, "INSERT INTO trust_events(node_id, event_type, trust_delta, "
                                   "timestamp) VALUES (?, ?, ?, ?)");
    bool tx = db_begin(db) == 0;
    for (size_t i = 0; st && i < t->n_rows; i++) {
        sqlite3_bind_text(st, 1, t->rows[i].peer, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, t->rows[i].event, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 3, t->rows[i].delta);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)t->rows[i].ts);
        db_check(db, sqlite3_step(st), "trust_events insert");
        sqlite3_reset(st);
    }
    if (tx && db_commit(db) < 0)
        db_rollback(db);
    for (size_t i = 0; i < t->n_rows; i++)
        free(t->rows[i].peer);
    t->n_rows = 0;
}

/* Disconnect peers that fell below the threshold (outside the manager's callbacks). */
static void
on_doom(evutil_socket_t fd, short what, void *arg)
{
    node_trust_t *t = arg;
    (void)fd;
    (void)what;
    for (size_t i = 0; i < t->n_doomed; i++)
        node_peers_disconnect(t->net, &t->doomed[i], "trust below threshold");
    t->n_doomed = 0;
    node_trust_flush(t->net);
}

/* ---- /lester/trust/1.0.0 ---- */

typedef struct trust_stream_t {
    node_trust_t *t;
    peer_id_t remote;
    buf_t in;
    bool outbound; /* we asked: the frame is a response */
    uint64_t request_id;
} trust_stream_t;

static void
apply_response(node_trust_t *t, const trust_msg_t *m)
{
    uint64_t now = clock_wall_ms();
    for (size_t i = 0; i < m->n_peers; i++)
        trust_recommend(t->net->trust_mgr, now, &m->signer, &m->peers[i].peer,
                        trust_msg_from_ppm(m->peers[i].trust_ppm), NULL);
}

static int
answer_request(node_trust_t *t, swarm_stream_t *s, const trust_msg_t *req)
{
    trust_entry_t top[TRUST_MSG_MAX_PEERS];
    trust_msg_t *m = ls_calloc(1, sizeof *m);
    m->type = TRUST_MSG_PEERS_RESPONSE;
    m->ts_ms = clock_wall_ms();
    m->ttl_ms = 60000;
    m->request_id = req->request_id;
    size_t n = trust_top(t->net->trust_mgr, trust_msg_from_ppm(req->min_ppm), top,
                         LS_MIN(req->limit, TRUST_MSG_MAX_PEERS));
    for (size_t i = 0; i < n; i++) {
        if (peer_id_equal(&top[i].peer, &req->signer))
            continue; /* telling a peer its own trust is no recommendation */
        m->peers[m->n_peers].peer = top[i].peer;
        m->peers[m->n_peers++].trust_ppm = trust_msg_to_ppm(top[i].trust);
    }
    buf_t out = BUF_INIT(TRUST_MSG_MAX_LEN + VARINT_MAX_LEN), body = BUF_INIT(TRUST_MSG_MAX_LEN);
    int rc = trust_msg_encode(m, &t->net->node->key, &body);
    if (rc == 0 && (rc = varint_append(&out, body.len)) == 0)
        rc = buf_append(&out, body.data, body.len);
    if (rc == 0 && swarm_stream_write(s, out.data, out.len) != (int)out.len)
        rc = LS_ECLOSED;
    buf_free(&out);
    buf_free(&body);
    free(m);
    return rc;
}

/* One frame arrived on `s`: check it and act. false: the peer misbehaved. */
static bool
handle_frame(trust_stream_t *ts, swarm_stream_t *s, const uint8_t *p, size_t len)
{
    node_trust_t *t = ts->t;
    trust_msg_t *m = ls_malloc(sizeof *m);
    int rc = trust_msg_decode(p, len, clock_wall_ms(), m);
    bool ok = true;
    if (rc == LS_EEXPIRED) {
        ok = true; /* stale, not malicious: dropped */
    } else if (rc < 0 || !peer_id_equal(&m->signer, &ts->remote)) {
        ok = false; /* the signer must be the stream's remote peer */
    } else if (m->type == TRUST_MSG_UPDATE && !ts->outbound) {
        trust_recommend(t->net->trust_mgr, clock_wall_ms(), &m->signer, &m->update.peer,
                        trust_msg_from_ppm(m->update.trust_ppm), NULL);
    } else if (m->type == TRUST_MSG_PEERS_REQUEST && !ts->outbound) {
        answer_request(t, s, m); /* a failed write only loses the answer */
    } else if (m->type == TRUST_MSG_PEERS_RESPONSE && ts->outbound &&
               m->request_id == ts->request_id) {
        apply_response(t, m);
    } else {
        ok = false;
    }
    free(m);
    return ok;
}

static size_t
trust_data(void *ud, swarm_stream_t *s, const uint8_t *p, size_t len)
{
    trust_stream_t *ts = ud;
    uint64_t flen;
    if (buf_append(&ts->in, p, len) < 0)
        goto bad;
    int n = varint_decode(ts->in.data, ts->in.len, &flen);
    if (n == LS_EAGAIN)
        return len;
    if (n < 0 || flen > TRUST_MSG_MAX_LEN)
        goto bad;
    if (ts->in.len < (size_t)n + flen)
        return len;
    if (!handle_frame(ts, s, ts->in.data + n, (size_t)flen))
        goto bad;
    buf_clear(&ts->in);
    swarm_stream_close_write(s); /* one message each way per stream */
    return len;
bad:
    trust_report(ts->t->net->trust_mgr, clock_wall_ms(), &ts->remote, TRUST_INVALID_MESSAGE);
    swarm_stream_reset(s);
    return len;
}

static void
trust_eof(void *ud, swarm_stream_t *s)
{
    (void)ud;
    swarm_stream_close_write(s);
}

static void
trust_close(void *ud, swarm_stream_t *s, int reason)
{
    trust_stream_t *ts = ud;
    (void)s;
    (void)reason;
    buf_free(&ts->in);
    free(ts);
}

static const swarm_stream_cbs_t trust_cbs = {
    .on_data = trust_data, .on_eof = trust_eof, .on_close = trust_close};

static trust_stream_t *
stream_new(node_trust_t *t, swarm_stream_t *s, bool outbound)
{
    trust_stream_t *ts = ls_calloc(1, sizeof *ts);
    ts->t = t;
    ts->remote = *swarm_conn_peer(swarm_stream_conn(s));
    ts->outbound = outbound;
    buf_init(&ts->in, TRUST_MSG_MAX_LEN + VARINT_MAX_LEN);
    swarm_stream_set_cbs(s, &trust_cbs, ts);
    return ts;
}

static void
handle_trust(void *ctx, swarm_stream_t *s, const char *protocol)
{
    (void)protocol;
    stream_new(ctx, s, false);
}

static void
request_opened(void *ctx, swarm_stream_t *s, int err, const char *protocol)
{
    node_trust_t *t = ctx;
    (void)protocol;
    if (!s || err < 0)
        return;
    trust_stream_t *ts = stream_new(t, s, true);
    trust_msg_t *m = ls_calloc(1, sizeof *m);
    m->type = TRUST_MSG_PEERS_REQUEST;
    m->ts_ms = clock_wall_ms();
    m->ttl_ms = 60000;
    m->request_id = ts->request_id = ++t->request_id;
    m->limit = 16;
    m->min_ppm = trust_msg_to_ppm(trust_config(t->net->trust_mgr)->recommender_min);
    buf_t out = BUF_INIT(TRUST_MSG_MAX_LEN + VARINT_MAX_LEN), body = BUF_INIT(TRUST_MSG_MAX_LEN);
    if (trust_msg_encode(m, &t->net->node->key, &body) == 0 &&
        varint_append(&out, body.len) == 0 && buf_append(&out, body.data, body.len) == 0)
        swarm_stream_write(s, out.data, out.len);
    else
        swarm_stream_reset(s);
    buf_free(&out);
    buf_free(&body);
    free(m);
}

/* Ask the few most trusted connected peers that serve the protocol whom they trust. */
static void
exchange(node_trust_t *t)
{
    node_net_t *net = t->net;
    peer_id_t active[256];
    size_t n = connmgr_active_peers(net->connmgr, active, LS_ARRAY_LEN(active));
    double min = trust_config(net->trust_mgr)->recommender_min;
    static const char *const protos[] = {TRUST_PROTOCOL_ID};
    size_t asked = 0;
    for (size_t i = 0; i < n && asked < EXCHANGE_PEERS; i++) {
        if (trust_get(net->trust_mgr, &active[i]) < min ||
            !peerstore_has_protocol(net->peers, &active[i], TRUST_PROTOCOL_ID))
            continue;
        if (swarm_open_stream(net->swarm, &active[i], protos, 1, request_opened, t) == 0)
            asked++;
    }
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    node_trust_t *t = arg;
    (void)fd;
    (void)what;
    uint64_t now = clock_wall_ms();
    trust_tick(t->net->trust_mgr, now);
    if (now >= t->next_exchange) {
        t->next_exchange = now + t->exchange_ms;
        exchange(t);
    }
    node_trust_flush(t->net);
    struct timeval tv = {TICK_MS / 1000, (TICK_MS % 1000) * 1000};
    evtimer_add(t->ev_tick, &tv);
}

/* ---- lifecycle ---- */

/* Trust from earlier runs lives in the peer store; the manager holds only peers it
 * has seen events of. Hold the ones that differ from the initial trust again, so
 * that they are recommended (trust_top) and listed from the start. */
static bool
restore_one(void *ctx, const peer_view_t *v)
{
    node_trust_t *t = ctx;
    trust_t *mgr = t->net->trust_mgr;
    if (trust_count(mgr) >= trust_config(mgr)->max_peers)
        return false;
    if (v->trust != trust_config(mgr)->initial)
        trust_set(mgr, clock_wall_ms(), v->id, v->trust);
    return true;
}

int
node_trust_init(node_net_t *net, buf_t *err)
{
    trust_config_t cfg;
    int rc = trust_config_from(&cfg, net->node->cfg, err);
    if (rc < 0)
        return rc;
    node_trust_t *t = ls_calloc(1, sizeof *t);
    t->net = net;
    net->trust_glue = t;
    t->exchange_ms = config_has_key(net->node->cfg, "trust.exchange_interval_ms")
                         ? (uint64_t)config_get_int(net->node->cfg, "trust.exchange_interval_ms")
                         : EXCHANGE_MS;
    trust_env_t env = {
        .ctx = t, .on_change = on_change, .on_below_threshold = on_below, .lookup = lookup,
        .now_ms = now_wall};
    net->trust_mgr = trust_new(&cfg, &env, &net->node->id, clock_wall_ms());
    peerstore_foreach(net->peers, restore_one, t);
    t->ev_doom = event_new(net->node->base, -1, 0, on_doom, t);
    t->ev_tick = evtimer_new(net->node->base, on_tick, t);
    return 0;
}

void
node_trust_start(node_net_t *net)
{
    node_trust_t *t = net->trust_glue;
    swarm_handle(net->swarm, TRUST_PROTOCOL_ID, handle_trust, t, 4);
    t->next_exchange = clock_wall_ms() + t->exchange_ms / 3;
    struct timeval tv = {TICK_MS / 1000, 0};
    evtimer_add(t->ev_tick, &tv);
}

void
node_trust_free(node_net_t *net)
{
    node_trust_t *t = net->trust_glue;
    if (!t)
        return;
    node_trust_flush(net);
    event_free(t->ev_tick);
    event_free(t->ev_doom);
    free(t->rows);
    trust_free(net->trust_mgr);
    free(t);
    net->trust_glue = NULL;
}
