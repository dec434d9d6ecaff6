/* peerex — the `/lester/peers/1.0.0` service and client (peerex.h). */
#define LOG_MODULE "peerex"
#include "net/peerex/peerex.h"

#include <stdlib.h>
#include <string.h>

#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "lib/varint/varint.h"

struct peerex_t {
    swarm_t *sw;
    peerstore_t *ps;
    peerex_stats_t stats;
};

/* ---- serving ---- */

/* The best PEEREX_MAX_PEERS peers to share: connected first, then seen most
 * recently; kept sorted, best first. */
typedef struct pick_t {
    const peer_id_t *skip[2]; /* the requester and ourselves */
    peer_id_t id[PEEREX_MAX_PEERS];
    bool active[PEEREX_MAX_PEERS];
    uint64_t seen[PEEREX_MAX_PEERS];
    size_t n;
} pick_t;

static bool
ranks_before(bool a_active, uint64_t a_seen, bool b_active, uint64_t b_seen)
{
    return a_active != b_active ? a_active : a_seen > b_seen;
}

static bool
visit(void *ctx, const peer_view_t *v)
{
    pick_t *pk = ctx;
    bool active = v->state == PEER_STATE_ACTIVE;
    if (v->n_addrs == 0 || peer_id_equal(v->id, pk->skip[0]) || peer_id_equal(v->id, pk->skip[1]))
        return true;
    if (pk->n == PEEREX_MAX_PEERS &&
        !ranks_before(active, v->last_seen, pk->active[pk->n - 1], pk->seen[pk->n - 1]))
        return true;
    size_t pos = pk->n < PEEREX_MAX_PEERS ? pk->n++ : pk->n - 1;
    while (pos > 0 && ranks_before(active, v->last_seen, pk->active[pos - 1], pk->seen[pos - 1])) {
        pk->id[pos] = pk->id[pos - 1];
        pk->active[pos] = pk->active[pos - 1];
        pk->seen[pos] = pk->seen[pos - 1];
        pos--;
    }
    pk->id[pos] = *v->id;
    pk->active[pos] = active;
    pk->seen[pos] = v->last_seen;
    return true;
}

/* Our answer for `requester`: varint length and protobuf, appended to `out`. */
static int
build_answer(peerex_t *px, const peer_id_t *requester, buf_t *out)
{
    pick_t pk = {.skip = {requester, swarm_local_peer(px->sw)}};
    peerstore_foreach(px->ps, visit, &pk);
    peerex_entry_t *e = ls_calloc(pk.n + 1, sizeof *e);
    size_t n = 0;
    for (size_t i = 0; i < pk.n; i++) {
        peer_view_t v;
        if (!peerstore_get(px->ps, &pk.id[i], &v))
            continue;
        e[n].id = pk.id[i];
        for (size_t k = 0; k < v.n_addrs && e[n].n_addrs < PEEREX_MAX_ADDRS; k++) {
            size_t len;
            multiaddr_bytes(v.addrs[k], &len);
            if (len <= PEEREX_MAX_ADDR_LEN) /* borrowed: not freed below */
                e[n].addrs[e[n].n_addrs++] = (multiaddr_t *)v.addrs[k];
        }
        n++;
    }
    buf_t msg = BUF_INIT(PEEREX_MAX_MESSAGE);
    int rc = peerex_encode(e, n, &msg);
    if (rc == 0 && (rc = varint_append(out, msg.len)) == 0)
        rc = buf_append(out, msg.data, msg.len);
    buf_free(&msg);
    free(e);
    return rc;
}

static size_t
ignore_data(void *ud, swarm_stream_t *s, const uint8_t *p, size_t len)
{
    (void)ud;
    (void)s;
    (void)p;
    return len; /* a request carries nothing; whatever comes is dropped */
}

static void
handle_request(void *ctx, swarm_stream_t *s, const char *protocol)
{
    static const swarm_stream_cbs_t cbs = {.on_data = ignore_data};
    peerex_t *px = ctx;
    (void)protocol;
    swarm_stream_set_cbs(s, &cbs, NULL);
    buf_t out = BUF_INIT(PEEREX_MAX_MESSAGE + VARINT_MAX_LEN);
    /* at most 32 KiB, under the initial 256 KiB window: one write takes it */
    if (build_answer(px, swarm_conn_peer(swarm_stream_conn(s)), &out) < 0 ||
        swarm_stream_write(s, out.data, out.len) != (int)out.len) {
        log_warn("cannot send a peer list");
        swarm_stream_reset(s);
    } else {
        px->stats.served++;
        swarm_stream_close_write(s);
    }
    buf_free(&out);
}

/* ---- requesting ---- */

typedef struct request_t {
    peerex_t *px;
    peer_id_t peer;
    buf_t in;
    bool done;
} request_t;

static void
request_free(request_t *r)
{
    buf_free(&r->in);
    free(r);
}

/* Add what `r->peer` told us to the peer store. */
static void
learn(request_t *r, const peerex_entry_t *e, size_t n)
{
    peerex_t *px = r->px;
    uint64_t now = clock_wall_ms();
    size_t fresh = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].n_addrs == 0 || peer_id_equal(&e[i].id, swarm_local_peer(px->sw)) ||
            peer_id_equal(&e[i].id, &r->peer))
            continue;
        bool known = peerstore_has(px->ps, &e[i].id);
        if (peerstore_add_addrs(px->ps, &e[i].id, (const multiaddr_t *const *)e[i].addrs,
                                e[i].n_addrs, now) >= 0 &&
            !known)
            fresh++;
    }
    px->stats.learned += fresh;
    char who[PEER_ID_SHORT_LEN];
    peer_id_short(&r->peer, who);
    log_debug("%s shared %zu peers, %zu new", who, n, fresh);
}

/* Parse once the whole answer is in: 0 when done, LS_EAGAIN for more, or an error. */
static int
try_parse(request_t *r)
{
    uint64_t mlen;
    int n = varint_decode(r->in.data, r->in.len, &mlen);
    if (n < 0)
        return n;
    if (mlen > PEEREX_MAX_MESSAGE)
        return LS_ETOOBIG;
    if (r->in.len - (size_t)n < mlen)
        return LS_EAGAIN;
    peerex_entry_t *e;
    size_t count;
    int rc = peerex_decode(r->in.data + n, (size_t)mlen, &e, &count);
    if (rc < 0)
        return rc;
    r->done = true;
    r->px->stats.answers++;
    learn(r, e, count);
    peerex_entries_free(e, count);
    return 0;
}

static size_t
answer_data(void *ud, swarm_stream_t *s, const uint8_t *p, size_t len)
{
    request_t *r = ud;
    if (r->done)
        return len;
    int rc = buf_append(&r->in, p, len) < 0 ? LS_ETOOBIG : try_parse(r);
    if (rc < 0 && rc != LS_EAGAIN) {
        if (rc == LS_ETOOBIG)
            swarm_stream_report_oversize(s);
        log_info("bad peer list: %s", ls_strerror(rc));
        swarm_stream_reset(s);
    }
    return len;
}

static void
answer_eof(void *ud, swarm_stream_t *s)
{
    request_t *r = ud;
    if (!r->done)
        swarm_stream_reset(s); /* EOF inside the message */
}

static void
answer_close(void *ud, swarm_stream_t *s, int reason)
{
    request_t *r = ud;
    (void)s;
    (void)reason;
    if (!r->done)
        r->px->stats.failed++;
    request_free(r);
}

static void
opened(void *ctx, swarm_stream_t *s, int err, const char *protocol)
{
    static const swarm_stream_cbs_t cbs = {
        .on_data = answer_data, .on_eof = answer_eof, .on_close = answer_close};
    request_t *r = ctx;
    (void)protocol;
    if (!s) {
        char who[PEER_ID_SHORT_LEN];
        peer_id_short(&r->peer, who);
        log_debug("no peer list from %s: %s", who, ls_strerror(err));
        r->px->stats.failed++;
        request_free(r);
        return;
    }
    swarm_stream_set_cbs(s, &cbs, r);
    swarm_stream_close_write(s); /* the request is the stream itself */
}

int
peerex_request(peerex_t *px, const peer_id_t *peer)
{
    static const char *const protos[] = {PEEREX_PROTOCOL_ID};
    request_t *r = ls_calloc(1, sizeof *r);
    r->px = px;
    r->peer = *peer;
    buf_init(&r->in, PEEREX_MAX_MESSAGE + VARINT_MAX_LEN);
    int rc = swarm_open_stream(px->sw, peer, protos, 1, opened, r);
    if (rc < 0) {
        request_free(r);
        return rc;
    }
    px->stats.requests++;
    return 0;
}

/* ---- lifecycle ---- */

peerex_t *
peerex_new(swarm_t *sw, peerstore_t *ps)
{
    peerex_t *px = ls_calloc(1, sizeof *px);
    px->sw = sw;
    px->ps = ps;
    swarm_handle(sw, PEEREX_PROTOCOL_ID, handle_request, px, 2);
    return px;
}

void
peerex_free_(peerex_t *px)
{
    free(px);
}

void
peerex_stats(const peerex_t *px, peerex_stats_t *out)
{
    *out = px->stats;
}
