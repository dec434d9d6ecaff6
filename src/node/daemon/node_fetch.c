/* node_fetch — download a whole DAG with Bitswap (node_content.h).
 *
 * The DAG is walked breadth-first from the root. A block already in the store is
 * read (dag-pb) or only counted (raw) and never asked for, which is how a download
 * resumes after a restart; a missing one is wanted through the download's Bitswap
 * session, which spreads the wants over every connected Bitswap peer. The engine
 * verifies each block before it is stored and handed here; a dag-pb block then
 * adds its links to the walk. When nothing is pending the DAG is checked once more
 * from the root (every dag-pb node decodes and every link is held) before the
 * caller is told. Blocks go into the shared blockstore batch (durable every few
 * seconds) under a hold, so a GC cannot collect a download in progress. */
#define LOG_MODULE "fetch"
#include <stdlib.h>
#include <string.h>

#include "content/dagpb/dagpb.h"
#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "node/daemon/node_bitswap_internal.h"

#define WANT_BATCH 256

/* An open-addressing set of CIDs keyed by multihash (linear probing, deletion by
 * backward shift). */
typedef struct cidset_t {
    cid_t *slots;
    bool *used;
    size_t cap, n;
} cidset_t;

struct node_fetch_t {
    node_fetch_t *next;
    node_bitswap_t *g;
    bitswap_session_t *session;
    cid_t root;
    cidset_t pending;          /* wanted from the network */
    blockstore_cidlist_t unchecked; /* to look at in the store */
    size_t unchecked_at;
    node_fetch_progress_t p;
    uint64_t started_ms;
    node_fetch_done_fn done;
    void *ctx;
    int err;
    struct event *ev_done;
};

static size_t
mh_slot(const cidset_t *s, const cid_t *cid)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < cid->hash.len && i < 16; i++)
        h = (h ^ cid->hash.digest[i]) * 1099511628211ull;
    return (size_t)(h & (s->cap - 1));
}

static bool
mh_equal(const cid_t *a, const cid_t *b)
{
    return a->hash.code == b->hash.code && a->hash.len == b->hash.len &&
           memcmp(a->hash.digest, b->hash.digest, a->hash.len) == 0;
}

static void cidset_add(cidset_t *s, const cid_t *cid);

static void
cidset_grow(cidset_t *s)
{
    cidset_t old = *s;
    s->cap = old.cap ? old.cap * 2 : 256;
    s->slots = ls_calloc(s->cap, sizeof *s->slots);
    s->used = ls_calloc(s->cap, sizeof *s->used);
    s->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.used[i])
            cidset_add(s, &old.slots[i]);
    free(old.slots);
    free(old.used);
}

static void
cidset_add(cidset_t *s, const cid_t *cid)
{
    if ((s->n + 1) * 2 > s->cap)
        cidset_grow(s);
    size_t i = mh_slot(s, cid);
    while (s->used[i]) {
        if (mh_equal(&s->slots[i], cid))
            return;
        i = (i + 1) & (s->cap - 1);
    }
    s->used[i] = true;
    s->slots[i] = *cid;
    s->n++;
}

static bool
cidset_has(const cidset_t *s, const cid_t *cid)
{
    if (!s->cap)
        return false;
    for (size_t i = mh_slot(s, cid); s->used[i]; i = (i + 1) & (s->cap - 1))
        if (mh_equal(&s->slots[i], cid))
            return true;
    return false;
}

static bool
cidset_remove(cidset_t *s, const cid_t *cid)
{
    if (!s->cap)
        return false;
    size_t mask = s->cap - 1, i = mh_slot(s, cid);
    while (s->used[i] && !mh_equal(&s->slots[i], cid))
        i = (i + 1) & mask;
    if (!s->used[i])
        return false;
    s->used[i] = false;
    s->n--;
    for (size_t j = (i + 1) & mask; s->used[j]; j = (j + 1) & mask) {
        size_t home = mh_slot(s, &s->slots[j]);
        /* move slots[j] into the hole at i unless its home lies in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        s->slots[i] = s->slots[j];
        s->used[i] = true;
        s->used[j] = false;
        i = j;
    }
    return true;
}

static void
cidset_free(cidset_t *s)
{
    free(s->slots);
    free(s->used);
    memset(s, 0, sizeof *s);
}

/* ---- the walk ---- */

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
    if (node_content_block_links(cid, data, len, &f->unchecked) < 0)
        return LS_EPROTO;
    return 0;
}

/* Look at a CID: held → take it; else want it. Returns 1 if it must be wanted. */
static int
visit(node_fetch_t *f, const cid_t *cid, buf_t *tmp)
{
    blockstore_t *bs = f->g->c->bs;
    if (cidset_has(&f->pending, cid))
        return 0;
    if (blockstore_has(bs, cid)) {
        if (cid->codec != CID_CODEC_DAG_PB && !cid_equal(cid, &f->root)) {
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
    cidset_add(&f->pending, cid);
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
    if (f->pending.n == 0 && f->unchecked.n == 0)
        finish_soon(f, 0);
    else
        node_bitswap_kick(f->g);
}

void
node_fetch_on_block(node_bitswap_t *g, const cid_t *cid, const uint8_t *data, size_t len)
{
    for (node_fetch_t *f = g->fetches; f; f = f->next) {
        if (!cidset_remove(&f->pending, cid))
            continue;
        f->p.fetched_blocks++;
        f->p.fetched_bytes += len;
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

static void
fetch_free(node_fetch_t *f)
{
    node_bitswap_t *g = f->g;
    for (node_fetch_t **pp = &g->fetches; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    bitswap_session_free(f->session);
    cidset_free(&f->pending);
    blockstore_cidlist_clear(&f->unchecked);
    event_free(f->ev_done);
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
    node_fetch_done_fn done = f->done;
    void *ctx = f->ctx;
    uint64_t ms = clock_mono_ms() - f->started_ms;
    log_info("download done (%s): %llu blocks, %llu fetched bytes in %llu ms",
             err ? ls_strerror(err) : "ok", (unsigned long long)f->p.blocks,
             (unsigned long long)f->p.fetched_bytes, (unsigned long long)ms);
    fetch_free(f);
    done(ctx, err);
}

node_fetch_t *
node_fetch_start(node_content_t *c, const cid_t *root, node_fetch_done_fn done, void *ctx)
{
    node_fetch_t *f = ls_calloc(1, sizeof *f);
    node_bitswap_t *g = c->bitswap;
    f->g = g;
    f->root = *root;
    f->done = done;
    f->ctx = ctx;
    f->started_ms = clock_mono_ms();
    f->ev_done = event_new(c->node->base, -1, 0, on_done, f);
    f->session = bitswap_session_new(g->engine);
    node_bitswap_join_all(g, f->session);
    f->next = g->fetches;
    g->fetches = f;
    blockstore_hold(c->bs);
    node_content_batch_take(c);
    blockstore_cidlist_push(&f->unchecked, root);
    pump(f);
    return f;
}

void
node_fetch_progress(const node_fetch_t *f, node_fetch_progress_t *out)
{
    bitswap_session_stats_t st;
    bitswap_session_stats(f->session, &st);
    *out = f->p;
    out->peers = st.peers;
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
