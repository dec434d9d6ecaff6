/* node_content — open the blockstore, share its batch, and start Bitswap
 * (node_content.h). */
#define LOG_MODULE "content"
#include "node/daemon/node_content.h"

#include <stdlib.h>
#include <string.h>

#include "content/dagpb/dagpb.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "node/daemon/node_net.h"
#include "node/home/home.h"

/* How often the shared batch is committed: what a kill -9 can leave for the
 * blockstore's repair to index at the next start. */
#define BATCH_COMMIT_MS 3000

int
node_content_put(void *ctx, const cid_t *cid, const uint8_t *block, size_t len)
{
    node_content_t *c = ctx;
    /* the importer hashed it; we are its first seeder: keep it in the page cache */
    int rc = blockstore_put_hot(c->bs, cid, block, len);
    if (rc == 0)
        node_bitswap_block_added(c, cid);
    return rc;
}

static int
source_get(void *ctx, const cid_t *cid, buf_t *out)
{
    node_content_t *c = ctx;
    return blockstore_get(c->bs, cid, out);
}

unixfs_source_t
node_content_source(node_content_t *c)
{
    /* blockstore_get() verifies (blockstore.h): no second hash per block */
    return (unixfs_source_t){ .get = source_get, .ctx = c, .verified = true };
}

int
node_content_block_links(const cid_t *cid, const uint8_t *data, size_t len,
                         blockstore_cidlist_t *out)
{
    if (cid->codec != CID_CODEC_DAG_PB)
        return 0;
    dagpb_node_t node;
    int rc = dagpb_decode(data, len, &node);
    if (rc < 0)
        return LS_EINVAL;
    for (size_t i = 0; i < node.n_links; i++)
        blockstore_cidlist_push(out, &node.links[i].cid);
    dagpb_node_clear(&node);
    return 0;
}

static int
links_fn(void *ctx, const cid_t *cid, const uint8_t *block, size_t len,
         blockstore_cidlist_t *out)
{
    (void)ctx;
    return node_content_block_links(cid, block, len, out);
}

pin_links_t
node_content_links(void)
{
    return (pin_links_t){ .ctx = NULL, .fn = links_fn };
}

static void
on_commit_timer(evutil_socket_t fd, short what, void *arg)
{
    node_content_t *c = arg;
    (void)fd;
    (void)what;
    if (!blockstore_in_batch(c->bs))
        return;
    int rc = blockstore_batch_commit(c->bs);
    if (rc < 0)
        log_warn("committing blocks failed: %s", ls_strerror(rc));
    else
        blockstore_batch_begin(c->bs);
}

void
node_content_batch_take(node_content_t *c)
{
    if (c->batch_users++ == 0 && !blockstore_in_batch(c->bs))
        blockstore_batch_begin(c->bs);
}

void
node_content_batch_release(node_content_t *c)
{
    if (c->batch_users == 0 || --c->batch_users > 0 || !blockstore_in_batch(c->bs))
        return;
    int rc = blockstore_batch_commit(c->bs);
    if (rc < 0) {
        log_warn("committing blocks failed: %s", ls_strerror(rc));
        blockstore_batch_abort(c->bs);
    }
}

int
node_content_start(node_t *n, buf_t *err)
{
    node_content_t *c = ls_calloc(1, sizeof *c);
    c->node = n;
    n->content = c;
    c->params.chunk_size = (size_t)config_get_int(n->cfg, "content.chunk_size");
    c->params.max_links = UNIXFS_DEFAULT_MAX_LINKS;
    c->corrupt_blocks = config_get_bool(n->cfg, "test.corrupt_blocks");
    blockstore_config_t bcfg = {
        .max_bytes = (uint64_t)config_get_int(n->cfg, "repo.max_bytes"),
        .buffered = !config_get_bool(n->cfg, "repo.direct_io"),
    };
    const char *sync = config_get_str(n->cfg, "repo.sync");
    if (strcmp(sync, "each") == 0 || strcmp(sync, "none") == 0) {
        bcfg.sync = sync[0] == 'e' ? BLOCKSTORE_SYNC_EACH : BLOCKSTORE_SYNC_NONE;
    } else if (strcmp(sync, "batch") != 0) {
        buf_printf(err, "repo.sync must be batch, each or none (not '%s')", sync);
        return LS_ECONFIG;
    }
    const char *prov = config_get_str(n->cfg, "content.provide");
    if (strcmp(prov, "roots") != 0 && strcmp(prov, "all") != 0 && strcmp(prov, "none") != 0) {
        buf_printf(err, "content.provide must be roots, all or none (not '%s')", prov);
        return LS_ECONFIG;
    }
    char *dir = home_path(n->home, "blocks");
    int rc = blockstore_open(dir, n->db, &bcfg, &c->bs, err);
    free(dir);
    if (rc < 0)
        return rc;
    if (c->corrupt_blocks)
        log_warn("test.corrupt_blocks is set: this node serves corrupted blocks");
    struct timeval tv = { BATCH_COMMIT_MS / 1000, (BATCH_COMMIT_MS % 1000) * 1000 };
    c->ev_commit = event_new(n->base, -1, EV_PERSIST, on_commit_timer, c);
    event_add(c->ev_commit, &tv);
    node_routes_content(n);
    node_routes_gateway(n);
    return n->net ? node_bitswap_start(c) : 0;
}

void
node_content_job_add(node_content_t *c, content_job_t *job)
{
    job->next = c->jobs;
    c->jobs = job;
}

void
node_content_job_remove(node_content_t *c, content_job_t *job)
{
    for (content_job_t **p = &c->jobs; *p; p = &(*p)->next)
        if (*p == job) {
            *p = job->next;
            return;
        }
}

void
node_content_stop(node_t *n)
{
    node_content_t *c = n->content;
    if (!c)
        return;
    while (c->jobs) {
        content_job_t *j = c->jobs;
        c->jobs = j->next;
        j->cancel(j);
    }
    node_bitswap_stop(c);
    if (c->ev_commit)
        event_free(c->ev_commit);
    if (c->bs && blockstore_in_batch(c->bs) && blockstore_batch_commit(c->bs) < 0)
        blockstore_batch_abort(c->bs);
    blockstore_free(c->bs);
    free(c);
    n->content = NULL;
}
