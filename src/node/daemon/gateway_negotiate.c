/* gateway_negotiate — format, Accept, CAR and scope parameters of a gateway request
 * (see gateway_negotiate.h). */
#include "node/daemon/gateway_negotiate.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "lib/err/err.h"

/* Media ranges read from one Accept header; the rest are ignored (evhttp already
 * caps a header at 16 KiB). */
#define ACCEPT_MAX_RANGES 64
/* Longest media type or CAR parameter value compared; longer ones match nothing. */
#define MEDIA_MAX 128
#define PARAM_MAX 16

typedef enum accept_kind_t {
    KIND_FILE, /* a deserialized answer fits */
    KIND_RAW,
    KIND_CAR,
    KIND_NO, /* a format Lester does not serve, or a CAR variant it cannot give */
} accept_kind_t;

/* One media range: type, weight in thousandths (-1 malformed), CAR parameters. */
typedef struct media_range_t {
    char type[MEDIA_MAX];
    int q;
    char version[PARAM_MAX], order[PARAM_MAX], dups[PARAM_MAX];
    bool too_long;
} media_range_t;

static bool
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static const char *
skip_ows(const char *p)
{
    while (is_ows(*p))
        p++;
    return p;
}

/* Copy a token or quoted string at `p` into out[0..cap) (truncation sets *too_long);
 * returns the first byte after it. Stops at ';', ',', '=', whitespace or the end. */
static const char *
read_word(const char *p, char *out, size_t cap, bool *too_long)
{
    size_t n = 0;
    bool quoted = *p == '"';
    if (quoted)
        p++;
    while (*p && (quoted ? *p != '"' : !strchr(";,= \t", *p))) {
        if (quoted && *p == '\\' && p[1])
            p++;
        if (n + 1 < cap)
            out[n++] = *p;
        else
            *too_long = true;
        p++;
    }
    if (quoted && *p == '"')
        p++;
    out[n] = '\0';
    return p;
}

/* "0", "0.5", "1", "1.000": thousandths, or -1 (RFC 9110 12.4.2's qvalue). */
static int
parse_q(const char *s)
{
    if ((s[0] != '0' && s[0] != '1') || (s[1] && s[1] != '.'))
        return -1;
    int q = (s[0] - '0') * 1000, scale = 100;
    for (const char *d = s[1] ? s + 2 : s + 1; *d; d++, scale /= 10) {
        if (*d < '0' || *d > '9' || scale == 0 || (s[0] == '1' && *d != '0'))
            return -1;
        q += (*d - '0') * scale;
    }
    return q;
}

static void
set_param(media_range_t *m, const char *name, const char *value, bool long_value)
{
    char *dst = NULL;
    if (strcasecmp(name, "q") == 0) {
        m->q = long_value ? -1 : parse_q(value);
        return;
    }
    if (strcasecmp(name, "version") == 0)
        dst = m->version;
    else if (strcasecmp(name, "order") == 0)
        dst = m->order;
    else if (strcasecmp(name, "dups") == 0)
        dst = m->dups;
    if (!dst)
        return;
    if (long_value)
        m->too_long = true;
    memcpy(dst, value, strlen(value) + 1);
}

/* Parse one media range at `p` (after any separators) into `*m`; returns where
 * the next one may start (at a ',' or the end). Always advances past `p` when *p. */
static const char *
read_range(const char *p, media_range_t *m)
{
    memset(m, 0, sizeof *m);
    m->q = 1000;
    p = read_word(p, m->type, sizeof m->type, &m->too_long);
    while (*p && *p != ',') {
        p = skip_ows(p);
        if (*p != ';') {
            if (*p && *p != ',')
                p++; /* a stray byte: skip it, the range stays what it is */
            continue;
        }
        char name[PARAM_MAX], value[PARAM_MAX] = "";
        bool long_name = false, long_value = false;
        p = read_word(skip_ows(p + 1), name, sizeof name, &long_name);
        p = skip_ows(p);
        if (*p == '=')
            p = read_word(skip_ows(p + 1), value, sizeof value, &long_value);
        if (!long_name && name[0])
            set_param(m, name, value, long_value);
    }
    return p;
}

static bool
car_params_ok(const char *version, const char *order, const char *dups)
{
    return (!version[0] || strcmp(version, "1") == 0) &&
           (!order[0] || strcasecmp(order, "dfs") == 0 || strcasecmp(order, "unk") == 0) &&
           (!dups[0] || strcasecmp(dups, "y") == 0 || strcasecmp(dups, "n") == 0);
}

static accept_kind_t
kind_of(const media_range_t *m)
{
    static const char *const unserved[] = {"application/vnd.ipld.", "application/vnd.ipfs.",
                                           "application/x-tar", "application/cbor"};
    if (m->too_long)
        return KIND_NO;
    if (strcasecmp(m->type, "application/vnd.ipld.raw") == 0)
        return KIND_RAW;
    if (strcasecmp(m->type, "application/vnd.ipld.car") == 0)
        return car_params_ok(m->version, m->order, m->dups) ? KIND_CAR : KIND_NO;
    for (size_t i = 0; i < sizeof unserved / sizeof unserved[0]; i++)
        if (strncasecmp(m->type, unserved[i], strlen(unserved[i])) == 0)
            return KIND_NO;
    return KIND_FILE;
}

/* The best acceptable range of `accept` into *best (its kind returned), KIND_NO if
 * the header names only what cannot be given, KIND_FILE if it names nothing. */
static accept_kind_t
best_range(const char *accept, media_range_t *best)
{
    accept_kind_t kind = KIND_FILE;
    bool any = false, have = false;
    const char *p = accept;
    for (int n = 0; *p && n < ACCEPT_MAX_RANGES; n++) {
        while (*p == ',' || is_ows(*p))
            p++;
        if (!*p)
            break;
        media_range_t m;
        p = read_range(p, &m);
        if (m.q < 0 || !strchr(m.type, '/'))
            continue; /* malformed: as if not sent */
        any = true;
        accept_kind_t k = kind_of(&m);
        if (m.q == 0 || k == KIND_NO)
            continue;
        bool better =
            !have || m.q > best->q || (m.q == best->q && kind == KIND_FILE && k != KIND_FILE);
        if (better) {
            *best = m;
            kind = k;
            have = true;
        }
    }
    return have || !any ? kind : KIND_NO;
}

static int
fail(const char **why, const char *msg, int rc)
{
    *why = msg;
    return rc;
}

/* car-version / car-order / car-dups, over what Accept said (`m`, may be NULL). */
static int
car_params(const gateway_request_t *in, const media_range_t *m, gateway_want_t *out,
           const char **why)
{
    const char *dups = in->car_dups ? in->car_dups : m ? m->dups : "";
    if (in->car_version && strcmp(in->car_version, "1") != 0)
        return in->car_version[0] >= '0' && in->car_version[0] <= '9'
                   ? fail(why, "only CARv1 is served (car-version=1)", LS_ENOTSUP)
                   : fail(why, "car-version must be a number", LS_EINVAL);
    if (in->car_order && strcasecmp(in->car_order, "dfs") != 0 &&
        strcasecmp(in->car_order, "unk") != 0)
        return fail(why, "only car-order=dfs (or unk) is served", LS_ENOTSUP);
    if (dups[0] && strcasecmp(dups, "y") != 0 && strcasecmp(dups, "n") != 0)
        return fail(why, "car-dups must be y or n", LS_EINVAL);
    out->dups = strcasecmp(dups, "y") == 0;
    return 0;
}

/* An optionally negative decimal of at most 18 digits, the whole of [p, end). */
static bool
parse_offset(const char *p, const char *end, int64_t *out)
{
    bool neg = p < end && *p == '-';
    int64_t v = 0;
    p += neg;
    if (p == end || end - p > 18)
        return false;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = neg ? -v : v;
    return true;
}

static int
scope_params(const gateway_request_t *in, gateway_want_t *out, const char **why)
{
    const char *s = in->dag_scope;
    out->scope = GATEWAY_SCOPE_ALL;
    if (s && strcmp(s, "entity") == 0)
        out->scope = GATEWAY_SCOPE_ENTITY;
    else if (s && strcmp(s, "block") == 0)
        out->scope = GATEWAY_SCOPE_BLOCK;
    else if (s && strcmp(s, "all") != 0)
        return fail(why, "dag-scope must be block, entity or all", LS_EINVAL);
    const char *b = in->entity_bytes;
    if (!b)
        return 0;
    const char *colon = strchr(b, ':');
    bool ok = colon && parse_offset(b, colon, &out->from);
    out->to_end = ok && strcmp(colon + 1, "*") == 0;
    if (ok && !out->to_end)
        ok = parse_offset(colon + 1, colon + strlen(colon), &out->to);
    if (!ok)
        return fail(why,
                    "entity-bytes must be from:to (integers, negative from the end, "
                    "to may be *)",
                    LS_EINVAL);
    if (!out->to_end && out->from >= 0 && out->to >= 0 && out->to < out->from)
        return fail(why, "entity-bytes: to is before from", LS_EINVAL);
    out->has_range = true;
    out->scope = GATEWAY_SCOPE_ENTITY;
    return 0;
}

/* `?format=`: 0 and out->format, or the error. */
static int
format_param(const char *f, gateway_want_t *out, const char **why)
{
    static const char *const unserved[] = {"tar",  "dag-json", "dag-cbor",
                                           "json", "cbor",     "ipns-record"};
    if (strcmp(f, "raw") == 0) {
        out->format = GATEWAY_FORMAT_RAW;
        return 0;
    }
    if (strcmp(f, "car") == 0) {
        out->format = GATEWAY_FORMAT_CAR;
        return 0;
    }
    for (size_t i = 0; i < sizeof unserved / sizeof unserved[0]; i++)
        if (strcmp(f, unserved[i]) == 0)
            return fail(why,
                        "this gateway serves format=raw and format=car (and "
                        "deserialized UnixFS without format) only",
                        LS_ENOTSUP);
    return fail(why, "unknown format (raw or car)", LS_EINVAL);
}

int
gateway_negotiate(const gateway_request_t *in, gateway_want_t *out, const char **why)
{
    memset(out, 0, sizeof *out);
    *why = "";
    media_range_t m;
    accept_kind_t k = in->accept ? best_range(in->accept, &m) : KIND_FILE;
    int rc = 0;
    if (in->format && in->format[0]) {
        rc = format_param(in->format, out, why);
    } else if (k == KIND_NO) {
        return fail(why,
                    "none of the Accept types can be served: application/vnd.ipld.raw, "
                    "application/vnd.ipld.car; version=1; order=dfs; dups=n|y, or the "
                    "deserialized file",
                    LS_ENOTSUP);
    } else {
        out->format = k == KIND_RAW   ? GATEWAY_FORMAT_RAW
                      : k == KIND_CAR ? GATEWAY_FORMAT_CAR
                                      : GATEWAY_FORMAT_FILE;
        out->by_accept = out->format != GATEWAY_FORMAT_FILE;
    }
    if (rc < 0 || out->format != GATEWAY_FORMAT_CAR)
        return rc;
    rc = car_params(in, k == KIND_CAR ? &m : NULL, out, why);
    return rc < 0 ? rc : scope_params(in, out, why);
}

int
gateway_range_resolve(const gateway_want_t *w, uint64_t size, uint64_t *lo, uint64_t *hi)
{
    /* bounds are at most 18 digits and sizes below 2^63: no overflow below */
    int64_t n = (int64_t)size, from = w->from, to = w->to_end ? n - 1 : w->to;
    if (from < 0)
        from = from + n < 0 ? 0 : from + n;
    if (to < 0)
        to += n;
    if (to > n - 1)
        to = n - 1;
    if (n > 0 && from >= n)
        return LS_ERANGE;
    if (n == 0 || to < from)
        return 1;
    *lo = (uint64_t)from;
    *hi = (uint64_t)to;
    return 0;
}

bool
gateway_etag_match(const char *h, const char *etag)
{
    size_t want = strlen(etag);
    const char *p = h;
    while (p && *p) {
        p = skip_ows(p);
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p == '"') {
            const char *close = strchr(p + 1, '"');
            if (!close)
                return false;
            if ((size_t)(close + 1 - p) == want && memcmp(p, etag, want) == 0)
                return true;
            p = close + 1;
        }
        p = strchr(p, ',');
        if (p)
            p++;
    }
    return false;
}
