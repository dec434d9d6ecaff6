/* swarm_internal — the bodies of the swarm's objects, shared by its files and
 * visible to tests. Not part of the API. */
#ifndef LS_NET_SWARM_INTERNAL_H
#define LS_NET_SWARM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "lib/buf/buf.h"
#include "net/mss/mss.h"
#include "net/noise/noise.h"
#include "net/swarm/swarm.h"
#include "net/yamux/yamux.h"

/* One read takes at most this much; the shared read buffer adds room for a partial
 * Noise frame kept from the previous read. */
#define SWARM_READ_CHUNK (1024u * 1024)
/* Plaintext produced (and encrypted) per round of output: four whole 63 KiB Noise
 * frames (noise.c), so a round leaves no short frame behind, and a round's
 * ciphertext (~252 KiB) stays in L2 until write() copies it. */
#define SWARM_WRITE_CHUNK (4u * 63 * 1024)
/* swarm_stream_write() encrypts writes of at least SWARM_DIRECT_MIN bytes straight
 * from the caller's buffer (smaller ones are cheaper batched in yamux's queue), in
 * frames of SWARM_DIRECT_FRAME data bytes: with the 12-byte yamux header that is
 * 63 KiB of plaintext, the size OpenSSL's ChaCha20 is fastest at (noise.c), and one
 * Noise frame holds one yamux frame. It stops while the send buffer holds
 * SWARM_DIRECT_MAX_TX bytes not yet written (then yamux's queue takes over). */
#define SWARM_DIRECT_MIN 4096u
#define SWARM_DIRECT_FRAME (63u * 1024 - 12)
#define SWARM_DIRECT_MAX_TX (1024u * 1024)
#define SWARM_MAX_EVENTS 16
#define SWARM_CONN_SLOTS 8
#define SWARM_MAX_BOOK 1024        /* peers in the address book */
#define SWARM_BOOK_ADDRS 8
#define SWARM_TICK_MS 250

typedef enum conn_state_t {
    CONN_CONNECTING = 0, /* TCP connect in progress (outbound) */
    CONN_SEC_MSS,        /* multistream-select for /noise, in clear */
    CONN_NOISE,          /* the Noise handshake */
    CONN_MUX_MSS,        /* multistream-select for /yamux/1.0.0, encrypted */
    CONN_OPEN,           /* yamux running */
    CONN_DEAD
} conn_state_t;

typedef enum stream_state_t {
    STREAM_NEGOTIATING = 0,
    STREAM_OPEN,
    STREAM_DEAD
} stream_state_t;

typedef struct dial_waiter_t {
    swarm_dial_fn cb;
    void *ctx;
    struct dial_waiter_t *next;
} dial_waiter_t;

struct swarm_stream_t {
    swarm_conn_t *conn;
    uint32_t id;
    bool inbound;
    bool local_fin, remote_fin;
    stream_state_t state;
    int close_reason;
    mss_t *mss;                 /* while negotiating */
    char *protocol;             /* agreed */
    int handler;                /* index into sw->handlers for inbound, else -1 */
    swarm_open_fn open_cb;      /* outbound, until negotiated */
    void *open_ctx;
    swarm_stream_cbs_t cbs;
    void *ud;
    uint64_t created_ms;
    struct swarm_stream_t *next_dead;
};

/* Open-addressing table of a connection's streams by yamux id. */
typedef struct stream_table_t {
    swarm_stream_t **slots;
    size_t cap, count;
} stream_table_t;

struct swarm_conn_t {
    swarm_t *sw;
    struct swarm_conn_t *prev, *next;
    evutil_socket_t fd;
    struct event *ev_read, *ev_write;
    bool write_pending;         /* ev_write added: the socket was full */
    conn_state_t state;
    bool inbound;
    bool announced;             /* on_connected was called */
    bool has_expected;
    bool dial_aborted;          /* closed by swarm_disconnect() before it was up */
    bool draining;              /* the losing duplicate: closed once its streams end */
    peer_id_t expected, peer;
    multiaddr_t *remote_addr, *local_addr;
    mss_t *sec_mss, *mux_mss;
    noise_t *noise;
    yamux_session_t *ymx;
    buf_t rx_keep;              /* raw bytes of an incomplete frame */
    buf_t tx;                   /* bytes to write, from tx_off */
    size_t tx_off;
    uint64_t created_ms, opened_ms, last_rx_ms;
    stream_table_t streams;
    double tokens;              /* inbound stream rate limit */
    uint64_t tokens_ms;
    uint32_t refusals;
    void *slots[SWARM_CONN_SLOTS];
    dial_waiter_t *waiters;
    int close_err;
    struct swarm_conn_t *next_dead;
};

typedef struct handler_t {
    char *protocol;
    swarm_handler_fn fn;
    void *ctx;
    uint32_t max_streams;
} handler_t;

typedef struct book_entry_t {
    peer_id_t peer;
    multiaddr_t *addrs[SWARM_BOOK_ADDRS];
    size_t n;
} book_entry_t;

typedef struct listener_t {
    evutil_socket_t fd;
    struct event *ev;
    multiaddr_t *addr;
} listener_t;

struct swarm_t {
    struct event_base *base;
    ed25519_keypair_t key;
    peer_id_t self;
    swarm_config_t cfg;
    swarm_hooks_t hooks;
    swarm_stats_t stats;
    listener_t *listeners;
    multiaddr_t **listen_addrs;
    size_t n_listeners;
    swarm_conn_t *conns;        /* every live connection */
    size_t n_conns;
    swarm_events_t events[SWARM_MAX_EVENTS];
    size_t n_events;
    handler_t *handlers;
    const char **protocol_list; /* mirrors handlers, for swarm_protocols() */
    size_t n_handlers;
    void (*protocols_changed)(void *ctx);
    void *protocols_changed_ctx;
    book_entry_t *book;
    size_t n_book;
    swarm_addr_lookup_fn lookup;
    void *lookup_ctx;
    uint8_t *rx_scratch;        /* SWARM_READ_CHUNK + NOISE_MAX_FRAME */
    buf_t plain;                /* decrypted bytes, shared */
    buf_t plain_out;            /* bytes to encrypt, shared */
    bool closing;               /* inside swarm_free() */
    bool producing;             /* inside produce(): no nested flush */
    struct event *ev_tick, *ev_reap;
    swarm_stream_t *dead_streams;
    swarm_conn_t *dead_conns;
};

/* swarm.c */
void swarm_refuse(swarm_t *sw, swarm_refusal_t why, const peer_id_t *peer);
void swarm_schedule_reap(swarm_t *sw);
uint64_t swarm_now(void);

/* swarm_conn.c */
swarm_conn_t *conn_new(swarm_t *sw, evutil_socket_t fd, bool inbound);
void conn_start_upgrade(swarm_conn_t *c);
void conn_want_flush(swarm_conn_t *c);
void conn_tick(swarm_conn_t *c, uint64_t now);
void conn_destroy(swarm_conn_t *c);
void conn_notify_dead(swarm_conn_t *c);

/* swarm_stream.c */
void stream_table_free(stream_table_t *t);
int streams_on_open(void *ctx, uint32_t id);
void streams_on_data(void *ctx, uint32_t id, const uint8_t *p, size_t len);
void streams_on_close(void *ctx, uint32_t id, int reason);
void streams_on_writable(void *ctx, uint32_t id);
void streams_kill_all(swarm_conn_t *c, int reason);
void streams_tick(swarm_conn_t *c, uint64_t now);
void stream_reap(swarm_stream_t *s);

/* swarm_dial.c */
void dial_waiters_finish(swarm_conn_t *c, int err);
void swarm_book_free(swarm_t *sw);

#endif
