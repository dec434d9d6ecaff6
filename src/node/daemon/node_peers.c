/* node_peers — seed 001's peer management wired into the libp2p host (issue 3):
 * swarm events and hooks -> connection manager, identify -> peer store, connection
 * manager -> swarm (dial, disconnect, ping), the timer that drives it, bootstrap, and
 * discovery through /lester/peers/1.0.0 while below peers.min.
 *
 * Clocks: the connection manager and the rate limiter run on monotonic ms, the peer
 * store's last_seen on wall ms (it outlives the process). */
#define LOG_MODULE "peers"
#include <stdlib.h>
#include <string.h>

#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "node/daemon/node_dht.h"
#include "node/daemon/node_net.h"
#include "node/daemon/node_pubsub.h"
#include "pubsub/trust/trust_msg.h"

/* ---- swarm hooks ---- */

static bool
allow_inbound(void *ctx)
{
    node_net_t *net = ctx;
    connmgr_stats_t cm;
    swarm_stats_t sw; /* handshakes in flight are not in the manager's count yet: a
                         burst of them (DHT lookups of many peers) must not pass the cap */
    connmgr_stats(net->connmgr, &cm);
    swarm_get_stats(net->swarm, &sw);
    if (cm.active + sw.conns_pending >= connmgr_inbound_cap(net->connmgr))
        return false;
    return connmgr_allow_inbound(net->connmgr, clock_mono_ms());
}

/* Message protocols pass the per-peer rate limiter; bulk data (diag, and whatever
 * upper layers stream) is paced by yamux windows instead (ratelimit.h). */
static bool
is_message_protocol(const char *protocol)
{
    static const char *const limited[] = {IDENTIFY_PROTOCOL_ID, IDENTIFY_PUSH_PROTOCOL_ID,
                                          PING_PROTOCOL_ID, PEEREX_PROTOCOL_ID,
                                          TRUST_PROTOCOL_ID};
    for (size_t i = 0; i < LS_ARRAY_LEN(limited); i++)
        if (strcmp(protocol, limited[i]) == 0)
            return true;
    return false;
}

static bool
allow_stream(void *ctx, const peer_id_t *peer, const char *protocol)
{
    node_net_t *net = ctx;
    if (!is_message_protocol(protocol))
        return true;
    return ratelimit_allow(net->ratelimit, peer, 0, clock_mono_ms());
}

static void
on_dial_failed(void *ctx, const peer_id_t *peer, int err)
{
    node_net_t *net = ctx;
    connmgr_on_dial_failed(net->connmgr, peer, err, clock_mono_ms());
}

/* What a refusal tells the trust manager about the peer, if anything. Rate-limiter
 * refusals are reported by the limiter itself (once per interval). */
static bool
refusal_event(swarm_refusal_t why, trust_event_t *ev)
{
    switch (why) {
    case SWARM_REFUSE_PROTOCOL_ERROR:
    case SWARM_REFUSE_STREAM_FLOOD:
    case SWARM_REFUSE_MESSAGE_SIZE:
        *ev = TRUST_PROTOCOL_VIOLATION;
        return true;
    case SWARM_REFUSE_STREAM_LIMIT:
    case SWARM_REFUSE_STREAM_RATE:
        /* not per refused stream: a burst would sink an honest peer's trust before
         * the swarm judged it a flood (which is reported above, once) */
        return false;
    case SWARM_REFUSE_IDLE:
    case SWARM_REFUSE_HANDSHAKE_TIMEOUT:
        *ev = TRUST_TIMEOUT;
        return true;
    default:
        return false;
    }
}

static void
on_refusal(void *ctx, swarm_refusal_t why, const peer_id_t *peer)
{
    node_net_t *net = ctx;
    trust_event_t ev;
    node_net_count_refusal(net, why);
    if (peer && refusal_event(why, &ev))
        connmgr_report(net->connmgr, peer, ev);
}

swarm_hooks_t
node_peers_hooks(node_net_t *net)
{
    return (swarm_hooks_t){.ctx = net,
                           .on_refusal = on_refusal,
                           .allow_inbound = allow_inbound,
                           .allow_stream = allow_stream,
                           .on_dial_failed = on_dial_failed};
}

/* ---- connection manager -> swarm ---- */

static int
env_dial(void *ctx, const peer_id_t *peer, const multiaddr_t *addr)
{
    node_net_t *net = ctx;
    swarm_conn_t *c = swarm_find_conn(net->swarm, peer);
    if (c) { /* already connected: no event will follow, so report it now */
        connmgr_on_connected(net->connmgr, peer, swarm_conn_is_inbound(c), clock_mono_ms());
        return 0;
    }
    multiaddr_t *ma = multiaddr_with_peer_id(addr, peer);
    int rc = ma ? swarm_dial(net->swarm, ma, NULL, NULL) : LS_EINVAL;
    multiaddr_free(ma);
    return rc;
}

static void
env_disconnect(void *ctx, const peer_id_t *peer, const char *reason)
{
    node_net_t *net = ctx;
    swarm_disconnect(net->swarm, peer, reason);
}

static void
pinged(void *ctx, const peer_id_t *peer, int64_t rtt_us, int err)
{
    node_net_t *net = ctx;
    /* a peer that refuses ping is alive all the same */
    bool ok = err == 0 || err == LS_ENOTSUP;
    connmgr_on_ping(net->connmgr, peer, ok, err == 0 ? (uint64_t)rtt_us / 1000 : 0,
                    clock_mono_ms());
    if (ok)
        peerstore_touch(net->peers, peer, clock_wall_ms());
}

static void
env_ping(void *ctx, const peer_id_t *peer)
{
    node_net_t *net = ctx;
    int rc = ping_peer(net->ping, peer, pinged, net);
    if (rc < 0)
        connmgr_on_ping(net->connmgr, peer, false, 0, clock_mono_ms());
}

/* The swarm's address source for peers it has no address of. */
static size_t
lookup_addrs(void *ctx, const peer_id_t *peer, multiaddr_t **out, size_t max)
{
    node_net_t *net = ctx;
    peer_view_t v;
    size_t n = 0;
    if (peerstore_get(net->peers, peer, &v))
        for (; n < v.n_addrs && n < max; n++)
            out[n] = multiaddr_dup(v.addrs[n]);
    return n;
}

/* ---- swarm events -> connection manager and peer store ---- */

static void
on_connected(void *ctx, swarm_conn_t *c)
{
    node_net_t *net = ctx;
    const peer_id_t *peer = swarm_conn_peer(c);
    peerstore_touch(net->peers, peer, clock_wall_ms());
    if (!swarm_conn_is_inbound(c)) /* this address worked: dial it first next time */
        peerstore_confirm_addr(net->peers, peer, swarm_conn_remote_addr(c), clock_wall_ms());
    if (swarm_peer_conn_count(net->swarm, peer) != 1)
        return; /* the manager hears of the first connection only */
    peer_id_t id = *peer;
    if (connmgr_on_connected(net->connmgr, &id, swarm_conn_is_inbound(c), clock_mono_ms()) == 0)
        env_ping(net, &id); /* a first round trip for `swarm peers` */
}

static void
on_disconnected(void *ctx, swarm_conn_t *c, int reason)
{
    node_net_t *net = ctx;
    const peer_id_t *peer = swarm_conn_peer(c);
    (void)reason;
    peerstore_touch(net->peers, peer, clock_wall_ms());
    if (swarm_peer_conn_count(net->swarm, peer) > 0)
        return; /* ... and of the last one to close */
    connmgr_on_disconnected(net->connmgr, peer, clock_mono_ms());
    ratelimit_forget(net->ratelimit, peer);
}

static bool
below_min(const node_net_t *net)
{
    connmgr_stats_t st;
    connmgr_stats(net->connmgr, &st);
    return st.active + st.connecting < net->cm_cfg.min_peers;
}

/* Identify results go to the peer store; a new peer that shares peers is asked for
 * them at once while we have too few. */
static void
on_identified(void *ctx, swarm_conn_t *c, const identify_info_t *info, bool push)
{
    node_net_t *net = ctx;
    const peer_id_t *peer = swarm_conn_peer(c);
    peerstore_t *ps = net->peers;
    uint64_t now = clock_wall_ms();
    if (info->n_listen_addrs)
        peerstore_add_addrs(ps, peer, (const multiaddr_t *const *)info->listen_addrs,
                            info->n_listen_addrs, now);
    if (info->public_key &&
        peerstore_set_pubkey(ps, peer, info->public_key, info->public_key_len) == LS_EPEERID)
        log_info("identify: a public key that does not match the peer ID");
    if (info->has_protocols || !push)
        peerstore_set_protocols(ps, peer, (const char *const *)info->protocols, info->n_protocols);
    if (info->agent_version)
        peerstore_set_agent(ps, peer, info->agent_version);
    peerstore_touch(ps, peer, now);
    node_pubsub_on_identified(net, c, info);
    node_dht_on_identified(net, c, info);
    if (!push && net->discovery_ms && below_min(net) &&
        peerstore_has_protocol(ps, peer, PEEREX_PROTOCOL_ID))
        peerex_request(net->peerex, peer);
}

identify_env_t
node_peers_identify_env(node_net_t *net)
{
    return (identify_env_t){.ctx = net, .on_identified = on_identified};
}

/* ---- the timer: connection manager and discovery ---- */

/* Below peers.min, ask one connected peer that shares peers (in turn) what it knows. */
static void
discover(node_net_t *net, uint64_t now)
{
    if (!net->discovery_ms || now < net->next_discovery)
        return;
    net->next_discovery = now + net->discovery_ms;
    if (!below_min(net))
        return;
    peer_id_t active[256];
    size_t n = connmgr_active_peers(net->connmgr, active, LS_ARRAY_LEN(active));
    for (size_t k = 0; k < n; k++) {
        const peer_id_t *p = &active[(net->discovery_turn + k) % n];
        if (peerstore_has_protocol(net->peers, p, PEEREX_PROTOCOL_ID)) {
            net->discovery_turn += k + 1;
            peerex_request(net->peerex, p);
            return;
        }
    }
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    node_net_t *net = arg;
    (void)fd;
    (void)what;
    uint64_t now = clock_mono_ms();
    uint64_t next = connmgr_tick(net->connmgr, now);
    discover(net, now);
    if (net->discovery_ms)
        next = LS_MIN(next, net->next_discovery);
    uint64_t wait = next > now ? next - now : 1;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
    evtimer_add(net->ev_tick, &tv);
}

/* ---- bootstrap ---- */

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

/* `swarm.bootstrap`: addresses with /p2p go to the connection manager, which dials
 * them first and again whenever it is below peers.min; one without a peer ID can
 * only be dialled once, at start. */
static void
add_bootstrap(node_net_t *net)
{
    const char **items;
    size_t count = config_get_strlist(net->node->cfg, "swarm.bootstrap", &items);
    for (size_t i = 0; i < count; i++) {
        multiaddr_t *ma = NULL;
        peer_id_t id;
        int rc = multiaddr_parse(items[i], &ma);
        if (rc == 0 && multiaddr_get_peer_id(ma, &id)) {
            rc = connmgr_add_bootstrap(net->connmgr, ma);
        } else if (rc == 0) {
            char *tag = ls_strdup(items[i]);
            if ((rc = swarm_dial(net->swarm, ma, bootstrapped, tag)) < 0)
                free(tag);
        }
        if (rc < 0)
            log_warn("bootstrap peer %s: %s", items[i], ls_strerror(rc));
        multiaddr_free(ma);
    }
}

/* ---- lifecycle ---- */

int
node_peers_init(node_net_t *net, buf_t *err)
{
    const config_t *cfg = net->node->cfg;
    int rc = connmgr_config_from(&net->cm_cfg, cfg, err);
    ratelimit_config_t rl;
    if (rc == 0)
        rc = ratelimit_config_from(&rl, cfg, err);
    if (rc < 0)
        return rc;
    net->cm_cfg.grace_ms = (uint64_t)config_get_int(cfg, "peers.grace_ms");
    net->discovery_ms = (uint64_t)config_get_int(cfg, "peers.discovery_interval_ms");
    peerstore_config_t pc;
    peerstore_config_default(&pc, config_get_double(cfg, "trust.initial"));
    pc.flush_interval_ms = (uint64_t)config_get_int(cfg, "peers.flush_interval_ms");
    net->peers = peerstore_new_with(net->node->db, &pc);
    if ((rc = node_trust_init(net, err)) < 0)
        return rc;
    net->trust = node_net_trust_hook(net);
    net->ratelimit = ratelimit_new(&rl, &net->trust);
    connmgr_env_t env = {
        .ctx = net, .dial = env_dial, .disconnect = env_disconnect, .ping = env_ping};
    net->connmgr = connmgr_new(&net->cm_cfg, net->peers, &env);
    connmgr_set_self(net->connmgr, &net->node->id);
    connmgr_set_trust_hook(net->connmgr, &net->trust);
    return 0;
}

void
node_peers_start(node_net_t *net)
{
    swarm_events_t ev = {net, on_connected, on_disconnected};
    swarm_add_events(net->swarm, &ev);
    swarm_set_addr_lookup(net->swarm, lookup_addrs, net);
    add_bootstrap(net);
    log_info("peer store: %zu peers cached; keeping %u to %u connected",
             peerstore_count(net->peers), net->cm_cfg.min_peers, net->cm_cfg.max_peers);
    net->next_discovery = clock_mono_ms() + net->discovery_ms;
    net->ev_tick = evtimer_new(net->node->base, on_tick, net);
    event_active(net->ev_tick, EV_TIMEOUT, 0); /* dial at once */
}

void
node_peers_free(node_net_t *net)
{
    if (net->ev_tick)
        event_free(net->ev_tick);
    net->ev_tick = NULL;
    connmgr_free(net->connmgr);
    ratelimit_free(net->ratelimit);
    peerstore_free(net->peers); /* flushes */
}

int
node_peers_disconnect(node_net_t *net, const peer_id_t *peer, const char *reason)
{
    int closed = (int)swarm_peer_conn_count(net->swarm, peer);
    connmgr_disconnect(net->connmgr, peer, reason, clock_mono_ms());
    swarm_disconnect(net->swarm, peer, reason); /* whatever the manager did not know */
    return closed;
}
