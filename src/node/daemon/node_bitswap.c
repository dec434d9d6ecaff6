/* node_bitswap — the Bitswap engine on the libp2p host (node_content.h).
 *
 * Inbound: every Bitswap protocol ID (1.2.0, 1.1.0, 1.0.0 and the legacy
 * /ipfs/bitswap) is served; each stream's length-prefixed messages go to
 * bitswap_input() with the stream's version. A malformed or oversized message resets
 * the stream and is reported to the trust hook.
 *
 * Outbound: one stream per peer, opened on the first message and reused (go-bitswap
 * does the same; helia reads every inbound stream to its end, so it accepts this),
 * proposing the peer's best version first. What the stream does not take at once
 * waits in the peer's queue, which the engine reads back as send_queued for its
 * backpressure. Served blocks are read from the store straight into the engine's
 * framed message (env size + get), and that buffer itself joins the queue
 * (send_frame): between the pack and the encryption each block is copied once, by
 * the pread. Sent frames' buffers go back to the engine (up to
 * NODE_BITSWAP_MAX_SPARE kept).
 *
 * Peers: a connected peer whose identify protocol list (peer store) names Bitswap is
 * told to the engine by a scan every second, or as soon as it opens a Bitswap stream
 * to us; it is forgotten when its last connection closes. */
#define LOG_MODULE "bitswap"
#include <stdlib.h>
#include <string.h>

#include "lib/clock/clock.h"
#include "lib/crypto/random.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "lib/varint/varint.h"
#include "node/daemon/node_bitswap_internal.h"
#include "node/daemon/node_net.h"

#define PEER_SCAN_MS 1000
#define SCAN_SOON_MS 150 /* identify of a fresh connection is done by then on a LAN */
#define MAX_SCAN_CONNS 1024
/* The receive window of inbound streams, where blocks arrive. Bitswap paces itself by
 * its want limits, and in_on_data() consumes everything at once (it buffers at most
 * one message), so a larger window costs no memory here; but with the swarm's 1 MiB
 * cap for short paths the seeder waited for Window Updates whenever our loop was busy
 * hashing and storing: a 1 GiB `lester get` on loopback took 3.22 s (median) with it,
 * 2.95 s with this and 3.40 s with 4 MiB (docs/PERFORMANCE.md, Content). Other streams
 * keep the swarm's choice: a plain bulk stream is slower with 16 MiB (its sender runs
 * ahead out of cache). */
#define INBOUND_WINDOW (16u * 1024 * 1024)

typedef struct bstream_t {
    struct bstream_t *next;
    node_bitswap_t *g;      /* NULL once the glue stopped */
    bpeer_t *peer;          /* outbound: its peer; NULL for inbound streams */
    peer_id_t from;
    int version;
    buf_t in;
} bstream_t;

static const char *
sid(const peer_id_t *id, char out[static PEER_ID_SHORT_LEN])
{
    peer_id_short(id, out);
    return out;
}

static node_bitswap_t *
glue_of(void *node_ctx)
{
    node_t *n = node_ctx;
    return n->content ? n->content->bitswap : NULL;
}

/* One framed message (varint length, then the message) waiting for the stream:
 * b.data[off .. b.len) is still to be written. */
typedef struct bseg_t {
    struct bseg_t *next;
    buf_t b;
    size_t off;
    bool recycle; /* the engine's frame buffer: kept for the next frame when sent */
} bseg_t;

static void
q_link(bpeer_t *p, bseg_t *seg)
{
    seg->next = NULL;
    if (p->q_tail)
        p->q_tail->next = seg;
    else
        p->q_head = seg;
    p->q_tail = seg;
    p->queued += seg->b.len - seg->off;
}

/* A wantlist message (or any message from send()): copied once into its frame. */
static void
q_push(bpeer_t *p, const uint8_t *msg, size_t len)
{
    uint8_t pre[VARINT_MAX_LEN];
    size_t n = varint_encode(len, pre);
    bseg_t *seg = ls_calloc(1, sizeof *seg);
    buf_init(&seg->b, n + len);
    uint8_t *dst = buf_extend(&seg->b, n + len); /* exactly its maximum: not NULL */
    memcpy(dst, pre, n);
    if (len)
        memcpy(dst + n, msg, len);
    q_link(p, seg);
}

/* A sent frame's storage goes back to the engine for its next message (up to
 * MAX_SPARE kept): a fresh 1 MiB buffer per message costs its page faults again. */
static void
seg_free(node_bitswap_t *g, bseg_t *seg)
{
    if (seg->recycle && g && g->nspare < NODE_BITSWAP_MAX_SPARE) {
        buf_clear(&seg->b);
        g->spare[g->nspare++] = seg->b;
    } else
        buf_free(&seg->b);
    free(seg);
}

/* Drop everything queued; true if there was anything. */
static bool
q_clear(node_bitswap_t *g, bpeer_t *p)
{
    bool had = p->q_head != NULL;
    while (p->q_head) {
        bseg_t *seg = p->q_head;
        p->q_head = seg->next;
        seg_free(g, seg);
    }
    p->q_tail = NULL;
    p->queued = 0;
    return had;
}

static bpeer_t *
peer_find(node_bitswap_t *g, const peer_id_t *id)
{
    for (bpeer_t *p = g->peers; p; p = p->next)
        if (peer_id_equal(&p->id, id))
            return p;
    return NULL;
}

static bpeer_t *
peer_add(node_bitswap_t *g, const peer_id_t *id, int version)
{
    bpeer_t *p = ls_calloc(1, sizeof *p);
    p->id = *id;
    p->version = version;
    p->next = g->peers;
    g->peers = p;
    bitswap_peer_connected(g->engine, clock_mono_ms(), id, version);
    node_fetch_join_peers(g); /* running downloads ask the new peer too */
    return p;
}

static void
peer_remove(node_bitswap_t *g, bpeer_t *p)
{
    for (bpeer_t **pp = &g->peers; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    if (p->out_ud)
        p->out_ud->peer = NULL;
    if (p->out)
        swarm_stream_reset(p->out);
    bitswap_peer_disconnected(g->engine, &p->id);
    q_clear(g, p);
    free(p);
}

static void
stream_unlink(node_bitswap_t *g, bstream_t *st)
{
    if (!g)
        return;
    for (bstream_t **pp = &g->streams; *pp; pp = &(*pp)->next)
        if (*pp == st) {
            *pp = st->next;
            return;
        }
}

static void
report(node_bitswap_t *g, const peer_id_t *peer, trust_event_t ev)
{
    node_net_t *net = g->c->node->net;
    if (net)
        trust_hook_report(&net->trust, peer, ev);
}

/* ---- outbound ---- */

static void
flush(node_bitswap_t *g, bpeer_t *p)
{
    while (p->out && p->q_head) {
        bseg_t *seg = p->q_head;
        int w = swarm_stream_write(p->out, seg->b.data + seg->off, seg->b.len - seg->off);
        if (w < 0) {
            q_clear(g, p);
            return;
        }
        if (w == 0)
            return;
        seg->off += (size_t)w;
        p->queued -= (size_t)w;
        if (seg->off < seg->b.len)
            return; /* the stream is full: on_writable comes back here */
        p->q_head = seg->next;
        if (!p->q_head)
            p->q_tail = NULL;
        seg_free(g, seg);
    }
}

static size_t
out_on_data(void *ud, swarm_stream_t *s, const uint8_t *d, size_t len)
{
    (void)ud;
    (void)s;
    (void)d;
    return len; /* nothing is expected back on our own stream */
}

static void
out_on_writable(void *ud, swarm_stream_t *s)
{
    bstream_t *st = ud;
    (void)s;
    if (st->g && st->peer) {
        flush(st->g, st->peer);
        node_bitswap_kick(st->g); /* backpressure eased: serve more */
    }
}

static void
stream_on_close(void *ud, swarm_stream_t *s, int reason)
{
    bstream_t *st = ud;
    (void)s;
    (void)reason;
    if (st->peer) {
        st->peer->out = NULL;
        st->peer->out_ud = NULL;
        st->peer->opening = false;
    }
    stream_unlink(st->g, st);
    buf_free(&st->in);
    free(st);
}

static void
on_open(void *ud, swarm_stream_t *s, int err, const char *protocol)
{
    bstream_t *st = ud;
    (void)protocol;
    if (!st->g || !st->peer) {
        if (s)
            swarm_stream_reset(s);
        stream_on_close(st, NULL, 0);
        return;
    }
    bpeer_t *p = st->peer;
    p->opening = false;
    if (!s) {
        char b[PEER_ID_SHORT_LEN];
        log_debug("cannot open a Bitswap stream to %s: %s", sid(&p->id, b),
                  ls_strerror(err));
        p->out_ud = NULL;
        st->g->send_dropped += q_clear(st->g, p) ? 1 : 0;
        stream_on_close(st, NULL, err);
        return;
    }
    static const swarm_stream_cbs_t cbs = { .on_data = out_on_data,
                                            .on_writable = out_on_writable,
                                            .on_close = stream_on_close };
    swarm_stream_set_cbs(s, &cbs, st);
    p->out = s;
    flush(st->g, p);
}

static int
open_out(node_bitswap_t *g, bpeer_t *p)
{
    static const char *const all[] = { BITSWAP_PROTO_120, BITSWAP_PROTO_110, BITSWAP_PROTO_100,
                                       BITSWAP_PROTO_LEGACY };
    size_t first = p->version >= BITSWAP_V120 ? 0 : p->version >= BITSWAP_V110 ? 1 : 2;
    bstream_t *st = ls_calloc(1, sizeof *st);
    st->g = g;
    st->peer = p;
    st->from = p->id;
    buf_init(&st->in, 0);
    int rc = swarm_open_stream(g->sw, &p->id, all + first, LS_ARRAY_LEN(all) - first, on_open,
                               st);
    if (rc < 0) {
        free(st);
        return rc;
    }
    st->next = g->streams;
    g->streams = st;
    p->out_ud = st;
    p->opening = true;
    return 0;
}

/* Write what the stream takes now, or open it. */
static int
q_kick(node_bitswap_t *g, bpeer_t *p)
{
    if (p->out)
        flush(g, p);
    else if (!p->opening && open_out(g, p) < 0) {
        q_clear(g, p);
        return LS_ECLOSED;
    }
    return 0;
}

static int
env_send(void *ctx, const peer_id_t *to, const uint8_t *msg, size_t len)
{
    node_bitswap_t *g = ctx;
    bpeer_t *p = peer_find(g, to);
    if (!p)
        return LS_ENOENT;
    q_push(p, msg, len);
    return q_kick(g, p);
}

/* Served blocks: the engine built the frame in its buffer (the blocks read straight
 * from the store into it); the queue takes that buffer and the engine gets a spare
 * one, so the stream encrypts from where the store's read put the bytes. */
static void
env_prefetch(void *ctx, const cid_t *cid)
{
    node_bitswap_t *g = ctx;
    blockstore_prefetch(g->c->bs, cid);
}

static int
env_send_frame(void *ctx, const peer_id_t *to, buf_t *frame, size_t off)
{
    node_bitswap_t *g = ctx;
    bpeer_t *p = peer_find(g, to);
    buf_t mine = *frame;
    if (g->nspare && g->spare[g->nspare - 1].max == frame->max)
        *frame = g->spare[--g->nspare];
    else
        buf_init(frame, frame->max);
    if (!p) {
        buf_free(&mine);
        return LS_ENOENT;
    }
    bseg_t *seg = ls_calloc(1, sizeof *seg);
    seg->b = mine;
    seg->off = off;
    seg->recycle = true;
    if (g->up_rate)
        g->up_tokens -= (double)(mine.len - off);
    q_link(p, seg);
    return q_kick(g, p);
}

/* ---- content.upload_rate_limit ---- */

/* The bucket holds at most this many seconds of the rate (a burst). */
#define UP_BURST_S 0.05

static void
on_up(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    node_bitswap_kick(arg); /* tokens again: the engine serves what waits */
}

/* True if serving must pause for the upload limit (then ev_up resumes it). */
static bool
up_throttled(node_bitswap_t *g)
{
    if (!g->up_rate)
        return false;
    uint64_t now = clock_mono_ms();
    double cap = (double)g->up_rate * UP_BURST_S;
    g->up_tokens = LS_MIN(cap, g->up_tokens + (double)(now - g->up_ms) * (double)g->up_rate / 1e3);
    g->up_ms = now;
    if (g->up_tokens > 0)
        return false;
    if (!event_pending(g->ev_up, EV_TIMEOUT, NULL)) {
        uint64_t ms = (uint64_t)(-g->up_tokens * 1e3 / (double)g->up_rate) + 1;
        struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
        event_add(g->ev_up, &tv);
        g->up_throttled++;
    }
    return true;
}

static size_t
env_send_queued(void *ctx, const peer_id_t *peer)
{
    node_bitswap_t *g = ctx;
    if (up_throttled(g))
        return SIZE_MAX; /* reads as a full queue: the engine waits */
    bpeer_t *p = peer_find(g, peer);
    return p ? p->queued : 0;
}

/* ---- inbound ---- */

static bool
input_frames(node_bitswap_t *g, bstream_t *st)
{
    size_t off = 0;
    bool ok = true;
    while (ok && off < st->in.len) {
        const uint8_t *body;
        size_t blen;
        int n = bitswap_msg_frame_decode(st->in.data + off, st->in.len - off, 0, &body, &blen);
        if (n == LS_EAGAIN)
            break;
        if (n < 0 || bitswap_input(g->engine, clock_mono_ms(), &st->from, st->version, body,
                                   blen) < 0) {
            ok = false;
            break;
        }
        g->msgs_in++;
        off += (size_t)n;
    }
    if (off > 0) /* buf_consume(0) would still move a partial 1 MiB message each time */
        buf_consume(&st->in, off);
    return ok;
}

static size_t
in_on_data(void *ud, swarm_stream_t *s, const uint8_t *d, size_t len)
{
    bstream_t *st = ud;
    node_bitswap_t *g = st->g;
    if (!g) {
        swarm_stream_reset(s);
        return len;
    }
    if (buf_append(&st->in, d, len) < 0 || !input_frames(g, st)) {
        g->msgs_bad++;
        char b[PEER_ID_SHORT_LEN];
        log_info("bad Bitswap message from %s: stream reset", sid(&st->from, b));
        report(g, &st->from, TRUST_PROTOCOL_VIOLATION);
        swarm_stream_reset(s);
    }
    node_bitswap_kick(g);
    return len;
}

static void
in_on_eof(void *ud, swarm_stream_t *s)
{
    (void)ud;
    swarm_stream_close_write(s);
}

static void
on_inbound(void *ctx, swarm_stream_t *s, const char *protocol)
{
    node_bitswap_t *g = glue_of(ctx);
    if (!g) {
        swarm_stream_reset(s);
        return;
    }
    bstream_t *st = ls_calloc(1, sizeof *st);
    st->g = g;
    st->from = *swarm_conn_peer(swarm_stream_conn(s));
    st->version = bitswap_version_of(protocol);
    /* at most the tail of one whole message (BITSWAP_MSG_MAX_SIZE plus its prefix) and
     * the start of the next are buffered between two decodes */
    buf_init(&st->in, 2 * (BITSWAP_MSG_MAX_SIZE + VARINT_MAX_LEN));
    st->next = g->streams;
    g->streams = st;
    if (!peer_find(g, &st->from))
        peer_add(g, &st->from, st->version);
    static const swarm_stream_cbs_t cbs = { .on_data = in_on_data, .on_eof = in_on_eof,
                                            .on_close = stream_on_close };
    swarm_stream_set_cbs(s, &cbs, st);
    swarm_stream_set_window(s, INBOUND_WINDOW);
}

/* ---- peers ---- */

static int
peer_version(node_bitswap_t *g, const peer_id_t *peer)
{
    const peerstore_t *ps = g->c->node->net->peers;
    if (peerstore_has_protocol(ps, peer, BITSWAP_PROTO_120))
        return BITSWAP_V120;
    if (peerstore_has_protocol(ps, peer, BITSWAP_PROTO_110))
        return BITSWAP_V110;
    if (peerstore_has_protocol(ps, peer, BITSWAP_PROTO_100) ||
        peerstore_has_protocol(ps, peer, BITSWAP_PROTO_LEGACY))
        return BITSWAP_V100;
    return 0;
}

static void
scan_peers(node_bitswap_t *g)
{
    swarm_conn_t *conns[MAX_SCAN_CONNS];
    size_t n = swarm_conns(g->sw, conns, MAX_SCAN_CONNS);
    for (size_t i = 0; i < n && i < MAX_SCAN_CONNS; i++) {
        const peer_id_t *id = swarm_conn_peer(conns[i]);
        if (peer_find(g, id))
            continue;
        int v = peer_version(g, id);
        if (v)
            peer_add(g, id, v);
    }
}

void
node_bitswap_join_all(node_bitswap_t *g, bitswap_session_t *s)
{
    for (bpeer_t *p = g->peers; p; p = p->next)
        bitswap_session_add_peer(s, &p->id);
}

static void
on_disconnected(void *ctx, swarm_conn_t *c, int reason)
{
    node_bitswap_t *g = glue_of(ctx);
    (void)reason;
    if (!g)
        return;
    const peer_id_t *id = swarm_conn_peer(c);
    bpeer_t *p = peer_find(g, id);
    if (p && swarm_peer_conn_count(g->sw, id) <= 1)
        peer_remove(g, p);
}

/* ---- the engine's clock ---- */

static void
schedule(node_bitswap_t *g, uint64_t next, uint64_t now)
{
    uint64_t delay = next <= now ? 1 : next - now;
    if (delay > PEER_SCAN_MS)
        delay = PEER_SCAN_MS;
    struct timeval tv = { (time_t)(delay / 1000), (suseconds_t)(delay % 1000) * 1000 };
    event_add(g->ev_tick, &tv);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    node_bitswap_t *g = arg;
    (void)fd;
    (void)what;
    uint64_t now = clock_mono_ms();
    if (now >= g->next_scan) {
        g->next_scan = now + PEER_SCAN_MS;
        scan_peers(g);
    }
    schedule(g, LS_MIN(bitswap_tick(g->engine, now), g->next_scan), now);
}

void
node_bitswap_scan_soon(node_bitswap_t *g)
{
    uint64_t at = clock_mono_ms() + SCAN_SOON_MS;
    if (at < g->next_scan)
        g->next_scan = at;
    node_bitswap_kick(g);
}

void
node_bitswap_kick(node_bitswap_t *g)
{
    struct timeval zero = { 0, 0 };
    event_add(g->ev_tick, &zero);
}

/* ---- the engine's environment ---- */

static bool
env_has(void *ctx, const cid_t *cid)
{
    node_bitswap_t *g = ctx;
    return blockstore_has(g->c->bs, cid);
}

static int
env_get(void *ctx, const cid_t *cid, buf_t *out)
{
    node_bitswap_t *g = ctx;
    size_t before = out->len;
    int rc = blockstore_get(g->c->bs, cid, out);
    if (rc == 0 && g->c->corrupt_blocks && out->len > before)
        out->data[before] ^= 0x5a; /* test.corrupt_blocks: serve a wrong byte */
    return rc;
}

static int64_t
env_size(void *ctx, const cid_t *cid)
{
    node_bitswap_t *g = ctx;
    return blockstore_size(g->c->bs, cid);
}

static int
env_put(void *ctx, const cid_t *cid, const uint8_t *data, size_t len)
{
    node_bitswap_t *g = ctx;
    return blockstore_put_hashed(g->c->bs, cid, data, len); /* the engine verified it */
}

static void
env_on_block(void *ctx, const cid_t *cid, const uint8_t *data, size_t len)
{
    node_fetch_on_block(ctx, cid, data, len);
}

static void
env_report(void *ctx, const peer_id_t *peer, bitswap_event_t ev)
{
    node_bitswap_t *g = ctx;
    char b[PEER_ID_SHORT_LEN];
    log_info("peer %s: %s", sid(peer, b), bitswap_event_name(ev));
    if (ev == BITSWAP_EVENT_BAD_BLOCK || ev == BITSWAP_EVENT_UNVERIFIABLE)
        report(g, peer, TRUST_INVALID_MESSAGE);
    else if (ev == BITSWAP_EVENT_TIMEOUT)
        report(g, peer, TRUST_TIMEOUT);
}

static void
env_random(void *ctx, void *out, size_t len)
{
    (void)ctx;
    random_bytes(out, len);
}

/* ---- /metrics ---- */

static bitswap_ledger_t
totals(void *node_ctx)
{
    bitswap_ledger_t t = { 0 };
    node_bitswap_t *g = glue_of(node_ctx);
    size_t n = g ? bitswap_ledgers(g->engine, NULL, NULL, 0) : 0;
    if (!n)
        return t;
    bitswap_ledger_t *l = ls_calloc(n, sizeof *l);
    n = bitswap_ledgers(g->engine, NULL, l, n);
    for (size_t i = 0; i < n; i++) {
        t.bytes_sent += l[i].bytes_sent;
        t.blocks_sent += l[i].blocks_sent;
        t.bytes_recv += l[i].bytes_recv;
        t.blocks_recv += l[i].blocks_recv;
        t.bad_blocks_recv += l[i].bad_blocks_recv;
        t.timeouts += l[i].timeouts;
    }
    free(l);
    return t;
}

static double
m_bytes_sent(void *ctx)
{
    return (double)totals(ctx).bytes_sent;
}

static double
m_bytes_recv(void *ctx)
{
    return (double)totals(ctx).bytes_recv;
}

static double
m_blocks_sent(void *ctx)
{
    return (double)totals(ctx).blocks_sent;
}

static double
m_blocks_recv(void *ctx)
{
    return (double)totals(ctx).blocks_recv;
}

static double
m_bad_blocks(void *ctx)
{
    return (double)totals(ctx).bad_blocks_recv;
}

static double
m_peers(void *ctx)
{
    node_bitswap_t *g = glue_of(ctx);
    size_t n = 0;
    for (bpeer_t *p = g ? g->peers : NULL; p; p = p->next)
        n++;
    return (double)n;
}

static double
m_throttled(void *ctx)
{
    node_bitswap_t *g = glue_of(ctx);
    return g ? (double)g->up_throttled : 0;
}

static void
register_metrics(node_t *n)
{
    metrics_gauge_fn(n->metrics, "lester_bitswap_sent_bytes", "block bytes served (ledgers)",
                     m_bytes_sent, n);
    metrics_gauge_fn(n->metrics, "lester_bitswap_received_bytes",
                     "verified wanted block bytes received (ledgers)", m_bytes_recv, n);
    metrics_gauge_fn(n->metrics, "lester_bitswap_sent_blocks", "blocks served", m_blocks_sent, n);
    metrics_gauge_fn(n->metrics, "lester_bitswap_received_blocks", "verified blocks received",
                     m_blocks_recv, n);
    metrics_gauge_fn(n->metrics, "lester_bitswap_bad_blocks",
                     "corrupt, unwanted or unverifiable blocks received", m_bad_blocks, n);
    metrics_gauge_fn(n->metrics, "lester_bitswap_peers", "connected Bitswap peers", m_peers, n);
    metrics_gauge_fn(n->metrics, "lester_bitswap_upload_throttled",
                     "times serving paused for content.upload_rate_limit", m_throttled, n);
}

int
node_bitswap_start(node_content_t *c)
{
    node_t *n = c->node;
    node_bitswap_t *g = ls_calloc(1, sizeof *g);
    g->c = c;
    g->sw = n->net->swarm;
    bitswap_env_t env = { .ctx = g, .send = env_send, .has = env_has, .get = env_get,
                          .put = env_put, .on_block = env_on_block, .report = env_report,
                          .random = env_random, .send_queued = env_send_queued,
                          .size = env_size, .send_frame = env_send_frame,
                          .prefetch = env_prefetch };
    g->engine = bitswap_new(NULL, &env);
    g->ev_tick = evtimer_new(n->base, on_tick, g);
    g->ev_up = evtimer_new(n->base, on_up, g);
    g->up_rate = (uint64_t)config_get_int(n->cfg, "content.upload_rate_limit");
    g->up_ms = clock_mono_ms();
    c->bitswap = g;
    g->serve_off = config_get_bool(n->cfg, "test.bitswap_off");
    if (g->serve_off)
        log_warn("test.bitswap_off is set: Bitswap is not served (an HTTP-only seeder)");
    static const char *const protos[] = { BITSWAP_PROTO_120, BITSWAP_PROTO_110,
                                          BITSWAP_PROTO_100, BITSWAP_PROTO_LEGACY };
    for (size_t i = 0; !g->serve_off && i < LS_ARRAY_LEN(protos); i++)
        swarm_handle(g->sw, protos[i], on_inbound, n, 0);
    node_provide_start(g);
    swarm_events_t ev = { .ctx = n, .on_disconnected = on_disconnected };
    swarm_add_events(g->sw, &ev);
    register_metrics(n);
    node_bitswap_kick(g);
    return 0;
}

void
node_bitswap_stop(node_content_t *c)
{
    node_bitswap_t *g = c->bitswap;
    if (!g)
        return;
    node_provide_stop(g);
    node_fetch_free_all(g);
    for (bstream_t *st = g->streams; st; st = st->next) {
        st->g = NULL; /* the swarm frees them later; their callbacks see this */
        st->peer = NULL;
    }
    while (g->peers) {
        bpeer_t *p = g->peers;
        g->peers = p->next;
        q_clear(g, p);
        free(p);
    }
    while (g->nspare)
        buf_free(&g->spare[--g->nspare]);
    static const char *const protos[] = { BITSWAP_PROTO_120, BITSWAP_PROTO_110,
                                          BITSWAP_PROTO_100, BITSWAP_PROTO_LEGACY };
    for (size_t i = 0; !g->serve_off && i < LS_ARRAY_LEN(protos); i++)
        swarm_unhandle(g->sw, protos[i]);
    event_free(g->ev_tick);
    event_free(g->ev_up);
    bitswap_free(g->engine);
    free(g);
    c->bitswap = NULL;
}

void
node_bitswap_block_added(node_content_t *c, const cid_t *cid)
{
    if (c->bitswap)
        bitswap_block_added(c->bitswap->engine, cid);
}

static json_t *
ledger_json(const peer_id_t *id, const bitswap_ledger_t *l)
{
    char *s = peer_id_to_str(id);
    json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "peer", s,
                          "bytes_sent", (json_int_t)l->bytes_sent, "blocks_sent",
                          (json_int_t)l->blocks_sent, "bytes_recv", (json_int_t)l->bytes_recv,
                          "blocks_recv", (json_int_t)l->blocks_recv, "dup_blocks_recv",
                          (json_int_t)l->dup_blocks_recv, "bad_blocks_recv",
                          (json_int_t)l->bad_blocks_recv, "msgs_sent", (json_int_t)l->msgs_sent,
                          "msgs_recv", (json_int_t)l->msgs_recv, "timeouts",
                          (json_int_t)l->timeouts);
    free(s);
    return j;
}

json_t *
node_bitswap_stat_json(node_content_t *c)
{
    node_bitswap_t *g = c->bitswap;
    json_t *peers = json_array();
    if (!g)
        return json_pack("{s:o}", "ledgers", peers);
    size_t n = bitswap_ledgers(g->engine, NULL, NULL, 0);
    peer_id_t *ids = ls_calloc(n + 1, sizeof *ids);
    bitswap_ledger_t *l = ls_calloc(n + 1, sizeof *l);
    n = bitswap_ledgers(g->engine, ids, l, n);
    bitswap_ledger_t tot = { 0 };
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(peers, ledger_json(&ids[i], &l[i]));
        tot.bytes_sent += l[i].bytes_sent;
        tot.blocks_sent += l[i].blocks_sent;
        tot.bytes_recv += l[i].bytes_recv;
        tot.blocks_recv += l[i].blocks_recv;
        tot.bad_blocks_recv += l[i].bad_blocks_recv;
    }
    size_t connected = 0;
    for (bpeer_t *p = g->peers; p; p = p->next)
        connected++;
    free(ids);
    free(l);
    return json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:I}", "ledgers", peers, "peers",
                     (json_int_t)connected, "bytes_sent", (json_int_t)tot.bytes_sent,
                     "blocks_sent", (json_int_t)tot.blocks_sent, "bytes_recv",
                     (json_int_t)tot.bytes_recv, "blocks_recv", (json_int_t)tot.blocks_recv,
                     "bad_blocks_recv", (json_int_t)tot.bad_blocks_recv);
}
