/* unixfs_read — reading UnixFS files and directories through a block getter; see
 * unixfs.h. Each fetched block is checked against its CID before it is parsed, and
 * each file node's size against what its parent's blocksizes promised, so a peer
 * cannot make the reader emit bytes other than the ones the root CID commits to. */
#include "content/unixfs/unixfs.h"

#include <stdlib.h>
#include <string.h>

#include "content/dagpb/dagpb.h"
#include "content/unixfs/unixfs_hamt.h"
#include "lib/err/err.h"

#define SIZE_UNKNOWN UINT64_MAX

int
unixfs_get_block(const unixfs_source_t *src, const cid_t *cid, buf_t *out)
{
    int rc;

    buf_clear(out);
    out->max = DAGPB_MAX_BLOCK;
    if (cid->hash.code != MULTIHASH_SHA2_256 && cid->hash.code != MULTIHASH_IDENTITY)
        return LS_ENOTSUP;
    if ((rc = src->get(src->ctx, cid, out)) < 0)
        return rc;
    if (out->len > DAGPB_MAX_BLOCK)
        return LS_ETOOBIG;
    if (!src->verified &&
        !multihash_verify(&cid->hash, out->data ? out->data : (const uint8_t *)"", out->len))
        return LS_ECORRUPT;
    return 0;
}

/* A dag-pb block decoded down to its UnixFS Data. */
typedef struct fsnode_t {
    dagpb_node_t pb;
    unixfs_data_t ud;
} fsnode_t;

static void
fsnode_clear(fsnode_t *n)
{
    dagpb_node_clear(&n->pb);
    unixfs_data_clear(&n->ud);
}

static int
fsnode_decode(const buf_t *block, fsnode_t *n)
{
    memset(n, 0, sizeof *n);
    if (dagpb_decode(block->data, block->len, &n->pb) < 0)
        return LS_EPROTO;
    if (!n->pb.has_data || unixfs_data_decode(n->pb.data, n->pb.data_len, &n->ud) < 0) {
        fsnode_clear(n);
        return LS_EPROTO;
    }
    return 0;
}

/* File bytes under a File/Raw node: its own Data plus its children's blocksizes,
 * which must be one per link and agree with filesize when that is present. */
static int
file_size(const fsnode_t *n, uint64_t *out)
{
    uint64_t size = n->ud.data_len;

    if (n->ud.n_blocksizes != n->pb.n_links)
        return LS_EPROTO;
    for (size_t i = 0; i < n->ud.n_blocksizes; i++) {
        if (n->ud.blocksizes[i] > UINT64_MAX - size)
            return LS_EPROTO;
        size += n->ud.blocksizes[i];
    }
    if (n->ud.has_filesize && n->ud.filesize != size)
        return LS_EPROTO;
    *out = size;
    return 0;
}

/* Fetch and classify the node at `cid`: raw leaves are reported as a File with no
 * links. On success `block` holds the bytes and, for dag-pb, `n` the decoding. */
static int
load(const unixfs_source_t *src, const cid_t *cid, buf_t *block, fsnode_t *n)
{
    int rc;

    memset(n, 0, sizeof *n);
    if (cid->codec != CID_CODEC_RAW && cid->codec != CID_CODEC_DAG_PB)
        return LS_ENOTSUP;
    if ((rc = unixfs_get_block(src, cid, block)) < 0)
        return rc;
    if (cid->codec == CID_CODEC_RAW) {
        n->ud.type = UNIXFS_FILE;
        n->ud.data = block->data;
        n->ud.data_len = block->len;
        return 0;
    }
    return fsnode_decode(block, n);
}

int
unixfs_stat(const cid_t *root, const unixfs_source_t *src, unixfs_stat_t *out)
{
    buf_t block = BUF_INIT(DAGPB_MAX_BLOCK);
    fsnode_t n;
    int rc = load(src, root, &block, &n);

    if (rc == 0) {
        memset(out, 0, sizeof *out);
        /* a sharded directory is a directory to its readers (unixfs_ls walks it) */
        out->type = n.ud.type == UNIXFS_HAMT_SHARD ? UNIXFS_DIRECTORY : n.ud.type;
        out->n_links = n.pb.n_links;
        if (n.ud.type == UNIXFS_FILE || n.ud.type == UNIXFS_RAW)
            rc = file_size(&n, &out->filesize);
        fsnode_clear(&n);
    }
    buf_free(&block);
    return rc;
}

/* ---- cat ---- */

typedef struct cat_t {
    const unixfs_source_t *src;
    unixfs_write_fn write;
    void *wctx;
} cat_t;

typedef struct child_t {
    cid_t cid;
    uint64_t size;
} child_t;

static int cat_node(cat_t *c, const cid_t *cid, uint64_t expect, uint64_t skip, uint64_t want,
                    int depth);

/* Emit the part of `p[0..len)` (at node offset 0) that falls in [skip, skip + want). */
static int
emit_range(cat_t *c, const uint8_t *p, uint64_t len, uint64_t skip, uint64_t want)
{
    if (skip >= len || want == 0)
        return 0;
    return c->write(c->wctx, p + skip, (size_t)LS_MIN(want, len - skip));
}

/* Visit the children that intersect [skip, skip + want); `base` is where the
 * first child starts in the node's bytes. */
static int
cat_children(cat_t *c, const child_t *ch, size_t n, uint64_t base, uint64_t skip, uint64_t want,
             int depth)
{
    uint64_t end = want > UINT64_MAX - skip ? UINT64_MAX : skip + want, at = base;
    int rc;

    for (size_t i = 0; i < n && at < end; i++) {
        uint64_t next = at + ch[i].size;
        if (next > skip) {
            uint64_t s = skip > at ? skip - at : 0;
            uint64_t w = LS_MIN(end, next) - (at + s);
            if ((rc = cat_node(c, &ch[i].cid, ch[i].size, s, w, depth + 1)) < 0)
                return rc;
        }
        at = next;
    }
    return 0;
}

static int
cat_loaded(cat_t *c, buf_t *block, fsnode_t *n, uint64_t expect, uint64_t skip, uint64_t want,
           int depth)
{
    uint64_t size;
    child_t *ch;
    size_t nch = n->pb.n_links;
    int rc;

    if (n->ud.type == UNIXFS_DIRECTORY || n->ud.type == UNIXFS_HAMT_SHARD)
        return -EISDIR;
    if (n->ud.type != UNIXFS_FILE && n->ud.type != UNIXFS_RAW)
        return LS_ENOTSUP;
    if ((rc = file_size(n, &size)) < 0)
        return rc;
    if (expect != SIZE_UNKNOWN && size != expect)
        return LS_EPROTO;
    if ((rc = emit_range(c, n->ud.data, n->ud.data_len, skip, want)) < 0 || nch == 0)
        return rc;
    /* keep only what the children need, and drop the block before descending */
    ch = ls_malloc(nch * sizeof *ch);
    for (size_t i = 0; i < nch; i++)
        ch[i] = (child_t){n->pb.links[i].cid, n->ud.blocksizes[i]};
    uint64_t base = n->ud.data_len;
    fsnode_clear(n);
    buf_free(block);
    rc = cat_children(c, ch, nch, base, skip, want, depth);
    free(ch);
    return rc;
}

static int
cat_node(cat_t *c, const cid_t *cid, uint64_t expect, uint64_t skip, uint64_t want, int depth)
{
    buf_t block = BUF_INIT(DAGPB_MAX_BLOCK);
    fsnode_t n;
    int rc;

    if (depth > UNIXFS_MAX_DEPTH)
        return LS_ELIMIT;
    if ((rc = load(c->src, cid, &block, &n)) == 0) {
        rc = cat_loaded(c, &block, &n, expect, skip, want, depth);
        fsnode_clear(&n);
    }
    buf_free(&block);
    return rc;
}

int
unixfs_cat(const cid_t *root, uint64_t offset, uint64_t length, const unixfs_source_t *src,
           unixfs_write_fn write, void *wctx)
{
    cat_t c = {src, write, wctx};
    return cat_node(&c, root, SIZE_UNKNOWN, offset, length, 0);
}

/* ---- ls ---- */

static bool
entry_name_ok(const dagpb_link_t *l)
{
    if (!l->has_name || l->name_len == 0 || memchr(l->name, '/', l->name_len) ||
        memchr(l->name, '\0', l->name_len))
        return false;
    return !(l->name_len == 1 && l->name[0] == '.') &&
           !(l->name_len == 2 && l->name[0] == '.' && l->name[1] == '.');
}

static int
list_entries(const dagpb_node_t *pb, unixfs_dirent_fn fn, void *fctx)
{
    int rc = 0;

    for (size_t i = 0; i < pb->n_links; i++)
        if (!entry_name_ok(&pb->links[i]))
            return LS_EPROTO;
    for (size_t i = 0; i < pb->n_links && rc == 0; i++) {
        const dagpb_link_t *l = &pb->links[i];
        char *name = ls_strndup((const char *)l->name, l->name_len);
        rc = fn(fctx, name, &l->cid, l->has_tsize ? l->tsize : 0);
        free(name);
    }
    return rc;
}

int
unixfs_ls(const cid_t *root, const unixfs_source_t *src, unixfs_dirent_fn fn, void *fctx)
{
    buf_t block = BUF_INIT(DAGPB_MAX_BLOCK);
    fsnode_t n;
    int rc = load(src, root, &block, &n);

    if (rc == 0) {
        if (n.ud.type == UNIXFS_HAMT_SHARD)
            rc = unixfs_hamt_ls(&n.pb, &n.ud, src, fn, fctx);
        else if (n.ud.type != UNIXFS_DIRECTORY)
            rc = -ENOTDIR;
        else
            rc = list_entries(&n.pb, fn, fctx);
        fsnode_clear(&n);
    }
    buf_free(&block);
    return rc;
}

typedef struct lookup_t {
    const char *name;
    cid_t cid;
    bool found;
} lookup_t;

/* The listing stops at the first nonzero answer; `found` tells that stop from an
 * error. */
static int
match_entry(void *ctx, const char *name, const cid_t *cid, uint64_t tsize)
{
    lookup_t *l = ctx;
    (void)tsize;
    if (strcmp(name, l->name) != 0)
        return 0;
    l->cid = *cid;
    l->found = true;
    return 1;
}

int
unixfs_lookup(const cid_t *dir, const unixfs_source_t *src, const char *name, cid_t *out)
{
    buf_t block = BUF_INIT(DAGPB_MAX_BLOCK);
    fsnode_t n;
    lookup_t l = {.name = name};
    int rc = load(src, dir, &block, &n);
    if (rc == 0) {
        if (n.ud.type == UNIXFS_HAMT_SHARD) {
            rc = unixfs_hamt_find(&n.pb, &n.ud, src, name, &l.cid);
            l.found = rc == 1;
            if (rc == LS_ENOTSUP) /* not a fanout we hash for: list it */
                rc = unixfs_hamt_ls(&n.pb, &n.ud, src, match_entry, &l);
        } else if (n.ud.type != UNIXFS_DIRECTORY) {
            rc = -ENOTDIR;
        } else {
            rc = list_entries(&n.pb, match_entry, &l);
        }
        fsnode_clear(&n);
    }
    buf_free(&block);
    if (l.found)
        *out = l.cid;
    return l.found ? 0 : rc < 0 ? rc : UNIXFS_NO_ENTRY;
}
