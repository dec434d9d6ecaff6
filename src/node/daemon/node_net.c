/* node_net — bring the libp2p host up and down, and feed its counters to /metrics. */
#define LOG_MODULE "net"
#include "node/daemon/node_net.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/log/log.h"
#include "net/diag/diag.h"

#define AGENT_VERSION "lester/" LESTER_VERSION

static void
on_refusal(void *ctx, swarm_refusal_t why, const peer_id_t *peer)
{
    node_t *n = ctx;
    char labels[64];
    (void)peer; /* the trust manager hook is a no-op until the gossip issue lands */
    snprintf(labels, sizeof labels, "reason=\"%s\"", swarm_refusal_name(why));
    metrics_inc(n->metrics, "lester_swarm_refused_total", labels);
}

#define STAT_GAUGE(fn, field)                 \
    static double fn(void *ctx)               \
    {                                         \
        swarm_stats_t st;                     \
        swarm_get_stats(ctx, &st);            \
        return (double)st.field;              \
    }
STAT_GAUGE(g_conns, conns_open)
STAT_GAUGE(g_pending, conns_pending)
STAT_GAUGE(g_streams, streams_open)
STAT_GAUGE(g_bytes_in, bytes_in)
STAT_GAUGE(g_bytes_out, bytes_out)
STAT_GAUGE(g_conns_in, conns_in)
STAT_GAUGE(g_conns_out, conns_out)
STAT_GAUGE(g_dials_failed, dials_failed)

static void
setup_metrics(node_t *n, swarm_t *sw)
{
    metrics_describe(n->metrics, "lester_swarm_refused_total", METRIC_COUNTER,
                     "connections and streams refused or ended by a limit, by reason");
    metrics_gauge_fn(n->metrics, "lester_swarm_connections", "upgraded connections",
                     g_conns, sw);
    metrics_gauge_fn(n->metrics, "lester_swarm_connections_pending",
                     "connections dialling or handshaking", g_pending, sw);
    metrics_gauge_fn(n->metrics, "lester_swarm_streams", "open streams", g_streams, sw);
    metrics_gauge_fn(n->metrics, "lester_swarm_bytes_in", "bytes received", g_bytes_in, sw);
    metrics_gauge_fn(n->metrics, "lester_swarm_bytes_out", "bytes sent", g_bytes_out, sw);
    metrics_gauge_fn(n->metrics, "lester_swarm_connections_in", "inbound connections made",
                     g_conns_in, sw);
    metrics_gauge_fn(n->metrics, "lester_swarm_connections_out", "outbound connections made",
                     g_conns_out, sw);
    metrics_gauge_fn(n->metrics, "lester_swarm_dials_failed", "failed dials", g_dials_failed,
                     sw);
}

static int
listen_all(node_net_t *net, buf_t *err)
{
    const char **items;
    size_t count = config_get_strlist(net->node->cfg, "swarm.listen", &items);
    for (size_t i = 0; i < count; i++) {
        multiaddr_t *ma = NULL;
        int rc = multiaddr_parse(items[i], &ma);
        if (rc == 0)
            rc = swarm_listen(net->swarm, ma);
        multiaddr_free(ma);
        if (rc < 0) {
            buf_printf(err, "cannot listen on %s: %s (is another node using it? change "
                            "swarm.listen)", items[i], ls_strerror(rc));
            return rc;
        }
    }
    multiaddr_t **addrs;
    size_t n = swarm_announce_addrs(net->swarm, &addrs);
    identify_set_addrs(net->identify, (const multiaddr_t *const *)addrs, n);
    for (size_t i = 0; i < n; i++)
        multiaddr_free(addrs[i]);
    free(addrs);
    return 0;
}

static void
bootstrapped(void *ctx, swarm_conn_t *c, int err)
{
    char *addr = ctx;
    if (c)
        log_info("bootstrap peer %s connected", addr);
    else
        log_warn("bootstrap peer %s: %s", addr, ls_strerror(err));
    free(addr);
}

static void
bootstrap(node_net_t *net)
{
    const char **items;
    size_t count = config_get_strlist(net->node->cfg, "swarm.bootstrap", &items);
    for (size_t i = 0; i < count; i++) {
        multiaddr_t *ma = NULL;
        char *tag = ls_strdup(items[i]);
        int rc = multiaddr_parse(items[i], &ma);
        if (rc == 0 && (rc = swarm_dial(net->swarm, ma, bootstrapped, tag)) == 0)
            tag = NULL;
        if (rc < 0)
            log_warn("bootstrap peer %s: %s", items[i], ls_strerror(rc));
        free(tag);
        multiaddr_free(ma);
    }
}

int
node_net_start(node_t *n, buf_t *err)
{
    node_net_t *net = ls_calloc(1, sizeof *net);
    net->node = n;
    n->net = net;
    swarm_config_t cfg;
    swarm_config_default(&cfg);
    cfg.max_conns = (uint32_t)config_get_int(n->cfg, "peers.max") * 4 + 64;
    swarm_hooks_t hooks = { .ctx = n, .on_refusal = on_refusal };
    net->swarm = swarm_new(n->base, &n->key, &cfg, &hooks);
    net->identify = identify_new(net->swarm, AGENT_VERSION, NULL);
    net->ping = ping_new(net->swarm, NULL);
    diag_serve(net->swarm, 256);
    setup_metrics(n, net->swarm);
    node_routes_swarm(n);
    int rc = listen_all(net, err);
    if (rc == 0)
        bootstrap(net);
    return rc;
}

void
node_net_stop(node_t *n)
{
    node_net_t *net = n->net;
    if (!net)
        return;
    swarm_free(net->swarm); /* first: its callbacks reach the services below */
    identify_free(net->identify);
    ping_free(net->ping);
    free(net);
    n->net = NULL;
}

json_t *
node_net_addresses_json(const node_t *n)
{
    json_t *arr = json_array();
    multiaddr_t **addrs;
    size_t count = n->net ? swarm_announce_addrs(n->net->swarm, &addrs) : 0;
    for (size_t i = 0; i < count; i++) {
        multiaddr_t *full = multiaddr_with_peer_id(addrs[i], &n->id);
        if (full) {
            char *s = multiaddr_to_str(full);
            json_array_append_new(arr, json_string(s));
            free(s);
        }
        multiaddr_free(full);
        multiaddr_free(addrs[i]);
    }
    if (count)
        free(addrs);
    return arr;
}
