/* swarm — the libp2p host glue: TCP over libevent, the connection upgrade, streams
 * and the protocol router (libp2p/specs connections/README.md).
 *
 * A connection is upgraded exactly as libp2p specifies: multistream-select `/noise`,
 * the Noise XX handshake (net/noise), multistream-select `/yamux/1.0.0` inside the
 * secure channel, then a yamux session (net/yamux). Every inbound stream negotiates
 * its protocol with multistream-select as responder and is handed to the handler
 * registered for that protocol ID; outbound streams propose protocols in order.
 *
 * The protocol cores stay without I/O; this module owns the sockets, the buffers and
 * the clock. Everything runs on one libevent loop (ARCHITECTURE.md). Callbacks may
 * call back into the swarm (write, close, reset, open) but must not free it.
 *
 * Objects: a swarm_conn_t lives from the first byte until its on_disconnected event;
 * a swarm_stream_t from its handler or open callback until its on_close callback.
 * Both are freed by the swarm afterwards: never use a pointer past those events.
 *
 * Simultaneous connects: when two peers dial each other at once, each end keeps the
 * connection dialled by the peer with the smaller ID (so both keep the same one) and
 * drains the other: both are announced, new streams go to the kept one, and the
 * drained one closes once its streams end. The remote may have any of libp2p's key
 * types (net/noise); ours is Ed25519.
 *
 * Memory: an idle connection keeps no data buffers (read and plaintext buffers are
 * shared by the swarm; the send buffer is released once drained), so it costs its
 * structs, the Noise keys and the yamux session. */
#ifndef LS_NET_SWARM_H
#define LS_NET_SWARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "lib/crypto/ed25519.h"
#include "lib/mem/mem.h"
#include "lib/multiaddr/multiaddr.h"
#include "lib/peerid/peerid.h"

typedef struct swarm_t swarm_t;
typedef struct swarm_conn_t swarm_conn_t;
typedef struct swarm_stream_t swarm_stream_t;

/** Limits. Zero fields take the defaults of swarm_config_default(). */
typedef struct swarm_config_t {
    uint32_t max_conns;              /* all connections, handshaking ones included */
    uint32_t max_streams_per_conn;   /* yamux max_streams */
    uint32_t inbound_streams_rate;   /* per connection: new inbound streams per second */
    uint32_t inbound_streams_burst;  /* ... token bucket depth */
    uint32_t flood_refusals;         /* refused inbound streams that close the connection */
    uint64_t handshake_timeout_ms;   /* from TCP connect to the yamux session */
    uint64_t negotiate_timeout_ms;   /* a stream's protocol negotiation */
    uint64_t idle_timeout_ms;        /* nothing received for this long: close */
    uint64_t dial_timeout_ms;        /* TCP connect */
    uint32_t max_window;             /* yamux receive window cap */
} swarm_config_t;

/** Defaults: 512 connections, 1024 streams per connection, 100 new inbound streams
 *  per second with a burst of 400, 200 refusals make a flood, 10 s handshake and
 *  negotiation timeouts, 120 s idle timeout, 10 s dial timeout, 16 MiB window. */
void swarm_config_default(swarm_config_t *cfg);

/** Why something was refused or a connection ended badly; passed to the hooks so the
 *  node can count it in /metrics and tell the trust manager. */
typedef enum swarm_refusal_t {
    SWARM_REFUSE_MAX_CONNS = 0,     /* inbound connection over max_conns */
    SWARM_REFUSE_HANDSHAKE,         /* upgrade failed (garbage, bad Noise, no protocol) */
    SWARM_REFUSE_HANDSHAKE_TIMEOUT,
    SWARM_REFUSE_PEER_ID,           /* dialled peer proved another identity */
    SWARM_REFUSE_PROTOCOL_ERROR,    /* yamux/noise violation after the upgrade */
    SWARM_REFUSE_STREAM_LIMIT,      /* inbound stream over a stream limit */
    SWARM_REFUSE_STREAM_RATE,       /* inbound stream over the rate limit */
    SWARM_REFUSE_STREAM_FLOOD,      /* too many refusals: connection closed */
    SWARM_REFUSE_NO_PROTOCOL,       /* stream for a protocol we do not serve */
    SWARM_REFUSE_MESSAGE_SIZE,      /* a protocol message over its limit */
    SWARM_REFUSE_IDLE,              /* idle timeout */
    SWARM_REFUSE_INBOUND_DENIED,    /* the connection manager said no */
    SWARM_REFUSE_RATE_LIMITED,      /* inbound stream refused by hooks.allow_stream */
    SWARM_REFUSE_COUNT
} swarm_refusal_t;

/** Short snake_case name of `r` ("max_conns", ...), for metric labels. */
const char *swarm_refusal_name(swarm_refusal_t r);

/** Hooks to the layers above (the net layer must not know node/). All optional. */
typedef struct swarm_hooks_t {
    void *ctx;
    /** Something was refused; `peer` is NULL when not yet known. */
    void (*on_refusal)(void *ctx, swarm_refusal_t why, const peer_id_t *peer);
    /** May an inbound connection be accepted now? (connection-manager policy) Asked
     *  after the max_conns check, before the handshake. */
    bool (*allow_inbound)(void *ctx);
    /** May `peer` open an inbound stream of `protocol` now? Asked once the protocol
     *  is negotiated and the per-protocol limit passed, before the handler runs; a
     *  false answer resets the stream and counts SWARM_REFUSE_RATE_LIMITED (per-peer
     *  message rate limits). */
    bool (*allow_stream)(void *ctx, const peer_id_t *peer, const char *protocol);
    /** An outbound dial to a known peer ID (a multiaddr with /p2p) ended without a
     *  connection: `err` as for swarm_dial_fn. Called once per failed connection
     *  attempt, whoever started the dial, before the dial callbacks. */
    void (*on_dial_failed)(void *ctx, const peer_id_t *peer, int err);
} swarm_hooks_t;

/** Counters read by the node (monotonic unless noted). */
typedef struct swarm_stats_t {
    uint64_t conns_in, conns_out;       /* upgraded connections */
    uint64_t conns_open;                /* gauge: upgraded, now */
    uint64_t conns_pending;             /* gauge: handshaking or dialling, now */
    uint64_t streams_in, streams_out;   /* negotiated streams */
    uint64_t streams_open;              /* gauge */
    uint64_t bytes_in, bytes_out;       /* on the wire */
    uint64_t dials_failed;
    uint64_t conns_merged;              /* simultaneous connects resolved to one */
    uint64_t refused[SWARM_REFUSE_COUNT];
} swarm_stats_t;

/** Create a swarm on `base` (borrowed) for identity `key` (copied). `cfg` may be
 *  NULL for the defaults; `cfg` and `hooks` (may be NULL) are copied. Never NULL. */
swarm_t *swarm_new(struct event_base *base, const ed25519_keypair_t *key,
                   const swarm_config_t *cfg, const swarm_hooks_t *hooks);

/** Close every connection and free. Pending callbacks are all called (open and
 *  dial callbacks with LS_ECLOSED, stream on_close, on_disconnected) so that the
 *  services registered on the swarm free their data: free the swarm before them.
 *  NULL is a no-op. */
void swarm_free_(swarm_t *sw);
#define swarm_free(s) FREE_AND_NULL(swarm_t, swarm_free_, (s))

/** Our peer ID (owned by the swarm). */
const peer_id_t *swarm_local_peer(const swarm_t *sw);

/** The event loop the swarm runs on. */
struct event_base *swarm_base(const swarm_t *sw);

/** Our identity key pair (owned by the swarm), for protocols that sign. */
const ed25519_keypair_t *swarm_local_key(const swarm_t *sw);

/** Read the counters. */
void swarm_get_stats(const swarm_t *sw, swarm_stats_t *out);

/* ---- transport (swarm_listen.c) ---- */

/** Listen on a /ip4/.../tcp/N or /ip6/.../tcp/N multiaddr (port 0 picks one). The
 *  bound address is added to swarm_listen_addrs(). 0, LS_ENOTSUP for another shape,
 *  or -errno. */
int swarm_listen(swarm_t *sw, const multiaddr_t *ma);

/** The bound listen addresses (owned by the swarm, without /p2p); count returned.
 *  Valid until the next swarm_listen(). */
size_t swarm_listen_addrs(const swarm_t *sw, const multiaddr_t *const **addrs);

/** The addresses to announce: the bound ones, with unspecified addresses
 *  (0.0.0.0, ::) replaced by the loopback and interface addresses of this host.
 *  Appended to `out` as new multiaddrs the caller frees; count returned. */
size_t swarm_announce_addrs(const swarm_t *sw, multiaddr_t ***out);

/* ---- connections (swarm_conn.c) ---- */

/** Connection events. `conn` is upgraded (yamux running) in on_connected; in
 *  on_disconnected it is about to be freed. */
typedef struct swarm_events_t {
    void *ctx;
    void (*on_connected)(void *ctx, swarm_conn_t *conn);
    void (*on_disconnected)(void *ctx, swarm_conn_t *conn, int reason);
} swarm_events_t;

/** Add a listener for connection events (copied; up to 16). */
void swarm_add_events(swarm_t *sw, const swarm_events_t *ev);

/** The remote peer (valid once upgraded). */
const peer_id_t *swarm_conn_peer(const swarm_conn_t *c);
/** The remote's TCP address (owned by `c`). */
const multiaddr_t *swarm_conn_remote_addr(const swarm_conn_t *c);
/** Our side of the TCP connection (owned by `c`). */
const multiaddr_t *swarm_conn_local_addr(const swarm_conn_t *c);
/** True if the remote dialled us. */
bool swarm_conn_is_inbound(const swarm_conn_t *c);
/** Monotonic ms when it was upgraded. */
uint64_t swarm_conn_opened_ms(const swarm_conn_t *c);
/** Open streams on it. */
size_t swarm_conn_stream_count(const swarm_conn_t *c);
/** Per-connection data of upper layers, keyed by a small slot number (0..7) each
 *  layer picks; NULL until set. The owner frees it in on_disconnected. */
void *swarm_conn_get_data(const swarm_conn_t *c, unsigned slot);
void swarm_conn_set_data(swarm_conn_t *c, unsigned slot, void *data);

/** Close `c` (Go Away, flush, then close) with `reason` (logged). Events follow. */
void swarm_conn_close(swarm_conn_t *c, int err, const char *reason);

/** The upgraded connection to `peer` that new streams should use, or NULL: the
 *  first one that is not a drained duplicate (of a simultaneous connect, which
 *  stays until its streams end), else a drained one. */
swarm_conn_t *swarm_find_conn(const swarm_t *sw, const peer_id_t *peer);

/** Upgraded connections: fills up to `max` pointers, returns the total count. */
size_t swarm_conns(const swarm_t *sw, swarm_conn_t **out, size_t max);

/** Close every connection to `peer`; returns how many. Also aborts a dial of
 *  `peer` still connecting or handshaking (not counted): its callbacks get
 *  LS_ECLOSED and hooks.on_dial_failed is not called. */
int swarm_disconnect(swarm_t *sw, const peer_id_t *peer, const char *reason);

/** Upgraded connections to `peer` now. */
size_t swarm_peer_conn_count(const swarm_t *sw, const peer_id_t *peer);

/* ---- dialling (swarm_dial.c) ---- */

/** Called once with the upgraded connection, or NULL and an error: LS_EPEERID when
 *  the remote proved another identity, LS_ETIMEDOUT, -errno from the socket,
 *  LS_EPROTO or LS_ENOTSUP from the upgrade, LS_ENOENT if no address is known. */
typedef void (*swarm_dial_fn)(void *ctx, swarm_conn_t *conn, int err);

/** Dial `ma` (/ip4|ip6/.../tcp/N, optionally ending in /p2p/<id>, which the remote
 *  must then prove). Reuses an upgraded connection to that peer. `cb` may be NULL.
 *  Returns 0 (the callback follows, maybe before this returns when reusing),
 *  or an error (LS_ENOTSUP for an unsupported address, LS_EINVAL for a dial to
 *  ourselves, LS_ELIMIT at max_conns) and the callback is not called. */
int swarm_dial(swarm_t *sw, const multiaddr_t *ma, swarm_dial_fn cb, void *ctx);

/** Remember addresses of `peer` for later dials (copied; at most 8 kept). */
void swarm_add_addrs(swarm_t *sw, const peer_id_t *peer, const multiaddr_t *const *addrs,
                     size_t n);

/** Source of addresses for peers the swarm has none for (the peer store). Fills
 *  up to `max` new multiaddrs the swarm frees; returns the count. */
typedef size_t (*swarm_addr_lookup_fn)(void *ctx, const peer_id_t *peer, multiaddr_t **out,
                                       size_t max);
void swarm_set_addr_lookup(swarm_t *sw, swarm_addr_lookup_fn fn, void *ctx);

/** Dial `peer` using its known addresses, or reuse a connection. As swarm_dial(). */
int swarm_dial_peer(swarm_t *sw, const peer_id_t *peer, swarm_dial_fn cb, void *ctx);

/* ---- streams and the router (swarm_stream.c) ---- */

/** Stream callbacks, set by the handler or the opener with swarm_stream_set_cbs(). */
typedef struct swarm_stream_cbs_t {
    /** `len` bytes arrived (borrowed for the call). Return how many the application
     *  has consumed; the rest it keeps itself and reports later with
     *  swarm_stream_consume(): until then they count against the flow-control window,
     *  which is how a slow reader pushes back. */
    size_t (*on_data)(void *ud, swarm_stream_t *s, const uint8_t *p, size_t len);
    /** The remote half-closed: no more data will arrive. */
    void (*on_eof)(void *ud, swarm_stream_t *s);
    /** A write came up short earlier and more can be written now. */
    void (*on_writable)(void *ud, swarm_stream_t *s);
    /** Final call: the stream is gone (both sides closed, reset by either side, or
     *  the connection ended; `reason` 0 for a clean end). Free `ud` here. */
    void (*on_close)(void *ud, swarm_stream_t *s, int reason);
} swarm_stream_cbs_t;

/** An inbound stream negotiated `protocol` (owned by the swarm). The handler calls
 *  swarm_stream_set_cbs() or resets the stream. */
typedef void (*swarm_handler_fn)(void *ctx, swarm_stream_t *s, const char *protocol);

/** Serve `protocol` (copied) with `fn`; `max_streams` (0: no limit) bounds inbound
 *  streams of this protocol open at once on one connection. Replaces an earlier
 *  handler of that protocol. */
void swarm_handle(swarm_t *sw, const char *protocol, swarm_handler_fn fn, void *ctx,
                  uint32_t max_streams);

/** Stop serving `protocol`. */
void swarm_unhandle(swarm_t *sw, const char *protocol);

/** The protocols served, in registration order (owned by the swarm); count returned. */
size_t swarm_protocols(const swarm_t *sw, const char *const **out);

/** Called when the served protocols change (for identify push). */
void swarm_on_protocols_changed(swarm_t *sw, void (*fn)(void *ctx), void *ctx);

/** The opened stream with the agreed protocol, or NULL and an error (dial errors,
 *  LS_ENOTSUP when every protocol was refused, LS_ECLOSED, LS_ELIMIT, LS_ETIMEDOUT). */
typedef void (*swarm_open_fn)(void *ctx, swarm_stream_t *s, int err, const char *protocol);

/** Open a stream to `peer` proposing `protocols[0..n)` (copied), dialling first if
 *  not connected. Returns 0 and the callback follows later (never before this
 *  returns), or an error and it is not called. */
int swarm_open_stream(swarm_t *sw, const peer_id_t *peer, const char *const *protocols,
                      size_t n, swarm_open_fn cb, void *ctx);

/** As swarm_open_stream() on a given upgraded connection. */
int swarm_conn_open_stream(swarm_conn_t *c, const char *const *protocols, size_t n,
                           swarm_open_fn cb, void *ctx);

/** Set the callbacks (copied) and their user data. */
void swarm_stream_set_cbs(swarm_stream_t *s, const swarm_stream_cbs_t *cbs, void *ud);

/** Queue up to `len` bytes (copied). Returns the number accepted (on_writable follows
 *  a short write), LS_ECLOSED after swarm_stream_close_write() or on a dead stream. */
int swarm_stream_write(swarm_stream_t *s, const uint8_t *p, size_t len);

/** Report `n` more bytes consumed (see on_data). */
void swarm_stream_consume(swarm_stream_t *s, size_t n);

/** Let `s`'s receive window grow to `bytes` (yamux_set_window_cap(): clamped to
 *  [256 KiB, 16 MiB], 0 for the swarm's default) instead of the connection's choice
 *  by round-trip time. For bulk protocols with their own flow control, whose sender
 *  should not wait for window updates even on loopback. Does nothing on a stream
 *  that is no longer open. */
void swarm_stream_set_window(swarm_stream_t *s, uint32_t bytes);

/** Half-close: nothing more will be written. */
void swarm_stream_close_write(swarm_stream_t *s);

/** Abort the stream. on_close follows with LS_ECONNRESET (deferred, never inside
 *  this call). */
void swarm_stream_reset(swarm_stream_t *s);

swarm_conn_t *swarm_stream_conn(const swarm_stream_t *s);
const char *swarm_stream_protocol(const swarm_stream_t *s);
bool swarm_stream_is_inbound(const swarm_stream_t *s);

/** Report that a protocol message over its size limit was received on `s` (counted,
 *  told to the hooks); the caller then resets the stream. */
void swarm_stream_report_oversize(swarm_stream_t *s);

#endif
