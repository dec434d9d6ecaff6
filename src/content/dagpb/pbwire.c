/* pbwire — protobuf wire primitives; see pbwire.h. */
#include "content/dagpb/pbwire.h"

#include "lib/err/err.h"

int
pbwire_read_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = *pos;

    for (int n = 0; n < PBWIRE_VARINT_MAX; n++, i++) {
        uint8_t b;
        if (i >= len)
            return LS_EAGAIN;
        b = p[i];
        if (n == PBWIRE_VARINT_MAX - 1 && b > 1)
            return LS_EINVAL; /* above 2^64 - 1 */
        v |= (uint64_t)(b & 0x7f) << (7 * n);
        if (!(b & 0x80)) {
            if (b == 0 && n > 0)
                return LS_EINVAL; /* not minimal */
            *pos = i + 1;
            *out = v;
            return 0;
        }
    }
    return LS_EINVAL;
}

int
pbwire_read_key(const uint8_t *p, size_t len, size_t *pos, uint32_t *field, int *wire)
{
    uint64_t k;
    int rc = pbwire_read_varint(p, len, pos, &k);

    if (rc < 0)
        return rc;
    if ((k >> 3) == 0 || (k >> 3) > 0x1fffffff)
        return LS_EINVAL;
    *field = (uint32_t)(k >> 3);
    *wire = (int)(k & 7);
    return 0;
}

int
pbwire_read_bytes(const uint8_t *p, size_t len, size_t *pos, const uint8_t **out, size_t *out_len)
{
    uint64_t n;
    int rc = pbwire_read_varint(p, len, pos, &n);

    if (rc < 0)
        return rc == LS_EAGAIN ? LS_EINVAL : rc;
    if (n > len - *pos)
        return LS_EINVAL;
    *out = p + *pos;
    *out_len = (size_t)n;
    *pos += (size_t)n;
    return 0;
}

int
pbwire_skip(const uint8_t *p, size_t len, size_t *pos, int wire)
{
    const uint8_t *ignored;
    size_t ignored_len;
    uint64_t v;
    size_t width;

    switch (wire) {
    case PBWIRE_VARINT:
        return pbwire_read_varint(p, len, pos, &v) < 0 ? LS_EINVAL : 0;
    case PBWIRE_LEN:
        return pbwire_read_bytes(p, len, pos, &ignored, &ignored_len);
    case PBWIRE_I64:
    case PBWIRE_I32:
        width = wire == PBWIRE_I64 ? 8 : 4;
        if (width > len - *pos)
            return LS_EINVAL;
        *pos += width;
        return 0;
    default:
        return LS_EINVAL;
    }
}

size_t
pbwire_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t
pbwire_put_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

int
pbwire_append_varint(buf_t *b, uint64_t v)
{
    uint8_t tmp[PBWIRE_VARINT_MAX];
    return buf_append(b, tmp, pbwire_put_varint(tmp, v));
}

int
pbwire_append_key(buf_t *b, uint32_t field, int wire)
{
    return pbwire_append_varint(b, ((uint64_t)field << 3) | (uint64_t)wire);
}

int
pbwire_append_bytes(buf_t *b, uint32_t field, const void *p, size_t len)
{
    uint8_t tmp[2 * PBWIRE_VARINT_MAX];
    size_t n = pbwire_put_varint(tmp, ((uint64_t)field << 3) | PBWIRE_LEN);

    n += pbwire_put_varint(tmp + n, len);
    if (buf_reserve(b, n + len) < 0)
        return LS_ETOOBIG;
    buf_append(b, tmp, n);
    return buf_append(b, p, len);
}
