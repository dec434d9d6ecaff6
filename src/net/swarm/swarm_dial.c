/* swarm_dial — outbound connections: TCP connect, joining dials to the same peer,
 * the address book, dialling a peer by its known addresses, and opening a stream
 * to a peer that is not connected yet. */
#define LOG_MODULE "swarm"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err/err.h"
#include "lib/log/log.h"
#include "net/swarm/swarm_internal.h"

void
dial_waiters_finish(swarm_conn_t *c, int err)
{
    swarm_hooks_t *h = &c->sw->hooks;
    if (err && c->waiters && c->has_expected && !c->dial_aborted && h->on_dial_failed)
        h->on_dial_failed(h->ctx, &c->expected, err);
    while (c->waiters) {
        dial_waiter_t *w = c->waiters;
        c->waiters = w->next;
        if (err)
            c->sw->stats.dials_failed++;
        if (w->cb)
            w->cb(w->ctx, err ? NULL : c, err);
        free(w);
    }
    if (!err && !c->inbound && c->remote_addr) {
        const multiaddr_t *a = c->remote_addr;
        swarm_add_addrs(c->sw, &c->peer, &a, 1);
    }
}

static void
add_waiter(swarm_conn_t *c, swarm_dial_fn cb, void *ctx)
{
    dial_waiter_t *w = ls_calloc(1, sizeof *w);
    w->cb = cb;
    w->ctx = ctx;
    w->next = c->waiters;
    c->waiters = w;
}

static swarm_conn_t *
find_pending(const swarm_t *sw, const peer_id_t *peer)
{
    for (swarm_conn_t *c = sw->conns; c; c = c->next)
        if (c->state < CONN_OPEN && !c->inbound && c->has_expected &&
            peer_id_equal(&c->expected, peer))
            return c;
    return NULL;
}

int
swarm_dial(swarm_t *sw, const multiaddr_t *ma, swarm_dial_fn cb, void *ctx)
{
    peer_id_t want;
    bool has = multiaddr_get_peer_id(ma, &want);
    if (has && peer_id_equal(&want, &sw->self))
        return LS_EINVAL;
    if (sw->closing)
        return LS_ECLOSED;
    swarm_conn_t *c = has ? swarm_find_conn(sw, &want) : NULL;
    if (c) {
        if (cb)
            cb(ctx, c, 0);
        return 0;
    }
    if (has && (c = find_pending(sw, &want))) {
        add_waiter(c, cb, ctx);
        return 0;
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    if (multiaddr_to_sockaddr(ma, &ss, &sl) < 0)
        return LS_ENOTSUP;
    if (sw->n_conns >= sw->cfg.max_conns)
        return LS_ELIMIT;
    evutil_socket_t fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
        int e = -errno;
        close(fd);
        return e;
    }
    c = conn_new(sw, fd, false);
    c->has_expected = has;
    if (has)
        c->expected = want;
    c->remote_addr = multiaddr_from_sockaddr_tcp((struct sockaddr *)&ss);
    add_waiter(c, cb, ctx);
    c->state = CONN_CONNECTING;
    event_add(c->ev_write, NULL);
    c->write_pending = true;
    return 0;
}

/* ---- address book ---- */

static book_entry_t *
book_find(const swarm_t *sw, const peer_id_t *peer)
{
    for (size_t i = 0; i < sw->n_book; i++)
        if (peer_id_equal(&sw->book[i].peer, peer))
            return &sw->book[i];
    return NULL;
}

void
swarm_add_addrs(swarm_t *sw, const peer_id_t *peer, const multiaddr_t *const *addrs, size_t n)
{
    book_entry_t *e = book_find(sw, peer);
    if (!e) {
        if (sw->n_book >= SWARM_MAX_BOOK) { /* forget the oldest */
            book_entry_t *old = &sw->book[0];
            for (size_t i = 0; i < old->n; i++)
                multiaddr_free(old->addrs[i]);
            memmove(old, old + 1, (sw->n_book - 1) * sizeof *old);
            sw->n_book--;
        }
        sw->book = ls_realloc(sw->book, (sw->n_book + 1) * sizeof *sw->book);
        e = &sw->book[sw->n_book++];
        memset(e, 0, sizeof *e);
        e->peer = *peer;
    }
    for (size_t i = 0; i < n; i++) {
        multiaddr_t *bare = multiaddr_without_peer_id(addrs[i]);
        bool known = !bare;
        for (size_t k = 0; bare && k < e->n && !known; k++)
            known = multiaddr_equal(e->addrs[k], bare);
        if (known) {
            multiaddr_free(bare);
            continue;
        }
        if (e->n == SWARM_BOOK_ADDRS) {
            multiaddr_free(e->addrs[0]);
            memmove(e->addrs, e->addrs + 1, (SWARM_BOOK_ADDRS - 1) * sizeof(void *));
            e->n--;
        }
        e->addrs[e->n++] = bare;
    }
}

void
swarm_book_free(swarm_t *sw)
{
    for (size_t i = 0; i < sw->n_book; i++)
        for (size_t k = 0; k < sw->book[i].n; k++)
            multiaddr_free(sw->book[i].addrs[k]);
    free(sw->book);
    sw->book = NULL;
    sw->n_book = 0;
}

void
swarm_set_addr_lookup(swarm_t *sw, swarm_addr_lookup_fn fn, void *ctx)
{
    sw->lookup = fn;
    sw->lookup_ctx = ctx;
}

/* ---- dialling a peer ---- */

typedef struct peer_dial_t {
    swarm_t *sw;
    peer_id_t peer;
    multiaddr_t *addrs[2 * SWARM_BOOK_ADDRS];
    size_t n, next;
    int last_err;
    swarm_dial_fn cb;
    void *ctx;
} peer_dial_t;

static void peer_dial_done(void *ctx, swarm_conn_t *c, int err);

static void
peer_dial_free(peer_dial_t *pd)
{
    for (size_t i = 0; i < pd->n; i++)
        multiaddr_free(pd->addrs[i]);
    free(pd);
}

/* Try the next address; 0 once a dial is under way, else the last error. */
static int
peer_dial_next(peer_dial_t *pd)
{
    while (pd->next < pd->n) {
        multiaddr_t *ma = multiaddr_with_peer_id(pd->addrs[pd->next++], &pd->peer);
        int rc = ma ? swarm_dial(pd->sw, ma, peer_dial_done, pd) : LS_EINVAL;
        multiaddr_free(ma);
        if (rc == 0)
            return 0;
        pd->last_err = rc;
    }
    return pd->last_err ? pd->last_err : LS_ENOENT;
}

static void
peer_dial_done(void *ctx, swarm_conn_t *c, int err)
{
    peer_dial_t *pd = ctx;
    if (!c) {
        pd->last_err = err;
        if (err != LS_EPEERID && peer_dial_next(pd) == 0)
            return;
    }
    if (pd->cb)
        pd->cb(pd->ctx, c, c ? 0 : pd->last_err);
    peer_dial_free(pd);
}

int
swarm_dial_peer(swarm_t *sw, const peer_id_t *peer, swarm_dial_fn cb, void *ctx)
{
    swarm_conn_t *c = swarm_find_conn(sw, peer);
    if (c) {
        if (cb)
            cb(ctx, c, 0);
        return 0;
    }
    if ((c = find_pending(sw, peer))) {
        add_waiter(c, cb, ctx);
        return 0;
    }
    peer_dial_t *pd = ls_calloc(1, sizeof *pd);
    *pd = (peer_dial_t){ .sw = sw, .peer = *peer, .cb = cb, .ctx = ctx };
    const book_entry_t *e = book_find(sw, peer);
    for (size_t i = 0; e && i < e->n; i++)
        pd->addrs[pd->n++] = multiaddr_dup(e->addrs[i]);
    if (sw->lookup)
        pd->n += sw->lookup(sw->lookup_ctx, peer, pd->addrs + pd->n, SWARM_BOOK_ADDRS);
    int rc = peer_dial_next(pd);
    if (rc < 0) {
        pd->cb = NULL;
        peer_dial_free(pd);
    }
    return rc;
}

/* ---- opening a stream to a peer ---- */

typedef struct open_req_t {
    char **protocols;
    size_t n;
    swarm_open_fn cb;
    void *ctx;
} open_req_t;

static void
open_req_free(open_req_t *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->protocols[i]);
    free(o->protocols);
    free(o);
}

static void
open_after_dial(void *ctx, swarm_conn_t *c, int err)
{
    open_req_t *o = ctx;
    if (c)
        err = swarm_conn_open_stream(c, (const char *const *)o->protocols, o->n, o->cb,
                                     o->ctx);
    if (err < 0)
        o->cb(o->ctx, NULL, err, NULL);
    open_req_free(o);
}

int
swarm_open_stream(swarm_t *sw, const peer_id_t *peer, const char *const *protocols, size_t n,
                  swarm_open_fn cb, void *ctx)
{
    if (n == 0)
        return LS_EINVAL;
    swarm_conn_t *c = swarm_find_conn(sw, peer);
    if (c)
        return swarm_conn_open_stream(c, protocols, n, cb, ctx);
    open_req_t *o = ls_calloc(1, sizeof *o);
    o->protocols = ls_calloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        o->protocols[i] = ls_strdup(protocols[i]);
    o->n = n;
    o->cb = cb;
    o->ctx = ctx;
    int rc = swarm_dial_peer(sw, peer, open_after_dial, o);
    if (rc < 0)
        open_req_free(o);
    return rc;
}
