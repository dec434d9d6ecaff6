/* bitswap — engine core: peers and ledgers, message input, received blocks and
 * presences, the outbox of our wants, timers (contract in bitswap.h). */
#include "content/bitswap/bitswap_internal.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#define LOG_MODULE "bitswap"
#include "lib/log/log.h"

static const char *const event_names[BITSWAP_EVENT_COUNT] = {
    "bad_block",
    "unwanted_block",
    "timeout",
    "unverifiable",
};

const char *
bitswap_event_name(bitswap_event_t ev)
{
    return (unsigned)ev < BITSWAP_EVENT_COUNT ? event_names[ev] : "unknown";
}

void
bitswap_config_default(bitswap_config_t *cfg)
{
    *cfg = (bitswap_config_t){
        .max_wantlist = 1024,
        .batch_bytes = 1u << 20,
        .serve_budget_bytes = 8u << 20,
        .max_outstanding_bytes = 4u << 20,
        .max_block_size = BITSWAP_MAX_BLOCK_SIZE,
        .max_inflight = 32,
        .want_timeout_ms = 15000,
        .rebroadcast_ms = 5000,
        .max_failures = 3,
        .max_peers = 4096,
        .verify_helpers = (int32_t)fanout_auto_helpers(3),
    };
}

static void
fill_config(bitswap_config_t *c, const bitswap_config_t *in)
{
    bitswap_config_t d;
    bitswap_config_default(&d);
    if (!in)
        in = &d;
    *c = *in;
#define DEF(f)                                                                                     \
    if (!c->f)                                                                                     \
    c->f = d.f
    DEF(max_wantlist);
    DEF(batch_bytes);
    DEF(serve_budget_bytes);
    DEF(max_outstanding_bytes);
    DEF(max_block_size);
    DEF(max_inflight);
    DEF(want_timeout_ms);
    DEF(rebroadcast_ms);
    DEF(max_failures);
    DEF(max_peers);
    DEF(verify_helpers);
#undef DEF
    c->max_block_size = LS_MIN(c->max_block_size, (size_t)BITSWAP_MAX_BLOCK_SIZE);
    c->batch_bytes = LS_MIN(c->batch_bytes, (size_t)BITSWAP_MSG_MAX_SIZE / 2);
}

bitswap_t *
bitswap_new(const bitswap_config_t *cfg, const bitswap_env_t *env)
{
    bitswap_t *bs = ls_calloc(1, sizeof *bs);
    uint64_t seed[2];
    fill_config(&bs->cfg, cfg);
    bs->env = *env;
    env->random(env->ctx, seed, sizeof seed);
    bs->peer_index = bitswap_map_new(seed[0]);
    bs->wants = bitswap_map_new(seed[1]);
    bs->verify = fanout_new(bs->cfg.verify_helpers > 0 ? (unsigned)bs->cfg.verify_helpers : 0);
    buf_init(&bs->scratch, bs->cfg.max_block_size);
    if (env->send_frame)
        bitswap_writer_init_framed(&bs->serve, BITSWAP_V120);
    else
        bitswap_writer_init(&bs->serve, BITSWAP_V120);
    buf_init(&bs->msg, BITSWAP_MSG_MAX_SIZE);
    return bs;
}

static void
peer_free(bitswap_peer_t *p)
{
    bitswap_serve_drop(p);
    if (p->out_used)
        bitswap_writer_free(&p->out);
    free(p);
}

void
bitswap_free_(bitswap_t *bs)
{
    if (!bs)
        return;
    for (size_t i = 0; i < bs->npeers; i++)
        bs->peers[i]->connected = false; /* send no cancels while tearing down */
    while (bs->sessions)
        bitswap_session_free_(bs->sessions);
    for (size_t i = 0; i < bs->npeers; i++)
        peer_free(bs->peers[i]);
    free(bs->peers);
    bitswap_map_free(bs->peer_index);
    bitswap_map_free(bs->wants);
    fanout_free(bs->verify);
    buf_free(&bs->scratch);
    bitswap_writer_free(&bs->serve);
    buf_free(&bs->msg);
    free(bs);
}

/* ---- peers ---- */

/* Over max_peers, forget the disconnected peer seen longest ago that no session
 * holds (its ledger goes with it). */
static void
prune_peers(bitswap_t *bs)
{
    size_t victim = SIZE_MAX;
    for (size_t i = 0; i < bs->npeers; i++) {
        bitswap_peer_t *p = bs->peers[i];
        if (p->connected || p->refs)
            continue;
        if (victim == SIZE_MAX || p->ledger.last_seen_ms < bs->peers[victim]->ledger.last_seen_ms)
            victim = i;
    }
    if (victim == SIZE_MAX)
        return;
    bitswap_peer_t *p = bs->peers[victim];
    bitswap_map_del(bs->peer_index, p->id.bytes, p->id.len);
    bs->peers[victim] = bs->peers[--bs->npeers];
    peer_free(p);
}

bitswap_peer_t *
bitswap_peer_get(bitswap_t *bs, const peer_id_t *id, bool create)
{
    bitswap_peer_t *p = bitswap_map_get(bs->peer_index, id->bytes, id->len);
    if (p || !create || id->len == 0 || id->len > PEER_ID_MAX_LEN)
        return p;
    if (bs->npeers >= bs->cfg.max_peers)
        prune_peers(bs);
    if (bs->npeers == bs->cap) {
        bs->cap = bs->cap ? bs->cap * 2 : 16;
        bs->peers = ls_realloc(bs->peers, bs->cap * sizeof *bs->peers);
    }
    p = ls_calloc(1, sizeof *p);
    p->id = *id;
    p->version = BITSWAP_V120;
    p->ledger.first_seen_ms = p->ledger.last_seen_ms = bs->now;
    bs->peers[bs->npeers++] = p;
    bitswap_map_put(bs->peer_index, id->bytes, id->len, p);
    return p;
}

void
bitswap_report(bitswap_t *bs, bitswap_peer_t *p, bitswap_event_t ev)
{
    if (ev == BITSWAP_EVENT_TIMEOUT)
        p->ledger.timeouts++;
    else
        p->ledger.bad_blocks_recv++;
    if (bs->env.report)
        bs->env.report(bs->env.ctx, &p->id, ev);
}

static int
clamp_version(int v)
{
    return v >= BITSWAP_V120 ? BITSWAP_V120 : v >= BITSWAP_V110 ? BITSWAP_V110 : BITSWAP_V100;
}

static void send_to(bitswap_t *bs, bitswap_peer_t *p, bitswap_writer_t *w);

static void
set_version(bitswap_t *bs, bitswap_peer_t *p, int version)
{
    version = clamp_version(version);
    if (p->version == version)
        return;
    /* wants already written were valid for the old version: send them as they are */
    if (p->out_used && !bitswap_writer_is_empty(&p->out))
        send_to(bs, p, &p->out);
    p->version = version;
    if (p->out_used)
        p->out.version = version;
}

void
bitswap_peer_connected(bitswap_t *bs, uint64_t now_ms, const peer_id_t *peer, int version)
{
    bs->now = now_ms;
    bitswap_peer_t *p = bitswap_peer_get(bs, peer, true);
    if (!p)
        return;
    set_version(bs, p, version);
    p->ledger.last_seen_ms = now_ms;
    if (p->connected)
        return;
    p->connected = true;
    bitswap_sess_peer_up(bs, p);
    bitswap_flush(bs);
}

void
bitswap_peer_disconnected(bitswap_t *bs, const peer_id_t *peer)
{
    bitswap_peer_t *p = bitswap_peer_get(bs, peer, false);
    if (!p || !p->connected)
        return;
    p->connected = false;
    bitswap_serve_drop(p);
    if (p->out_used)
        bitswap_writer_reset(&p->out);
    bitswap_sess_peer_down(bs, p, false);
    bitswap_flush(bs);
}

/* ---- outbox ---- */

void
bitswap_outbox(bitswap_t *bs, bitswap_peer_t *p, const cid_t *cid, int type, bool cancel)
{
    if (!p->connected)
        return;
    if (!p->out_used) {
        bitswap_writer_init(&p->out, p->version);
        p->out_used = true;
    }
    bool sdh = !cancel && p->version >= BITSWAP_V120;
    if (p->version < BITSWAP_V120 && type == BITSWAP_WANT_HAVE)
        return;
    if (bitswap_writer_want(&p->out, cid, 1, type, sdh, cancel) < 0)
        return;
    /* keep wantlist messages well under the limit: a few thousand entries each */
    if (bitswap_writer_size(&p->out) >= 256 * 1024)
        bitswap_flush(bs);
}

static void
send_to(bitswap_t *bs, bitswap_peer_t *p, bitswap_writer_t *w)
{
    buf_t *msg = &bs->msg;
    buf_clear(msg);
    if (bitswap_writer_finish(w, msg) == 0) {
        p->ledger.msgs_sent++;
        if (bs->env.send(bs->env.ctx, &p->id, msg->data, msg->len) < 0)
            log_debug("send failed");
    } else
        bitswap_writer_reset(w);
}

void
bitswap_flush(bitswap_t *bs)
{
    for (size_t i = 0; i < bs->npeers; i++) {
        bitswap_peer_t *p = bs->peers[i];
        if (p->out_used && !bitswap_writer_is_empty(&p->out))
            send_to(bs, p, &p->out);
    }
}

/* The framed writer's message goes out in its own buffer; the glue gives back an
 * empty one (fresh or recycled), whose headroom reset() restores. */
static void
send_framed(bitswap_t *bs, bitswap_peer_t *p, bitswap_writer_t *w)
{
    size_t start, max = w->blocks.max, used;
    if (bitswap_writer_finish_frame(w, &start) < 0) {
        bitswap_writer_reset(w);
        return;
    }
    used = w->blocks.len;
    p->ledger.msgs_sent++;
    if (bs->env.send_frame(bs->env.ctx, &p->id, &w->blocks, start) < 0)
        log_debug("send failed");
    if (w->blocks.max != max || w->blocks.len != 0) { /* a glue bug: start over clean */
        buf_free(&w->blocks);
        buf_init(&w->blocks, max);
    }
    /* a fresh buffer gets its size at once: growing it while blocks are read into it
     * would move them on every doubling */
    (void)buf_reserve(&w->blocks, used);
    bitswap_writer_reset(w);
}

void
bitswap_send_writer(bitswap_t *bs, bitswap_peer_t *p, bitswap_writer_t *w)
{
    if (w->head && bs->env.send_frame)
        send_framed(bs, p, w);
    else
        send_to(bs, p, w);
}

/* ---- received blocks and presences ---- */

/* The CID a block proves: its prefix with the hash computed over the data, or for
 * 1.0.0 the CIDv0 of the data. */
static int
block_cid(const bitswap_block_t *b, cid_t *out)
{
    static const bitswap_prefix_t v0 = {0, CID_CODEC_DAG_PB, MULTIHASH_SHA2_256, 32};
    return bitswap_prefix_cid(b->has_prefix ? &b->prefix : &v0, b->data, b->len, out);
}

static void
unwanted_block(bitswap_t *bs, bitswap_peer_t *p, const cid_t *cid, size_t len)
{
    if (bs->env.has(bs->env.ctx, cid)) {
        p->ledger.dup_blocks_recv++;
        p->ledger.dup_bytes_recv += len;
        return;
    }
    /* It proves no hash we want. If we were waiting for blocks from this peer, it
     * most likely answered a want-block with corrupt data. */
    if (bitswap_sess_has_inflight(bs, p)) {
        bitswap_report(bs, p, BITSWAP_EVENT_BAD_BLOCK);
        bitswap_sess_peer_down(bs, p, true);
    } else
        bitswap_report(bs, p, BITSWAP_EVENT_UNWANTED_BLOCK);
}

/* A block whose hash `got` was computed (rc < 0: too big or unverifiable). */
static void
recv_block(bitswap_t *bs, bitswap_peer_t *p, const bitswap_block_t *b, const cid_t *got, int rc)
{
    uint8_t key[BITSWAP_CID_MAX];
    if (rc < 0) {
        bitswap_report(bs, p, BITSWAP_EVENT_UNVERIFIABLE);
        return;
    }
    size_t kn = bitswap_mh_key(&got->hash, key);
    bitswap_want_t *chain = bitswap_map_del(bs->wants, key, kn);
    if (!chain) {
        unwanted_block(bs, p, got, b->len);
        return;
    }
    cid_t wanted = chain->cid;
    p->ledger.blocks_recv++;
    p->ledger.bytes_recv += b->len;
    if (bs->env.put && bs->env.put(bs->env.ctx, &wanted, b->data, b->len) < 0)
        log_warn("storing a fetched block failed");
    for (bitswap_want_t *w = chain, *next; w; w = next) {
        next = w->next_same;
        bitswap_sess_got(w, p, b->len);
    }
    bitswap_serve_notify(bs, &wanted);
    if (bs->env.on_block)
        bs->env.on_block(bs->env.ctx, &wanted, b->data, b->len);
}

/* The hashes of one message's blocks, all computed before any block is looked at,
 * so that with several blocks the fan-out's helpers share the work: SHA-256 was
 * 44% of a downloading node's loop thread. */
typedef struct verify_t {
    const bitswap_block_t *blocks;
    cid_t *cids;
    int *rcs;
    size_t max_block;
} verify_t;

static void
verify_one(void *arg, size_t i)
{
    verify_t *v = arg;
    const bitswap_block_t *b = &v->blocks[i];
    v->rcs[i] = b->len > v->max_block ? LS_ETOOBIG : block_cid(b, &v->cids[i]);
}

static void
recv_blocks(bitswap_t *bs, bitswap_peer_t *p, const bitswap_msg_t *m)
{
    cid_t one_cid;
    int one_rc;
    verify_t v = {m->blocks, &one_cid, &one_rc, bs->cfg.max_block_size};
    if (m->nblocks > 1) {
        v.cids = ls_calloc(m->nblocks, sizeof *v.cids);
        v.rcs = ls_calloc(m->nblocks, sizeof *v.rcs);
    }
    fanout_run(bs->verify, m->nblocks, verify_one, &v);
    for (size_t i = 0; i < m->nblocks; i++)
        recv_block(bs, p, &m->blocks[i], &v.cids[i], v.rcs[i]);
    if (m->nblocks > 1) {
        free(v.cids);
        free(v.rcs);
    }
}

static void
recv_presence(bitswap_t *bs, bitswap_peer_t *p, const bitswap_presence_t *pr)
{
    uint8_t key[BITSWAP_CID_MAX];
    size_t kn = bitswap_mh_key(&pr->cid.hash, key);
    if (pr->type == BITSWAP_HAVE)
        p->ledger.haves_recv++;
    else
        p->ledger.dont_haves_recv++;
    for (bitswap_want_t *w = bitswap_map_get(bs->wants, key, kn); w; w = w->next_same)
        bitswap_sess_presence(w, p, pr->type);
}

int
bitswap_input(bitswap_t *bs, uint64_t now_ms, const peer_id_t *from, int version,
              const uint8_t *msg, size_t len)
{
    bitswap_msg_t m;
    bs->now = now_ms;
    int rc = bitswap_msg_decode(msg, len, &m);
    if (rc < 0)
        return rc;
    bitswap_peer_t *p = bitswap_peer_get(bs, from, true);
    if (!p) {
        bitswap_msg_clear(&m);
        return LS_EINVAL;
    }
    if ((rc = bitswap_serve_check(bs, p, &m)) < 0) {
        bitswap_msg_clear(&m);
        return rc;
    }
    set_version(bs, p, version);
    p->ledger.msgs_recv++;
    p->ledger.last_seen_ms = now_ms;
    if (!p->connected) {
        p->connected = true;
        bitswap_sess_peer_up(bs, p);
    }
    recv_blocks(bs, p, &m);
    for (size_t i = 0; i < m.npresences; i++)
        recv_presence(bs, p, &m.presences[i]);
    if (p->connected)
        bitswap_serve_apply(bs, p, &m);
    bitswap_msg_clear(&m);
    bitswap_serve_run(bs);
    bitswap_sess_pump_all(bs);
    bitswap_flush(bs);
    return 0;
}

uint64_t
bitswap_tick(bitswap_t *bs, uint64_t now_ms)
{
    uint64_t next = UINT64_MAX;
    bs->now = now_ms;
    for (bitswap_session_t *s = bs->sessions; s; s = s->next)
        next = LS_MIN(next, bitswap_sess_tick(s, now_ms));
    bitswap_serve_run(bs);
    bitswap_sess_pump_all(bs);
    bitswap_flush(bs);
    if (bs->busy)
        return now_ms;
    if (bs->blocked)
        next = LS_MIN(next, now_ms + 20);
    return next;
}

/* ---- ledgers ---- */

int
bitswap_ledger_get(const bitswap_t *bs, const peer_id_t *peer, bitswap_ledger_t *out)
{
    const bitswap_peer_t *p = bitswap_map_get(bs->peer_index, peer->bytes, peer->len);
    if (!p)
        return LS_ENOENT;
    *out = p->ledger;
    return 0;
}

size_t
bitswap_ledgers(const bitswap_t *bs, peer_id_t *ids, bitswap_ledger_t *out, size_t max)
{
    for (size_t i = 0; i < bs->npeers && i < max; i++) {
        if (ids)
            ids[i] = bs->peers[i]->id;
        if (out)
            out[i] = bs->peers[i]->ledger;
    }
    return bs->npeers;
}
