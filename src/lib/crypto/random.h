/* random — cryptographically secure random numbers (libsodium); libc's PRNG is banned. */
#ifndef LS_LIB_CRYPTO_RANDOM_H
#define LS_LIB_CRYPTO_RANDOM_H

#include <stddef.h>
#include <stdint.h>

void random_bytes(void *out, size_t len);
uint64_t random_u64(void);
/** Uniform in [0, bound), bound > 0, without modulo bias. */
uint32_t random_uniform(uint32_t bound);

#endif
