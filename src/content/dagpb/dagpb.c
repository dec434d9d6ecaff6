/* dagpb — DAG-PB codec; see dagpb.h. */
#include "content/dagpb/dagpb.h"

#include <stdlib.h>
#include <string.h>

#include "content/dagpb/pbwire.h"
#include "lib/err/err.h"
#include "lib/mem/mem.h"

enum { F_DATA = 1, F_LINKS = 2 };             /* PBNode */
enum { F_HASH = 1, F_NAME = 2, F_TSIZE = 3 }; /* PBLink */

/* Binary CID in a Hash field: exactly one CID, nothing after it. */
static int
decode_hash(const uint8_t *p, size_t len, cid_t *out)
{
    int n = cid_from_bytes(out, p, len);
    if (n < 0 || (size_t)n != len)
        return LS_EINVAL;
    return 0;
}

/* One PBLink message p[0..len). Fields must come in field-number order, once. */
static int
decode_link(const uint8_t *p, size_t len, dagpb_link_t *out)
{
    size_t pos = 0;
    uint32_t last = 0, field;
    int wire, rc;
    bool has_hash = false;

    memset(out, 0, sizeof *out);
    while (pos < len) {
        if ((rc = pbwire_read_key(p, len, &pos, &field, &wire)) < 0)
            return LS_EINVAL;
        if (field < F_HASH || field > F_TSIZE)
            return LS_EINVAL;
        if (field == last)
            return LS_EINVAL; /* duplicate */
        if (field < last)
            return LS_ENONCANON;
        last = field;
        if (field == F_TSIZE) {
            if (wire != PBWIRE_VARINT || pbwire_read_varint(p, len, &pos, &out->tsize) < 0)
                return LS_EINVAL;
            out->has_tsize = true;
            continue;
        }
        const uint8_t *v;
        size_t vlen;
        if (wire != PBWIRE_LEN || pbwire_read_bytes(p, len, &pos, &v, &vlen) < 0)
            return LS_EINVAL;
        if (field == F_HASH) {
            if (decode_hash(v, vlen, &out->cid) < 0)
                return LS_EINVAL;
            has_hash = true;
        } else {
            out->name = v;
            out->name_len = vlen;
            out->has_name = true;
        }
    }
    return has_hash ? 0 : LS_EINVAL;
}

static void
push_link(dagpb_node_t *n, size_t *cap, const dagpb_link_t *l)
{
    if (n->n_links == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        n->links = ls_realloc(n->links, *cap * sizeof *n->links);
    }
    n->links[n->n_links++] = *l;
}

/* Walk the PBNode fields; Data at most once, Links in one contiguous run. */
static int
decode_fields(const uint8_t *p, size_t len, dagpb_node_t *out)
{
    size_t pos = 0, cap = 0;
    uint32_t field;
    int wire, rc;
    bool links_done = false; /* a run of Links ended (Data came after it) */

    while (pos < len) {
        const uint8_t *v;
        size_t vlen;
        if (pbwire_read_key(p, len, &pos, &field, &wire) < 0 || wire != PBWIRE_LEN)
            return LS_EINVAL;
        if (field != F_DATA && field != F_LINKS)
            return LS_EINVAL;
        if (pbwire_read_bytes(p, len, &pos, &v, &vlen) < 0)
            return LS_EINVAL;
        if (field == F_DATA) {
            if (out->has_data)
                return LS_EINVAL;
            out->data = v;
            out->data_len = vlen;
            out->has_data = true;
            links_done = out->n_links > 0;
            continue;
        }
        if (links_done)
            return LS_EINVAL; /* Links, Data, Links */
        dagpb_link_t l;
        if ((rc = decode_link(v, vlen, &l)) < 0)
            return rc;
        push_link(out, &cap, &l);
    }
    return 0;
}

int
dagpb_decode(const uint8_t *p, size_t len, dagpb_node_t *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    if (len > DAGPB_MAX_BLOCK)
        return LS_ETOOBIG;
    if ((rc = decode_fields(p, len, out)) < 0) {
        dagpb_node_clear(out);
        return rc;
    }
    return 0;
}

void
dagpb_node_clear(dagpb_node_t *node)
{
    free(node->links);
    memset(node, 0, sizeof *node);
}

int
dagpb_link_cmp(const dagpb_link_t *a, const dagpb_link_t *b)
{
    size_t al = a->has_name ? a->name_len : 0, bl = b->has_name ? b->name_len : 0;
    int c = (al && bl) ? memcmp(a->name, b->name, LS_MIN(al, bl)) : 0;

    if (c != 0)
        return c;
    return al < bl ? -1 : al > bl ? 1 : 0;
}

void
dagpb_sort_links(dagpb_link_t *links, size_t n)
{
    /* insertion sort: stable, and already-sorted input (the usual case) is O(n) */
    for (size_t i = 1; i < n; i++) {
        dagpb_link_t l = links[i];
        size_t j = i;
        while (j > 0 && dagpb_link_cmp(&links[j - 1], &l) > 0) {
            links[j] = links[j - 1];
            j--;
        }
        links[j] = l;
    }
}

static size_t
link_len(const dagpb_link_t *l)
{
    /* a CID's binary form: version, codec, multihash (v0: the multihash alone) */
    size_t hl = multihash_encoded_len(&l->cid.hash), n;

    if (l->cid.version == 1)
        hl += pbwire_varint_len(1) + pbwire_varint_len(l->cid.codec);
    n = 1 + pbwire_varint_len(hl) + hl;
    if (l->has_name)
        n += 1 + pbwire_varint_len(l->name_len) + l->name_len;
    if (l->has_tsize)
        n += 1 + pbwire_varint_len(l->tsize);
    return n;
}

size_t
dagpb_encoded_len(const dagpb_node_t *node)
{
    size_t n = 0;

    for (size_t i = 0; i < node->n_links; i++) {
        size_t ll = link_len(&node->links[i]);
        n += 1 + pbwire_varint_len(ll) + ll;
    }
    if (node->has_data)
        n += 1 + pbwire_varint_len(node->data_len) + node->data_len;
    return n;
}

static int
encode_link(const dagpb_link_t *l, buf_t *out)
{
    buf_t c = BUF_INIT(MULTIHASH_MAX_LEN + 2 * 9);
    int rc;

    if ((rc = cid_to_bytes(&l->cid, &c)) < 0)
        return rc;
    rc = pbwire_append_key(out, F_LINKS, PBWIRE_LEN);
    if (rc == 0)
        rc = pbwire_append_varint(out, link_len(l));
    if (rc == 0)
        rc = pbwire_append_bytes(out, F_HASH, c.data, c.len);
    if (rc == 0 && l->has_name)
        rc = pbwire_append_bytes(out, F_NAME, l->name, l->name_len);
    if (rc == 0 && l->has_tsize) {
        rc = pbwire_append_key(out, F_TSIZE, PBWIRE_VARINT);
        if (rc == 0)
            rc = pbwire_append_varint(out, l->tsize);
    }
    buf_free(&c);
    return rc;
}

int
dagpb_encode(const dagpb_node_t *node, buf_t *out)
{
    size_t start = out->len, total = dagpb_encoded_len(node);
    int rc = 0;

    for (size_t i = 1; i < node->n_links; i++)
        if (dagpb_link_cmp(&node->links[i - 1], &node->links[i]) > 0)
            return LS_EINVAL;
    if (total > DAGPB_MAX_BLOCK)
        return LS_ETOOBIG;
    if (buf_reserve(out, total) < 0)
        return LS_ETOOBIG;
    for (size_t i = 0; i < node->n_links && rc == 0; i++)
        rc = encode_link(&node->links[i], out);
    if (rc == 0 && node->has_data)
        rc = pbwire_append_bytes(out, F_DATA, node->data, node->data_len);
    if (rc < 0)
        buf_truncate(out, start);
    return rc;
}
