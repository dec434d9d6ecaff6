/* node_net_metrics — the libp2p host and peer management in /metrics. The net layer
 * keeps plain counters; these gauge callbacks read them when /metrics is rendered. */
#include <stdio.h>

#include "node/daemon/node_net.h"
#include "pubsub/trust/trust.h"

#define SWARM_GAUGE(fn, field)                                                                     \
    static double fn(void *ctx)                                                                    \
    {                                                                                              \
        swarm_stats_t st;                                                                          \
        swarm_get_stats(ctx, &st);                                                                 \
        return (double)st.field;                                                                   \
    }
SWARM_GAUGE(g_conns, conns_open)
SWARM_GAUGE(g_pending, conns_pending)
SWARM_GAUGE(g_streams, streams_open)
SWARM_GAUGE(g_bytes_in, bytes_in)
SWARM_GAUGE(g_bytes_out, bytes_out)
SWARM_GAUGE(g_conns_in, conns_in)
SWARM_GAUGE(g_conns_out, conns_out)
SWARM_GAUGE(g_dials_failed, dials_failed)
SWARM_GAUGE(g_conns_merged, conns_merged)

#define CONNMGR_GAUGE(fn, field)                                                                   \
    static double fn(void *ctx)                                                                    \
    {                                                                                              \
        connmgr_stats_t st;                                                                        \
        connmgr_stats(ctx, &st);                                                                   \
        return (double)st.field;                                                                   \
    }
CONNMGR_GAUGE(g_active, active)
CONNMGR_GAUGE(g_connecting, connecting)
CONNMGR_GAUGE(g_inbound, inbound)
CONNMGR_GAUGE(g_outbound, outbound)
CONNMGR_GAUGE(g_dials_ok, dials_ok)
CONNMGR_GAUGE(g_cm_dials_failed, dials_failed)
CONNMGR_GAUGE(g_evictions, evictions)
CONNMGR_GAUGE(g_inbound_refused, inbound_refused)
CONNMGR_GAUGE(g_low_trust, low_trust_refused)
CONNMGR_GAUGE(g_timeouts, timeout_disconnects)

static double
g_known(void *ctx)
{
    return (double)peerstore_count(ctx);
}

static double
g_rate_limited(void *ctx)
{
    ratelimit_stats_t st;
    ratelimit_stats(ctx, &st);
    return (double)st.refused;
}

static double
g_learned(void *ctx)
{
    peerex_stats_t st;
    peerex_stats(ctx, &st);
    return (double)st.learned;
}

typedef struct gauge_t {
    const char *name, *help;
    metrics_gauge_cb fn;
} gauge_t;

static const gauge_t swarm_gauges[] = {
    {"lester_swarm_connections", "upgraded connections", g_conns},
    {"lester_swarm_connections_pending", "connections dialling or handshaking", g_pending},
    {"lester_swarm_streams", "open streams", g_streams},
    {"lester_swarm_bytes_in", "bytes received", g_bytes_in},
    {"lester_swarm_bytes_out", "bytes sent", g_bytes_out},
    {"lester_swarm_connections_in", "inbound connections made", g_conns_in},
    {"lester_swarm_connections_out", "outbound connections made", g_conns_out},
    {"lester_swarm_dials_failed", "failed dials", g_dials_failed},
    {"lester_swarm_connections_merged", "simultaneous connections closed as duplicates",
     g_conns_merged},
};

static const gauge_t connmgr_gauges[] = {
    {"lester_peers_connected", "peers connected (state active)", g_active},
    {"lester_peers_connecting", "peers being dialled (state connecting)", g_connecting},
    {"lester_peers_inbound", "connected peers that dialled us", g_inbound},
    {"lester_peers_outbound", "connected peers we dialled", g_outbound},
    {"lester_peers_dials_ok", "dials by the connection manager that connected", g_dials_ok},
    {"lester_peers_dials_failed", "dials by the connection manager that failed or timed out",
     g_cm_dials_failed},
    {"lester_peers_evictions", "peers disconnected at peers.max (lowest trust first)", g_evictions},
    {"lester_peers_inbound_refused", "inbound connections refused at the peer limit or rate",
     g_inbound_refused},
    {"lester_peers_low_trust_refused",
     "connections closed at once for trust below "
     "trust.min_threshold",
     g_low_trust},
    {"lester_peers_timeouts", "peers disconnected for failed pings or idleness", g_timeouts},
};

void
node_net_metrics(node_net_t *net)
{
    metrics_t *m = net->node->metrics;
    metrics_describe(m, "lester_swarm_refused_total", METRIC_COUNTER,
                     "connections and streams refused or ended by a limit, by reason");
    metrics_describe(m, "lester_trust_events_total", METRIC_COUNTER,
                     "events reported to the trust manager hook, by kind");
    for (size_t i = 0; i < LS_ARRAY_LEN(swarm_gauges); i++)
        metrics_gauge_fn(m, swarm_gauges[i].name, swarm_gauges[i].help, swarm_gauges[i].fn,
                         net->swarm);
    for (size_t i = 0; i < LS_ARRAY_LEN(connmgr_gauges); i++)
        metrics_gauge_fn(m, connmgr_gauges[i].name, connmgr_gauges[i].help, connmgr_gauges[i].fn,
                         net->connmgr);
    metrics_gauge_fn(m, "lester_peers_known", "peers in the peer store", g_known, net->peers);
    metrics_gauge_fn(m, "lester_peers_rate_limited",
                     "inbound messages refused by the per-peer rate limit", g_rate_limited,
                     net->ratelimit);
    metrics_gauge_fn(m, "lester_peers_discovered",
                     "peers learned from other peers (/lester/peers/1.0.0)", g_learned,
                     net->peerex);
}

void
node_net_count_refusal(node_net_t *net, swarm_refusal_t why)
{
    char labels[64];
    snprintf(labels, sizeof labels, "reason=\"%s\"", swarm_refusal_name(why));
    metrics_inc(net->node->metrics, "lester_swarm_refused_total", labels);
}

static void
count_trust_event(void *ctx, const peer_id_t *peer, trust_event_t ev)
{
    node_net_t *net = ctx;
    char labels[64];
    snprintf(labels, sizeof labels, "event=\"%s\"", trust_event_name(ev));
    metrics_inc(net->node->metrics, "lester_trust_events_total", labels);
    if (net->trust_mgr) {
        trust_hook_t mgr = trust_as_hook(net->trust_mgr);
        trust_hook_report(&mgr, peer, ev);
    }
}

trust_hook_t
node_net_trust_hook(node_net_t *net)
{
    return (trust_hook_t){.ctx = net, .report = count_trust_event};
}
