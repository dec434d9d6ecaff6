/* car_header — dag-cbor CARv1 header (dag-cbor spec "Strictness"); see car_header.h. */
#include "content/car/car_header.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "content/car/car.h"
#include "lib/err/err.h"

enum { MT_UINT = 0, MT_BYTES = 2, MT_TEXT = 3, MT_ARRAY = 4, MT_MAP = 5, MT_TAG = 6 };
#define TAG_CID 42

static int
put_head(buf_t *b, int major, uint64_t v)
{
    uint8_t h[9];
    size_t n;

    h[0] = (uint8_t)(major << 5);
    if (v < 24) {
        h[0] |= (uint8_t)v;
        n = 1;
    } else if (v <= 0xff) {
        h[0] |= 24;
        h[1] = (uint8_t)v;
        n = 2;
    } else if (v <= 0xffff) {
        h[0] |= 25;
        h[1] = (uint8_t)(v >> 8);
        h[2] = (uint8_t)v;
        n = 3;
    } else {
        h[0] |= 26; /* nothing here needs 64-bit heads */
        for (int i = 0; i < 4; i++)
            h[1 + i] = (uint8_t)(v >> (24 - 8 * i));
        n = 5;
    }
    return buf_append(b, h, n);
}

int
car_header_encode(const cid_t *roots, size_t n, buf_t *out)
{
    size_t start = out->len;
    buf_t c = BUF_INIT(CAR_MAX_CID + 1);
    int rc;

    if (n > CAR_MAX_ROOTS)
        return LS_EINVAL;
    rc = put_head(out, MT_MAP, 2);
    if (rc == 0 && (rc = put_head(out, MT_TEXT, 5)) == 0)
        rc = buf_append(out, "roots", 5);
    if (rc == 0)
        rc = put_head(out, MT_ARRAY, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        buf_clear(&c);
        buf_append_byte(&c, 0x00); /* multibase identity prefix of binary CIDs */
        if ((rc = cid_to_bytes(&roots[i], &c)) < 0)
            break;
        if ((rc = put_head(out, MT_TAG, TAG_CID)) == 0 &&
            (rc = put_head(out, MT_BYTES, c.len)) == 0)
            rc = buf_append(out, c.data, c.len);
    }
    if (rc == 0 && (rc = put_head(out, MT_TEXT, 7)) == 0)
        rc = buf_append(out, "version", 7);
    if (rc == 0)
        rc = put_head(out, MT_UINT, 1);
    buf_free(&c);
    if (rc < 0)
        buf_truncate(out, start);
    return rc;
}

/* Read one head at *pos: major type and argument, refusing indefinite lengths,
 * 64-bit arguments and non-minimal forms. */
static int
get_head(const uint8_t *p, size_t len, size_t *pos, int *major, uint64_t *v)
{
    size_t i = *pos, extra;
    uint8_t ai;

    if (i >= len)
        return LS_EPROTO;
    *major = p[i] >> 5;
    ai = p[i] & 31;
    if (ai < 24) {
        *v = ai;
        *pos = i + 1;
        return 0;
    }
    if (ai > 26)
        return LS_EPROTO;
    extra = (size_t)1 << (ai - 24);
    if (len - i - 1 < extra)
        return LS_EPROTO;
    *v = 0;
    for (size_t k = 0; k < extra; k++)
        *v = (*v << 8) | p[i + 1 + k];
    if ((ai == 24 && *v < 24) || (ai == 25 && *v <= 0xff) || (ai == 26 && *v <= 0xffff))
        return LS_EPROTO; /* not the shortest form */
    *pos = i + 1 + extra;
    return 0;
}

static bool
expect_text(const uint8_t *p, size_t len, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    int major;
    uint64_t v;

    if (get_head(p, len, pos, &major, &v) < 0 || major != MT_TEXT || v != n || len - *pos < n ||
        memcmp(p + *pos, s, n) != 0)
        return false;
    *pos += n;
    return true;
}

static int
get_cid(const uint8_t *p, size_t len, size_t *pos, cid_t *out)
{
    int major, n;
    uint64_t v;

    if (get_head(p, len, pos, &major, &v) < 0 || major != MT_TAG || v != TAG_CID)
        return LS_EPROTO;
    if (get_head(p, len, pos, &major, &v) < 0 || major != MT_BYTES || v < 2 || v > len - *pos)
        return LS_EPROTO;
    if (p[*pos] != 0x00)
        return LS_EPROTO;
    n = cid_from_bytes(out, p + *pos + 1, (size_t)v - 1);
    if (n < 0 || (uint64_t)n != v - 1)
        return LS_EPROTO;
    *pos += (size_t)v;
    return 0;
}

static int
get_roots(const uint8_t *p, size_t len, size_t *pos, cid_t **roots, size_t *n)
{
    int major, rc;
    uint64_t v;

    if (get_head(p, len, pos, &major, &v) < 0 || major != MT_ARRAY)
        return LS_EPROTO;
    if (v > CAR_MAX_ROOTS)
        return LS_ETOOBIG;
    *roots = ls_calloc(v ? v : 1, sizeof **roots);
    for (size_t i = 0; i < v; i++)
        if ((rc = get_cid(p, len, pos, &(*roots)[i])) < 0)
            return rc;
    *n = (size_t)v;
    return 0;
}

int
car_header_decode(const uint8_t *p, size_t len, cid_t **roots, size_t *n)
{
    size_t pos = 0;
    int major, rc;
    uint64_t v, pairs;

    *roots = NULL;
    *n = 0;
    if (get_head(p, len, &pos, &major, &pairs) < 0 || major != MT_MAP)
        return LS_EPROTO;
    if (pairs == 1 && expect_text(p, len, &pos, "version")) /* CARv2 pragma, or odd */
        return get_head(p, len, &pos, &major, &v) == 0 && major == MT_UINT && v == 2 && pos == len
                   ? LS_ENOTSUP
                   : LS_EPROTO;
    if (pairs != 2 || !expect_text(p, len, &pos, "roots"))
        return LS_EPROTO;
    rc = get_roots(p, len, &pos, roots, n);
    if (rc == 0 && !expect_text(p, len, &pos, "version"))
        rc = LS_EPROTO;
    if (rc == 0 && (get_head(p, len, &pos, &major, &v) < 0 || major != MT_UINT))
        rc = LS_EPROTO;
    if (rc == 0 && v != 1)
        rc = LS_ENOTSUP;
    if (rc == 0 && pos != len)
        rc = LS_EPROTO;
    if (rc < 0) {
        free(*roots);
        *roots = NULL;
        *n = 0;
    }
    return rc;
}
