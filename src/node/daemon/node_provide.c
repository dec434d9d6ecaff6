/* node_provide — announcing held content in the DHT (issue 6, "Providing").
 *
 * After an `add` and after a completed download the DAG's root (content.provide
 * "roots", the default), every block of it ("all") or nothing ("none") is queued;
 * the queue is drained a few provider announcements at a time (kad_provide walks
 * to the k closest peers, so hundreds at once would flood the lookup table). Every
 * content.reprovide_interval_s (12 h, as kubo) everything pinned is queued again.
 *
 * Each announcement carries seed 004's signed provider metadata (kad_validate.h):
 * the protocols this node serves the content over (the Bitswap IDs, unless
 * test.bitswap_off) and, when the gateway is reachable by others — api.host not on
 * loopback, or content.provide_http set — its HTTP endpoints, the trustless
 * gateway's raw-block URL and seed 004's chunk URL, with {cid} (and {index}) for
 * the downloader to fill in. */
#define LOG_MODULE "provide"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dht/kad_validate.h"
#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "node/daemon/node_bitswap_internal.h"
#include "node/daemon/node_dht.h"
#include "node/daemon/node_net.h"

#define PROVIDE_PARALLEL 4
#define RETRY_MS 5000
#define META_TTL_MS (48ull * 3600 * 1000) /* as kad's provider records */

enum { MODE_NONE, MODE_ROOTS, MODE_ALL };

typedef struct pslot_t {
    struct node_provide_t *p;
    node_dht_query_t *q; /* NULL: free */
} pslot_t;

struct node_provide_t {
    node_bitswap_t *g;
    int mode;
    char *base_url;                  /* "http://host:port" advertised, or NULL */
    uint64_t interval_ms;
    blockstore_cidlist_t queue;
    size_t at;
    pslot_t slots[PROVIDE_PARALLEL];
    struct event *ev_drain, *ev_reprovide;
    uint64_t provided, failed, reprovides;
};

static node_dht_t *
dht_of(node_provide_t *p)
{
    node_net_t *net = p->g->c->node->net;
    return net ? net->dht : NULL;
}

/* The gateway's URL for other hosts, or NULL when it is not reachable from them. */
static char *
gateway_base(const node_t *n)
{
    const char *url = config_get_str(n->cfg, "content.gateway_url");
    const char *host = config_get_str(n->cfg, "api.host");
    if (url && url[0])
        return ls_strdup(url);
    bool loopback = strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
                    strcmp(host, "localhost") == 0;
    bool wildcard = strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
    if (wildcard || (loopback && !config_get_bool(n->cfg, "content.provide_http")))
        return NULL; /* a wildcard says nothing of our address: set content.gateway_url */
    char buf[320];
    snprintf(buf, sizeof buf, strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u", host,
             (unsigned)n->api_port);
    return ls_strdup(buf);
}

/* Seed 004's metadata for `key`, signed by this node, appended to `out`. */
static int
make_meta(node_provide_t *p, const uint8_t *key, size_t klen, buf_t *out)
{
    node_t *n = p->g->c->node;
    record_t *meta = record_new();
    record_array_t *protos = record_array_new(), *eps = record_array_new();
    static const char *const ids[] = { BITSWAP_PROTO_120, BITSWAP_PROTO_110, BITSWAP_PROTO_100 };
    for (size_t i = 0; !p->g->serve_off && i < LS_ARRAY_LEN(ids); i++)
        record_array_push_str(protos, ids[i]);
    if (p->base_url) {
        char u[400];
        snprintf(u, sizeof u, "%s/ipfs/{cid}?format=raw", p->base_url);
        record_array_push_str(protos, "/http/trustless-gateway");
        record_array_push_str(eps, u);
        snprintf(u, sizeof u, "%s/file/{cid}/chunk/{index}", p->base_url);
        record_array_push_str(eps, u);
    }
    record_set_array(meta, "protocols", protos);
    record_set_array(meta, "endpoints", eps);
    uint64_t now = clock_wall_ms();
    return kad_provider_meta_make(meta, key, klen, now, now + META_TTL_MS, &n->key, out);
}

static void
drain_soon(node_provide_t *p, uint64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    event_add(p->ev_drain, &tv);
}

static void
provided(void *arg, const kad_result_t *res)
{
    pslot_t *slot = arg;
    node_provide_t *p = slot->p;
    slot->q = NULL;
    if (res->status == 0 && res->successes > 0)
        p->provided++;
    else
        p->failed++;
    drain_soon(p, 0);
}

/* Announce `cid`: 0 started, or an error (LS_ENOENT: no DHT peer yet). */
static int
announce(node_provide_t *p, pslot_t *slot, const cid_t *cid)
{
    node_dht_t *d = dht_of(p);
    buf_t key = BUF_INIT(MULTIHASH_MAX_DIGEST + 16), meta = BUF_INIT(KAD_META_MAX);
    int rc = d ? multihash_encode(&cid->hash, &key) : LS_ENOENT;
    if (rc == 0)
        rc = make_meta(p, key.data, key.len, &meta);
    if (rc == 0) {
        slot->q = node_dht_provide(d, key.data, key.len, meta.data, meta.len, provided, slot,
                                   &rc);
        rc = slot->q ? 0 : rc;
    }
    buf_free(&key);
    buf_free(&meta);
    return rc;
}

static void
drain(node_provide_t *p)
{
    for (size_t i = 0; i < PROVIDE_PARALLEL && p->at < p->queue.n; i++) {
        if (p->slots[i].q)
            continue;
        int rc = announce(p, &p->slots[i], &p->queue.items[p->at]);
        if (rc == LS_ENOENT) { /* no DHT peer yet: keep the queue, try again soon */
            drain_soon(p, RETRY_MS);
            return;
        }
        if (rc < 0) {
            p->failed++;
            log_warn("providing a CID failed: %s", ls_strerror(rc));
        }
        p->at++;
    }
    if (p->at == p->queue.n) {
        blockstore_cidlist_clear(&p->queue);
        p->at = 0;
    }
}

static void
on_drain(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    drain(arg);
}

/* Queue `root`, or with content.provide "all" every block of its DAG that is held. */
static void
enqueue_dag(node_provide_t *p, const cid_t *root)
{
    if (p->mode != MODE_ALL) {
        blockstore_cidlist_push(&p->queue, root);
        return;
    }
    blockstore_t *bs = p->g->c->bs;
    blockstore_cidlist_t l = { 0 };
    buf_t tmp = BUF_INIT(BLOCKSTORE_MAX_BLOCK);
    blockstore_cidlist_push(&l, root);
    for (size_t i = 0; i < l.n; i++) {
        if (!blockstore_has(bs, &l.items[i]))
            continue;
        blockstore_cidlist_push(&p->queue, &l.items[i]);
        buf_clear(&tmp);
        if (l.items[i].codec == CID_CODEC_DAG_PB && blockstore_get(bs, &l.items[i], &tmp) == 0)
            node_content_block_links(&l.items[i], tmp.data, tmp.len, &l);
    }
    buf_free(&tmp);
    blockstore_cidlist_clear(&l);
}

bool
node_provide_dag(node_content_t *c, const cid_t *root)
{
    node_provide_t *p = c->bitswap ? c->bitswap->provide : NULL;
    if (!p || p->mode == MODE_NONE || !dht_of(p))
        return false;
    enqueue_dag(p, root);
    drain_soon(p, 0);
    return true;
}

static int
queue_pin(void *ctx, const cid_t *cid, pin_mode_t mode)
{
    node_provide_t *p = ctx;
    (void)mode;
    enqueue_dag(p, cid);
    return 0;
}

static void
on_reprovide(evutil_socket_t fd, short what, void *arg)
{
    node_provide_t *p = arg;
    (void)fd;
    (void)what;
    size_t before = p->queue.n - p->at;
    p->reprovides++;
    pin_ls(p->g->c->bs, queue_pin, p);
    log_info("reprovide: %zu CIDs queued (%llu provided, %llu failed so far)",
             p->queue.n - p->at - before, (unsigned long long)p->provided,
             (unsigned long long)p->failed);
    drain_soon(p, 0);
}

/* ---- /metrics ---- */

static const node_provide_t *
provide_of(void *node_ctx)
{
    node_t *n = node_ctx;
    return n->content && n->content->bitswap ? n->content->bitswap->provide : NULL;
}

#define PROVIDE_GAUGE(fn, field)                                                                   \
    static double fn(void *ctx)                                                                    \
    {                                                                                              \
        const node_provide_t *p = provide_of(ctx);                                                 \
        return p ? (double)(field) : 0;                                                            \
    }
PROVIDE_GAUGE(m_provided, p->provided)
PROVIDE_GAUGE(m_failed, p->failed)
PROVIDE_GAUGE(m_reprovides, p->reprovides)
PROVIDE_GAUGE(m_queued, p->queue.n - p->at)

static void
register_metrics(node_t *n)
{
    metrics_gauge_fn(n->metrics, "lester_content_provides",
                     "provider announcements stored by at least one DHT peer", m_provided, n);
    metrics_gauge_fn(n->metrics, "lester_content_provide_failures",
                     "provider announcements no DHT peer took", m_failed, n);
    metrics_gauge_fn(n->metrics, "lester_content_reprovide_runs",
                     "times everything pinned was queued again", m_reprovides, n);
    metrics_gauge_fn(n->metrics, "lester_content_provide_queue", "CIDs waiting to be announced",
                     m_queued, n);
}

void
node_provide_start(node_bitswap_t *g)
{
    node_t *n = g->c->node;
    node_provide_t *p = ls_calloc(1, sizeof *p);
    const char *mode = config_get_str(n->cfg, "content.provide");
    p->g = g;
    p->mode = strcmp(mode, "none") == 0 ? MODE_NONE
              : strcmp(mode, "all") == 0 ? MODE_ALL : MODE_ROOTS;
    p->base_url = gateway_base(n);
    p->interval_ms = (uint64_t)config_get_int(n->cfg, "content.reprovide_interval_s") * 1000;
    for (size_t i = 0; i < PROVIDE_PARALLEL; i++)
        p->slots[i].p = p;
    p->ev_drain = evtimer_new(n->base, on_drain, p);
    p->ev_reprovide = event_new(n->base, -1, EV_PERSIST, on_reprovide, p);
    if (p->mode != MODE_NONE && p->interval_ms) {
        struct timeval tv = { (time_t)(p->interval_ms / 1000),
                              (suseconds_t)(p->interval_ms % 1000) * 1000 };
        event_add(p->ev_reprovide, &tv);
    }
    if (p->base_url)
        log_info("providing with HTTP endpoints at %s", p->base_url);
    g->provide = p;
    register_metrics(n);
}

void
node_provide_stop(node_bitswap_t *g)
{
    node_provide_t *p = g->provide;
    if (!p)
        return;
    for (size_t i = 0; i < PROVIDE_PARALLEL; i++)
        node_dht_query_cancel(p->slots[i].q);
    event_free(p->ev_drain);
    event_free(p->ev_reprovide);
    blockstore_cidlist_clear(&p->queue);
    free(p->base_url);
    free(p);
    g->provide = NULL;
}
