/* routes_peers — peer management in the API:
 *   GET /api/v0/swarm/peers   connected peers, one row per peer: state, trust,
 *                             direction, latency, agent, connections, streams
 *   GET /api/v0/swarm/known   the peer store: every known peer with its addresses,
 *                             state, trust, last seen and dial backoff */
#define LOG_MODULE "api"
#include <stdlib.h>
#include <string.h>

#include "lib/clock/clock.h"
#include "node/daemon/node_net.h"

#define KNOWN_MAX 10000 /* the peer store's default bound */

json_t *
node_peer_json(node_net_t *net, swarm_conn_t *c)
{
    const peer_id_t *id = swarm_conn_peer(c);
    char *peer = peer_id_to_str(id);
    char *addr = multiaddr_to_str(swarm_conn_remote_addr(c));
    const identify_info_t *info = identify_conn_info(c);
    int64_t rtt = ping_conn_rtt_us(c);
    connmgr_peer_t cp;
    bool managed = connmgr_peer_info(net->connmgr, id, &cp);
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:f,s:b,s:s?,s:I,s:I}", "peer", peer, "addr", addr,
                          "direction", swarm_conn_is_inbound(c) ? "inbound" : "outbound", "state",
                          peer_state_name(managed ? cp.state : PEER_STATE_KNOWN), "trust",
                          peerstore_trust(net->peers, id), "protected",
                          managed && cp.protected_peer, "agent", info ? info->agent_version : NULL,
                          "connections", (json_int_t)swarm_peer_conn_count(net->swarm, id),
                          "streams", (json_int_t)swarm_conn_stream_count(c));
    json_object_set_new(j, "latency_ms", rtt >= 0 ? json_real((double)rtt / 1000.0) : json_null());
    free(peer);
    free(addr);
    return j;
}

/* One row per peer: the first connection found stands for the others. */
static void
get_peers(api_req_t *req, void *ctx)
{
    node_t *n = ctx;
    static swarm_conn_t *conns[4096];
    size_t count =
        LS_MIN(swarm_conns(n->net->swarm, conns, LS_ARRAY_LEN(conns)), LS_ARRAY_LEN(conns));
    json_t *arr = json_array();
    for (size_t i = 0; i < count; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = peer_id_equal(swarm_conn_peer(conns[k]), swarm_conn_peer(conns[i]));
        if (!seen)
            json_array_append_new(arr, node_peer_json(n->net, conns[i]));
    }
    api_reply_json(req, 200, json_pack("{s:o}", "peers", arr));
}

typedef struct known_ctx_t {
    json_t *arr;
    uint64_t now_wall, now_mono;
} known_ctx_t;

static bool
known_row(void *ctx, const peer_view_t *v)
{
    known_ctx_t *k = ctx;
    json_t *addrs = json_array();
    for (size_t i = 0; i < v->n_addrs; i++) {
        char *s = multiaddr_to_str(v->addrs[i]);
        json_array_append_new(addrs, json_string(s));
        free(s);
    }
    char *id = peer_id_to_str(v->id);
    json_t *j =
        json_pack("{s:s,s:s,s:f,s:o,s:s?,s:I,s:i}", "peer", id, "state", peer_state_name(v->state),
                  "trust", v->trust, "addrs", addrs, "agent", v->agent, "last_seen_ms",
                  (json_int_t)v->last_seen, "dial_failures", (int)v->dial_failures);
    uint64_t ago = v->last_seen && k->now_wall > v->last_seen ? k->now_wall - v->last_seen : 0;
    json_object_set_new(j, "last_seen_ago_s",
                        v->last_seen ? json_real((double)ago / 1000.0) : json_null());
    uint64_t backoff = v->backoff_until > k->now_mono ? v->backoff_until - k->now_mono : 0;
    json_object_set_new(j, "backoff_s", json_real((double)backoff / 1000.0));
    free(id);
    json_array_append_new(k->arr, j);
    return json_array_size(k->arr) < KNOWN_MAX;
}

static void
get_known(api_req_t *req, void *ctx)
{
    node_t *n = ctx;
    known_ctx_t k = {json_array(), clock_wall_ms(), clock_mono_ms()};
    peerstore_foreach(n->net->peers, known_row, &k);
    api_reply_json(req, 200,
                   json_pack("{s:o,s:I}", "peers", k.arr, "count",
                             (json_int_t)peerstore_count(n->net->peers)));
}

void
node_routes_peers(node_t *n)
{
    api_route(n->api, "GET", "/api/v0/swarm/peers", get_peers, n);
    api_route(n->api, "GET", "/api/v0/swarm/known", get_known, n);
}
