/* bitswap_msg — strict protobuf codec for Bitswap messages (contract in bitswap_msg.h;
 * ipfs/specs BITSWAP.md). */
#include "content/bitswap/bitswap_msg.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/mem/mem.h"
#include "lib/pbread/pbread.h"
#include "lib/varint/varint.h"

int
bitswap_version_of(const char *proto)
{
    if (!strcmp(proto, BITSWAP_PROTO_120))
        return BITSWAP_V120;
    if (!strcmp(proto, BITSWAP_PROTO_110))
        return BITSWAP_V110;
    if (!strcmp(proto, BITSWAP_PROTO_100) || !strcmp(proto, BITSWAP_PROTO_LEGACY))
        return BITSWAP_V100;
    return 0;
}

/* ---- reading ---- */

/* A CID that fills its field exactly. */
static int
parse_cid(const uint8_t *p, size_t n, cid_t *out)
{
    int rc = cid_from_bytes(out, p, n);
    if (rc == LS_ETOOBIG || rc == LS_ENOTSUP)
        return LS_EINVAL;
    return rc < 0 || (size_t)rc != n ? LS_EINVAL : 0;
}

/* ---- messages ---- */

/* Parsing runs twice: once to validate and count (fill == false), then, with the
 * arrays allocated from the counts, to fill them. */
typedef struct parse_t {
    bitswap_msg_t *m;
    bool fill;
    size_t nentries, nblocks, npresences;
} parse_t;

static int
parse_entry(const uint8_t *p, size_t len, bitswap_entry_t *e)
{
    pbread_t r = {p, len, 0};
    const uint8_t *cp = NULL;
    size_t cn = 0;
    uint64_t f, v;
    unsigned w;
    int rc = 0;
    memset(e, 0, sizeof *e);
    while (r.off < r.len && rc == 0) {
        if (pbread_tag(&r, &f, &w) < 0)
            return LS_EINVAL;
        if (f == 1)
            rc = pbread_len(&r, w, &cp, &cn);
        else if (f >= 2 && f <= 5) {
            rc = pbread_uint(&r, w, &v);
            if (f == 2)
                e->priority = (int32_t)(uint32_t)v;
            else if (f == 3)
                e->cancel = v != 0;
            else if (f == 4 && v > 1)
                rc = LS_EINVAL;
            else if (f == 4)
                e->want_type = (uint8_t)v;
            else
                e->send_dont_have = v != 0;
        } else
            rc = pbread_skip(&r, w);
    }
    if (rc < 0 || !cp)
        return LS_EINVAL;
    return parse_cid(cp, cn, &e->cid);
}

static int
parse_wantlist(parse_t *ps, const uint8_t *p, size_t len)
{
    pbread_t r = {p, len, 0};
    const uint8_t *ep;
    size_t en;
    uint64_t f, v;
    unsigned w;
    bitswap_entry_t tmp;
    while (r.off < r.len) {
        int rc = pbread_tag(&r, &f, &w);
        if (rc == 0 && f == 1) {
            if ((rc = pbread_len(&r, w, &ep, &en)) == 0) {
                if (ps->nentries >= BITSWAP_MSG_MAX_ENTRIES)
                    return LS_ETOOBIG;
                bitswap_entry_t *e = ps->fill ? &ps->m->entries[ps->nentries] : &tmp;
                rc = parse_entry(ep, en, e);
                ps->nentries++;
            }
        } else if (rc == 0 && f == 2) {
            if ((rc = pbread_uint(&r, w, &v)) == 0)
                ps->m->full = v != 0;
        } else if (rc == 0)
            rc = pbread_skip(&r, w);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
parse_payload(const uint8_t *p, size_t len, bitswap_block_t *b)
{
    pbread_t r = {p, len, 0};
    const uint8_t *pp = NULL, *dp = NULL;
    size_t pn = 0, dn = 0;
    uint64_t f;
    unsigned w;
    int rc = 0;
    while (r.off < r.len && rc == 0) {
        if (pbread_tag(&r, &f, &w) < 0)
            return LS_EINVAL;
        if (f == 1)
            rc = pbread_len(&r, w, &pp, &pn);
        else if (f == 2)
            rc = pbread_len(&r, w, &dp, &dn);
        else
            rc = pbread_skip(&r, w);
    }
    if (rc < 0 || !pp)
        return LS_EINVAL;
    if (dn > BITSWAP_MAX_BLOCK_SIZE)
        return LS_ETOOBIG;
    b->has_prefix = true;
    b->data = dp ? dp : (const uint8_t *)"";
    b->len = dn;
    return bitswap_prefix_decode(pp, pn, &b->prefix);
}

static int
parse_presence(const uint8_t *p, size_t len, bitswap_presence_t *pr)
{
    pbread_t r = {p, len, 0};
    const uint8_t *cp = NULL;
    size_t cn = 0;
    uint64_t f, v;
    unsigned w;
    int rc = 0;
    pr->type = BITSWAP_HAVE;
    while (r.off < r.len && rc == 0) {
        if (pbread_tag(&r, &f, &w) < 0)
            return LS_EINVAL;
        if (f == 1)
            rc = pbread_len(&r, w, &cp, &cn);
        else if (f == 2) {
            if ((rc = pbread_uint(&r, w, &v)) == 0 && v > 1)
                rc = LS_EINVAL;
            pr->type = (uint8_t)v;
        } else
            rc = pbread_skip(&r, w);
    }
    if (rc < 0 || !cp)
        return LS_EINVAL;
    return parse_cid(cp, cn, &pr->cid);
}

/* One element of a repeated field: bounds-check the count, then parse it into the
 * array slot (fill) or a scratch value (count). */
static int
parse_block_field(parse_t *ps, uint64_t f, const uint8_t *p, size_t n)
{
    bitswap_block_t tb;
    if (ps->nblocks >= BITSWAP_MSG_MAX_BLOCKS)
        return LS_ETOOBIG;
    bitswap_block_t *b = ps->fill ? &ps->m->blocks[ps->nblocks] : &tb;
    ps->nblocks++;
    if (f == 3)
        return parse_payload(p, n, b);
    if (n > BITSWAP_MAX_BLOCK_SIZE)
        return LS_ETOOBIG;
    *b = (bitswap_block_t){.has_prefix = false, .data = p, .len = n};
    return 0;
}

static int
parse_top(parse_t *ps, const uint8_t *p, size_t len)
{
    pbread_t r = {p, len, 0};
    const uint8_t *fp;
    size_t fn;
    uint64_t f, v;
    unsigned w;
    bitswap_presence_t tp;
    while (r.off < r.len) {
        int rc = pbread_tag(&r, &f, &w);
        if (rc == 0 && f >= 1 && f <= 4)
            rc = pbread_len(&r, w, &fp, &fn);
        else if (rc == 0 && f == 5) {
            if ((rc = pbread_uint(&r, w, &v)) == 0)
                ps->m->pending_bytes = (int32_t)(uint32_t)v;
            f = 0;
        } else if (rc == 0) {
            rc = pbread_skip(&r, w);
            f = 0;
        }
        if (rc == 0 && f == 1)
            rc = parse_wantlist(ps, fp, fn);
        else if (rc == 0 && (f == 2 || f == 3))
            rc = parse_block_field(ps, f, fp, fn);
        else if (rc == 0 && f == 4) {
            if (ps->npresences >= BITSWAP_MSG_MAX_PRESENCES)
                return LS_ETOOBIG;
            rc = parse_presence(fp, fn, ps->fill ? &ps->m->presences[ps->npresences] : &tp);
            ps->npresences++;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
bitswap_msg_decode(const uint8_t *p, size_t len, bitswap_msg_t *out)
{
    parse_t ps = {.m = out, .fill = false};
    memset(out, 0, sizeof *out);
    if (len > BITSWAP_MSG_MAX_SIZE)
        return LS_ETOOBIG;
    int rc = parse_top(&ps, p, len);
    if (rc < 0) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->entries = ps.nentries ? ls_calloc(ps.nentries, sizeof *out->entries) : NULL;
    out->blocks = ps.nblocks ? ls_calloc(ps.nblocks, sizeof *out->blocks) : NULL;
    out->presences = ps.npresences ? ls_calloc(ps.npresences, sizeof *out->presences) : NULL;
    out->nentries = ps.nentries;
    out->nblocks = ps.nblocks;
    out->npresences = ps.npresences;
    ps = (parse_t){.m = out, .fill = true};
    rc = parse_top(&ps, p, len); /* cannot fail: the same bytes passed above */
    if (rc < 0) {
        bitswap_msg_clear(out);
        return rc;
    }
    return 0;
}

void
bitswap_msg_clear(bitswap_msg_t *m)
{
    free(m->entries);
    free(m->blocks);
    free(m->presences);
    memset(m, 0, sizeof *m);
}

int
bitswap_msg_frame_decode(const uint8_t *p, size_t len, size_t max, const uint8_t **body,
                         size_t *body_len)
{
    uint64_t n;
    int used = varint_decode(p, len, &n);
    if (used < 0)
        return used;
    if (n > (max ? max : BITSWAP_MSG_MAX_SIZE))
        return LS_ETOOBIG;
    if (n > len - (size_t)used)
        return LS_EAGAIN;
    *body = p + used;
    *body_len = (size_t)n;
    return used + (int)n;
}

/* ---- prefixes ---- */

int
bitswap_prefix_encode(const cid_t *cid, buf_t *out)
{
    uint8_t tmp[4 * VARINT_MAX_LEN];
    size_t n = 0, k;
    uint64_t f[4] = {(uint64_t)cid->version, cid->codec, cid->hash.code, cid->hash.len};
    if (cid->version != 0 && cid->version != 1)
        return LS_EINVAL;
    if (cid->hash.len > MULTIHASH_MAX_DIGEST)
        return LS_EINVAL;
    for (unsigned i = 0; i < 4; i++) {
        if ((k = varint_encode(f[i], tmp + n)) == 0)
            return LS_EINVAL;
        n += k;
    }
    return buf_append(out, tmp, n);
}

int
bitswap_prefix_decode(const uint8_t *p, size_t len, bitswap_prefix_t *out)
{
    uint64_t f[4];
    size_t off = 0;
    for (unsigned i = 0; i < 4; i++) {
        int k = varint_decode(p + off, len - off, &f[i]);
        if (k < 0)
            return LS_EINVAL;
        off += (size_t)k;
    }
    if (off != len || f[0] > 1 || f[3] > MULTIHASH_MAX_DIGEST)
        return LS_EINVAL;
    if (f[0] == 0 && (f[1] != CID_CODEC_DAG_PB || f[2] != MULTIHASH_SHA2_256 || f[3] != 32))
        return LS_EINVAL;
    *out = (bitswap_prefix_t){(int)f[0], f[1], f[2], f[3]};
    return 0;
}

int
bitswap_prefix_cid(const bitswap_prefix_t *prefix, const uint8_t *data, size_t len, cid_t *out)
{
    cid_t c = {.version = prefix->version, .codec = prefix->codec};
    if (prefix->mh_code == MULTIHASH_SHA2_256 && prefix->mh_len == 32)
        multihash_sha256(data, len, &c.hash);
    else if (prefix->mh_code == MULTIHASH_IDENTITY) {
        if (len != prefix->mh_len || multihash_identity(data, len, &c.hash) < 0)
            return LS_EINVAL;
    } else
        return LS_ENOTSUP;
    *out = c;
    return 0;
}
