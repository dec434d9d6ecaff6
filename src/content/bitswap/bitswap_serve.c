/* bitswap_serve — the serving side: peers' wantlists, answers batched into messages,
 * and fair order between peers (ipfs/specs BITSWAP.md, "Bitswap 1.2.0: Responding";
 * contract in bitswap.h). */
#include "content/bitswap/bitswap_internal.h"

#include <stdlib.h>

#include "lib/err/err.h"

/* ---- a peer's answer queue ---- */

static void
enqueue(bitswap_peer_t *p, bitswap_wentry_t *e)
{
    e->queued = true;
    e->next = NULL;
    e->prev = p->q_tail;
    if (p->q_tail)
        p->q_tail->next = e;
    else
        p->q_head = e;
    p->q_tail = e;
}

static void
dequeue(bitswap_peer_t *p, bitswap_wentry_t *e)
{
    if (!e->queued)
        return;
    if (e->prev)
        e->prev->next = e->next;
    else
        p->q_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        p->q_tail = e->prev;
    e->prev = e->next = NULL;
    e->queued = false;
}

/* A peer whose queue was empty starts at the fair-queuing clock of the least-served
 * active peer, so that it neither starves others nor is starved for past service. */
static void
activate(bitswap_t *bs, bitswap_peer_t *p)
{
    uint64_t floor = UINT64_MAX;
    if (p->q_head)
        return;
    for (size_t i = 0; i < bs->npeers; i++) {
        bitswap_peer_t *o = bs->peers[i];
        if (o != p && o->q_head)
            floor = LS_MIN(floor, o->vbytes);
    }
    if (floor != UINT64_MAX)
        p->vbytes = LS_MAX(p->vbytes, floor);
}

static void
entry_remove(bitswap_peer_t *p, bitswap_wentry_t *e)
{
    uint8_t key[BITSWAP_CID_MAX];
    size_t kn = bitswap_cid_encode(&e->cid, key);
    dequeue(p, e);
    bitswap_map_del(p->wantlist, key, kn);
    free(e);
}

static void
free_entry(void *ctx, void *val)
{
    (void)ctx;
    free(val);
}

void
bitswap_serve_drop(bitswap_peer_t *p)
{
    if (p->wantlist)
        bitswap_map_each(p->wantlist, free_entry, NULL);
    bitswap_map_free(p->wantlist);
    p->q_head = p->q_tail = NULL;
}

/* ---- applying a wantlist ---- */

int
bitswap_serve_check(bitswap_t *bs, bitswap_peer_t *p, const bitswap_msg_t *m)
{
    size_t n = m->full || !p->wantlist ? 0 : bitswap_map_count(p->wantlist);
    uint8_t key[BITSWAP_CID_MAX];
    for (size_t i = 0; i < m->nentries; i++) {
        const bitswap_entry_t *e = &m->entries[i];
        if (e->cancel)
            continue;
        size_t kn = bitswap_cid_encode(&e->cid, key);
        if (m->full || !p->wantlist || !bitswap_map_get(p->wantlist, key, kn))
            n++;
    }
    return n > bs->cfg.max_wantlist ? LS_ELIMIT : 0;
}

static void
apply_entry(bitswap_t *bs, bitswap_peer_t *p, const bitswap_entry_t *in)
{
    uint8_t key[BITSWAP_CID_MAX];
    size_t kn = bitswap_cid_encode(&in->cid, key);
    bitswap_wentry_t *e = bitswap_map_get(p->wantlist, key, kn);
    if (in->cancel) {
        if (e)
            entry_remove(p, e);
        return;
    }
    if (!e) {
        e = ls_calloc(1, sizeof *e);
        e->cid = in->cid;
        e->want_type = in->want_type;
        bitswap_map_put(p->wantlist, key, kn, e);
    } else if (in->want_type == BITSWAP_WANT_BLOCK)
        e->want_type = BITSWAP_WANT_BLOCK; /* want-block supersedes want-have */
    e->send_dont_have = in->send_dont_have && p->version >= BITSWAP_V120;
    if (!e->queued) {
        activate(bs, p);
        enqueue(p, e);
    }
}

void
bitswap_serve_apply(bitswap_t *bs, bitswap_peer_t *p, const bitswap_msg_t *m)
{
    if (m->full && p->wantlist)
        bitswap_serve_drop(p);
    if (m->nentries && !p->wantlist)
        p->wantlist = bitswap_map_new((uint64_t)(uintptr_t)p ^ bs->now);
    for (size_t i = 0; i < m->nentries; i++)
        apply_entry(bs, p, &m->entries[i]);
}

void
bitswap_serve_notify(bitswap_t *bs, const cid_t *cid)
{
    uint8_t key[BITSWAP_CID_MAX];
    size_t kn = bitswap_cid_encode(cid, key);
    for (size_t i = 0; i < bs->npeers; i++) {
        bitswap_peer_t *p = bs->peers[i];
        bitswap_wentry_t *e = p->wantlist ? bitswap_map_get(p->wantlist, key, kn) : NULL;
        if (e && !e->queued && p->connected) {
            activate(bs, p);
            enqueue(p, e);
        }
    }
}

void
bitswap_block_added(bitswap_t *bs, const cid_t *cid)
{
    bitswap_serve_notify(bs, cid);
    bitswap_serve_run(bs);
}

/* ---- answering ---- */

static bool
fits(const bitswap_t *bs, const bitswap_writer_t *w, size_t len)
{
    return bitswap_writer_is_empty(w) || bitswap_writer_size(w) + len + 128 <= bs->cfg.batch_bytes;
}

/* Add the block wanted by `e` to `w`, its size in *len: 1 if added, 0 if not held,
 * -1 if it does not fit in this message, 2 if it never will (drop the entry).
 * Here the block is read through a scratch buffer, then copied into the message. */
static int
block_copied(bitswap_t *bs, const bitswap_wentry_t *e, bitswap_writer_t *w, size_t *len)
{
    const bitswap_env_t *env = &bs->env;
    buf_clear(&bs->scratch);
    if (env->get(env->ctx, &e->cid, &bs->scratch) != 0)
        return 0;
    *len = bs->scratch.len;
    if (!fits(bs, w, *len))
        return -1;
    if (bitswap_writer_block(w, &e->cid, bs->scratch.data, *len) < 0)
        return 2; /* an unrepresentable CID: drop the entry */
    return 1;
}

/* As block_copied(), but the size is asked first, so the store reads the block
 * straight into its place in the message (the scratch copy was a quarter of the
 * seeder's copying). */
static int
block_in_place(bitswap_t *bs, const bitswap_wentry_t *e, bitswap_writer_t *w, size_t *len)
{
    const bitswap_env_t *env = &bs->env;
    int64_t size = env->size(env->ctx, &e->cid);
    if (size < 0 || (uint64_t)size > bs->cfg.max_block_size)
        return 0;
    *len = (size_t)size;
    if (!fits(bs, w, *len))
        return -1;
    int rc = bitswap_writer_block_begin(w, &e->cid, *len);
    if (rc < 0) /* a bad CID, or too big even for an empty message: drop the entry */
        return rc == LS_EINVAL || bitswap_writer_is_empty(w) ? 2 : -1;
    rc = env->get(env->ctx, &e->cid, &w->blocks);
    return bitswap_writer_block_end(w, rc == 0) == 0 ? 1 : 0;
}

/* Answer `e` into `w`: 1 if answered (the entry is done), 0 if it waits for the
 * block, -1 if it does not fit in this message. */
static int
answer(bitswap_t *bs, bitswap_peer_t *p, bitswap_wentry_t *e, bitswap_writer_t *w)
{
    const bitswap_env_t *env = &bs->env;
    bool v12 = p->version >= BITSWAP_V120;
    /* before 1.2.0 there are no want-haves (nor presences to answer them with): as
       go-bitswap reads such a wantlist, every entry asks for the block */
    if (e->want_type == BITSWAP_WANT_HAVE && v12) {
        if (env->has(env->ctx, &e->cid)) {
            p->ledger.haves_sent++;
            return bitswap_writer_presence(w, &e->cid, BITSWAP_HAVE) < 0 ? -1 : 1;
        }
    } else {
        size_t len = 0;
        int r = env->size ? block_in_place(bs, e, w, &len) : block_copied(bs, e, w, &len);
        if (r < 0 || r == 2)
            return r < 0 ? -1 : 1;
        if (r == 1) {
            p->ledger.blocks_sent++;
            p->ledger.bytes_sent += len;
            return 1;
        }
    }
    if (!e->send_dont_have || !v12)
        return 0;
    p->ledger.dont_haves_sent++;
    return bitswap_writer_presence(w, &e->cid, BITSWAP_DONT_HAVE) < 0 ? -1 : 1;
}

/* Blocks named to env.prefetch ahead of the one being served, per peer: 4 MiB of
 * 256 KiB blocks, about what a seeder sends while a disk read completes. */
#define PREFETCH_AHEAD 16

/* Tell the store which blocks `p`'s queue will ask for next. */
static void
prefetch_next(bitswap_t *bs, bitswap_peer_t *p)
{
    if (!bs->env.prefetch)
        return;
    unsigned n = 0;
    for (bitswap_wentry_t *e = p->q_head; e && n < PREFETCH_AHEAD; e = e->next) {
        if (e->want_type != BITSWAP_WANT_BLOCK && p->version >= BITSWAP_V120)
            continue;
        if (!e->hinted)
            bs->env.prefetch(bs->env.ctx, &e->cid);
        e->hinted = true;
        n++;
    }
}

/* Build and send one message for `p`; returns its size. */
static size_t
serve_one(bitswap_t *bs, bitswap_peer_t *p)
{
    bitswap_writer_t *w = &bs->serve; /* empty between messages, its buffers kept */
    size_t size;
    w->version = p->version;
    while (p->q_head && bitswap_writer_size(w) < bs->cfg.batch_bytes) {
        bitswap_wentry_t *e = p->q_head;
        int r = answer(bs, p, e, w);
        if (r < 0 && bitswap_writer_is_empty(w))
            r = 1; /* fits in no message at all: drop it, or this peer never moves on */
        if (r < 0)
            break;
        if (r > 0)
            entry_remove(p, e);
        else
            dequeue(p, e);
    }
    size = bitswap_writer_size(w);
    if (!bitswap_writer_is_empty(w))
        bitswap_send_writer(bs, p, w);
    bitswap_writer_reset(w);
    prefetch_next(bs, p);
    /* presences cost little on the wire but still take a turn */
    p->vbytes += size + 64;
    return size;
}

static bool
can_serve(const bitswap_t *bs, const bitswap_peer_t *p, bool *blocked)
{
    if (!p->q_head || !p->connected)
        return false;
    if (bs->env.send_queued &&
        bs->env.send_queued(bs->env.ctx, &p->id) >= bs->cfg.max_outstanding_bytes) {
        *blocked = true;
        return false;
    }
    return true;
}

void
bitswap_serve_run(bitswap_t *bs)
{
    size_t budget = bs->cfg.serve_budget_bytes;
    bs->busy = bs->blocked = false;
    for (;;) {
        bitswap_peer_t *best = NULL;
        bool blocked = false;
        for (size_t i = 0; i < bs->npeers; i++) {
            bitswap_peer_t *p = bs->peers[i];
            if (can_serve(bs, p, &blocked) && (!best || p->vbytes < best->vbytes))
                best = p;
        }
        bs->blocked = blocked;
        if (!best)
            return;
        if (budget == 0) {
            bs->busy = true;
            return;
        }
        size_t sent = serve_one(bs, best);
        budget -= LS_MIN(budget, sent);
    }
}
