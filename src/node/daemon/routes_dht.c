/* routes_dht — API of the Kademlia DHT (node_dht.h):
 *   POST /api/v0/dht/findpeer  {peer}              → {peer, addrs[], hops, messages, ms}
 *   POST /api/v0/dht/put       {key, value}        value base64; key "/lester/...": the
 *                                                  bytes are signed into a Lester record
 *                                                  → {key, publisher, seq, ts_ms, exp_ms,
 *                                                     peers, hops, messages, ms}
 *   POST /api/v0/dht/get       {key, quorum?}      → {key, value (base64 payload), publisher,
 *                                                     seq, ts_ms, exp_ms, record, hops, ms}
 *   POST /api/v0/dht/provide   {cid}               → {cid, peers, hops, messages, ms}
 *   POST /api/v0/dht/findprovs {cid, max?}         → {cid, providers:[{peer, addrs[],
 *                                                     metadata?}], ...}; metadata: the
 *                                                     provider's signed seed-004 record
 *                                                     (kad_validate.h), decoded: protocols[],
 *                                                     endpoints[], wallet?, price_per_mb?,
 *                                                     chunks[]?, ts_ms, exp_ms
 *   POST /api/v0/dht/closest   {key}               → {key, peers[]} (nearest first)
 *   GET  /api/v0/dht/routing                       → mode, protocols, table and counters
 * Errors: 404 not_found, 503 no_peers (the routing table is empty), 504 timeout. */
#define LOG_MODULE "api"
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dht/kad_validate.h"
#include "lib/cid/cid.h"
#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "node/daemon/node_dht.h"

typedef enum { OP_FINDPEER, OP_PUT, OP_GET, OP_PROVIDE, OP_FINDPROVS, OP_CLOSEST } op_kind_t;

struct dht_op_t {
    node_dht_t *d;
    dht_op_t *prev, *next;
    api_req_t *req;
    op_kind_t kind;
    uint64_t started_us;
    peer_id_t target;
    char *name;     /* key or CID as given */
    buf_t key;      /* DHT key bytes */
    json_t *extra;  /* fields merged into the answer */
};

static node_dht_t *
dht_of(void *ctx)
{
    node_t *n = ctx;
    return n->net ? n->net->dht : NULL;
}

static dht_op_t *
op_new(node_dht_t *d, api_req_t *req, op_kind_t kind, const char *name)
{
    dht_op_t *op = ls_calloc(1, sizeof *op);
    op->d = d;
    op->req = req;
    op->kind = kind;
    op->name = ls_strdup(name ? name : "");
    op->started_us = clock_mono_us();
    buf_init(&op->key, KAD_KEY_MAX);
    return op;
}

static void
op_link(dht_op_t *op)
{
    node_dht_t *d = op->d;
    op->next = d->ops;
    if (d->ops)
        d->ops->prev = op;
    d->ops = op;
    d->lookups++;
}

static void
op_free(dht_op_t *op, bool linked)
{
    if (linked) {
        if (op->prev)
            op->prev->next = op->next;
        else
            op->d->ops = op->next;
        if (op->next)
            op->next->prev = op->prev;
    }
    json_decref(op->extra);
    buf_free(&op->key);
    free(op->name);
    free(op);
}

void
node_dht_ops_abort(node_dht_t *d)
{
    while (d->ops) {
        dht_op_t *op = d->ops;
        api_reply_error(op->req, 503, "stopped", "the node is shutting down");
        op_free(op, true);
    }
}

static char *
b64(const uint8_t *p, size_t len)
{
    size_t cap = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
    char *s = ls_malloc(cap);
    sodium_bin2base64(s, cap, p, len, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

static json_t *
addrs_json(const uint8_t *list, size_t len)
{
    json_t *arr = json_array();
    size_t off = 0, ml;
    const uint8_t *m;
    while ((m = kad_addrs_next(list, len, &off, &ml))) {
        multiaddr_t *ma = NULL;
        if (multiaddr_from_bytes(m, ml, &ma) == 0) {
            char *s = multiaddr_to_str(ma);
            json_array_append_new(arr, json_string(s));
            free(s);
        }
        multiaddr_free(ma);
    }
    return arr;
}

static json_t *
peer_json(node_dht_t *d, const kad_peer_info_t *p)
{
    char *id = peer_id_to_str(&p->id);
    node_dht_learn_addrs(d, &p->id, p->addrs, p->addrs_len);
    json_t *j = json_pack("{s:s,s:o}", "peer", id, "addrs", addrs_json(p->addrs, p->addrs_len));
    free(id);
    return j;
}

/* The strings of array `key` of `r` as a JSON array (absent: empty). */
static json_t *
str_array_json(const record_t *r, const char *key)
{
    json_t *arr = json_array();
    const record_array_t *a;
    const char *s;
    if (record_get_array(r, key, &a) == 0)
        for (size_t i = 0; i < record_array_len(a); i++)
            if (record_array_get_str(a, i, &s) == 0)
                json_array_append_new(arr, json_string(s));
    return arr;
}

/* A provider's seed-004 metadata as JSON, or NULL when it announced none. The
 * lookup kept only metadata that passed kad_provider_meta_check; it is checked
 * again here to decode it (and in case it expired since). */
static json_t *
provider_meta_json(const dht_op_t *op, const kad_peer_info_t *p)
{
    record_t *r = NULL;
    if (!p->meta_len || kad_provider_meta_check(clock_wall_ms(), op->key.data, op->key.len,
                                                &p->id, p->meta, p->meta_len, &r) < 0)
        return NULL;
    json_t *j = json_pack("{s:o, s:o}", "protocols", str_array_json(r, "protocols"),
                          "endpoints", str_array_json(r, "endpoints"));
    const char *wallet;
    uint64_t u;
    const record_array_t *chunks;
    if (record_get_str(r, "wallet", &wallet) == 0)
        json_object_set_new(j, "wallet", json_string(wallet));
    if (record_get_u64(r, "price_per_mb", &u) == 0)
        json_object_set_new(j, "price_per_mb", json_integer((json_int_t)u));
    if (record_get_array(r, "chunks", &chunks) == 0) {
        json_t *c = json_array();
        for (size_t i = 0; i < record_array_len(chunks); i++)
            if (record_array_get_u64(chunks, i, &u) == 0)
                json_array_append_new(c, json_integer((json_int_t)u));
        json_object_set_new(j, "chunks", c);
    }
    if (record_get_u64(r, "ts", &u) == 0)
        json_object_set_new(j, "ts_ms", json_integer((json_int_t)u));
    if (record_get_u64(r, "exp", &u) == 0)
        json_object_set_new(j, "exp_ms", json_integer((json_int_t)u));
    record_free(r);
    return j;
}

/* ---- answers ---- */

static int
fail_status(int status, const char **code)
{
    if (status == LS_ETIMEDOUT) {
        *code = "timeout";
        return 504;
    }
    *code = status == LS_ENOENT ? "not_found" : "failed";
    return status == LS_ENOENT ? 404 : 502;
}

/* The record of a get on a /lester/ key, decoded, into `j`. */
static void
lester_fields(dht_op_t *op, const kad_result_t *res, json_t *j)
{
    kad_lester_info_t info;
    buf_t payload = BUF_INIT(KAD_VALUE_MAX);
    if (kad_lester_value_check(NULL, clock_wall_ms(), op->key.data, op->key.len, res->value,
                               res->value_len, &info, &payload) == 0) {
        peer_id_t pub;
        peer_id_from_ed25519(&pub, info.pk);
        char *ps = peer_id_to_str(&pub), *v = b64(payload.data, payload.len);
        json_object_set_new(j, "value", json_string(v));
        json_object_set_new(j, "publisher", json_string(ps));
        json_object_set_new(j, "seq", json_integer((json_int_t)info.seq));
        json_object_set_new(j, "ts_ms", json_integer((json_int_t)info.ts_ms));
        json_object_set_new(j, "exp_ms", json_integer((json_int_t)info.exp_ms));
        free(ps);
        free(v);
    }
    buf_free(&payload);
}

static json_t *
answer_json(dht_op_t *op, const kad_result_t *res)
{
    json_t *j = json_pack("{s:I,s:I,s:f}", "hops", (json_int_t)res->hops, "messages",
                          (json_int_t)res->messages, "ms",
                          (double)(clock_mono_us() - op->started_us) / 1000.0);
    json_t *peers = json_array();
    switch (op->kind) {
    case OP_FINDPEER: {
        json_t *p = peer_json(op->d, &res->peers[0]);
        json_object_update(j, p);
        json_decref(p);
        json_decref(peers);
        return j;
    }
    case OP_GET: {
        char *rec = b64(res->value, res->value_len);
        json_object_set_new(j, "record", json_string(rec));
        json_object_set_new(j, "value", json_string(rec));
        free(rec);
        if (strncmp(op->name, "/lester/", 8) == 0)
            lester_fields(op, res, j);
        json_decref(peers);
        return j;
    }
    case OP_FINDPROVS:
        for (size_t i = 0; i < res->npeers; i++) {
            json_t *p = peer_json(op->d, &res->peers[i]);
            json_t *meta = provider_meta_json(op, &res->peers[i]);
            if (meta)
                json_object_set_new(p, "metadata", meta);
            json_array_append_new(peers, p);
        }
        json_object_set_new(j, "providers", peers);
        return j;
    default:
        for (size_t i = 0; i < res->npeers; i++) {
            char *id = peer_id_to_str(&res->peers[i].id);
            json_array_append_new(peers, json_string(id));
            free(id);
        }
        json_object_set_new(j, op->kind == OP_CLOSEST ? "peers" : "stored_at", peers);
        json_object_set_new(j, "peers_ok", json_integer((json_int_t)res->successes));
        return j;
    }
}

static void
lookup_done(void *arg, const kad_result_t *res)
{
    dht_op_t *op = arg;
    bool empty = op->kind == OP_FINDPEER ? res->npeers == 0
                 : op->kind == OP_GET    ? res->value == NULL
                                         : false;
    if (res->status < 0 && op->kind != OP_PUT && op->kind != OP_PROVIDE && op->kind != OP_CLOSEST)
        empty = true;
    if (empty) {
        const char *code;
        int st = fail_status(res->status < 0 ? res->status : LS_ENOENT, &code);
        op->d->lookups_failed++;
        api_reply_error(op->req, st, code, "%s: %s", op->name,
                        st == 404 ? "not found in the DHT" : ls_strerror(res->status));
    } else {
        json_t *j = answer_json(op, res);
        json_object_set_new(j, op->kind == OP_FINDPROVS || op->kind == OP_PROVIDE ? "cid" : "key",
                            json_string(op->name));
        if (op->extra)
            json_object_update(j, op->extra);
        api_reply_json(op->req, 200, j);
    }
    op_free(op, true);
}

/* A lookup call returned `rc`: link the op (the callback follows) or answer now. */
static void
started(dht_op_t *op, int rc)
{
    if (rc == 0) {
        op_link(op);
        node_dht_kick(op->d);
        return;
    }
    if (rc == LS_ENOENT)
        api_reply_error(op->req, 503, "no_peers",
                        "no DHT peer known yet (connect to a peer that serves %s)",
                        op->d->protocols[0]);
    else
        api_reply_errcode(op->req, rc, op->name);
    op_free(op, false);
}

/* ---- handlers ---- */

/* The body as JSON with string `field`; replies itself and returns NULL if absent. */
static json_t *
body_with(api_req_t *req, const char *field, const char **out)
{
    json_t *b = api_req_json(req);
    if (!b)
        return NULL;
    *out = json_string_value(json_object_get(b, field));
    if (!*out || !**out) {
        api_reply_error(req, 400, "bad_request", "'%s' is required", field);
        json_decref(b);
        return NULL;
    }
    return b;
}

static bool
ready(api_req_t *req, node_dht_t *d)
{
    if (!d)
        api_reply_error(req, 503, "not_running", "the DHT is not running");
    return d != NULL;
}

static void
post_findpeer(api_req_t *req, void *ctx)
{
    node_dht_t *d = dht_of(ctx);
    const char *s;
    json_t *b = ready(req, d) ? body_with(req, "peer", &s) : NULL;
    if (!b)
        return;
    dht_op_t *op = op_new(d, req, OP_FINDPEER, s);
    int rc = peer_id_from_string(&op->target, s);
    if (rc < 0) {
        api_reply_error(req, 400, "bad_request", "'%s' is not a peer ID", s);
        op_free(op, false);
    } else {
        started(op, kad_find_peer(d->kad, clock_wall_ms(), &op->target, lookup_done, op));
    }
    json_decref(b);
}

/* The sequence number for a new value of `key`: above what we hold. */
static uint64_t
next_seq(node_dht_t *d, const uint8_t *key, size_t klen, uint64_t now)
{
    const kad_stored_record_t *r = kad_store_get_record(kad_store(d->kad), key, klen);
    kad_lester_info_t info;
    uint64_t seq = now;
    if (r && kad_lester_value_check(NULL, now, key, klen, r->value, r->vlen, &info, NULL) == 0 &&
        info.seq >= seq)
        seq = info.seq + 1;
    return seq;
}

static int
decode_b64(const char *s, buf_t *out)
{
    size_t len = strlen(s), n = 0;
    uint8_t *p = buf_extend(out, len);
    if (!p)
        return LS_ETOOBIG;
    if (sodium_base642bin(p, len, s, len, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        return LS_EINVAL;
    buf_truncate(out, n);
    return 0;
}

static int
make_value(node_dht_t *d, dht_op_t *op, const char *value_b64, buf_t *rec)
{
    node_t *n = d->net->node;
    buf_t payload = BUF_INIT(KAD_VALUE_MAX);
    uint64_t now = clock_wall_ms(), exp;
    exp = now + (uint64_t)config_get_int(n->cfg, "dht.value_ttl_s") * 1000;
    uint64_t seq = next_seq(d, op->key.data, op->key.len, now);
    int rc = decode_b64(value_b64, &payload);
    if (rc == 0)
        rc = kad_lester_value_make(op->key.data, op->key.len, payload.data, payload.len, seq, now,
                                   exp, &n->key, rec);
    if (rc == 0)
        op->extra = json_pack("{s:s,s:I,s:I,s:I,s:I}", "publisher", n->id_str, "seq",
                              (json_int_t)seq, "ts_ms", (json_int_t)now, "exp_ms",
                              (json_int_t)exp, "bytes", (json_int_t)payload.len);
    buf_free(&payload);
    return rc;
}

static void
post_put(api_req_t *req, void *ctx)
{
    node_dht_t *d = dht_of(ctx);
    const char *key;
    json_t *b = ready(req, d) ? body_with(req, "key", &key) : NULL;
    if (!b)
        return;
    const char *value = json_string_value(json_object_get(b, "value"));
    dht_op_t *op = op_new(d, req, OP_PUT, key);
    buf_t rec = BUF_INIT(KAD_VALUE_MAX + 1024);
    int rc = strncmp(key, "/lester/", 8) != 0 || strlen(key) <= 8 ? LS_EINVAL
             : !value                                             ? LS_EINVAL
                                                      : buf_append_str(&op->key, key);
    if (rc == 0)
        rc = make_value(d, op, value, &rec);
    if (rc == LS_EINVAL) {
        api_reply_error(req, 400, "bad_request",
                        "put needs a key /lester/<name> and a base64 value");
        op_free(op, false);
    } else if (rc < 0) {
        api_reply_errcode(req, rc, "put");
        op_free(op, false);
    } else {
        rc = kad_put_value(d->kad, clock_wall_ms(), op->key.data, op->key.len, rec.data, rec.len,
                           lookup_done, op);
        if (rc == LS_ENOENT) { /* kept and republished later: say so */
            json_object_set_new(op->extra, "peers_ok", json_integer(0));
            json_object_set_new(op->extra, "key", json_string(key));
            json_object_set_new(op->extra, "stored_at", json_array());
            api_reply_json(req, 200, json_incref(op->extra));
            op_free(op, false);
        } else {
            started(op, rc);
        }
    }
    buf_free(&rec);
    json_decref(b);
}

static void
post_get(api_req_t *req, void *ctx)
{
    node_dht_t *d = dht_of(ctx);
    const char *key;
    json_t *b = ready(req, d) ? body_with(req, "key", &key) : NULL;
    if (!b)
        return;
    json_int_t quorum = json_integer_value(json_object_get(b, "quorum"));
    dht_op_t *op = op_new(d, req, OP_GET, key);
    int rc = buf_append_str(&op->key, key);
    if (rc < 0 || key[0] != '/') {
        api_reply_error(req, 400, "bad_request", "a DHT key looks like /lester/<name>");
        op_free(op, false);
    } else {
        started(op, kad_get_value(d->kad, clock_wall_ms(), op->key.data, op->key.len,
                                  quorum > 0 ? (size_t)quorum : 1, lookup_done, op));
    }
    json_decref(b);
}

/* The provider key of a CID: its multihash (as js and go kad-dht use). */
static int
cid_key(const char *s, buf_t *out)
{
    cid_t cid;
    int rc = cid_from_string(&cid, s);
    return rc < 0 ? rc : multihash_encode(&cid.hash, out);
}

static void
post_provide(api_req_t *req, void *ctx, bool find)
{
    node_dht_t *d = dht_of(ctx);
    const char *s;
    json_t *b = ready(req, d) ? body_with(req, "cid", &s) : NULL;
    if (!b)
        return;
    dht_op_t *op = op_new(d, req, find ? OP_FINDPROVS : OP_PROVIDE, s);
    if (cid_key(s, &op->key) < 0) {
        api_reply_error(req, 400, "bad_request", "'%s' is not a CID", s);
        op_free(op, false);
    } else if (find) {
        json_int_t max = json_integer_value(json_object_get(b, "max"));
        started(op, kad_get_providers(d->kad, clock_wall_ms(), op->key.data, op->key.len,
                                      max > 0 && max <= 64 ? (size_t)max : 20, lookup_done, op));
    } else {
        started(op, kad_provide(d->kad, clock_wall_ms(), op->key.data, op->key.len, NULL, 0,
                                lookup_done, op));
    }
    json_decref(b);
}

static void
post_provide_h(api_req_t *req, void *ctx)
{
    post_provide(req, ctx, false);
}

static void
post_findprovs_h(api_req_t *req, void *ctx)
{
    post_provide(req, ctx, true);
}

static void
post_closest(api_req_t *req, void *ctx)
{
    node_dht_t *d = dht_of(ctx);
    const char *key;
    json_t *b = ready(req, d) ? body_with(req, "key", &key) : NULL;
    if (!b)
        return;
    dht_op_t *op = op_new(d, req, OP_CLOSEST, key);
    if (buf_append_str(&op->key, key) < 0) {
        api_reply_errcode(req, LS_ETOOBIG, "key");
        op_free(op, false);
    } else {
        started(op, kad_get_closest(d->kad, clock_wall_ms(), op->key.data, op->key.len,
                                    lookup_done, op));
    }
    json_decref(b);
}

/* ---- routing table statistics ---- */

static json_t *
bucket_json(const routing_t *rt, unsigned cpl, uint64_t now)
{
    size_t repl = 0, n = routing_bucket_size(rt, cpl, &repl);
    json_t *peers = json_array();
    const routing_entry_t *e;
    for (size_t i = 0; (e = routing_bucket_entry(rt, cpl, i)); i++) {
        char *id = peer_id_to_str(&e->id);
        double ago = now > e->last_seen_ms ? (double)(now - e->last_seen_ms) / 1000.0 : 0;
        json_array_append_new(peers, json_pack("{s:s,s:f}", "peer", id, "last_seen_ago_s", ago));
        free(id);
    }
    return json_pack("{s:i,s:I,s:I,s:o}", "cpl", (int)cpl, "peers", (json_int_t)n,
                     "replacements", (json_int_t)repl, "entries", peers);
}

static json_t *
counts_json(const uint64_t *counts)
{
    static const char *const names[DHT_MSG_TYPES] = {
        "put_value", "get_value", "add_provider", "get_providers", "find_node", "ping", "other"};
    json_t *j = json_object();
    for (size_t i = 0; i < DHT_MSG_TYPES; i++)
        json_object_set_new(j, names[i], json_integer((json_int_t)counts[i]));
    return j;
}

static void
get_routing(api_req_t *req, void *ctx)
{
    node_dht_t *d = dht_of(ctx);
    if (!ready(req, d))
        return;
    const routing_t *rt = kad_routing(d->kad);
    uint64_t now = clock_wall_ms();
    json_t *buckets = json_array(), *protos = json_array();
    size_t repl_total = 0;
    for (unsigned cpl = 0; cpl < KAD_BUCKETS; cpl++) {
        size_t repl = 0, n = routing_bucket_size(rt, cpl, &repl);
        repl_total += repl;
        if (n || repl)
            json_array_append_new(buckets, bucket_json(rt, cpl, now));
    }
    for (size_t i = 0; i < d->n_protocols; i++)
        json_array_append_new(protos, json_string(d->protocols[i]));
    const kad_store_t *st = kad_store(d->kad);
    json_t *j = json_pack(
        "{s:s,s:o,s:I,s:I,s:o,s:I,s:I,s:I,s:I,s:o,s:o,s:{s:I,s:I,s:I,s:I,s:I,s:I}}", "mode",
        d->server ? "server" : "client", "protocols", protos, "size",
        (json_int_t)routing_size(rt), "replacements", (json_int_t)repl_total, "buckets",
        buckets, "records", (json_int_t)kad_store_record_count(st), "provider_records",
        (json_int_t)kad_store_provider_count(st), "pending_requests",
        (json_int_t)kad_pending_count(d->kad), "active_lookups",
        (json_int_t)kad_lookup_count(d->kad), "requests_in", counts_json(d->req_in),
        "requests_out", counts_json(d->req_out), "counters", "lookups", (json_int_t)d->lookups,
        "lookups_failed", (json_int_t)d->lookups_failed, "requests_failed",
        (json_int_t)d->req_failed, "refused", (json_int_t)d->in_refused, "malformed",
        (json_int_t)d->in_malformed, "rate_limited", (json_int_t)d->rate_limited);
    api_reply_json(req, 200, j);
}

void
node_routes_dht(node_t *n)
{
    api_route(n->api, "POST", "/api/v0/dht/findpeer", post_findpeer, n);
    api_route(n->api, "POST", "/api/v0/dht/put", post_put, n);
    api_route(n->api, "POST", "/api/v0/dht/get", post_get, n);
    api_route(n->api, "POST", "/api/v0/dht/provide", post_provide_h, n);
    api_route(n->api, "POST", "/api/v0/dht/findprovs", post_findprovs_h, n);
    api_route(n->api, "POST", "/api/v0/dht/closest", post_closest, n);
    api_route(n->api, "GET", "/api/v0/dht/routing", get_routing, n);
}
