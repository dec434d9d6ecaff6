/* routes_dag — DAGs as CAR files, to and from other IPFS implementations (kubo's
 * `ipfs dag import|export`, helia's @helia/car):
 *
 *   POST /api/v0/dag/import {"path","pin"}  a CARv1 on this machine (the daemon reads
 *                                           it, as for add): JSON lines {"event":
 *                                           "progress", bytes, total, blocks}, then
 *                                           done {roots, blocks, bytes} or error
 *   POST /api/v0/dag/export {"cid"}          the CARv1 of the DAG under a held root
 *                                           (depth-first, each block once)
 *
 * Import reads a piece of the file per loop turn; the CAR reader checks every block
 * against its CID before it is stored, so a CAR from anywhere is safe to import: a
 * block that lies stops the import with an error (what was stored before it stays
 * as unpinned blocks, for GC). At the end each root of the header is pinned
 * recursively (unless pin is false) if its whole DAG is held then; one that is not
 * is reported with the number of blocks it lacks and left unpinned. Identity-hashed
 * blocks (their bytes are their CID) are not stored. */
#define LOG_MODULE "dag"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "content/car/car.h"
#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "node/daemon/gateway_car.h"
#include "node/daemon/routes_content.h"

#define IMPORT_READ_BYTES (1u << 20)
#define IMPORT_STEP_BYTES (8u << 20) /* per loop turn: the loop keeps serving peers */
#define IMPORT_PROGRESS_MS 250

typedef struct import_job_t {
    content_job_t job;
    node_content_t *c;
    api_req_t *req;
    int fd;
    car_reader_t *car;
    uint64_t bytes, total, blocks, last_ms;
    bool pin;
    struct event *ev;
    uint8_t *chunk;
} import_job_t;

static node_content_t *
content_of(void *ctx)
{
    return ((node_t *)ctx)->content;
}

static void
import_free(import_job_t *j)
{
    node_content_job_remove(j->c, &j->job);
    node_content_batch_release(j->c);
    car_reader_free(j->car);
    close(j->fd);
    event_free(j->ev);
    free(j->chunk);
    free(j);
}

static void
import_cancel(content_job_t *job)
{
    import_job_t *j = (import_job_t *)job;
    api_stream_end(j->req);
    import_free(j);
}

static void
import_gone(void *ctx)
{
    import_free(ctx);
}

/* A verified block of the CAR. */
static int
import_block(void *ctx, const cid_t *cid, const uint8_t *block, size_t len)
{
    import_job_t *j = ctx;
    j->blocks++;
    if (cid->hash.code == MULTIHASH_IDENTITY)
        return 0;
    return node_content_put(j->c, cid, block, len);
}

/* A root of the header: pinned (and provided) if its DAG is whole here. */
static json_t *
import_root(import_job_t *j, const cid_t *root, int *incomplete)
{
    blockstore_cidlist_t missing = { 0 };
    pin_links_t links = node_content_links();
    int rc = j->pin ? pin_add(j->c->bs, root, true, &links, &missing) : 0;
    json_t *r = json_pack("{s:o, s:b}", "cid", content_cid_json(root), "pinned",
                          j->pin && rc == 0);
    if (rc == 0 && j->pin)
        node_provide_dag(j->c, root);
    if (rc == LS_ENOENT) {
        (*incomplete)++;
        json_object_set_new(r, "missing_blocks", json_integer((json_int_t)missing.n));
    } else if (rc < 0) {
        (*incomplete)++;
        json_object_set_new(r, "error", json_string(ls_strerror(rc)));
    }
    blockstore_cidlist_clear(&missing);
    return r;
}

static json_t *
import_done(import_job_t *j)
{
    const cid_t *roots;
    size_t n = car_reader_roots(j->car, &roots);
    int incomplete = 0;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, import_root(j, &roots[i], &incomplete));
    return json_pack("{s:s, s:o, s:I, s:I, s:i}", "event", "done", "roots", arr, "blocks",
                     (json_int_t)j->blocks, "bytes", (json_int_t)j->bytes, "incomplete",
                     incomplete);
}

/* What went wrong with the CAR, for the user. */
static const char *
import_error(int rc, bool at_end)
{
    switch (rc) {
    case LS_EPROTO:
        return at_end ? "the CAR ends in the middle of a section: cut short"
                      : "not a CAR file, or a malformed section";
    case LS_ECORRUPT:
        return "a block does not match its CID: the CAR is damaged or forged";
    case LS_ENOTSUP:
        return "a CARv2, or a block under a hash this node cannot check";
    case LS_ETOOBIG:
        return "a header or block over the limit (blocks are at most 2 MiB)";
    default:
        return ls_strerror(rc);
    }
}

static void
import_step(evutil_socket_t fd, short what, void *arg)
{
    import_job_t *j = arg;
    (void)fd;
    (void)what;
    ssize_t n = 1;
    int rc = 0;
    for (size_t step = 0; rc == 0 && n > 0 && step < IMPORT_STEP_BYTES; step += (size_t)n) {
        n = read(j->fd, j->chunk, IMPORT_READ_BYTES);
        rc = n < 0 ? -errno : car_reader_feed(j->car, j->chunk, (size_t)n, import_block, j);
        j->bytes += n > 0 ? (uint64_t)n : 0;
    }
    if (rc == 0 && n > 0) {
        uint64_t now = clock_mono_ms();
        if (now - j->last_ms >= IMPORT_PROGRESS_MS) {
            j->last_ms = now;
            content_stream_line(j->req, json_pack("{s:s, s:I, s:I, s:I}", "event", "progress",
                                                  "bytes", (json_int_t)j->bytes, "total",
                                                  (json_int_t)j->total, "blocks",
                                                  (json_int_t)j->blocks));
        }
        event_active(j->ev, EV_TIMEOUT, 0);
        return;
    }
    bool at_end = rc == 0;
    if (rc == 0)
        rc = car_reader_finish(j->car);
    char why[160];
    if (rc < 0) {
        snprintf(why, sizeof why, "%s (at byte %llu of the CAR)", import_error(rc, at_end),
                 (unsigned long long)j->bytes);
        log_info("dag import: %s", why);
    }
    content_stream_line(j->req, rc < 0 ? json_pack("{s:s, s:s, s:I}", "event", "error", "message",
                                                   why, "at_byte", (json_int_t)j->bytes)
                                       : import_done(j));
    api_stream_end(j->req);
    import_free(j);
}

static void
route_dag_import(api_req_t *req, void *ctx)
{
    node_content_t *c = content_of(ctx);
    json_t *body = api_req_json(req);
    const char *path = json_string_value(json_object_get(body, "path"));
    json_t *jp = json_object_get(body, "pin");
    struct stat st;
    int fd = path && path[0] == '/' ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (!path || path[0] != '/')
            api_reply_error(req, 400, "bad_request", "'path' must be an absolute local path");
        else
            api_reply_error(req, 404, "not_found", "%s: %s", path,
                            fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        json_decref(body);
        return;
    }
    import_job_t *j = ls_calloc(1, sizeof *j);
    j->c = c;
    j->req = req;
    j->fd = fd;
    j->total = (uint64_t)st.st_size;
    j->pin = !jp || json_is_true(jp);
    j->car = car_reader_new(BLOCKSTORE_MAX_BLOCK);
    j->chunk = ls_malloc(IMPORT_READ_BYTES);
    j->ev = event_new(c->node->base, -1, 0, import_step, j);
    j->job.cancel = import_cancel;
    json_decref(body);
    node_content_job_add(c, &j->job);
    node_content_batch_take(c);
    api_stream_start(req, "application/x-ndjson", import_gone, j);
    event_active(j->ev, EV_TIMEOUT, 0);
}

static void
route_dag_export(api_req_t *req, void *ctx)
{
    node_content_t *c = content_of(ctx);
    json_t *body = api_req_json(req);
    cid_t cid;
    int rc = body ? content_req_cid(c, req, body, &cid) : LS_EINVAL;
    json_decref(body);
    if (rc < 0) {
        if (!body)
            api_reply_error(req, 400, "bad_request", "a JSON body {\"cid\"} is required");
        return;
    }
    buf_t b = BUF_INIT(BLOCKSTORE_MAX_BLOCK);
    rc = gateway_block_get(c, &cid, &b);
    buf_free(&b);
    if (rc < 0) {
        api_reply_errcode(req, rc, rc == LS_ENOENT ? "not held here (fetch it first)" : "export");
        return;
    }
    gateway_car_plan_t plan = { .header_root = cid, .terminal = cid, .walk = GATEWAY_WALK_ALL };
    gateway_car_start(c, req, &plan, "application/vnd.ipld.car; version=1; order=dfs; dups=n");
}

void
node_routes_dag(node_t *n)
{
    api_route(n->api, "POST", "/api/v0/dag/import", route_dag_import, n);
    api_route(n->api, "POST", "/api/v0/dag/export", route_dag_export, n);
}
