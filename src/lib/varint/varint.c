/* varint — multiformats unsigned varint; see varint.h. */
#include "lib/varint/varint.h"

#include "lib/err/err.h"

size_t
varint_encode(uint64_t v, uint8_t out[static VARINT_MAX_LEN])
{
    size_t n = 0;

    if (v > VARINT_MAX_VALUE)
        return 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

int
varint_decode(const uint8_t *p, size_t len, uint64_t *v)
{
    uint64_t acc = 0;

    for (size_t i = 0; i < VARINT_MAX_LEN; i++) {
        if (i == len)
            return LS_EAGAIN;
        acc |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (p[i] & 0x80)
            continue;
        /* A zero final group after the first byte added nothing: not minimal. */
        if (p[i] == 0 && i > 0)
            return LS_EINVAL;
        *v = acc;
        return (int)i + 1;
    }
    return LS_EINVAL; /* a tenth byte would be needed */
}

size_t
varint_len(uint64_t v)
{
    size_t n = 1;

    if (v > VARINT_MAX_VALUE)
        return 0;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

int
varint_append(buf_t *b, uint64_t v)
{
    uint8_t tmp[VARINT_MAX_LEN];
    size_t n = varint_encode(v, tmp);

    if (n == 0)
        return LS_ERANGE;
    return buf_append(b, tmp, n);
}
