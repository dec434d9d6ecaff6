/* diag — echo and bulk test protocols: servers and clients (diag.h). */
#define LOG_MODULE "diag"
#include "net/diag/diag.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf/buf.h"
#include "lib/clock/clock.h"
#include "lib/crypto/random.h"
#include "lib/err/err.h"
#include "lib/log/log.h"

/* ---- echo server ---- */

typedef struct echo_srv_t {
    buf_t pending; /* received, not yet written back; bounded by the stream window */
    size_t off;
    bool eof;
} echo_srv_t;

static void
echo_flush(echo_srv_t *e, swarm_stream_t *s)
{
    while (e->off < e->pending.len) {
        int w = swarm_stream_write(s, e->pending.data + e->off, e->pending.len - e->off);
        if (w < 0) {
            swarm_stream_reset(s);
            return;
        }
        if (w == 0)
            return;
        e->off += (size_t)w;
        swarm_stream_consume(s, (size_t)w);
    }
    buf_clear(&e->pending);
    e->off = 0;
    if (e->eof)
        swarm_stream_close_write(s);
}

static size_t
echo_data(void *ud, swarm_stream_t *s, const uint8_t *p, size_t len)
{
    echo_srv_t *e = ud;
    size_t w = 0;
    if (e->off == e->pending.len) { /* nothing queued: try straight through */
        int n = swarm_stream_write(s, p, len);
        if (n < 0) {
            swarm_stream_reset(s);
            return len;
        }
        w = (size_t)n;
    }
    if (w < len && buf_append(&e->pending, p + w, len - w) < 0) {
        swarm_stream_reset(s);
        return len;
    }
    return w;
}

static void
echo_writable(void *ud, swarm_stream_t *s)
{
    echo_flush(ud, s);
}

static void
echo_eof(void *ud, swarm_stream_t *s)
{
    echo_srv_t *e = ud;
    e->eof = true;
    echo_flush(e, s);
}

static void
echo_close(void *ud, swarm_stream_t *s, int reason)
{
    echo_srv_t *e = ud;
    (void)s;
    (void)reason;
    buf_free(&e->pending);
    free(e);
}

static void
handle_echo(void *ctx, swarm_stream_t *s, const char *protocol)
{
    static const swarm_stream_cbs_t cbs = { echo_data, echo_eof, echo_writable, echo_close };
    (void)ctx;
    (void)protocol;
    echo_srv_t *e = ls_calloc(1, sizeof *e);
    buf_init(&e->pending, 64u << 20);
    swarm_stream_set_cbs(s, &cbs, e);
}

/* ---- bulk server ---- */

static size_t
bulk_data(void *ud, swarm_stream_t *s, const uint8_t *p, size_t len)
{
    (void)ud;
    (void)s;
    (void)p;
    return len;
}

static void
bulk_eof(void *ud, swarm_stream_t *s)
{
    (void)ud;
    swarm_stream_close_write(s);
}

static void
handle_bulk(void *ctx, swarm_stream_t *s, const char *protocol)
{
    static const swarm_stream_cbs_t cbs = { bulk_data, bulk_eof, NULL, NULL };
    (void)ctx;
    (void)protocol;
    swarm_stream_set_cbs(s, &cbs, NULL);
}

void
diag_serve(swarm_t *sw, uint32_t max_streams)
{
    swarm_handle(sw, DIAG_ECHO_PROTOCOL_ID, handle_echo, NULL, max_streams);
    swarm_handle(sw, DIAG_BULK_PROTOCOL_ID, handle_bulk, NULL, max_streams);
}

/* ---- clients ---- */

typedef struct run_t {
    diag_fn cb;
    void *ctx;
    uint8_t *pattern;   /* what every echo stream sends */
    size_t bytes;       /* per stream (echo) */
    uint64_t total;     /* bulk */
    uint32_t streams, live;
    uint64_t t0_us;
    diag_result_t res;
} run_t;

typedef struct client_t {
    run_t *run;
    uint64_t sent, received;
    bool mismatch, ok;
} client_t;

static void
run_stream_done(run_t *r)
{
    if (--r->live)
        return;
    r->res.us = clock_mono_us() - r->t0_us;
    r->res.err = r->res.failed_streams ? (r->res.err ? r->res.err : LS_EIO) : 0;
    r->cb(r->ctx, &r->res);
    free(r->pattern);
    free(r);
}

static void
client_send(client_t *c, swarm_stream_t *s)
{
    run_t *r = c->run;
    uint64_t want = r->pattern ? r->bytes : r->total;
    while (c->sent < want) {
        size_t off = r->pattern ? (size_t)c->sent : (size_t)(c->sent % r->bytes);
        size_t n = (size_t)LS_MIN(want - c->sent, (uint64_t)(r->bytes - off));
        const uint8_t *src = r->pattern ? r->pattern + off : NULL;
        static const uint8_t zeros[256 * 1024];
        int w = swarm_stream_write(s, src ? src : zeros, src ? n : LS_MIN(n, sizeof zeros));
        if (w <= 0) {
            if (w < 0)
                swarm_stream_reset(s);
            return;
        }
        c->sent += (uint64_t)w;
    }
    swarm_stream_close_write(s);
}

static size_t
client_data(void *ud, swarm_stream_t *s, const uint8_t *p, size_t len)
{
    client_t *c = ud;
    run_t *r = c->run;
    (void)s;
    if (r->pattern && (c->received + len > r->bytes ||
                       memcmp(r->pattern + c->received, p, len) != 0))
        c->mismatch = true;
    c->received += len;
    return len;
}

static void
client_eof(void *ud, swarm_stream_t *s)
{
    client_t *c = ud;
    (void)s;
    c->ok = c->sent == (c->run->pattern ? c->run->bytes : c->run->total);
}

static void
client_close(void *ud, swarm_stream_t *s, int reason)
{
    client_t *c = ud;
    run_t *r = c->run;
    (void)s;
    bool ok = c->ok && !reason && !c->mismatch &&
              (!r->pattern || c->received == r->bytes);
    r->res.sent += c->sent;
    r->res.received += c->received;
    r->res.mismatched += c->mismatch || (r->pattern && c->received != r->bytes);
    if (ok)
        r->res.ok_streams++;
    else
        r->res.failed_streams++;
    if (reason && !r->res.err)
        r->res.err = reason;
    free(c);
    run_stream_done(r);
}

static void
client_writable(void *ud, swarm_stream_t *s)
{
    client_send(ud, s);
}

static void
client_opened(void *ctx, swarm_stream_t *s, int err, const char *protocol)
{
    static const swarm_stream_cbs_t cbs = { client_data, client_eof, client_writable,
                                            client_close };
    run_t *r = ctx;
    (void)protocol;
    if (!s) {
        r->res.failed_streams++;
        if (!r->res.err)
            r->res.err = err;
        run_stream_done(r);
        return;
    }
    client_t *c = ls_calloc(1, sizeof *c);
    c->run = r;
    swarm_stream_set_cbs(s, &cbs, c);
    client_send(c, s);
}

static int
start_run(swarm_t *sw, const peer_id_t *peer, run_t *r, const char *protocol)
{
    const char *protos[] = { protocol };
    r->t0_us = clock_mono_us();
    r->live = r->streams + 1; /* held until every open was attempted */
    for (uint32_t i = 0; i < r->streams; i++) {
        int rc = swarm_open_stream(sw, peer, protos, 1, client_opened, r);
        if (rc < 0) {
            r->res.failed_streams++;
            r->res.err = rc;
            r->live--;
        }
    }
    if (r->res.failed_streams == r->streams) {
        int rc = r->res.err;
        free(r->pattern);
        free(r);
        return rc;
    }
    run_stream_done(r);
    return 0;
}

int
diag_echo(swarm_t *sw, const peer_id_t *peer, uint32_t streams, size_t bytes, diag_fn cb,
          void *ctx)
{
    if (streams == 0 || bytes == 0)
        return LS_EINVAL;
    if (streams > DIAG_MAX_STREAMS || bytes > DIAG_MAX_ECHO_BYTES)
        return LS_ETOOBIG;
    run_t *r = ls_calloc(1, sizeof *r);
    r->cb = cb;
    r->ctx = ctx;
    r->streams = streams;
    r->bytes = bytes;
    r->pattern = ls_malloc(bytes);
    random_bytes(r->pattern, bytes);
    return start_run(sw, peer, r, DIAG_ECHO_PROTOCOL_ID);
}

int
diag_bulk(swarm_t *sw, const peer_id_t *peer, uint64_t bytes, diag_fn cb, void *ctx)
{
    if (bytes == 0)
        return LS_EINVAL;
    run_t *r = ls_calloc(1, sizeof *r);
    r->cb = cb;
    r->ctx = ctx;
    r->streams = 1;
    r->total = bytes;
    r->bytes = 256 * 1024;
    return start_run(sw, peer, r, DIAG_BULK_PROTOCOL_ID);
}
