/* libp2p_keys_fixture — keys of the non-Ed25519 libp2p types for tests, made and
 * used with OpenSSL directly (independently of lib/crypto/sigverify, which the
 * tests check against them): RSA-2048, secp256k1 and ECDSA P-256, encoded as
 * peer-ids.md says (RSA and ECDSA: DER SubjectPublicKeyInfo; secp256k1: the
 * compressed point) and signing SHA-256 digests (PKCS#1 v1.5, DER ECDSA). */
#ifndef LS_TESTS_LIBP2P_KEYS_FIXTURE_H
#define LS_TESTS_LIBP2P_KEYS_FIXTURE_H

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "lib/buf/buf.h"
#include "lib/crypto/sigverify.h"

/* A fresh key of libp2p KeyType `type` (not Ed25519); its PublicKey.Data is appended
 * to `pub`. Free it with EVP_PKEY_free(). */
static inline EVP_PKEY *
fixture_keygen(int type, buf_t *pub)
{
    EVP_PKEY *pk = type == SIGVERIFY_RSA ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                   : type == SIGVERIFY_SECP256K1
                       ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1")
                       : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
    assert_non_null(pk);
    if (type == SIGVERIFY_SECP256K1) {
        uint8_t point[65]; /* 04 || x || y; compressed: 02 or 03 by y's parity, then x */
        size_t n = 0;
        assert_int_equal(
            EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &n),
            1);
        assert_int_equal(n, 65);
        assert_int_equal(point[0], 0x04);
        point[0] = (uint8_t)(0x02 | (point[64] & 1));
        assert_int_equal(buf_append(pub, point, 33), 0);
    } else {
        unsigned char *der = NULL;
        int n = i2d_PUBKEY(pk, &der);
        assert_true(n > 0);
        assert_int_equal(buf_append(pub, der, (size_t)n), 0);
        OPENSSL_free(der);
    }
    return pk;
}

/* Append the signature of `msg` by `pk` (SHA-256) to `sig`. */
static inline void
fixture_sign(EVP_PKEY *pk, const void *msg, size_t len, buf_t *sig)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t n = 0;
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk), 1);
    assert_int_equal(EVP_DigestSign(md, NULL, &n, msg, len), 1);
    uint8_t *out = buf_extend(sig, n);
    assert_non_null(out);
    assert_int_equal(EVP_DigestSign(md, out, &n, msg, len), 1);
    buf_truncate(sig, (size_t)(out - sig->data) + n); /* DER ECDSA may come out shorter */
    EVP_MD_CTX_free(md);
}

#endif
