/* pbread — lenient protobuf wire reader; see pbread.h. */
#include "lib/pbread/pbread.h"

#include "lib/err/err.h"

int
pbread_varint(pbread_t *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (r->off >= r->len)
            return LS_EINVAL;
        uint8_t b = r->p[r->off++];
        if (i == 9 && b > 1)
            return LS_EINVAL; /* would overflow 64 bits */
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return LS_EINVAL;
}

int
pbread_bytes(pbread_t *r, const uint8_t **p, size_t *n)
{
    uint64_t l;
    if (pbread_varint(r, &l) < 0 || l > r->len - r->off)
        return LS_EINVAL;
    *p = r->p + r->off;
    *n = (size_t)l;
    r->off += (size_t)l;
    return 0;
}

int
pbread_tag(pbread_t *r, uint64_t *field, unsigned *wire)
{
    uint64_t t;
    if (pbread_varint(r, &t) < 0)
        return LS_EINVAL;
    *field = t >> 3;
    *wire = (unsigned)(t & 7);
    if (*field == 0 || *field > 0x1fffffff ||
        (*wire != 0 && *wire != 1 && *wire != 2 && *wire != 5))
        return LS_EINVAL;
    return 0;
}

int
pbread_skip(pbread_t *r, unsigned wire)
{
    uint64_t v;
    const uint8_t *p;
    size_t n;
    if (wire == 0)
        return pbread_varint(r, &v);
    if (wire == 2)
        return pbread_bytes(r, &p, &n);
    if (wire != 1 && wire != 5)
        return LS_EINVAL;
    n = wire == 1 ? 8 : 4;
    if (r->len - r->off < n)
        return LS_EINVAL;
    r->off += n;
    return 0;
}

int
pbread_uint(pbread_t *r, unsigned wire, uint64_t *v)
{
    return wire == 0 ? pbread_varint(r, v) : LS_EINVAL;
}

int
pbread_len(pbread_t *r, unsigned wire, const uint8_t **p, size_t *n)
{
    return wire == 2 ? pbread_bytes(r, p, n) : LS_EINVAL;
}
