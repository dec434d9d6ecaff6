/* unixfs_tree — importing a file or directory tree from the file system a slice at
 * a time (unixfs.h), so that an event loop serves its peers between slices.
 *
 * The recursion of a directory walk is an explicit stack of open directories; the
 * file being read, if any, sits on top of it. A step reads at most `budget` bytes of
 * file content (opening and listing directories is not counted, but a directory
 * entry costs at least one unit, so a tree of empty files moves on too). When a file
 * or directory ends, its result goes into the directory below it, exactly as the
 * recursive walk did (same entries, same sharding estimate, same CIDs). */
#include "content/unixfs/unixfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err/err.h"

#define READ_SIZE (256 * 1024) /* a read stays in cache while it is chunked and hashed */
#define ENTRY_COST 4096             /* budget units a directory entry costs */

typedef struct frame_t {
    DIR *dir;
    unixfs_dir_t *ud;
    char *name; /* the entry name in the parent; NULL for the top */
} frame_t;

typedef struct file_t {
    int fd;
    struct stat st;
    unixfs_file_t *f;
    crypt_enc_t *enc;
    uint64_t bytes;
    char *name; /* NULL when the top path is this file */
} file_t;

struct unixfs_tree_t {
    const unixfs_params_t *params;
    unixfs_put_fn put;
    void *ctx;
    const crypt_key_t *key;
    frame_t *stack;
    size_t depth, cap;
    file_t file; /* open while file.fd >= 0 */
    uint8_t *buf;
    uint64_t bytes, files;
    unixfs_result_t result;
    int err; /* sticky; 1 once done */
};

static int
to_importer(void *ctx, const uint8_t *p, size_t len)
{
    return unixfs_file_write(ctx, p, len);
}

static void
file_close(file_t *f)
{
    if (f->fd >= 0)
        close(f->fd);
    crypt_enc_free(f->enc);
    unixfs_file_free(f->f);
    free(f->name);
    *f = (file_t){.fd = -1};
}

/* Start reading the regular file open at `fd` (taken). */
static int
file_open(unixfs_tree_t *t, int fd, const char *name)
{
    file_t *f = &t->file;
    *f = (file_t){.fd = fd, .name = name ? ls_strdup(name) : NULL};
    if (fstat(fd, &f->st) < 0)
        return -errno;
    f->f = unixfs_file_new(t->params, t->put, t->ctx);
    if (!f->f)
        return LS_EINVAL;
    /* encrypted: the file's bytes pass through the AEAD stream on their way in */
    f->enc = t->key ? crypt_enc_new_key(t->key, to_importer, f->f) : NULL;
    return 0;
}

static int
push_dir(unixfs_tree_t *t, int fd, const char *name)
{
    DIR *dir = fdopendir(fd);
    if (!dir) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    if (t->depth == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 8;
        t->stack = ls_realloc(t->stack, t->cap * sizeof *t->stack);
    }
    frame_t *fr = &t->stack[t->depth++];
    *fr = (frame_t){.dir = dir, .ud = unixfs_dir_new(), .name = name ? ls_strdup(name) : NULL};
    unixfs_dir_set_shard_threshold(fr->ud, t->params ? t->params->shard_threshold : 0);
    return 0;
}

/* A finished entry: into the directory below, or the import's result. */
static int
child_done(unixfs_tree_t *t, const char *name, const unixfs_result_t *res, bool counts)
{
    if (t->depth == 0) {
        t->result = *res;
        return 1;
    }
    return unixfs_dir_add_subdir(t->stack[t->depth - 1].ud, name, res, counts);
}

unixfs_tree_t *
unixfs_tree_new(const unixfs_params_t *params, const crypt_key_t *key, unixfs_put_fn put,
                void *ctx)
{
    unixfs_tree_t *t = ls_calloc(1, sizeof *t);
    t->params = params;
    t->key = key;
    t->put = put;
    t->ctx = ctx;
    t->file.fd = -1;
    t->err = LS_EINVAL; /* until opened */
    return t;
}

int
unixfs_tree_open(unixfs_tree_t *t, const char *path)
{
    struct stat st;
    /* the top path itself may be a symlink: follow it, as `ipfs add` does */
    if (stat(path, &st) < 0)
        return t->err = -errno;
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return t->err = LS_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
    if (fd < 0)
        return t->err = -errno;
    t->buf = ls_malloc(READ_SIZE);
    t->err = S_ISDIR(st.st_mode) ? push_dir(t, fd, NULL) : file_open(t, fd, NULL);
    return t->err;
}

void
unixfs_tree_free_(unixfs_tree_t *t)
{
    if (!t)
        return;
    file_close(&t->file);
    while (t->depth) {
        frame_t *fr = &t->stack[--t->depth];
        closedir(fr->dir);
        unixfs_dir_free(fr->ud);
        free(fr->name);
    }
    free(t->stack);
    free(t->buf);
    free(t);
}

/* LS_ECHANGED if the open file is no longer what its fstat at the start described,
 * or the bytes read were not its size: it was written, truncated or extended
 * meanwhile, and the CID would name bytes the file never held at any one moment. */
static int
check_unchanged(const file_t *f)
{
    struct stat st;
    if (fstat(f->fd, &st) < 0)
        return -errno;
    if (st.st_size != f->st.st_size || f->bytes != (uint64_t)f->st.st_size ||
        st.st_mtim.tv_sec != f->st.st_mtim.tv_sec || st.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec)
        return LS_ECHANGED;
    return 0;
}

/* Read a piece of the open file (`*used`: its bytes); at its end, hand its root on.
 * 0 to go on, 1 when that ends the import, or an error. */
static int
file_step(unixfs_tree_t *t, size_t *used)
{
    file_t *f = &t->file;
    ssize_t n = read(f->fd, t->buf, READ_SIZE);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    if (n > 0) {
        *used = (size_t)n;
        f->bytes += (uint64_t)n;
        t->bytes += (uint64_t)n;
        return f->enc ? crypt_enc_write(f->enc, t->buf, (size_t)n)
                      : unixfs_file_write(f->f, t->buf, (size_t)n);
    }
    unixfs_result_t res;
    int rc = check_unchanged(f);
    if (rc == 0 && f->enc)
        rc = crypt_enc_finish(f->enc);
    if (rc == 0)
        rc = unixfs_file_finish(f->f, &res);
    if (rc == 0)
        rc = child_done(t, f->name, &res, true);
    t->files++;
    file_close(f);
    return rc;
}

/* The top directory has no more entries: finish it into its parent. */
static int
dir_end(unixfs_tree_t *t)
{
    frame_t fr = t->stack[--t->depth];
    unixfs_result_t res;
    bool empty = unixfs_dir_count(fr.ud) == 0;
    int rc = unixfs_dir_finish(fr.ud, t->put, t->ctx, &res);
    if (rc == 0)
        rc = child_done(t, fr.name, &res, empty);
    closedir(fr.dir);
    unixfs_dir_free(fr.ud);
    free(fr.name);
    return rc;
}

/* The next entry of the top directory: a file to read, a directory to enter, or
 * (others: symlinks, sockets...) skipped. 0, 1 when that ends the import, or an
 * error. */
static int
dir_step(unixfs_tree_t *t)
{
    frame_t *fr = &t->stack[t->depth - 1];
    errno = 0;
    struct dirent *de = readdir(fr->dir);
    if (!de)
        return errno ? -errno : dir_end(t);
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        return 0;
    if (t->depth > UNIXFS_MAX_DEPTH) /* the entry would sit deeper than a reader goes */
        return LS_ELIMIT;
    struct stat st;
    int dfd = dirfd(fr->dir);
    if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return 0;
    int fd = openat(dfd, de->d_name,
                    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
    if (fd < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? push_dir(t, fd, de->d_name) : file_open(t, fd, de->d_name);
}

int
unixfs_tree_step(unixfs_tree_t *t, size_t budget, unixfs_result_t *out)
{
    while (t->err == 0 && budget > 0) {
        size_t used = ENTRY_COST;
        t->err = t->file.fd >= 0 ? file_step(t, &used) : dir_step(t);
        budget -= LS_MIN(budget, used);
    }
    if (t->err == 1)
        *out = t->result;
    return t->err;
}

void
unixfs_tree_progress(const unixfs_tree_t *t, uint64_t *bytes, uint64_t *files)
{
    *bytes = t->bytes;
    *files = t->files;
}
