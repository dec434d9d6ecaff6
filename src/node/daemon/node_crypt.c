/* node_crypt — key derivation on the worker pool, and decrypting export of held
 * files; see node_crypt.h. */
#include "node/daemon/node_crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "content/crypt/crypt.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"

/* Directory levels node_crypt_first_header() descends (as the export's limit). */
#define NODE_CRYPT_MAX_DEPTH 64

/* ---- key derivation off the loop ---- */

/* Shared by the loop (done, cancel) and one worker (derive_work), never at once: the
 * pool hands the job to `done` only after `work` returned. */
struct node_crypt_derive_t {
    char *passphrase; /* the copy; wiped by the worker right after use */
    size_t pass_len;
    crypt_header_t header; /* the stream's, when has_header; else a new key */
    bool has_header;
    crypt_key_t *key;
    int rc;
    bool cancelled; /* the owner went away: `done` must not run */
    node_crypt_key_fn done;
    void *ctx;
};

static void
wipe_passphrase(node_crypt_derive_t *d)
{
    if (d->passphrase) {
        sodium_memzero(d->passphrase, d->pass_len);
        free(d->passphrase);
        d->passphrase = NULL;
    }
}

/* On a worker: touches only the job. */
static void
derive_work(void *arg)
{
    node_crypt_derive_t *d = arg;
    d->rc = d->has_header ? crypt_key_derive_for(d->passphrase, &d->header, &d->key)
                          : crypt_key_derive(d->passphrase, NULL, &d->key);
    sodium_memzero(d->passphrase, d->pass_len);
}

/* On the loop: hand the key over, unless the owner is gone; `pool_cancelled`: the
 * pool stopped before the job ran (no key). */
static void
derive_done(void *arg, bool pool_cancelled)
{
    node_crypt_derive_t *d = arg;
    wipe_passphrase(d);
    if (pool_cancelled && d->rc == 0 && !d->key)
        d->rc = LS_ECLOSED;
    if (!d->cancelled) {
        d->done(d->ctx, d->rc, d->key);
        d->key = NULL; /* the callee's now */
    }
    crypt_key_free(d->key);
    sodium_memzero(d, sizeof *d);
    free(d);
}

int
node_crypt_derive(workpool_t *pool, const char *passphrase, const crypt_header_t *h,
                  node_crypt_key_fn done, void *ctx, node_crypt_derive_t **out)
{
    if (!passphrase || !passphrase[0])
        return LS_EINVAL;
    node_crypt_derive_t *d = ls_calloc(1, sizeof *d);
    d->passphrase = ls_strdup(passphrase);
    d->pass_len = strlen(passphrase);
    if (h) {
        d->header = *h;
        d->has_header = true;
    }
    d->done = done;
    d->ctx = ctx;
    int rc = workpool_submit(pool, derive_work, derive_done, d);
    if (rc < 0) {
        wipe_passphrase(d);
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void
node_crypt_derive_cancel(node_crypt_derive_t *d)
{
    if (d)
        d->cancelled = true;
}

/* ---- a request waiting for its key ---- */

static void
wait_cancel(content_job_t *job)
{
    node_crypt_wait_t *w = (node_crypt_wait_t *)job;
    node_crypt_derive_cancel(w->derive); /* the job wipes the key it makes */
    api_reply_error(w->req, 503, "unavailable", "the node is stopping");
    node_crypt_wait_end(w);
}

int
node_crypt_wait(node_crypt_wait_t *w, const char *passphrase, const crypt_header_t *h,
                node_crypt_key_fn done)
{
    int rc = node_crypt_derive(w->c->node->pool, passphrase, h, done, w, &w->derive);
    if (rc < 0)
        return rc;
    w->job.cancel = wait_cancel;
    node_content_job_add(w->c, &w->job);
    return 0;
}

void
node_crypt_wait_end(node_crypt_wait_t *w)
{
    node_content_job_remove(w->c, &w->job);
    w->release(w);
}

/* ---- decrypting export ---- */

typedef struct head_t {
    uint8_t p[CRYPT_HEADER_LEN];
    size_t len;
} head_t;

static int
keep_head(void *ctx, const uint8_t *p, size_t len)
{
    head_t *h = ctx;
    size_t n = LS_MIN(len, sizeof h->p - h->len);
    memcpy(h->p + h->len, p, n);
    h->len += n;
    return 0;
}

typedef struct first_file_t {
    cid_t cid;
    bool found;
} first_file_t;

typedef struct walk_t {
    node_content_t *c;
    int depth;
    first_file_t *out;
} walk_t;

/* unixfs_ls() visitor: stop (LS_EEXIST) at the first entry that is or holds a file. */
static int find_in_dir(void *ctx, const char *name, const cid_t *cid, uint64_t tsize);

static int
find_first_file(node_content_t *c, const cid_t *cid, int depth, first_file_t *out)
{
    if (depth > NODE_CRYPT_MAX_DEPTH)
        return LS_ELIMIT;
    unixfs_source_t src = node_content_source(c);
    unixfs_stat_t st;
    int rc = unixfs_stat(cid, &src, &st);
    if (rc < 0 || st.type != UNIXFS_DIRECTORY) {
        out->cid = *cid;
        out->found = rc == 0;
        return rc;
    }
    walk_t walk = {c, depth + 1, out};
    rc = unixfs_ls(cid, &src, find_in_dir, &walk);
    return rc == LS_EEXIST || out->found ? 0 : rc;
}

static int
find_in_dir(void *ctx, const char *name, const cid_t *cid, uint64_t tsize)
{
    walk_t *walk = ctx;
    (void)name;
    (void)tsize;
    int rc = find_first_file(walk->c, cid, walk->depth, walk->out);
    return walk->out->found ? LS_EEXIST : rc == LS_ENOENT ? 0 : rc;
}

int
node_crypt_first_header(node_content_t *c, const cid_t *root, crypt_header_t *out)
{
    first_file_t f = {.found = false};
    int rc = find_first_file(c, root, 0, &f);
    if (rc == 0 && !f.found)
        return LS_ENOENT;
    if (rc < 0)
        return rc;
    head_t h = {.len = 0};
    unixfs_source_t src = node_content_source(c);
    rc = unixfs_cat(&f.cid, 0, CRYPT_HEADER_LEN, &src, keep_head, &h);
    return rc < 0 ? rc : crypt_header_parse(h.p, h.len, NULL, out);
}

typedef struct plain_out_t {
    int fd;
    uint64_t bytes;
} plain_out_t;

static int
write_plain(void *ctx, const uint8_t *p, size_t len)
{
    plain_out_t *o = ctx;
    int rc = fs_write_full(o->fd, p, len);
    if (rc == 0)
        o->bytes += len;
    return rc;
}

static int
feed_decoder(void *ctx, const uint8_t *p, size_t len)
{
    return crypt_dec_write(ctx, p, len);
}

int
node_crypt_export_file(node_content_t *c, const cid_t *cid, const char *path,
                       const char *passphrase, crypt_key_t **keys, uint64_t *bytes,
                       const char **why)
{
    buf_t tmp = BUF_INIT(BUF_UNLIMITED);
    buf_printf(&tmp, "%s.lester-", path);
    for (int i = 0; i < 6; i++) /* mkostemp's template: six capital X */
        buf_append_byte(&tmp, 'X');
    char *tmp_path = (char *)buf_cstr(&tmp);
    plain_out_t o = {.fd = mkostemp(tmp_path, O_CLOEXEC)};
    if (o.fd < 0) {
        int rc = -errno;
        buf_free(&tmp);
        return rc;
    }
    crypt_dec_t *d = crypt_dec_new(passphrase, NULL, write_plain, &o);
    crypt_dec_use_cache(d, keys);
    unixfs_source_t src = node_content_source(c);
    int rc = unixfs_cat(cid, 0, UINT64_MAX, &src, feed_decoder, d);
    if (rc == 0)
        rc = crypt_dec_finish(d);
    if (rc < 0 && crypt_dec_error(d)[0])
        *why = crypt_dec_error(d);
    crypt_dec_free(d);
    if (close(o.fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp_path, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp_path);
    else
        *bytes += o.bytes;
    buf_free(&tmp);
    return rc;
}
