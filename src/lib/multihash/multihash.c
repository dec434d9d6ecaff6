/* multihash — see multihash.h. */
#include "lib/multihash/multihash.h"

#include <string.h>

#include "lib/crypto/sha256.h"
#include "lib/err/err.h"
#include "lib/varint/varint.h"

int
multihash_encode(const multihash_t *mh, buf_t *out)
{
    uint8_t tmp[MULTIHASH_MAX_LEN];
    size_t n;

    if (mh->len > MULTIHASH_MAX_DIGEST)
        return LS_EINVAL;
    n = varint_encode(mh->code, tmp);
    if (n == 0)
        return LS_ERANGE;
    n += varint_encode(mh->len, tmp + n);
    memcpy(tmp + n, mh->digest, mh->len);
    return buf_append(out, tmp, n + mh->len);
}

size_t
multihash_encoded_len(const multihash_t *mh)
{
    size_t code_len = varint_len(mh->code);

    if (code_len == 0 || mh->len > MULTIHASH_MAX_DIGEST)
        return 0;
    return code_len + varint_len(mh->len) + mh->len;
}

int
multihash_decode(const uint8_t *p, size_t len, multihash_t *out)
{
    uint64_t code, dlen;
    int n1, n2;

    if ((n1 = varint_decode(p, len, &code)) < 0)
        return n1;
    if ((n2 = varint_decode(p + n1, len - (size_t)n1, &dlen)) < 0)
        return n2;
    if (dlen > MULTIHASH_MAX_DIGEST)
        return LS_ETOOBIG;
    if (code == MULTIHASH_SHA2_256 && dlen != LS_SHA256_LEN)
        return LS_EINVAL;
    size_t hdr = (size_t)n1 + (size_t)n2;
    if (len - hdr < dlen)
        return LS_EAGAIN;
    memset(out, 0, sizeof *out);
    out->code = code;
    out->len = (size_t)dlen;
    memcpy(out->digest, p + hdr, out->len);
    return (int)(hdr + out->len);
}

void
multihash_sha256(const void *data, size_t len, multihash_t *out)
{
    memset(out, 0, sizeof *out);
    out->code = MULTIHASH_SHA2_256;
    out->len = LS_SHA256_LEN;
    sha256(out->digest, data, len);
}

int
multihash_identity(const void *data, size_t len, multihash_t *out)
{
    if (len > MULTIHASH_MAX_DIGEST)
        return LS_ETOOBIG;
    memset(out, 0, sizeof *out);
    out->code = MULTIHASH_IDENTITY;
    out->len = len;
    if (len)
        memcpy(out->digest, data, len);
    return 0;
}

bool
multihash_equal(const multihash_t *a, const multihash_t *b)
{
    return a->code == b->code && a->len == b->len && a->len <= MULTIHASH_MAX_DIGEST &&
           memcmp(a->digest, b->digest, a->len) == 0;
}

bool
multihash_verify(const multihash_t *mh, const void *data, size_t len)
{
    uint8_t d[LS_SHA256_LEN];

    switch (mh->code) {
    case MULTIHASH_SHA2_256:
        if (mh->len != LS_SHA256_LEN)
            return false;
        sha256(d, data, len);
        return memcmp(d, mh->digest, LS_SHA256_LEN) == 0;
    case MULTIHASH_IDENTITY:
        return mh->len == len && (len == 0 || memcmp(mh->digest, data, len) == 0);
    default:
        return false;
    }
}
