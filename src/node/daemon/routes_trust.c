/* routes_trust — seed 001's trust in the API:
 *   GET /api/v0/trust/list             every peer the trust manager holds, highest
 *                                      trust first: peer, trust, reputation, connected
 *   GET /api/v0/trust/show?peer=ID     one peer: trust, reputation with trend and
 *                                      stats, counters, gossip score, and its most
 *                                      recent trust_events rows (why it changed) */
#define LOG_MODULE "api"
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "node/daemon/node_net.h"
#include "node/daemon/node_pubsub.h"

#define LIST_MAX 10000
#define EVENTS_SHOWN 20

static void
get_list(api_req_t *req, void *ctx)
{
    node_t *n = ctx;
    trust_t *t = n->net ? n->net->trust_mgr : NULL;
    size_t count = t ? LS_MIN(trust_count(t), (size_t)LIST_MAX) : 0;
    trust_entry_t *e = ls_calloc(count + 1, sizeof *e);
    size_t k = t ? trust_top(t, 0.0, e, count) : 0;
    json_t *arr = json_array();
    for (size_t i = 0; i < k; i++) {
        char *s = peer_id_to_str(&e[i].peer);
        json_array_append_new(
            arr, json_pack("{s:s,s:f,s:f,s:b}", "peer", s, "trust", e[i].trust, "reputation",
                           trust_reputation(t, &e[i].peer, NULL, NULL), "connected",
                           swarm_peer_conn_count(n->net->swarm, &e[i].peer) > 0));
        free(s);
    }
    free(e);
    api_reply_json(req, 200, json_pack("{s:o,s:I}", "peers", arr, "count", (json_int_t)k));
}

static json_t *
recent_events(node_t *n, const char *peer)
{
    json_t *arr = json_array();
    sqlite3_stmt *st = db_stmt(n->db, "SELECT event_type, trust_delta, timestamp FROM "
                                      "trust_events WHERE node_id = ? ORDER BY timestamp DESC, "
                                      "id DESC LIMIT ?");
    if (!st)
        return arr;
    sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, EVENTS_SHOWN);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("{s:s,s:f,s:I}", "event",
                                             (const char *)sqlite3_column_text(st, 0), "delta",
                                             sqlite3_column_double(st, 1), "timestamp_ms",
                                             (json_int_t)sqlite3_column_int64(st, 2)));
    sqlite3_reset(st);
    return arr;
}

static void
get_show(api_req_t *req, void *ctx)
{
    node_t *n = ctx;
    const char *s = api_req_query(req, "peer");
    peer_id_t id;
    if (!s || peer_id_from_string(&id, s) < 0) {
        api_reply_error(req, 400, "bad_request", "give ?peer=<peer ID>");
        return;
    }
    trust_t *t = n->net ? n->net->trust_mgr : NULL;
    if (!t) {
        api_reply_error(req, 503, "unavailable", "the trust manager is not running");
        return;
    }
    node_trust_flush(n->net); /* so the events below are current */
    double trend, stats;
    double rep = trust_reputation(t, &id, &trend, &stats);
    uint64_t valid = 0, bad = 0;
    bool held = trust_counts(t, &id, &valid, &bad);
    json_t *j = json_pack("{s:s,s:f,s:f,s:f,s:f,s:f,s:b,s:I,s:I,s:b}", "peer", s, "trust",
                          trust_get(t, &id), "reputation", rep, "trend", trend, "stats", stats,
                          "app_score", trust_app_score(t, &id), "held", held, "valid_messages",
                          (json_int_t)valid, "bad_events", (json_int_t)bad, "connected",
                          swarm_peer_conn_count(n->net->swarm, &id) > 0);
    if (n->net->pubsub)
        json_object_set_new(j, "gossip_score",
                            json_real(gossipsub_score(node_pubsub_router(n->net->pubsub),
                                                      clock_mono_ms(), &id)));
    json_object_set_new(j, "events", recent_events(n, s));
    api_reply_json(req, 200, j);
}

void
node_routes_trust(node_t *n)
{
    api_route(n->api, "GET", "/api/v0/trust/list", get_list, n);
    api_route(n->api, "GET", "/api/v0/trust/show", get_show, n);
}
