/* routes_gateway — unauthenticated HTTP GETs (and HEADs) of held content
 * (node_content.h), following ipfs/specs http-gateways path-gateway and, for the
 * verifiable formats, trustless-gateway:
 *
 *   GET|HEAD /ipfs/{cid}[/{path...}][?params]
 *       A path is resolved through UnixFS directories first (gateway_path.h: 400 for
 *       a malformed path, 404 for one that does not resolve). The format is
 *       negotiated from ?format= (first) and Accept (gateway_negotiate.h: 400 for a
 *       malformed parameter, 406 for a format or CAR variant not served):
 *       raw   application/vnd.ipld.raw: the terminal element's block
 *       car   application/vnd.ipld.car; version=1; order=dfs; dups=n|y: the blocks on
 *             the path, then the terminal's as dag-scope (all|entity|block) and
 *             entity-bytes=from:to ask (gateway_car.h), depth first
 *       none  the file's bytes (Range: bytes=a-b, a-, -n gives 206 with
 *             Content-Range; one range of at most GATEWAY_MAX_RANGE bytes per
 *             answer) or, for a directory, a JSON listing
 *             {cid, entries: [{name, cid, tsize}], unlisted}
 *       Every answer carries Vary: Accept; a successful one Etag ("{cid}.raw",
 *       "{cid}.car.{hash of the CAR parameters and path}", "{cid}" or
 *       "{cid}.{from}-{to}" for a range, "DirIndex-json-1_CID-{cid}"), Cache-Control:
 *       public, max-age=29030400, immutable, X-Ipfs-Path and X-Ipfs-Roots; raw and
 *       CAR also Content-Disposition: attachment; filename="{cid}.bin|.car",
 *       X-Content-Type-Options: nosniff and, when chosen by Accept alone,
 *       Content-Location with ?format= (and the CAR parameters). If-None-Match
 *       naming the Etag gives 304; Cache-Control: only-if-cached for a root not held
 *       gives 412.
 *       HEAD answers with the same status and headers and no body (Content-Length
 *       for the file and raw answers; none for the CAR stream).
 *   GET /file/{cid}/chunk/{index}     seed 004: the bytes of the file's index-th leaf
 *                                     chunk (0-based, in file order)
 *
 * Only content already held is served (404 otherwise; identity CIDs, such as the
 * spec's probe bafkqaaa, hold their bytes): the gateway never starts a download for
 * an anonymous client; `lester fetch`/`get` does that. */
#define LOG_MODULE "gateway"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/log/log.h"
#include "lib/multibase/multibase.h"
#include "node/daemon/gateway_car.h"
#include "node/daemon/gateway_negotiate.h"
#include "node/daemon/gateway_path.h"
#include "node/daemon/routes_content.h"

#define GATEWAY_MAX_RANGE (64u << 20)
/* Entries a directory listing names; the rest are counted in "unlisted". */
#define GATEWAY_MAX_LISTING 10000
#define CAR_TYPE "application/vnd.ipld.car; version=1; order=dfs; dups="
#define RAW_TYPE "application/vnd.ipld.raw"
/* Longest Etag, X-Ipfs-Path line and Content-Location written. */
#define ETAG_MAX 512

/* One /ipfs/ request once negotiated and resolved. */
typedef struct gw_req_t {
    gateway_want_t want;
    const char *raw;                  /* the request path as sent (X-Ipfs-Path) */
    cid_t root;                       /* the CID in the path */
    cid_t cid;                        /* the terminal element */
    blockstore_cidlist_t path_blocks; /* CAR: blocks read to resolve the path */
    buf_t roots;                      /* X-Ipfs-Roots */
} gw_req_t;

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

static void
cid_text(const cid_t *cid, buf_t *out)
{
    if (cid_to_string(cid, out) < 0)
        buf_printf(out, "unprintable-cid");
}

/* ---- the headers of a successful answer ---- */

/* Etag, Cache-Control, X-Ipfs-Path and X-Ipfs-Roots; then, if If-None-Match names
 * `etag`, the 304 answer (true: nothing more to send). */
static bool
answer_cached(api_req_t *req, const gw_req_t *g, const char *etag, const char *type)
{
    api_reply_header(req, "Etag", etag);
    api_reply_header(req, "Cache-Control", "public, max-age=29030400, immutable");
    api_reply_header(req, "X-Ipfs-Path", g->raw);
    api_reply_header(req, "X-Ipfs-Roots", buf_cstr((buf_t *)&g->roots));
    const char *inm = api_req_header(req, "If-None-Match");
    if (!inm || !gateway_etag_match(inm, etag))
        return false;
    api_reply_head(req, 304, type, -1);
    return true;
}

/* Content-Disposition, nosniff and Content-Location of a raw or CAR answer. */
static void
verifiable_headers(api_req_t *req, const gw_req_t *g, const char *format, const char *ext)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    buf_printf(&b, "attachment; filename=\"");
    cid_text(&g->cid, &b);
    buf_printf(&b, ".%s\"", ext);
    api_reply_header(req, "Content-Disposition", buf_cstr(&b));
    api_reply_header(req, "X-Content-Type-Options", "nosniff");
    if (g->want.by_accept) { /* the URL that names this variant alone, for caches */
        static const char *const keep[] = {"dag-scope", "entity-bytes"};
        buf_clear(&b);
        buf_printf(&b, "%s?format=%s", g->raw, format);
        if (g->want.format == GATEWAY_FORMAT_CAR)
            buf_printf(&b, "&car-dups=%s", g->want.dups ? "y" : "n");
        for (size_t i = 0; g->want.format == GATEWAY_FORMAT_CAR && i < 2; i++) {
            const char *v = api_req_query(req, keep[i]); /* validated: no escaping needed */
            if (v)
                buf_printf(&b, "&%s=%s", keep[i], v);
        }
        api_reply_header(req, "Content-Location", buf_cstr(&b));
    }
    buf_free(&b);
}

/* ---- raw block ---- */

static void
serve_raw(node_content_t *c, api_req_t *req, const gw_req_t *g)
{
    buf_t b = BUF_INIT(BLOCKSTORE_MAX_BLOCK), etag = BUF_INIT(ETAG_MAX);
    int rc = gateway_block_get(c, &g->cid, &b);
    if (rc == 0 && c->corrupt_blocks && b.len)
        b.data[0] ^= 0x5a; /* test.corrupt_blocks: a lying HTTP seeder too */
    if (rc < 0) {
        api_reply_errcode(req, rc, "block");
        goto out;
    }
    buf_printf(&etag, "\"");
    cid_text(&g->cid, &etag);
    buf_printf(&etag, ".raw\"");
    verifiable_headers(req, g, "raw", "bin");
    if (!answer_cached(req, g, buf_cstr(&etag), RAW_TYPE))
        api_reply_bytes(req, 200, RAW_TYPE, b.data, b.len);
out:
    buf_free(&b);
    buf_free(&etag);
}

/* ---- CAR ---- */

/* "{cid}.car.{scope}.{16 hex}": the hex is of everything else that shapes the CAR
 * (path, range, dups), so every distinct CAR has its own strong tag (the walk is
 * deterministic). */
static void
car_etag(const gw_req_t *g, buf_t *out)
{
    static const char *const scopes[] = {"all", "entity", "block"};
    const gateway_want_t *w = &g->want;
    buf_t in = BUF_INIT(BUF_UNLIMITED);
    multihash_t mh;
    buf_printf(&in, "%s|%d|%lld:%lld|%d", g->raw, w->has_range, (long long)w->from,
               w->to_end ? -0x7fffffffLL : (long long)w->to, w->dups);
    multihash_sha256(in.data, in.len, &mh);
    buf_printf(out, "\"");
    cid_text(&g->cid, out);
    buf_printf(out, ".car.%s.", scopes[w->scope]);
    base16_encode(mh.digest, 8, out);
    buf_printf(out, "\"");
    buf_free(&in);
}

/* The plan of the terminal's walk; 0, or an answer already sent (400 for a range
 * wholly past the end of the file). */
static int
car_plan(node_content_t *c, api_req_t *req, const gw_req_t *g, gateway_car_plan_t *plan)
{
    const gateway_want_t *w = &g->want;
    *plan = (gateway_car_plan_t){
        .header_root = g->root, .path = &g->path_blocks, .terminal = g->cid, .dups = w->dups};
    plan->walk = w->scope == GATEWAY_SCOPE_BLOCK    ? GATEWAY_WALK_BLOCK
                 : w->scope == GATEWAY_SCOPE_ENTITY ? GATEWAY_WALK_ENTITY
                                                    : GATEWAY_WALK_ALL;
    unixfs_source_t src = node_content_source(c);
    unixfs_stat_t st;
    if (!w->has_range || unixfs_stat(&g->cid, &src, &st) < 0 || st.type != UNIXFS_FILE)
        return 0; /* entity-bytes on what is not a byte array: plain entity */
    int rc = gateway_range_resolve(w, st.filesize, &plan->lo, &plan->hi);
    if (rc == LS_ERANGE) {
        api_reply_error(req, 400, "bad_request",
                        "entity-bytes starts past the end of the file (%" PRIu64 " bytes)",
                        st.filesize);
        return rc;
    }
    plan->walk = rc == 1 ? GATEWAY_WALK_BLOCK : GATEWAY_WALK_RANGE;
    return 0;
}

static void
serve_car(node_content_t *c, api_req_t *req, const gw_req_t *g)
{
    gateway_car_plan_t plan;
    const char *type = g->want.dups ? CAR_TYPE "y" : CAR_TYPE "n";
    buf_t etag = BUF_INIT(ETAG_MAX), first = BUF_INIT(BLOCKSTORE_MAX_BLOCK);
    const cid_t *root = g->path_blocks.n ? &g->path_blocks.items[0] : &g->cid;
    if (gateway_block_get(c, root, &first) < 0) {
        api_reply_error(req, 404, "not_found", "block not held here");
        goto out;
    }
    if (car_plan(c, req, g, &plan) < 0)
        goto out;
    car_etag(g, &etag);
    verifiable_headers(req, g, "car", "car");
    api_reply_header(req, "Accept-Ranges", "none");
    if (answer_cached(req, g, buf_cstr(&etag), type))
        goto out;
    if (api_req_is_head(req))
        api_reply_head(req, 200, type, -1);
    else
        gateway_car_start(c, req, &plan, type);
out:
    buf_free(&etag);
    buf_free(&first);
}

/* ---- file, range, directory listing ---- */

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
 * a listing; the trustless formats stay ?format=raw/car). The Etag names the
 * listing's format version, as the spec asks of generated indexes. */
static void
serve_listing(node_content_t *c, api_req_t *req, const gw_req_t *g)
{
    unixfs_source_t src = node_content_source(c);
    listing_t l = {.entries = json_array()};
    buf_t etag = BUF_INIT(ETAG_MAX);
    int rc = unixfs_ls(&g->cid, &src, list_entry, &l);
    if (rc < 0) {
        json_decref(l.entries);
        api_reply_errcode(req, rc, rc == LS_ENOENT ? "block not held here" : "directory");
        buf_free(&etag);
        return;
    }
    buf_printf(&etag, "\"DirIndex-json-1_CID-");
    cid_text(&g->cid, &etag);
    buf_printf(&etag, "\"");
    if (answer_cached(req, g, buf_cstr(&etag), "application/json"))
        json_decref(l.entries);
    else
        api_reply_json(req, 200,
                       json_pack("{s:o, s:o, s:I}", "cid", content_cid_json(&g->cid), "entries",
                                 l.entries, "unlisted", (json_int_t)l.unlisted));
    buf_free(&etag);
}

/* Bytes [from, to] of the file as a 206 answer. */
static void
serve_file_range(node_content_t *c, api_req_t *req, const gw_req_t *g, uint64_t from, uint64_t to,
                 uint64_t size)
{
    char cr[96];
    buf_t etag = BUF_INIT(ETAG_MAX), b = BUF_INIT(BUF_UNLIMITED);
    unixfs_source_t src = node_content_source(c);
    if (to - from + 1 > GATEWAY_MAX_RANGE)
        to = from + GATEWAY_MAX_RANGE - 1;
    buf_printf(&etag, "\"");
    cid_text(&g->cid, &etag);
    buf_printf(&etag, ".%" PRIu64 "-%" PRIu64 "\"", from, to);
    snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, from, to, size);
    int rc = api_req_is_head(req) ? 0 : unixfs_cat(&g->cid, from, to - from + 1, &src, to_buf, &b);
    if (rc < 0) {
        api_reply_errcode(req, rc, "file");
    } else if (!answer_cached(req, g, buf_cstr(&etag), "application/octet-stream")) {
        api_reply_header(req, "Content-Range", cr);
        if (api_req_is_head(req))
            api_reply_head(req, 206, "application/octet-stream", (int64_t)(to - from + 1));
        else
            api_reply_bytes(req, 206, "application/octet-stream", b.data, b.len);
    }
    buf_free(&b);
    buf_free(&etag);
}

static void
serve_file(node_content_t *c, api_req_t *req, const gw_req_t *g)
{
    unixfs_source_t src = node_content_source(c);
    unixfs_stat_t st;
    int rc = unixfs_stat(&g->cid, &src, &st);
    if (rc == 0 && st.type == UNIXFS_DIRECTORY) {
        serve_listing(c, req, g);
        return;
    }
    if (rc < 0) {
        api_reply_errcode(req, rc, rc == LS_ENOENT ? "not held here" : "file");
        return;
    }
    uint64_t from, to;
    rc = parse_range(api_req_header(req, "Range"), st.filesize, &from, &to);
    api_reply_header(req, "Accept-Ranges", "bytes");
    if (rc == 0) {
        serve_file_range(c, req, g, from, to, st.filesize);
    } else if (rc < 0) {
        char cr[64];
        snprintf(cr, sizeof cr, "bytes */%" PRIu64, st.filesize);
        api_reply_header(req, "Content-Range", cr);
        api_reply_error(req, 416, "range", "range not satisfiable");
    } else {
        buf_t etag = BUF_INIT(ETAG_MAX);
        buf_printf(&etag, "\"");
        cid_text(&g->cid, &etag);
        buf_printf(&etag, "\"");
        const char *type = "application/octet-stream";
        bool cached = answer_cached(req, g, buf_cstr(&etag), type); /* 304 sent */
        if (!cached && api_req_is_head(req))
            api_reply_head(req, 200, type, (int64_t)st.filesize);
        else if (!cached)
            content_cat_start(c, req, &g->cid, 0, st.filesize, type);
        buf_free(&etag);
    }
}

/* ---- the request ---- */

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

/* A block source that notes every block it hands out (once each, in order): the
 * blocks a CAR needs to prove the path. A HAMT directory is listed until the name
 * is found, so its CAR may hold a few more shards than the strict path. */
typedef struct recorder_t {
    unixfs_source_t inner;
    blockstore_cidlist_t *seen;
} recorder_t;

static int
record_get(void *ctx, const cid_t *cid, buf_t *out)
{
    recorder_t *r = ctx;
    int rc = r->inner.get(r->inner.ctx, cid, out);
    bool known = false;
    for (size_t i = 0; rc == 0 && !known && i < r->seen->n; i++)
        known = cid_equal(&r->seen->items[i], cid);
    if (rc == 0 && !known)
        blockstore_cidlist_push(r->seen, cid);
    return rc;
}

/* "/ipfs/<cid>[/<path>][/]" from the raw request path into `g`, or an answer already
 * sent (400 for a malformed path, 404 for one that does not resolve). */
static int
resolve_request(node_content_t *c, api_req_t *req, gw_req_t *g)
{
    gateway_path_t p;
    int rc = strncmp(g->raw, "/ipfs/", 6) == 0
                 ? gateway_path_parse(g->raw + 6, strlen(g->raw + 6), &p)
                 : LS_EINVAL;
    if (rc < 0) {
        api_reply_error(req, 400, "bad_request",
                        "want /ipfs/<cid>[/<path>]: a CID, then non-empty percent-encoded "
                        "names (no \".\", \"..\", NUL or \"/\" in a name)");
        return rc;
    }
    const char *cc = api_req_header(req, "Cache-Control");
    if (cc && strstr(cc, "only-if-cached") && p.root.hash.code != MULTIHASH_IDENTITY &&
        !blockstore_has(c->bs, &p.root)) {
        api_reply_head(req, 412, "text/plain", 0); /* path-gateway: no payload */
        gateway_path_clear(&p);
        return LS_ENOENT;
    }
    recorder_t rec = {.inner = node_content_source(c), .seen = &g->path_blocks};
    unixfs_source_t src = rec.inner;
    if (g->want.format == GATEWAY_FORMAT_CAR)
        src = (unixfs_source_t){.get = record_get, .ctx = &rec, .verified = rec.inner.verified};
    gateway_resolve_t *r = ls_malloc(sizeof *r); /* ~3 KiB of roots: not on the stack */
    rc = gateway_path_resolve(&p, &src, r);
    if (rc < 0)
        reply_unresolved(req, &p, r, rc);
    g->root = p.root;
    g->cid = r->cid;
    for (size_t i = 0; rc == 0 && i < r->n_roots; i++) {
        if (i)
            buf_printf(&g->roots, ",");
        cid_text(&r->roots[i], &g->roots);
    }
    free(r);
    gateway_path_clear(&p);
    return rc;
}

static int
negotiate(api_req_t *req, gateway_want_t *want)
{
    const char *why;
    gateway_request_t in = {
        .format = api_req_query(req, "format"),
        .accept = api_req_header(req, "Accept"),
        .car_version = api_req_query(req, "car-version"),
        .car_order = api_req_query(req, "car-order"),
        .car_dups = api_req_query(req, "car-dups"),
        .dag_scope = api_req_query(req, "dag-scope"),
        .entity_bytes = api_req_query(req, "entity-bytes"),
    };
    int rc = gateway_negotiate(&in, want, &why);
    if (rc == LS_ENOTSUP)
        api_reply_error(req, 406, "not_acceptable", "%s", why);
    else if (rc < 0)
        api_reply_error(req, 400, "bad_request", "%s", why);
    return rc;
}

static void
route_ipfs(api_req_t *req, void *ctx)
{
    node_content_t *c = content_of(ctx);
    gw_req_t g = {.raw = api_req_raw_path(req), .roots = BUF_INIT(BUF_UNLIMITED)};
    api_reply_header(req, "Vary", "Accept"); /* every answer depends on it */
    if (negotiate(req, &g.want) == 0 && resolve_request(c, req, &g) == 0) {
        if (g.want.format == GATEWAY_FORMAT_RAW)
            serve_raw(c, req, &g);
        else if (g.want.format == GATEWAY_FORMAT_CAR)
            serve_car(c, req, &g);
        else
            serve_file(c, req, &g);
    }
    blockstore_cidlist_clear(&g.path_blocks);
    buf_free(&g.roots);
}

/* ---- seed 004's chunk route ---- */

/* Find the index-th leaf under `root`, depth-first, reading only inner nodes. */
static int
find_leaf(node_content_t *c, const cid_t *root, uint64_t index, cid_t *out)
{
    blockstore_cidlist_t stack = {0};
    buf_t blk = BUF_INIT(BLOCKSTORE_MAX_BLOCK);
    int rc = LS_ENOENT;
    blockstore_cidlist_push(&stack, root);
    while (stack.n) {
        cid_t cid = stack.items[--stack.n];
        blockstore_cidlist_t links = {0};
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
