/* record_codec — canonical MessagePack for records (the rules are in record.h).
 *
 * Encoding goes through msgpack-c's packer, which already picks the smallest header for
 * every integer, string, bin, array and map; we only feed it keys in canonical order.
 *
 * Decoding is a strict reader written here rather than msgpack-c's unpacker, for two
 * reasons: the unpacker reports values, not which of several encodings carried them, so
 * it cannot tell a canonical record from a padded one; and it allocates an array or map
 * for the count in its header before reading the elements (a 5-byte input can ask for
 * gigabytes). The reader checks every count against the bytes left before allocating,
 * and every header for minimality as it goes. As a last guard the result is re-encoded
 * with the packer and compared with the input, so "decodes" implies "is the canonical
 * encoding" even if a rule above were missed. */
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "lib/err/err.h"
#include "lib/mem/mem.h"
#include "lib/record/record.h"
#include "lib/record/record_impl.h"

/* ---- encoding --------------------------------------------------------------------- */

static int
write_buf(void *data, const char *p, size_t len)
{
    return buf_append(data, p, len) < 0 ? -1 : 0;
}

static int enc_map(msgpack_packer *pk, const record_t *r, const char *skip, int depth);
static int enc_value(msgpack_packer *pk, const record_value_t *v, int depth);

static int
enc_bytes(msgpack_packer *pk, record_type_t type, const void *p, size_t len)
{
    if (len > UINT32_MAX)
        return LS_ETOOBIG;
    if (type == RECORD_T_STR)
        return msgpack_pack_str_with_body(pk, p, len) ? LS_ETOOBIG : 0;
    return msgpack_pack_bin_with_body(pk, p, len) ? LS_ETOOBIG : 0;
}

static int
enc_array(msgpack_packer *pk, const record_array_t *a, int depth)
{
    if (depth > RECORD_MAX_DEPTH || a->n > UINT32_MAX)
        return LS_ETOOBIG;
    if (msgpack_pack_array(pk, a->n))
        return LS_ETOOBIG;
    for (size_t i = 0; i < a->n; i++) {
        int rc = enc_value(pk, &a->v[i], depth);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* `depth` is that of the container holding `v`. */
static int
enc_value(msgpack_packer *pk, const record_value_t *v, int depth)
{
    int rc = 0;
    switch (v->type) {
    case RECORD_T_UINT:
        rc = msgpack_pack_uint64(pk, v->as.u);
        break;
    case RECORD_T_NINT:
        rc = msgpack_pack_int64(pk, v->as.i);
        break;
    case RECORD_T_BOOL:
        rc = v->as.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
        break;
    case RECORD_T_STR:
    case RECORD_T_BIN:
        return enc_bytes(pk, v->type, v->as.bytes.p, v->as.bytes.len);
    case RECORD_T_MAP:
        return enc_map(pk, v->as.map, NULL, depth + 1);
    case RECORD_T_ARRAY:
        return enc_array(pk, v->as.arr, depth + 1);
    }
    return rc ? LS_ETOOBIG : 0;
}

static bool
is_skipped(const record_entry_t *e, const char *skip, size_t skiplen)
{
    return skip && e->keylen == skiplen && memcmp(e->key, skip, skiplen) == 0;
}

static int
enc_map(msgpack_packer *pk, const record_t *r, const char *skip, int depth)
{
    size_t skiplen = skip ? strlen(skip) : 0, n = r->n;
    if (depth > RECORD_MAX_DEPTH)
        return LS_ETOOBIG;
    for (size_t i = 0; i < r->n; i++)
        n -= is_skipped(&r->e[i], skip, skiplen);
    if (n > UINT32_MAX || msgpack_pack_map(pk, n))
        return LS_ETOOBIG;
    for (size_t i = 0; i < r->n; i++) {
        const record_entry_t *e = &r->e[i];
        if (is_skipped(e, skip, skiplen))
            continue;
        int rc = enc_bytes(pk, RECORD_T_STR, e->key, e->keylen);
        if (rc == 0)
            rc = enc_value(pk, &e->val, depth);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
record_encode_skip(const record_t *r, const char *skip, buf_t *out)
{
    msgpack_packer pk;
    size_t start = out->len;

    msgpack_packer_init(&pk, out, write_buf);
    int rc = enc_map(&pk, r, skip, 1);
    if (rc < 0)
        buf_truncate(out, start);
    return rc;
}

int
record_encode(const record_t *r, buf_t *out)
{
    return record_encode_skip(r, NULL, out);
}

/* ---- decoding --------------------------------------------------------------------- */

typedef struct reader_t {
    const uint8_t *p;
    size_t len, pos;
} reader_t;

/* What a header announces. K_INVALID is 0 so unlisted table slots are invalid. */
enum { K_INVALID, K_NONCANON, K_UINT, K_NINT, K_BOOL, K_STR, K_BIN, K_ARRAY, K_MAP };

typedef struct header_t {
    int kind;
    uint64_t n; /* K_UINT value, K_BOOL 0/1, K_STR/K_BIN length, K_ARRAY/K_MAP count */
    int64_t i;  /* K_NINT value */
} header_t;

/* Headers 0xc0..0xdf: kind, width of the length/value that follows, and the smallest
 * value that may use this form (anything smaller has a shorter canonical form). */
typedef struct form_t {
    uint8_t kind, width;
    uint64_t min;
} form_t;

static const form_t forms[32] = {
    [0x00] = {K_NONCANON, 0, 0}, /* nil */
    [0x02] = {K_BOOL, 0, 0},     /* false */
    [0x03] = {K_BOOL, 0, 1},     /* true */
    [0x04] = {K_BIN, 1, 0},         [0x05] = {K_BIN, 2, 1u << 8},
    [0x06] = {K_BIN, 4, 1u << 16},  [0x07] = {K_NONCANON, 0, 0}, /* ext 8/16/32 */
    [0x08] = {K_NONCANON, 0, 0},    [0x09] = {K_NONCANON, 0, 0},
    [0x0a] = {K_NONCANON, 0, 0},    [0x0b] = {K_NONCANON, 0, 0}, /* float 32/64 */
    [0x0c] = {K_UINT, 1, 1u << 7},  [0x0d] = {K_UINT, 2, 1u << 8},
    [0x0e] = {K_UINT, 4, 1u << 16}, [0x0f] = {K_UINT, 8, (uint64_t)1 << 32},
    [0x10] = {K_NINT, 1, 32},       [0x11] = {K_NINT, 2, 1u << 7}, /* min = -bound */
    [0x12] = {K_NINT, 4, 1u << 15}, [0x13] = {K_NINT, 8, (uint64_t)1 << 31},
    [0x14] = {K_NONCANON, 0, 0},    [0x15] = {K_NONCANON, 0, 0}, /* fixext */
    [0x16] = {K_NONCANON, 0, 0},    [0x17] = {K_NONCANON, 0, 0},
    [0x18] = {K_NONCANON, 0, 0},    [0x19] = {K_STR, 1, 32},
    [0x1a] = {K_STR, 2, 1u << 8},   [0x1b] = {K_STR, 4, 1u << 16},
    [0x1c] = {K_ARRAY, 2, 16},      [0x1d] = {K_ARRAY, 4, 1u << 16},
    [0x1e] = {K_MAP, 2, 16},        [0x1f] = {K_MAP, 4, 1u << 16},
};

static int
take(reader_t *r, size_t n, const uint8_t **out)
{
    if (n > r->len - r->pos)
        return LS_EINVAL;
    *out = r->p + r->pos;
    r->pos += n;
    return 0;
}

/* The one-byte forms: fixint, fixmap, fixarray, fixstr, negative fixint. */
static bool
read_fixed(uint8_t b, header_t *h)
{
    if (b < 0x80)
        *h = (header_t){K_UINT, b, 0};
    else if (b < 0x90)
        *h = (header_t){K_MAP, b & 0x0f, 0};
    else if (b < 0xa0)
        *h = (header_t){K_ARRAY, b & 0x0f, 0};
    else if (b < 0xc0)
        *h = (header_t){K_STR, b & 0x1f, 0};
    else if (b >= 0xe0)
        *h = (header_t){K_NINT, 0, (int8_t)b};
    else
        return false;
    return true;
}

static int
read_header(reader_t *r, header_t *h)
{
    const uint8_t *p;
    uint64_t v = 0;
    int rc = take(r, 1, &p);
    if (rc < 0 || read_fixed(*p, h))
        return rc;
    const form_t *f = &forms[*p - 0xc0];
    if (f->kind == K_INVALID || f->kind == K_NONCANON)
        return f->kind == K_INVALID ? LS_EINVAL : LS_ENONCANON;
    if (f->kind == K_BOOL) {
        *h = (header_t){K_BOOL, f->min, 0};
        return 0;
    }
    if ((rc = take(r, f->width, &p)) < 0)
        return rc;
    for (size_t k = 0; k < f->width; k++)
        v = (v << 8) | p[k];
    if (f->kind != K_NINT) {
        *h = (header_t){f->kind, v, 0};
        return v < f->min ? LS_ENONCANON : 0;
    }
    /* sign-extend; canonical only if below the range of every shorter form */
    unsigned shift = 64 - 8 * f->width;
    int64_t s = (int64_t)(v << shift) >> shift;
    *h = (header_t){K_NINT, 0, s};
    return s < -(int64_t)f->min ? 0 : LS_ENONCANON;
}

/* Copy a str or bin of `len` bytes out of the input, NUL-terminated. */
static int
read_bytes(reader_t *r, int kind, uint64_t len, record_value_t *out)
{
    const uint8_t *p;
    int rc = take(r, len, &p);
    if (rc < 0)
        return rc;
    if (kind == K_STR && !record_text_is_valid(p, len))
        return LS_EINVAL;
    uint8_t *copy = ls_malloc(len + 1);
    memcpy(copy, p, len);
    copy[len] = '\0';
    *out = (record_value_t){.type = kind == K_STR ? RECORD_T_STR : RECORD_T_BIN,
                            .as.bytes = {copy, len}};
    return 0;
}

static int read_value(reader_t *r, int depth, record_value_t *out);

static int
read_array(reader_t *r, uint64_t count, int depth, record_array_t **out)
{
    if (count > r->len - r->pos) /* every element takes at least a byte */
        return LS_EINVAL;
    record_array_t *a = record_array_new();
    if (count > 0) { /* sized once: the count is already bounded by the input */
        a->v = ls_malloc(count * sizeof *a->v);
        a->cap = count;
    }
    for (uint64_t i = 0; i < count; i++) {
        record_value_t v;
        int rc = read_value(r, depth, &v);
        if (rc < 0) {
            record_array_free_(a);
            return rc;
        }
        record_array_append(a, &v);
    }
    *out = a;
    return 0;
}

/* One key: a str that sorts strictly after the previous key of `m`. */
static int
read_key(reader_t *r, const record_t *m, const uint8_t **key, size_t *keylen)
{
    header_t h;
    int rc = read_header(r, &h);
    if (rc < 0)
        return rc;
    if (h.kind != K_STR)
        return LS_ENONCANON;
    if ((rc = take(r, h.n, key)) < 0)
        return rc;
    *keylen = h.n;
    if (!record_text_is_valid(*key, *keylen))
        return LS_EINVAL;
    if (m->n > 0) {
        const record_entry_t *prev = &m->e[m->n - 1];
        if (record_key_cmp(prev->key, prev->keylen, (const char *)*key, *keylen) >= 0)
            return LS_ENONCANON; /* unsorted or duplicate */
    }
    return 0;
}

static int
read_map(reader_t *r, uint64_t count, int depth, record_t **out)
{
    if (count > (r->len - r->pos) / 2) /* every entry takes at least two bytes */
        return LS_EINVAL;
    record_t *m = record_new();
    if (count > 0) {
        m->e = ls_malloc(count * sizeof *m->e);
        m->cap = count;
    }
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *key;
        size_t keylen;
        record_value_t v;
        int rc = read_key(r, m, &key, &keylen);
        if (rc == 0)
            rc = read_value(r, depth, &v);
        if (rc < 0) {
            record_free_(m);
            return rc;
        }
        record_append_sorted(m, ls_strndup((const char *)key, keylen), keylen, &v);
    }
    *out = m;
    return 0;
}

/* `depth` is that of the container holding the value. */
static int
read_value(reader_t *r, int depth, record_value_t *out)
{
    header_t h;
    int rc = read_header(r, &h);
    if (rc < 0)
        return rc;
    switch (h.kind) {
    case K_UINT:
        *out = (record_value_t){.type = RECORD_T_UINT, .as.u = h.n};
        return 0;
    case K_NINT:
        *out = (record_value_t){.type = RECORD_T_NINT, .as.i = h.i};
        return 0;
    case K_BOOL:
        *out = (record_value_t){.type = RECORD_T_BOOL, .as.b = h.n};
        return 0;
    case K_STR:
    case K_BIN:
        return read_bytes(r, h.kind, h.n, out);
    default:
        break;
    }
    if (depth + 1 > RECORD_MAX_DEPTH)
        return LS_ETOOBIG;
    if (h.kind == K_MAP) {
        out->type = RECORD_T_MAP;
        return read_map(r, h.n, depth + 1, &out->as.map);
    }
    out->type = RECORD_T_ARRAY;
    return read_array(r, h.n, depth + 1, &out->as.arr);
}

/* The guard described at the top: the canonical encoding of what we parsed must be the
 * input itself. */
static bool
reencodes_to(const record_t *m, const uint8_t *p, size_t len)
{
    buf_t again = BUF_INIT(len);
    bool same =
        record_encode(m, &again) == 0 && again.len == len && memcmp(again.data, p, len) == 0;
    buf_free(&again);
    return same;
}

int
record_decode(const uint8_t *p, size_t len, size_t max, record_t **out)
{
    reader_t r = {p, len, 0};
    record_t *m = NULL;
    header_t h;

    *out = NULL;
    if (len > max)
        return LS_ETOOBIG;
    int rc = read_header(&r, &h);
    if (rc == 0 && h.kind != K_MAP)
        rc = LS_EINVAL;
    if (rc == 0)
        rc = read_map(&r, h.n, 1, &m);
    if (rc == 0 && (r.pos != len || !reencodes_to(m, p, len)))
        rc = LS_ENONCANON;
    if (rc < 0)
        record_free_(m);
    else
        *out = m;
    return rc;
}
