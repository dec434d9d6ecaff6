/* config — schema, values, getters, config_set and output. Reading files is in
 * config_load.c. */
#define LOG_MODULE "config"
#include "lib/config/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/config/config_internal.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "lib/log/log.h"
#include "lib/mem/mem.h"

/* Doubles are written with 15 significant digits: every decimal a person typed
 * with up to 15 digits reads back as the same double, and 0.1 is written "0.1"
 * rather than "0.10000000000000001". */
#define DUMP_FLAGS (JSON_SORT_KEYS | JSON_REAL_PRECISION(15))

/* ---- lookup ---- */

static int
cmp_index(const void *a, const void *b)
{
    return strcmp(((const config_index_t *)a)->key, ((const config_index_t *)b)->key);
}

long
config_find(const config_t *cfg, const char *key)
{
    config_index_t probe = {key, 0};
    const config_index_t *hit =
        cfg->n ? bsearch(&probe, cfg->order, cfg->n, sizeof probe, cmp_index) : NULL;
    return hit ? (long)hit->idx : -1;
}

static bool
starts_with_segment(const char *key, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(key, prefix, n) == 0 && key[n] == '.';
}

bool
config_is_prefix(const config_t *cfg, const char *prefix)
{
    for (size_t i = 0; i < cfg->n; i++) {
        if (starts_with_segment(cfg->schema[i].key, prefix))
            return true;
    }
    return false;
}

bool
config_has_key(const config_t *cfg, const char *key)
{
    return config_find(cfg, key) >= 0;
}

/* ---- values ---- */

static int
dump_to_buf(const char *p, size_t n, void *data)
{
    return buf_append(data, p, n) < 0 ? -1 : 0;
}

int
config_dump(const json_t *v, size_t flags, buf_t *out)
{
    return json_dump_callback(v, dump_to_buf, out, flags | JSON_ENCODE_ANY) ? LS_ETOOBIG : 0;
}

void
config_describe_value(const json_t *v, buf_t *out)
{
    buf_t tmp = BUF_INIT(BUF_UNLIMITED);
    config_dump(v, JSON_COMPACT, &tmp);
    if (tmp.len > 60) {
        buf_truncate(&tmp, 57);
        buf_append_str(&tmp, "...");
    }
    buf_append(out, tmp.data ? tmp.data : (uint8_t *)"", tmp.len);
    buf_free(&tmp);
}

static bool
is_bounded(const config_key_t *k)
{
    return !(k->min == 0 && k->max == 0);
}

static void
describe_type(const config_key_t *k, buf_t *out)
{
    switch (k->type) {
    case CONFIG_INT:
    case CONFIG_DOUBLE:
        buf_append_str(out, k->type == CONFIG_INT ? "an integer" : "a number");
        if (is_bounded(k))
            buf_printf(out, " between %.15g and %.15g", k->min, k->max);
        break;
    case CONFIG_BOOL:
        buf_append_str(out, "true or false");
        break;
    case CONFIG_STRING:
        buf_append_str(out, "a string");
        break;
    case CONFIG_STRLIST:
        buf_append_str(out, "a list of strings");
        break;
    }
}

static bool
value_fits(const config_key_t *k, const json_t *v)
{
    switch (k->type) {
    case CONFIG_INT:
        return json_is_integer(v) && (!is_bounded(k) || ((double)json_integer_value(v) >= k->min &&
                                                         (double)json_integer_value(v) <= k->max));
    case CONFIG_DOUBLE:
        return json_is_number(v) && isfinite(json_number_value(v)) &&
               (!is_bounded(k) ||
                (json_number_value(v) >= k->min && json_number_value(v) <= k->max));
    case CONFIG_BOOL:
        return json_is_boolean(v);
    case CONFIG_STRING:
        return json_is_string(v);
    case CONFIG_STRLIST:
        if (!json_is_array(v))
            return false;
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (!json_is_string(json_array_get(v, i)))
                return false;
        }
        return true;
    }
    return false;
}

int
config_check_value(const config_key_t *k, const json_t *v, buf_t *why)
{
    if (value_fits(k, v))
        return 0;
    buf_printf(why, "\"%s\" must be ", k->key);
    describe_type(k, why);
    buf_append_str(why, ", got ");
    config_describe_value(v, why);
    return LS_ECONFIG;
}

void
config_store(config_t *cfg, size_t idx, json_t *v)
{
    config_value_t *val = &cfg->values[idx];
    json_decref(val->json);
    free(val->list);
    val->json = v;
    val->list = NULL;
    val->nlist = 0;
    if (cfg->schema[idx].type != CONFIG_STRLIST)
        return;
    val->nlist = json_array_size(v);
    val->list = ls_calloc(val->nlist + 1, sizeof *val->list);
    for (size_t i = 0; i < val->nlist; i++)
        val->list[i] = json_string_value(json_array_get(v, i));
}

/* ---- construction ---- */

static void schema_bug(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
schema_bug(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_error("bad configuration schema: %s", msg);
    abort();
}

static bool
key_is_well_formed(const char *key)
{
    size_t n = strlen(key);
    return n > 0 && key[0] != '.' && key[n - 1] != '.' && !strstr(key, "..");
}

static void
check_schema_key(config_t *cfg, size_t i)
{
    const config_key_t *k = &cfg->schema[i];
    if (!k->key || !key_is_well_formed(k->key))
        schema_bug("key #%zu is malformed", i);
    if (k->min > k->max)
        schema_bug("\"%s\": min > max", k->key);
    for (size_t j = 0; j < cfg->n; j++) {
        if (j != i && strcmp(cfg->schema[j].key, k->key) == 0)
            schema_bug("\"%s\" appears twice", k->key);
        if (starts_with_segment(cfg->schema[j].key, k->key))
            schema_bug("\"%s\" is both a key and a prefix of \"%s\"", k->key, cfg->schema[j].key);
    }
    json_t *v = k->default_json ? json_loads(k->default_json, JSON_DECODE_ANY, NULL) : NULL;
    buf_t why = BUF_INIT(BUF_UNLIMITED);
    if (!v || config_check_value(k, v, &why) < 0)
        schema_bug("default of \"%s\": %s", k->key, v ? buf_cstr(&why) : "not JSON");
    buf_free(&why);
    config_store(cfg, i, v);
}

config_t *
config_new(const config_key_t *schema, size_t n)
{
    config_t *cfg = ls_calloc(1, sizeof *cfg);
    cfg->schema = schema;
    cfg->n = n;
    cfg->values = ls_calloc(n ? n : 1, sizeof *cfg->values);
    cfg->order = ls_calloc(n ? n : 1, sizeof *cfg->order);
    for (size_t i = 0; i < n; i++) {
        check_schema_key(cfg, i);
        cfg->order[i] = (config_index_t){schema[i].key, i};
    }
    qsort(cfg->order, n, sizeof *cfg->order, cmp_index);
    return cfg;
}

void
config_free_(config_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        json_decref(cfg->values[i].json);
        free(cfg->values[i].list);
    }
    free(cfg->values);
    free(cfg->order);
    free(cfg);
}

/* ---- getters ---- */

static const config_value_t *
get_typed(const config_t *cfg, const char *key, config_type_t type)
{
    long i = config_find(cfg, key);
    if (i < 0 || cfg->schema[i].type != type) {
        /* a bug in the caller: the schema and the code disagree */
        log_error("config key \"%s\" %s", key, i < 0 ? "is not in the schema" : "has another type");
        abort();
    }
    return &cfg->values[i];
}

int64_t
config_get_int(const config_t *cfg, const char *key)
{
    return (int64_t)json_integer_value(get_typed(cfg, key, CONFIG_INT)->json);
}

bool
config_get_bool(const config_t *cfg, const char *key)
{
    return json_is_true(get_typed(cfg, key, CONFIG_BOOL)->json);
}

double
config_get_double(const config_t *cfg, const char *key)
{
    return json_number_value(get_typed(cfg, key, CONFIG_DOUBLE)->json);
}

const char *
config_get_str(const config_t *cfg, const char *key)
{
    return json_string_value(get_typed(cfg, key, CONFIG_STRING)->json);
}

size_t
config_get_strlist(const config_t *cfg, const char *key, const char ***items)
{
    const config_value_t *v = get_typed(cfg, key, CONFIG_STRLIST);
    *items = v->list;
    return v->nlist;
}

/* ---- config_set ---- */

static char *
trimmed(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return ls_strndup(s, n);
}

static json_t *
parse_number(const char *t, bool integer)
{
    if (!*t)
        return NULL;
    char *end = NULL;
    errno = 0;
    if (integer) {
        long long v = strtoll(t, &end, 10);
        return (*end || errno) ? NULL : json_integer(v);
    }
    double d = strtod(t, &end);
    return (*end || errno || !isfinite(d)) ? NULL : json_real(d);
}

static json_t *
parse_bool(const char *t)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < LS_ARRAY_LEN(yes); i++) {
        if (strcasecmp(t, yes[i]) == 0)
            return json_true();
        if (strcasecmp(t, no[i]) == 0)
            return json_false();
    }
    return NULL;
}

static json_t *
parse_list(const char *t)
{
    if (t[0] == '[')
        return json_loads(t, JSON_DECODE_ANY, NULL);
    json_t *arr = json_array();
    const char *p = t;
    while (arr) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char *raw = ls_strndup(p, len);
        char *item = trimmed(raw);
        if (*item && json_array_append_new(arr, json_string(item)) < 0) {
            json_decref(arr); /* json_string() gave NULL: not UTF-8 */
            arr = NULL;
        }
        free(item);
        free(raw);
        if (!comma)
            break;
        p = comma + 1;
    }
    return arr;
}

static json_t *
parse_for_type(config_type_t type, const char *t)
{
    switch (type) {
    case CONFIG_INT:
        return parse_number(t, true);
    case CONFIG_DOUBLE:
        return parse_number(t, false);
    case CONFIG_BOOL:
        return parse_bool(t);
    case CONFIG_STRING:
        return t[0] == '"' ? json_loads(t, JSON_DECODE_ANY, NULL) : json_string(t);
    case CONFIG_STRLIST:
        return parse_list(t);
    }
    return NULL;
}

int
config_set(config_t *cfg, const char *key, const char *value_text, buf_t *err)
{
    long i = config_find(cfg, key);
    buf_t why = BUF_INIT(BUF_UNLIMITED);
    int rc = 0;
    if (i < 0) {
        buf_printf(&why, "unknown key \"%s\"", key);
        rc = LS_ECONFIG;
        goto out;
    }
    /* a STRING keeps its spaces; everything else is read trimmed */
    char *t = cfg->schema[i].type == CONFIG_STRING && value_text[0] != '"' ? ls_strdup(value_text)
                                                                           : trimmed(value_text);
    json_t *v = parse_for_type(cfg->schema[i].type, t);
    free(t);
    if (!v) {
        json_t *typed = json_string(value_text); /* NULL if not UTF-8 */
        buf_printf(&why, "\"%s\" must be ", key);
        describe_type(&cfg->schema[i], &why);
        buf_append_str(&why, ", got ");
        if (typed)
            config_describe_value(typed, &why);
        else
            buf_append_str(&why, "text that is not UTF-8");
        json_decref(typed);
        rc = LS_ECONFIG;
    } else if ((rc = config_check_value(&cfg->schema[i], v, &why)) < 0) {
        json_decref(v);
    } else {
        config_store(cfg, (size_t)i, v);
    }
out:
    if (rc < 0 && err)
        buf_append(err, why.data, why.len);
    buf_free(&why);
    return rc;
}

/* ---- output ---- */

/* Build the nested object of every key equal to `prefix` or under it (all keys
 * when `prefix` is NULL). Segments of keys under the prefix become objects. */
static json_t *
build_tree(const config_t *cfg, const char *prefix)
{
    json_t *root = json_object();
    size_t skip = prefix ? strlen(prefix) + 1 : 0;
    for (size_t i = 0; i < cfg->n; i++) {
        const char *key = cfg->schema[i].key;
        if (prefix && !starts_with_segment(key, prefix))
            continue;
        json_t *obj = root;
        char *path = ls_strdup(key + skip);
        char *save = NULL;
        char *seg = strtok_r(path, ".", &save);
        for (char *next; (next = strtok_r(NULL, ".", &save)); seg = next) {
            json_t *child = json_object_get(obj, seg);
            if (!child) {
                child = json_object();
                json_object_set_new(obj, seg, child);
            }
            obj = child;
        }
        json_object_set(obj, seg, cfg->values[i].json);
        free(path);
    }
    return root;
}

char *
config_to_json(const config_t *cfg)
{
    json_t *root = build_tree(cfg, NULL);
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    config_dump(root, JSON_INDENT(2) | DUMP_FLAGS, &out);
    buf_append_byte(&out, '\n');
    json_decref(root);
    return buf_take_str(&out);
}

int
config_save(const config_t *cfg, const char *path)
{
    char *text = config_to_json(cfg);
    int rc = fs_write_atomic(path, text, strlen(text), 0600);
    free(text);
    return rc;
}

int
config_get_json(const config_t *cfg, const char *key, buf_t *out)
{
    long i = config_find(cfg, key);
    if (i >= 0)
        return config_dump(cfg->values[i].json, JSON_COMPACT | DUMP_FLAGS, out);
    if (!config_is_prefix(cfg, key))
        return LS_ENOENT;
    json_t *tree = build_tree(cfg, key);
    int rc = config_dump(tree, JSON_COMPACT | DUMP_FLAGS, out);
    json_decref(tree);
    return rc;
}
