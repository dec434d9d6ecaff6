/* config_load — read a configuration file, validate it against the schema, and
 * name the line of the first problem.
 *
 * jansson reports line and column for syntax errors but keeps no positions for
 * keys, so for a schema error we scan the raw text again (it is known-valid JSON
 * by then) for the key at that path and count lines up to it. */
#define LOG_MODULE "config"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config/config.h"
#include "lib/config/config_internal.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "lib/log/log.h"
#include "lib/mem/mem.h"

/* Keys in schemas are at most this many segments deep ("a.b.c.d..."); deeper
 * objects in a file are unknown keys before they are recursed into. */
#define MAX_DEPTH 32

/* ---- locating a key in the raw text ---- */

typedef struct scan_t {
    const char *p, *end;
} scan_t;

static void
skip_ws(scan_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* At a '"': move past the closing quote. False if the text ends first. */
static bool
skip_string(scan_t *s)
{
    for (s->p++; s->p < s->end; s->p++) {
        if (*s->p == '\\') {
            if (s->end - s->p < 2)
                return false;
            s->p++;
        } else if (*s->p == '"') {
            s->p++;
            return true;
        }
    }
    return false;
}

/* Move past one value of any kind, stopping at the ',', '}' or ']' after it.
 * Containers are skipped by counting depth; strings may hold brackets. */
static bool
skip_value(scan_t *s)
{
    size_t depth = 0;
    while (s->p < s->end) {
        char c = *s->p;
        if (c == '"') {
            if (!skip_string(s))
                return false;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return true;
            depth--;
        } else if (c == ',' && depth == 0) {
            return true;
        }
        s->p++;
    }
    return false;
}

/* Does the string token [tok, tok_end) decode to `want`? */
static bool
token_equals(const char *tok, size_t len, const char *want)
{
    json_t *k = json_loadb(tok, len, JSON_DECODE_ANY, NULL);
    bool eq = json_is_string(k) && strcmp(json_string_value(k), want) == 0;
    json_decref(k);
    return eq;
}

/* At a '{': the position of the key token for path `segs[0..n)`, or of the
 * deepest key of that path present, or NULL. */
static const char *
find_key(scan_t *s, const char *const *segs, size_t n)
{
    s->p++;
    for (;;) {
        skip_ws(s);
        if (s->p >= s->end || *s->p != '"')
            return NULL;
        const char *tok = s->p;
        if (!skip_string(s))
            return NULL;
        bool match = token_equals(tok, (size_t)(s->p - tok), segs[0]);
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return NULL;
        s->p++;
        skip_ws(s);
        if (match) {
            if (n == 1 || s->p >= s->end || *s->p != '{')
                return tok;
            const char *deeper = find_key(s, segs + 1, n - 1);
            return deeper ? deeper : tok;
        }
        if (!skip_value(s))
            return NULL;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ',')
            return NULL;
        s->p++;
    }
}

/* The 1-based line of the key at path `segs`, or 1 if it cannot be found. */
static int
key_line(const char *text, size_t len, const char *const *segs, size_t n)
{
    scan_t s = {text, text + len};
    skip_ws(&s);
    const char *at = (n > 0 && s.p < s.end && *s.p == '{') ? find_key(&s, segs, n) : NULL;
    int line = 1;
    for (const char *p = text; at && p < at; p++)
        line += *p == '\n';
    return line;
}

/* ---- validation ---- */

typedef struct walk_t {
    const config_t *cfg;
    json_t **staged;             /* parallel to the schema; borrowed from the document */
    const char *segs[MAX_DEPTH]; /* path of the member being looked at */
    size_t depth;
    buf_t path; /* the same path, dotted */
    buf_t why;  /* the problem, if any */
} walk_t;

static int walk_object(walk_t *w, json_t *obj);

static int
walk_member(walk_t *w, const char *key, json_t *v)
{
    const char *path = buf_cstr(&w->path);
    if (strchr(key, '.')) {
        buf_printf(&w->why, "\"%s\": a key may not contain '.'; write nested objects", path);
        return LS_ECONFIG;
    }
    long i = config_find(w->cfg, path);
    if (i >= 0) {
        if (config_check_value(&w->cfg->schema[i], v, &w->why) < 0)
            return LS_ECONFIG;
        w->staged[i] = v;
        return 0;
    }
    if (key[0] && config_is_prefix(w->cfg, path)) {
        if (json_is_object(v) && w->depth < MAX_DEPTH)
            return walk_object(w, v);
        buf_printf(&w->why, "\"%s\" must be an object of settings, got ", path);
        config_describe_value(v, &w->why);
        return LS_ECONFIG;
    }
    buf_printf(&w->why, "unknown key \"%s\"", path);
    return LS_ECONFIG;
}

/* jansson keeps members in file order, so the first problem reported is the
 * first in the file. */
static int
walk_object(walk_t *w, json_t *obj)
{
    size_t path_len = w->path.len;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (path_len > 0)
            buf_append_byte(&w->path, '.');
        buf_append_str(&w->path, key);
        w->segs[w->depth++] = key;
        int rc = walk_member(w, key, v);
        if (rc < 0)
            return rc; /* leave the path naming the culprit */
        w->depth--;
        buf_truncate(&w->path, path_len);
    }
    return 0;
}

static int
parse_text(const char *text, size_t len, const char *name, json_t **out, buf_t *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (jerr.line > 0)
            buf_printf(err, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
        else
            buf_printf(err, "%s: %s", name, jerr.text);
        return LS_ECONFIG;
    }
    if (!json_is_object(root)) {
        buf_printf(err, "%s:1: the configuration must be a JSON object ({...})", name);
        json_decref(root);
        return LS_ECONFIG;
    }
    *out = root;
    return 0;
}

static int
load_text(config_t *cfg, const char *text, size_t len, const char *name, buf_t *msg)
{
    json_t *root = NULL;
    int rc = parse_text(text, len, name, &root, msg);
    if (rc < 0)
        return rc;
    walk_t w = {.cfg = cfg, .path = BUF_INIT(BUF_UNLIMITED), .why = BUF_INIT(BUF_UNLIMITED)};
    w.staged = ls_calloc(cfg->n ? cfg->n : 1, sizeof *w.staged);
    rc = walk_object(&w, root);
    if (rc < 0) {
        buf_printf(msg, "%s:%d: %s", name, key_line(text, len, w.segs, w.depth), buf_cstr(&w.why));
    } else {
        for (size_t i = 0; i < cfg->n; i++) {
            if (w.staged[i])
                config_store(cfg, i, json_incref(w.staged[i]));
        }
    }
    free(w.staged);
    buf_free(&w.path);
    buf_free(&w.why);
    json_decref(root);
    return rc;
}

int
config_load_text(config_t *cfg, const char *text, size_t len, const char *name, buf_t *err)
{
    buf_t msg = BUF_INIT(BUF_UNLIMITED);
    int rc = load_text(cfg, text, len, name, &msg);
    if (rc < 0) {
        log_debug("%s", buf_cstr(&msg));
        if (err)
            buf_append(err, msg.data, msg.len);
    }
    buf_free(&msg);
    return rc;
}

int
config_load(config_t *cfg, const char *path, buf_t *err)
{
    buf_t text = BUF_INIT(CONFIG_MAX_FILE_BYTES);
    int rc = fs_read_all(path, CONFIG_MAX_FILE_BYTES, &text);
    if (rc < 0) {
        if (err)
            buf_printf(err, "%s: %s", path,
                       rc == LS_ETOOBIG ? "file is too large" : ls_strerror(rc));
        buf_free(&text);
        return rc;
    }
    rc = config_load_text(cfg, text.data ? (const char *)text.data : "", text.len, path, err);
    buf_free(&text);
    return rc;
}
