#include "lib/crypto/sha256.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/mem/mem.h"

struct sha256_ctx_t {
    EVP_MD_CTX *md;
};

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256;   /* fetched once: implicit fetches per call cost ~1 us */

static void
fetch_md(void)
{
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!md_sha256) {
        fprintf(stderr, "lester: OpenSSL has no SHA256\n");
        abort();
    }
}

static const EVP_MD *
md(void)
{
    pthread_once(&md_once, fetch_md);
    return md_sha256;
}

void
sha256(uint8_t out[static LS_SHA256_LEN], const void *p, size_t len)
{
    unsigned int n = LS_SHA256_LEN;
    if (EVP_Digest(p, len, out, &n, md(), NULL) != 1)
        abort();
}

sha256_ctx_t *
sha256_new(void)
{
    sha256_ctx_t *c = ls_malloc(sizeof *c);
    c->md = EVP_MD_CTX_new();
    if (!c->md || EVP_DigestInit_ex(c->md, md(), NULL) != 1)
        abort();
    return c;
}

void
sha256_update(sha256_ctx_t *c, const void *p, size_t len)
{
    if (EVP_DigestUpdate(c->md, p, len) != 1)
        abort();
}

void
sha256_final(sha256_ctx_t *c, uint8_t out[static LS_SHA256_LEN])
{
    unsigned int n = LS_SHA256_LEN;
    if (EVP_DigestFinal_ex(c->md, out, &n) != 1 || EVP_DigestInit_ex(c->md, md(), NULL) != 1)
        abort();
}

void
sha256_free_(sha256_ctx_t *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->md);
    free(c);
}

void
hmac_sha256(uint8_t out[static LS_SHA256_LEN], const void *key, size_t keylen, const void *p,
            size_t len)
{
    unsigned int n = LS_SHA256_LEN;
    if (!HMAC(md(), key, (int)keylen, p, len, out, &n))
        abort();
}
