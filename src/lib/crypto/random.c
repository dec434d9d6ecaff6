#include "lib/crypto/random.h"

#include <sodium.h>

#include "lib/crypto/ed25519.h"

void
random_bytes(void *out, size_t len)
{
    ls_crypto_init();
    randombytes_buf(out, len);
}

uint64_t
random_u64(void)
{
    uint64_t v;
    random_bytes(&v, sizeof v);
    return v;
}

uint32_t
random_uniform(uint32_t bound)
{
    ls_crypto_init();
    return randombytes_uniform(bound);
}
