/* car — CARv1 writer and streaming reader; see car.h. */
#include "content/car/car.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "content/car/car_header.h"
#include "content/dagpb/dagpb.h"
#include "lib/err/err.h"
#include "lib/varint/varint.h"

int
car_write_header(buf_t *out, const cid_t *roots, size_t n)
{
    buf_t h = BUF_INIT(CAR_MAX_HEADER);
    size_t start = out->len;
    int rc = car_header_encode(roots, n, &h);

    if (rc == 0 && (rc = varint_append(out, h.len)) == 0)
        rc = buf_append(out, h.data, h.len);
    if (rc < 0)
        buf_truncate(out, start);
    buf_free(&h);
    return rc == LS_ETOOBIG || rc == 0 ? rc : LS_EINVAL;
}

int
car_write_block(buf_t *out, const cid_t *cid, const uint8_t *block, size_t len)
{
    buf_t c = BUF_INIT(CAR_MAX_CID);
    size_t start = out->len;
    int rc = cid_to_bytes(cid, &c);

    if (rc < 0) {
        buf_free(&c);
        return LS_EINVAL;
    }
    if ((rc = varint_append(out, c.len + len)) == 0 && (rc = buf_append(out, c.data, c.len)) == 0)
        rc = buf_append(out, block, len);
    if (rc < 0)
        buf_truncate(out, start);
    buf_free(&c);
    return rc;
}

/* ---- reader ---- */

struct car_reader_t {
    size_t max_block;
    buf_t pend; /* a frame (varint + payload) cut short by the end of a fed piece */
    cid_t *roots;
    size_t n_roots;
    bool have_header;
    int err;
};

car_reader_t *
car_reader_new(size_t max_block)
{
    car_reader_t *r = ls_calloc(1, sizeof *r);

    r->max_block = max_block ? max_block : DAGPB_MAX_BLOCK;
    buf_init(&r->pend, VARINT_MAX_LEN + LS_MAX(CAR_MAX_HEADER, r->max_block + CAR_MAX_CID));
    return r;
}

void
car_reader_free_(car_reader_t *r)
{
    if (!r)
        return;
    buf_free(&r->pend);
    free(r->roots);
    free(r);
}

/* Length of the frame starting at p: varint + payload. LS_EAGAIN if the varint is
 * incomplete; LS_EPROTO / LS_ETOOBIG for a bad or oversized length. */
static int
frame_len(const car_reader_t *r, const uint8_t *p, size_t len, size_t *total, size_t *hdr)
{
    uint64_t v;
    int n = varint_decode(p, len, &v);
    uint64_t limit = r->have_header ? r->max_block + CAR_MAX_CID : CAR_MAX_HEADER;

    if (n == LS_EAGAIN)
        return LS_EAGAIN;
    if (n < 0 || v == 0)
        return LS_EPROTO;
    if (v > limit)
        return LS_ETOOBIG;
    *hdr = (size_t)n;
    *total = (size_t)n + (size_t)v;
    return 0;
}

static int
verify(const cid_t *cid, const uint8_t *block, size_t len)
{
    if (cid->hash.code != MULTIHASH_SHA2_256 && cid->hash.code != MULTIHASH_IDENTITY)
        return LS_ENOTSUP;
    return multihash_verify(&cid->hash, len ? block : (const uint8_t *)"", len) ? 0 : LS_ECORRUPT;
}

/* Handle one whole frame's payload. */
static int
payload(car_reader_t *r, const uint8_t *p, size_t len, car_block_fn fn, void *ctx)
{
    cid_t cid;
    int n, rc;

    if (!r->have_header) {
        if ((rc = car_header_decode(p, len, &r->roots, &r->n_roots)) < 0)
            return rc;
        r->have_header = true;
        return 0;
    }
    n = cid_from_bytes(&cid, p, len);
    if (n < 0)
        return n == LS_ENOTSUP ? LS_ENOTSUP : LS_EPROTO;
    if (len - (size_t)n > r->max_block)
        return LS_ETOOBIG;
    if ((rc = verify(&cid, p + n, len - (size_t)n)) < 0)
        return rc;
    return fn(ctx, &cid, p + n, len - (size_t)n);
}

/* Parse whole frames straight from p (no copy); returns bytes consumed or error. */
static int
parse_direct(car_reader_t *r, const uint8_t *p, size_t len, car_block_fn fn, void *ctx,
             size_t *used)
{
    size_t total, hdr;
    int rc;

    *used = 0;
    while (len - *used > 0) {
        rc = frame_len(r, p + *used, len - *used, &total, &hdr);
        if (rc == LS_EAGAIN || (rc == 0 && total > len - *used))
            return 0; /* the rest goes to pend */
        if (rc < 0)
            return rc;
        if ((rc = payload(r, p + *used + hdr, total - hdr, fn, ctx)) < 0)
            return rc;
        *used += total;
    }
    return 0;
}

/* Move bytes into pend until it holds one whole frame; then handle it. */
static int
fill_pend(car_reader_t *r, const uint8_t **p, size_t *len, car_block_fn fn, void *ctx)
{
    size_t total, hdr, take;
    int rc;

    while ((rc = frame_len(r, r->pend.data, r->pend.len, &total, &hdr)) == LS_EAGAIN) {
        if (*len == 0)
            return 0;
        buf_append_byte(&r->pend, **p); /* at most VARINT_MAX_LEN bytes this way */
        (*p)++;
        (*len)--;
    }
    if (rc < 0)
        return rc;
    take = LS_MIN(*len, total - r->pend.len);
    if (buf_append(&r->pend, *p, take) < 0)
        return LS_ETOOBIG;
    *p += take;
    *len -= take;
    if (r->pend.len < total)
        return 0;
    rc = payload(r, r->pend.data + hdr, total - hdr, fn, ctx);
    buf_clear(&r->pend);
    return rc;
}

int
car_reader_feed(car_reader_t *r, const uint8_t *p, size_t len, car_block_fn fn, void *ctx)
{
    size_t used;
    int rc;

    if (r->err)
        return r->err;
    if (r->pend.len > 0 && (rc = fill_pend(r, &p, &len, fn, ctx)) < 0)
        return r->err = rc;
    if (r->pend.len > 0 || len == 0)
        return 0;
    if ((rc = parse_direct(r, p, len, fn, ctx, &used)) < 0)
        return r->err = rc;
    if (used < len && buf_append(&r->pend, p + used, len - used) < 0)
        return r->err = LS_ETOOBIG;
    return 0;
}

int
car_reader_finish(const car_reader_t *r)
{
    if (r->err)
        return r->err;
    return r->have_header && r->pend.len == 0 ? 0 : LS_EPROTO;
}

size_t
car_reader_roots(const car_reader_t *r, const cid_t **roots)
{
    *roots = r->roots;
    return r->have_header ? r->n_roots : 0;
}
