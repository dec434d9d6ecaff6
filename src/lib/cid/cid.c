/* cid — see cid.h; follows the "Decoding Algorithm" of the CID spec. */
#include "lib/cid/cid.h"

#include <string.h>

#include "lib/err/err.h"
#include "lib/multibase/multibase.h"
#include "lib/varint/varint.h"

#define CIDV0_LEN 34      /* 0x12 0x20 + 32-byte digest */
#define CIDV0_TEXT_LEN 46 /* base58btc of 34 bytes, always "Qm..." */

int
cid_from_bytes(cid_t *out, const uint8_t *p, size_t len)
{
    uint64_t version, codec;
    multihash_t mh;
    int n1, n2, n3;

    if (len >= 1 && p[0] == MULTIHASH_SHA2_256) {
        /* 0x12 is never a valid v1 start: it is the v0 multihash prefix */
        if ((n1 = multihash_decode(p, len, &mh)) < 0)
            return n1;
        out->version = 0;
        out->codec = CID_CODEC_DAG_PB;
        out->hash = mh;
        return n1;
    }
    if ((n1 = varint_decode(p, len, &version)) < 0)
        return n1;
    if (version != 1)
        return version == 0 ? LS_EINVAL : LS_ENOTSUP;
    if ((n2 = varint_decode(p + n1, len - (size_t)n1, &codec)) < 0)
        return n2;
    if ((n3 = multihash_decode(p + n1 + n2, len - (size_t)n1 - (size_t)n2, &mh)) < 0)
        return n3;
    out->version = 1;
    out->codec = codec;
    out->hash = mh;
    return n1 + n2 + n3;
}

static bool
is_v0_compatible(const cid_t *cid)
{
    return cid->codec == CID_CODEC_DAG_PB && cid->hash.code == MULTIHASH_SHA2_256 &&
           cid->hash.len == 32;
}

int
cid_to_bytes(const cid_t *cid, buf_t *out)
{
    size_t old = out->len;
    int rc;

    if (cid->version == 0)
        return is_v0_compatible(cid) ? multihash_encode(&cid->hash, out) : LS_EINVAL;
    if (cid->version != 1)
        return LS_EINVAL;
    if ((rc = varint_append(out, 1)) < 0 || (rc = varint_append(out, cid->codec)) < 0 ||
        (rc = multihash_encode(&cid->hash, out)) < 0) {
        buf_truncate(out, old);
        return rc;
    }
    return 0;
}

/* Decode the whole of `bytes` as one CID of the given version. */
static int
cid_from_exact(cid_t *out, const buf_t *bytes, int version)
{
    cid_t c;
    int n = cid_from_bytes(&c, bytes->data, bytes->len);

    if (n == LS_EAGAIN)
        return LS_EINVAL; /* the text ended inside the CID */
    if (n < 0)
        return n;
    if ((size_t)n != bytes->len || c.version != version)
        return LS_EINVAL;
    *out = c;
    return 0;
}

int
cid_from_string(cid_t *out, const char *s)
{
    buf_t bytes = BUF_INIT(CID_MAX_STRING);
    size_t len = strnlen(s, CID_MAX_STRING + 1);
    int rc;

    if (len > CID_MAX_STRING)
        return LS_ETOOBIG;
    if (len == CIDV0_TEXT_LEN && s[0] == 'Q' && s[1] == 'm') {
        if ((rc = base58btc_decode(s, len, &bytes)) == 0)
            rc = cid_from_exact(out, &bytes, 0);
    } else {
        /* CIDv0 bytes inside a multibase prefix are not a valid CID */
        if ((rc = multibase_decode(s, len, &bytes, NULL)) == 0)
            rc = cid_from_exact(out, &bytes, 1);
    }
    buf_free(&bytes);
    return rc;
}

int
cid_to_string(const cid_t *cid, buf_t *out)
{
    buf_t bytes = BUF_INIT(CID_MAX_STRING);
    int rc = cid_to_bytes(cid, &bytes);

    if (rc == 0) {
        if (cid->version == 0)
            rc = base58btc_encode(bytes.data, bytes.len, out);
        else
            rc = multibase_encode(MULTIBASE_BASE32, bytes.data, bytes.len, out);
    }
    buf_free(&bytes);
    return rc;
}

bool
cid_equal(const cid_t *a, const cid_t *b)
{
    return a->version == b->version && a->codec == b->codec && multihash_equal(&a->hash, &b->hash);
}

void
cid_v1_sha256(cid_t *out, uint64_t codec, const void *data, size_t len)
{
    out->version = 1;
    out->codec = codec;
    multihash_sha256(data, len, &out->hash);
}
