/* record — building and reading records in memory (record.h). The encoding lives in
 * record_codec.c, signatures in record_sign.c. */
#include "lib/record/record.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/mem/mem.h"
#include "lib/record/record_impl.h"

/* ---- values ---------------------------------------------------------------------- */

void
record_value_clear(record_value_t *v)
{
    switch (v->type) {
    case RECORD_T_STR:
    case RECORD_T_BIN:
        free(v->as.bytes.p);
        break;
    case RECORD_T_MAP:
        record_free_(v->as.map);
        break;
    case RECORD_T_ARRAY:
        record_array_free_(v->as.arr);
        break;
    default:
        break;
    }
    v->type = RECORD_T_BOOL;
}

bool
record_text_is_valid(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        size_t n;
        uint32_t cp, min;
        if (c >= 0x01 && c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false; /* NUL, a continuation byte, or 0xf8..0xff */
        }
        if (n >= len - i)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

static record_value_t
make_uint(uint64_t v)
{
    return (record_value_t){.type = RECORD_T_UINT, .as.u = v};
}

static record_value_t
make_int(int64_t v)
{
    if (v >= 0)
        return make_uint((uint64_t)v);
    return (record_value_t){.type = RECORD_T_NINT, .as.i = v};
}

static record_value_t
make_bool(bool v)
{
    return (record_value_t){.type = RECORD_T_BOOL, .as.b = v};
}

/* Copy `len` bytes into a value of `type`, NUL-terminated so str values read as C
 * strings. Checks only the MessagePack length limit. */
static int
make_bytes(record_type_t type, const void *p, size_t len, record_value_t *out)
{
    if (len > UINT32_MAX)
        return LS_ETOOBIG;
    uint8_t *copy = ls_malloc(len + 1);
    if (len)
        memcpy(copy, p, len);
    copy[len] = '\0';
    *out = (record_value_t){.type = type, .as.bytes = {copy, len}};
    return 0;
}

static int
make_str(const char *s, record_value_t *out)
{
    size_t len = strlen(s);
    if (!record_text_is_valid((const uint8_t *)s, len))
        return LS_EINVAL;
    return make_bytes(RECORD_T_STR, s, len, out);
}

/* ---- getters on one value, shared by records and arrays --------------------------- */

static int
value_u64(const record_value_t *v, uint64_t *out)
{
    if (v->type == RECORD_T_NINT)
        return LS_ERANGE;
    if (v->type != RECORD_T_UINT)
        return LS_EINVAL;
    *out = v->as.u;
    return 0;
}

static int
value_i64(const record_value_t *v, int64_t *out)
{
    if (v->type == RECORD_T_NINT) {
        *out = v->as.i;
        return 0;
    }
    if (v->type != RECORD_T_UINT)
        return LS_EINVAL;
    if (v->as.u > INT64_MAX)
        return LS_ERANGE;
    *out = (int64_t)v->as.u;
    return 0;
}

static int
value_bool(const record_value_t *v, bool *out)
{
    if (v->type != RECORD_T_BOOL)
        return LS_EINVAL;
    *out = v->as.b;
    return 0;
}

static int
value_str(const record_value_t *v, const char **out)
{
    if (v->type != RECORD_T_STR)
        return LS_EINVAL;
    *out = (const char *)v->as.bytes.p;
    return 0;
}

static int
value_bin(const record_value_t *v, const uint8_t **p, size_t *len)
{
    if (v->type != RECORD_T_BIN)
        return LS_EINVAL;
    *p = v->as.bytes.p;
    *len = v->as.bytes.len;
    return 0;
}

static int
value_record(const record_value_t *v, const record_t **out)
{
    if (v->type != RECORD_T_MAP)
        return LS_EINVAL;
    *out = v->as.map;
    return 0;
}

static int
value_array(const record_value_t *v, const record_array_t **out)
{
    if (v->type != RECORD_T_ARRAY)
        return LS_EINVAL;
    *out = v->as.arr;
    return 0;
}

/* ---- records ---------------------------------------------------------------------- */

record_t *
record_new(void)
{
    return ls_calloc(1, sizeof(record_t));
}

void
record_free_(record_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->e[i].key);
        record_value_clear(&r->e[i].val);
    }
    free(r->e);
    free(r);
}

size_t
record_len(const record_t *r)
{
    return r->n;
}

int
record_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, LS_MIN(alen, blen));
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Binary search: true if found; `*at` is its index or where it would be inserted. */
static bool
find(const record_t *r, const char *key, size_t keylen, size_t *at)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = record_key_cmp(r->e[mid].key, r->e[mid].keylen, key, keylen);
        if (c == 0) {
            *at = mid;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *at = lo;
    return false;
}

static const record_value_t *
lookup(const record_t *r, const char *key)
{
    size_t at;
    return find(r, key, strlen(key), &at) ? &r->e[at].val : NULL;
}

static void
grow(record_t *r)
{
    if (r->n < r->cap)
        return;
    r->cap = r->cap ? r->cap * 2 : 8;
    r->e = ls_realloc(r->e, r->cap * sizeof *r->e);
}

/* Add or replace `key`, taking what `val` owns (released on error too). */
static int
put(record_t *r, const char *key, record_value_t *val)
{
    size_t keylen = strlen(key), at;
    if (!record_text_is_valid((const uint8_t *)key, keylen) || keylen > UINT32_MAX) {
        record_value_clear(val);
        return LS_EINVAL;
    }
    if (find(r, key, keylen, &at)) {
        record_value_clear(&r->e[at].val);
        r->e[at].val = *val;
        return 0;
    }
    grow(r);
    memmove(&r->e[at + 1], &r->e[at], (r->n - at) * sizeof *r->e);
    r->e[at] = (record_entry_t){ls_strndup(key, keylen), keylen, *val};
    r->n++;
    return 0;
}

void
record_append_sorted(record_t *r, char *key, size_t keylen, record_value_t *val)
{
    assert(r->n == 0 || record_key_cmp(r->e[r->n - 1].key, r->e[r->n - 1].keylen, key, keylen) < 0);
    grow(r);
    r->e[r->n++] = (record_entry_t){key, keylen, *val};
}

bool
record_has(const record_t *r, const char *key)
{
    return lookup(r, key) != NULL;
}

int
record_remove(record_t *r, const char *key)
{
    size_t at;
    if (!find(r, key, strlen(key), &at))
        return LS_ENOENT;
    free(r->e[at].key);
    record_value_clear(&r->e[at].val);
    memmove(&r->e[at], &r->e[at + 1], (r->n - at - 1) * sizeof *r->e);
    r->n--;
    return 0;
}

int
record_set_u64(record_t *r, const char *key, uint64_t v)
{
    record_value_t val = make_uint(v);
    return put(r, key, &val);
}

int
record_set_i64(record_t *r, const char *key, int64_t v)
{
    record_value_t val = make_int(v);
    return put(r, key, &val);
}

int
record_set_bool(record_t *r, const char *key, bool v)
{
    record_value_t val = make_bool(v);
    return put(r, key, &val);
}

int
record_set_str(record_t *r, const char *key, const char *v)
{
    record_value_t val;
    int rc = make_str(v, &val);
    return rc < 0 ? rc : put(r, key, &val);
}

int
record_set_bin(record_t *r, const char *key, const void *p, size_t len)
{
    record_value_t val;
    int rc = make_bytes(RECORD_T_BIN, p, len, &val);
    return rc < 0 ? rc : put(r, key, &val);
}

int
record_set_record(record_t *r, const char *key, record_t *child)
{
    assert(child != r);
    record_value_t val = {.type = RECORD_T_MAP, .as.map = child};
    return put(r, key, &val);
}

int
record_set_array(record_t *r, const char *key, record_array_t *a)
{
    record_value_t val = {.type = RECORD_T_ARRAY, .as.arr = a};
    return put(r, key, &val);
}

#define GET_BY_KEY(r, key, fn, ...)                                                                \
    do {                                                                                           \
        const record_value_t *v_ = lookup(r, key);                                                 \
        return v_ ? fn(v_, __VA_ARGS__) : LS_ENOENT;                                               \
    } while (0)

int
record_get_u64(const record_t *r, const char *key, uint64_t *out)
{
    GET_BY_KEY(r, key, value_u64, out);
}

int
record_get_i64(const record_t *r, const char *key, int64_t *out)
{
    GET_BY_KEY(r, key, value_i64, out);
}

int
record_get_bool(const record_t *r, const char *key, bool *out)
{
    GET_BY_KEY(r, key, value_bool, out);
}

int
record_get_str(const record_t *r, const char *key, const char **out)
{
    GET_BY_KEY(r, key, value_str, out);
}

int
record_get_bin(const record_t *r, const char *key, const uint8_t **p, size_t *len)
{
    GET_BY_KEY(r, key, value_bin, p, len);
}

int
record_get_record(const record_t *r, const char *key, const record_t **out)
{
    GET_BY_KEY(r, key, value_record, out);
}

int
record_get_array(const record_t *r, const char *key, const record_array_t **out)
{
    GET_BY_KEY(r, key, value_array, out);
}

/* ---- arrays ----------------------------------------------------------------------- */

record_array_t *
record_array_new(void)
{
    return ls_calloc(1, sizeof(record_array_t));
}

void
record_array_free_(record_array_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        record_value_clear(&a->v[i]);
    free(a->v);
    free(a);
}

size_t
record_array_len(const record_array_t *a)
{
    return a->n;
}

void
record_array_append(record_array_t *a, record_value_t *val)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->v = ls_realloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = *val;
}

static int
push(record_array_t *a, record_value_t val)
{
    record_array_append(a, &val);
    return 0;
}

int
record_array_push_u64(record_array_t *a, uint64_t v)
{
    return push(a, make_uint(v));
}

int
record_array_push_i64(record_array_t *a, int64_t v)
{
    return push(a, make_int(v));
}

int
record_array_push_bool(record_array_t *a, bool v)
{
    return push(a, make_bool(v));
}

int
record_array_push_str(record_array_t *a, const char *v)
{
    record_value_t val;
    int rc = make_str(v, &val);
    return rc < 0 ? rc : push(a, val);
}

int
record_array_push_bin(record_array_t *a, const void *p, size_t len)
{
    record_value_t val;
    int rc = make_bytes(RECORD_T_BIN, p, len, &val);
    return rc < 0 ? rc : push(a, val);
}

int
record_array_push_record(record_array_t *a, record_t *child)
{
    return push(a, (record_value_t){.type = RECORD_T_MAP, .as.map = child});
}

int
record_array_push_array(record_array_t *a, record_array_t *child)
{
    assert(child != a);
    return push(a, (record_value_t){.type = RECORD_T_ARRAY, .as.arr = child});
}

#define GET_AT(a, i, fn, ...) return (i) < (a)->n ? fn(&(a)->v[i], __VA_ARGS__) : LS_ENOENT

int
record_array_get_u64(const record_array_t *a, size_t i, uint64_t *out)
{
    GET_AT(a, i, value_u64, out);
}

int
record_array_get_i64(const record_array_t *a, size_t i, int64_t *out)
{
    GET_AT(a, i, value_i64, out);
}

int
record_array_get_bool(const record_array_t *a, size_t i, bool *out)
{
    GET_AT(a, i, value_bool, out);
}

int
record_array_get_str(const record_array_t *a, size_t i, const char **out)
{
    GET_AT(a, i, value_str, out);
}

int
record_array_get_bin(const record_array_t *a, size_t i, const uint8_t **p, size_t *len)
{
    GET_AT(a, i, value_bin, p, len);
}

int
record_array_get_record(const record_array_t *a, size_t i, const record_t **out)
{
    GET_AT(a, i, value_record, out);
}

int
record_array_get_array(const record_array_t *a, size_t i, const record_array_t **out)
{
    GET_AT(a, i, value_array, out);
}
