/* bitswap_writer — encoding Bitswap messages for each protocol version (contract in
 * bitswap_msg.h; ipfs/specs BITSWAP.md). Fields are written in field-number order and
 * proto3 defaults are omitted, which is what go-bitswap and helia produce. */
#include "content/bitswap/bitswap_msg.h"

#include <string.h>

#include "lib/err/err.h"
#include "lib/mem/mem.h"
#include "lib/varint/varint.h"

size_t
bitswap_cid_encode(const cid_t *cid, uint8_t out[static BITSWAP_CID_MAX])
{
    const multihash_t *mh = &cid->hash;
    size_t n = 0, k;
    if (mh->len > MULTIHASH_MAX_DIGEST)
        return 0;
    if (cid->version == 0) {
        if (cid->codec != CID_CODEC_DAG_PB || mh->code != MULTIHASH_SHA2_256 || mh->len != 32)
            return 0;
    } else if (cid->version == 1) {
        n += varint_encode(1, out);
        if ((k = varint_encode(cid->codec, out + n)) == 0)
            return 0;
        n += k;
    } else
        return 0;
    if ((k = varint_encode(mh->code, out + n)) == 0)
        return 0;
    n += k;
    n += varint_encode(mh->len, out + n);
    memcpy(out + n, mh->digest, mh->len);
    return n + mh->len;
}

/* Protobuf varints cover all 64 bits (a negative int32 is ten bytes). */
static size_t
pb_varint(uint64_t v, uint8_t out[10])
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static size_t
pb_varint_len(uint64_t v)
{
    uint8_t tmp[10];
    return pb_varint(v, tmp);
}

static int
put_varint_field(buf_t *b, unsigned field, uint64_t v)
{
    uint8_t tmp[20];
    size_t n = pb_varint((uint64_t)field << 3, tmp);
    n += pb_varint(v, tmp + n);
    return buf_append(b, tmp, n);
}

/* Tag and length of a length-delimited field; the caller appends the body. */
static int
put_len_header(buf_t *b, unsigned field, size_t len)
{
    uint8_t tmp[20];
    size_t n = pb_varint((uint64_t)field << 3 | 2, tmp);
    n += pb_varint(len, tmp + n);
    return buf_append(b, tmp, n);
}

static int
put_bytes_field(buf_t *b, unsigned field, const uint8_t *p, size_t len)
{
    size_t before = b->len;
    if (put_len_header(b, field, len) < 0 || buf_append(b, p, len) < 0) {
        buf_truncate(b, before);
        return LS_ETOOBIG;
    }
    return 0;
}

void
bitswap_writer_init(bitswap_writer_t *w, int version)
{
    memset(w, 0, sizeof *w);
    w->version = version;
    buf_init(&w->wantlist, BITSWAP_MSG_MAX_SIZE);
    buf_init(&w->blocks, BITSWAP_MSG_MAX_SIZE);
    buf_init(&w->presences, BITSWAP_MSG_MAX_SIZE);
}

void
bitswap_writer_init_framed(bitswap_writer_t *w, int version)
{
    memset(w, 0, sizeof *w);
    w->version = version;
    w->head = BITSWAP_FRAME_HEAD;
    buf_init(&w->wantlist, 0);
    buf_init(&w->blocks, BITSWAP_MSG_MAX_SIZE + BITSWAP_FRAME_HEAD);
    buf_init(&w->presences, BITSWAP_MSG_MAX_SIZE);
    bitswap_writer_reset(w);
}

void
bitswap_writer_free(bitswap_writer_t *w)
{
    buf_free(&w->wantlist);
    buf_free(&w->blocks);
    buf_free(&w->presences);
    w->nentries = w->nblocks = w->npresences = 0;
    w->head = w->open_at = w->open_end = 0;
}

void
bitswap_writer_reset(bitswap_writer_t *w)
{
    buf_clear(&w->wantlist);
    buf_clear(&w->blocks);
    buf_clear(&w->presences);
    w->nentries = w->nblocks = w->npresences = 0;
    w->full = false;
    w->open_at = w->open_end = 0;
    if (w->head && !buf_extend(&w->blocks, w->head))
        w->head = 0; /* a maximum below the headroom: finish_frame refuses it */
}

bool
bitswap_writer_is_empty(const bitswap_writer_t *w)
{
    return !w->full && w->nentries == 0 && w->nblocks == 0 && w->npresences == 0;
}

static size_t
wantlist_body_len(const bitswap_writer_t *w)
{
    return w->wantlist.len + (w->full ? 2 : 0);
}

size_t
bitswap_writer_size(const bitswap_writer_t *w)
{
    size_t n = w->blocks.len - w->head + w->presences.len;
    if (w->full || w->nentries) {
        size_t wl = wantlist_body_len(w);
        n += 1 + pb_varint_len(wl) + wl;
    }
    return n;
}

int
bitswap_writer_want(bitswap_writer_t *w, const cid_t *cid, int32_t priority, int want_type,
                    bool send_dont_have, bool cancel)
{
    uint8_t cb[BITSWAP_CID_MAX];
    size_t cn = bitswap_cid_encode(cid, cb);
    buf_t e = BUF_INIT(BITSWAP_CID_MAX + 64);
    int rc = 0;
    if (cn == 0 || w->head || w->open_end)
        return LS_EINVAL;
    if (w->version < BITSWAP_V120 && (want_type != BITSWAP_WANT_BLOCK || send_dont_have))
        return LS_ENOTSUP;
    if (want_type != BITSWAP_WANT_BLOCK && want_type != BITSWAP_WANT_HAVE)
        return LS_EINVAL;
    rc |= put_bytes_field(&e, 1, cb, cn);
    if (priority != 0)
        rc |= put_varint_field(&e, 2, (uint64_t)(int64_t)priority);
    if (cancel)
        rc |= put_varint_field(&e, 3, 1);
    if (want_type != BITSWAP_WANT_BLOCK)
        rc |= put_varint_field(&e, 4, (uint64_t)want_type);
    if (send_dont_have)
        rc |= put_varint_field(&e, 5, 1);
    if (rc == 0)
        rc = put_bytes_field(&w->wantlist, 1, e.data, e.len);
    buf_free(&e);
    if (rc == 0)
        w->nentries++;
    return rc < 0 ? LS_ETOOBIG : 0;
}

/* Everything of a block's field before its `len` data bytes: field 2's header for
 * 1.0.0; for later versions field 3's header, the prefix and the data's header. */
static int
put_block_header(bitswap_writer_t *w, const bitswap_prefix_t *prefix, size_t len)
{
    uint8_t pb[4 * 10];
    size_t pn = 0;
    if (len > BITSWAP_MAX_BLOCK_SIZE)
        return LS_ETOOBIG;
    if (w->version < BITSWAP_V110)
        return put_len_header(&w->blocks, 2, len);
    uint64_t f[4] = {(uint64_t)prefix->version, prefix->codec, prefix->mh_code, prefix->mh_len};
    for (unsigned i = 0; i < 4; i++)
        pn += pb_varint(f[i], pb + pn);
    size_t body = 1 + pb_varint_len(pn) + pn + 1 + pb_varint_len(len) + len;
    int rc = put_len_header(&w->blocks, 3, body);
    if (rc == 0)
        rc = put_bytes_field(&w->blocks, 1, pb, pn);
    if (rc == 0)
        rc = put_len_header(&w->blocks, 2, len);
    return rc;
}

int
bitswap_writer_block_prefix(bitswap_writer_t *w, const bitswap_prefix_t *prefix,
                            const uint8_t *data, size_t len)
{
    size_t before = w->blocks.len;
    if (w->open_end)
        return LS_EINVAL;
    if (put_block_header(w, prefix, len) < 0 || buf_append(&w->blocks, data, len) < 0) {
        buf_truncate(&w->blocks, before);
        return LS_ETOOBIG;
    }
    w->nblocks++;
    return 0;
}

int
bitswap_writer_block_begin(bitswap_writer_t *w, const cid_t *cid, size_t len)
{
    uint8_t tmp[BITSWAP_CID_MAX];
    size_t before = w->blocks.len;
    if (w->open_end || bitswap_cid_encode(cid, tmp) == 0)
        return LS_EINVAL;
    bitswap_prefix_t p = {cid->version, cid->codec, cid->hash.code, cid->hash.len};
    if (put_block_header(w, &p, len) < 0 || w->blocks.max - w->blocks.len < len) {
        buf_truncate(&w->blocks, before);
        return LS_ETOOBIG;
    }
    w->open_at = before;
    w->open_end = w->blocks.len + len;
    return 0;
}

int
bitswap_writer_block_end(bitswap_writer_t *w, bool ok)
{
    if (!w->open_end)
        return LS_EINVAL;
    bool whole = ok && w->blocks.len == w->open_end;
    if (!whole)
        buf_truncate(&w->blocks, LS_MIN(w->open_at, w->blocks.len));
    else
        w->nblocks++;
    w->open_at = w->open_end = 0;
    return whole ? 0 : LS_EINVAL;
}

int
bitswap_writer_block(bitswap_writer_t *w, const cid_t *cid, const uint8_t *data, size_t len)
{
    uint8_t tmp[BITSWAP_CID_MAX];
    if (bitswap_cid_encode(cid, tmp) == 0)
        return LS_EINVAL;
    bitswap_prefix_t p = {cid->version, cid->codec, cid->hash.code, cid->hash.len};
    return bitswap_writer_block_prefix(w, &p, data, len);
}

int
bitswap_writer_presence(bitswap_writer_t *w, const cid_t *cid, int type)
{
    uint8_t cb[BITSWAP_CID_MAX], body[BITSWAP_CID_MAX + 8];
    size_t cn = bitswap_cid_encode(cid, cb), n = 0;
    if (w->open_end)
        return LS_EINVAL;
    if (w->version < BITSWAP_V120)
        return LS_ENOTSUP;
    if (cn == 0 || (type != BITSWAP_HAVE && type != BITSWAP_DONT_HAVE))
        return LS_EINVAL;
    body[n++] = 0x0a;
    n += pb_varint(cn, body + n);
    memcpy(body + n, cb, cn);
    n += cn;
    if (type != BITSWAP_HAVE) {
        body[n++] = 0x10;
        body[n++] = (uint8_t)type;
    }
    if (put_bytes_field(&w->presences, 4, body, n) < 0)
        return LS_ETOOBIG;
    w->npresences++;
    return 0;
}

int
bitswap_writer_finish(bitswap_writer_t *w, buf_t *out)
{
    size_t total = bitswap_writer_size(w), before = out->len;
    int rc = 0;
    if (w->open_end)
        return LS_EINVAL;
    if (total > BITSWAP_MSG_MAX_SIZE || buf_reserve(out, total) < 0)
        return LS_ETOOBIG;
    if (w->full || w->nentries) {
        rc |= put_len_header(out, 1, wantlist_body_len(w));
        rc |= buf_append(out, w->wantlist.data, w->wantlist.len);
        if (w->full)
            rc |= put_varint_field(out, 2, 1);
    }
    if (w->blocks.len > w->head) /* blocks.data is NULL while nothing was added */
        rc |= buf_append(out, w->blocks.data + w->head, w->blocks.len - w->head);
    rc |= buf_append(out, w->presences.data, w->presences.len);
    if (rc != 0) {
        buf_truncate(out, before);
        return LS_ETOOBIG;
    }
    bitswap_writer_reset(w);
    return 0;
}

int
bitswap_writer_finish_frame(bitswap_writer_t *w, size_t *start)
{
    uint8_t pre[VARINT_MAX_LEN];
    size_t total = bitswap_writer_size(w), before = w->blocks.len;
    if (!w->head || w->open_end || w->full || w->nentries)
        return LS_EINVAL;
    if (total > BITSWAP_MSG_MAX_SIZE)
        return LS_ETOOBIG;
    size_t n = varint_encode(total, pre);
    if (n == 0 || n > w->head)
        return LS_ETOOBIG;
    /* presences are small (a CID each): after the blocks, as finish() orders them */
    if (w->presences.len && buf_append(&w->blocks, w->presences.data, w->presences.len) < 0) {
        buf_truncate(&w->blocks, before);
        return LS_ETOOBIG;
    }
    *start = w->head - n;
    memcpy(w->blocks.data + *start, pre, n);
    return 0;
}

int
bitswap_msg_encode(const bitswap_msg_t *m, int version, buf_t *out)
{
    static const bitswap_prefix_t v0 = {0, CID_CODEC_DAG_PB, MULTIHASH_SHA2_256, 32};
    bitswap_writer_t w;
    int rc = 0;
    bitswap_writer_init(&w, version);
    w.full = m->full;
    for (size_t i = 0; i < m->nentries && rc == 0; i++) {
        const bitswap_entry_t *e = &m->entries[i];
        if (version < BITSWAP_V120 && e->want_type != BITSWAP_WANT_BLOCK)
            continue;
        rc = bitswap_writer_want(&w, &e->cid, e->priority, e->want_type,
                                 version >= BITSWAP_V120 && e->send_dont_have, e->cancel);
    }
    for (size_t i = 0; i < m->nblocks && rc == 0; i++) {
        const bitswap_block_t *b = &m->blocks[i];
        rc = bitswap_writer_block_prefix(&w, b->has_prefix ? &b->prefix : &v0, b->data, b->len);
    }
    for (size_t i = 0; i < m->npresences && rc == 0 && version >= BITSWAP_V120; i++)
        rc = bitswap_writer_presence(&w, &m->presences[i].cid, m->presences[i].type);
    if (rc == 0)
        rc = bitswap_writer_finish(&w, out);
    bitswap_writer_free(&w);
    return rc;
}
