/* bitswap_session — the fetching side: download sessions that spread want-blocks over
 * several peers, learn who has what from HAVE / DONT_HAVE, and move wants away from
 * peers that time out or misbehave (ipfs/specs BITSWAP.md, "Bitswap 1.2.0:
 * Requesting"; contract in bitswap.h). */
#include "content/bitswap/bitswap_internal.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"

/* Latency assumed for a peer that has not delivered yet. */
#define DEFAULT_LAT_MS 100
/* Want-blocks a demoted peer may hold, and how much worse its cost looks. */
#define DEMOTED_INFLIGHT 2
#define DEMOTED_FACTOR 8
/* Peers a new want is announced to as want-have besides the want-block. */
#define HAVE_FANOUT 8

#define BIT(i) ((uint64_t)1 << (i))

/* ---- want lists ---- */

static bitswap_wlist_t *
list_of(bitswap_session_t *s, int state)
{
    return state == WANT_PENDING    ? &s->pending
           : state == WANT_INFLIGHT ? &s->inflight
           : state == WANT_CLAIMED  ? &s->claimed
                                    : &s->stalled;
}

static void
list_unlink(bitswap_session_t *s, bitswap_want_t *w)
{
    bitswap_wlist_t *l = list_of(s, w->state);
    if (w->prev)
        w->prev->next = w->next;
    else
        l->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        l->tail = w->prev;
    w->prev = w->next = NULL;
    l->n--;
}

static void
list_add(bitswap_session_t *s, bitswap_want_t *w, int state, bool front)
{
    bitswap_wlist_t *l = list_of(s, state);
    w->state = (uint8_t)state;
    if (front) {
        w->prev = NULL;
        w->next = l->head;
        if (l->head)
            l->head->prev = w;
        else
            l->tail = w;
        l->head = w;
    } else {
        w->next = NULL;
        w->prev = l->tail;
        if (l->tail)
            l->tail->next = w;
        else
            l->head = w;
        l->tail = w;
    }
    l->n++;
}

static void
move_to(bitswap_session_t *s, bitswap_want_t *w, int state, bool front)
{
    list_unlink(s, w);
    list_add(s, w, state, front);
    if (state == WANT_STALLED && s->next_rebroadcast <= s->bs->now)
        s->next_rebroadcast = s->bs->now + s->bs->cfg.rebroadcast_ms;
}

/* ---- session peers ---- */

static int
slot_of(const bitswap_session_t *s, const bitswap_peer_t *p)
{
    for (int i = 0; i < BITSWAP_SESSION_MAX_PEERS; i++)
        if (s->peers[i].peer == p)
            return i;
    return -1;
}

static bool
usable(const bitswap_speer_t *sp)
{
    return sp->peer && sp->peer->connected && !sp->dropped;
}

static uint64_t
usable_mask(const bitswap_session_t *s)
{
    uint64_t m = 0;
    for (int i = 0; i < BITSWAP_SESSION_MAX_PEERS; i++)
        if (usable(&s->peers[i]))
            m |= BIT(i);
    return m;
}

static uint32_t
capacity(const bitswap_session_t *s, const bitswap_speer_t *sp)
{
    return sp->demoted ? DEMOTED_INFLIGHT : s->bs->cfg.max_inflight;
}

/* The peer in `mask` with room for another want-block that should deliver soonest:
 * its measured latency times the wants it already holds. -1 if none has room. */
static int
best_peer_room(bitswap_session_t *s, uint64_t mask, uint32_t room)
{
    int best = -1;
    uint64_t best_cost = UINT64_MAX;
    for (unsigned k = 0; k < BITSWAP_SESSION_MAX_PEERS; k++) {
        unsigned i = (k + s->rr) % BITSWAP_SESSION_MAX_PEERS;
        const bitswap_speer_t *sp = &s->peers[i];
        uint32_t cap = capacity(s, sp);
        if (!(mask & BIT(i)) || sp->inflight + LS_MIN(room, cap) > cap)
            continue;
        uint64_t cost = (sp->lat_ms ? sp->lat_ms : DEFAULT_LAT_MS) * (sp->inflight + 1);
        if (sp->demoted)
            cost *= DEMOTED_FACTOR;
        if (cost < best_cost) {
            best_cost = cost;
            best = (int)i;
        }
    }
    return best;
}

static int
best_peer(bitswap_session_t *s, uint64_t mask)
{
    return best_peer_room(s, mask, 1);
}

static bool
any_capacity(bitswap_session_t *s)
{
    return best_peer(s, usable_mask(s)) >= 0;
}

/* ---- assigning wants ---- */

/* Announce `w` as want-have to a few usable 1.2.0 peers not yet asked, to learn
 * who else holds it. Peers that have delivered blocks to this session are skipped:
 * they most likely hold the rest of the DAG too, and asking each of them about
 * every block (then cancelling) doubled the messages of a download from two
 * seeders; if the peer asked for the block has not got it (DONT_HAVE, timeout), the
 * want goes to the next candidate anyway. */
static void
broadcast_have(bitswap_session_t *s, bitswap_want_t *w, uint64_t usable_peers)
{
    unsigned sent = 0;
    w->broadcast = true;
    for (unsigned k = 0; k < BITSWAP_SESSION_MAX_PEERS && sent < HAVE_FANOUT; k++) {
        unsigned i = (k + s->rr) % BITSWAP_SESSION_MAX_PEERS;
        bitswap_peer_t *p = s->peers[i].peer;
        if (!(usable_peers & BIT(i)) || (w->asked & BIT(i)) || p->version < BITSWAP_V120 ||
            s->peers[i].blocks > 0)
            continue;
        bitswap_outbox(s->bs, p, &w->cid, BITSWAP_WANT_HAVE, false);
        w->asked |= BIT(i);
        sent++;
    }
}

enum { ASSIGNED, NO_ROOM, NO_CANDIDATE };

/* Consecutive wants go to the same peer in runs of this many, across pumps: a DAG's
 * blocks are asked for in file order, so a seeder reads whole stretches of its store
 * instead of every other block (one seeder of two read the whole file from disk, in
 * 1 MiB extents, to serve half of it). A run starts only at a peer with room for all
 * of it (or for as much as the peer may hold), chosen by latency and load as any
 * want is; near the end, with fewer wants left than a run, any room will do. */
#define RUN_WANTS 16

/* The peer for `w`: the run's, while it lasts; else the best candidate with room for
 * a run. -1: wait for room. */
static int
pick_peer(bitswap_session_t *s, const bitswap_want_t *w, uint64_t cand)
{
    int r = s->run_peer;
    if (r >= 0 && s->run_len < RUN_WANTS && (cand & BIT(r)) &&
        (!w->have || (w->have & BIT(r))) && s->peers[r].inflight < capacity(s, &s->peers[r]))
        return r;
    uint32_t room = s->pending.n >= RUN_WANTS ? RUN_WANTS : 1;
    int i = best_peer_room(s, cand & w->have, room);
    return i >= 0 ? i : best_peer_room(s, cand, room);
}

static int
assign(bitswap_session_t *s, bitswap_want_t *w, uint64_t live)
{
    uint64_t cand = live & ~w->dont & ~w->tried;
    if (!cand)
        return NO_CANDIDATE;
    int i = pick_peer(s, w, cand);
    if (i < 0)
        return NO_ROOM;
    s->run_len = i == s->run_peer ? s->run_len + 1 : 1;
    s->run_peer = i;
    bitswap_speer_t *sp = &s->peers[i];
    bitswap_outbox(s->bs, sp->peer, &w->cid, BITSWAP_WANT_BLOCK, false);
    w->asked |= BIT(i);
    w->at = (int8_t)i;
    w->sent_at = s->bs->now;
    sp->inflight++;
    move_to(s, w, WANT_INFLIGHT, false);
    if (!w->broadcast)
        broadcast_have(s, w, live & ~BIT(i));
    return ASSIGNED;
}

static void
pump(bitswap_session_t *s)
{
    uint64_t live = usable_mask(s);
    if (!any_capacity(s))
        return;
    for (bitswap_want_t *w = s->pending.head, *next; w; w = next) {
        next = w->next;
        int r = assign(s, w, live);
        if (r == NO_CANDIDATE)
            move_to(s, w, WANT_STALLED, false);
        else if (r == NO_ROOM || !any_capacity(s))
            break; /* no room for a run (or none at all): the next ones wait as well */
    }
    s->rr++;
}

void
bitswap_sess_pump_all(bitswap_t *bs)
{
    for (bitswap_session_t *s = bs->sessions; s; s = s->next)
        pump(s);
}

/* Take `w` back from the peer it is in flight at; it goes to the front of the
 * pending list so it is asked again first. */
static void
recall(bitswap_session_t *s, bitswap_want_t *w)
{
    bitswap_speer_t *sp = &s->peers[w->at];
    if (sp->inflight)
        sp->inflight--;
    w->at = -1;
    move_to(s, w, WANT_PENDING, true);
}

/* ---- events from the engine ---- */

static void
send_cancels(bitswap_session_t *s, bitswap_want_t *w, int except)
{
    for (int i = 0; i < BITSWAP_SESSION_MAX_PEERS; i++)
        if ((w->asked & BIT(i)) && i != except && s->peers[i].peer)
            bitswap_outbox(s->bs, s->peers[i].peer, &w->cid, BITSWAP_WANT_BLOCK, true);
}

static void
want_free(bitswap_session_t *s, bitswap_want_t *w)
{
    list_unlink(s, w);
    s->st.pending--;
    free(w);
}

void
bitswap_sess_got(bitswap_want_t *w, bitswap_peer_t *from, size_t len)
{
    bitswap_session_t *s = w->s;
    int i = slot_of(s, from);
    if (w->state == WANT_INFLIGHT) {
        bitswap_speer_t *at = &s->peers[w->at];
        if (at->inflight)
            at->inflight--;
    }
    if (i >= 0) {
        bitswap_speer_t *sp = &s->peers[i];
        sp->blocks++;
        sp->bytes += len;
        sp->failures = 0;
        sp->demoted = false;
        if (w->state == WANT_INFLIGHT && w->at == i) {
            uint64_t sample = (s->bs->now > w->sent_at ? s->bs->now - w->sent_at : 0) + 1;
            sp->lat_ms = sp->lat_ms ? (3 * sp->lat_ms + sample) / 4 : sample;
        }
    }
    send_cancels(s, w, i);
    s->st.received++;
    s->st.bytes += len;
    want_free(s, w);
}

void
bitswap_sess_presence(bitswap_want_t *w, bitswap_peer_t *from, int type)
{
    bitswap_session_t *s = w->s;
    int i = slot_of(s, from);
    if (i < 0)
        return;
    w->asked &= ~BIT(i); /* the peer answered: its entry is gone */
    if (type == BITSWAP_HAVE) {
        w->have |= BIT(i);
        w->dont &= ~BIT(i);
        if (w->state == WANT_STALLED)
            move_to(s, w, WANT_PENDING, true);
        return;
    }
    w->dont |= BIT(i);
    w->have &= ~BIT(i);
    if (w->state == WANT_INFLIGHT && w->at == i)
        recall(s, w);
}

static void
wake_stalled(bitswap_session_t *s, bool forget)
{
    while (s->stalled.head) {
        bitswap_want_t *w = s->stalled.head;
        if (forget) {
            w->dont = w->tried = 0;
            w->broadcast = false;
        }
        move_to(s, w, WANT_PENDING, false);
    }
}

void
bitswap_sess_peer_up(bitswap_t *bs, bitswap_peer_t *p)
{
    for (bitswap_session_t *s = bs->sessions; s; s = s->next)
        if (slot_of(s, p) >= 0) {
            wake_stalled(s, false);
            pump(s);
        }
}

void
bitswap_sess_peer_down(bitswap_t *bs, bitswap_peer_t *p, bool bad)
{
    for (bitswap_session_t *s = bs->sessions; s; s = s->next) {
        int i = slot_of(s, p);
        if (i < 0)
            continue;
        if (bad)
            s->peers[i].dropped = true;
        for (bitswap_want_t *w = s->inflight.head, *next; w; w = next) {
            next = w->next;
            w->asked &= ~BIT(i);
            if (w->at == i) {
                if (bad)
                    w->tried |= BIT(i);
                recall(s, w);
            }
        }
        s->peers[i].inflight = 0;
    }
}

bool
bitswap_sess_has_inflight(const bitswap_t *bs, const bitswap_peer_t *p)
{
    for (const bitswap_session_t *s = bs->sessions; s; s = s->next) {
        int i = slot_of(s, p);
        if (i >= 0 && s->peers[i].inflight)
            return true;
    }
    return false;
}

/* A want-block unanswered for want_timeout_ms: cancel it there, count a failure
 * (demoting the peer after max_failures in a row) and ask someone else. */
static void
timeout_want(bitswap_session_t *s, bitswap_want_t *w)
{
    bitswap_t *bs = s->bs;
    int i = w->at;
    bitswap_speer_t *sp = &s->peers[i];
    bitswap_report(bs, sp->peer, BITSWAP_EVENT_TIMEOUT);
    if (++sp->failures >= bs->cfg.max_failures)
        sp->demoted = true;
    bitswap_outbox(bs, sp->peer, &w->cid, BITSWAP_WANT_BLOCK, true);
    w->asked &= ~BIT(i);
    w->tried |= BIT(i);
    recall(s, w);
}

uint64_t
bitswap_sess_tick(bitswap_session_t *s, uint64_t now)
{
    uint64_t to = s->bs->cfg.want_timeout_ms, next = UINT64_MAX;
    while (s->inflight.head && s->inflight.head->sent_at + to <= now)
        timeout_want(s, s->inflight.head);
    if (s->stalled.head && now >= s->next_rebroadcast) {
        wake_stalled(s, true);
        s->next_rebroadcast = now + s->bs->cfg.rebroadcast_ms;
    }
    pump(s);
    if (s->inflight.head)
        next = s->inflight.head->sent_at + to;
    if (s->stalled.head)
        next = LS_MIN(next, s->next_rebroadcast);
    return next;
}

/* ---- public API ---- */

bitswap_session_t *
bitswap_session_new(bitswap_t *bs)
{
    bitswap_session_t *s = ls_calloc(1, sizeof *s);
    s->bs = bs;
    s->start_ms = bs->now;
    s->run_peer = -1;
    s->next = bs->sessions;
    if (bs->sessions)
        bs->sessions->prev = s;
    bs->sessions = s;
    return s;
}

/* Remove `w` from the engine's chain of wants for its hash. */
static void
unchain(bitswap_t *bs, bitswap_want_t *w)
{
    uint8_t key[BITSWAP_CID_MAX];
    size_t kn = bitswap_mh_key(&w->cid.hash, key);
    bitswap_want_t *head = bitswap_map_get(bs->wants, key, kn);
    if (head == w) {
        if (w->next_same)
            bitswap_map_put(bs->wants, key, kn, w->next_same);
        else
            bitswap_map_del(bs->wants, key, kn);
        return;
    }
    for (bitswap_want_t *o = head; o; o = o->next_same)
        if (o->next_same == w) {
            o->next_same = w->next_same;
            return;
        }
}

static void
drop_list(bitswap_session_t *s, bitswap_wlist_t *l)
{
    while (l->head) {
        bitswap_want_t *w = l->head;
        send_cancels(s, w, -1);
        unchain(s->bs, w);
        want_free(s, w);
    }
}

void
bitswap_session_free_(bitswap_session_t *s)
{
    if (!s)
        return;
    bitswap_t *bs = s->bs;
    drop_list(s, &s->pending);
    drop_list(s, &s->inflight);
    drop_list(s, &s->stalled);
    drop_list(s, &s->claimed);
    for (int i = 0; i < BITSWAP_SESSION_MAX_PEERS; i++)
        if (s->peers[i].peer)
            s->peers[i].peer->refs--;
    if (s->prev)
        s->prev->next = s->next;
    else
        bs->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
    bitswap_flush(bs);
}

int
bitswap_session_add_peer(bitswap_session_t *s, const peer_id_t *peer)
{
    bitswap_peer_t *p = bitswap_peer_get(s->bs, peer, true);
    int free_slot = -1;
    if (!p)
        return LS_EINVAL;
    if (slot_of(s, p) >= 0)
        return LS_EEXIST;
    for (int i = 0; i < BITSWAP_SESSION_MAX_PEERS && free_slot < 0; i++)
        if (!s->peers[i].peer)
            free_slot = i;
    if (free_slot < 0)
        return LS_ELIMIT;
    s->peers[free_slot] = (bitswap_speer_t){.peer = p};
    p->refs++;
    if (p->connected) {
        wake_stalled(s, false);
        pump(s);
        bitswap_flush(s->bs);
    }
    return 0;
}

/* True if this session already wants the hash of `cid`. */
static bool
session_wants(bitswap_session_t *s, const cid_t *cid)
{
    uint8_t key[BITSWAP_CID_MAX];
    size_t kn = bitswap_mh_key(&cid->hash, key);
    for (bitswap_want_t *w = bitswap_map_get(s->bs->wants, key, kn); w; w = w->next_same)
        if (w->s == s)
            return true;
    return false;
}

static void
add_want(bitswap_session_t *s, const cid_t *cid)
{
    uint8_t key[BITSWAP_CID_MAX];
    size_t kn = bitswap_mh_key(&cid->hash, key);
    bitswap_want_t *w = ls_calloc(1, sizeof *w);
    w->cid = *cid;
    w->s = s;
    w->at = -1;
    w->next_same = bitswap_map_get(s->bs->wants, key, kn);
    bitswap_map_put(s->bs->wants, key, kn, w);
    list_add(s, w, WANT_PENDING, false);
    s->st.pending++;
}

int
bitswap_session_want(bitswap_session_t *s, const cid_t *cids, size_t n)
{
    bitswap_t *bs = s->bs;
    uint8_t tmp[BITSWAP_CID_MAX];
    int added = 0;
    for (size_t i = 0; i < n; i++)
        if (bitswap_cid_encode(&cids[i], tmp) == 0)
            return LS_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (session_wants(s, &cids[i]))
            continue;
        s->st.wanted++;
        if (bs->env.has(bs->env.ctx, &cids[i])) {
            s->st.received++;
            continue;
        }
        add_want(s, &cids[i]);
        added++;
    }
    pump(s);
    bitswap_flush(bs);
    return added;
}

void
bitswap_session_stats(const bitswap_session_t *s, bitswap_session_stats_t *out)
{
    *out = s->st;
    out->peers = out->peers_with_blocks = 0;
    for (int i = 0; i < BITSWAP_SESSION_MAX_PEERS; i++) {
        const bitswap_speer_t *sp = &s->peers[i];
        if (!usable(sp))
            continue;
        out->peers++;
        if (sp->blocks)
            out->peers_with_blocks++;
    }
    out->elapsed_ms = s->bs->now - s->start_ms;
    out->rate_bps = out->elapsed_ms ? out->bytes * 1000 / out->elapsed_ms : 0;
}

bool
bitswap_session_is_done(const bitswap_session_t *s)
{
    return s->st.pending == 0;
}

/* ---- fetchers outside Bitswap (HTTP seeders) ---- */

/* This session's want for the hash of `cid`, or NULL. */
static bitswap_want_t *
session_want(bitswap_session_t *s, const cid_t *cid)
{
    uint8_t key[BITSWAP_CID_MAX];
    size_t kn = bitswap_mh_key(&cid->hash, key);
    for (bitswap_want_t *w = bitswap_map_get(s->bs->wants, key, kn); w; w = w->next_same)
        if (w->s == s)
            return w;
    return NULL;
}

size_t
bitswap_session_claim(bitswap_session_t *s, cid_t *out, size_t max)
{
    size_t n = 0;
    /* Stalled wants first (no Bitswap peer has them), then the pending ones the
     * peers would reach last, so both kinds of source work on different blocks. */
    while (n < max && s->stalled.head) {
        bitswap_want_t *w = s->stalled.head;
        out[n++] = w->cid;
        move_to(s, w, WANT_CLAIMED, false);
    }
    while (n < max && s->pending.tail) {
        bitswap_want_t *w = s->pending.tail;
        out[n++] = w->cid;
        move_to(s, w, WANT_CLAIMED, false);
    }
    return n;
}

void
bitswap_session_unclaim(bitswap_session_t *s, const cid_t *cid)
{
    bitswap_want_t *w = session_want(s, cid);
    if (!w || w->state != WANT_CLAIMED)
        return;
    move_to(s, w, WANT_PENDING, true);
    pump(s);
    bitswap_flush(s->bs);
}

int
bitswap_deliver(bitswap_t *bs, const cid_t *cid, const uint8_t *data, size_t len)
{
    cid_t got;
    uint8_t key[BITSWAP_CID_MAX];
    bitswap_prefix_t pre = {cid->version, cid->codec, cid->hash.code, cid->hash.len};
    if (len > bs->cfg.max_block_size)
        return LS_ETOOBIG;
    int rc = bitswap_prefix_cid(&pre, data, len, &got);
    if (rc < 0)
        return rc;
    if (!multihash_equal(&got.hash, &cid->hash))
        return LS_EPROTO;
    size_t kn = bitswap_mh_key(&got.hash, key);
    bitswap_want_t *chain = bitswap_map_del(bs->wants, key, kn);
    if (!chain)
        return 0; /* a Bitswap peer was faster */
    cid_t wanted = chain->cid;
    if (bs->env.put && bs->env.put(bs->env.ctx, &wanted, data, len) < 0)
        return LS_EIO;
    for (bitswap_want_t *w = chain, *next; w; w = next) {
        next = w->next_same;
        if (w->state == WANT_INFLIGHT && w->s->peers[w->at].inflight)
            w->s->peers[w->at].inflight--;
        send_cancels(w->s, w, -1);
        w->s->st.received++;
        w->s->st.bytes += len;
        want_free(w->s, w);
    }
    bitswap_serve_notify(bs, &wanted);
    if (bs->env.on_block)
        bs->env.on_block(bs->env.ctx, &wanted, data, len);
    bitswap_sess_pump_all(bs);
    bitswap_flush(bs);
    return 1;
}

size_t
bitswap_session_peer_stats(const bitswap_session_t *s, peer_id_t *ids, uint64_t *blocks,
                           uint64_t *bytes, size_t max)
{
    size_t n = 0;
    for (int i = 0; i < BITSWAP_SESSION_MAX_PEERS && n < max; i++) {
        const bitswap_speer_t *sp = &s->peers[i];
        if (!sp->peer || (!usable(sp) && !sp->blocks))
            continue;
        ids[n] = sp->peer->id;
        blocks[n] = sp->blocks;
        bytes[n] = sp->bytes;
        n++;
    }
    return n;
}
