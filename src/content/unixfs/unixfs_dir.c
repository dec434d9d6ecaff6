/* unixfs_dir — flat UnixFS directories and importing from the file system; see
 * unixfs.h. */
#include "content/unixfs/unixfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "content/dagpb/dagpb.h"
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
    size_t estimate; /* importer's links-bytes estimate: name bytes + CID bytes */
};

unixfs_dir_t *
unixfs_dir_new(void)
{
    return ls_calloc(1, sizeof(unixfs_dir_t));
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

int
unixfs_dir_add(unixfs_dir_t *d, const char *name, const unixfs_result_t *child)
{
    size_t len = strlen(name), est;

    if (!name_is_valid(name))
        return LS_EINVAL;
    for (size_t i = 0; i < d->n; i++)
        if (d->e[i].name_len == len && memcmp(d->e[i].name, name, len) == 0)
            return LS_EEXIST;
    est = d->estimate + len + cid_len(&child->cid);
    if (est > UNIXFS_SHARD_THRESHOLD)
        return LS_ENOTSUP;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->e = ls_realloc(d->e, d->cap * sizeof *d->e);
    }
    d->e[d->n++] = (dirent_rec_t){.name = ls_strdup(name), .name_len = len, .child = *child};
    d->estimate = est;
    return 0;
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

static int
add_file(int fd, const unixfs_params_t *params, unixfs_put_fn put, void *ctx, unixfs_result_t *out)
{
    unixfs_file_t *f = unixfs_file_new(params, put, ctx);
    uint8_t *bufp;
    ssize_t n;
    int rc = 0;

    if (!f)
        return LS_EINVAL;
    bufp = ls_malloc(READ_SIZE);
    while (rc == 0 && (n = read(fd, bufp, READ_SIZE)) != 0) {
        if (n < 0)
            rc = errno == EINTR ? 0 : -errno;
        else
            rc = unixfs_file_write(f, bufp, (size_t)n);
    }
    if (rc == 0)
        rc = unixfs_file_finish(f, out);
    free(bufp);
    unixfs_file_free(f);
    return rc;
}

static int add_at(int dirfd, const char *name, const unixfs_params_t *params, unixfs_put_fn put,
                  void *ctx, int depth, unixfs_result_t *out);

static int
add_dir(int fd, const unixfs_params_t *params, unixfs_put_fn put, void *ctx, int depth,
        unixfs_result_t *out)
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
    while (rc == 0 && (errno = 0, de = readdir(dir)) != NULL) {
        unixfs_result_t child;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        rc = add_at(dirfd(dir), de->d_name, params, put, ctx, depth + 1, &child);
        if (rc == 1) /* skipped: not a file or directory */
            rc = 0;
        else if (rc == 0)
            rc = unixfs_dir_add(ud, de->d_name, &child);
    }
    if (rc == 0 && errno != 0)
        rc = -errno;
    if (rc == 0)
        rc = unixfs_dir_finish(ud, put, ctx, out);
    unixfs_dir_free(ud);
    closedir(dir);
    return rc;
}

/* Import `name` relative to `dirfd`. 0, 1 if skipped (neither file nor directory),
 * or a negative error. */
static int
add_at(int dirfd, const char *name, const unixfs_params_t *params, unixfs_put_fn put, void *ctx,
       int depth, unixfs_result_t *out)
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
        return add_dir(fd, params, put, ctx, depth, out); /* closes fd */
    rc = add_file(fd, params, put, ctx, out);
    close(fd);
    return rc;
}

int
unixfs_add_path(const char *path, const unixfs_params_t *params, unixfs_put_fn put, void *ctx,
                unixfs_result_t *out)
{
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
    if (S_ISDIR(st.st_mode))
        return add_dir(fd, params, put, ctx, 0, out);
    rc = add_file(fd, params, put, ctx, out);
    close(fd);
    return rc;
}
