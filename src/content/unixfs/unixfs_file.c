/* unixfs_file — streaming balanced-DAG file importer; see unixfs.h.
 *
 * ipfs-unixfs-importer's balanced layout batches the leaves into groups of
 * max_links, reduces each group to a parent, and repeats on the parents until one
 * node is left. The same tree is built here in one pass with a stack of levels:
 * level i holds at most max_links pending entries; when an entry arrives at a full
 * level, that level is first reduced to a parent pushed to level i + 1. At the end
 * every level is reduced bottom-up, except that the highest level stops as the
 * root once it holds a single entry (so a one-chunk file is its raw leaf). */
#include "content/unixfs/unixfs.h"

#include <stdlib.h>
#include <string.h>

#include "content/chunker/chunker.h"
#include "content/dagpb/dagpb.h"
#include "lib/err/err.h"

typedef struct entry_t {
    cid_t cid;
    uint64_t tsize; /* cumulative size */
    uint64_t fsize; /* file bytes below */
} entry_t;

typedef struct level_t {
    entry_t *e; /* max_links entries, allocated on first use */
    size_t n;
    uint64_t total; /* entries ever added */
} level_t;

struct unixfs_file_t {
    size_t max_links;
    chunker_t *chunker;
    unixfs_put_fn put;
    void *ctx;
    level_t levels[UNIXFS_MAX_DEPTH + 1];
    dagpb_link_t *links;  /* scratch for one parent */
    uint64_t *blocksizes; /* scratch for one parent */
    buf_t data;           /* scratch: the parent's UnixFS Data */
    buf_t block;          /* scratch: the parent block */
    int err;
    bool finished;
};

unixfs_file_t *
unixfs_file_new(const unixfs_params_t *params, unixfs_put_fn put, void *ctx)
{
    unixfs_params_t p = params ? *params : (unixfs_params_t){0};
    unixfs_file_t *f;
    chunker_t *c;

    if (p.max_links == 0)
        p.max_links = UNIXFS_DEFAULT_MAX_LINKS;
    if (p.max_links < 2 || p.max_links > UNIXFS_MAX_LINKS)
        return NULL;
    if (!(c = chunker_new(p.chunk_size)))
        return NULL;
    f = ls_calloc(1, sizeof *f);
    f->max_links = p.max_links;
    f->chunker = c;
    f->put = put;
    f->ctx = ctx;
    f->links = ls_calloc(p.max_links, sizeof *f->links);
    f->blocksizes = ls_calloc(p.max_links, sizeof *f->blocksizes);
    buf_init(&f->data, DAGPB_MAX_BLOCK);
    buf_init(&f->block, DAGPB_MAX_BLOCK);
    return f;
}

void
unixfs_file_free_(unixfs_file_t *f)
{
    if (!f)
        return;
    chunker_free(f->chunker);
    for (size_t i = 0; i < LS_ARRAY_LEN(f->levels); i++)
        free(f->levels[i].e);
    free(f->links);
    free(f->blocksizes);
    buf_free(&f->data);
    buf_free(&f->block);
    free(f);
}

static int push(unixfs_file_t *f, size_t lvl, const entry_t *e);

/* Reduce level `lvl` to one parent node, put it and push it one level up. */
static int
reduce(unixfs_file_t *f, size_t lvl)
{
    level_t *L = &f->levels[lvl];
    unixfs_data_t ud = {.type = UNIXFS_FILE, .has_filesize = true};
    dagpb_node_t node = {.links = f->links, .n_links = L->n, .has_data = true};
    entry_t parent = {0};
    int rc;

    for (size_t i = 0; i < L->n; i++) {
        f->links[i] = (dagpb_link_t){.cid = L->e[i].cid,
                                     .has_name = true,
                                     .name = NULL,
                                     .tsize = L->e[i].tsize,
                                     .has_tsize = true};
        f->blocksizes[i] = L->e[i].fsize;
        ud.filesize += L->e[i].fsize;
        parent.tsize += L->e[i].tsize;
    }
    ud.blocksizes = f->blocksizes;
    ud.n_blocksizes = L->n;
    buf_clear(&f->data);
    buf_clear(&f->block);
    if ((rc = unixfs_data_encode(&ud, &f->data)) < 0)
        return rc;
    node.data = f->data.data;
    node.data_len = f->data.len;
    if ((rc = dagpb_encode(&node, &f->block)) < 0)
        return rc;
    cid_v1_sha256(&parent.cid, CID_CODEC_DAG_PB, f->block.data, f->block.len);
    if ((rc = f->put(f->ctx, &parent.cid, f->block.data, f->block.len)) < 0)
        return rc;
    parent.tsize += f->block.len;
    parent.fsize = ud.filesize;
    L->n = 0;
    return push(f, lvl + 1, &parent);
}

static int
push(unixfs_file_t *f, size_t lvl, const entry_t *e)
{
    level_t *L;
    int rc;

    if (lvl > UNIXFS_MAX_DEPTH)
        return LS_ETOOBIG;
    L = &f->levels[lvl];
    if (!L->e)
        L->e = ls_malloc(f->max_links * sizeof *L->e);
    if (L->n == f->max_links && (rc = reduce(f, lvl)) < 0)
        return rc;
    L->e[L->n++] = *e;
    L->total++;
    return 0;
}

/* chunker callback: one raw leaf */
static int
on_chunk(void *ctx, const uint8_t *chunk, size_t len)
{
    unixfs_file_t *f = ctx;
    entry_t leaf = {.tsize = len, .fsize = len};
    int rc;

    cid_v1_sha256(&leaf.cid, CID_CODEC_RAW, chunk, len);
    if ((rc = f->put(f->ctx, &leaf.cid, chunk, len)) < 0)
        return rc;
    return push(f, 0, &leaf);
}

int
unixfs_file_write(unixfs_file_t *f, const uint8_t *p, size_t len)
{
    if (f->err)
        return f->err;
    if (f->finished)
        return LS_EINVAL;
    f->err = chunker_feed(f->chunker, p, len, on_chunk, f);
    return f->err;
}

static int
finish_levels(unixfs_file_t *f, unixfs_result_t *out)
{
    for (size_t lvl = 0; lvl <= UNIXFS_MAX_DEPTH; lvl++) {
        level_t *L = &f->levels[lvl];
        bool top = lvl == UNIXFS_MAX_DEPTH || f->levels[lvl + 1].total == 0;
        int rc;

        if (top && L->n == 1) {
            out->cid = L->e[0].cid;
            out->tsize = L->e[0].tsize;
            out->filesize = L->e[0].fsize;
            return 0;
        }
        if ((rc = reduce(f, lvl)) < 0)
            return rc;
    }
    return LS_ETOOBIG;
}

int
unixfs_file_finish(unixfs_file_t *f, unixfs_result_t *out)
{
    if (f->err)
        return f->err;
    if (f->finished)
        return LS_EINVAL;
    f->finished = true;
    f->err = chunker_finish(f->chunker, on_chunk, f);
    if (f->err == 0)
        f->err = finish_levels(f, out);
    return f->err;
}
