/* connmgr_config — defaults and seed 001's profiles for the connection manager. */
#include <string.h>

#include "lib/err/err.h"
#include "net/connmgr/connmgr.h"

static uint32_t
default_headroom(uint32_t max_peers)
{
    return LS_MAX(2, max_peers / 8);
}

void
connmgr_config_default(connmgr_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->min_peers = 8;
    cfg->max_peers = 50;
    cfg->headroom = default_headroom(cfg->max_peers);
    cfg->max_dials = 8;
    cfg->dial_timeout_ms = 15000;
    cfg->backoff_base_ms = 5000;
    cfg->backoff_max_ms = 10 * 60 * 1000;
    cfg->keepalive_ms = 15000;
    cfg->max_ping_failures = 3;
    cfg->idle_timeout_ms = 60000;
    cfg->grace_ms = 20000;
    cfg->min_trust = 0.1;
    cfg->low_trust_backoff_ms = 3600 * 1000;
    cfg->inbound_per_sec = 32;
    cfg->inbound_burst = 64;
}

int
connmgr_config_profile(connmgr_config_t *cfg, const char *profile)
{
    if (strcmp(profile, "default") == 0)
        return 0;
    if (strcmp(profile, "high-throughput") == 0) {
        cfg->max_peers = 100; /* seed 001 */
        cfg->max_dials = 16;
        cfg->inbound_per_sec = 64;
        cfg->inbound_burst = 128;
    } else if (strcmp(profile, "low-resource") == 0) {
        cfg->max_peers = 20; /* seed 001 */
        cfg->max_dials = 4;
        cfg->keepalive_ms = 30000;
        cfg->idle_timeout_ms = 120000;
        cfg->inbound_per_sec = 8;
        cfg->inbound_burst = 16;
    } else if (strcmp(profile, "high-security") == 0) {
        cfg->min_trust = 0.5; /* seed 001 */
        cfg->grace_ms = 10000;
        cfg->low_trust_backoff_ms = 6 * 3600 * 1000;
        cfg->inbound_per_sec = 8;
        cfg->inbound_burst = 16;
    } else {
        return LS_EINVAL;
    }
    cfg->min_peers = LS_MIN(cfg->min_peers, cfg->max_peers);
    cfg->headroom = default_headroom(cfg->max_peers);
    return 0;
}

int
connmgr_config_from(connmgr_config_t *out, const config_t *cfg, buf_t *err)
{
    connmgr_config_default(out);
    if (config_has_key(cfg, "profile")) {
        const char *profile = config_get_str(cfg, "profile");
        if (connmgr_config_profile(out, profile) < 0) {
            if (err)
                buf_printf(err, "unknown profile '%s'", profile);
            return LS_ECONFIG;
        }
    }
    if (config_has_key(cfg, "peers.max"))
        out->max_peers = (uint32_t)LS_MIN(LS_MAX(config_get_int(cfg, "peers.max"), 1), 100000);
    if (config_has_key(cfg, "peers.min"))
        out->min_peers = (uint32_t)LS_MIN(LS_MAX(config_get_int(cfg, "peers.min"), 0), 100000);
    if (config_has_key(cfg, "trust.min_threshold"))
        out->min_trust = config_get_double(cfg, "trust.min_threshold");
    if (out->min_peers > out->max_peers) {
        if (err)
            buf_printf(err, "peers.min (%u) is above peers.max (%u)", out->min_peers,
                       out->max_peers);
        return LS_ECONFIG;
    }
    out->headroom = default_headroom(out->max_peers);
    return 0;
}
