/* lib/crypto: Ed25519 (RFC 8032 §7.1), SHA-256 (FIPS 180-2 examples), HMAC-SHA256
 * (RFC 4231), random. X25519 and the AEAD are covered by tests/unit/net/test_noise.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "lib/crypto/ed25519.h"
#include "lib/crypto/random.h"
#include "lib/crypto/sha256.h"

static void
hex(uint8_t *out, const char *s, size_t n)
{
    size_t got = 0;
    assert_int_equal(sodium_hex2bin(out, n, s, strlen(s), NULL, &got, NULL), 0);
    assert_int_equal(got, n);
}

/* RFC 8032 §7.1, TEST 2 (one-byte message 0x72). */
static void
test_ed25519_rfc8032_vector(void **state)
{
    (void)state;
    uint8_t seed[32], pk[32], sig[64], mine[64];
    hex(seed, "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", 32);
    hex(pk, "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", 32);
    hex(sig, "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
             "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00", 64);
    ed25519_keypair_t kp;
    ed25519_keypair_from_seed(&kp, seed);
    assert_memory_equal(kp.pk, pk, 32);
    const uint8_t msg[] = { 0x72 };
    ed25519_sign(mine, msg, 1, &kp);
    assert_memory_equal(mine, sig, 64);
    assert_true(ed25519_verify(sig, msg, 1, pk));
    const uint8_t other[] = { 0x73 };
    assert_false(ed25519_verify(sig, other, 1, pk));
    sig[10] ^= 1;
    assert_false(ed25519_verify(sig, msg, 1, pk));
    ed25519_keypair_wipe(&kp);
    uint8_t zero[64] = { 0 };
    assert_memory_equal(kp.sk, zero, 64);
}

static void
test_ed25519_generated_keys_differ(void **state)
{
    (void)state;
    ed25519_keypair_t a, b;
    ed25519_keypair_generate(&a);
    ed25519_keypair_generate(&b);
    assert_memory_not_equal(a.pk, b.pk, 32);
    uint8_t sig[64];
    ed25519_sign(sig, "x", 1, &a);
    assert_true(ed25519_verify(sig, "x", 1, a.pk));
    assert_false(ed25519_verify(sig, "x", 1, b.pk));
}

static void
test_sha256_fips_vectors(void **state)
{
    (void)state;
    uint8_t want[32], got[32];
    hex(want, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 32);
    sha256(got, "abc", 3);
    assert_memory_equal(got, want, 32);
    hex(want, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 32);
    sha256(got, "", 0);
    assert_memory_equal(got, want, 32);
    /* streaming over a split input gives the same digest, and the context resets */
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex(want, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", 32);
    sha256_ctx_t *c = sha256_new();
    for (int round = 0; round < 2; round++) {
        sha256_update(c, m, 10);
        sha256_update(c, m + 10, strlen(m) - 10);
        sha256_final(c, got);
        assert_memory_equal(got, want, 32);
    }
    sha256_free(c);
    assert_null(c);
}

/* RFC 4231 test case 2. */
static void
test_hmac_sha256_rfc4231(void **state)
{
    (void)state;
    uint8_t want[32], got[32];
    hex(want, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 32);
    hmac_sha256(got, "Jefe", 4, "what do ya want for nothing?", 28);
    assert_memory_equal(got, want, 32);
}

static void
test_random_uniform_in_range(void **state)
{
    (void)state;
    unsigned seen[7] = { 0 };
    for (int i = 0; i < 7000; i++) {
        uint32_t v = random_uniform(7);
        assert_true(v < 7);
        seen[v]++;
    }
    for (int i = 0; i < 7; i++)
        assert_true(seen[i] > 700);   /* each bucket near 1000: far from degenerate */
    assert_true(random_u64() != random_u64());
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_rfc8032_vector),
        cmocka_unit_test(test_ed25519_generated_keys_differ),
        cmocka_unit_test(test_sha256_fips_vectors),
        cmocka_unit_test(test_hmac_sha256_rfc4231),
        cmocka_unit_test(test_random_uniform_in_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
