#include "lib/crypto/x25519.h"

#include <string.h>

#include <sodium.h>

#include "lib/crypto/ed25519.h"
#include "lib/crypto/random.h"
#include "lib/err/err.h"

void
x25519_keypair_generate(x25519_keypair_t *kp)
{
    uint8_t sk[X25519_KEY_LEN];

    random_bytes(sk, sizeof sk);
    x25519_keypair_from_secret(kp, sk);
    sodium_memzero(sk, sizeof sk);
}

void
x25519_keypair_from_secret(x25519_keypair_t *kp, const uint8_t sk[static X25519_KEY_LEN])
{
    ls_crypto_init();
    if (kp->sk != sk)
        memmove(kp->sk, sk, X25519_KEY_LEN);
    /* Cannot fail: the base point has full order. */
    crypto_scalarmult_curve25519_base(kp->pk, kp->sk);
}

void
x25519_keypair_wipe(x25519_keypair_t *kp)
{
    sodium_memzero(kp, sizeof *kp);
}

int
x25519(uint8_t shared[static X25519_KEY_LEN], const uint8_t sk[static X25519_KEY_LEN],
       const uint8_t pk[static X25519_KEY_LEN])
{
    ls_crypto_init();
    /* libsodium returns -1 exactly when the output is all zeros (it checks in
     * constant time), which is the RFC 7748 §6.1 small-order check. */
    if (crypto_scalarmult_curve25519(shared, sk, pk) != 0) {
        sodium_memzero(shared, X25519_KEY_LEN);
        return LS_EINVAL;
    }
    return 0;
}
