/* routes_swarm — API of the libp2p host:
 *   GET  /api/v0/swarm/peers, /api/v0/swarm/known (routes_peers.c)
 *   POST /api/v0/swarm/connect    {addr}          dial a multiaddr
 *   POST /api/v0/swarm/disconnect {peer}          close every connection to a peer (not
 *                                                 redialled for a while)
 *   POST /api/v0/swarm/identify   {peer}          identify a peer now
 *   POST /api/v0/ping             {peer, count}   libp2p ping round trips
 *   POST /api/v0/diag/echo        {peer, streams, bytes}   echo test streams
 *   POST /api/v0/diag/bulk        {peer, bytes}   one bulk stream
 * `peer` is a peer ID, or a multiaddr ending in /p2p/<id> that is dialled first. */
#define LOG_MODULE "api"
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/err/err.h"
#include "net/diag/diag.h"
#include "node/daemon/node_net.h"

typedef enum { OP_CONNECT, OP_IDENTIFY, OP_PING, OP_ECHO, OP_BULK } op_kind_t;

typedef struct op_t {
    node_t *node;
    api_req_t *req;
    op_kind_t kind;
    peer_id_t peer;
    int64_t count, streams, bytes;
    json_t *rtts;
} op_t;

static void op_run(op_t *op);

static void
op_free(op_t *op)
{
    json_decref(op->rtts);
    free(op);
}

static void
op_fail(op_t *op, int err, const char *what)
{
    api_reply_errcode(op->req, err, what);
    json_decref(op->rtts);
    free(op);
}

static void
after_dial(void *ctx, swarm_conn_t *c, int err)
{
    op_t *op = ctx;
    if (!c) {
        op_fail(op, err, "dial");
        return;
    }
    op->peer = *swarm_conn_peer(c);
    if (op->kind == OP_CONNECT) {
        api_reply_json(op->req, 200, node_peer_json(op->node->net, c));
        op_free(op);
        return;
    }
    op_run(op);
}

/* ---- operations on a peer ---- */

static json_t *
strings_json(char *const *items, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(items[i]));
    return arr;
}

static void
identified(void *ctx, const peer_id_t *peer, const identify_info_t *info, int err)
{
    op_t *op = ctx;
    (void)peer;
    if (!info) {
        op_fail(op, err, "identify");
        return;
    }
    json_t *addrs = json_array();
    for (size_t i = 0; i < info->n_listen_addrs; i++) {
        char *s = multiaddr_to_str(info->listen_addrs[i]);
        json_array_append_new(addrs, json_string(s));
        free(s);
    }
    char *observed = info->observed_addr ? multiaddr_to_str(info->observed_addr) : NULL;
    /* room for any key type's PublicKey (an RSA one is ~300 bytes, up to ~1.1 KB) */
    char b64[sodium_base64_ENCODED_LEN(2048, sodium_base64_VARIANT_ORIGINAL)] = "";
    if (info->public_key && info->public_key_len <= 2048)
        sodium_bin2base64(b64, sizeof b64, info->public_key, info->public_key_len,
                          sodium_base64_VARIANT_ORIGINAL);
    char *id = peer_id_to_str(&op->peer);
    json_t *j = json_pack("{s:s,s:s?,s:s?,s:s,s:o,s:o,s:s?}", "peer", id, "agent_version",
                          info->agent_version, "protocol_version", info->protocol_version,
                          "public_key", b64, "protocols",
                          strings_json(info->protocols, info->n_protocols), "listen_addrs",
                          addrs, "observed_addr", observed);
    free(id);
    free(observed);
    api_reply_json(op->req, 200, j);
    op_free(op);
}

static void
pinged(void *ctx, const peer_id_t *peer, int64_t rtt_us, int err)
{
    op_t *op = ctx;
    (void)peer;
    if (err < 0) {
        op_fail(op, err, "ping");
        return;
    }
    json_array_append_new(op->rtts, json_real((double)rtt_us / 1000.0));
    if ((int64_t)json_array_size(op->rtts) < op->count) {
        op_run(op);
        return;
    }
    double sum = 0;
    size_t i;
    json_t *v;
    json_array_foreach(op->rtts, i, v) sum += json_real_value(v);
    char *id = peer_id_to_str(&op->peer);
    api_reply_json(op->req, 200, json_pack("{s:s,s:o,s:f}", "peer", id, "rtts_ms", op->rtts,
                                           "avg_ms", sum / (double)json_array_size(op->rtts)));
    free(id);
    op->rtts = NULL; /* the reply took it */
    free(op);
}

static void
diag_done(void *ctx, const diag_result_t *r)
{
    op_t *op = ctx;
    double s = (double)r->us / 1e6;
    double bytes = (double)(r->sent + r->received);
    json_t *j = json_pack("{s:b,s:i,s:i,s:i,s:I,s:I,s:f,s:f}", "ok", r->err == 0, "ok_streams",
                          (int)r->ok_streams, "failed_streams", (int)r->failed_streams,
                          "mismatched", (int)r->mismatched, "sent", (json_int_t)r->sent,
                          "received", (json_int_t)r->received, "ms", s * 1000.0, "mbps",
                          s > 0 ? bytes / s / 1e6 : 0.0);
    if (r->err)
        json_object_set_new(j, "error", json_string(ls_strerror(r->err)));
    api_reply_json(op->req, r->err ? 502 : 200, j);
    op_free(op);
}

static void
op_run(op_t *op)
{
    node_net_t *net = op->node->net;
    int rc;
    switch (op->kind) {
    case OP_IDENTIFY:
        rc = identify_request(net->identify, &op->peer, identified, op);
        break;
    case OP_PING:
        rc = ping_peer(net->ping, &op->peer, pinged, op);
        break;
    case OP_ECHO:
        rc = diag_echo(net->swarm, &op->peer, (uint32_t)op->streams, (size_t)op->bytes,
                       diag_done, op);
        break;
    case OP_BULK:
        rc = diag_bulk(net->swarm, &op->peer, (uint64_t)op->bytes, diag_done, op);
        break;
    default:
        rc = LS_EINVAL;
    }
    if (rc < 0)
        op_fail(op, rc, "request");
}

/* Parse {peer|addr} and start `kind`. */
static void
start_op(api_req_t *req, node_t *n, op_kind_t kind)
{
    json_t *body = api_req_json(req);
    if (!body)
        return;
    const char *target = json_string_value(json_object_get(body, "peer"));
    if (!target)
        target = json_string_value(json_object_get(body, "addr"));
    op_t *op = ls_calloc(1, sizeof *op);
    *op = (op_t){ .node = n, .req = req, .kind = kind, .count = 1, .streams = 1,
                  .bytes = 1 << 20 };
    json_t *v;
    if ((v = json_object_get(body, "count")) && json_is_integer(v))
        op->count = json_integer_value(v);
    if ((v = json_object_get(body, "streams")) && json_is_integer(v))
        op->streams = json_integer_value(v);
    if ((v = json_object_get(body, "bytes")) && json_is_integer(v))
        op->bytes = json_integer_value(v);
    op->rtts = json_array();
    int rc = 0;
    multiaddr_t *ma = NULL;
    if (!target || op->count < 1 || op->count > 1000 || op->streams < 1 || op->bytes < 1) {
        rc = LS_EINVAL;
    } else if (target[0] == '/') {
        if ((rc = multiaddr_parse(target, &ma)) == 0)
            rc = swarm_dial(n->net->swarm, ma, after_dial, op);
    } else if ((rc = peer_id_from_string(&op->peer, target)) == 0) {
        if (kind == OP_CONNECT)
            rc = swarm_dial_peer(n->net->swarm, &op->peer, after_dial, op);
        else
            op_run(op);
    }
    multiaddr_free(ma);
    if (rc < 0) /* before the body goes: `target` is its string */
        op_fail(op, rc, target ? target : "give \"peer\" (a peer ID or a multiaddr)");
    json_decref(body);
}

static void
post_connect(api_req_t *req, void *ctx)
{
    start_op(req, ctx, OP_CONNECT);
}

static void
post_identify(api_req_t *req, void *ctx)
{
    start_op(req, ctx, OP_IDENTIFY);
}

static void
post_ping(api_req_t *req, void *ctx)
{
    start_op(req, ctx, OP_PING);
}

static void
post_echo(api_req_t *req, void *ctx)
{
    start_op(req, ctx, OP_ECHO);
}

static void
post_bulk(api_req_t *req, void *ctx)
{
    start_op(req, ctx, OP_BULK);
}

static void
post_disconnect(api_req_t *req, void *ctx)
{
    node_t *n = ctx;
    json_t *body = api_req_json(req);
    if (!body)
        return;
    const char *s = json_string_value(json_object_get(body, "peer"));
    peer_id_t peer;
    if (!s || peer_id_from_string(&peer, s) < 0) {
        json_decref(body);
        api_reply_error(req, 400, "bad_request", "give {\"peer\": a peer ID}");
        return;
    }
    int closed = node_peers_disconnect(n->net, &peer, "disconnect requested through the API");
    json_decref(body);
    api_reply_json(req, 200, json_pack("{s:i}", "closed", closed));
}

void
node_routes_swarm(node_t *n)
{
    node_routes_peers(n);
    api_route(n->api, "POST", "/api/v0/swarm/connect", post_connect, n);
    api_route(n->api, "POST", "/api/v0/swarm/disconnect", post_disconnect, n);
    api_route(n->api, "POST", "/api/v0/swarm/identify", post_identify, n);
    api_route(n->api, "POST", "/api/v0/ping", post_ping, n);
    api_route(n->api, "POST", "/api/v0/diag/echo", post_echo, n);
    api_route(n->api, "POST", "/api/v0/diag/bulk", post_bulk, n);
}
