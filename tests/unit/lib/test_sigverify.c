/* Tests for lib/crypto/sigverify: libp2p signatures of every key type
 * (peer-ids.md), against keys made and signatures produced by OpenSSL directly,
 * the spec's example keys, and the malformed keys and signatures a peer could
 * send. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/crypto/ed25519.h"
#include "lib/crypto/sigverify.h"
#include "lib/err/err.h"
#include "lib/multibase/multibase.h"
#include "lib/peerid/peerid.h"

#include "libp2p_keys_fixture.h"

/* peer-ids.md "Test vectors": the secp256k1 and ECDSA public keys (protobufs) */
#define SECP_PUB_HEX "08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99"
#define ECDSA_PUB_HEX                                                                              \
    "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de3d300fa36ae0e8f5d5"           \
    "30899d83abab44abf3161f162a4bc901d8e6ecda020e8b6d5f8da30525e71d6851510c098e5c47c646"           \
    "a597fb4dcec034e9f77c409e62"

static const char msg[] = "noise-libp2p-static-key:0123456789abcdef0123456789abcdef";

static buf_t
hex(const char *s)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(base16_decode(s, strlen(s), &b), 0);
    return b;
}

/* A key of `type`, a good signature, then every way to spoil one or the other. */
static void
check_type(int type)
{
    buf_t pub = BUF_INIT(BUF_UNLIMITED), sig = BUF_INIT(BUF_UNLIMITED);
    EVP_PKEY *pk = fixture_keygen(type, &pub);
    fixture_sign(pk, msg, sizeof msg, &sig);

    assert_int_equal(sigverify_check_key(type, pub.data, pub.len), 0);
    assert_int_equal(
        sigverify(type, pub.data, pub.len, (const uint8_t *)msg, sizeof msg, sig.data, sig.len), 0);
    /* another message, a flipped signature bit, a truncated signature */
    assert_int_equal(
        sigverify(type, pub.data, pub.len, (const uint8_t *)msg, sizeof msg - 1, sig.data, sig.len),
        LS_EBADSIG);
    sig.data[sig.len / 2] ^= 0x10;
    assert_int_equal(
        sigverify(type, pub.data, pub.len, (const uint8_t *)msg, sizeof msg, sig.data, sig.len),
        LS_EBADSIG);
    sig.data[sig.len / 2] ^= 0x10;
    assert_int_equal(
        sigverify(type, pub.data, pub.len, (const uint8_t *)msg, sizeof msg, sig.data, sig.len - 1),
        LS_EBADSIG);
    assert_int_equal(
        sigverify(type, pub.data, pub.len, (const uint8_t *)msg, sizeof msg, sig.data, 0),
        LS_EBADSIG);
    /* a truncated key, a key with a byte more, the key under another type */
    assert_int_equal(sigverify_check_key(type, pub.data, pub.len - 1), LS_EINVAL);
    assert_int_equal(buf_append_byte(&pub, 0), 0);
    assert_int_equal(
        sigverify(type, pub.data, pub.len, (const uint8_t *)msg, sizeof msg, sig.data, sig.len),
        LS_EINVAL);
    buf_truncate(&pub, pub.len - 1);
    int other = type == SIGVERIFY_RSA ? SIGVERIFY_ECDSA : SIGVERIFY_RSA;
    assert_int_equal(
        sigverify(other, pub.data, pub.len, (const uint8_t *)msg, sizeof msg, sig.data, sig.len),
        LS_EINVAL);
    EVP_PKEY_free(pk);
    buf_free(&pub);
    buf_free(&sig);
}

static void
test_rsa(void **state)
{
    (void)state;
    check_type(SIGVERIFY_RSA);
}

static void
test_secp256k1(void **state)
{
    (void)state;
    check_type(SIGVERIFY_SECP256K1);
    /* the uncompressed form of a point is accepted too; a point off the curve not */
    buf_t key = hex(SECP_PUB_HEX);
    const uint8_t *data;
    size_t len;
    int type;
    assert_int_equal(pubkey_proto_decode(key.data, key.len, &type, &data, &len), 0);
    assert_int_equal(type, PEER_KEY_SECP256K1);
    assert_int_equal(sigverify_check_key(SIGVERIFY_SECP256K1, data, len), 0);
    uint8_t bad[33];
    memcpy(bad, data, sizeof bad);
    bad[0] = 0x04; /* claims uncompressed with 33 bytes */
    assert_int_equal(sigverify_check_key(SIGVERIFY_SECP256K1, bad, sizeof bad), LS_EINVAL);
    memset(bad + 1, 0xff, 32); /* x >= p: no such point */
    bad[0] = 0x02;
    assert_int_equal(sigverify_check_key(SIGVERIFY_SECP256K1, bad, sizeof bad), LS_EINVAL);
    buf_free(&key);
}

static void
test_ecdsa(void **state)
{
    (void)state;
    check_type(SIGVERIFY_ECDSA);
    buf_t key = hex(ECDSA_PUB_HEX); /* the spec's P-256 key */
    const uint8_t *data;
    size_t len;
    int type;
    assert_int_equal(pubkey_proto_decode(key.data, key.len, &type, &data, &len), 0);
    assert_int_equal(type, PEER_KEY_ECDSA);
    assert_int_equal(sigverify_check_key(SIGVERIFY_ECDSA, data, len), 0);
    buf_free(&key);
    /* a secp256k1 key in a SubjectPublicKeyInfo is not one of ECDSA's curves */
    EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k1, &der);
    assert_true(n > 0);
    assert_int_equal(sigverify_check_key(SIGVERIFY_ECDSA, der, (size_t)n), LS_ENOTSUP);
    OPENSSL_free(der);
    EVP_PKEY_free(k1);
}

static void
test_rsa_size_bounds(void **state)
{
    (void)state;
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(small, &der);
    assert_true(n > 0);
    assert_int_equal(sigverify_check_key(SIGVERIFY_RSA, der, (size_t)n), LS_EINVAL);
    OPENSSL_free(der);
    EVP_PKEY_free(small);
}

static void
test_ed25519_and_unknown(void **state)
{
    (void)state;
    ed25519_keypair_t k;
    uint8_t sig[ED25519_SIG_LEN];
    ed25519_keypair_generate(&k);
    ed25519_sign(sig, msg, sizeof msg, &k);
    assert_int_equal(
        sigverify(SIGVERIFY_ED25519, k.pk, 32, (const uint8_t *)msg, sizeof msg, sig, sizeof sig),
        0);
    assert_int_equal(sigverify(SIGVERIFY_ED25519, k.pk, 32, (const uint8_t *)msg, sizeof msg, sig,
                               sizeof sig - 1),
                     LS_EBADSIG);
    assert_int_equal(
        sigverify(SIGVERIFY_ED25519, k.pk, 31, (const uint8_t *)msg, sizeof msg, sig, sizeof sig),
        LS_EINVAL);
    assert_int_equal(sigverify(7, k.pk, 32, (const uint8_t *)msg, sizeof msg, sig, sizeof sig),
                     LS_ENOTSUP);
    assert_int_equal(sigverify_check_key(-1, k.pk, 32), LS_ENOTSUP);
    assert_int_equal(sigverify_check_key(SIGVERIFY_RSA, k.pk, 0), LS_EINVAL);
    ed25519_keypair_wipe(&k);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa),
        cmocka_unit_test(test_secp256k1),
        cmocka_unit_test(test_ecdsa),
        cmocka_unit_test(test_rsa_size_bounds),
        cmocka_unit_test(test_ed25519_and_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
