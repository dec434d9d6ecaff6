/* noise — libp2p's Noise secure channel (libp2p/specs noise/README.md, r2) as a
 * protocol core without I/O: bytes in, bytes out; the caller owns the socket, the
 * buffers and the handshake timeout.
 *
 *   Noise_XX_25519_ChaChaPoly_SHA256, empty prologue (Noise rev 34, §7.5):
 *     -> e                      (empty payload)
 *     <- e, ee, s, es           (responder's NoiseHandshakePayload)
 *     -> s, se                  (initiator's NoiseHandshakePayload)
 *   Every message, handshake or transport, is framed by a 2-byte big-endian length
 *   (at most 65535). A transport message is ChaCha20-Poly1305 ciphertext plus its
 *   16-byte tag, so it carries at most 65519 bytes of plaintext.
 *
 * Each side proves its libp2p identity by signing "noise-libp2p-static-key:" || its
 * static X25519 key with its identity key. Ours is Ed25519; a remote's may be any of
 * the four types of peer-ids.md (Ed25519, RSA, secp256k1, ECDSA: lib/crypto/
 * sigverify), and its peer ID is derived from its key as that spec says.
 *
 * Use:
 *   noise_t *n = noise_new(initiator, &identity, expected_or_NULL);
 *   loop until noise_is_done(n):
 *       noise_output(n, &tx)                        -> send tx
 *       rc = noise_input(n, rx, rxlen, &used)       -> drop `used` bytes of rx;
 *                                                      LS_EAGAIN: read more
 *   then noise_encrypt() what you send and noise_decrypt() what you receive.
 * Any other negative return is fatal: close the connection. Errors are sticky:
 * once a call fails, every later call returns the same code. */
#ifndef LS_NET_NOISE_NOISE_H
#define LS_NET_NOISE_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/crypto/ed25519.h"
#include "lib/mem/mem.h"
#include "lib/peerid/peerid.h"

/** The multistream protocol ID of this channel. */
#define NOISE_PROTOCOL_ID "/noise"
/** Largest frame on the wire, length prefix included. */
#define NOISE_MAX_FRAME (2 + 65535)
/** Largest plaintext one transport frame carries (65535 - 16-byte tag). */
#define NOISE_MAX_PLAINTEXT 65519

typedef struct noise_t noise_t;

/** A handshake as `initiator` (the dialer) or responder, proving `identity` (borrowed
 *  for this call: it is used to sign now and not kept). If `expected_remote` is
 *  non-NULL (copied) the remote must prove that peer ID or the handshake fails with
 *  LS_EPEERID. A fresh static X25519 key is made per handshake, as the spec allows.
 *  Never returns NULL. */
noise_t *noise_new(bool initiator, const ed25519_keypair_t *identity,
                   const peer_id_t *expected_remote);

/** Wipe every key and free. NULL is a no-op. */
void noise_free_(noise_t *n);
#define noise_free(n) FREE_AND_NULL(noise_t, noise_free_, (n))

/** Advertise stream muxers (e.g. "/yamux/1.0.0", copied) in the NoiseExtensions of
 *  our handshake payload. Call before the handshake starts. Off by default: a
 *  go-libp2p peer that sees a common muxer in both payloads skips multistream-select
 *  for the muxer (connections/inlined-muxer-negotiation.md), so only advertise when
 *  the caller then honours noise_remote_muxers() the same way. Returns 0, LS_EINVAL
 *  after the handshake started or for an empty or over-long name, LS_ELIMIT for more
 *  than 8 names. */
int noise_set_muxers(noise_t *n, const char *const *muxers, size_t count);

/** Append the handshake bytes we owe the peer (framed) to `out`. Returns the number
 *  of bytes appended (0 if none are due), LS_ETOOBIG if `out` is full (nothing is
 *  appended; retry with room), or the sticky error. Call it after noise_new() and
 *  after every noise_input(): the initiator's last message is only produced there. */
int noise_output(noise_t *n, buf_t *out);

/** Feed received bytes during the handshake. Consumes at most one handshake message
 *  from `p` and sets `*consumed` to the bytes used (0 or the whole frame): bytes after
 *  it (the peer's first transport frames) stay for noise_decrypt(). The reply, if
 *  any, is queued for noise_output(). Returns 0 when a message was processed;
 *  LS_EAGAIN when `p` holds no complete frame; LS_EPROTO for a malformed message,
 *  payload or identity key; LS_EBADSIG for a failed tag or identity signature;
 *  LS_ENOTSUP for an unknown key type or curve; LS_EPEERID for the wrong peer;
 *  LS_EINVAL once the handshake is done. */
int noise_input(noise_t *n, const uint8_t *p, size_t len, size_t *consumed);

/** True once the handshake is complete and the peer authenticated. */
bool noise_is_done(const noise_t *n);

/** The remote peer ID, derived from the verified identity key; NULL until done. */
const peer_id_t *noise_remote_peer(const noise_t *n);

/** The remote's Ed25519 identity key; NULL until done or if the remote's key is of
 *  another type. */
const uint8_t *noise_remote_identity(const noise_t *n);

/** The type of the remote's identity key (peer_key_type_t); -1 until done. */
int noise_remote_key_type(const noise_t *n);

/** The stream muxers the remote advertised (count returned, names in `*names`, owned
 *  by `n`); 0 until done or if it sent none. */
size_t noise_remote_muxers(const noise_t *n, const char *const **names);

/** Encrypt `len` bytes (borrowed) into transport frames appended to `out`: one frame
 *  if len <= NOISE_MAX_PLAINTEXT, else frames of 63 KiB and a last one of at most
 *  NOISE_MAX_PLAINTEXT (the fast size for OpenSSL); len 0 sends one empty frame. Handshake bytes
 * still owed are appended first, so order on the wire is always right. Returns 0; LS_EINVAL before
 *  the handshake is done; LS_ETOOBIG if `out` cannot take it all (then `out` is
 *  unchanged); LS_ELIMIT when the nonce space is used up (close the connection). */
int noise_encrypt(noise_t *n, const uint8_t *p, size_t len, buf_t *out);

/** Encrypt one transport frame whose plaintext is head || p (both borrowed; together
 *  at most NOISE_MAX_PLAINTEXT bytes), appended to `out` after any handshake bytes
 *  still owed. This lets a caller put its own framing header in front of an
 *  application's buffer and encrypt both straight into `out`, with no plaintext copy.
 *  Returns 0; LS_EINVAL before the handshake is done; LS_ETOOBIG if the plaintext is
 *  too long or `out` cannot take the frame (`out` unchanged); LS_ELIMIT on nonce
 *  exhaustion. */
int noise_encrypt_parts(noise_t *n, const uint8_t *head, size_t head_len, const uint8_t *p,
                        size_t len, buf_t *out);

/** Decrypt every complete transport frame at the start of `in`, appending the
 *  plaintext to `plaintext`, and set `*consumed` to the bytes used; a trailing partial
 *  frame is left for the next call. Returns 0 if at least one frame was decrypted;
 *  LS_EAGAIN if `in` holds no complete frame (`*consumed` is 0); LS_ETOOBIG if not
 *  even the first frame fits in `plaintext` (stops before a frame that does not fit
 *  otherwise, which lets the caller apply back-pressure); LS_EBADSIG for a frame
 *  that fails authentication; LS_EPROTO for a frame shorter than a tag; LS_ELIMIT on
 *  nonce exhaustion; LS_EINVAL before the handshake is done. */
int noise_decrypt(noise_t *n, const uint8_t *in, size_t len, size_t *consumed, buf_t *plaintext);

/** Decrypt the transport frame at the start of `in` in place, without a copy: on 0,
 *  `*plain` points at its `*plain_len` bytes of plaintext inside `in` and `*consumed`
 *  is the frame's size on the wire (the bytes of `in` it covered are overwritten).
 *  LS_EAGAIN if `in` holds no complete frame; other errors as noise_decrypt(). */
int noise_decrypt_frame(noise_t *n, uint8_t *in, size_t len, size_t *consumed, uint8_t **plain,
                        size_t *plain_len);

#endif
