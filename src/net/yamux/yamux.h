/* yamux — the yamux stream multiplexer as libp2p uses it (`/yamux/1.0.0`), without I/O.
 *
 * Implements hashicorp/yamux spec.md and libp2p/specs yamux/README.md: frames are in
 * yamux_frame.h; streams opened by the client (the dialer) have odd ids, those of the
 * server even ones; each stream starts with a 256 KiB receive window in both
 * directions, grown by Window Update frames; SYN opens a stream, ACK accepts it, FIN
 * half-closes it, RST aborts it; Ping measures round trips; Go Away ends the session.
 *
 * The caller owns the connection and the clock. It feeds decrypted bytes to
 * yamux_input(), sends what yamux_output() produces, and calls yamux_tick() at the
 * deadline it returns. Events reach the owner through yamux_env_t callbacks, which may
 * call back into the session (write, consume, close, reset...) but must not free it.
 *
 * yamux does not buffer received data: each payload is handed to on_stream_data as it
 * arrives and the owner keeps it. The owner reports what its application has read
 * with yamux_consume(); only then does the window reopen, so the owner never holds
 * more than one window per stream. The window starts at 256 KiB and doubles, up to
 * yamux_config_t.max_window, when the reader drains it within four round trips (the
 * go/js-yamux rule), so a fast reader gets bulk throughput and a slow one costs
 * little; yamux_set_window_cap() lets the owner pick another cap for one stream.
 * The round trip comes from our own pings, so tuning starts once one has
 * been answered (the keepalive sends the first at the first yamux_tick()).
 * An idle stream costs 40 bytes, an idle session about 400 (no buffers, no table).
 *
 * ACK backlog (libp2p/specs yamux): an inbound stream is acknowledged with the first
 * frame we send on it, not implicitly. We open at most 256 streams the peer has not
 * acknowledged, and refuse with RST any inbound stream past 256 we have not
 * acknowledged ourselves. An owner that writes (e.g. the multistream-select header)
 * as soon as a stream opens keeps that count near zero.
 *
 * Frames for unknown or closed streams are dropped, as go-yamux does. Ping and Go
 * Away are accepted on any stream id (the spec says they "should" use 0). */
#ifndef LS_NET_YAMUX_H
#define LS_NET_YAMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/mem/mem.h"
#include "net/yamux/yamux_frame.h"

/** The protocol id negotiated with multistream-select. */
#define YAMUX_PROTOCOL_ID "/yamux/1.0.0"
/** The window every stream starts with in each direction (spec). */
#define YAMUX_INITIAL_WINDOW (256u * 1024)
/** The largest per-stream receive-window cap yamux_set_window_cap() accepts. */
#define YAMUX_MAX_WINDOW_CAP (16u * 1024 * 1024)
/** Most streams either side may have open without an ACK (libp2p spec). */
#define YAMUX_ACK_BACKLOG 256

typedef struct yamux_config_t {
    uint32_t max_streams;     /* open streams, both directions; inbound past it: RST */
    uint32_t max_window;      /* receive-window auto-tuning cap, >= initial window */
    uint32_t max_frame;       /* largest Data payload we send, >= 1 */
    size_t max_out;           /* Data bytes queued before yamux_write() blocks */
    uint64_t keepalive_ms;    /* ping this often (first ping at the first tick); 0 = never */
    uint64_t ping_timeout_ms; /* an unanswered ping this old kills the session */
    /* Paths whose RTT is under this many ms, or not measured yet, grow their
     * receive windows only up to short_window (0: every measured path may reach
     * max_window, as go-yamux does). A short path's bandwidth-delay product is small, but on
     * loopback 256 KiB still leaves the sender waiting for window updates: a 1 MiB
     * window measured 1.75x faster there, 2-16 MiB a little slower than 1 MiB
     * (docs/PERFORMANCE.md), so the swarm sets 2 ms and 1 MiB. */
    uint32_t tune_min_rtt_ms;
    uint32_t short_window;    /* default and minimum: the initial window */
} yamux_config_t;

/** Defaults: 1024 streams, 16 MiB max window, 64 KiB frames (js-yamux's size, and
 *  one Noise message), 1 MiB output queue, keepalive every 30 s, 15 s ping timeout. */
void yamux_config_default(yamux_config_t *cfg);

/** The owner's side. `ctx` is passed back and never freed. Every callback is
 *  optional (NULL): without on_stream_open every inbound stream is refused. */
typedef struct yamux_env_t {
    void *ctx;
    /** The peer opened stream `id`. Return 0 to accept it, non-zero to refuse it (the
     *  session sends RST and forgets it). */
    int (*on_stream_open)(void *ctx, uint32_t id);
    /** `len` bytes arrived on `id` (borrowed for the call). Until the owner passes
     *  them to yamux_consume(), they count against the stream's window. */
    void (*on_stream_data)(void *ctx, uint32_t id, const uint8_t *p, size_t len);
    /** `reason` 0: the peer sent FIN; no more data will arrive, the stream stays
     *  writable until yamux_close_write(). LS_ECONNRESET: the peer reset the stream;
     *  it is gone. Streams the owner resets itself, or that end with the session,
     *  get no call. */
    void (*on_stream_close)(void *ctx, uint32_t id, int reason);
    /** A write to `id` returned less than asked and more can be written now. With
     *  `id` 0: yamux_open_stream() failed with LS_EAGAIN and may be retried. */
    void (*on_writable)(void *ctx, uint32_t id);
    /** A ping we sent was answered after `rtt_ms`. */
    void (*on_ping_rtt)(void *ctx, uint64_t rtt_ms);
    /** The peer sent Go Away with `code` (YAMUX_GOAWAY_*); no new streams either way. */
    void (*on_goaway)(void *ctx, uint32_t code);
} yamux_env_t;

/** Counters for metrics; monotonic over the session's life. */
typedef struct yamux_stats_t {
    uint64_t frames_in, frames_out;
    uint64_t data_in, data_out; /* payload bytes */
    uint64_t streams_opened_in; /* accepted inbound streams */
    uint64_t streams_opened_out;
    uint64_t streams_refused;   /* inbound refused: limits, owner, Go Away */
    uint64_t streams_reset_in;  /* RST received */
    uint64_t streams_reset_out; /* RST sent, refusals included */
    uint64_t pings_sent, pings_answered;
    uint64_t protocol_errors;
} yamux_stats_t;

typedef struct yamux_session_t yamux_session_t;

/** Create a session. `is_client` is true on the side that dialed the connection (it
 *  opens odd stream ids). `cfg` may be NULL for the defaults; `cfg` and `env` are
 *  copied. Never returns NULL. An invalid config (a window under 256 KiB, a zero
 *  limit) is a programming error: asserted, and clamped when assertions are off. */
yamux_session_t *yamux_session_new(bool is_client, const yamux_config_t *cfg,
                                   const yamux_env_t *env);

/** Free the session and its streams without calling any callback; NULL is a no-op. */
void yamux_session_free_(yamux_session_t *s);
#define yamux_session_free(s) FREE_AND_NULL(yamux_session_t, yamux_session_free_, (s))

/** Feed received bytes (borrowed), split anywhere. Frames are handled as they
 *  complete and payloads delivered as they arrive. `*consumed` is set to the bytes
 *  taken: all of them, unless a callback or an error stops early. Returns 0, or a
 *  session-fatal error after which the caller sends yamux_goaway(PROTOCOL_ERROR),
 *  flushes the output and closes: LS_EPROTO (bad version or type, Data or Window
 *  Update on stream 0, SYN with the wrong parity or on an open stream, data past the
 *  receive window or after FIN, window overflow), or LS_ETIMEDOUT after a ping timed
 *  out. Errors are sticky. `now_ms` is a monotonic clock. */
int yamux_input(yamux_session_t *s, uint64_t now_ms, const uint8_t *p, size_t len,
                size_t *consumed);

/** Move pending frames into `out`, as many bytes as it has room for (a frame may be
 *  split across calls; the byte stream is what counts). Returns the number of bytes
 *  appended. Draining the queue may call on_writable, and what those callbacks write
 *  is appended in the same call when it fits. */
int yamux_output(yamux_session_t *s, buf_t *out);

/** Borrow pending output in place instead of copying it out: sets `*p` to the next
 *  byte to send and returns how many follow it contiguously (0 and NULL when none;
 *  the queue is a ring, so after yamux_output_advance() there may be more). `*p` is
 *  valid until the next call into the session that may queue or send. */
size_t yamux_output_peek(const yamux_session_t *s, const uint8_t **p);

/** The first `n` bytes from yamux_output_peek() are sent (`n` at most what it
 *  returned). As in yamux_output(), blocked writers may be told (on_writable) in this
 *  call, so a pointer from an earlier peek is invalid afterwards. */
void yamux_output_advance(yamux_session_t *s, size_t n);

/** True when yamux_output() has something to send. */
bool yamux_has_output(const yamux_session_t *s);

/** Open an outbound stream and store its id in `*id`. The SYN goes out at once in a
 *  Window Update frame (as go and js do), so data may follow immediately. Returns 0,
 *  LS_ECLOSED after Go Away (either way) or a session error, LS_ELIMIT at
 *  max_streams or when stream ids are exhausted, or LS_EAGAIN when 256 streams await
 *  the peer's ACK (on_writable(ctx, 0) fires when one arrives). */
int yamux_open_stream(yamux_session_t *s, uint32_t *id);

/** Queue up to `len` bytes (copied) on stream `id`. Returns the number accepted:
 *  bounded by the peer's window for the stream and by the output queue; when it is
 *  less than `len`, on_writable(ctx, id) fires once more can be written. Errors:
 *  LS_ENOENT (no such stream), LS_ECLOSED (after yamux_close_write(), or a session
 *  error). */
int yamux_write(yamux_session_t *s, uint32_t id, const uint8_t *p, size_t len);

/** The largest yamux_write_small() write. */
#define YAMUX_SMALL_WRITE 4096u

/** Queue a short protocol message (multistream-select) whole even when the output
 *  queue is full of other streams' data: a negotiation must not fail because a bulk
 *  stream filled the queue. The overshoot is bounded by YAMUX_SMALL_WRITE per call
 *  and callers make a few per stream. Returns `len`, 0 when the stream's send window
 *  is smaller than `len` (not for a new stream: its window is 256 KiB), LS_EINVAL
 *  over YAMUX_SMALL_WRITE, or yamux_write()'s errors. */
int yamux_write_small(yamux_session_t *s, uint32_t id, const uint8_t *p, size_t len);

/** Zero-copy write: account for a Data frame of up to `len` bytes on `id` and write
 *  its header to `hdr`; the caller sends the header and then the first n bytes of its
 *  data itself, before anything yamux_output() gives later. Only while the output
 *  queue is empty (else LS_EAGAIN: use yamux_write(), which keeps the order). Returns
 *  n: bounded by the peer's window and by max_frame; 0 (or less than `len` because of
 *  the window) means on_writable(ctx, id) fires once the window reopens. Errors as
 *  yamux_write(). */
int yamux_write_header(yamux_session_t *s, uint32_t id, size_t len,
                       uint8_t hdr[static YAMUX_HEADER_LEN]);

/** The caller holds `id`'s data back for a reason of its own (its send buffer is
 *  full): mark the stream blocked, so that on_writable(ctx, id) fires at the next
 *  yamux_wake_writable() while the stream can write. 0 or LS_ENOENT. */
int yamux_hold(yamux_session_t *s, uint32_t id);

/** The caller's send buffer has room again: blocked streams that can write get their
 *  on_writable now. */
void yamux_wake_writable(yamux_session_t *s);

/** Half-close: send FIN. The stream stays readable until the peer's FIN, and is
 *  freed once both have been sent. 0 (also when already closed) or LS_ENOENT. */
int yamux_close_write(yamux_session_t *s, uint32_t id);

/** Abort: send RST and forget the stream at once. 0 or LS_ENOENT. */
int yamux_reset(yamux_session_t *s, uint32_t id);

/** The application has read `n` more bytes of `id`. Once at least half the window
 *  is free again, a Window Update goes out (growing the window when the reader is
 *  fast; the clock is the last now_ms given to the session). Returns 0, LS_ENOENT
 *  (the stream is gone: harmless), or LS_EINVAL if `n` exceeds what was delivered
 *  and not yet consumed. */
int yamux_consume(yamux_session_t *s, uint32_t id, size_t n);

/** Set how large stream `id`'s receive window may grow, overriding the session's
 *  choice (short_window or max_window by the measured RTT) for this stream: for a
 *  protocol that knows its traffic better, e.g. bulk transfers with their own flow
 *  control that want a large window even on a short path. `bytes` is clamped to
 *  [YAMUX_INITIAL_WINDOW, YAMUX_MAX_WINDOW_CAP]; 0 goes back to the session's rule.
 *  The window still grows by the auto-tuning rule from its current size; a cap
 *  under it stops the growth and never takes back what the peer was granted.
 *  Returns 0 or LS_ENOENT. */
int yamux_set_window_cap(yamux_session_t *s, uint32_t id, uint32_t bytes);

/** Send a Ping to measure the round trip (on_ping_rtt reports it). One ping is in
 *  flight at a time: while one is, this does nothing. 0 or LS_ECLOSED. */
int yamux_ping(yamux_session_t *s, uint64_t now_ms);

/** Send Go Away with `code` (YAMUX_GOAWAY_*): no new streams either way from now
 *  on (inbound SYNs are refused with RST); open streams go on. Works after a
 *  session error too, to tell the peer why. Only the first call sends. Returns 0. */
int yamux_goaway(yamux_session_t *s, uint32_t code);

/** Run timers: keepalive pings and the ping timeout. Returns the absolute time of
 *  the next deadline (UINT64_MAX when there is none). A timed-out ping makes the
 *  session error LS_ETIMEDOUT (see yamux_session_error()). */
uint64_t yamux_tick(yamux_session_t *s, uint64_t now_ms);

/** 0 while the session is healthy, else the sticky error (LS_EPROTO, LS_ETIMEDOUT). */
int yamux_session_error(const yamux_session_t *s);

/** True once either side sent Go Away. */
bool yamux_is_going_away(const yamux_session_t *s);

/** Number of open streams (both directions). */
size_t yamux_stream_count(const yamux_session_t *s);

/** Bytes that may be written to `id` now under the peer's window; 0 if unknown. */
uint32_t yamux_send_window(const yamux_session_t *s, uint32_t id);

/** Copy the counters. */
void yamux_get_stats(const yamux_session_t *s, yamux_stats_t *out);

#endif
