#define LOG_MODULE "api"
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "lib/multiaddr/multiaddr.h"
#include "node/daemon/node.h"
#include "node/daemon/node_net.h"

#define AGENT_VERSION "lester/" LESTER_VERSION

static json_t *
public_key_json(const node_t *n)
{
    buf_t proto = BUF_INIT(256);
    pubkey_proto_encode(1 /* Ed25519 */, n->key.pk, ED25519_PK_LEN, &proto);
    char b64[128];
    sodium_bin2base64(b64, sizeof b64, proto.data, proto.len, sodium_base64_VARIANT_ORIGINAL);
    buf_free(&proto);
    return json_string(b64);
}

json_t *
node_addresses_json(const node_t *n)
{
    if (n->net) /* the bound addresses, once the host listens */
        return node_net_addresses_json(n);
    json_t *arr = json_array();
    const char **items;
    size_t count = config_get_strlist(n->cfg, "swarm.listen", &items);
    for (size_t i = 0; i < count; i++) {
        multiaddr_t *ma = NULL, *full = NULL;
        if (multiaddr_parse(items[i], &ma) == 0 && (full = multiaddr_with_peer_id(ma, &n->id))) {
            char *s = multiaddr_to_str(full);
            json_array_append_new(arr, json_string(s));
            free(s);
        }
        multiaddr_free(full);
        multiaddr_free(ma);
    }
    return arr;
}

static void
get_id(api_req_t *req, void *ctx)
{
    node_t *n = ctx;
    json_t *j = json_pack("{s:s,s:o,s:o,s:s,s:s}", "id", n->id_str, "public_key",
                          public_key_json(n), "addresses", node_addresses_json(n),
                          "agent_version", AGENT_VERSION, "protocol_version", "ipfs/0.1.0");
    api_reply_json(req, 200, j);
}

static void
get_version(api_req_t *req, void *ctx)
{
    (void)ctx;
    api_reply_json(req, 200, json_pack("{s:s,s:s}", "version", LESTER_VERSION, "agent",
                                       AGENT_VERSION));
}

static void
get_health(api_req_t *req, void *ctx)
{
    node_t *n = ctx;
    api_reply_json(req, 200, json_pack("{s:s,s:s,s:I}", "status", "ok", "id", n->id_str,
                                       "uptime_ms",
                                       (json_int_t)(clock_mono_ms() - n->started_ms)));
}

static void
get_metrics(api_req_t *req, void *ctx)
{
    node_t *n = ctx;
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    metrics_render(n->metrics, &out);
    api_reply_bytes(req, 200, "text/plain; version=0.0.4", out.data, out.len);
    buf_free(&out);
}

static void
stop_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(arg, NULL);
}

static void
post_shutdown(api_req_t *req, void *ctx)
{
    node_t *n = ctx;
    log_info("shutdown requested through the API");
    api_reply_json(req, 200, json_pack("{s:s}", "status", "stopping"));
    /* let the reply flush before the loop ends */
    struct timeval tv = { 0, 50000 };
    event_base_once(n->base, -1, EV_TIMEOUT, stop_later, n->base, &tv);
}

static void
post_log_level(api_req_t *req, void *ctx)
{
    (void)ctx;
    const char *name = api_req_query(req, "level");
    log_level_t lvl;
    if (!name || log_level_parse(name, &lvl) < 0) {
        api_reply_error(req, 400, "bad_request",
                        "give ?level=error|warn|info|debug|trace");
        return;
    }
    log_set_level(lvl);
    log_info("log level set to %s through the API", log_level_name(lvl));
    api_reply_json(req, 200, json_pack("{s:s}", "level", log_level_name(lvl)));
}

/* network_state (seed 001): a small key/value table the node keeps across runs.
 * Exposed for operators and for the crash-consistency test. */
static void
post_state_set(api_req_t *req, void *ctx)
{
    node_t *n = ctx;
    json_t *body = api_req_json(req);
    if (!body)
        return;
    const char *key = json_string_value(json_object_get(body, "key"));
    const char *value = json_string_value(json_object_get(body, "value"));
    if (!key || !value || strlen(key) > 256 || strlen(value) > 65536) {
        json_decref(body);
        api_reply_error(req, 400, "bad_request",
                        "give {\"key\": string (<= 256 bytes), \"value\": string (<= 64 KiB)}");
        return;
    }
    sqlite3_stmt *st = db_stmt(n->db, "INSERT INTO network_state(key, value, updated_at) "
                                      "VALUES (?1, ?2, ?3) ON CONFLICT(key) DO UPDATE SET "
                                      "value = excluded.value, updated_at = excluded.updated_at");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)clock_wall_ms());
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    json_decref(body);
    if (rc != SQLITE_DONE) {
        api_reply_error(req, 500, "storage", "cannot store: %s", sqlite3_errstr(rc));
        return;
    }
    api_reply_json(req, 200, json_pack("{s:b}", "stored", 1));
}

static void
get_state(api_req_t *req, void *ctx)
{
    node_t *n = ctx;
    const char *key = api_req_query(req, "key");
    if (!key) {
        api_reply_error(req, 400, "bad_request", "give ?key=");
        return;
    }
    sqlite3_stmt *st = db_stmt(n->db, "SELECT value, updated_at FROM network_state WHERE key=?1");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        json_t *j = json_pack("{s:s,s:s#,s:I}", "key", key, "value",
                              (const char *)sqlite3_column_text(st, 0),
                              (int)sqlite3_column_bytes(st, 0), "updated_at",
                              (json_int_t)sqlite3_column_int64(st, 1));
        sqlite3_reset(st);
        api_reply_json(req, 200, j);
        return;
    }
    sqlite3_reset(st);
    api_reply_error(req, 404, "not_found", "no state under key '%s'", key);
}

void
node_routes_core(node_t *n)
{
    api_route(n->api, "GET", "/health", get_health, n);
    api_route(n->api, "GET", "/metrics", get_metrics, n);
    api_route(n->api, "GET", "/api/v0/id", get_id, n);
    api_route(n->api, "GET", "/api/v0/version", get_version, n);
    api_route(n->api, "POST", "/api/v0/shutdown", post_shutdown, n);
    api_route(n->api, "POST", "/api/v0/log/level", post_log_level, n);
    api_route(n->api, "POST", "/api/v0/diag/state/set", post_state_set, n);
    api_route(n->api, "GET", "/api/v0/diag/state/get", get_state, n);
}
