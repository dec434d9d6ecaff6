/* sha256 — SHA-256 and HMAC-SHA256 through OpenSSL's EVP, which uses the CPU's SHA
 * instructions (5x libsodium here; ANCHORS.md). */
#ifndef LS_LIB_CRYPTO_SHA256_H
#define LS_LIB_CRYPTO_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "lib/mem/mem.h"

#define LS_SHA256_LEN 32

typedef struct sha256_ctx_t sha256_ctx_t;

/** One-shot digest of `len` bytes at `p`. */
void sha256(uint8_t out[static LS_SHA256_LEN], const void *p, size_t len);

/** Streaming digest. sha256_new() never returns NULL; after sha256_final() the
 *  context is reset and can hash again. */
sha256_ctx_t *sha256_new(void);
void sha256_update(sha256_ctx_t *ctx, const void *p, size_t len);
void sha256_final(sha256_ctx_t *ctx, uint8_t out[static LS_SHA256_LEN]);
void sha256_free_(sha256_ctx_t *ctx);
#define sha256_free(c) FREE_AND_NULL(sha256_ctx_t, sha256_free_, (c))

/** HMAC-SHA256 of `len` bytes with a `keylen`-byte key. */
void hmac_sha256(uint8_t out[static LS_SHA256_LEN], const void *key, size_t keylen,
                 const void *p, size_t len);

#endif
