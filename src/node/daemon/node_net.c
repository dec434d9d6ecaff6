/* node_net — bring the libp2p host up and down (node_net.h). */
#define LOG_MODULE "net"
#include "node/daemon/node_net.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/log/log.h"
#include "net/diag/diag.h"
#include "node/daemon/node_dht.h"
#include "node/daemon/node_pubsub.h"

#define AGENT_VERSION "lester/" LESTER_VERSION

/* Listen on every address of swarm.listen. A malformed address is a config error;
 * an address that cannot be bound (no IPv6 on this host, say) is only a warning as
 * long as another one works, as kubo does. */
static int
listen_all(node_net_t *net, buf_t *err)
{
    const char **items;
    size_t count = config_get_strlist(net->node->cfg, "swarm.listen", &items);
    size_t bound = 0;
    int first_rc = 0;
    for (size_t i = 0; i < count; i++) {
        multiaddr_t *ma = NULL;
        int rc = multiaddr_parse(items[i], &ma);
        if (rc < 0) {
            buf_printf(err, "swarm.listen: '%s' is not a valid multiaddr", items[i]);
            return rc;
        }
        rc = swarm_listen(net->swarm, ma);
        multiaddr_free(ma);
        if (rc == 0) {
            bound++;
            continue;
        }
        log_warn("cannot listen on %s: %s", items[i], ls_strerror(rc));
        if (!first_rc) {
            first_rc = rc;
            buf_printf(err, "cannot listen on %s: %s (is another node using it? change "
                            "swarm.listen)", items[i], ls_strerror(rc));
        }
    }
    if (count > 0 && bound == 0)
        return first_rc;
    buf_clear(err);
    multiaddr_t **addrs;
    size_t n = swarm_announce_addrs(net->swarm, &addrs);
    identify_set_addrs(net->identify, (const multiaddr_t *const *)addrs, n);
    for (size_t i = 0; i < n; i++)
        multiaddr_free(addrs[i]);
    free(addrs);
    return 0;
}

/* Limits of the swarm from the config; 0 for max_connections means "derive it". */
static void
swarm_config_from(const config_t *cfg, swarm_config_t *out)
{
    swarm_config_default(out);
    int64_t max_conns = config_get_int(cfg, "swarm.max_connections");
    out->max_conns = max_conns ? (uint32_t)max_conns
                               : (uint32_t)config_get_int(cfg, "peers.max") * 4 + 64;
    out->max_streams_per_conn = (uint32_t)config_get_int(cfg, "swarm.max_streams_per_conn");
}

int
node_net_start(node_t *n, buf_t *err)
{
    node_net_t *net = ls_calloc(1, sizeof *net);
    net->node = n;
    n->net = net;
    int rc = node_peers_init(net, err);
    if (rc < 0)
        return rc;
    swarm_config_t cfg;
    swarm_config_from(n->cfg, &cfg);
    swarm_hooks_t hooks = node_peers_hooks(net);
    net->swarm = swarm_new(n->base, &n->key, &cfg, &hooks);
    identify_env_t id_env = node_peers_identify_env(net);
    net->identify = identify_new(net->swarm, AGENT_VERSION, &id_env);
    ping_config_t pcfg;
    ping_config_default(&pcfg);
    pcfg.interval_ms = 0; /* the connection manager sends keepalive pings */
    net->ping = ping_new(net->swarm, &pcfg);
    net->peerex = peerex_new(net->swarm, net->peers);
    diag_serve(net->swarm, 256);
    node_trust_start(net);
    node_pubsub_start(net);
    node_net_metrics(net);
    node_routes_swarm(n);
    node_routes_trust(n);
    if ((rc = listen_all(net, err)) == 0 && (rc = node_dht_start(net, err)) == 0)
        node_peers_start(net);
    return rc;
}

void
node_net_stop(node_t *n)
{
    node_net_t *net = n->net;
    if (!net)
        return;
    node_dht_stop(net);     /* its streams go with the swarm, lookups before */
    swarm_free(net->swarm); /* first: its callbacks reach the services below */
    node_pubsub_stop(net);
    identify_free(net->identify);
    ping_free(net->ping);
    peerex_free(net->peerex);
    node_peers_free(net);
    node_trust_free(net); /* last: the others report to it until freed */
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
