/* gateway_car — CAR answers with dag-scope, entity-bytes and dups (see gateway_car.h). */
#define LOG_MODULE "gateway"
#include "node/daemon/gateway_car.h"

#include <stdlib.h>
#include <string.h>

#include "content/car/car.h"
#include "content/dagpb/dagpb.h"
#include "content/unixfs/unixfs_data.h"
#include "lib/cidset/cidset.h"
#include "lib/err/err.h"
#include "lib/log/log.h"

/* Bytes written per turn of the event loop, and the client backlog that pauses us. */
#define CAR_STEP_BYTES (4u << 20)
#define CAR_MAX_QUEUED (8u << 20)

/* One node still to visit: its CID, how to walk it, its byte range (WALK_RANGE). */
typedef struct walk_item_t {
    cid_t cid;
    gateway_walk_t walk;
    uint64_t lo, hi;
} walk_item_t;

typedef struct car_job_t {
    content_job_t job;
    node_content_t *c;
    api_req_t *req;
    struct event *ev;
    walk_item_t *stack; /* depth-first: the next node is on top */
    size_t n, cap;
    cidset_t *seen; /* the blocks written so far (dups=n) */
    bool dups;
} car_job_t;

int
gateway_block_get(node_content_t *c, const cid_t *cid, buf_t *out)
{
    if (cid->hash.code == MULTIHASH_IDENTITY)
        return buf_append(out, cid->hash.digest, cid->hash.len);
    return blockstore_get(c->bs, cid, out);
}

/* ---- the walk ---- */

static void
push(car_job_t *j, const cid_t *cid, gateway_walk_t walk, uint64_t lo, uint64_t hi)
{
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 64;
        j->stack = ls_realloc(j->stack, j->cap * sizeof *j->stack);
    }
    j->stack[j->n++] = (walk_item_t){.cid = *cid, .walk = walk, .lo = lo, .hi = hi};
}

/* Hex digits of a HAMT's bucket prefix: those of fanout - 1 (2 for 256). */
static size_t
hamt_prefix_len(uint64_t fanout)
{
    size_t w = 0;
    for (uint64_t v = fanout ? fanout - 1 : 0; v; v >>= 4)
        w++;
    return w;
}

/* A file node's children that hold bytes of [lo, hi] (relative to the node; its
 * inline data comes first), pushed last child first. */
static int
push_range(car_job_t *j, const dagpb_node_t *pb, const unixfs_data_t *ud, uint64_t lo, uint64_t hi)
{
    if (ud->n_blocksizes != pb->n_links)
        return LS_EPROTO;
    uint64_t end = ud->data_len;
    for (size_t i = 0; i < ud->n_blocksizes; i++)
        end += ud->blocksizes[i];
    for (size_t i = pb->n_links; i > 0; i--) {
        uint64_t size = ud->blocksizes[i - 1], start = end - size;
        if (size && start <= hi && end - 1 >= lo)
            push(j, &pb->links[i - 1].cid, GATEWAY_WALK_RANGE, (lo > start ? lo : start) - start,
                 (hi < end - 1 ? hi : end - 1) - start);
        end = start;
    }
    return 0;
}

/* The children of a UnixFS node that dag-scope=entity or entity-bytes keeps. */
static int
push_entity(car_job_t *j, const walk_item_t *it, const dagpb_node_t *pb)
{
    unixfs_data_t ud;
    if (!pb->has_data || unixfs_data_decode(pb->data, pb->data_len, &ud) < 0)
        return 0; /* dag-pb that is not UnixFS: its entity is the block */
    int rc = 0;
    if (ud.type == UNIXFS_FILE || ud.type == UNIXFS_RAW) {
        if (it->walk == GATEWAY_WALK_RANGE)
            rc = push_range(j, pb, &ud, it->lo, it->hi);
        else
            for (size_t i = pb->n_links; i > 0; i--)
                push(j, &pb->links[i - 1].cid, GATEWAY_WALK_ALL, 0, 0);
    } else if (ud.type == UNIXFS_HAMT_SHARD) {
        size_t w = hamt_prefix_len(ud.fanout); /* sub-shards: the links named by a prefix only */
        for (size_t i = pb->n_links; i > 0; i--)
            if (w && pb->links[i - 1].name_len == w)
                push(j, &pb->links[i - 1].cid, GATEWAY_WALK_ENTITY, 0, 0);
    }
    unixfs_data_clear(&ud);
    return rc;
}

static int
push_children(car_job_t *j, const walk_item_t *it, const buf_t *blk)
{
    if (it->walk == GATEWAY_WALK_BLOCK || it->cid.codec != CID_CODEC_DAG_PB)
        return 0;
    dagpb_node_t pb;
    if (dagpb_decode(blk->data, blk->len, &pb) < 0)
        return LS_EPROTO;
    int rc = 0;
    if (it->walk == GATEWAY_WALK_ALL)
        for (size_t i = pb.n_links; i > 0; i--)
            push(j, &pb.links[i - 1].cid, GATEWAY_WALK_ALL, 0, 0);
    else
        rc = push_entity(j, it, &pb);
    dagpb_node_clear(&pb);
    return rc;
}

/* Visit the node on top: write its block (unless identity, or sent already under
 * dups=n) and push the children its walk keeps. A dag-pb node sent already is still
 * walked, since its first visit may have kept other children (another range). */
static int
car_next(car_job_t *j, buf_t *out, buf_t *blk)
{
    walk_item_t it = j->stack[--j->n];
    bool again = !j->dups && !cidset_add(j->seen, &it.cid);
    if (again && (it.cid.codec != CID_CODEC_DAG_PB || it.walk == GATEWAY_WALK_BLOCK))
        return 0;
    buf_clear(blk);
    int rc = gateway_block_get(j->c, &it.cid, blk);
    if (rc == 0 && !again && it.cid.hash.code != MULTIHASH_IDENTITY)
        rc = car_write_block(out, &it.cid, blk->data, blk->len);
    return rc < 0 ? rc : push_children(j, &it, blk);
}

/* ---- the stream ---- */

static void
car_job_free(car_job_t *j)
{
    node_content_job_remove(j->c, &j->job);
    event_free(j->ev);
    free(j->stack);
    cidset_free(j->seen);
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

static void
car_step(evutil_socket_t fd, short what, void *arg)
{
    car_job_t *j = arg;
    (void)fd;
    (void)what;
    if (api_stream_queued(j->req) > CAR_MAX_QUEUED) {
        struct timeval tv = {0, 2000};
        event_add(j->ev, &tv);
        return;
    }
    buf_t out = BUF_INIT(BUF_UNLIMITED), blk = BUF_INIT(BLOCKSTORE_MAX_BLOCK);
    int rc = 0;
    while (rc == 0 && j->n && out.len < CAR_STEP_BYTES)
        rc = car_next(j, &out, &blk);
    api_stream_send(j->req, out.data, out.len);
    buf_free(&out);
    buf_free(&blk);
    if (rc < 0)
        log_warn("CAR stopped: %s", ls_strerror(rc));
    if (rc < 0 || j->n == 0) {
        api_stream_end(j->req);
        car_job_free(j);
        return;
    }
    event_active(j->ev, EV_TIMEOUT, 0);
}

void
gateway_car_start(node_content_t *c, api_req_t *req, const gateway_car_plan_t *plan,
                  const char *content_type)
{
    buf_t hdr = BUF_INIT(CAR_MAX_HEADER);
    car_write_header(&hdr, &plan->header_root, 1);
    car_job_t *j = ls_calloc(1, sizeof *j);
    j->c = c;
    j->req = req;
    j->dups = plan->dups;
    j->seen = cidset_new();
    j->job.cancel = car_cancel;
    j->ev = event_new(c->node->base, -1, 0, car_step, j);
    /* the terminal at the bottom, the path's blocks above it in order */
    push(j, &plan->terminal, plan->walk, plan->lo, plan->hi);
    for (size_t i = plan->path ? plan->path->n : 0; i > 0; i--)
        push(j, &plan->path->items[i - 1], GATEWAY_WALK_BLOCK, 0, 0);
    node_content_job_add(c, &j->job);
    api_stream_start(req, content_type, car_gone, j);
    api_stream_send(req, hdr.data, hdr.len);
    buf_free(&hdr);
    event_active(j->ev, EV_TIMEOUT, 0);
}
