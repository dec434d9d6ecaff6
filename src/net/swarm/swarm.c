/* swarm — lifecycle, timers, deferred frees, connection events and the protocol
 * router of the libp2p host (see swarm.h). */
#define LOG_MODULE "swarm"
#include "net/swarm/swarm.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "net/swarm/swarm_internal.h"

static const char *const refusal_names[SWARM_REFUSE_COUNT] = {
    "max_conns",      "handshake",   "handshake_timeout", "peer_id",
    "protocol_error", "stream_limit", "stream_rate",      "stream_flood",
    "no_protocol",    "message_size", "idle",             "inbound_denied",
    "rate_limited",
};

const char *
swarm_refusal_name(swarm_refusal_t r)
{
    return (unsigned)r < SWARM_REFUSE_COUNT ? refusal_names[r] : "unknown";
}

void
swarm_config_default(swarm_config_t *cfg)
{
    *cfg = (swarm_config_t){
        .max_conns = 512,
        .max_streams_per_conn = 1024,
        .inbound_streams_rate = 100,
        .inbound_streams_burst = 400,
        .flood_refusals = 200,
        .handshake_timeout_ms = 10000,
        .negotiate_timeout_ms = 10000,
        .idle_timeout_ms = 120000,
        .dial_timeout_ms = 10000,
        .max_window = 16u * 1024 * 1024,
    };
}

/* Fill the zero fields of `cfg` from the defaults. */
static void
config_fill(swarm_config_t *cfg)
{
    swarm_config_t d;
    swarm_config_default(&d);
#define FILL(f)         \
    if (!cfg->f)        \
    cfg->f = d.f
    FILL(max_conns);
    FILL(max_streams_per_conn);
    FILL(inbound_streams_rate);
    FILL(inbound_streams_burst);
    FILL(flood_refusals);
    FILL(handshake_timeout_ms);
    FILL(negotiate_timeout_ms);
    FILL(idle_timeout_ms);
    FILL(dial_timeout_ms);
    FILL(max_window);
#undef FILL
}

uint64_t
swarm_now(void)
{
    return clock_mono_ms();
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    swarm_t *sw = arg;
    (void)fd;
    (void)what;
    uint64_t now = swarm_now();
    for (swarm_conn_t *c = sw->conns, *next; c; c = next) {
        next = c->next;
        conn_tick(c, now);
    }
}

/* Dead streams first (their on_close may still look at the connection), then dead
 * connections; callbacks may kill more, so loop until both lists are empty. */
static void
on_reap(evutil_socket_t fd, short what, void *arg)
{
    swarm_t *sw = arg;
    (void)fd;
    (void)what;
    while (sw->dead_streams || sw->dead_conns) {
        if (sw->dead_streams) {
            swarm_stream_t *s = sw->dead_streams;
            sw->dead_streams = s->next_dead;
            stream_reap(s);
            continue;
        }
        swarm_conn_t *c = sw->dead_conns;
        sw->dead_conns = c->next_dead;
        conn_notify_dead(c);
        if (sw->dead_streams) { /* on_disconnected opened/killed streams elsewhere */
            c->next_dead = sw->dead_conns;
            sw->dead_conns = c;
            continue;
        }
        conn_destroy(c);
    }
}

void
swarm_schedule_reap(swarm_t *sw)
{
    event_active(sw->ev_reap, EV_TIMEOUT, 0);
}

swarm_t *
swarm_new(struct event_base *base, const ed25519_keypair_t *key, const swarm_config_t *cfg,
          const swarm_hooks_t *hooks)
{
    swarm_t *sw = ls_calloc(1, sizeof *sw);
    sw->base = base;
    sw->key = *key;
    peer_id_from_ed25519(&sw->self, key->pk);
    if (cfg)
        sw->cfg = *cfg;
    config_fill(&sw->cfg);
    if (hooks)
        sw->hooks = *hooks;
    sw->rx_scratch = ls_malloc(SWARM_READ_CHUNK + NOISE_MAX_FRAME);
    buf_init(&sw->plain, SWARM_READ_CHUNK + NOISE_MAX_FRAME);
    buf_init(&sw->plain_out, SWARM_WRITE_CHUNK + 4096);
    sw->ev_tick = event_new(base, -1, EV_PERSIST, on_tick, sw);
    sw->ev_reap = event_new(base, -1, 0, on_reap, sw);
    struct timeval tv = { 0, SWARM_TICK_MS * 1000 };
    event_add(sw->ev_tick, &tv);
    return sw;
}

void
swarm_free_(swarm_t *sw)
{
    if (!sw)
        return;
    for (size_t i = 0; i < sw->n_listeners; i++) {
        event_free(sw->listeners[i].ev);
        close(sw->listeners[i].fd);
        multiaddr_free(sw->listeners[i].addr);
    }
    free(sw->listeners);
    free(sw->listen_addrs);
    sw->closing = true; /* no new dials from the callbacks below */
    while (sw->conns)
        swarm_conn_close(sw->conns, LS_ECLOSED, "shutting down");
    on_reap(-1, 0, sw);
    for (size_t i = 0; i < sw->n_handlers; i++)
        free(sw->handlers[i].protocol);
    free(sw->handlers);
    free(sw->protocol_list);
    swarm_book_free(sw);
    event_free(sw->ev_tick);
    event_free(sw->ev_reap);
    free(sw->rx_scratch);
    buf_free(&sw->plain);
    buf_free(&sw->plain_out);
    ed25519_keypair_wipe(&sw->key);
    free(sw);
}

const peer_id_t *
swarm_local_peer(const swarm_t *sw)
{
    return &sw->self;
}

struct event_base *
swarm_base(const swarm_t *sw)
{
    return sw->base;
}

const ed25519_keypair_t *
swarm_local_key(const swarm_t *sw)
{
    return &sw->key;
}

void
swarm_get_stats(const swarm_t *sw, swarm_stats_t *out)
{
    *out = sw->stats;
}

void
swarm_refuse(swarm_t *sw, swarm_refusal_t why, const peer_id_t *peer)
{
    sw->stats.refused[why]++;
    if (sw->hooks.on_refusal)
        sw->hooks.on_refusal(sw->hooks.ctx, why, peer);
}

void
swarm_add_events(swarm_t *sw, const swarm_events_t *ev)
{
    if (sw->n_events < SWARM_MAX_EVENTS)
        sw->events[sw->n_events++] = *ev;
    else
        log_error("too many connection event listeners; one dropped");
}

swarm_conn_t *
swarm_find_conn(const swarm_t *sw, const peer_id_t *peer)
{
    swarm_conn_t *draining = NULL;
    for (swarm_conn_t *c = sw->conns; c; c = c->next) {
        if (c->state != CONN_OPEN || !peer_id_equal(&c->peer, peer))
            continue;
        if (!c->draining)
            return c;
        draining = draining ? draining : c;
    }
    return draining;
}

size_t
swarm_conns(const swarm_t *sw, swarm_conn_t **out, size_t max)
{
    size_t n = 0;
    for (swarm_conn_t *c = sw->conns; c; c = c->next) {
        if (c->state != CONN_OPEN)
            continue;
        if (n < max)
            out[n] = c;
        n++;
    }
    return n;
}

int
swarm_disconnect(swarm_t *sw, const peer_id_t *peer, const char *reason)
{
    int n = 0;
    for (swarm_conn_t *c = sw->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == CONN_OPEN && peer_id_equal(&c->peer, peer)) {
            swarm_conn_close(c, 0, reason);
            n++;
        } else if (c->state < CONN_OPEN && !c->inbound && c->has_expected &&
                   peer_id_equal(&c->expected, peer)) {
            /* a dial in progress (the connection manager's dial timeout): abort it.
             * Its waiters hear LS_ECLOSED; the on_dial_failed hook is not called, as
             * whoever aborts it knows already. */
            c->dial_aborted = true;
            swarm_conn_close(c, 0, reason);
        }
    }
    return n;
}

size_t
swarm_peer_conn_count(const swarm_t *sw, const peer_id_t *peer)
{
    size_t n = 0;
    for (const swarm_conn_t *c = sw->conns; c; c = c->next)
        n += c->state == CONN_OPEN && peer_id_equal(&c->peer, peer);
    return n;
}

/* ---- router ---- */

static void
rebuild_protocol_list(swarm_t *sw)
{
    sw->protocol_list = ls_realloc(sw->protocol_list, (sw->n_handlers + 1) * sizeof(char *));
    for (size_t i = 0; i < sw->n_handlers; i++)
        sw->protocol_list[i] = sw->handlers[i].protocol;
    sw->protocol_list[sw->n_handlers] = NULL;
    if (sw->protocols_changed)
        sw->protocols_changed(sw->protocols_changed_ctx);
}

void
swarm_handle(swarm_t *sw, const char *protocol, swarm_handler_fn fn, void *ctx,
             uint32_t max_streams)
{
    for (size_t i = 0; i < sw->n_handlers; i++) {
        if (strcmp(sw->handlers[i].protocol, protocol) == 0) {
            sw->handlers[i].fn = fn;
            sw->handlers[i].ctx = ctx;
            sw->handlers[i].max_streams = max_streams;
            return;
        }
    }
    sw->handlers = ls_realloc(sw->handlers, (sw->n_handlers + 1) * sizeof *sw->handlers);
    sw->handlers[sw->n_handlers++] = (handler_t){ ls_strdup(protocol), fn, ctx, max_streams };
    rebuild_protocol_list(sw);
}

void
swarm_unhandle(swarm_t *sw, const char *protocol)
{
    for (size_t i = 0; i < sw->n_handlers; i++) {
        if (strcmp(sw->handlers[i].protocol, protocol) != 0)
            continue;
        free(sw->handlers[i].protocol);
        memmove(&sw->handlers[i], &sw->handlers[i + 1],
                (sw->n_handlers - i - 1) * sizeof *sw->handlers);
        sw->n_handlers--;
        /* streams keep a handler index: drop it for this one and shift the others */
        for (swarm_conn_t *c = sw->conns; c; c = c->next) {
            for (size_t k = 0; k < c->streams.cap; k++) {
                swarm_stream_t *s = c->streams.slots[k];
                if (s && s->handler == (int)i)
                    s->handler = -1;
                else if (s && s->handler > (int)i)
                    s->handler--;
            }
        }
        rebuild_protocol_list(sw);
        return;
    }
}

size_t
swarm_protocols(const swarm_t *sw, const char *const **out)
{
    static const char *const none[] = { NULL };
    *out = sw->protocol_list ? sw->protocol_list : none;
    return sw->n_handlers;
}

void
swarm_on_protocols_changed(swarm_t *sw, void (*fn)(void *ctx), void *ctx)
{
    sw->protocols_changed = fn;
    sw->protocols_changed_ctx = ctx;
}
