/* routes_repo — API of held content, pins, the repository and raw blocks:
 *   POST /api/v0/get        {cid, path, passphrase?}   write a held file or directory
 *                                         to a local path (the daemon writes it: same
 *                                         machine); with a passphrase every file is
 *                                         decrypted (LSENC, content/crypt), all or nothing
 *   POST /api/v0/stat       {cid}         {held, type, size, links}
 *   POST /api/v0/ls         {cid}         directory entries {name, cid, tsize, type?, size?}
 *   POST /api/v0/pin/add    {cid, recursive=true}   GET /api/v0/pin/ls
 *   POST /api/v0/pin/rm     {cid}
 *   POST /api/v0/repo/gc                  GET /api/v0/repo/stat
 *   POST /api/v0/block/get  {cid}   the raw block bytes
 *   POST /api/v0/block/put?codec=raw|dag-pb   body: the block; {cid, size}
 *   POST /api/v0/block/stat {cid}
 *   GET  /api/v0/bitswap/stat             per-peer ledgers and totals */
#define LOG_MODULE "api"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "lib/log/log.h"
#include "node/daemon/node_crypt.h"
#include "node/daemon/routes_content.h"

#define EXPORT_MAX_DEPTH 64

static node_content_t *
content_of(void *ctx)
{
    return ((node_t *)ctx)->content;
}

/* Parse the body and its "cid" (a path is walked); replies itself on failure. */
static bool
req_cid(api_req_t *req, void *ctx, cid_t *cid, json_t **body_out)
{
    json_t *body = api_req_json(req);
    if (!body || content_req_cid(content_of(ctx), req, body, cid) < 0) {
        json_decref(body);
        return false;
    }
    if (body_out)
        *body_out = body;
    else
        json_decref(body);
    return true;
}

/* ---- get (export to a local path) ---- */

typedef struct export_t {
    node_content_t *c;
    uint64_t bytes;
    int fd;
    const char *passphrase; /* get --decrypt: every file is an LSENC stream (node_crypt) */
    const char *why;        /* the decryption error for the user, if any */
    crypt_key_t *keys;      /* derived keys reused across the export's files */
} export_t;

static int
write_fd(void *ctx, const uint8_t *p, size_t len)
{
    export_t *e = ctx;
    int rc = fs_write_full(e->fd, p, len);
    if (rc == 0)
        e->bytes += len;
    return rc;
}

typedef struct entries_t {
    char **names;
    cid_t *cids;
    size_t n;
} entries_t;

static int
collect(void *ctx, const char *name, const cid_t *cid, uint64_t tsize)
{
    entries_t *l = ctx;
    (void)tsize;
    l->names = ls_realloc(l->names, (l->n + 1) * sizeof *l->names);
    l->cids = ls_realloc(l->cids, (l->n + 1) * sizeof *l->cids);
    l->names[l->n] = ls_strdup(name);
    l->cids[l->n++] = *cid;
    return 0;
}

static int export_node(export_t *e, const cid_t *cid, const char *path, int depth);

static int
export_dir(export_t *e, const cid_t *cid, const char *path, int depth)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    entries_t l = { 0 };
    unixfs_source_t src = node_content_source(e->c);
    int rc = unixfs_ls(cid, &src, collect, &l);
    for (size_t i = 0; i < l.n; i++) {
        if (rc == 0) {
            buf_t sub = BUF_INIT(BUF_UNLIMITED);
            buf_printf(&sub, "%s/%s", path, l.names[i]);
            rc = export_node(e, &l.cids[i], buf_cstr(&sub), depth + 1);
            buf_free(&sub);
        }
        free(l.names[i]);
    }
    free(l.names);
    free(l.cids);
    return rc;
}

static int
export_node(export_t *e, const cid_t *cid, const char *path, int depth)
{
    if (depth > EXPORT_MAX_DEPTH)
        return LS_ELIMIT;
    unixfs_source_t src = node_content_source(e->c);
    unixfs_stat_t st;
    int rc = unixfs_stat(cid, &src, &st);
    if (rc < 0)
        return rc;
    if (st.type == UNIXFS_DIRECTORY)
        return export_dir(e, cid, path, depth);
    if (e->passphrase)
        return node_crypt_export_file(e->c, cid, path, e->passphrase, &e->keys, &e->bytes,
                                      &e->why);
    e->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (e->fd < 0)
        return -errno;
    rc = unixfs_cat(cid, 0, UINT64_MAX, &src, write_fd, e);
    if (close(e->fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

/* Export `cid` to `path` and answer. `keys`: a key derived ahead (get_wait_t), taken. */
static void
get_export(api_req_t *req, node_content_t *c, const cid_t *cid, const char *path,
           const char *passphrase, crypt_key_t *keys)
{
    export_t e = { .c = c, .fd = -1, .passphrase = passphrase, .keys = keys };
    int rc = export_node(&e, cid, path, 0);
    crypt_key_free(e.keys);
    if (rc < 0 && e.why)
        api_reply_error(req, 422, "decrypt_failed", "%s", e.why);
    else if (rc < 0)
        api_reply_errcode(req, rc, rc == LS_ENOENT ? "not held here (fetch it first)" : path);
    else
        api_reply_json(req, 200, json_pack("{s:s, s:I}", "path", path, "bytes",
                                           (json_int_t)e.bytes));
}

/* A get --decrypt waiting for the key of its first file, derived on the worker pool
 * (argon2id, node_crypt.h) rather than on the loop; the export then finds it in its
 * key cache. The request stays unanswered meanwhile. */
typedef struct get_wait_t {
    node_crypt_wait_t base;  /* first: the request, the job, the derivation */
    cid_t cid;
    char *path, *passphrase; /* copies; the passphrase is wiped */
} get_wait_t;

static void
get_wait_release(node_crypt_wait_t *base)
{
    get_wait_t *w = (get_wait_t *)base;
    sodium_memzero(w->passphrase, strlen(w->passphrase));
    free(w->passphrase);
    free(w->path);
    free(w);
}

static void
get_keyed(void *ctx, int rc, crypt_key_t *key)
{
    get_wait_t *w = ctx;
    if (rc < 0) /* a wrong passphrase is found by the export, as without the wait */
        api_reply_errcode(w->base.req, rc, "deriving the key");
    else
        get_export(w->base.req, w->base.c, &w->cid, w->path, w->passphrase, key);
    node_crypt_wait_end(&w->base);
}

/* 0: the key is being derived (get_keyed answers); <0: nothing to derive ahead
 * (no held encrypted file first), or the pool refused: export on the loop. */
static int
get_derive_ahead(api_req_t *req, node_content_t *c, const cid_t *cid, const char *path,
                 const char *passphrase)
{
    crypt_header_t h;
    int rc = node_crypt_first_header(c, cid, &h);
    if (rc < 0)
        return rc;
    get_wait_t *w = ls_calloc(1, sizeof *w);
    w->base = (node_crypt_wait_t){.c = c, .req = req, .release = get_wait_release};
    w->cid = *cid;
    w->path = ls_strdup(path);
    w->passphrase = ls_strdup(passphrase);
    rc = node_crypt_wait(&w->base, passphrase, &h, get_keyed);
    if (rc < 0)
        get_wait_release(&w->base);
    return rc;
}

static void
route_get(api_req_t *req, void *ctx)
{
    json_t *body;
    cid_t cid;
    if (!req_cid(req, ctx, &cid, &body))
        return;
    const char *path = json_string_value(json_object_get(body, "path"));
    const char *pass = json_string_value(json_object_get(body, "passphrase"));
    if (!path || path[0] != '/')
        api_reply_error(req, 400, "bad_request", "'path' must be an absolute local path");
    else if (!pass || !pass[0] || get_derive_ahead(req, content_of(ctx), &cid, path, pass) < 0)
        get_export(req, content_of(ctx), &cid, path, pass, NULL);
    json_decref(body);
}

static void
route_stat(api_req_t *req, void *ctx)
{
    cid_t cid;
    if (!req_cid(req, ctx, &cid, NULL))
        return;
    unixfs_source_t src = node_content_source(content_of(ctx));
    unixfs_stat_t st;
    int rc = unixfs_stat(&cid, &src, &st);
    if (rc == LS_ENOENT) {
        api_reply_json(req, 200, json_pack("{s:o, s:b}", "cid", content_cid_json(&cid), "held",
                                           0));
        return;
    }
    if (rc < 0) {
        api_reply_errcode(req, rc, "stat");
        return;
    }
    api_reply_json(req, 200, json_pack("{s:o, s:b, s:s, s:I, s:I}", "cid", content_cid_json(&cid),
                                       "held", 1, "type",
                                       st.type == UNIXFS_DIRECTORY ? "directory" : "file",
                                       "size", (json_int_t)st.filesize, "links",
                                       (json_int_t)st.n_links));
}

typedef struct ls_ctx_t {
    const unixfs_source_t *src;
    json_t *arr;
} ls_ctx_t;

/* Each entry with its type and size (one block read from the store per entry);
 * an entry whose block is not held has neither. */
static int
ls_entry(void *ctx, const char *name, const cid_t *cid, uint64_t tsize)
{
    ls_ctx_t *l = ctx;
    unixfs_stat_t st;
    json_t *e = json_pack("{s:s, s:o, s:I}", "name", name, "cid", content_cid_json(cid), "tsize",
                          (json_int_t)tsize);
    if (unixfs_stat(cid, l->src, &st) == 0) {
        json_object_set_new(e, "type",
                            json_string(st.type == UNIXFS_DIRECTORY ? "directory" : "file"));
        json_object_set_new(e, "size", json_integer((json_int_t)st.filesize));
    }
    json_array_append_new(l->arr, e);
    return 0;
}

static void
route_ls(api_req_t *req, void *ctx)
{
    cid_t cid;
    if (!req_cid(req, ctx, &cid, NULL))
        return;
    unixfs_source_t src = node_content_source(content_of(ctx));
    json_t *arr = json_array();
    int rc = unixfs_ls(&cid, &src, ls_entry, &(ls_ctx_t){ .src = &src, .arr = arr });
    json_decref(rc < 0 ? arr : NULL);
    if (rc == -ENOTDIR)
        api_reply_error(req, 400, "bad_request", "not a directory: a file has no entries");
    else if (rc < 0)
        api_reply_errcode(req, rc, "ls");
    if (rc < 0)
        return;
    api_reply_json(req, 200, json_pack("{s:o}", "entries", arr));
}

void
node_routes_export(node_t *n)
{
    api_route(n->api, "POST", "/api/v0/get", route_get, n);
    api_route(n->api, "POST", "/api/v0/stat", route_stat, n);
    api_route(n->api, "POST", "/api/v0/ls", route_ls, n);
}

/* ---- pins ---- */

static void
route_pin_add(api_req_t *req, void *ctx)
{
    json_t *body;
    cid_t cid;
    if (!req_cid(req, ctx, &cid, &body))
        return;
    json_t *rv = json_object_get(body, "recursive");
    bool recursive = rv ? json_is_true(rv) : true;
    json_decref(body);
    pin_links_t links = node_content_links();
    blockstore_cidlist_t missing = { 0 };
    int rc = pin_add(content_of(ctx)->bs, &cid, recursive, &links, &missing);
    if (rc == LS_ENOENT)
        api_reply_error(req, 404, "not_found",
                        "%zu block(s) of this DAG are not held here (fetch it first)", missing.n);
    else if (rc < 0)
        api_reply_errcode(req, rc, "pin add");
    else
        api_reply_json(req, 200, json_pack("{s:o, s:s}", "cid", content_cid_json(&cid), "mode",
                                           recursive ? "recursive" : "direct"));
    blockstore_cidlist_clear(&missing);
}

static void
route_pin_rm(api_req_t *req, void *ctx)
{
    cid_t cid;
    if (!req_cid(req, ctx, &cid, NULL))
        return;
    int rc = pin_rm(content_of(ctx)->bs, &cid);
    if (rc < 0)
        api_reply_errcode(req, rc, rc == LS_ENOENT ? "not pinned" : "pin rm");
    else
        api_reply_json(req, 200, json_pack("{s:o}", "cid", content_cid_json(&cid)));
}

static int
pin_entry(void *ctx, const cid_t *cid, pin_mode_t mode)
{
    json_array_append_new(ctx, json_pack("{s:o, s:s}", "cid", content_cid_json(cid), "mode",
                                         mode == PIN_RECURSIVE ? "recursive" : "direct"));
    return 0;
}

static void
route_pin_ls(api_req_t *req, void *ctx)
{
    json_t *arr = json_array();
    int rc = pin_ls(content_of(ctx)->bs, pin_entry, arr);
    if (rc < 0) {
        json_decref(arr);
        api_reply_errcode(req, rc, "pin ls");
        return;
    }
    api_reply_json(req, 200, json_pack("{s:o}", "pins", arr));
}

/* ---- repo ---- */

static void
route_repo_gc(api_req_t *req, void *ctx)
{
    blockstore_gc_result_t res = { 0 };
    int rc = blockstore_gc(content_of(ctx)->bs, &res);
    if (rc == LS_ELOCKED)
        api_reply_error(req, 409, "busy", "an import or a download is running; try again");
    else if (rc < 0)
        api_reply_errcode(req, rc, "repo gc");
    else
        api_reply_json(req, 200, json_pack("{s:I, s:I}", "blocks", (json_int_t)res.blocks,
                                           "bytes", (json_int_t)res.bytes));
}

static void
route_repo_stat(api_req_t *req, void *ctx)
{
    blockstore_stat_t st;
    int rc = blockstore_stat(content_of(ctx)->bs, &st);
    if (rc < 0) {
        api_reply_errcode(req, rc, "repo stat");
        return;
    }
    api_reply_json(req, 200,
                   json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "blocks",
                             (json_int_t)st.blocks, "bytes", (json_int_t)st.bytes, "max_bytes",
                             (json_int_t)st.max_bytes, "pins_recursive",
                             (json_int_t)st.pins_recursive, "pins_direct",
                             (json_int_t)st.pins_direct, "pinned_blocks",
                             (json_int_t)st.pinned_blocks, "path", st.path));
}

/* ---- blocks ---- */

static void
route_block_get(api_req_t *req, void *ctx)
{
    cid_t cid;
    if (!req_cid(req, ctx, &cid, NULL))
        return;
    buf_t b = BUF_INIT(BLOCKSTORE_MAX_BLOCK);
    int rc = blockstore_get(content_of(ctx)->bs, &cid, &b);
    if (rc < 0)
        api_reply_errcode(req, rc, rc == LS_ENOENT ? "not held here" : "block get");
    else
        api_reply_bytes(req, 200, "application/vnd.ipld.raw", b.data, b.len);
    buf_free(&b);
}

static void
route_block_put(api_req_t *req, void *ctx)
{
    const char *codec = api_req_query(req, "codec");
    uint64_t code = CID_CODEC_RAW;
    if (codec && strcmp(codec, "dag-pb") == 0)
        code = CID_CODEC_DAG_PB;
    else if (codec && strcmp(codec, "raw") != 0) {
        api_reply_error(req, 400, "bad_request", "codec must be raw or dag-pb");
        return;
    }
    size_t len;
    const uint8_t *p = api_req_body(req, &len);
    cid_t cid;
    cid_v1_sha256(&cid, code, p, len);
    int rc = node_content_put(content_of(ctx), &cid, p, len);
    if (rc < 0)
        api_reply_errcode(req, rc, "block put");
    else
        api_reply_json(req, 200, json_pack("{s:o, s:I}", "cid", content_cid_json(&cid), "size",
                                           (json_int_t)len));
}

static void
route_block_stat(api_req_t *req, void *ctx)
{
    cid_t cid;
    if (!req_cid(req, ctx, &cid, NULL))
        return;
    int64_t sz = blockstore_size(content_of(ctx)->bs, &cid);
    if (sz < 0)
        api_reply_errcode(req, (int)sz, "not held here");
    else
        api_reply_json(req, 200, json_pack("{s:o, s:I}", "cid", content_cid_json(&cid), "size",
                                           (json_int_t)sz));
}

static void
route_bitswap_stat(api_req_t *req, void *ctx)
{
    api_reply_json(req, 200, node_bitswap_stat_json(content_of(ctx)));
}

void
node_routes_repo(node_t *n)
{
    api_route(n->api, "POST", "/api/v0/pin/add", route_pin_add, n);
    api_route(n->api, "POST", "/api/v0/pin/rm", route_pin_rm, n);
    api_route(n->api, "GET", "/api/v0/pin/ls", route_pin_ls, n);
    api_route(n->api, "POST", "/api/v0/repo/gc", route_repo_gc, n);
    api_route(n->api, "GET", "/api/v0/repo/stat", route_repo_stat, n);
    api_route(n->api, "POST", "/api/v0/block/get", route_block_get, n);
    api_route(n->api, "POST", "/api/v0/block/put", route_block_put, n);
    api_route(n->api, "POST", "/api/v0/block/stat", route_block_stat, n);
    api_route(n->api, "GET", "/api/v0/bitswap/stat", route_bitswap_stat, n);
}
