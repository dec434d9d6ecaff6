/* identify — the identify and identify-push services over the swarm
 * (libp2p/specs identify/README.md). */
#define LOG_MODULE "identify"
#include "net/identify/identify.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/log/log.h"
#include "lib/varint/varint.h"

struct identify_t {
    swarm_t *sw;
    char *agent;
    identify_env_t env;
    multiaddr_t **addrs;
    size_t n_addrs;
    struct event *ev_push; /* deferred push after a change */
};

/* One identify exchange being read: a varint length, then the message. */
typedef enum { READ_CONNECT, READ_PUSH, READ_REQUEST } read_kind_t;

typedef struct reader_t {
    identify_t *id;
    read_kind_t kind;
    buf_t in;
    bool done;
    peer_id_t peer;
    identify_fn cb; /* READ_REQUEST */
    void *ctx;
} reader_t;

/* ---- our message ---- */

static int
build_message(identify_t *id, const swarm_conn_t *c, buf_t *out)
{
    identify_info_t me = { 0 };
    buf_t key = BUF_INIT(256);
    const char *const *protos;
    pubkey_proto_encode(PEER_KEY_ED25519, swarm_local_key(id->sw)->pk, ED25519_PK_LEN, &key);
    me.protocol_version = (char *)IDENTIFY_PROTOCOL_VERSION;
    me.agent_version = id->agent;
    me.public_key = key.data;
    me.public_key_len = key.len;
    me.listen_addrs = id->addrs;
    me.n_listen_addrs = id->n_addrs;
    me.observed_addr = c ? (multiaddr_t *)swarm_conn_remote_addr(c) : NULL;
    me.n_protocols = swarm_protocols(id->sw, &protos);
    me.protocols = (char **)protos;
    buf_t msg = BUF_INIT(IDENTIFY_MAX_MESSAGE);
    int rc = identify_encode(&me, &msg);
    if (rc == 0 && (rc = varint_append(out, msg.len)) == 0)
        rc = buf_append(out, msg.data, msg.len);
    buf_free(&msg);
    buf_free(&key);
    return rc;
}

/* Write our message on `s` and half-close. A message is at most a few KiB, far
 * under the initial 256 KiB window, so one write takes it. */
static void
send_message(identify_t *id, swarm_stream_t *s)
{
    buf_t out = BUF_INIT(IDENTIFY_MAX_MESSAGE + 16);
    if (build_message(id, swarm_stream_conn(s), &out) < 0 ||
        swarm_stream_write(s, out.data, out.len) != (int)out.len) {
        log_warn("cannot send our identify message");
        swarm_stream_reset(s);
    } else {
        swarm_stream_close_write(s);
    }
    buf_free(&out);
}

/* ---- reading theirs ---- */

static void
conn_info_free(void *p)
{
    if (p) {
        identify_info_clear(p);
        free(p);
    }
}

const identify_info_t *
identify_conn_info(const swarm_conn_t *c)
{
    return swarm_conn_get_data(c, IDENTIFY_CONN_SLOT);
}

static void
deliver(reader_t *r, swarm_stream_t *s, identify_info_t *info)
{
    swarm_conn_t *c = swarm_stream_conn(s);
    identify_info_t *have = swarm_conn_get_data(c, IDENTIFY_CONN_SLOT);
    if (!have) {
        have = ls_calloc(1, sizeof *have);
        swarm_conn_set_data(c, IDENTIFY_CONN_SLOT, have);
    }
    if (r->kind == READ_PUSH) {
        identify_info_merge(have, info);
    } else {
        identify_info_clear(have);
        *have = *info;
        memset(info, 0, sizeof *info);
    }
    if (have->n_listen_addrs)
        swarm_add_addrs(r->id->sw, swarm_conn_peer(c),
                        (const multiaddr_t *const *)have->listen_addrs, have->n_listen_addrs);
    char who[PEER_ID_SHORT_LEN];
    peer_id_short(swarm_conn_peer(c), who);
    log_debug("%s is %s with %zu protocols%s", who,
              have->agent_version ? have->agent_version : "?", have->n_protocols,
              r->kind == READ_PUSH ? " (push)" : "");
    if (r->id->env.on_identified)
        r->id->env.on_identified(r->id->env.ctx, c, have, r->kind == READ_PUSH);
    if (r->kind == READ_REQUEST && r->cb) {
        r->cb(r->ctx, &r->peer, have, 0);
        r->cb = NULL;
    }
}

/* Parse once the whole message is in; 0 when done, LS_EAGAIN for more, or error. */
static int
try_parse(reader_t *r, swarm_stream_t *s)
{
    uint64_t mlen;
    int n = varint_decode(r->in.data, r->in.len, &mlen);
    if (n < 0)
        return n;
    if (mlen > IDENTIFY_MAX_MESSAGE)
        return LS_ETOOBIG;
    if (r->in.len - (size_t)n < mlen)
        return LS_EAGAIN;
    identify_info_t info;
    int rc = identify_decode(r->in.data + n, (size_t)mlen, &info);
    if (rc < 0)
        return rc;
    r->done = true;
    deliver(r, s, &info);
    identify_info_clear(&info);
    return 0;
}

static size_t
reader_data(void *ud, swarm_stream_t *s, const uint8_t *p, size_t len)
{
    reader_t *r = ud;
    if (r->done)
        return len; /* trailing bytes: ignored */
    if (buf_append(&r->in, p, len) < 0) {
        swarm_stream_report_oversize(s);
        swarm_stream_reset(s);
        return len;
    }
    int rc = try_parse(r, s);
    if (rc < 0 && rc != LS_EAGAIN) {
        if (rc == LS_ETOOBIG)
            swarm_stream_report_oversize(s);
        log_info("bad identify message: %s", ls_strerror(rc));
        swarm_stream_reset(s);
    }
    return len;
}

static void
reader_eof(void *ud, swarm_stream_t *s)
{
    reader_t *r = ud;
    if (!r->done && r->kind == READ_PUSH && r->in.len == 0) {
        swarm_stream_close_write(s); /* empty push: nothing to do */
        return;
    }
    if (!r->done)
        swarm_stream_reset(s); /* EOF inside the message */
    else
        swarm_stream_close_write(s);
}

static void
reader_close(void *ud, swarm_stream_t *s, int reason)
{
    reader_t *r = ud;
    (void)s;
    if (r->cb)
        r->cb(r->ctx, &r->peer, NULL, reason ? reason : LS_EPROTO);
    buf_free(&r->in);
    free(r);
}

static const swarm_stream_cbs_t reader_cbs = {
    .on_data = reader_data, .on_eof = reader_eof, .on_close = reader_close
};

static reader_t *
reader_new(identify_t *id, read_kind_t kind)
{
    reader_t *r = ls_calloc(1, sizeof *r);
    r->id = id;
    r->kind = kind;
    buf_init(&r->in, IDENTIFY_MAX_MESSAGE + VARINT_MAX_LEN);
    return r;
}

/* ---- handlers and connection events ---- */

static void
handle_identify(void *ctx, swarm_stream_t *s, const char *protocol)
{
    (void)protocol;
    static const swarm_stream_cbs_t none = { 0 };
    swarm_stream_set_cbs(s, &none, NULL);
    send_message(ctx, s);
}

static void
handle_push(void *ctx, swarm_stream_t *s, const char *protocol)
{
    (void)protocol;
    swarm_stream_set_cbs(s, &reader_cbs, reader_new(ctx, READ_PUSH));
}

static void
opened_identify(void *ctx, swarm_stream_t *s, int err, const char *protocol)
{
    reader_t *r = ctx;
    (void)protocol;
    if (!s) {
        if (r->cb)
            r->cb(r->ctx, &r->peer, NULL, err);
        buf_free(&r->in);
        free(r);
        return;
    }
    swarm_stream_set_cbs(s, &reader_cbs, r);
    swarm_stream_close_write(s); /* we only read */
}

static void
on_connected(void *ctx, swarm_conn_t *c)
{
    identify_t *id = ctx;
    static const char *const protos[] = { IDENTIFY_PROTOCOL_ID };
    reader_t *r = reader_new(id, READ_CONNECT);
    r->peer = *swarm_conn_peer(c);
    if (swarm_conn_open_stream(c, protos, 1, opened_identify, r) < 0) {
        buf_free(&r->in);
        free(r);
    }
}

static void
on_disconnected(void *ctx, swarm_conn_t *c, int reason)
{
    (void)ctx;
    (void)reason;
    conn_info_free(swarm_conn_get_data(c, IDENTIFY_CONN_SLOT));
    swarm_conn_set_data(c, IDENTIFY_CONN_SLOT, NULL);
}

int
identify_request(identify_t *id, const peer_id_t *peer, identify_fn cb, void *ctx)
{
    static const char *const protos[] = { IDENTIFY_PROTOCOL_ID };
    reader_t *r = reader_new(id, READ_REQUEST);
    r->peer = *peer;
    r->cb = cb;
    r->ctx = ctx;
    int rc = swarm_open_stream(id->sw, peer, protos, 1, opened_identify, r);
    if (rc < 0) {
        buf_free(&r->in);
        free(r);
    }
    return rc;
}

/* ---- push ---- */

static void
opened_push(void *ctx, swarm_stream_t *s, int err, const char *protocol)
{
    (void)protocol;
    (void)err;
    if (!s)
        return; /* the peer does not take pushes */
    static const swarm_stream_cbs_t none = { 0 };
    swarm_stream_set_cbs(s, &none, NULL);
    send_message(ctx, s);
}

void
identify_push_all(identify_t *id)
{
    static const char *const protos[] = { IDENTIFY_PUSH_PROTOCOL_ID };
    swarm_conn_t *conns[1024];
    size_t n = LS_MIN(swarm_conns(id->sw, conns, LS_ARRAY_LEN(conns)), LS_ARRAY_LEN(conns));
    for (size_t i = 0; i < n; i++) {
        const identify_info_t *info = identify_conn_info(conns[i]);
        bool takes = false; /* push only to peers that said they take it */
        for (size_t k = 0; info && k < info->n_protocols; k++)
            takes |= strcmp(info->protocols[k], IDENTIFY_PUSH_PROTOCOL_ID) == 0;
        if (takes)
            swarm_conn_open_stream(conns[i], protos, 1, opened_push, id);
    }
}

static void
on_push_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    identify_push_all(arg);
}

static void
schedule_push(void *ctx)
{
    identify_t *id = ctx;
    struct timeval tv = { 0, 100000 }; /* coalesce a burst of changes */
    event_add(id->ev_push, &tv);
}

void
identify_set_addrs(identify_t *id, const multiaddr_t *const *addrs, size_t n)
{
    bool same = n == id->n_addrs;
    for (size_t i = 0; same && i < n; i++)
        same = multiaddr_equal(addrs[i], id->addrs[i]);
    if (same)
        return;
    for (size_t i = 0; i < id->n_addrs; i++)
        multiaddr_free(id->addrs[i]);
    n = LS_MIN(n, (size_t)IDENTIFY_MAX_ADDRS);
    id->addrs = ls_realloc(id->addrs, (n + 1) * sizeof *id->addrs);
    for (size_t i = 0; i < n; i++)
        id->addrs[i] = multiaddr_dup(addrs[i]);
    id->n_addrs = n;
    schedule_push(id);
}

identify_t *
identify_new(swarm_t *sw, const char *agent_version, const identify_env_t *env)
{
    identify_t *id = ls_calloc(1, sizeof *id);
    id->sw = sw;
    id->agent = ls_strdup(agent_version);
    if (env)
        id->env = *env;
    id->ev_push = evtimer_new(swarm_base(sw), on_push_timer, id);
    swarm_handle(sw, IDENTIFY_PROTOCOL_ID, handle_identify, id, 8);
    swarm_handle(sw, IDENTIFY_PUSH_PROTOCOL_ID, handle_push, id, 8);
    swarm_events_t ev = { id, on_connected, on_disconnected };
    swarm_add_events(sw, &ev);
    swarm_on_protocols_changed(sw, schedule_push, id);
    return id;
}

void
identify_free_(identify_t *id)
{
    if (!id)
        return;
    for (size_t i = 0; i < id->n_addrs; i++)
        multiaddr_free(id->addrs[i]);
    free(id->addrs);
    if (id->ev_push)
        event_free(id->ev_push);
    free(id->agent);
    free(id);
}
