/* unixfs_dir — UnixFS directories (flat, or HAMT-sharded past the threshold:
 * unixfs_hamt.c) and importing from the file system; see unixfs.h. */
#include "content/unixfs/unixfs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "content/dagpb/dagpb.h"
#include "content/unixfs/unixfs_hamt.h"
#include "lib/err/err.h"
#include "lib/varint/varint.h"

typedef struct dirent_rec_t {
    char *name;
    size_t name_len;
    unixfs_result_t child;
} dirent_rec_t;

struct unixfs_dir_t {
    dirent_rec_t *e;
    size_t n, cap;
    size_t estimate;  /* importer's links-bytes estimate: name bytes + CID bytes */
    size_t threshold; /* shard when the estimate passes it */
};

unixfs_dir_t *
unixfs_dir_new(void)
{
    unixfs_dir_t *d = ls_calloc(1, sizeof(unixfs_dir_t));
    d->threshold = UNIXFS_SHARD_THRESHOLD;
    return d;
}

void
unixfs_dir_set_shard_threshold(unixfs_dir_t *d, size_t bytes)
{
    d->threshold = bytes ? bytes : UNIXFS_SHARD_THRESHOLD;
}

void
unixfs_dir_free_(unixfs_dir_t *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->e[i].name);
    free(d->e);
    free(d);
}

static bool
name_is_valid(const char *name)
{
    return name[0] != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0;
}

static size_t
cid_len(const cid_t *cid)
{
    size_t n = multihash_encoded_len(&cid->hash);
    if (cid->version == 1)
        n += varint_len(1) + varint_len(cid->codec);
    return n;
}

/* Add an entry; `counts`: it takes part in the sharding estimate. */
static int
dir_add(unixfs_dir_t *d, const char *name, const unixfs_result_t *child, bool counts)
{
    size_t len = strlen(name);

    if (!name_is_valid(name))
        return LS_EINVAL;
    for (size_t i = 0; i < d->n; i++)
        if (d->e[i].name_len == len && memcmp(d->e[i].name, name, len) == 0)
            return LS_EEXIST;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->e = ls_realloc(d->e, d->cap * sizeof *d->e);
    }
    d->e[d->n++] = (dirent_rec_t){.name = ls_strdup(name), .name_len = len, .child = *child};
    if (counts)
        d->estimate += len + cid_len(&child->cid);
    return 0;
}

size_t
unixfs_dir_count(const unixfs_dir_t *d)
{
    return d->n;
}

int
unixfs_dir_add(unixfs_dir_t *d, const char *name, const unixfs_result_t *child)
{
    return dir_add(d, name, child, true);
}

int
unixfs_dir_add_subdir(unixfs_dir_t *d, const char *name, const unixfs_result_t *child, bool empty)
{
    return dir_add(d, name, child, empty);
}

static int
finish_sharded(unixfs_dir_t *d, unixfs_put_fn put, void *ctx, unixfs_result_t *out)
{
    unixfs_hamt_entry_t *e = ls_calloc(d->n, sizeof *e);
    for (size_t i = 0; i < d->n; i++)
        e[i] = (unixfs_hamt_entry_t){d->e[i].name, d->e[i].name_len, d->e[i].child};
    int rc = unixfs_hamt_write(e, d->n, put, ctx, out);
    free(e);
    return rc;
}

static int
rec_cmp(const void *a, const void *b)
{
    const dirent_rec_t *x = a, *y = b;
    int c = memcmp(x->name, y->name, LS_MIN(x->name_len, y->name_len));
    if (c != 0)
        return c;
    return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

int
unixfs_dir_finish(unixfs_dir_t *d, unixfs_put_fn put, void *ctx, unixfs_result_t *out)
{
    static const uint8_t dir_data[] = {0x08, UNIXFS_DIRECTORY}; /* Data{Type: Directory} */
    dagpb_node_t node = {.data = dir_data, .data_len = sizeof dir_data, .has_data = true};
    buf_t block = BUF_INIT(DAGPB_MAX_BLOCK);
    uint64_t tsize = 0;
    int rc;

    if (d->estimate > d->threshold)
        return finish_sharded(d, put, ctx, out);
    /* names are unique, so an unstable sort gives the one dag-pb order */
    if (d->n > 1)
        qsort(d->e, d->n, sizeof *d->e, rec_cmp);
    node.links = ls_calloc(d->n ? d->n : 1, sizeof *node.links);
    node.n_links = d->n;
    for (size_t i = 0; i < d->n; i++) {
        node.links[i] = (dagpb_link_t){.cid = d->e[i].child.cid,
                                       .name = (const uint8_t *)d->e[i].name,
                                       .name_len = d->e[i].name_len,
                                       .has_name = true,
                                       .tsize = d->e[i].child.tsize,
                                       .has_tsize = true};
        tsize += d->e[i].child.tsize;
    }
    rc = dagpb_encode(&node, &block);
    if (rc == 0) {
        cid_v1_sha256(&out->cid, CID_CODEC_DAG_PB, block.data, block.len);
        rc = put(ctx, &out->cid, block.data, block.len);
        out->tsize = tsize + block.len;
        out->filesize = 0;
    }
    free(node.links);
    buf_free(&block);
    return rc;
}

/* ---- from the file system: unixfs_tree.c, a slice at a time ---- */

int
unixfs_add_path_encrypted(const char *path, const unixfs_params_t *params, const crypt_key_t *key,
                          unixfs_put_fn put, void *ctx, unixfs_result_t *out)
{
    unixfs_tree_t *t = unixfs_tree_new(params, key, put, ctx);
    int rc = unixfs_tree_open(t, path);
    while (rc == 0)
        rc = unixfs_tree_step(t, SIZE_MAX, out);
    unixfs_tree_free(t);
    return rc == 1 ? 0 : rc;
}

int
unixfs_add_path(const char *path, const unixfs_params_t *params, unixfs_put_fn put, void *ctx,
                unixfs_result_t *out)
{
    return unixfs_add_path_encrypted(path, params, NULL, put, ctx, out);
}
