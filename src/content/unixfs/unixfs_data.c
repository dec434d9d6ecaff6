/* unixfs_data — UnixFS Data protobuf; see unixfs_data.h. */
#include "content/unixfs/unixfs_data.h"

#include <stdlib.h>
#include <string.h>

#include "content/dagpb/dagpb.h"
#include "content/dagpb/pbwire.h"
#include "lib/err/err.h"
#include "lib/mem/mem.h"

enum { F_TYPE = 1, F_DATA, F_FILESIZE, F_BLOCKSIZES, F_HASHTYPE, F_FANOUT, F_MODE, F_MTIME };

static void
push_blocksize(unixfs_data_t *d, size_t *cap, uint64_t v)
{
    if (d->n_blocksizes == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        d->blocksizes = ls_realloc(d->blocksizes, *cap * sizeof *d->blocksizes);
    }
    d->blocksizes[d->n_blocksizes++] = v;
}

static int
decode_blocksizes(const uint8_t *p, size_t len, size_t *pos, int wire, unixfs_data_t *d,
                  size_t *cap)
{
    uint64_t v;
    const uint8_t *packed;
    size_t plen, ppos = 0;

    if (wire == PBWIRE_VARINT) {
        if (pbwire_read_varint(p, len, pos, &v) < 0)
            return LS_EINVAL;
        push_blocksize(d, cap, v);
        return 0;
    }
    if (wire != PBWIRE_LEN || pbwire_read_bytes(p, len, pos, &packed, &plen) < 0)
        return LS_EINVAL;
    while (ppos < plen) {
        if (pbwire_read_varint(packed, plen, &ppos, &v) < 0)
            return LS_EINVAL;
        push_blocksize(d, cap, v);
    }
    return 0;
}

static int
decode_mtime(const uint8_t *p, size_t len, unixfs_data_t *d)
{
    size_t pos = 0;
    uint32_t field;
    int wire;
    bool has_secs = false;
    uint64_t v;

    while (pos < len) {
        if (pbwire_read_key(p, len, &pos, &field, &wire) < 0)
            return LS_EINVAL;
        if (field == 1 && wire == PBWIRE_VARINT && !has_secs) {
            if (pbwire_read_varint(p, len, &pos, &v) < 0)
                return LS_EINVAL;
            d->mtime_secs = (int64_t)v; /* int64: two's complement on the wire */
            has_secs = true;
        } else if (field == 2 && wire == PBWIRE_I32 && !d->has_mtime_nsecs) {
            if (len - pos < 4)
                return LS_EINVAL;
            d->mtime_nsecs = (uint32_t)p[pos] | (uint32_t)p[pos + 1] << 8 |
                             (uint32_t)p[pos + 2] << 16 | (uint32_t)p[pos + 3] << 24;
            pos += 4;
            d->has_mtime_nsecs = true;
        } else if (field <= 2 || pbwire_skip(p, len, &pos, wire) < 0) {
            return LS_EINVAL;
        }
    }
    if (!has_secs || (d->has_mtime_nsecs && d->mtime_nsecs > 999999999))
        return LS_EINVAL;
    d->has_mtime = true;
    return 0;
}

/* A singular varint field: set it once. */
static int
read_once(const uint8_t *p, size_t len, size_t *pos, int wire, bool *has, uint64_t *v)
{
    if (*has || wire != PBWIRE_VARINT || pbwire_read_varint(p, len, pos, v) < 0)
        return LS_EINVAL;
    *has = true;
    return 0;
}

static int
decode_field(const uint8_t *p, size_t len, size_t *pos, uint32_t field, int wire, unixfs_data_t *d,
             bool *has_type, size_t *cap)
{
    uint64_t v = 0;
    const uint8_t *b;
    size_t blen;

    switch (field) {
    case F_TYPE:
        if (read_once(p, len, pos, wire, has_type, &v) < 0 || v > UNIXFS_HAMT_SHARD)
            return LS_EINVAL;
        d->type = (unixfs_type_t)v;
        return 0;
    case F_DATA:
        if (d->has_data || wire != PBWIRE_LEN || pbwire_read_bytes(p, len, pos, &b, &blen) < 0)
            return LS_EINVAL;
        d->data = b;
        d->data_len = blen;
        d->has_data = true;
        return 0;
    case F_FILESIZE:
        return read_once(p, len, pos, wire, &d->has_filesize, &d->filesize);
    case F_BLOCKSIZES:
        return decode_blocksizes(p, len, pos, wire, d, cap);
    case F_HASHTYPE:
        return read_once(p, len, pos, wire, &d->has_hash_type, &d->hash_type);
    case F_FANOUT:
        return read_once(p, len, pos, wire, &d->has_fanout, &d->fanout);
    case F_MODE:
        if (read_once(p, len, pos, wire, &d->has_mode, &v) < 0 || v > UINT32_MAX)
            return LS_EINVAL;
        d->mode = (uint32_t)v;
        return 0;
    case F_MTIME:
        if (d->has_mtime || wire != PBWIRE_LEN || pbwire_read_bytes(p, len, pos, &b, &blen) < 0)
            return LS_EINVAL;
        return decode_mtime(b, blen, d);
    default:
        return pbwire_skip(p, len, pos, wire);
    }
}

int
unixfs_data_decode(const uint8_t *p, size_t len, unixfs_data_t *out)
{
    size_t pos = 0, cap = 0;
    uint32_t field;
    int wire, rc = 0;
    bool has_type = false;

    memset(out, 0, sizeof *out);
    if (len > DAGPB_MAX_BLOCK)
        return LS_ETOOBIG;
    while (pos < len && rc == 0) {
        rc = pbwire_read_key(p, len, &pos, &field, &wire);
        if (rc == 0)
            rc = decode_field(p, len, &pos, field, wire, out, &has_type, &cap);
    }
    if (rc == 0 && !has_type)
        rc = LS_EINVAL;
    if (rc < 0) {
        unixfs_data_clear(out);
        return LS_EINVAL;
    }
    return 0;
}

void
unixfs_data_clear(unixfs_data_t *d)
{
    free(d->blocksizes);
    memset(d, 0, sizeof *d);
}

static int
append_varint_field(buf_t *b, uint32_t field, uint64_t v)
{
    int rc = pbwire_append_key(b, field, PBWIRE_VARINT);
    return rc < 0 ? rc : pbwire_append_varint(b, v);
}

static int
encode_mtime(const unixfs_data_t *d, buf_t *out)
{
    uint8_t m[1 + PBWIRE_VARINT_MAX + 5];
    size_t n = 0;

    m[n++] = (1 << 3) | PBWIRE_VARINT;
    n += pbwire_put_varint(m + n, (uint64_t)d->mtime_secs);
    if (d->has_mtime_nsecs) {
        m[n++] = (2 << 3) | PBWIRE_I32;
        for (int i = 0; i < 4; i++)
            m[n++] = (uint8_t)(d->mtime_nsecs >> (8 * i));
    }
    return pbwire_append_bytes(out, F_MTIME, m, n);
}

int
unixfs_data_encode(const unixfs_data_t *d, buf_t *out)
{
    size_t start = out->len;
    int rc = append_varint_field(out, F_TYPE, (uint64_t)d->type);

    if (rc == 0 && d->has_data)
        rc = pbwire_append_bytes(out, F_DATA, d->data, d->data_len);
    if (rc == 0 && d->has_filesize)
        rc = append_varint_field(out, F_FILESIZE, d->filesize);
    for (size_t i = 0; rc == 0 && i < d->n_blocksizes; i++)
        rc = append_varint_field(out, F_BLOCKSIZES, d->blocksizes[i]);
    if (rc == 0 && d->has_hash_type)
        rc = append_varint_field(out, F_HASHTYPE, d->hash_type);
    if (rc == 0 && d->has_fanout)
        rc = append_varint_field(out, F_FANOUT, d->fanout);
    if (rc == 0 && d->has_mode)
        rc = append_varint_field(out, F_MODE, d->mode);
    if (rc == 0 && d->has_mtime)
        rc = encode_mtime(d, out);
    if (rc < 0)
        buf_truncate(out, start);
    return rc;
}
