/* routes_content — API of the content service (node_content.h). State-changing
 * calls are POSTs with a JSON body; long ones answer with JSON lines (one event per
 * line: {"event":"progress",...} then {"event":"done",...} or {"event":"error",...}).
 *   POST /api/v0/add    {path, recursive, pin, only_hash, encrypt, passphrase}
 *                       import a local file or directory (the daemon reads `path`: CLI
 *                       and daemon share the machine); JSON lines with byte progress,
 *                       then the CID. With encrypt, each file's bytes are an LSENC
 *                       stream (content/crypt) under argon2id(passphrase)
 *   POST /api/v0/add/raw?pin=&only_hash=   import the request body as one file
 *   POST /api/v0/fetch  {cid, timeout_s=60, path?}   fetch a DAG over Bitswap; JSON lines of
 *                                   progress (bytes, total, blocks, peers, rate, eta); fails
 *                                   when no block arrives for timeout_s (0: wait for ever).
 *                       With `path` (absolute) and a file root, the file is written there
 *                       as blocks come; the done line's `written` says it is complete
 *                       (else POST /api/v0/get exports it)
 *   POST /api/v0/cat    {cid, offset, length}   the file's bytes (held content only)
 *   POST /api/v0/get    {cid, path}   write a held file or directory to a local path
 *   POST /api/v0/stat   {cid}         type, size and links; held or not
 *   POST /api/v0/ls     {cid}         directory entries */
#define LOG_MODULE "api"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "content/chunker/chunker.h"
#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "node/daemon/node_content.h"
#include "node/daemon/node_crypt.h"
#include "node/daemon/content_path.h"
#include "node/daemon/routes_content.h"

/* read() size of an import: a 256 KiB buffer stays in cache while the chunk is hashed
 * and written (4 MiB reads measured 3x slower here); ADD_STEP_BYTES per loop turn */
#define ADD_READ_BYTES (256u << 10)
#define ADD_STEP_BYTES (2u << 20)
#define ADD_LEND_MIN (64u << 10) /* smallest chunk read alone into the store's buffer */
#define CAT_STEP_BYTES (4u << 20)
#define CAT_MAX_QUEUED (8u << 20)
#define PROGRESS_MS 250
/* a download with no new block for this long fails (the body's timeout_s; 0: never) */
#define FETCH_STALL_MS 60000

void
content_stream_line(api_req_t *req, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    size_t n = strlen(s);
    s = ls_realloc(s, n + 2);
    s[n++] = '\n';
    api_stream_send(req, s, n);
    free(s);
}

json_t *
content_cid_json(const cid_t *cid)
{
    buf_t b = BUF_INIT(CID_MAX_STRING);
    cid_to_string(cid, &b);
    json_t *j = json_string(buf_cstr(&b));
    buf_free(&b);
    return j;
}

/* `p` walked over the held blocks; replies itself on failure. */
static int
walk_held(node_content_t *c, api_req_t *req, const gateway_path_t *p, cid_t *out)
{
    cid_t missing;
    char why[160];
    int rc = content_path_walk(c, p, out, &missing, why, sizeof why);
    if (rc == LS_EAGAIN)
        api_reply_error(req, 404, "not_found",
                        "part of the path is not held here: fetch it first with `lester get`");
    else if (rc == LS_ENOENT)
        api_reply_error(req, 404, "not_found", "%s", why);
    else if (rc < 0)
        api_reply_error(req, 400, "bad_request", "%s", why);
    return rc == LS_EAGAIN ? LS_ENOENT : rc;
}

/* "cid" of the body (or the query) as a content path; replies itself on failure. */
static int
req_path(api_req_t *req, json_t *body, gateway_path_t *out)
{
    const char *s = json_string_value(json_object_get(body, "cid"));
    if (!s)
        s = api_req_query(req, "cid");
    if (!s || content_path_parse(s, out) < 0) {
        api_reply_error(req, 400, "bad_request",
                        "'cid' must be a CID such as bafy..., or a path in one: <cid>/<name>/...");
        return LS_EINVAL;
    }
    return 0;
}

int
content_req_cid(node_content_t *c, api_req_t *req, json_t *body, cid_t *out)
{
    gateway_path_t p;
    int rc = req_path(req, body, &p);
    if (rc < 0)
        return rc;
    *out = p.root;
    if (p.n)
        rc = walk_held(c, req, &p, out);
    gateway_path_clear(&p);
    return rc;
}

static bool
json_flag(json_t *body, const char *key, bool dflt)
{
    json_t *v = json_object_get(body, key);
    return v ? json_is_true(v) : dflt;
}

/* ---- add ---- */

typedef struct add_job_t {
    content_job_t job;
    node_content_t *c;
    api_req_t *req;
    int fd;
    unixfs_file_t *imp;
    crypt_enc_t *enc;               /* --encrypt: bytes pass through it on their way to imp */
    uint64_t bytes, total, last_ms; /* total: the size when the add began */
    struct timespec mtime;          /* and its modification time */
    bool pin, only_hash;
    struct event *ev;
    uint8_t *chunk;
    unixfs_tree_t *tree; /* add -r: the tree imported a slice per loop turn, or NULL */
    crypt_key_t *key;    /* add -r --encrypt: the tree's key, wiped at the end */
} add_job_t;

/* The file was written to, truncated or extended while it was read: its CID would
 * name bytes that were never the file's content at any one moment (or read() saw
 * a short file). Size and mtime as fstat gives them at the start and at the end,
 * and the bytes read must equal that size. */
static bool
add_file_changed(const add_job_t *a)
{
    struct stat st;
    return fstat(a->fd, &st) < 0 || (uint64_t)st.st_size != a->total || a->bytes != a->total ||
           st.st_mtim.tv_sec != a->mtime.tv_sec || st.st_mtim.tv_nsec != a->mtime.tv_nsec;
}

static int
put_nothing(void *ctx, const cid_t *cid, const uint8_t *block, size_t len)
{
    (void)ctx;
    (void)cid;
    (void)block;
    (void)len;
    return 0;
}

static void
add_job_free(add_job_t *a)
{
    node_content_job_remove(a->c, &a->job);
    if (!a->only_hash)
        node_content_batch_release(a->c);
    crypt_enc_free(a->enc);
    unixfs_file_free(a->imp);
    unixfs_tree_free(a->tree);
    crypt_key_free(a->key);
    if (a->fd >= 0)
        close(a->fd);
    event_free(a->ev);
    free(a->chunk);
    free(a);
}

static void
add_job_cancel(content_job_t *job)
{
    add_job_t *a = (add_job_t *)job;
    api_stream_end(a->req);
    add_job_free(a);
}

static void
add_gone(void *ctx)
{
    add_job_free(ctx);
}

/* Pin (unless told not to) and describe the imported root. */
static json_t *
add_result(node_content_t *c, const unixfs_result_t *res, bool pin, bool only_hash, int *err)
{
    *err = 0;
    if (pin && !only_hash) {
        pin_links_t links = node_content_links();
        *err = pin_add(c->bs, &res->cid, true, &links, NULL);
    }
    if (*err < 0)
        return json_pack("{s:s, s:s}", "event", "error", "message", ls_strerror(*err));
    /* announced in the DHT (node_provide.c: content.provide; queued, sent soon) */
    bool provided = !only_hash && node_provide_dag(c, &res->cid);
    return json_pack("{s:s, s:o, s:I, s:I, s:b, s:b}", "event", "done", "cid",
                     content_cid_json(&res->cid), "size", (json_int_t)res->filesize, "tsize",
                     (json_int_t)res->tsize, "pinned", pin && !only_hash, "provided", provided);
}

/* Where the next read goes, and how much of it. Plain chunks are read one at a time
 * into the blockstore's lent buffer, so the put of the chunk (read whole, while the
 * chunker holds nothing back) takes the buffer instead of copying 256 KiB on the
 * loop (blockstore_put_buffer). One chunk per read: the chunker must not go on
 * reading a buffer that a put has handed over. Encrypted, --only-hash or small
 * chunks: the job's own buffer. */
static uint8_t *
add_buffer(add_job_t *a, size_t *len)
{
    size_t cs = a->c->params.chunk_size ? a->c->params.chunk_size : CHUNKER_DEFAULT_SIZE;
    uint8_t *p = NULL;
    if (!a->enc && !a->only_hash && cs >= ADD_LEND_MIN)
        p = blockstore_put_buffer(a->c->bs, cs);
    *len = p ? cs : ADD_READ_BYTES;
    return p ? p : a->chunk;
}

/* A progress line, at most every PROGRESS_MS. */
static void
add_progress(add_job_t *a, uint64_t files)
{
    uint64_t now = clock_mono_ms();
    if (now - a->last_ms < PROGRESS_MS)
        return;
    a->last_ms = now;
    json_t *line = json_pack("{s:s, s:I, s:I}", "event", "progress", "bytes",
                             (json_int_t)a->bytes, "total", (json_int_t)a->total);
    if (a->tree)
        json_object_set_new(line, "files", json_integer((json_int_t)files));
    content_stream_line(a->req, line);
}

/* The last line (the root, or the error), and the job ends. */
static void
add_end(add_job_t *a, int rc, const unixfs_result_t *res)
{
    json_t *line = rc < 0 ? json_pack("{s:s, s:s}", "event", "error", "message",
                                      ls_strerror(rc))
                          : add_result(a->c, res, a->pin, a->only_hash, &rc);
    content_stream_line(a->req, line);
    api_stream_end(a->req);
    add_job_free(a);
}

/* add -r: a slice of the tree per loop turn. */
static void
add_tree_step(add_job_t *a)
{
    unixfs_result_t res;
    uint64_t files;
    int rc = unixfs_tree_step(a->tree, ADD_STEP_BYTES, &res);
    unixfs_tree_progress(a->tree, &a->bytes, &files);
    if (rc == 0) {
        add_progress(a, files);
        event_active(a->ev, EV_TIMEOUT, 0);
        return;
    }
    add_end(a, rc < 0 ? rc : 0, &res);
}

static void
add_step(evutil_socket_t fd, short what, void *arg)
{
    add_job_t *a = arg;
    (void)fd;
    (void)what;
    if (a->tree) {
        add_tree_step(a);
        return;
    }
    ssize_t n = 1;
    int rc = 0;
    for (size_t step = 0; rc == 0 && n > 0 && step < ADD_STEP_BYTES; step += (size_t)n) {
        size_t want;
        uint8_t *p = add_buffer(a, &want);
        n = read(a->fd, p, want);
        rc = n < 0    ? -errno
             : n == 0 ? 0
             : a->enc ? crypt_enc_write(a->enc, p, (size_t)n)
                      : unixfs_file_write(a->imp, p, (size_t)n);
        a->bytes += n > 0 ? (uint64_t)n : 0;
    }
    if (rc == 0 && n > 0) {
        add_progress(a, 0);
        event_active(a->ev, EV_TIMEOUT, 0);
        return;
    }
    unixfs_result_t res;
    if (rc == 0 && add_file_changed(a))
        rc = LS_ECHANGED;
    if (rc == 0 && a->enc)
        rc = crypt_enc_finish(a->enc);
    if (rc == 0)
        rc = unixfs_file_finish(a->imp, &res);
    add_end(a, rc, &res);
}

/* The job registered (cancelled at stop), the answer streaming, the first slice due. */
static void
add_job_start(add_job_t *a)
{
    a->ev = event_new(a->c->node->base, -1, 0, add_step, a);
    a->job.cancel = add_job_cancel;
    node_content_job_add(a->c, &a->job);
    if (!a->only_hash)
        node_content_batch_take(a->c);
    api_stream_start(a->req, "application/x-ndjson", add_gone, a);
    event_active(a->ev, EV_TIMEOUT, 0);
}

static int
to_importer(void *ctx, const uint8_t *p, size_t len)
{
    return unixfs_file_write(ctx, p, len);
}

static void
add_file(node_content_t *c, api_req_t *req, int fd, const struct stat *st, bool pin, bool only_hash,
         const crypt_key_t *key)
{
    add_job_t *a = ls_calloc(1, sizeof *a);
    a->c = c;
    a->req = req;
    a->fd = fd;
    a->total = (uint64_t)st->st_size;
    a->mtime = st->st_mtim;
    a->pin = pin;
    a->only_hash = only_hash;
    a->imp = unixfs_file_new(&c->params, only_hash ? put_nothing : node_content_put, c);
    a->enc = key ? crypt_enc_new_key(key, to_importer, a->imp) : NULL;
    a->chunk = ls_malloc(ADD_READ_BYTES);
    add_job_start(a);
}

/* add -r: the tree is imported a slice per loop turn (unixfs_tree_step), so the node
 * keeps serving while a large directory goes in. Takes `key` (NULL: plain). */
static void
add_dir(node_content_t *c, api_req_t *req, const char *path, bool pin, bool only_hash,
        crypt_key_t *key)
{
    unixfs_tree_t *t = unixfs_tree_new(&c->params, key, only_hash ? put_nothing : node_content_put,
                                       c);
    int rc = unixfs_tree_open(t, path);
    if (rc < 0) {
        api_reply_errcode(req, rc, path);
        unixfs_tree_free(t);
        crypt_key_free(key);
        return;
    }
    add_job_t *a = ls_calloc(1, sizeof *a);
    a->c = c;
    a->req = req;
    a->fd = -1;
    a->pin = pin;
    a->only_hash = only_hash;
    a->key = key;
    a->tree = t;
    add_job_start(a);
}

/* Check the path of an add. 1: a directory (with recursive), 0: a file opened into
 * `*fd` with `*st` its fstat, or an error already replied. */
static int
add_open(api_req_t *req, const char *path, bool recursive, int *fd, struct stat *st)
{
    if (!path || path[0] != '/') {
        api_reply_error(req, 400, "bad_request", "'path' must be an absolute local path");
        return LS_EINVAL;
    }
    if (stat(path, st) < 0) {
        api_reply_error(req, 404, "not_found", "%s: %s", path, strerror(errno));
        return -ENOENT;
    }
    if (S_ISDIR(st->st_mode)) {
        if (recursive)
            return 1;
        api_reply_error(req, 400, "bad_request", "%s is a directory (use -r)", path);
        return LS_EINVAL;
    }
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0 || fstat(*fd, st) < 0) { /* of the file opened, not the name stat() saw */
        int rc = -errno;
        api_reply_error(req, 403, "forbidden", "%s: %s", path, strerror(errno));
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return rc;
    }
    return 0;
}

/* An add --encrypt waiting for its key, derived once for the whole add on the worker
 * pool (argon2id: ~0.15 s of CPU the loop would otherwise spend, node_crypt.h). The
 * request stays unanswered meanwhile; errors before this point were replied as for a
 * plain add, so only the import's own come after. */
typedef struct add_wait_t {
    node_crypt_wait_t base; /* first: the request, the job, the derivation */
    char *path;             /* a directory add; NULL for a file */
    int fd;                 /* a file add: opened and fstat'ed before the wait */
    struct stat st;
    bool pin, only_hash;
} add_wait_t;

static void
add_wait_release(node_crypt_wait_t *base)
{
    add_wait_t *w = (add_wait_t *)base;
    if (w->fd >= 0)
        close(w->fd);
    free(w->path);
    free(w);
}

static void
add_keyed(void *ctx, int rc, crypt_key_t *key)
{
    add_wait_t *w = ctx;
    node_content_t *c = w->base.c;
    api_req_t *req = w->base.req;
    if (rc == 0 && api_req_is_gone(req)) { /* no stream to a gone client */
        log_info("add --encrypt: the client went away while its key was derived");
        rc = LS_ECLOSED;
    }
    if (rc < 0) {
        api_reply_errcode(req, rc, "deriving the key");
    } else if (w->path) {
        add_dir(c, req, w->path, w->pin, w->only_hash, key);
        key = NULL; /* the add job's now */
    } else {
        add_file(c, req, w->fd, &w->st, w->pin, w->only_hash, key);
        w->fd = -1; /* the add job's now */
    }
    crypt_key_free(key); /* wipes it; the encoders hold their own state */
    node_crypt_wait_end(&w->base);
}

/* {encrypt: true, passphrase}: open the path, then wait for the key (add_keyed). */
static void
add_encrypted(node_content_t *c, api_req_t *req, json_t *body, const char *path, bool pin,
              bool only_hash)
{
    add_wait_t *w = ls_calloc(1, sizeof *w);
    w->fd = -1;
    int kind = add_open(req, path, json_flag(body, "recursive", false), &w->fd, &w->st);
    if (kind < 0) {
        free(w);
        return;
    }
    w->base = (node_crypt_wait_t){.c = c, .req = req, .release = add_wait_release};
    w->path = kind == 1 ? ls_strdup(path) : NULL;
    w->pin = pin;
    w->only_hash = only_hash;
    const char *pass = json_string_value(json_object_get(body, "passphrase"));
    int rc = node_crypt_wait(&w->base, pass, NULL, add_keyed);
    if (rc < 0) {
        api_reply_errcode(req, rc, "deriving the key");
        add_wait_release(&w->base);
    }
}

static void
route_add(api_req_t *req, void *ctx)
{
    node_content_t *c = ((node_t *)ctx)->content;
    json_t *body = api_req_json(req);
    if (!body)
        return;
    const char *path = json_string_value(json_object_get(body, "path"));
    const char *pass = json_string_value(json_object_get(body, "passphrase"));
    bool pin = json_flag(body, "pin", true), only_hash = json_flag(body, "only_hash", false);
    bool encrypt = json_flag(body, "encrypt", false);
    int fd = -1, kind;
    struct stat st;
    if (encrypt && !(pass && pass[0]))
        api_reply_error(req, 400, "bad_request", "'encrypt' needs a non-empty 'passphrase'");
    else if (encrypt)
        add_encrypted(c, req, body, path, pin, only_hash);
    else if ((kind = add_open(req, path, json_flag(body, "recursive", false), &fd, &st)) == 1)
        add_dir(c, req, path, pin, only_hash, NULL);
    else if (kind == 0)
        add_file(c, req, fd, &st, pin, only_hash, NULL);
    json_decref(body);
}

static void
route_add_raw(api_req_t *req, void *ctx)
{
    node_content_t *c = ((node_t *)ctx)->content;
    const char *q_pin = api_req_query(req, "pin"), *q_oh = api_req_query(req, "only_hash");
    bool pin = !q_pin || strcmp(q_pin, "false") != 0;
    bool only_hash = q_oh && strcmp(q_oh, "true") == 0;
    size_t len;
    const uint8_t *p = api_req_body(req, &len);
    unixfs_file_t *imp =
        unixfs_file_new(&c->params, only_hash ? put_nothing : node_content_put, c);
    unixfs_result_t res;
    int rc = unixfs_file_write(imp, p, len);
    if (rc == 0)
        rc = unixfs_file_finish(imp, &res);
    unixfs_file_free(imp);
    json_t *j = rc < 0 ? NULL : add_result(c, &res, pin, only_hash, &rc);
    if (rc < 0) {
        json_decref(j);
        api_reply_errcode(req, rc, "add");
        return;
    }
    api_reply_json(req, 200, j);
}

/* ---- fetch ---- */

typedef struct fetch_job_t {
    content_job_t job;
    node_content_t *c;
    api_req_t *req;
    node_fetch_t *f;
    struct event *ev;
    uint64_t stall_ms, last_bytes, last_change_ms; /* give up after stall_ms without news */
} fetch_job_t;

json_t *
content_progress_json(const node_fetch_progress_t *p)
{
    double eta = -1;
    if (p->total > p->bytes && p->rate_bps)
        eta = (double)(p->total - p->bytes) / (double)p->rate_bps;
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:i, s:I, s:f, s:I}", "event", "progress",
                     "bytes", (json_int_t)p->bytes, "total", (json_int_t)p->total, "blocks",
                     (json_int_t)p->blocks, "fetched_blocks", (json_int_t)p->fetched_blocks,
                     "fetched_bytes", (json_int_t)p->fetched_bytes, "peers", (int)p->peers,
                     "rate_bps", (json_int_t)p->rate_bps, "eta_s", eta, "elapsed_ms",
                     (json_int_t)p->elapsed_ms);
}

static void
fetch_job_free(fetch_job_t *j)
{
    node_content_job_remove(j->c, &j->job);
    if (j->f)
        node_fetch_cancel(j->f);
    event_free(j->ev);
    free(j);
}

static void
fetch_job_cancel(content_job_t *job)
{
    fetch_job_t *j = (fetch_job_t *)job;
    api_stream_end(j->req);
    fetch_job_free(j);
}

static void
fetch_gone(void *ctx)
{
    fetch_job_free(ctx);
}

static void
fetch_tick(evutil_socket_t fd, short what, void *arg)
{
    fetch_job_t *j = arg;
    (void)fd;
    (void)what;
    node_fetch_progress_t p;
    node_fetch_progress(j->f, &p);
    json_t *line = content_progress_json(&p);
    json_object_set_new(line, "sources", node_fetch_sources_json(j->f)); /* per peer */
    content_stream_line(j->req, line);
    uint64_t now = clock_mono_ms();
    if (p.bytes != j->last_bytes || !j->last_change_ms) {
        j->last_bytes = p.bytes;
        j->last_change_ms = now;
    } else if (j->stall_ms && now - j->last_change_ms >= j->stall_ms) {
        content_stream_line(j->req, json_pack("{s:s, s:s, s:i}", "event", "error", "message",
                                              p.peers ? "no block arrived for too long"
                                                      : "no connected peer has it (connect "
                                                        "to a peer that holds it)",
                                              "peers", (int)p.peers));
        api_stream_end(j->req);
        fetch_job_free(j);
    }
}

static void
fetch_done(void *ctx, int err)
{
    fetch_job_t *j = ctx;
    bool written = j->f && node_fetch_written(j->f);
    if (j->f) { /* a last progress line: the sources' final counts */
        node_fetch_progress_t p;
        node_fetch_progress(j->f, &p);
        json_t *line = content_progress_json(&p);
        json_object_set_new(line, "sources", node_fetch_sources_json(j->f));
        content_stream_line(j->req, line);
    }
    const char *why = j->f ? node_fetch_why(j->f) : NULL;
    json_t *cid = j->f ? content_cid_json(node_fetch_root(j->f)) : json_null();
    j->f = NULL; /* freed by the fetch after this callback */
    if (err < 0)
        content_stream_line(j->req, json_pack("{s:s, s:s, s:o}", "event", "error", "message",
                                              why ? why : ls_strerror(err), "cid", cid));
    else
        content_stream_line(j->req, json_pack("{s:s, s:b, s:o}", "event", "done", "written",
                                              written, "cid", cid));
    api_stream_end(j->req);
    fetch_job_free(j);
}

/* Start the download `body` asks for: a CID's DAG, a content path's target, or one
 * block ("block": true). Takes `*p`. */
static node_fetch_t *
fetch_begin(fetch_job_t *j, json_t *body, gateway_path_t *p)
{
    /* `lester get`: write the file there while downloading (node_fetch_out.c) */
    const char *path = json_string_value(json_object_get(body, "path"));
    const char *out = path && path[0] == '/' ? path : NULL;
    return node_fetch_start_path(j->c, p, out, json_flag(body, "block", false), fetch_done, j);
}

static void
route_fetch(api_req_t *req, void *ctx)
{
    node_content_t *c = ((node_t *)ctx)->content;
    json_t *body = api_req_json(req);
    gateway_path_t p;
    if (!body || req_path(req, body, &p) < 0) {
        json_decref(body);
        return;
    }
    if (!c->bitswap) {
        gateway_path_clear(&p);
        json_decref(body);
        api_reply_error(req, 503, "unavailable", "Bitswap is not running");
        return;
    }
    json_t *jt = json_object_get(body, "timeout_s");
    fetch_job_t *j = ls_calloc(1, sizeof *j);
    j->c = c;
    j->req = req;
    j->job.cancel = fetch_job_cancel;
    j->stall_ms = json_is_integer(jt) ? (uint64_t)json_integer_value(jt) * 1000 : FETCH_STALL_MS;
    j->ev = event_new(c->node->base, -1, EV_PERSIST, fetch_tick, j);
    node_content_job_add(c, &j->job);
    api_stream_start(req, "application/x-ndjson", fetch_gone, j);
    struct timeval tv = { 0, PROGRESS_MS * 1000 };
    event_add(j->ev, &tv);
    j->f = fetch_begin(j, body, &p); /* may finish at once */
    json_decref(body);
}

/* ---- cat ---- */

typedef struct cat_job_t {
    content_job_t job;
    node_content_t *c;
    api_req_t *req;
    cid_t root;
    uint64_t off, end;
    struct event *ev;
} cat_job_t;

static void
cat_job_free(cat_job_t *j)
{
    node_content_job_remove(j->c, &j->job);
    event_free(j->ev);
    free(j);
}

static void
cat_job_cancel(content_job_t *job)
{
    cat_job_t *j = (cat_job_t *)job;
    api_stream_end(j->req);
    cat_job_free(j);
}

static void
cat_gone(void *ctx)
{
    cat_job_free(ctx);
}

static int
cat_write(void *ctx, const uint8_t *p, size_t len)
{
    api_stream_send(ctx, p, len);
    return 0;
}

static void
cat_step(evutil_socket_t fd, short what, void *arg)
{
    cat_job_t *j = arg;
    (void)fd;
    (void)what;
    if (api_stream_queued(j->req) > CAT_MAX_QUEUED) {
        struct timeval tv = { 0, 2000 };
        event_add(j->ev, &tv);
        return;
    }
    uint64_t n = j->end - j->off < CAT_STEP_BYTES ? j->end - j->off : CAT_STEP_BYTES;
    unixfs_source_t src = node_content_source(j->c);
    int rc = n ? unixfs_cat(&j->root, j->off, n, &src, cat_write, j->req) : 0;
    j->off += n;
    if (rc < 0)
        log_warn("cat stopped: %s", ls_strerror(rc));
    if (rc < 0 || j->off >= j->end) {
        api_stream_end(j->req);
        cat_job_free(j);
        return;
    }
    event_active(j->ev, EV_TIMEOUT, 0);
}

void
content_cat_start(node_content_t *c, api_req_t *req, const cid_t *root, uint64_t off,
                  uint64_t end, const char *content_type)
{
    cat_job_t *j = ls_calloc(1, sizeof *j);
    j->c = c;
    j->req = req;
    j->root = *root;
    j->off = off;
    j->end = end;
    j->job.cancel = cat_job_cancel;
    j->ev = event_new(c->node->base, -1, 0, cat_step, j);
    node_content_job_add(c, &j->job);
    api_stream_start(req, content_type, cat_gone, j);
    event_active(j->ev, EV_TIMEOUT, 0);
}

static void
route_cat(api_req_t *req, void *ctx)
{
    node_content_t *c = ((node_t *)ctx)->content;
    json_t *body = api_req_json(req);
    cid_t cid;
    if (!body || content_req_cid(c, req, body, &cid) < 0) {
        json_decref(body);
        return;
    }
    json_int_t off = json_integer_value(json_object_get(body, "offset"));
    json_t *jl = json_object_get(body, "length");
    json_int_t len = json_is_integer(jl) ? json_integer_value(jl) : -1;
    json_decref(body);
    unixfs_source_t src = node_content_source(c);
    unixfs_stat_t st;
    int rc = unixfs_stat(&cid, &src, &st);
    if (rc == 0 && st.type == UNIXFS_DIRECTORY) {
        api_reply_error(req, 400, "bad_request",
                        "a directory: list it with `lester ls`, save it with `lester get`");
        return;
    }
    if (rc < 0) {
        api_reply_errcode(req, rc, rc == LS_ENOENT ? "not held here (fetch it first)" : "cat");
        return;
    }
    uint64_t start = off > 0 ? (uint64_t)off : 0, end = st.filesize;
    if (len >= 0 && start + (uint64_t)len < end)
        end = start + (uint64_t)len;
    content_cat_start(c, req, &cid, start < end ? start : end, end, "application/octet-stream");
}

void
node_routes_content(node_t *n)
{
    api_route(n->api, "POST", "/api/v0/add", route_add, n);
    api_route(n->api, "POST", "/api/v0/add/raw", route_add_raw, n);
    api_route(n->api, "POST", "/api/v0/fetch", route_fetch, n);
    api_route(n->api, "POST", "/api/v0/cat", route_cat, n);
    node_routes_export(n);
    node_routes_repo(n);
    node_routes_dag(n);
}
