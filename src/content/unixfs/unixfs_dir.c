/* unixfs_dir — UnixFS directories (flat, or HAMT-sharded past the threshold:
 * unixfs_hamt.c) and importing from the file system; see unixfs.h. */
#include "content/unixfs/unixfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---- from the file system ---- */

#define READ_SIZE (4 * 1024 * 1024) /* a multiple of every chunk size up to 1 MiB */

/* What every file and directory of one import shares. */
typedef struct import_t {
    const unixfs_params_t *params;
    unixfs_put_fn put;
    void *ctx;
    const crypt_key_t *key; /* NULL: files are stored as they are */
} import_t;

static int
to_importer(void *ctx, const uint8_t *p, size_t len)
{
    return unixfs_file_write(ctx, p, len);
}

/* LS_ECHANGED if the file open at `fd` is no longer what `before` (its fstat when
 * the import began) described, or `bytes` were read of it instead of its size: it
 * was written, truncated or extended meanwhile, and the CID would name bytes the
 * file never held at any one moment. */
static int
check_unchanged(int fd, const struct stat *before, uint64_t bytes)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (st.st_size != before->st_size || bytes != (uint64_t)before->st_size ||
        st.st_mtim.tv_sec != before->st_mtim.tv_sec ||
        st.st_mtim.tv_nsec != before->st_mtim.tv_nsec)
        return LS_ECHANGED;
    return 0;
}

static int
add_file(int fd, const import_t *im, unixfs_result_t *out)
{
    unixfs_file_t *f = unixfs_file_new(im->params, im->put, im->ctx);
    uint8_t *bufp;
    ssize_t n;
    uint64_t bytes = 0;
    struct stat st;
    int rc = 0;

    if (!f)
        return LS_EINVAL;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        unixfs_file_free(f);
        return rc;
    }
    /* encrypted: the file's bytes pass through the AEAD stream on their way in */
    crypt_enc_t *enc = im->key ? crypt_enc_new_key(im->key, to_importer, f) : NULL;
    bufp = ls_malloc(READ_SIZE);
    while (rc == 0 && (n = read(fd, bufp, READ_SIZE)) != 0) {
        if (n < 0)
            rc = errno == EINTR ? 0 : -errno;
        else
            rc =
                enc ? crypt_enc_write(enc, bufp, (size_t)n) : unixfs_file_write(f, bufp, (size_t)n);
        bytes += n > 0 ? (uint64_t)n : 0;
    }
    if (rc == 0)
        rc = check_unchanged(fd, &st, bytes);
    if (rc == 0 && enc)
        rc = crypt_enc_finish(enc);
    if (rc == 0)
        rc = unixfs_file_finish(f, out);
    crypt_enc_free(enc);
    free(bufp);
    unixfs_file_free(f);
    return rc;
}

static int add_at(int dirfd, const char *name, const import_t *im, int depth, unixfs_result_t *out,
                  bool *counts);

/* Import the directory open at `fd` (closed here); `*empty`: it had no entries. */
static int
add_dir(int fd, const import_t *im, int depth, unixfs_result_t *out, bool *empty)
{
    DIR *dir = fdopendir(fd);
    unixfs_dir_t *ud;
    struct dirent *de;
    int rc = 0;

    if (!dir) {
        rc = -errno;
        close(fd);
        return rc;
    }
    ud = unixfs_dir_new();
    unixfs_dir_set_shard_threshold(ud, im->params ? im->params->shard_threshold : 0);
    while (rc == 0 && (errno = 0, de = readdir(dir)) != NULL) {
        unixfs_result_t child;
        bool counts = true;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        rc = add_at(dirfd(dir), de->d_name, im, depth + 1, &child, &counts);
        if (rc == 1) /* skipped: not a file or directory */
            rc = 0;
        else if (rc == 0)
            rc = dir_add(ud, de->d_name, &child, counts);
    }
    if (rc == 0 && errno != 0)
        rc = -errno;
    *empty = ud->n == 0;
    if (rc == 0)
        rc = unixfs_dir_finish(ud, im->put, im->ctx, out);
    unixfs_dir_free(ud);
    closedir(dir);
    return rc;
}

/* Import `name` relative to `dirfd`. 0, 1 if skipped (neither file nor directory),
 * or a negative error. `*counts`: the entry takes part in its parent's sharding
 * estimate — files and empty directories, as in ipfs-unixfs-importer, where a directory
 * with entries has no CID yet when its parent decides (unixfs_dir_add_subdir). */
static int
add_at(int dirfd, const char *name, const import_t *im, int depth, unixfs_result_t *out,
       bool *counts)
{
    struct stat st;
    int fd, rc;

    if (depth > UNIXFS_MAX_DEPTH)
        return LS_ELIMIT;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return 1;
    fd = openat(dirfd, name,
                O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
    if (fd < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return add_dir(fd, im, depth, out, counts); /* closes fd */
    rc = add_file(fd, im, out);
    close(fd);
    return rc;
}

int
unixfs_add_path_encrypted(const char *path, const unixfs_params_t *params, const crypt_key_t *key,
                          unixfs_put_fn put, void *ctx, unixfs_result_t *out)
{
    const import_t im = {.params = params, .put = put, .ctx = ctx, .key = key};
    struct stat st;
    int fd, rc;

    /* the top path itself may be a symlink: follow it, as `ipfs add` does */
    if (stat(path, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return LS_EINVAL;
    fd = open(path, O_RDONLY | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
    if (fd < 0)
        return -errno;
    bool empty;
    if (S_ISDIR(st.st_mode))
        return add_dir(fd, &im, 0, out, &empty);
    rc = add_file(fd, &im, out);
    close(fd);
    return rc;
}

int
unixfs_add_path(const char *path, const unixfs_params_t *params, unixfs_put_fn put, void *ctx,
                unixfs_result_t *out)
{
    return unixfs_add_path_encrypted(path, params, NULL, put, ctx, out);
}
