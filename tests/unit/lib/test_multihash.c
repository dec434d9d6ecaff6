#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/err/err.h"
#include "lib/multihash/multihash.h"

/* sha2-256("") as a multihash */
static const uint8_t EMPTY_SHA256_MH[] = {
    0x12, 0x20, 0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb,
    0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
    0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

static void
test_multihash_sha256_known_answer(void **state)
{
    buf_t b = BUF_INIT(MULTIHASH_MAX_LEN);
    multihash_t mh, back;

    (void)state;
    multihash_sha256("", 0, &mh);
    assert_int_equal(multihash_encoded_len(&mh), sizeof EMPTY_SHA256_MH);
    assert_int_equal(multihash_encode(&mh, &b), 0);
    assert_int_equal(b.len, sizeof EMPTY_SHA256_MH);
    assert_memory_equal(b.data, EMPTY_SHA256_MH, sizeof EMPTY_SHA256_MH);
    assert_int_equal(multihash_decode(b.data, b.len, &back), (int)b.len);
    assert_true(multihash_equal(&mh, &back));
    assert_true(multihash_verify(&back, "", 0));
    assert_false(multihash_verify(&back, "x", 1));
    buf_free(&b);
}

static void
test_multihash_identity(void **state)
{
    static const uint8_t enc[] = {0x00, 0x03, 'a', 'b', 'c'};
    uint8_t big[MULTIHASH_MAX_DIGEST + 1] = {0};
    multihash_t mh, other;
    buf_t b = BUF_INIT(64);

    (void)state;
    assert_int_equal(multihash_identity("abc", 3, &mh), 0);
    assert_int_equal(multihash_encode(&mh, &b), 0);
    assert_memory_equal(b.data, enc, sizeof enc);
    assert_true(multihash_verify(&mh, "abc", 3));
    assert_false(multihash_verify(&mh, "abd", 3));
    assert_false(multihash_verify(&mh, "ab", 2));
    assert_int_equal(multihash_identity(big, sizeof big, &other), LS_ETOOBIG);
    assert_int_equal(multihash_identity(big, 0, &other), 0);
    assert_true(multihash_verify(&other, "", 0));
    assert_false(multihash_equal(&mh, &other));
    buf_free(&b);
}

static void
test_multihash_decode_errors(void **state)
{
    static const uint8_t short_sha[] = {0x12, 0x14, 1, 2, 3};        /* sha2-256, 20 bytes */
    static const uint8_t too_long[] = {0x13, 0x41};                  /* 65-byte digest */
    static const uint8_t nonmin[] = {0x80, 0x00, 0x00};              /* padded code */
    static const uint8_t unknown[] = {0xb2, 0x20, 0x02, 0xaa, 0xbb}; /* code 0x1032: carried */
    multihash_t mh;

    (void)state;
    assert_int_equal(multihash_decode(EMPTY_SHA256_MH, 0, &mh), LS_EAGAIN);
    assert_int_equal(multihash_decode(EMPTY_SHA256_MH, 1, &mh), LS_EAGAIN);
    assert_int_equal(multihash_decode(EMPTY_SHA256_MH, sizeof EMPTY_SHA256_MH - 1, &mh), LS_EAGAIN);
    assert_int_equal(multihash_decode(short_sha, sizeof short_sha, &mh), LS_EINVAL);
    assert_int_equal(multihash_decode(too_long, sizeof too_long, &mh), LS_ETOOBIG);
    assert_int_equal(multihash_decode(nonmin, sizeof nonmin, &mh), LS_EINVAL);
    assert_int_equal(multihash_decode(unknown, sizeof unknown, &mh), (int)sizeof unknown);
    assert_true(mh.code == 0x1032);
    assert_int_equal(mh.len, 2);
    assert_false(multihash_verify(&mh, "\xaa\xbb", 2)); /* cannot verify unknown codes */
}

static void
test_multihash_encode_errors(void **state)
{
    multihash_t mh = {.code = UINT64_MAX, .len = 0};
    buf_t b = BUF_INIT(MULTIHASH_MAX_LEN);

    (void)state;
    assert_int_equal(multihash_encode(&mh, &b), LS_ERANGE);
    mh.code = MULTIHASH_IDENTITY;
    mh.len = MULTIHASH_MAX_DIGEST + 1;
    assert_int_equal(multihash_encode(&mh, &b), LS_EINVAL);
    assert_int_equal(multihash_encoded_len(&mh), 0);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multihash_sha256_known_answer),
        cmocka_unit_test(test_multihash_identity),
        cmocka_unit_test(test_multihash_decode_errors),
        cmocka_unit_test(test_multihash_encode_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
