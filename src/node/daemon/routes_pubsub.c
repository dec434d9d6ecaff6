/* routes_pubsub — GossipSub in the API:
 *   POST /api/v0/pubsub/sub   {"topic"}: a chunked stream of received messages, one
 *                             JSON object per line: topic, from, seqno (hex), id (hex),
 *                             data (base64), received_ms (unix ms); the node stays
 *                             subscribed while a stream (or a join) holds the topic
 *   POST /api/v0/pubsub/pub   {"topic", "data" (base64)}: {"id", "recipients"}
 *   POST /api/v0/pubsub/join  {"topic", "leave": bool}: stay subscribed without a stream
 *   GET  /api/v0/pubsub/ls    {"topics": [...]}
 *   GET  /api/v0/pubsub/peers?topic=T  {"peers": [{peer, mesh, score}]} */
#define LOG_MODULE "api"
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "node/daemon/node_net.h"
#include "node/daemon/node_pubsub.h"

#define MAX_PEERS 1024

static node_pubsub_t *
pubsub_of(node_t *n)
{
    return n->net ? n->net->pubsub : NULL;
}

static char *
to_hex(const uint8_t *p, size_t len)
{
    char *s = ls_malloc(2 * len + 1);
    sodium_bin2hex(s, 2 * len + 1, p, len);
    return s;
}

/* ---- streams of received messages ---- */

typedef struct sub_stream_t {
    node_pubsub_t *ps;
    api_req_t *req;
    int64_t listener;
} sub_stream_t;

static void
sub_gone(void *ctx)
{
    sub_stream_t *ss = ctx;
    node_pubsub_unlisten(ss->ps, ss->listener);
    free(ss);
}

static void
sub_message(void *ctx, const node_pubsub_msg_t *msg)
{
    sub_stream_t *ss = ctx;
    if (!msg) { /* the daemon stops */
        node_pubsub_unlisten(ss->ps, ss->listener);
        api_stream_end(ss->req);
        free(ss);
        return;
    }
    const gossipsub_message_t *m = msg->m;
    size_t b64len = sodium_base64_encoded_len(m->data_len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = ls_malloc(b64len);
    sodium_bin2base64(b64, b64len, m->data, m->data_len, sodium_base64_VARIANT_ORIGINAL);
    char *from = m->author ? peer_id_to_str(m->author) : NULL;
    char *seq = msg->seqno ? to_hex(msg->seqno, 8) : NULL;
    char *id = to_hex(m->id, m->id_len);
    json_t *j = json_pack("{s:s%,s:s?,s:s?,s:s,s:s,s:I}", "topic", (const char *)m->topic,
                          m->topic_len, "from", from, "seqno", seq, "id", id, "data", b64,
                          "received_ms", (json_int_t)msg->received_ms);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (text) {
        size_t n = strlen(text);
        text = ls_realloc(text, n + 2);
        text[n++] = '\n';
        api_stream_send(ss->req, text, n);
    }
    free(text);
    json_decref(j);
    free(b64);
    free(from);
    free(seq);
    free(id);
}

static const char *
topic_arg(api_req_t *req, json_t *body)
{
    const char *t = json_string_value(json_object_get(body, "topic"));
    if (!t)
        t = api_req_query(req, "topic");
    return t;
}

static void
post_sub(api_req_t *req, void *ctx)
{
    node_pubsub_t *ps = pubsub_of(ctx);
    json_t *body = api_req_json(req);
    if (!body)
        return;
    const char *topic = topic_arg(req, body);
    if (!ps || !topic || !*topic) {
        api_reply_error(req, 400, "bad_request", "give a topic");
        json_decref(body);
        return;
    }
    sub_stream_t *ss = ls_calloc(1, sizeof *ss);
    ss->ps = ps;
    ss->req = req;
    int64_t id = node_pubsub_listen(ps, topic, sub_message, ss);
    json_decref(body);
    if (id < 0) {
        free(ss);
        api_reply_errcode(req, (int)id, "subscribe");
        return;
    }
    ss->listener = id;
    api_stream_start(req, "application/x-ndjson", sub_gone, ss);
}

static void
post_pub(api_req_t *req, void *ctx)
{
    node_pubsub_t *ps = pubsub_of(ctx);
    json_t *body = api_req_json(req);
    if (!body)
        return;
    const char *topic = topic_arg(req, body);
    const char *b64 = json_string_value(json_object_get(body, "data"));
    if (!ps || !topic || !b64) {
        api_reply_error(req, 400, "bad_request", "give a topic and data (base64)");
        json_decref(body);
        return;
    }
    size_t cap = strlen(b64) * 3 / 4 + 3, len = 0;
    uint8_t *data = ls_malloc(cap);
    if (sodium_base642bin(data, cap, b64, strlen(b64), NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        api_reply_error(req, 400, "bad_request", "data is not base64");
    } else {
        int rc = node_pubsub_publish(ps, topic, data, len);
        if (rc < 0)
            api_reply_errcode(req, rc, "publish");
        else
            api_reply_json(req, 200, json_pack("{s:s,s:i}", "topic", topic, "recipients", rc));
    }
    free(data);
    json_decref(body);
}

static void
post_join(api_req_t *req, void *ctx)
{
    node_pubsub_t *ps = pubsub_of(ctx);
    json_t *body = api_req_json(req);
    if (!body)
        return;
    const char *topic = topic_arg(req, body);
    bool leave = json_is_true(json_object_get(body, "leave"));
    int rc = ps && topic ? node_pubsub_pin(ps, topic, !leave) : LS_EINVAL;
    if (rc < 0)
        api_reply_errcode(req, rc, leave ? "leave" : "join");
    else
        api_reply_json(req, 200, json_pack("{s:s,s:b}", "topic", topic, "subscribed", !leave));
    json_decref(body);
}

static void
get_ls(api_req_t *req, void *ctx)
{
    node_pubsub_t *ps = pubsub_of(ctx);
    const char *names[256];
    size_t n = ps ? node_pubsub_topics(ps, names, LS_ARRAY_LEN(names)) : 0;
    json_t *arr = json_array();
    for (size_t i = 0; i < n && i < LS_ARRAY_LEN(names); i++)
        json_array_append_new(arr, json_string(names[i]));
    api_reply_json(req, 200, json_pack("{s:o}", "topics", arr));
}

static bool
in_set(const peer_id_t *set, size_t n, const peer_id_t *p)
{
    for (size_t i = 0; i < n; i++)
        if (peer_id_equal(&set[i], p))
            return true;
    return false;
}

static void
get_peers(api_req_t *req, void *ctx)
{
    node_pubsub_t *ps = pubsub_of(ctx);
    const char *topic = api_req_query(req, "topic");
    if (!ps || !topic || !*topic) {
        api_reply_error(req, 400, "bad_request", "give ?topic=");
        return;
    }
    gossipsub_t *gs = node_pubsub_router(ps);
    static peer_id_t peers[MAX_PEERS], mesh[MAX_PEERS];
    size_t len = strlen(topic);
    size_t np = LS_MIN(gossipsub_topic_peers(gs, (const uint8_t *)topic, len, peers, MAX_PEERS),
                       (size_t)MAX_PEERS);
    size_t nm = LS_MIN(gossipsub_mesh(gs, (const uint8_t *)topic, len, mesh, MAX_PEERS),
                       (size_t)MAX_PEERS);
    json_t *arr = json_array();
    uint64_t now = clock_mono_ms();
    for (size_t i = 0; i < np; i++) {
        char *s = peer_id_to_str(&peers[i]);
        json_array_append_new(arr, json_pack("{s:s,s:b,s:f}", "peer", s, "mesh",
                                             in_set(mesh, nm, &peers[i]), "score",
                                             gossipsub_score(gs, now, &peers[i])));
        free(s);
    }
    api_reply_json(req, 200,
                   json_pack("{s:s,s:o,s:b,s:I}", "topic", topic, "peers", arr, "subscribed",
                             gossipsub_is_subscribed(gs, (const uint8_t *)topic, len), "mesh_size",
                             (json_int_t)nm));
}

void
node_routes_pubsub(node_t *n)
{
    api_route(n->api, "POST", "/api/v0/pubsub/sub", post_sub, n);
    api_route(n->api, "POST", "/api/v0/pubsub/pub", post_pub, n);
    api_route(n->api, "POST", "/api/v0/pubsub/join", post_join, n);
    api_route(n->api, "GET", "/api/v0/pubsub/ls", get_ls, n);
    api_route(n->api, "GET", "/api/v0/pubsub/peers", get_peers, n);
}
