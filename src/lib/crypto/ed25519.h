/* ed25519 — signatures (libsodium: 2.4x OpenSSL's sign, 2x its verify here; ANCHORS.md).
 * Secret keys are libsodium's 64-byte form (seed || public key). */
#ifndef LS_LIB_CRYPTO_ED25519_H
#define LS_LIB_CRYPTO_ED25519_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ED25519_PK_LEN 32
#define ED25519_SK_LEN 64
#define ED25519_SEED_LEN 32
#define ED25519_SIG_LEN 64

typedef struct ed25519_keypair_t {
    uint8_t pk[ED25519_PK_LEN];
    uint8_t sk[ED25519_SK_LEN];
} ed25519_keypair_t;

/** Initialise the crypto libraries once (idempotent, thread-safe). Every function
 *  in lib/crypto calls it; call it early to fail fast. Aborts if libsodium cannot
 *  start (no entropy source). */
void ls_crypto_init(void);

void ed25519_keypair_generate(ed25519_keypair_t *kp);
void ed25519_keypair_from_seed(ed25519_keypair_t *kp, const uint8_t seed[static ED25519_SEED_LEN]);
/** Zero the secret half. */
void ed25519_keypair_wipe(ed25519_keypair_t *kp);
void ed25519_sign(uint8_t sig[static ED25519_SIG_LEN], const void *msg, size_t len,
                  const ed25519_keypair_t *kp);
/** True if `sig` is a valid signature of `msg` by `pk` (rejects small-order keys). */
bool ed25519_verify(const uint8_t sig[static ED25519_SIG_LEN], const void *msg, size_t len,
                    const uint8_t pk[static ED25519_PK_LEN]);

#endif
