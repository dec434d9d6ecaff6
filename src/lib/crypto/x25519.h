/* x25519 — Diffie-Hellman over Curve25519 (RFC 7748), through libsodium, which is
 * 1.15x OpenSSL's here (ANCHORS.md). Used by Noise (noise.org rev 34, §12.1 "25519").
 *
 * Secret keys are 32 random bytes; clamping happens inside the scalar multiplication,
 * as RFC 7748 §5 and Noise §12.1 expect. */
#ifndef LS_LIB_CRYPTO_X25519_H
#define LS_LIB_CRYPTO_X25519_H

#include <stdint.h>

#define X25519_KEY_LEN 32

typedef struct x25519_keypair_t {
    uint8_t pk[X25519_KEY_LEN];
    uint8_t sk[X25519_KEY_LEN];
} x25519_keypair_t;

/** Fill `kp` with a fresh random key pair. */
void x25519_keypair_generate(x25519_keypair_t *kp);

/** Derive the public half of `sk` into `kp` (sk is copied). For tests with fixed
 *  keys and for keys loaded from elsewhere. */
void x25519_keypair_from_secret(x25519_keypair_t *kp, const uint8_t sk[static X25519_KEY_LEN]);

/** Zero the whole key pair. */
void x25519_keypair_wipe(x25519_keypair_t *kp);

/** shared = X25519(sk, pk). Returns 0, or LS_EINVAL when the result is all zeros,
 *  i.e. `pk` is a small-order point a peer chose to force a known secret
 *  (RFC 7748 §6.1); `shared` is zeroed then. Callers treat LS_EINVAL from a peer's
 *  key as a protocol error. */
int x25519(uint8_t shared[static X25519_KEY_LEN], const uint8_t sk[static X25519_KEY_LEN],
           const uint8_t pk[static X25519_KEY_LEN]);

#endif
