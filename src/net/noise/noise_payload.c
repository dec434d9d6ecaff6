/* noise_payload — NoiseHandshakePayload codec; see noise_payload.h. Protobuf wire format:
 * https://protobuf.dev/programming-guides/encoding/ */
#include "net/noise/noise_payload.h"

#include <string.h>

#include "lib/err/err.h"
#include "lib/varint/varint.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* A protobuf varint: up to 10 bytes, the 10th holding only bit 63. This is not
 * lib/varint (multiformats: at most 9 bytes, minimal only): protobuf encoders emit
 * 10 bytes for negative int32/int64 values, which an unknown field may carry. */
static int
pb_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
    uint64_t x = 0;

    for (unsigned i = 0; i < 10; i++) {
        if (*off >= len)
            return LS_EPROTO;
        uint8_t b = p[(*off)++];
        if (i == 9 && b > 1)
            return LS_EPROTO;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return LS_EPROTO;
}

/* One field: its number, wire type and, for length-delimited ones, the bytes.
 * Other wire types are skipped. */
typedef struct pb_field_t {
    uint64_t num;
    unsigned wt;
    noise_bytes_t bytes;
} pb_field_t;

static int
pb_next(const uint8_t *p, size_t len, size_t *off, pb_field_t *f)
{
    uint64_t key, v;

    if (pb_varint(p, len, off, &key) < 0)
        return LS_EPROTO;
    f->num = key >> 3;
    f->wt = (unsigned)(key & 7);
    if (f->num == 0 || f->num > 0x1fffffff)
        return LS_EPROTO;
    switch (f->wt) {
    case WT_VARINT:
        return pb_varint(p, len, off, &v);
    case WT_I64:
    case WT_I32: {
        size_t n = f->wt == WT_I64 ? 8 : 4;
        if (len - *off < n)
            return LS_EPROTO;
        *off += n;
        return 0;
    }
    case WT_LEN:
        if (pb_varint(p, len, off, &v) < 0 || v > len - *off)
            return LS_EPROTO;
        f->bytes.p = p + *off;
        f->bytes.len = (size_t)v;
        *off += (size_t)v;
        return 0;
    default: /* groups (3, 4) and the undefined 6, 7 */
        return LS_EPROTO;
    }
}

static void
keep_muxer(noise_payload_t *out, noise_bytes_t name)
{
    out->n_muxers_seen++;
    if (out->n_muxers == NOISE_PAYLOAD_MAX_MUXERS || name.len == 0 ||
        name.len > NOISE_PAYLOAD_MAX_MUXER_LEN || memchr(name.p, 0, name.len))
        return;
    out->muxers[out->n_muxers++] = name;
}

static int
decode_extensions(noise_payload_t *out, const uint8_t *p, size_t len)
{
    size_t off = 0;
    pb_field_t f;

    out->has_extensions = true;
    while (off < len) {
        if (pb_next(p, len, &off, &f) < 0)
            return LS_EPROTO;
        if ((f.num == 1 || f.num == 2) && f.wt != WT_LEN)
            return LS_EPROTO;
        if (f.num == 1)
            out->n_certhashes++;
        else if (f.num == 2)
            keep_muxer(out, f.bytes);
    }
    return 0;
}

int
noise_payload_decode(noise_payload_t *out, const uint8_t *p, size_t len)
{
    size_t off = 0;
    pb_field_t f;

    memset(out, 0, sizeof *out);
    while (off < len) {
        if (pb_next(p, len, &off, &f) < 0)
            goto bad;
        bool known = f.num == 1 || f.num == 2 || f.num == 4;
        if (known && f.wt != WT_LEN)
            goto bad;
        if (f.num == 1) {
            out->identity_key = f.bytes;
            out->has_identity_key = true;
        } else if (f.num == 2) {
            out->identity_sig = f.bytes;
            out->has_identity_sig = true;
        } else if (f.num == 4 && decode_extensions(out, f.bytes.p, f.bytes.len) < 0) {
            goto bad;
        }
    }
    return 0;
bad:
    memset(out, 0, sizeof *out);
    return LS_EPROTO;
}

/* tag and length of a length-delimited field */
static int
put_len_field(buf_t *out, unsigned num, size_t len)
{
    int rc = varint_append(out, (uint64_t)num << 3 | WT_LEN);
    return rc < 0 ? rc : varint_append(out, len);
}

static int
put_bytes(buf_t *out, unsigned num, const void *p, size_t len)
{
    int rc = put_len_field(out, num, len);
    return rc < 0 ? rc : buf_append(out, p, len);
}

int
noise_payload_encode(buf_t *out, const uint8_t *key, size_t keylen, const uint8_t *sig,
                     size_t siglen, const char *const *muxers, size_t n_muxers)
{
    size_t start = out->len, ext_len = 0;
    int rc;

    for (size_t i = 0; i < n_muxers; i++) {
        size_t n = strlen(muxers[i]);
        ext_len += 1 + varint_len(n) + n;
    }
    if ((rc = put_bytes(out, 1, key, keylen)) < 0 || (rc = put_bytes(out, 2, sig, siglen)) < 0)
        goto fail;
    if (n_muxers) {
        if ((rc = put_len_field(out, 4, ext_len)) < 0)
            goto fail;
        for (size_t i = 0; i < n_muxers; i++)
            if ((rc = put_bytes(out, 2, muxers[i], strlen(muxers[i]))) < 0)
                goto fail;
    }
    return 0;
fail:
    buf_truncate(out, start);
    return rc;
}
