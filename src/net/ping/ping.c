/* ping — `/ipfs/ping/1.0.0` server, client and connection keepalive (ping.h). */
#define LOG_MODULE "ping"
#include "net/ping/ping.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/clock/clock.h"
#include "lib/crypto/random.h"
#include "lib/err/err.h"
#include "lib/log/log.h"

struct ping_t {
    swarm_t *sw;
    ping_config_t cfg;
    struct event *ev_keepalive;
};

/* What keepalive keeps per connection. */
typedef struct conn_ping_t {
    int64_t rtt_us;
    uint32_t failures;
    bool in_flight;
} conn_ping_t;

void
ping_config_default(ping_config_t *cfg)
{
    *cfg = (ping_config_t){ .interval_ms = 15000, .timeout_ms = 10000, .max_failures = 3 };
}

/* ---- serving ---- */

typedef struct echo_t {
    uint8_t pending[4 * PING_SIZE];
    size_t n;
    bool eof;
} echo_t;

static void
server_flush(echo_t *e, swarm_stream_t *s)
{
    if (e->n) {
        int w = swarm_stream_write(s, e->pending, e->n);
        if (w < 0) {
            swarm_stream_reset(s);
            return;
        }
        memmove(e->pending, e->pending + w, e->n - (size_t)w);
        e->n -= (size_t)w;
    }
    if (!e->n && e->eof)
        swarm_stream_close_write(s);
}

static size_t
server_data(void *ud, swarm_stream_t *s, const uint8_t *p, size_t len)
{
    echo_t *e = ud;
    if (len > sizeof e->pending - e->n) { /* the pinger does not wait for its echoes */
        swarm_stream_report_oversize(s);
        swarm_stream_reset(s);
        return len;
    }
    memcpy(e->pending + e->n, p, len);
    e->n += len;
    server_flush(e, s);
    return len;
}

static void
server_writable(void *ud, swarm_stream_t *s)
{
    server_flush(ud, s);
}

static void
server_eof(void *ud, swarm_stream_t *s)
{
    echo_t *e = ud;
    e->eof = true;
    server_flush(e, s);
}

static void
server_close(void *ud, swarm_stream_t *s, int reason)
{
    (void)s;
    (void)reason;
    free(ud);
}

static void
handle_ping(void *ctx, swarm_stream_t *s, const char *protocol)
{
    static const swarm_stream_cbs_t cbs = { server_data, server_eof, server_writable,
                                            server_close };
    (void)ctx;
    (void)protocol;
    swarm_stream_set_cbs(s, &cbs, ls_calloc(1, sizeof(echo_t)));
}

/* ---- pinging ---- */

typedef struct pinger_t {
    ping_t *p;
    peer_id_t peer;
    ping_fn cb;
    void *ctx;
    swarm_conn_t *keepalive; /* set for keepalive pings */
    uint8_t sent[PING_SIZE], got[PING_SIZE];
    size_t n;
    uint64_t t0_us;
    struct event *timer;
    swarm_stream_t *s;
    bool finished, stream_done;
} pinger_t;

static void
pinger_maybe_free(pinger_t *pg)
{
    if (pg->finished && pg->stream_done) {
        event_free(pg->timer);
        free(pg);
    }
}

static void
keepalive_result(pinger_t *pg, int64_t rtt, int err)
{
    conn_ping_t *st = swarm_conn_get_data(pg->keepalive, PING_CONN_SLOT);
    if (!st)
        return;
    st->in_flight = false;
    if (!err) {
        st->rtt_us = rtt;
        st->failures = 0;
        return;
    }
    if (err == LS_ENOTSUP)
        return; /* a peer without ping: no keepalive, but no penalty either */
    if (++st->failures >= pg->p->cfg.max_failures)
        swarm_conn_close(pg->keepalive, LS_ETIMEDOUT, "keepalive pings failed");
}

static void
finish(pinger_t *pg, int64_t rtt, int err)
{
    if (pg->finished)
        return;
    pg->finished = true;
    evtimer_del(pg->timer);
    if (pg->s && !pg->stream_done) {
        if (err)
            swarm_stream_reset(pg->s);
        else
            swarm_stream_close_write(pg->s);
    }
    if (pg->keepalive) {
        keepalive_result(pg, rtt, err);
        return;
    }
    conn_ping_t *st = !err && pg->s ? swarm_conn_get_data(swarm_stream_conn(pg->s),
                                                          PING_CONN_SLOT) : NULL;
    if (st)
        st->rtt_us = rtt; /* any successful ping is the connection's latest round trip */
    pg->cb(pg->ctx, &pg->peer, err ? -1 : rtt, err);
}

static size_t
client_data(void *ud, swarm_stream_t *s, const uint8_t *p, size_t len)
{
    pinger_t *pg = ud;
    (void)s;
    if (pg->finished)
        return len;
    size_t take = LS_MIN(len, PING_SIZE - pg->n);
    memcpy(pg->got + pg->n, p, take);
    pg->n += take;
    if (pg->n == PING_SIZE) {
        int64_t rtt = (int64_t)(clock_mono_us() - pg->t0_us);
        bool ok = sodium_memcmp(pg->got, pg->sent, PING_SIZE) == 0;
        finish(pg, rtt, ok ? 0 : LS_EPROTO);
    }
    return len;
}

static void
client_eof(void *ud, swarm_stream_t *s)
{
    pinger_t *pg = ud;
    (void)s;
    finish(pg, -1, LS_EPROTO);
}

static void
client_close(void *ud, swarm_stream_t *s, int reason)
{
    pinger_t *pg = ud;
    (void)s;
    pg->stream_done = true;
    finish(pg, -1, reason ? reason : LS_ECLOSED);
    pinger_maybe_free(pg);
}

static void
opened(void *ctx, swarm_stream_t *s, int err, const char *protocol)
{
    static const swarm_stream_cbs_t cbs = { client_data, client_eof, NULL, client_close };
    pinger_t *pg = ctx;
    (void)protocol;
    if (!s || pg->finished) {
        if (s)
            swarm_stream_reset(s);
        pg->stream_done = true;
        finish(pg, -1, err ? err : LS_ECLOSED);
        pinger_maybe_free(pg);
        return;
    }
    pg->s = s;
    swarm_stream_set_cbs(s, &cbs, pg);
    random_bytes(pg->sent, PING_SIZE);
    pg->t0_us = clock_mono_us();
    if (swarm_stream_write(s, pg->sent, PING_SIZE) != PING_SIZE)
        finish(pg, -1, LS_ECLOSED);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    finish(arg, -1, LS_ETIMEDOUT);
}

static pinger_t *
pinger_new(ping_t *p, const peer_id_t *peer)
{
    pinger_t *pg = ls_calloc(1, sizeof *pg);
    pg->p = p;
    pg->peer = *peer;
    pg->timer = evtimer_new(swarm_base(p->sw), on_timeout, pg);
    struct timeval tv = { (time_t)(p->cfg.timeout_ms / 1000),
                          (suseconds_t)(p->cfg.timeout_ms % 1000) * 1000 };
    evtimer_add(pg->timer, &tv);
    return pg;
}

int
ping_peer(ping_t *p, const peer_id_t *peer, ping_fn cb, void *ctx)
{
    static const char *const protos[] = { PING_PROTOCOL_ID };
    pinger_t *pg = pinger_new(p, peer);
    pg->cb = cb;
    pg->ctx = ctx;
    int rc = swarm_open_stream(p->sw, peer, protos, 1, opened, pg);
    if (rc < 0) {
        event_free(pg->timer);
        free(pg);
    }
    return rc;
}

/* ---- keepalive ---- */

static void
keepalive_ping(ping_t *p, swarm_conn_t *c)
{
    static const char *const protos[] = { PING_PROTOCOL_ID };
    conn_ping_t *st = swarm_conn_get_data(c, PING_CONN_SLOT);
    if (!st || st->in_flight)
        return;
    pinger_t *pg = pinger_new(p, swarm_conn_peer(c));
    pg->keepalive = c;
    st->in_flight = true;
    if (swarm_conn_open_stream(c, protos, 1, opened, pg) < 0) {
        pg->stream_done = true;
        finish(pg, -1, LS_ELIMIT);
        pinger_maybe_free(pg);
    }
}

static void
on_keepalive(evutil_socket_t fd, short what, void *arg)
{
    ping_t *p = arg;
    swarm_conn_t *conns[1024];
    (void)fd;
    (void)what;
    size_t n = LS_MIN(swarm_conns(p->sw, conns, LS_ARRAY_LEN(conns)), LS_ARRAY_LEN(conns));
    for (size_t i = 0; i < n; i++)
        keepalive_ping(p, conns[i]);
}

static void
on_connected(void *ctx, swarm_conn_t *c)
{
    ping_t *p = ctx;
    conn_ping_t *st = ls_calloc(1, sizeof *st);
    st->rtt_us = -1;
    swarm_conn_set_data(c, PING_CONN_SLOT, st);
    if (p->cfg.interval_ms)
        keepalive_ping(p, c); /* a first round trip for `swarm peers` */
}

static void
on_disconnected(void *ctx, swarm_conn_t *c, int reason)
{
    (void)ctx;
    (void)reason;
    free(swarm_conn_get_data(c, PING_CONN_SLOT));
    swarm_conn_set_data(c, PING_CONN_SLOT, NULL);
}

int64_t
ping_conn_rtt_us(const swarm_conn_t *c)
{
    const conn_ping_t *st = swarm_conn_get_data(c, PING_CONN_SLOT);
    return st ? st->rtt_us : -1;
}

ping_t *
ping_new(swarm_t *sw, const ping_config_t *cfg)
{
    ping_t *p = ls_calloc(1, sizeof *p);
    p->sw = sw;
    if (cfg)
        p->cfg = *cfg;
    else
        ping_config_default(&p->cfg);
    swarm_handle(sw, PING_PROTOCOL_ID, handle_ping, p, 8);
    swarm_events_t ev = { p, on_connected, on_disconnected };
    swarm_add_events(sw, &ev);
    if (p->cfg.interval_ms) {
        p->ev_keepalive = event_new(swarm_base(sw), -1, EV_PERSIST, on_keepalive, p);
        struct timeval tv = { (time_t)(p->cfg.interval_ms / 1000),
                              (suseconds_t)(p->cfg.interval_ms % 1000) * 1000 };
        event_add(p->ev_keepalive, &tv);
    }
    return p;
}

void
ping_free_(ping_t *p)
{
    if (!p)
        return;
    if (p->ev_keepalive)
        event_free(p->ev_keepalive);
    free(p);
}
