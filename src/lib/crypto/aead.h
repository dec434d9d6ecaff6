/* aead — ChaCha20-Poly1305 (RFC 8439, IETF: 96-bit nonce) for the Noise transport.
 *
 * Bulk messages go through OpenSSL's EVP, which is 1.6x libsodium's here (ANCHORS.md).
 * One cipher context is kept per key (made on the first bulk message) and only the
 * nonce is re-initialised per message.
 * Messages under 1 KiB go through libsodium instead, whose fixed cost per message is
 * a quarter of EVP's (same construction, same bytes).
 *
 * The 96-bit nonce is built as Noise rev 34 §12.3 specifies: 32 bits of zeros followed
 * by the 64-bit counter `nonce` in little-endian. Callers own nonce uniqueness. */
#ifndef LS_LIB_CRYPTO_AEAD_H
#define LS_LIB_CRYPTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "lib/mem/mem.h"

#define AEAD_KEY_LEN 32
#define AEAD_TAG_LEN 16
/** Longest plaintext one call takes (EVP counts in int). */
#define AEAD_MAX_LEN ((size_t)0x7fffffff - AEAD_TAG_LEN)

typedef struct aead_t aead_t;

/** A cipher keyed with a copy of `key`. Never returns NULL; aborts if OpenSSL lacks
 *  ChaCha20-Poly1305. */
aead_t *aead_new(const uint8_t key[static AEAD_KEY_LEN]);

/** Wipe the key and free. NULL is a no-op. */
void aead_free_(aead_t *a);
#define aead_free(a) FREE_AND_NULL(aead_t, aead_free_, (a))

/** Encrypt `len` bytes at `in` with associated data `ad` into `out`, which receives
 *  len + AEAD_TAG_LEN bytes (ciphertext, then tag). `out` may equal `in` (in place)
 *  but must not otherwise overlap it. Returns 0, or LS_ETOOBIG if len > AEAD_MAX_LEN. */
int aead_seal(aead_t *a, uint64_t nonce, const uint8_t *ad, size_t adlen, const uint8_t *in,
              size_t len, uint8_t *out);

/** Like aead_seal() without associated data, for the plaintext head || in (both
 *  borrowed) without first copying them together: `out` receives head_len + len +
 *  AEAD_TAG_LEN bytes and must overlap neither input. Lets a framing header and an
 *  application's buffer be sealed as one message. Returns 0, or LS_ETOOBIG if
 *  head_len + len > AEAD_MAX_LEN. */
int aead_seal_parts(aead_t *a, uint64_t nonce, const uint8_t *head, size_t head_len,
                    const uint8_t *in, size_t len, uint8_t *out);

/** Decrypt and authenticate `len` bytes at `in` (ciphertext followed by its tag) into
 *  `out`, which receives len - AEAD_TAG_LEN bytes. `out` may equal `in`. Returns 0;
 *  LS_EBADSIG if the tag does not verify (the tag is compared in constant time and
 *  `out` is zeroed, so no unauthenticated plaintext escapes); LS_EINVAL if
 *  len < AEAD_TAG_LEN; LS_ETOOBIG if len is over AEAD_MAX_LEN + AEAD_TAG_LEN. */
int aead_open(aead_t *a, uint64_t nonce, const uint8_t *ad, size_t adlen, const uint8_t *in,
              size_t len, uint8_t *out);

#endif
