/* swarm_conn — one TCP connection: socket I/O and the upgrade pipeline
 * (libp2p/specs connections/README.md "Upgrading connections"):
 *   multistream-select /noise  ->  Noise XX  ->  multistream-select /yamux/1.0.0
 *   (inside Noise)  ->  yamux.
 * Reads go into the swarm's shared buffer, where each Noise frame is decrypted in
 * place and handed to yamux; only a partial frame is kept per connection. Output is
 * encrypted straight from yamux's queue in SWARM_WRITE_CHUNK rounds and written at
 * once; what the socket does not take stays in the connection's send buffer,
 * released once drained. Each byte thus costs one AEAD pass and one kernel copy per
 * side, plus yamux_write()'s copy into its queue on the sender. */
#define LOG_MODULE "swarm"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/err/err.h"
#include "lib/log/log.h"
#include "net/swarm/swarm_internal.h"

static const char *const sec_protocols[] = { NOISE_PROTOCOL_ID };
static const char *const mux_protocols[] = { YAMUX_PROTOCOL_ID };

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void connect_done(swarm_conn_t *c);

swarm_conn_t *
conn_new(swarm_t *sw, evutil_socket_t fd, bool inbound)
{
    swarm_conn_t *c = ls_calloc(1, sizeof *c);
    c->sw = sw;
    c->fd = fd;
    c->inbound = inbound;
    c->created_ms = c->last_rx_ms = swarm_now();
    c->tokens = sw->cfg.inbound_streams_burst;
    c->tokens_ms = c->created_ms;
    buf_init(&c->rx_keep, NOISE_MAX_FRAME);
    buf_init(&c->tx, BUF_UNLIMITED);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->ev_read = event_new(sw->base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->ev_write = event_new(sw->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        c->local_addr = multiaddr_from_sockaddr_tcp((struct sockaddr *)&ss);
    c->next = sw->conns;
    if (sw->conns)
        sw->conns->prev = c;
    sw->conns = c;
    sw->n_conns++;
    sw->stats.conns_pending++;
    return c;
}

/* Start multistream-select for the security protocol (TCP is connected). */
void
conn_start_upgrade(swarm_conn_t *c)
{
    c->state = CONN_SEC_MSS;
    c->sec_mss = c->inbound ? mss_new_responder_list(sec_protocols, 1)
                            : mss_new_initiator(sec_protocols, 1);
    event_add(c->ev_read, NULL);
    conn_want_flush(c);
}

static void
log_close(const swarm_conn_t *c, int err, const char *reason)
{
    char who[PEER_ID_SHORT_LEN] = "?";
    if (c->state == CONN_OPEN || c->has_expected)
        peer_id_short(c->state == CONN_OPEN ? &c->peer : &c->expected, who);
    char *addr = c->remote_addr ? multiaddr_to_str(c->remote_addr) : ls_strdup("?");
    log_msg(err && err != LS_ECLOSED ? LOG_INFO : LOG_DEBUG, LOG_MODULE,
            "connection %s %s (%s) closed: %s%s%s", c->inbound ? "from" : "to", addr, who,
            reason, err ? ": " : "", err ? ls_strerror(err) : "");
    free(addr);
}

void
swarm_conn_close(swarm_conn_t *c, int err, const char *reason)
{
    swarm_t *sw = c->sw;
    /* close_err is set first: the best-effort flush below can fail and call us
     * again (a failed Noise decryption makes every later encryption fail too), and
     * that nested call must not flush again, recursing until the stack ends. */
    if (c->state == CONN_DEAD || c->close_err)
        return;
    c->close_err = err ? err : LS_ECLOSED;
    log_close(c, err, reason);
    if (c->state == CONN_OPEN) {
        /* tell the peer why, best effort: one non-blocking write of what is pending */
        yamux_goaway(c->ymx, err == LS_EPROTO ? YAMUX_GOAWAY_PROTOCOL_ERROR
                                              : YAMUX_GOAWAY_NORMAL);
        if (!sw->producing)
            on_write(c->fd, EV_WRITE, c);
        sw->stats.conns_open--;
    } else {
        sw->stats.conns_pending--;
    }
    c->state = CONN_DEAD;
    event_del(c->ev_read);
    event_del(c->ev_write);
    close(c->fd);
    c->fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        sw->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    sw->n_conns--;
    streams_kill_all(c, LS_ECLOSED);
    c->next_dead = sw->dead_conns;
    sw->dead_conns = c;
    swarm_schedule_reap(sw);
}

/* Called from the reap: events for a connection that is gone. */
void
conn_notify_dead(swarm_conn_t *c)
{
    swarm_t *sw = c->sw;
    dial_waiters_finish(c, c->close_err);
    if (!c->announced)
        return;
    c->announced = false;
    for (size_t i = 0; i < sw->n_events; i++)
        if (sw->events[i].on_disconnected)
            sw->events[i].on_disconnected(sw->events[i].ctx, c, c->close_err);
}

void
conn_destroy(swarm_conn_t *c)
{
    event_free(c->ev_read);
    event_free(c->ev_write);
    mss_free(c->sec_mss);
    mss_free(c->mux_mss);
    noise_free(c->noise);
    yamux_session_free(c->ymx);
    stream_table_free(&c->streams);
    buf_free(&c->rx_keep);
    buf_free(&c->tx);
    multiaddr_free(c->remote_addr);
    multiaddr_free(c->local_addr);
    free(c);
}

static void
fail_upgrade(swarm_conn_t *c, int err, const char *what)
{
    swarm_refusal_t why = err == LS_EPEERID ? SWARM_REFUSE_PEER_ID : SWARM_REFUSE_HANDSHAKE;
    if (err == LS_EPEERID) {
        char want[PEER_ID_SHORT_LEN];
        peer_id_short(&c->expected, want);
        log_warn("dial to %s: the remote did not prove that peer ID", want);
    }
    swarm_refuse(c->sw, why, c->has_expected ? &c->expected : NULL);
    swarm_conn_close(c, err, what);
}

/* ---- the upgrade ---- */

static void
start_noise(swarm_conn_t *c)
{
    c->state = CONN_NOISE;
    c->noise = noise_new(!c->inbound, &c->sw->key, c->has_expected ? &c->expected : NULL);
}

static void
start_mux_mss(swarm_conn_t *c)
{
    c->state = CONN_MUX_MSS;
    c->peer = *noise_remote_peer(c->noise);
    c->mux_mss = c->inbound ? mss_new_responder_list(mux_protocols, 1)
                            : mss_new_initiator(mux_protocols, 1);
}

/* Both peers dialled each other at once (a simultaneous connect): of the two
 * connections keep the one dialled by the peer with the smaller ID — both ends
 * compute the same — and drain the other (no new streams; closed by conn_tick()
 * once its streams are done). Returns the connection kept when `c` is the one
 * drained, else NULL. Two connections in the same direction are left alone. */
static swarm_conn_t *
merge_duplicate(swarm_conn_t *c)
{
    swarm_t *sw = c->sw;
    swarm_conn_t *twin = NULL;
    for (swarm_conn_t *o = sw->conns; o && !twin; o = o->next)
        if (o != c && o->state == CONN_OPEN && !o->draining && o->inbound != c->inbound &&
            peer_id_equal(&o->peer, &c->peer))
            twin = o;
    if (!twin)
        return NULL;
    bool self_smaller = peer_id_cmp(&sw->self, &c->peer) < 0;
    swarm_conn_t *keep = self_smaller == !c->inbound ? c : twin; /* dialled by the smaller */
    swarm_conn_t *drop = keep == c ? twin : c;
    drop->draining = true;
    sw->stats.conns_merged++;
    char who[PEER_ID_SHORT_LEN];
    peer_id_short(&c->peer, who);
    log_debug("simultaneous connections with %s: keeping the %s one", who,
              keep->inbound ? "inbound" : "outbound");
    return drop == c ? keep : NULL;
}

/* `c` lost to `keep`: its dial waiters get `keep` instead. */
static void
hand_over_waiters(swarm_conn_t *c, swarm_conn_t *keep)
{
    dial_waiter_t **tail = &keep->waiters;
    while (*tail)
        tail = &(*tail)->next;
    *tail = c->waiters;
    c->waiters = NULL;
    dial_waiters_finish(keep, 0);
}

static void
start_yamux(swarm_conn_t *c)
{
    swarm_t *sw = c->sw;
    yamux_config_t ycfg;
    yamux_config_default(&ycfg);
    ycfg.max_streams = sw->cfg.max_streams_per_conn;
    ycfg.max_window = sw->cfg.max_window;
    /* yamux pings give the RTT that window auto-tuning needs (the libp2p ping
     * protocol keeps connections alive); windows grow to 16 MiB on paths of 2 ms
     * or more, to 1 MiB on shorter ones (yamux.h) */
    ycfg.keepalive_ms = 30000;
    ycfg.tune_min_rtt_ms = 2;
    ycfg.short_window = 1024u * 1024;
    yamux_env_t env = {
        .ctx = c,
        .on_stream_open = streams_on_open,
        .on_stream_data = streams_on_data,
        .on_stream_close = streams_on_close,
        .on_writable = streams_on_writable,
    };
    c->ymx = yamux_session_new(!c->inbound, &ycfg, &env);
    c->state = CONN_OPEN;
    c->opened_ms = swarm_now();
    sw->stats.conns_pending--;
    sw->stats.conns_open++;
    if (c->inbound)
        sw->stats.conns_in++;
    else
        sw->stats.conns_out++;
    char who[PEER_ID_SHORT_LEN];
    peer_id_short(&c->peer, who);
    log_debug("connection %s %s upgraded", c->inbound ? "from" : "to", who);
    /* A drained duplicate is announced all the same: upper layers then always see
     * on_connected and on_disconnected in pairs (per-connection data is freed in
     * the latter), and its streams end soon, closing it. */
    swarm_conn_t *keep = merge_duplicate(c);
    c->announced = true;
    for (size_t i = 0; i < sw->n_events && c->state == CONN_OPEN; i++)
        if (sw->events[i].on_connected)
            sw->events[i].on_connected(sw->events[i].ctx, c);
    if (c->state != CONN_OPEN)
        return;
    if (keep && keep->state == CONN_OPEN)
        hand_over_waiters(c, keep); /* the dialler gets the connection that stays */
    else
        dial_waiters_finish(c, 0);
}

/* Decrypted bytes: the muxer negotiation, then yamux. */
static void
process_plain(swarm_conn_t *c, const uint8_t *p, size_t len)
{
    size_t used = 0;
    int rc;
    if (c->state == CONN_MUX_MSS) {
        if ((rc = mss_input(c->mux_mss, p, len, &used)) < 0) {
            fail_upgrade(c, rc, "muxer negotiation failed");
            return;
        }
        if (!mss_is_done(c->mux_mss))
            return;
        start_yamux(c);
    }
    if (c->state != CONN_OPEN || used == len)
        return;
    size_t taken = 0;
    rc = yamux_input(c->ymx, swarm_now(), p + used, len - used, &taken);
    if (rc < 0 && c->state == CONN_OPEN) {
        swarm_refuse(c->sw, SWARM_REFUSE_PROTOCOL_ERROR, &c->peer);
        swarm_conn_close(c, rc, "yamux protocol error");
    }
}

/* Feed raw bytes to the pipeline; returns how many were used (the rest is an
 * incomplete frame to keep). Transport frames are decrypted in place in `p`. */
static size_t
process_raw(swarm_conn_t *c, uint8_t *p, size_t len)
{
    size_t off = 0, used;
    int rc;
    while (off < len) {
        switch (c->state) {
        case CONN_SEC_MSS:
            if ((rc = mss_input(c->sec_mss, p + off, len - off, &used)) < 0) {
                fail_upgrade(c, rc, "security negotiation failed");
                return len;
            }
            off += used;
            if (!mss_is_done(c->sec_mss))
                return off;
            start_noise(c);
            break;
        case CONN_NOISE:
            rc = noise_input(c->noise, p + off, len - off, &used);
            if (rc == LS_EAGAIN)
                return off;
            if (rc < 0) {
                fail_upgrade(c, rc, "noise handshake failed");
                return len;
            }
            off += used;
            if (noise_is_done(c->noise))
                start_mux_mss(c);
            break;
        case CONN_MUX_MSS:
        case CONN_OPEN: {
            /* One frame at a time, decrypted in place and handed on while in cache. */
            uint8_t *plain;
            size_t plain_len;
            rc = noise_decrypt_frame(c->noise, p + off, len - off, &used, &plain, &plain_len);
            if (rc == LS_EAGAIN)
                return off;
            if (rc < 0) {
                swarm_refuse(c->sw, SWARM_REFUSE_PROTOCOL_ERROR, &c->peer);
                swarm_conn_close(c, rc, "noise decryption failed");
                return len;
            }
            off += used;
            process_plain(c, plain, plain_len);
            break;
        }
        default:
            return len;
        }
    }
    return off;
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
    swarm_conn_t *c = arg;
    swarm_t *sw = c->sw;
    uint8_t *scratch = sw->rx_scratch;
    (void)what;
    size_t keep = c->rx_keep.len;
    if (keep)
        memcpy(scratch, c->rx_keep.data, keep);
    ssize_t n = read(fd, scratch + keep, SWARM_READ_CHUNK);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        swarm_conn_close(c, n == 0 ? LS_ECLOSED : -errno,
                         n == 0 ? "closed by the remote" : "read failed");
        return;
    }
    buf_clear(&c->rx_keep);
    c->last_rx_ms = swarm_now();
    sw->stats.bytes_in += (uint64_t)n;
    size_t total = keep + (size_t)n;
    size_t used = process_raw(c, scratch, total);
    if (c->state == CONN_DEAD)
        return;
    if (used < total && buf_append(&c->rx_keep, scratch + used, total - used) < 0) {
        swarm_conn_close(c, LS_ETOOBIG, "oversized frame");
        return;
    }
    if (!c->rx_keep.len && c->rx_keep.cap)
        buf_free(&c->rx_keep);
    on_write(c->fd, EV_WRITE, c);
}

/* Encrypt `sw->plain_out` into the send buffer. */
static int
seal_plain(swarm_conn_t *c)
{
    int rc = 0;
    if (c->sw->plain_out.len)
        rc = noise_encrypt(c->noise, c->sw->plain_out.data, c->sw->plain_out.len, &c->tx);
    buf_clear(&c->sw->plain_out);
    return rc;
}

/* Move what the protocol cores owe the peer into the send buffer. */
static int
produce_locked(swarm_conn_t *c)
{
    buf_t *plain = &c->sw->plain_out;
    int rc = 0;
    if (c->sec_mss) {
        if ((rc = mss_output(c->sec_mss, &c->tx)) < 0)
            return rc;
        if (c->state > CONN_SEC_MSS)
            mss_free(c->sec_mss);
    }
    if (c->state < CONN_NOISE)
        return 0;
    if ((rc = noise_output(c->noise, &c->tx)) < 0 || c->state < CONN_MUX_MSS)
        return rc;
    if (c->mux_mss) {
        buf_clear(plain);
        if ((rc = mss_output(c->mux_mss, plain)) < 0 || (rc = seal_plain(c)) < 0)
            return rc;
        if (c->state > CONN_MUX_MSS)
            mss_free(c->mux_mss);
    }
    /* Encrypt straight from yamux's queue (a ring: one or two pieces) into the send
     * buffer, one round's worth: no copy of the plaintext on the way. */
    for (size_t budget = SWARM_WRITE_CHUNK; budget && c->state == CONN_OPEN;) {
        const uint8_t *p;
        size_t n = LS_MIN(yamux_output_peek(c->ymx, &p), budget);
        if (n == 0)
            break;
        if ((rc = noise_encrypt(c->noise, p, n, &c->tx)) < 0)
            return rc;
        yamux_output_advance(c->ymx, n); /* may refill the queue: p is stale now */
        budget -= n;
    }
    /* room again: streams held by write_direct() write straight into the buffer */
    if (c->state == CONN_OPEN && c->tx.len - c->tx_off < SWARM_DIRECT_MAX_TX)
        yamux_wake_writable(c->ymx);
    return 0;
}

static int
produce(swarm_conn_t *c)
{
    c->sw->producing = true;
    int rc = produce_locked(c);
    c->sw->producing = false;
    return rc;
}

static void
write_blocked(swarm_conn_t *c, bool blocked)
{
    if (blocked != c->write_pending) {
        c->write_pending = blocked;
        if (blocked)
            event_add(c->ev_write, NULL);
        else
            event_del(c->ev_write);
    }
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
    swarm_conn_t *c = arg;
    (void)what;
    if (fd < 0)
        return;
    if (c->state == CONN_CONNECTING) {
        connect_done(c);
        return;
    }
    for (;;) {
        if (c->tx_off == c->tx.len) {
            buf_clear(&c->tx);
            c->tx_off = 0;
            int rc = c->state == CONN_DEAD ? 0 : produce(c);
            if (c->state == CONN_DEAD)
                return;
            if (rc < 0) {
                swarm_conn_close(c, rc, "cannot produce output");
                return;
            }
            if (c->tx.len == 0)
                break;
        }
        /* MSG_NOSIGNAL: a peer gone away is an error here, never a SIGPIPE */
        ssize_t n = send(fd, c->tx.data + c->tx_off, c->tx.len - c->tx_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN && c->state != CONN_DEAD) {
                write_blocked(c, true);
                return;
            }
            if (c->state != CONN_DEAD)
                swarm_conn_close(c, -errno, "write failed");
            return;
        }
        c->tx_off += (size_t)n;
        c->sw->stats.bytes_out += (uint64_t)n;
    }
    if (c->state != CONN_DEAD)
        write_blocked(c, false);
}

/* The non-blocking connect() of a dial finished. */
static void
connect_done(swarm_conn_t *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        swarm_conn_close(c, -err, "connect failed");
        return;
    }
    write_blocked(c, false);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    multiaddr_free(c->local_addr);
    if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
        c->local_addr = multiaddr_from_sockaddr_tcp((struct sockaddr *)&ss);
    conn_start_upgrade(c);
}

void
conn_want_flush(swarm_conn_t *c)
{
    if (c->state != CONN_DEAD && c->state != CONN_CONNECTING)
        event_active(c->ev_write, EV_WRITE, 0);
}

void
conn_tick(swarm_conn_t *c, uint64_t now)
{
    swarm_t *sw = c->sw;
    if (c->state < CONN_OPEN) {
        if (now - c->created_ms > sw->cfg.handshake_timeout_ms) {
            swarm_refuse(sw, SWARM_REFUSE_HANDSHAKE_TIMEOUT,
                         c->has_expected ? &c->expected : NULL);
            swarm_conn_close(c, LS_ETIMEDOUT, c->state == CONN_CONNECTING
                                                  ? "connect timeout" : "handshake timeout");
        }
        return;
    }
    if (now - c->last_rx_ms > sw->cfg.idle_timeout_ms) {
        swarm_refuse(sw, SWARM_REFUSE_IDLE, &c->peer);
        swarm_conn_close(c, LS_ETIMEDOUT, "idle timeout");
        return;
    }
    yamux_tick(c->ymx, now);
    int err = yamux_session_error(c->ymx);
    if (err < 0) {
        swarm_conn_close(c, err, "yamux session failed");
        return;
    }
    streams_tick(c, now);
    if (c->state == CONN_OPEN && c->draining && c->streams.count == 0) {
        swarm_conn_close(c, 0, "duplicate connection");
        return;
    }
    if (c->state == CONN_OPEN && c->tx_off == c->tx.len && c->tx.cap) {
        buf_free(&c->tx); /* idle: give the send buffer back */
        c->tx_off = 0;
    }
    conn_want_flush(c);
}

/* ---- accessors ---- */

const peer_id_t *
swarm_conn_peer(const swarm_conn_t *c)
{
    return &c->peer;
}

const multiaddr_t *
swarm_conn_remote_addr(const swarm_conn_t *c)
{
    return c->remote_addr;
}

const multiaddr_t *
swarm_conn_local_addr(const swarm_conn_t *c)
{
    return c->local_addr;
}

bool
swarm_conn_is_inbound(const swarm_conn_t *c)
{
    return c->inbound;
}

uint64_t
swarm_conn_opened_ms(const swarm_conn_t *c)
{
    return c->opened_ms;
}

size_t
swarm_conn_stream_count(const swarm_conn_t *c)
{
    return c->streams.count;
}

void *
swarm_conn_get_data(const swarm_conn_t *c, unsigned slot)
{
    return slot < SWARM_CONN_SLOTS ? c->slots[slot] : NULL;
}

void
swarm_conn_set_data(swarm_conn_t *c, unsigned slot, void *data)
{
    if (slot < SWARM_CONN_SLOTS)
        c->slots[slot] = data;
}
