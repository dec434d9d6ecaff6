/* node_fetch — download a whole DAG with Bitswap (node_content.h).
 *
 * A content path (`<cid>/dir/name`) is walked first over what is held
 * (content_path_walk); each block the walk misses is wanted alone and the walk
 * starts again when it arrives, so only the directory blocks on the way are fetched
 * before the DAG the path names.
 *
 * The DAG is walked breadth-first from the root. A block already in the store is
 * read (dag-pb) or only counted (raw) and never asked for, which is how a download
 * resumes after a restart; a missing one is wanted through the download's Bitswap
 * session, which spreads the wants over every connected Bitswap peer. The engine
 * verifies each block before it is stored and handed here; a dag-pb block then
 * adds its links to the walk. When nothing is pending the DAG is checked once more
 * from the root (every dag-pb node decodes and every link is held) before the
 * caller is told. Blocks go into the shared blockstore batch (durable every few
 * seconds) under a hold, so a GC cannot collect a download in progress. Given an
 * output path (`lester get` of a file), node_fetch_out.c writes every block the walk
 * takes at its offsets in the file, so no export pass follows the download.
 *
 * More sources: the root's providers are looked up in the DHT when the download
 * starts and again while it is starved (no block for STARVED_MS, at most every
 * FIND_EVERY_MS), every other time those of a block still wanted. Each provider is dialled — its Bitswap joins the session through
 * node_bitswap's peer scan, so slow peers are demoted and corrupt ones dropped by
 * the session — and the HTTP endpoints of its signed metadata become HTTP seeders
 * of this download (node_http_seed.c), which take wants no Bitswap peer is
 * fetching. A completed download is provided in the DHT (node_provide.c). */
#define LOG_MODULE "fetch"
#include <stdlib.h>
#include <string.h>

#include "content/dagpb/dagpb.h"
#include "dht/kad_validate.h"
#include "lib/cidset/cidset.h"
#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "node/daemon/content_path.h"
#include "node/daemon/node_bitswap_internal.h"
#include "node/daemon/node_dht.h"
#include "node/daemon/node_net.h"

#define WANT_BATCH 256
/* Provider search: checked this often; a download with no block for STARVED_MS is
 * starved and searches again, at most every FIND_EVERY_MS. */
#define FIND_TICK_MS 500
#define STARVED_MS 2000
#define FIND_EVERY_MS 5000
#define FIND_MAX_PROVIDERS 20

struct node_fetch_t {
    node_fetch_t *next;
    node_bitswap_t *g;
    bitswap_session_t *session;
    cid_t root;
    cidset_t *pending;         /* wanted from the network */
    blockstore_cidlist_t unchecked; /* to look at in the store */
    size_t unchecked_at;
    node_fetch_progress_t p;
    uint64_t started_ms;
    node_fetch_done_fn done;
    void *ctx;
    int err;
    struct event *ev_done;
    /* more sources: providers from the DHT, HTTP seeders among them */
    http_seeds_t *seeds;
    struct event *ev_find;
    node_dht_query_t *find_q;
    cid_t find_cid; /* whose providers find_q asks for: the root, or a starving block */
    uint64_t last_block_ms, last_find_ms;
    unsigned finds;
    /* `lester get`: the file written as blocks come (node_fetch_out.c), or NULL */
    fetch_out_t *out;
    bool written;
    /* a content path: walked first, fetching the blocks on the way one by one; `root`
       is its root until the walk ends, then the CID it names */
    gateway_path_t *path;
    char *out_path;    /* the file to write, opened once the path is walked */
    bool single;       /* the root block alone (block get), no links followed */
    char why[160];     /* a sentence for the user about err, or "" */
};

/* Root bookkeeping: the expected DAG size is the root block plus its links' Tsizes. */
static void
note_root(node_fetch_t *f, const cid_t *cid, const uint8_t *data, size_t len)
{
    if (!cid_equal(cid, &f->root))
        return;
    f->p.total = len;
    if (cid->codec != CID_CODEC_DAG_PB)
        return;
    dagpb_node_t node;
    if (dagpb_decode(data, len, &node) < 0)
        return;
    for (size_t i = 0; i < node.n_links; i++)
        f->p.total += node.links[i].tsize;
    dagpb_node_clear(&node);
}

/* A block of the DAG is here (held or just fetched): count it, follow its links. */
static int
take_block(node_fetch_t *f, const cid_t *cid, const uint8_t *data, size_t len)
{
    f->p.bytes += len;
    f->p.blocks++;
    note_root(f, cid, data, len);
    fetch_out_block(f->out, cid, data, len);
    if (!f->single && node_content_block_links(cid, data, len, &f->unchecked) < 0)
        return LS_EPROTO;
    return 0;
}

/* Look at a CID: held → take it; else want it. Returns 1 if it must be wanted. */
static int
visit(node_fetch_t *f, const cid_t *cid, buf_t *tmp)
{
    blockstore_t *bs = f->g->c->bs;
    if (cidset_has(f->pending, cid))
        return 0;
    if (blockstore_has(bs, cid)) {
        /* a held leaf is only counted, unless the output file needs its bytes */
        if (cid->codec != CID_CODEC_DAG_PB && !cid_equal(cid, &f->root) &&
            !fetch_out_wants(f->out, cid)) {
            int64_t sz = blockstore_size(bs, cid);
            f->p.bytes += sz > 0 ? (uint64_t)sz : 0;
            f->p.blocks++;
            return 0;
        }
        buf_clear(tmp);
        if (blockstore_get(bs, cid, tmp) == 0)
            return take_block(f, cid, tmp->data, tmp->len);
        /* damaged on disk (quarantined by get): fetch it again */
    }
    cidset_add(f->pending, cid);
    return 1;
}

static void
finish_soon(node_fetch_t *f, int err)
{
    if (!f->err)
        f->err = err;
    event_active(f->ev_done, EV_TIMEOUT, 0);
}

static void
pump(node_fetch_t *f)
{
    cid_t want[WANT_BATCH];
    size_t nw = 0;
    buf_t tmp = BUF_INIT(BLOCKSTORE_MAX_BLOCK);
    while (f->unchecked_at < f->unchecked.n && !f->err) {
        cid_t cid = f->unchecked.items[f->unchecked_at++];
        int rc = visit(f, &cid, &tmp);
        if (rc < 0)
            finish_soon(f, rc);
        else if (rc > 0)
            want[nw++] = cid;
        if (nw == WANT_BATCH || (nw && f->unchecked_at == f->unchecked.n)) {
            bitswap_session_want(f->session, want, nw);
            nw = 0;
        }
    }
    buf_free(&tmp);
    if (f->unchecked_at == f->unchecked.n) {
        blockstore_cidlist_clear(&f->unchecked);
        f->unchecked_at = 0;
    }
    if (cidset_count(f->pending) == 0 && f->unchecked.n == 0) {
        finish_soon(f, 0);
    } else {
        node_bitswap_kick(f->g);
        http_seeds_pump(f->seeds);
    }
}

/* The DAG walk from `f->root` begins (held blocks are read, the rest wanted). */
static void
start_dag(node_fetch_t *f)
{
    node_content_t *c = f->g->c;
    if (f->out_path)
        f->out = fetch_out_new(f->out_path, &f->root, c->bs,
                               config_get_bool(c->node->cfg, "repo.direct_io"));
    blockstore_cidlist_push(&f->unchecked, &f->root);
    pump(f);
}

/* Walk the content path over what is held: done → the DAG it names is fetched; a
 * block missing on the way → want that one alone; else the download fails. */
static void
walk_path(node_fetch_t *f)
{
    cid_t target, missing;
    int rc = content_path_walk(f->g->c, f->path, &target, &missing, f->why, sizeof f->why);
    if (rc == LS_EAGAIN) {
        f->why[0] = '\0';
        if (!cidset_has(f->pending, &missing)) {
            cidset_add(f->pending, &missing);
            bitswap_session_want(f->session, &missing, 1);
            node_bitswap_kick(f->g);
        }
        return;
    }
    gateway_path_clear(f->path);
    free(f->path);
    f->path = NULL;
    if (rc < 0) {
        finish_soon(f, rc);
        return;
    }
    f->root = target;
    start_dag(f);
}

void
node_fetch_on_block(node_bitswap_t *g, const cid_t *cid, const uint8_t *data, size_t len)
{
    for (node_fetch_t *f = g->fetches; f; f = f->next) {
        if (!cidset_remove(f->pending, cid))
            continue;
        f->p.fetched_blocks++;
        f->p.fetched_bytes += len;
        f->last_block_ms = clock_mono_ms();
        if (f->path) { /* a block on the path: walk again */
            walk_path(f);
            continue;
        }
        int rc = take_block(f, cid, data, len);
        if (rc < 0)
            finish_soon(f, rc);
        else
            pump(f);
    }
}

/* ---- the final check ---- */

/* Every dag-pb node of the DAG decodes and every link is held. */
static int
check_dag(node_fetch_t *f)
{
    blockstore_t *bs = f->g->c->bs;
    blockstore_cidlist_t l = { 0 };
    buf_t tmp = BUF_INIT(BLOCKSTORE_MAX_BLOCK);
    int rc = 0;
    if (f->single)
        return blockstore_has(bs, &f->root) ? 0 : LS_ENOENT;
    blockstore_cidlist_push(&l, &f->root);
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        if (!blockstore_has(bs, &l.items[i])) {
            rc = LS_ENOENT;
        } else if (l.items[i].codec == CID_CODEC_DAG_PB) {
            buf_clear(&tmp);
            rc = blockstore_get(bs, &l.items[i], &tmp);
            if (rc == 0)
                rc = node_content_block_links(&l.items[i], tmp.data, tmp.len, &l);
        }
    }
    unixfs_source_t src = node_content_source(f->g->c);
    unixfs_stat_t st;
    if (rc == 0 && f->root.codec == CID_CODEC_DAG_PB)
        rc = unixfs_stat(&f->root, &src, &st);
    buf_free(&tmp);
    blockstore_cidlist_clear(&l);
    return rc;
}

/* ---- more sources: providers found in the DHT ---- */

/* A provider's signed metadata names HTTP endpoints: add them as seeders. */
static void
add_http_endpoints(node_fetch_t *f, const kad_peer_info_t *pi, const uint8_t *key, size_t klen)
{
    record_t *meta = NULL;
    const record_array_t *eps;
    const char *url;
    if (!pi->meta_len || kad_provider_meta_check(clock_wall_ms(), key, klen, &pi->id, pi->meta,
                                                 pi->meta_len, &meta) < 0)
        return;
    if (record_get_array(meta, "endpoints", &eps) == 0)
        for (size_t i = 0; i < record_array_len(eps); i++)
            if (record_array_get_str(eps, i, &url) == 0)
                http_seeds_add(f->seeds, &pi->id, url);
    record_free(meta);
}

/* A provider's connection is up. `ctx` is the node (which outlives every dial). */
static void
provider_dialled(void *ctx, swarm_conn_t *conn, int err)
{
    node_t *n = ctx;
    (void)conn;
    if (err == 0 && n->content && n->content->bitswap)
        node_bitswap_scan_soon(n->content->bitswap);
}

static void
providers_found(void *arg, const kad_result_t *res)
{
    node_fetch_t *f = arg;
    node_net_t *net = f->g->c->node->net;
    buf_t key = BUF_INIT(MULTIHASH_MAX_DIGEST + 16);
    f->find_q = NULL;
    multihash_encode(&f->find_cid.hash, &key);
    size_t dialled = 0;
    for (size_t i = 0; net && net->dht && i < res->npeers; i++) {
        const kad_peer_info_t *pi = &res->peers[i];
        if (peer_id_equal(&pi->id, &f->g->c->node->id))
            continue;
        node_dht_learn_addrs(net->dht, &pi->id, pi->addrs, pi->addrs_len);
        /* Connected and identified, a Bitswap provider joins every download
         * (node_bitswap's peer scan); this only makes sure we are connected. */
        if (swarm_dial_peer(f->g->sw, &pi->id, provider_dialled, f->g->c->node) == 0)
            dialled++;
        add_http_endpoints(f, pi, key.data, key.len);
    }
    buf_free(&key);
    log_info("providers found: %zu (%zu dialled, %u HTTP seeders live)", res->npeers, dialled,
             http_seeds_live(f->seeds));
    http_seeds_pump(f->seeds);
}

/* The root's providers when the download starts; while it is starved, every other
 * search asks for the providers of one block still wanted instead: its root's
 * providers may be gone, or may never have had that part of the DAG, while other
 * nodes hold and provide the blocks (`content.provide = all`, or a file that shares
 * them). */
static void
find_providers(node_fetch_t *f)
{
    node_net_t *net = f->g->c->node->net;
    buf_t key = BUF_INIT(MULTIHASH_MAX_DIGEST + 16);
    int rc = LS_ENOENT;
    f->last_find_ms = clock_mono_ms();
    if (f->finds++ % 2 == 0 || !cidset_any(f->pending, &f->find_cid))
        f->find_cid = f->root;
    if (!cid_equal(&f->find_cid, &f->root)) {
        buf_t c = BUF_INIT(256);
        cid_to_string(&f->find_cid, &c);
        log_info("starved: looking up the providers of block %s", buf_cstr(&c));
        buf_free(&c);
    }
    if (net && net->dht && multihash_encode(&f->find_cid.hash, &key) == 0)
        f->find_q = node_dht_find_providers(net->dht, key.data, key.len, FIND_MAX_PROVIDERS,
                                            providers_found, f, &rc);
    if (!f->find_q)
        log_debug("provider search not started: %s", ls_strerror(rc));
    buf_free(&key);
}

static void
on_find(evutil_socket_t fd, short what, void *arg)
{
    node_fetch_t *f = arg;
    (void)fd;
    (void)what;
    uint64_t now = clock_mono_ms();
    if (cidset_count(f->pending) == 0 || f->err)
        return;
    http_seeds_pump(f->seeds); /* a seeder idle while wants wait: put it to work */
    if (f->find_q)
        return;
    if (now - f->last_block_ms >= STARVED_MS && now - f->last_find_ms >= FIND_EVERY_MS)
        find_providers(f);
}

json_t *
node_fetch_sources_json(const node_fetch_t *f)
{
    json_t *arr = json_array();
    peer_id_t ids[BITSWAP_SESSION_MAX_PEERS];
    uint64_t blocks[BITSWAP_SESSION_MAX_PEERS], bytes[BITSWAP_SESSION_MAX_PEERS];
    size_t n = bitswap_session_peer_stats(f->session, ids, blocks, bytes,
                                          BITSWAP_SESSION_MAX_PEERS);
    for (size_t i = 0; i < n; i++) {
        char *id = peer_id_to_str(&ids[i]);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I}", "peer", id, "kind",
                                             "bitswap", "blocks", (json_int_t)blocks[i],
                                             "bytes", (json_int_t)bytes[i]));
        free(id);
    }
    http_seeds_json(f->seeds, arr);
    return arr;
}

static void
fetch_free(node_fetch_t *f)
{
    node_bitswap_t *g = f->g;
    for (node_fetch_t **pp = &g->fetches; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    node_dht_query_cancel(f->find_q);
    http_seeds_free(f->seeds);
    event_free(f->ev_find);
    bitswap_session_free(f->session);
    cidset_free(f->pending);
    blockstore_cidlist_clear(&f->unchecked);
    event_free(f->ev_done);
    fetch_out_free(f->out);
    if (f->path)
        gateway_path_clear(f->path);
    free(f->path);
    free(f->out_path);
    blockstore_release(g->c->bs);
    node_content_batch_release(g->c);
    free(f);
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
    node_fetch_t *f = arg;
    (void)fd;
    (void)what;
    int err = f->err;
    if (err == 0)
        err = check_dag(f);
    f->written = fetch_out_finish(f->out, err);
    if (err == 0 && !f->single)
        node_provide_dag(f->g->c, &f->root); /* we hold it now: say so, as IPFS nodes do */
    node_fetch_done_fn done = f->done;
    void *ctx = f->ctx;
    uint64_t ms = clock_mono_ms() - f->started_ms;
    log_info("download done (%s): %llu blocks, %llu fetched bytes in %llu ms",
             err ? ls_strerror(err) : "ok", (unsigned long long)f->p.blocks,
             (unsigned long long)f->p.fetched_bytes, (unsigned long long)ms);
    done(ctx, err); /* the fetch is still readable here (node_content.h) */
    fetch_free(f);
}

/* A download of `root`, registered and asking the peers, its walk not begun. */
static node_fetch_t *
fetch_new(node_content_t *c, const cid_t *root, node_fetch_done_fn done, void *ctx)
{
    node_fetch_t *f = ls_calloc(1, sizeof *f);
    node_bitswap_t *g = c->bitswap;
    f->pending = cidset_new();
    f->g = g;
    f->root = *root;
    f->done = done;
    f->ctx = ctx;
    f->started_ms = clock_mono_ms();
    f->ev_done = event_new(c->node->base, -1, 0, on_done, f);
    f->session = bitswap_session_new(g->engine);
    f->seeds = http_seeds_new(g, f->session);
    f->last_block_ms = f->started_ms;
    f->ev_find = event_new(c->node->base, -1, EV_PERSIST, on_find, f);
    struct timeval tv = { 0, FIND_TICK_MS * 1000 };
    event_add(f->ev_find, &tv);
    node_bitswap_join_all(g, f->session);
    f->next = g->fetches;
    g->fetches = f;
    blockstore_hold(c->bs);
    node_content_batch_take(c);
    return f;
}

node_fetch_t *
node_fetch_start_path(node_content_t *c, gateway_path_t *p, const char *path, bool block_only,
                      node_fetch_done_fn done, void *ctx)
{
    node_fetch_t *f = fetch_new(c, &p->root, done, ctx);
    f->out_path = path ? ls_strdup(path) : NULL;
    f->single = block_only;
    if (p->n == 0) {
        start_dag(f);
    } else {
        f->path = ls_malloc(sizeof *f->path);
        *f->path = *p; /* the segments move to the fetch */
        walk_path(f);
    }
    memset(p, 0, sizeof *p);
    if (cidset_count(f->pending))
        find_providers(f); /* ask the DHT at once: more sources, HTTP seeders too */
    return f;
}

const cid_t *
node_fetch_root(const node_fetch_t *f)
{
    return &f->root;
}

const char *
node_fetch_why(const node_fetch_t *f)
{
    return f->why[0] ? f->why : NULL;
}

bool
node_fetch_written(const node_fetch_t *f)
{
    return f->written;
}

void
node_fetch_progress(const node_fetch_t *f, node_fetch_progress_t *out)
{
    bitswap_session_stats_t st;
    bitswap_session_stats(f->session, &st);
    *out = f->p;
    out->peers = st.peers + http_seeds_live(f->seeds);
    out->elapsed_ms = clock_mono_ms() - f->started_ms;
    out->rate_bps = out->elapsed_ms ? f->p.fetched_bytes * 1000 / out->elapsed_ms : 0;
}

void
node_fetch_cancel(node_fetch_t *f)
{
    fetch_free(f);
}

void
node_fetch_join_peers(node_bitswap_t *g)
{
    for (node_fetch_t *f = g->fetches; f; f = f->next)
        node_bitswap_join_all(g, f->session);
}

void
node_fetch_free_all(node_bitswap_t *g)
{
    while (g->fetches)
        fetch_free(g->fetches);
}
