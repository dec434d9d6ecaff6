/* node_config — the keys of config.json, their defaults and the seed-001 profiles.
 *
 * The schema lives here so that `lester init` writes a file that documents every
 * key, `lester config` can validate a change before writing it, and the daemon reads
 * typed values. Later layers add their keys to the table in node_config.c. */
#ifndef LS_NODE_CONFIG_H
#define LS_NODE_CONFIG_H

#include <stddef.h>

#include "lib/buf/buf.h"
#include "lib/config/config.h"

extern const config_key_t node_config_schema[];
extern const size_t node_config_schema_len;

/** A config holding every default. Never NULL. */
config_t *node_config_new(void);
/** Load `path` over the defaults. 0, or LS_ECONFIG / -errno with a message in `err`. */
int node_config_load(const char *path, config_t **out, buf_t *err);

/** Seed 001's presets: "default", "high-throughput", "low-resource", "high-security".
 *  Sets the keys the preset names and `profile`. 0 or LS_EINVAL (unknown name). */
int node_config_apply_profile(config_t *cfg, const char *name, buf_t *err);
/** The names of the profiles, NULL-terminated. */
extern const char *const node_config_profiles[];

#endif
