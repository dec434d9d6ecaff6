#include "lib/crypto/ed25519.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <sodium.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void
init(void)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "lester: libsodium failed to initialise\n");
        abort();
    }
}

void
ls_crypto_init(void)
{
    pthread_once(&init_once, init);
}

void
ed25519_keypair_generate(ed25519_keypair_t *kp)
{
    ls_crypto_init();
    crypto_sign_ed25519_keypair(kp->pk, kp->sk);
}

void
ed25519_keypair_from_seed(ed25519_keypair_t *kp, const uint8_t seed[static ED25519_SEED_LEN])
{
    ls_crypto_init();
    crypto_sign_ed25519_seed_keypair(kp->pk, kp->sk, seed);
}

void
ed25519_keypair_wipe(ed25519_keypair_t *kp)
{
    sodium_memzero(kp->sk, sizeof kp->sk);
}

void
ed25519_sign(uint8_t sig[static ED25519_SIG_LEN], const void *msg, size_t len,
             const ed25519_keypair_t *kp)
{
    ls_crypto_init();
    crypto_sign_ed25519_detached(sig, NULL, msg, len, kp->sk);
}

bool
ed25519_verify(const uint8_t sig[static ED25519_SIG_LEN], const void *msg, size_t len,
               const uint8_t pk[static ED25519_PK_LEN])
{
    ls_crypto_init();
    return crypto_sign_ed25519_verify_detached(sig, msg, len, pk) == 0;
}
