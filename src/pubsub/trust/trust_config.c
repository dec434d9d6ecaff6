/* trust_config — defaults and seed 001's presets for the trust manager. */
#include "pubsub/trust/trust.h"

#include <string.h>

#include "lib/err/err.h"

void
trust_config_default(trust_config_t *cfg)
{
    *cfg = (trust_config_t){
        .initial = 0.5,
        .min_threshold = 0.1,
        .decay_rate = 0.01,
        .decay_interval_ms = 60000,
        .recommender_min = 0.6,
        .transitive_cap = 0.05,
        .valid_cap = 0.02,
        .max_recommendations = 32,
        .max_peers = 10000,
    };
}

int
trust_config_profile(trust_config_t *cfg, const char *profile)
{
    if (!profile)
        return LS_EINVAL;
    if (strcmp(profile, "high-security") == 0) {
        /* Seed 001, "For High Security". */
        cfg->initial = 0.3;
        cfg->min_threshold = 0.5;
        cfg->decay_rate = 0.02;
        return 0;
    }
    if (strcmp(profile, "default") == 0 || strcmp(profile, "high-throughput") == 0 ||
        strcmp(profile, "low-resource") == 0)
        return 0;
    return LS_EINVAL;
}

int
trust_config_from(trust_config_t *out, const config_t *cfg, buf_t *err)
{
    trust_config_t c;

    trust_config_default(&c);
    if (config_has_key(cfg, "profile")) {
        const char *p = config_get_str(cfg, "profile");
        if (trust_config_profile(&c, p) < 0) {
            if (err)
                buf_printf(err, "unknown profile '%s'", p);
            return LS_ECONFIG;
        }
    }
    if (config_has_key(cfg, "trust.initial"))
        c.initial = config_get_double(cfg, "trust.initial");
    if (config_has_key(cfg, "trust.min_threshold"))
        c.min_threshold = config_get_double(cfg, "trust.min_threshold");
    if (config_has_key(cfg, "trust.decay_rate"))
        c.decay_rate = config_get_double(cfg, "trust.decay_rate");
    if (config_has_key(cfg, "trust.valid_cap"))
        c.valid_cap = config_get_double(cfg, "trust.valid_cap");
    *out = c;
    return 0;
}
