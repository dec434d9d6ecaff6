/* sigverify — libp2p signatures of every key type (sigverify.h). */
#include "lib/crypto/sigverify.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "lib/crypto/ed25519.h"
#include "lib/err/err.h"

/* Longest DER key accepted: an RSA-8192 SubjectPublicKeyInfo is ~1.1 KB. */
#define MAX_DER_KEY 2048

/* True if `pk` re-encodes to exactly `key`: only canonical DER is accepted, so one
 * key has one encoding and so one peer ID. */
static bool
is_canonical(EVP_PKEY *pk, const uint8_t *key, size_t keylen)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pk, &der);
    bool same = n > 0 && (size_t)n == keylen && memcmp(der, key, keylen) == 0;
    OPENSSL_free(der);
    return same;
}

/* True if EC key `pk` is on one of the named curves `allowed`. */
static bool
curve_in(EVP_PKEY *pk, const char *const *allowed, size_t n)
{
    char name[64];
    if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, NULL) !=
        1)
        return false; /* explicit parameters: not a named curve */
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, allowed[i]) == 0)
            return true;
    return false;
}

/* A DER SubjectPublicKeyInfo of base type `id` (EVP_PKEY_RSA or EVP_PKEY_EC). */
static int
der_key(int id, const uint8_t *key, size_t keylen, EVP_PKEY **out)
{
    static const char *const curves[] = {"prime256v1", "secp384r1", "secp521r1"};
    if (keylen == 0 || keylen > MAX_DER_KEY)
        return LS_EINVAL;
    const unsigned char *p = key;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)keylen);
    int rc = 0;
    if (!pk || p != key + keylen || EVP_PKEY_get_base_id(pk) != id ||
        !is_canonical(pk, key, keylen))
        rc = LS_EINVAL;
    else if (id == EVP_PKEY_RSA && (EVP_PKEY_get_bits(pk) < SIGVERIFY_RSA_MIN_BITS ||
                                    EVP_PKEY_get_bits(pk) > SIGVERIFY_RSA_MAX_BITS))
        rc = LS_EINVAL;
    else if (id == EVP_PKEY_EC && !curve_in(pk, curves, sizeof curves / sizeof *curves))
        rc = LS_ENOTSUP;
    if (rc < 0) {
        EVP_PKEY_free(pk);
        ERR_clear_error();
        return rc;
    }
    *out = pk;
    return 0;
}

/* A secp256k1 point in SEC1 form: 33 bytes compressed or 65 uncompressed. OpenSSL
 * checks that it lies on the curve. */
static int
secp256k1_key(const uint8_t *key, size_t keylen, EVP_PKEY **out)
{
    bool compressed = keylen == 33 && (key[0] == 0x02 || key[0] == 0x03);
    if (!compressed && !(keylen == 65 && key[0] == 0x04))
        return LS_EINVAL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"secp256k1", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)key, keylen),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pk = NULL;
    int ok = ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
             EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(pk);
        ERR_clear_error();
        return LS_EINVAL;
    }
    *out = pk;
    return 0;
}

static int
load_key(int key_type, const uint8_t *key, size_t keylen, EVP_PKEY **out)
{
    switch (key_type) {
    case SIGVERIFY_RSA:
        return der_key(EVP_PKEY_RSA, key, keylen, out);
    case SIGVERIFY_SECP256K1:
        return secp256k1_key(key, keylen, out);
    case SIGVERIFY_ECDSA:
        return der_key(EVP_PKEY_EC, key, keylen, out);
    default:
        return LS_ENOTSUP;
    }
}

int
sigverify_check_key(int key_type, const uint8_t *key, size_t keylen)
{
    if (key_type == SIGVERIFY_ED25519)
        return keylen == ED25519_PK_LEN ? 0 : LS_EINVAL;
    EVP_PKEY *pk = NULL;
    int rc = load_key(key_type, key, keylen, &pk);
    EVP_PKEY_free(pk);
    return rc;
}

int
sigverify(int key_type, const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len,
          const uint8_t *sig, size_t siglen)
{
    if (key_type == SIGVERIFY_ED25519) {
        if (keylen != ED25519_PK_LEN)
            return LS_EINVAL;
        return siglen == ED25519_SIG_LEN && ed25519_verify(sig, msg, len, key) ? 0 : LS_EBADSIG;
    }
    EVP_PKEY *pk = NULL;
    int rc = load_key(key_type, key, keylen, &pk);
    if (rc < 0)
        return rc;
    if (siglen == 0 || siglen > SIGVERIFY_MAX_SIG) {
        EVP_PKEY_free(pk);
        return LS_EBADSIG;
    }
    /* RSA: PKCS#1 v1.5 is EVP's default padding; EC: the signature is DER (r, s). */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
              EVP_DigestVerify(md, sig, siglen, msg, len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    ERR_clear_error();
    return ok ? 0 : LS_EBADSIG;
}
