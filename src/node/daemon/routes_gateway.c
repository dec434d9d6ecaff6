/* routes_gateway — unauthenticated HTTP GETs of held content (node_content.h):
 *
 *   GET /ipfs/{cid}[/{path...}]       a subset of the IPFS trustless gateway
 *                                     (ipfs/specs http-gateways/trustless-gateway);
 *                                     a path is resolved through UnixFS directories
 *                                     first (gateway_path.h, path-gateway: 400 for a
 *                                     malformed path, 404 for one that does not
 *                                     resolve) and the node it names is served:
 *       Accept: application/vnd.ipld.raw or ?format=raw   the block itself
 *       Accept: application/vnd.ipld.car or ?format=car   a CARv1 of the whole DAG
 *                                                         (depth-first, root first)
 *       otherwise                     the file's bytes; a `Range: bytes=a-b` gives 206
 *                                     with Content-Range (one range; at most
 *                                     GATEWAY_MAX_RANGE bytes per answer)
 *                                     — or, for a directory, a JSON listing
 *                                     {cid, entries: [{name, cid, tsize}], unlisted}
 *   GET /file/{cid}/chunk/{index}     seed 004: the bytes of the file's index-th leaf
 *                                     chunk (0-based, in file order)
 *
 * Only content already held is served (404 otherwise): the gateway never starts a
 * download for an anonymous client; `lester fetch`/`get` does that. */
#define LOG_MODULE "gateway"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content/car/car.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "node/daemon/gateway_path.h"
#include "node/daemon/routes_content.h"

#define GATEWAY_MAX_RANGE (64u << 20)
/* Entries a directory listing names; the rest are counted in "unlisted". */
#define GATEWAY_MAX_LISTING 10000
#define CAR_STEP_BYTES (4u << 20)
#define CAR_MAX_QUEUED (8u << 20)

static node_content_t *
content_of(void *ctx)
{
    return ((node_t *)ctx)->content;
}

/* "/ipfs/<cid>" or "/file/<cid>/chunk/<n>": parse the CID segment at `p`. */
static int
parse_cid_segment(const char *p, cid_t *out, const char **rest)
{
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    char tmp[CID_MAX_STRING + 1];
    if (n == 0 || n > CID_MAX_STRING)
        return LS_EINVAL;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    *rest = p + n;
    return cid_from_string(out, tmp);
}

static bool
wants(api_req_t *req, const char *format, const char *mime)
{
    const char *f = api_req_query(req, "format");
    const char *accept = api_req_header(req, "Accept");
    return (f && strcmp(f, format) == 0) || (accept && strstr(accept, mime));
}

/* ---- CAR ---- */

typedef struct car_job_t {
    content_job_t job;
    node_content_t *c;
    api_req_t *req;
    blockstore_cidlist_t stack;
    struct event *ev;
} car_job_t;

static void
car_job_free(car_job_t *j)
{
    node_content_job_remove(j->c, &j->job);
    blockstore_cidlist_clear(&j->stack);
    event_free(j->ev);
    free(j);
}

static void
car_cancel(content_job_t *job)
{
    car_job_t *j = (car_job_t *)job;
    api_stream_end(j->req);
    car_job_free(j);
}

static void
car_gone(void *ctx)
{
    car_job_free(ctx);
}

/* Pop the next block depth-first; push its links in reverse so the first link is
 * written next. 0, or an error (a block went missing). */
static int
car_next(car_job_t *j, buf_t *out, buf_t *blk)
{
    cid_t cid = j->stack.items[--j->stack.n];
    buf_clear(blk);
    int rc = blockstore_get(j->c->bs, &cid, blk);
    if (rc < 0)
        return rc;
    blockstore_cidlist_t links = { 0 };
    rc = node_content_block_links(&cid, blk->data, blk->len, &links);
    for (size_t i = links.n; rc == 0 && i > 0; i--)
        blockstore_cidlist_push(&j->stack, &links.items[i - 1]);
    blockstore_cidlist_clear(&links);
    return rc < 0 ? rc : car_write_block(out, &cid, blk->data, blk->len);
}

static void
car_step(evutil_socket_t fd, short what, void *arg)
{
    car_job_t *j = arg;
    (void)fd;
    (void)what;
    if (api_stream_queued(j->req) > CAR_MAX_QUEUED) {
        struct timeval tv = { 0, 2000 };
        event_add(j->ev, &tv);
        return;
    }
    buf_t out = BUF_INIT(BUF_UNLIMITED), blk = BUF_INIT(BLOCKSTORE_MAX_BLOCK);
    int rc = 0;
    while (rc == 0 && j->stack.n && out.len < CAR_STEP_BYTES)
        rc = car_next(j, &out, &blk);
    api_stream_send(j->req, out.data, out.len);
    buf_free(&out);
    buf_free(&blk);
    if (rc < 0)
        log_warn("CAR stopped: %s", ls_strerror(rc));
    if (rc < 0 || j->stack.n == 0) {
        api_stream_end(j->req);
        car_job_free(j);
        return;
    }
    event_active(j->ev, EV_TIMEOUT, 0);
}

static void
serve_car(node_content_t *c, api_req_t *req, const cid_t *root)
{
    if (!blockstore_has(c->bs, root)) {
        api_reply_error(req, 404, "not_found", "block not held here");
        return;
    }
    buf_t hdr = BUF_INIT(CAR_MAX_HEADER);
    car_write_header(&hdr, root, 1);
    car_job_t *j = ls_calloc(1, sizeof *j);
    j->c = c;
    j->req = req;
    j->job.cancel = car_cancel;
    j->ev = event_new(c->node->base, -1, 0, car_step, j);
    blockstore_cidlist_push(&j->stack, root);
    node_content_job_add(c, &j->job);
    api_stream_start(req, "application/vnd.ipld.car; version=1", car_gone, j);
    api_stream_send(req, hdr.data, hdr.len);
    buf_free(&hdr);
    event_active(j->ev, EV_TIMEOUT, 0);
}

/* ---- raw block, file, range ---- */

static void
serve_raw(node_content_t *c, api_req_t *req, const cid_t *cid)
{
    buf_t b = BUF_INIT(BLOCKSTORE_MAX_BLOCK);
    int rc = blockstore_get(c->bs, cid, &b);
    if (rc == 0 && c->corrupt_blocks && b.len)
        b.data[0] ^= 0x5a; /* test.corrupt_blocks: a lying HTTP seeder too */
    if (rc < 0)
        api_reply_errcode(req, rc, "block");
    else
        api_reply_bytes(req, 200, "application/vnd.ipld.raw", b.data, b.len);
    buf_free(&b);
}

static int
to_buf(void *ctx, const uint8_t *p, size_t len)
{
    return buf_append(ctx, p, len);
}

/* "bytes=a-b", "bytes=a-" or "bytes=-n" against `size`: 0 and [*from, *to], 1 if
 * there is no usable single range (serve the whole file), LS_ERANGE if
 * unsatisfiable. */
static int
parse_range(const char *h, uint64_t size, uint64_t *from, uint64_t *to)
{
    unsigned long long a = 0, b = 0;
    char tail;
    if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 1;
    h += 6;
    if (sscanf(h, "-%llu%c", &b, &tail) == 1) {
        if (b == 0 || size == 0)
            return LS_ERANGE;
        *from = b >= size ? 0 : size - b;
        *to = size - 1;
        return 0;
    }
    int n = sscanf(h, "%llu-%llu%c", &a, &b, &tail);
    if (n < 1 || (n == 1 && h[strlen(h) - 1] != '-') || n > 2 || (n == 2 && b < a))
        return 1;
    if (a >= size)
        return LS_ERANGE;
    *from = a;
    *to = n == 2 && b < size ? b : size - 1;
    return 0;
}

/* ---- directory listing ---- */

typedef struct listing_t {
    json_t *entries;
    size_t unlisted; /* past GATEWAY_MAX_LISTING, or a name that is not UTF-8 */
} listing_t;

static int
list_entry(void *ctx, const char *name, const cid_t *cid, uint64_t tsize)
{
    listing_t *l = ctx;
    json_t *jname = json_string(name); /* NULL for bytes that are not UTF-8 */
    if (!jname || json_array_size(l->entries) >= GATEWAY_MAX_LISTING) {
        json_decref(jname);
        l->unlisted++;
        return 0;
    }
    json_array_append_new(l->entries, json_pack("{s:o, s:o, s:I}", "name", jname, "cid",
                                                content_cid_json(cid), "tsize", (json_int_t)tsize));
    return 0;
}

/* A directory without a file name: its entries as JSON (the path gateway may answer
 * a listing; the trustless formats stay ?format=raw/car). */
static void
serve_listing(node_content_t *c, api_req_t *req, const cid_t *cid)
{
    unixfs_source_t src = node_content_source(c);
    listing_t l = {.entries = json_array()};
    int rc = unixfs_ls(cid, &src, list_entry, &l);
    if (rc < 0) {
        json_decref(l.entries);
        api_reply_errcode(req, rc, rc == LS_ENOENT ? "block not held here" : "directory");
        return;
    }
    api_reply_json(req, 200,
                   json_pack("{s:o, s:o, s:I}", "cid", content_cid_json(cid), "entries", l.entries,
                             "unlisted", (json_int_t)l.unlisted));
}

static void
serve_file(node_content_t *c, api_req_t *req, const cid_t *cid)
{
    unixfs_source_t src = node_content_source(c);
    unixfs_stat_t st;
    int rc = unixfs_stat(cid, &src, &st);
    if (rc == 0 && st.type == UNIXFS_DIRECTORY) {
        serve_listing(c, req, cid);
        return;
    }
    if (rc < 0) {
        api_reply_errcode(req, rc, rc == LS_ENOENT ? "not held here" : "file");
        return;
    }
    uint64_t from, to;
    char cr[96];
    rc = parse_range(api_req_header(req, "Range"), st.filesize, &from, &to);
    api_reply_header(req, "Accept-Ranges", "bytes");
    if (rc == 1) {
        content_cat_start(c, req, cid, 0, st.filesize, "application/octet-stream");
        return;
    }
    if (rc < 0) {
        snprintf(cr, sizeof cr, "bytes */%" PRIu64, st.filesize);
        api_reply_header(req, "Content-Range", cr);
        api_reply_error(req, 416, "range", "range not satisfiable");
        return;
    }
    if (to - from + 1 > GATEWAY_MAX_RANGE)
        to = from + GATEWAY_MAX_RANGE - 1;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    rc = unixfs_cat(cid, from, to - from + 1, &src, to_buf, &b);
    snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, from, to, st.filesize);
    api_reply_header(req, "Content-Range", cr);
    if (rc < 0)
        api_reply_errcode(req, rc, "file");
    else
        api_reply_bytes(req, 206, "application/octet-stream", b.data, b.len);
    buf_free(&b);
}

static void
reply_unresolved(api_req_t *req, const gateway_path_t *p, const gateway_resolve_t *r, int rc)
{
    const char *seg = p->seg[r->at];
    if (rc == LS_ENOENT && r->no_entry)
        api_reply_error(req, 404, "not_found", "no entry \"%s\" (segment %zu)", seg, r->at + 1);
    else if (rc == -ENOTDIR)
        api_reply_error(req, 404, "not_found", "\"%s\" is asked of a file (segment %zu)", seg,
                        r->at + 1);
    else
        api_reply_errcode(req, rc, rc == LS_ENOENT ? "block on the path not held here" : "path");
}

/* "/ipfs/<cid>[/<path>][/]" from the raw request path: the CID it names, or an
 * answer already sent (400 for a malformed path, 404 for one that does not resolve). */
static int
resolve_request(node_content_t *c, api_req_t *req, cid_t *out)
{
    const char *raw = api_req_raw_path(req);
    gateway_path_t p;
    int rc = strncmp(raw, "/ipfs/", 6) == 0 ? gateway_path_parse(raw + 6, strlen(raw + 6), &p)
                                            : LS_EINVAL;
    if (rc < 0) {
        api_reply_error(req, 400, "bad_request",
                        "want /ipfs/<cid>[/<path>]: a CID, then non-empty percent-encoded "
                        "names (no \".\", \"..\", NUL or \"/\" in a name)");
        return rc;
    }
    unixfs_source_t src = node_content_source(c);
    gateway_resolve_t r;
    rc = gateway_path_resolve(&p, &src, &r);
    if (rc < 0)
        reply_unresolved(req, &p, &r, rc);
    else
        *out = r.cid;
    gateway_path_clear(&p);
    return rc;
}

static void
route_ipfs(api_req_t *req, void *ctx)
{
    node_content_t *c = content_of(ctx);
    cid_t cid;
    if (resolve_request(c, req, &cid) < 0)
        return;
    if (wants(req, "raw", "application/vnd.ipld.raw"))
        serve_raw(c, req, &cid);
    else if (wants(req, "car", "application/vnd.ipld.car"))
        serve_car(c, req, &cid);
    else
        serve_file(c, req, &cid);
}

/* ---- seed 004's chunk route ---- */

/* Find the index-th leaf under `root`, depth-first, reading only inner nodes. */
static int
find_leaf(node_content_t *c, const cid_t *root, uint64_t index, cid_t *out)
{
    blockstore_cidlist_t stack = { 0 };
    buf_t blk = BUF_INIT(BLOCKSTORE_MAX_BLOCK);
    int rc = LS_ENOENT;
    blockstore_cidlist_push(&stack, root);
    while (stack.n) {
        cid_t cid = stack.items[--stack.n];
        blockstore_cidlist_t links = { 0 };
        int r = 0;
        buf_clear(&blk);
        if (cid.codec == CID_CODEC_DAG_PB && (r = blockstore_get(c->bs, &cid, &blk)) == 0)
            r = node_content_block_links(&cid, blk.data, blk.len, &links);
        if (r < 0) {
            rc = r;
            blockstore_cidlist_clear(&links);
            break;
        }
        for (size_t i = links.n; i > 0; i--)
            blockstore_cidlist_push(&stack, &links.items[i - 1]);
        if (links.n == 0 && index-- == 0) {
            *out = cid;
            rc = 0;
            blockstore_cidlist_clear(&links);
            break;
        }
        blockstore_cidlist_clear(&links);
    }
    blockstore_cidlist_clear(&stack);
    buf_free(&blk);
    return rc;
}

static void
route_chunk(api_req_t *req, void *ctx)
{
    node_content_t *c = content_of(ctx);
    const char *rest;
    cid_t cid, leaf;
    char *end = NULL;
    unsigned long long idx = 0;
    int rc = parse_cid_segment(api_req_path(req) + strlen("/file/"), &cid, &rest);
    if (rc == 0 && strncmp(rest, "/chunk/", 7) == 0 && rest[7] >= '0' && rest[7] <= '9') {
        errno = 0;
        idx = strtoull(rest + 7, &end, 10);
    }
    if (rc < 0 || !end || *end || errno) {
        api_reply_error(req, 400, "bad_request", "want /file/<cid>/chunk/<index>");
        return;
    }
    rc = find_leaf(c, &cid, idx, &leaf);
    buf_t b = BUF_INIT(BLOCKSTORE_MAX_BLOCK);
    unixfs_source_t src = node_content_source(c);
    if (rc == 0)
        rc = unixfs_cat(&leaf, 0, UINT64_MAX, &src, to_buf, &b);
    if (rc < 0)
        api_reply_errcode(req, rc, rc == LS_ENOENT ? "no such chunk held here" : "chunk");
    else
        api_reply_bytes(req, 200, "application/octet-stream", b.data, b.len);
    buf_free(&b);
}

void
node_routes_gateway(node_t *n)
{
    api_route(n->api, "GET", "/ipfs/*", route_ipfs, n);
    api_route(n->api, "GET", "/file/*", route_chunk, n);
}
