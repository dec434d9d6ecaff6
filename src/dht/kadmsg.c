/* kadmsg — strict protobuf codec for kad-dht messages (libp2p/specs kad-dht). */
#include "dht/kadmsg.h"

#include <string.h>

#include "lib/err/err.h"
#include "lib/mem/mem.h"
#include "lib/pbread/pbread.h"
#include "lib/varint/varint.h"

/* ---- reading ---- */

static int
read_bytes(pbread_t *r, kadmsg_bytes_t *out)
{
    return pbread_bytes(r, &out->p, &out->len);
}

static int
decode_record(const kadmsg_bytes_t *in, kadmsg_record_t *rec)
{
    pbread_t r = {in->p, in->len, 0};
    memset(rec, 0, sizeof *rec);
    while (r.off < r.len) {
        uint64_t f;
        unsigned w;
        if (pbread_tag(&r, &f, &w) < 0)
            return LS_EINVAL;
        int rc;
        if (f == 1 && w == 2)
            rc = read_bytes(&r, &rec->key);
        else if (f == 2 && w == 2)
            rc = read_bytes(&r, &rec->value);
        else if (f == 5 && w == 2)
            rc = read_bytes(&r, &rec->time_received);
        else if (f <= 5 && f != 3 && f != 4)
            return LS_EINVAL; /* a known field with the wrong wire type */
        else
            rc = pbread_skip(&r, w);
        if (rc < 0)
            return LS_EINVAL;
    }
    return 0;
}

static int
decode_peer(const kadmsg_bytes_t *in, kadmsg_peer_t *peer)
{
    pbread_t r = {in->p, in->len, 0};
    memset(peer, 0, sizeof *peer);
    while (r.off < r.len) {
        uint64_t f, v;
        unsigned w;
        kadmsg_bytes_t b;
        int rc;
        if (pbread_tag(&r, &f, &w) < 0)
            return LS_EINVAL;
        if (f == 1 && w == 2) {
            rc = read_bytes(&r, &peer->id);
        } else if (f == 2 && w == 2) {
            rc = read_bytes(&r, &b);
            if (rc == 0 && peer->naddrs < KADMSG_MAX_ADDRS)
                peer->addrs[peer->naddrs++] = b;
        } else if (f == 3 && w == 0) {
            rc = pbread_varint(&r, &v);
            peer->connection = (int)(int32_t)v;
        } else if (f == KADMSG_PEER_META_FIELD && w == 2) {
            rc = read_bytes(&r, &peer->meta);
        } else if (f <= 3 || f == KADMSG_PEER_META_FIELD) {
            return LS_EINVAL;
        } else {
            rc = pbread_skip(&r, w);
        }
        if (rc < 0)
            return LS_EINVAL;
    }
    return 0;
}

/* Append a decoded peer to a list, dropping it past the limit. */
static int
add_peer(const kadmsg_bytes_t *b, kadmsg_peer_t *list, size_t *n)
{
    kadmsg_peer_t tmp;
    if (decode_peer(b, &tmp) < 0)
        return LS_EINVAL;
    if (*n < KADMSG_MAX_PEERS)
        list[(*n)++] = tmp;
    return 0;
}

/* One top-level field. */
static int
decode_field(pbread_t *r, uint64_t f, unsigned w, kadmsg_t *m)
{
    uint64_t v;
    kadmsg_bytes_t b;
    if (w == 0 && (f == 1 || f == 10)) {
        if (pbread_varint(r, &v) < 0)
            return LS_EINVAL;
        if (f == 1) {
            if (v > KADMSG_PING)
                return LS_EINVAL;
            m->type = (int)v;
        } else {
            m->cluster_level = (int32_t)v;
        }
        return 0;
    }
    if (w == 2 && (f == 2 || f == 3 || f == 8 || f == 9)) {
        if (read_bytes(r, &b) < 0)
            return LS_EINVAL;
        if (f == 2) {
            m->key = b;
            return 0;
        }
        if (f == 3) {
            m->has_record = true;
            return decode_record(&b, &m->record);
        }
        if (f == 8)
            return add_peer(&b, m->closer, &m->ncloser);
        return add_peer(&b, m->providers, &m->nproviders);
    }
    if (f == 1 || f == 2 || f == 3 || f == 8 || f == 9 || f == 10)
        return LS_EINVAL; /* known field, wrong wire type */
    return pbread_skip(r, w);
}

void
kadmsg_init(kadmsg_t *m, kadmsg_type_t type)
{
    m->type = (int)type;
    m->cluster_level = 0;
    m->key = (kadmsg_bytes_t){NULL, 0};
    m->has_record = false;
    memset(&m->record, 0, sizeof m->record);
    m->ncloser = m->nproviders = 0;
}

int
kadmsg_decode(const uint8_t *p, size_t len, kadmsg_t *out)
{
    if (len > KADMSG_MAX_SIZE)
        return LS_ETOOBIG;
    pbread_t r = {p, len, 0};
    kadmsg_init(out, KADMSG_PUT_VALUE);
    while (r.off < r.len) {
        uint64_t f;
        unsigned w;
        if (pbread_tag(&r, &f, &w) < 0 || decode_field(&r, f, w, out) < 0)
            return LS_EINVAL;
    }
    return 0;
}

/* ---- writing ---- */

static size_t
pb_varint(uint64_t v, uint8_t out[10])
{
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        out[n++] = b | (v ? 0x80 : 0);
    } while (v);
    return n;
}

static int
put_varint(buf_t *b, uint64_t v)
{
    uint8_t tmp[10];
    return buf_append(b, tmp, pb_varint(v, tmp));
}

static int
put_tag(buf_t *b, uint64_t field, unsigned wire)
{
    return put_varint(b, (field << 3) | wire);
}

static int
put_bytes(buf_t *b, uint64_t field, const kadmsg_bytes_t *v)
{
    if (!v->p)
        return 0;
    if (put_tag(b, field, 2) < 0 || put_varint(b, v->len) < 0)
        return LS_ETOOBIG;
    return buf_append(b, v->p, v->len);
}

/* Encode a submessage body to a scratch buffer, then as a length-delimited field. */
static int
put_sub(buf_t *b, uint64_t field, const buf_t *sub)
{
    kadmsg_bytes_t v = {sub->data ? sub->data : (const uint8_t *)"", sub->len};
    return put_bytes(b, field, &v);
}

static int
encode_peer(const kadmsg_peer_t *peer, buf_t *b)
{
    int rc = put_bytes(b, 1, &peer->id);
    for (size_t i = 0; rc == 0 && i < peer->naddrs; i++)
        rc = put_bytes(b, 2, &peer->addrs[i]);
    if (rc == 0 && peer->connection != 0) {
        rc = put_tag(b, 3, 0);
        if (rc == 0)
            rc = put_varint(b, (uint64_t)(int64_t)peer->connection);
    }
    if (rc == 0)
        rc = put_bytes(b, KADMSG_PEER_META_FIELD, &peer->meta);
    return rc;
}

static int
encode_peers(const kadmsg_peer_t *list, size_t n, uint64_t field, buf_t *b)
{
    for (size_t i = 0; i < n; i++) {
        buf_t sub = BUF_INIT(KADMSG_MAX_SIZE);
        int rc = encode_peer(&list[i], &sub);
        if (rc == 0)
            rc = put_sub(b, field, &sub);
        buf_free(&sub);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
encode_body(const kadmsg_t *m, buf_t *b)
{
    int rc = 0;
    if (m->type != 0 && (rc = put_tag(b, 1, 0)) == 0)
        rc = put_varint(b, (uint64_t)m->type);
    if (rc == 0)
        rc = put_bytes(b, 2, &m->key);
    if (rc == 0 && m->has_record) {
        buf_t sub = BUF_INIT(KADMSG_MAX_SIZE);
        rc = put_bytes(&sub, 1, &m->record.key);
        if (rc == 0)
            rc = put_bytes(&sub, 2, &m->record.value);
        if (rc == 0)
            rc = put_bytes(&sub, 5, &m->record.time_received);
        if (rc == 0)
            rc = put_sub(b, 3, &sub);
        buf_free(&sub);
    }
    if (rc == 0)
        rc = encode_peers(m->closer, m->ncloser, 8, b);
    if (rc == 0)
        rc = encode_peers(m->providers, m->nproviders, 9, b);
    if (rc == 0 && m->cluster_level != 0 && (rc = put_tag(b, 10, 0)) == 0)
        rc = put_varint(b, (uint64_t)(int64_t)m->cluster_level);
    return rc < 0 ? LS_ETOOBIG : 0;
}

int
kadmsg_encode(const kadmsg_t *m, buf_t *out)
{
    size_t max = LS_MIN(KADMSG_MAX_SIZE, out->max - out->len);
    buf_t body = BUF_INIT(max);
    int rc = encode_body(m, &body);
    if (rc == 0 && body.len > 0)
        rc = buf_append(out, body.data, body.len);
    buf_free(&body);
    return rc < 0 ? LS_ETOOBIG : 0;
}

int
kadmsg_frame_decode(const uint8_t *p, size_t len, const uint8_t **body, size_t *body_len)
{
    uint64_t n;
    int hdr = varint_decode(p, len, &n);
    if (hdr < 0)
        return hdr == LS_EAGAIN && len < VARINT_MAX_LEN ? LS_EAGAIN : LS_EINVAL;
    if (n > KADMSG_MAX_SIZE)
        return LS_ETOOBIG;
    if (n > len - (size_t)hdr)
        return LS_EAGAIN;
    *body = p + hdr;
    *body_len = (size_t)n;
    return hdr + (int)n;
}

int
kadmsg_frame_append(buf_t *out, const uint8_t *msg, size_t len)
{
    if (len > KADMSG_MAX_SIZE)
        return LS_ETOOBIG;
    size_t before = out->len;
    if (varint_append(out, len) < 0 || buf_append(out, msg, len) < 0) {
        buf_truncate(out, before);
        return LS_ETOOBIG;
    }
    return 0;
}
