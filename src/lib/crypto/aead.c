#include "lib/crypto/aead.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "lib/crypto/ed25519.h"
#include "lib/err/err.h"
#include "lib/mem/mem.h"

/* Below this many bytes libsodium is faster: OpenSSL 3.0 spends ~0.7 us per message
 * on EVP re-initialisation and parameter lookups, libsodium ~0.2 us, while for bulk
 * data EVP's vector code is 1.6x faster (measured here: crossover ~1-2 KiB). Both
 * implement the same RFC 8439 construction, so the output is identical. */
#define SMALL_LEN 1024

struct aead_t {
    EVP_CIPHER_CTX *ctx;       /* keyed on first bulk message (handshakes never need it) */
    uint8_t key[AEAD_KEY_LEN]; /* for libsodium and for keying ctx; wiped on free */
};

static pthread_once_t cipher_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *cipher_chacha; /* fetched once: implicit fetches cost per call */

static void
fetch_cipher(void)
{
    cipher_chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    if (!cipher_chacha) {
        fprintf(stderr, "lester: OpenSSL has no ChaCha20-Poly1305\n");
        abort();
    }
}

/* The Noise nonce (rev 34 §12.3): 4 zero bytes, then the counter little-endian. */
static void
make_iv(uint8_t iv[12], uint64_t n)
{
    memset(iv, 0, 4);
    for (int i = 0; i < 8; i++)
        iv[4 + i] = (uint8_t)(n >> (8 * i));
}

aead_t *
aead_new(const uint8_t key[static AEAD_KEY_LEN])
{
    ls_crypto_init();
    pthread_once(&cipher_once, fetch_cipher); /* fail fast if OpenSSL lacks it */
    aead_t *a = ls_malloc(sizeof *a);
    a->ctx = NULL;
    memcpy(a->key, key, AEAD_KEY_LEN);
    return a;
}

/* The EVP context, keyed once and kept. */
static EVP_CIPHER_CTX *
evp(aead_t *a)
{
    if (!a->ctx) {
        a->ctx = EVP_CIPHER_CTX_new();
        if (!a->ctx || EVP_CipherInit_ex2(a->ctx, cipher_chacha, a->key, NULL, 1, NULL) != 1)
            abort();
    }
    return a->ctx;
}

void
aead_free_(aead_t *a)
{
    if (!a)
        return;
    /* EVP_CIPHER_CTX_free cleanses the provider context, key included. */
    EVP_CIPHER_CTX_free(a->ctx);
    sodium_memzero(a->key, sizeof a->key);
    free(a);
}

/* Re-initialise only the nonce (and direction), keeping the key schedule, then feed
 * the associated data. */
static void
start(aead_t *a, uint64_t nonce, int enc, const uint8_t *ad, size_t adlen)
{
    uint8_t iv[12];
    int outl;

    make_iv(iv, nonce);
    if (EVP_CipherInit_ex2(evp(a), NULL, NULL, iv, enc, NULL) != 1)
        abort();
    if (adlen && EVP_CipherUpdate(a->ctx, NULL, &outl, ad, (int)adlen) != 1)
        abort();
}

int
aead_seal(aead_t *a, uint64_t nonce, const uint8_t *ad, size_t adlen, const uint8_t *in, size_t len,
          uint8_t *out)
{
    int outl;

    if (len > AEAD_MAX_LEN || adlen > AEAD_MAX_LEN)
        return LS_ETOOBIG;
    if (len < SMALL_LEN) {
        uint8_t iv[12];
        make_iv(iv, nonce);
        crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, out + len, NULL, in, len, ad, adlen,
                                                           NULL, iv, a->key);
        return 0;
    }
    start(a, nonce, 1, ad, adlen);
    if (len && EVP_CipherUpdate(a->ctx, out, &outl, in, (int)len) != 1)
        abort();
    if (EVP_CipherFinal_ex(a->ctx, out + len, &outl) != 1 ||
        EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, out + len) != 1)
        abort();
    return 0;
}

int
aead_seal_parts(aead_t *a, uint64_t nonce, const uint8_t *head, size_t head_len, const uint8_t *in,
                size_t len, uint8_t *out)
{
    int outl;

    if (head_len > AEAD_MAX_LEN || len > AEAD_MAX_LEN - head_len)
        return LS_ETOOBIG;
    if (head_len + len < SMALL_LEN) { /* small: one contiguous message for libsodium */
        uint8_t msg[SMALL_LEN];
        if (head_len)
            memcpy(msg, head, head_len);
        if (len)
            memcpy(msg + head_len, in, len);
        int rc = aead_seal(a, nonce, NULL, 0, msg, head_len + len, out);
        sodium_memzero(msg, head_len + len);
        return rc;
    }
    /* EVP's ChaCha20-Poly1305 is a stream: two updates give the same bytes as one. */
    start(a, nonce, 1, NULL, 0);
    if (head_len && EVP_CipherUpdate(a->ctx, out, &outl, head, (int)head_len) != 1)
        abort();
    if (len && EVP_CipherUpdate(a->ctx, out + head_len, &outl, in, (int)len) != 1)
        abort();
    if (EVP_CipherFinal_ex(a->ctx, out + head_len + len, &outl) != 1 ||
        EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, out + head_len + len) != 1)
        abort();
    return 0;
}

/* libsodium verifies the tag (in constant time) before it decrypts anything. */
static int
open_small(aead_t *a, uint64_t nonce, const uint8_t *ad, size_t adlen, const uint8_t *in,
           size_t plen, uint8_t *out)
{
    uint8_t iv[12], tag[AEAD_TAG_LEN];

    make_iv(iv, nonce);
    memcpy(tag, in + plen, AEAD_TAG_LEN);
    if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, NULL, in, plen, tag, ad, adlen, iv,
                                                           a->key) != 0) {
        if (plen)
            sodium_memzero(out, plen);
        return LS_EBADSIG;
    }
    return 0;
}

int
aead_open(aead_t *a, uint64_t nonce, const uint8_t *ad, size_t adlen, const uint8_t *in, size_t len,
          uint8_t *out)
{
    uint8_t tag[AEAD_TAG_LEN];
    int outl;

    if (len < AEAD_TAG_LEN)
        return LS_EINVAL;
    if (len - AEAD_TAG_LEN > AEAD_MAX_LEN || adlen > AEAD_MAX_LEN)
        return LS_ETOOBIG;
    size_t plen = len - AEAD_TAG_LEN;
    if (plen < SMALL_LEN)
        return open_small(a, nonce, ad, adlen, in, plen, out);
    /* Copy the tag first: with out == in, decryption overwrites only the first plen
     * bytes, but keeping our own copy makes that independent of EVP internals. */
    memcpy(tag, in + plen, AEAD_TAG_LEN);
    start(a, nonce, 0, ad, adlen);
    if (EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, tag) != 1)
        abort();
    if (plen && EVP_CipherUpdate(a->ctx, out, &outl, in, (int)plen) != 1)
        abort();
    /* OpenSSL compares the tag with CRYPTO_memcmp (constant time). */
    if (EVP_CipherFinal_ex(a->ctx, out + plen, &outl) != 1) {
        if (plen)
            sodium_memzero(out, plen);
        return LS_EBADSIG;
    }
    return 0;
}
