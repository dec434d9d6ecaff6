/* yamux_internal — the session and stream bodies, shared by yamux_session.c and
 * yamux_stream.c, and visible to tests. Not part of the API. */
#ifndef LS_NET_YAMUX_INTERNAL_H
#define LS_NET_YAMUX_INTERNAL_H

#include "net/yamux/yamux.h"

/* Stream state bits. */
enum {
    YS_OUTBOUND = 1 << 0,   /* we opened it */
    YS_NEED_ACK = 1 << 1,   /* inbound, our ACK not sent yet */
    YS_UNACKED = 1 << 2,    /* outbound, the peer's ACK not received yet */
    YS_LOCAL_FIN = 1 << 3,  /* we sent FIN */
    YS_REMOTE_FIN = 1 << 4, /* the peer sent FIN */
    YS_BLOCKED = 1 << 5,    /* a write came up short: owe an on_writable */
};

typedef struct yamux_stream_t {
    uint32_t id;
    uint32_t send_window; /* bytes we may still send */
    uint32_t recv_window; /* bytes the peer may still send */
    uint32_t recv_max;    /* our current window size (auto-tuned) */
    uint32_t unconsumed;  /* delivered to the owner, not yet consumed */
    uint32_t flags;
    uint64_t epoch_ms;   /* when the window was last topped up */
    uint32_t window_cap; /* yamux_set_window_cap(); 0: the session's RTT rule */
} yamux_stream_t;

/* Open-addressing table of streams keyed by id; empty until the first stream. */
typedef struct stream_map_t {
    yamux_stream_t **slots;
    size_t cap; /* power of two, or 0 */
    size_t count;
} stream_map_t;

/* Receive state for the frame in progress. */
typedef struct rx_state_t {
    uint8_t header[YAMUX_HEADER_LEN];
    size_t header_len;  /* bytes of header collected */
    uint32_t stream_id; /* Data frame whose payload is arriving */
    uint32_t remaining; /* payload bytes still to come */
    uint16_t flags;     /* its flags, applied once the payload is in */
    bool discard;       /* the payload goes nowhere (unknown or refused stream) */
} rx_state_t;

/* Output queue: the bytes [head, head + len) modulo cap of `data` (yamux_out.c). */
typedef struct out_ring_t {
    uint8_t *data;
    size_t cap, head, len;
} out_ring_t;

struct yamux_session_t {
    bool is_client;
    yamux_config_t cfg;
    yamux_env_t env;
    int err; /* sticky session error */
    bool local_goaway, remote_goaway;
    uint32_t next_id;     /* next outbound id, 0 once exhausted */
    uint32_t unacked_out; /* outbound streams awaiting the peer's ACK */
    uint32_t unacked_in;  /* inbound streams we have not ACKed */
    bool open_blocked;    /* owe on_writable(0) for the ACK backlog */
    uint32_t n_blocked;   /* streams with YS_BLOCKED */
    stream_map_t streams;
    rx_state_t rx;
    out_ring_t out;   /* frames not yet output */
    size_t notify_rr; /* rotates the first stream told it is writable */
    uint64_t now_ms;  /* the latest time the caller told us */
    uint64_t rtt_ms;  /* last measured round trip, 0 = unknown */
    uint32_t ping_id; /* opaque value of the last ping sent */
    bool ping_outstanding;
    uint64_t ping_sent_ms;
    bool ping_ever; /* a keepalive ping was ever sent */
    yamux_stats_t stats;
};

/* yamux_out.c: the ring; appends never fail (out-of-memory aborts). */
void yamux_out_reserve(out_ring_t *r, size_t n);
void yamux_out_append(out_ring_t *r, const uint8_t *p, size_t n);
/* The first contiguous run of pending bytes (NULL, 0 when empty). */
size_t yamux_out_peek(const out_ring_t *r, const uint8_t **p);
/* Drop `n` sent bytes; an emptied big ring is freed. */
void yamux_out_advance(out_ring_t *r, size_t n);
void yamux_out_free(out_ring_t *r);

/* yamux_stream.c */
/* The stream with `id`, or NULL. */
yamux_stream_t *yamux_stream_get(const yamux_session_t *s, uint32_t id);
/* Create and index a stream (YS_* `flags`) with 256 KiB windows; `id` must be free. */
yamux_stream_t *yamux_stream_add(yamux_session_t *s, uint32_t id, uint32_t flags);
/* Unindex and free `st`, fixing the session's counters; calls nothing. */
void yamux_stream_remove(yamux_session_t *s, yamux_stream_t *st);
/* Free every stream and the table. */
void yamux_streams_free(yamux_session_t *s);
/* Queue a Window Update carrying `flags` (plus ACK if still owed) and `delta`. */
void yamux_queue_window_update(yamux_session_t *s, yamux_stream_t *st, uint16_t flags,
                               uint32_t delta);
/* Fire on_writable for blocked streams that can write again. */
void yamux_notify_writable(yamux_session_t *s);
/* Queue a session-level frame (Ping, Go Away, or RST for a stream we do not keep). */
void yamux_queue_frame(yamux_session_t *s, uint8_t type, uint16_t flags, uint32_t id,
                       uint32_t length);

#endif
