/* config — JSON configuration checked against a schema given by the caller.
 *
 * The schema is a static array of config_key_t. Keys are dotted paths ("api.port");
 * in the file they are nested objects ({"api": {"port": 5001}}). Every key has a
 * default, so a config_t always holds a value for every key, and config_save()
 * writes them all so the file documents the defaults.
 *
 * Loading is all-or-nothing: the first problem (syntax, unknown key, wrong type,
 * out of range) gives LS_ECONFIG and a message naming the file and line, e.g.
 *   config.json:7: "api.port" must be an integer between 1 and 65535, got "abc"
 * and leaves the configuration as it was. A file may hold a subset of the keys;
 * the others keep their current values. */
#ifndef LS_LIB_CONFIG_CONFIG_H
#define LS_LIB_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/mem/mem.h"

typedef enum {
    CONFIG_INT,    /* JSON integer, read as int64_t */
    CONFIG_BOOL,   /* true / false */
    CONFIG_DOUBLE, /* JSON number (an integer is accepted) */
    CONFIG_STRING, /* JSON string without NUL characters */
    CONFIG_STRLIST /* JSON array of strings */
} config_type_t;

typedef struct config_key_t {
    const char *key; /* dotted path, e.g. "api.port"; segments are non-empty */
    config_type_t type;
    const char *default_json; /* the default as JSON text, e.g. "5001" or "[\"a\"]" */
    double min, max;          /* inclusive bounds for INT and DOUBLE; both 0: unbounded */
    const char *help;         /* one line for `lester config` listings; may be NULL */
} config_key_t;

typedef struct config_t config_t;

/** Largest configuration file config_load() reads. */
#define CONFIG_MAX_FILE_BYTES (1u << 20)

/** A configuration holding the defaults of `schema`. The schema is borrowed and must
 *  outlive the configuration (a static array). A bad schema — duplicate keys, a key
 *  that is also a prefix of another ("api" and "api.port"), a default that does not
 *  match its type or range — is a bug: it is logged and aborts. Never returns NULL. */
config_t *config_new(const config_key_t *schema, size_t n);

/** NULL is a no-op. */
void config_free_(config_t *cfg);
#define config_free(c) FREE_AND_NULL(config_t, config_free_, (c))

/** Read and apply the file at `path` (at most CONFIG_MAX_FILE_BYTES). 0 on success;
 *  LS_ECONFIG with a message "path:line: ..." appended to `err` (may be NULL) when
 *  the file is invalid, or -errno / LS_ETOOBIG when it cannot be read (message too).
 *  On any error `cfg` is unchanged. */
int config_load(config_t *cfg, const char *path, buf_t *err);

/** Like config_load() on the `len` bytes of `text` (need not be NUL-terminated);
 *  `name` (e.g. the file name) starts every error message. */
int config_load_text(config_t *cfg, const char *text, size_t len, const char *name, buf_t *err);

/** Typed getters. `key` must be in the schema with that type: anything else is a
 *  bug and aborts. Strings are borrowed until the key is next changed (set/load) or
 *  `cfg` is freed. */
int64_t config_get_int(const config_t *cfg, const char *key);
bool config_get_bool(const config_t *cfg, const char *key);
double config_get_double(const config_t *cfg, const char *key);
const char *config_get_str(const config_t *cfg, const char *key);
/** Number of items; `*items` points to a borrowed NULL-terminated array of them. */
size_t config_get_strlist(const config_t *cfg, const char *key, const char ***items);

/** True if `key` is in the schema. */
bool config_has_key(const config_t *cfg, const char *key);

/** Set `key` from text a person typed. INT and DOUBLE take a number, BOOL takes
 *  true/false/yes/no/on/off/1/0, STRING takes a JSON string or bare text, STRLIST
 *  takes a JSON array of strings or a comma-separated list (items trimmed, empty
 *  items dropped). 0, or LS_ECONFIG with a message in `err` (may be NULL) for an
 *  unknown key or an invalid value; `cfg` is then unchanged. */
int config_set(config_t *cfg, const char *key, const char *value_text, buf_t *err);

/** Write every key to `path` as pretty JSON with nested objects and sorted keys,
 *  atomically, mode 0600. 0 or -errno. */
int config_save(const config_t *cfg, const char *path);

/** The whole configuration as pretty JSON text, NUL-terminated; caller frees with
 *  free(). */
char *config_to_json(const config_t *cfg);

/** Append the value of `key` as compact JSON text to `out` ("5001", "\"abc\"",
 *  "[\"a\",\"b\"]"). `key` may also be a prefix of keys ("api"): the value is then
 *  the object of those keys. 0, or LS_ENOENT if nothing matches. */
int config_get_json(const config_t *cfg, const char *key, buf_t *out);

#endif
