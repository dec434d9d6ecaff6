/* identify — libp2p identify, `/ipfs/id/1.0.0` and `/ipfs/id/push/1.0.0`
 * (libp2p/specs identify/README.md).
 *
 * On every new connection we ask the remote who it is; we answer the same question
 * with our protocol version, agent version (`lester/<version>`), public key, listen
 * addresses, the address we observe the remote at, and every protocol we serve.
 * When our protocols or addresses change we push the new message to every peer.
 * The message is one protobuf (identify.proto) behind a varint length, as go, js
 * and rust send it; at most IDENTIFY_MAX_MESSAGE bytes are accepted. */
#ifndef LS_NET_IDENTIFY_H
#define LS_NET_IDENTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/mem/mem.h"
#include "lib/multiaddr/multiaddr.h"
#include "net/swarm/swarm.h"

#define IDENTIFY_PROTOCOL_ID "/ipfs/id/1.0.0"
#define IDENTIFY_PUSH_PROTOCOL_ID "/ipfs/id/push/1.0.0"
#define IDENTIFY_PROTOCOL_VERSION "ipfs/0.1.0"
/** Largest identify message accepted (the varint prefix excluded). */
#define IDENTIFY_MAX_MESSAGE (64u * 1024)
/** Most protocols and listen addresses kept from one message. */
#define IDENTIFY_MAX_PROTOCOLS 256
#define IDENTIFY_MAX_ADDRS 64
/** Longest protocol id or version string kept. */
#define IDENTIFY_MAX_STRING 1024
/** The per-connection slot (swarm_conn_get_data) holding the remote's info. */
#define IDENTIFY_CONN_SLOT 0

/** A decoded identify message. Absent fields are NULL / 0. */
typedef struct identify_info_t {
    char *protocol_version;
    char *agent_version;
    uint8_t *public_key; /* the PublicKey protobuf */
    size_t public_key_len;
    multiaddr_t **listen_addrs;
    size_t n_listen_addrs;
    multiaddr_t *observed_addr;
    char **protocols;
    size_t n_protocols;
    bool has_protocols, has_listen_addrs; /* a push may carry only some fields */
} identify_info_t;

/* ---- codec (identify_codec.c) ---- */

/** Append the protobuf of `info` (without length prefix) to `out`. 0 or LS_ETOOBIG. */
int identify_encode(const identify_info_t *info, buf_t *out);

/** Decode the protobuf `p[0..len)` into `*out` (zeroed first; free with
 *  identify_info_clear() on success). Fields may come in any order; unknown ones
 *  (signedPeerRecord included) are skipped, and a repeated optional field keeps
 *  its last value, as protobuf requires. Listen and observed addresses this build
 *  cannot parse are skipped. 0; LS_ETOOBIG over IDENTIFY_MAX_MESSAGE or past the
 *  counts and string limits; LS_EINVAL if malformed, or if the public key is not a
 *  valid PublicKey protobuf or a string is not strict UTF-8 or holds a NUL. */
int identify_decode(const uint8_t *p, size_t len, identify_info_t *out);

/** Free what `info` holds and zero it. */
void identify_info_clear(identify_info_t *info);

/** Merge a push: replace the fields present in `push` (moved out of it). */
void identify_info_merge(identify_info_t *dst, identify_info_t *push);

/* ---- service (identify.c) ---- */

typedef struct identify_t identify_t;

typedef struct identify_env_t {
    void *ctx;
    /** A remote identified itself (`push`: through identify push). `info` is the
     *  merged view, owned by the connection, valid until its on_disconnected. */
    void (*on_identified)(void *ctx, swarm_conn_t *c, const identify_info_t *info, bool push);
} identify_env_t;

/** Serve identify and push on `sw` (borrowed, must outlive it) and identify every
 *  new connection. `agent_version` is copied; `env` (may be NULL) is copied.
 *  Never returns NULL. */
identify_t *identify_new(swarm_t *sw, const char *agent_version, const identify_env_t *env);
void identify_free_(identify_t *id);
#define identify_free(i) FREE_AND_NULL(identify_t, identify_free_, (i))

/** Set the listen addresses we announce (copied, without /p2p). Pushes to every
 *  connected peer if they changed. */
void identify_set_addrs(identify_t *id, const multiaddr_t *const *addrs, size_t n);

/** Send our current message to every connected peer over identify push. */
void identify_push_all(identify_t *id);

/** What the remote of `c` told us, or NULL if it has not yet. */
const identify_info_t *identify_conn_info(const swarm_conn_t *c);

/** Called with the remote's info (borrowed for the call) or NULL and an error. */
typedef void (*identify_fn)(void *ctx, const peer_id_t *peer, const identify_info_t *info,
                            int err);

/** Identify `peer` now (dialling it if needed). 0 and the callback follows, or an
 *  error and it is not called. */
int identify_request(identify_t *id, const peer_id_t *peer, identify_fn cb, void *ctx);

#endif
