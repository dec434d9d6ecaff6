/* config_internal — shared by config.c and config_load.c; not for use outside
 * lib/config. */
#ifndef LS_LIB_CONFIG_CONFIG_INTERNAL_H
#define LS_LIB_CONFIG_CONFIG_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "lib/buf/buf.h"
#include "lib/config/config.h"

typedef struct config_value_t {
    json_t *json;      /* owned reference; always valid for the key's type */
    const char **list; /* STRLIST only: NULL-terminated, pointing into `json` */
    size_t nlist;
} config_value_t;

typedef struct config_index_t {
    const char *key; /* borrowed from the schema */
    size_t idx;
} config_index_t;

struct config_t {
    const config_key_t *schema; /* borrowed */
    size_t n;
    config_index_t *order;  /* sorted by key, for binary search */
    config_value_t *values; /* parallel to schema */
};

/** Index of `key` in the schema, or -1. */
long config_find(const config_t *cfg, const char *key);
/** True if some schema key starts with `prefix` followed by '.'. */
bool config_is_prefix(const config_t *cfg, const char *prefix);
/** 0 if `v` fits `k`'s type and range; otherwise append
 *  `"key" must be <what>, got <v>` to `why` and return LS_ECONFIG. */
int config_check_value(const config_key_t *k, const json_t *v, buf_t *why);
/** Replace the value of key `idx` with `v`, taking one reference to it. */
void config_store(config_t *cfg, size_t idx, json_t *v);
/** Append `v` as JSON text to `out` (`flags` as for json_dumps). 0 or LS_ETOOBIG. */
int config_dump(const json_t *v, size_t flags, buf_t *out);
/** Append `v` as compact JSON, shortened to about 60 characters with "...". */
void config_describe_value(const json_t *v, buf_t *out);

#endif
