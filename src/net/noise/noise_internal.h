/* noise_internal — the body of noise_t, for noise.c and the unit tests only (tests
 * inject ephemeral keys and push nonces to their limit through it). Nothing else may
 * include this header. */
#ifndef LS_NET_NOISE_NOISE_INTERNAL_H
#define LS_NET_NOISE_NOISE_INTERNAL_H

#include "lib/buf/buf.h"
#include "lib/crypto/sigverify.h"
#include "lib/peerid/peerid.h"
#include "net/noise/noise.h"
#include "net/noise/noise_hs.h"
#include "net/noise/noise_payload.h"

struct noise_t {
    noise_xx_t hs;                          /* wiped when the handshake ends */
    noise_cipher_t tx, rx;                  /* transport ciphers, keyed by Split() */
    buf_t pending;                          /* framed handshake bytes not yet handed out */
    buf_t scratch;                          /* a payload being encoded or decoded */
    buf_t key_proto;                        /* our PublicKey protobuf */
    uint8_t sig[SIGVERIFY_MAX_SIG];         /* our identity_sig (Ed25519: 64 bytes; the
                                               tests put other key types' here) */
    size_t sig_len;
    peer_id_t expected;                     /* valid if has_expected */
    peer_id_t remote;                       /* valid once done */
    uint8_t remote_pk[32];                  /* valid once done, for an Ed25519 remote */
    int remote_key_type;                    /* peer_key_type_t, valid once done */
    char *muxers[NOISE_PAYLOAD_MAX_MUXERS]; /* ours, advertised */
    size_t n_muxers;
    char *remote_muxers[NOISE_PAYLOAD_MAX_MUXERS];
    size_t n_remote_muxers;
    int err; /* sticky error, 0 while healthy */
    bool has_expected;
    bool started; /* a handshake message was produced or read */
    bool done;
};

#endif
