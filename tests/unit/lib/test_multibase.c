#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/err/err.h"
#include "lib/multibase/multibase.h"

typedef int (*encode_fn)(const uint8_t *, size_t, buf_t *);
typedef int (*decode_fn)(const char *, size_t, buf_t *);

/* Encode `in`, expect `text`, decode it back. */
static void
check_codec(encode_fn enc, decode_fn dec, const char *in, size_t inlen, const char *text)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);

    assert_int_equal(enc((const uint8_t *)in, inlen, &b), 0);
    assert_string_equal(buf_cstr(&b), text);
    buf_clear(&b);
    assert_int_equal(dec(text, strlen(text), &b), 0);
    assert_int_equal(b.len, inlen);
    if (inlen)
        assert_memory_equal(b.data, in, inlen);
    buf_free(&b);
}

static void
test_base58btc_known_answers(void **state)
{
    (void)state;
    check_codec(base58btc_encode, base58btc_decode, "", 0, "");
    check_codec(base58btc_encode, base58btc_decode, "hello world", 11, "StV1DL6CwTryKyV");
    check_codec(base58btc_encode, base58btc_decode, "\0\0hi", 4, "118wr");
    check_codec(base58btc_encode, base58btc_decode, "\0", 1, "1");
    /* the multibase spec's example: "Decentralize everything!!" */
    check_codec(base58btc_encode, base58btc_decode, "Decentralize everything!!", 25,
                "UXE7GvtEk8XTXs1GF8HSGbVA9FCX9SEBPe");
}

static void
test_base32_rfc4648_vectors(void **state)
{
    (void)state;
    /* RFC 4648 §10, lowercased and unpadded */
    check_codec(base32_encode, base32_decode, "", 0, "");
    check_codec(base32_encode, base32_decode, "f", 1, "my");
    check_codec(base32_encode, base32_decode, "fo", 2, "mzxq");
    check_codec(base32_encode, base32_decode, "foo", 3, "mzxw6");
    check_codec(base32_encode, base32_decode, "foob", 4, "mzxw6yq");
    check_codec(base32_encode, base32_decode, "fooba", 5, "mzxw6ytb");
    check_codec(base32_encode, base32_decode, "foobar", 6, "mzxw6ytboi");
}

static void
test_base16_vectors(void **state)
{
    buf_t b = BUF_INIT(64);

    (void)state;
    check_codec(base16_encode, base16_decode, "foobar", 6, "666f6f626172");
    assert_int_equal(base16_decode("DEADbeef", 8, &b), 0); /* raw codec: either case */
    assert_memory_equal(b.data, "\xde\xad\xbe\xef", 4);
    buf_free(&b);
}

static void
test_base_decoders_reject_bad_text(void **state)
{
    buf_t b = BUF_INIT(64);

    (void)state;
    assert_int_equal(base58btc_decode("0OIl", 4, &b), LS_EINVAL); /* not in the alphabet */
    assert_int_equal(base58btc_decode("ab\xff", 3, &b), LS_EINVAL);
    assert_int_equal(base32_decode("mzxw6===", 8, &b), LS_EINVAL); /* padding */
    assert_int_equal(base32_decode("m", 1, &b), LS_EINVAL);        /* impossible lengths */
    assert_int_equal(base32_decode("mzx", 3, &b), LS_EINVAL);
    assert_int_equal(base32_decode("mzxw6y", 6, &b), LS_EINVAL);
    assert_int_equal(base32_decode("mz", 2, &b), LS_EINVAL); /* unused bits set */
    assert_int_equal(base32_decode("m1", 2, &b), LS_EINVAL); /* '1' is not base32 */
    assert_int_equal(base16_decode("abc", 3, &b), LS_EINVAL);
    assert_int_equal(base16_decode("zz", 2, &b), LS_EINVAL);
    assert_int_equal(b.len, 0); /* nothing appended on error */
    buf_free(&b);
}

static void
test_base58_size_limit(void **state)
{
    size_t n = MULTIBASE_BASE58_MAX + 1;
    uint8_t *zeros = calloc(n, 1);
    char *ones = malloc(n);
    buf_t b = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    memset(ones, '1', n);
    assert_int_equal(base58btc_encode(zeros, n, &b), LS_ETOOBIG);
    assert_int_equal(base58btc_decode(ones, n, &b), LS_ETOOBIG);
    assert_int_equal(base58btc_decode(ones, n - 1, &b), 0);
    assert_int_equal(b.len, n - 1);
    buf_clear(&b);
    memset(zeros, 0xff, n);
    assert_int_equal(base58btc_encode(zeros, n - 1, &b), 0); /* worst case is fine */
    free(zeros);
    free(ones);
    buf_free(&b);
}

static void
test_multibase_prefixes(void **state)
{
    static const struct {
        multibase_t base;
        const char *text;
    } cases[] = {
        /* multiformats/multibase test vectors for "yes mani !" */
        {MULTIBASE_BASE16, "f796573206d616e692021"},
        {MULTIBASE_BASE16_UPPER, "F796573206D616E692021"},
        {MULTIBASE_BASE32, "bpfsxgidnmfxgsibb"},
        {MULTIBASE_BASE32_UPPER, "BPFSXGIDNMFXGSIBB"},
        {MULTIBASE_BASE58BTC, "z7paNL19xttacUY"},
    };
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    multibase_t which;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_clear(&b);
        assert_int_equal(multibase_encode(cases[i].base, (const uint8_t *)"yes mani !", 10, &b), 0);
        assert_string_equal(buf_cstr(&b), cases[i].text);
        buf_clear(&b);
        assert_int_equal(multibase_decode(cases[i].text, strlen(cases[i].text), &b, &which), 0);
        assert_int_equal(which, cases[i].base);
        assert_int_equal(b.len, 10);
        assert_memory_equal(b.data, "yes mani !", 10);
    }
    buf_free(&b);
}

static void
test_multibase_rejects(void **state)
{
    buf_t b = BUF_INIT(64);

    (void)state;
    assert_int_equal(multibase_decode("", 0, &b, NULL), LS_EINVAL);
    assert_int_equal(multibase_decode("mAQID", 5, &b, NULL), LS_ENOTSUP); /* base64 */
    assert_int_equal(multibase_decode("bPFSX", 5, &b, NULL), LS_EINVAL);  /* case != prefix */
    assert_int_equal(multibase_decode("Bpfsx", 5, &b, NULL), LS_EINVAL);
    assert_int_equal(multibase_decode("fAB", 3, &b, NULL), LS_EINVAL);
    assert_int_equal(multibase_decode("z0", 2, &b, NULL), LS_EINVAL);
    assert_int_equal(multibase_encode((multibase_t)'m', (const uint8_t *)"x", 1, &b), LS_ENOTSUP);
    assert_int_equal(b.len, 0);
    /* an output buffer that is too small leaves nothing behind */
    buf_t small = BUF_INIT(4);
    assert_int_equal(multibase_encode(MULTIBASE_BASE16, (const uint8_t *)"abc", 3, &small),
                     LS_ETOOBIG);
    assert_int_equal(small.len, 0);
    buf_free(&small);
    buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base58btc_known_answers),
        cmocka_unit_test(test_base32_rfc4648_vectors),
        cmocka_unit_test(test_base16_vectors),
        cmocka_unit_test(test_base_decoders_reject_bad_text),
        cmocka_unit_test(test_base58_size_limit),
        cmocka_unit_test(test_multibase_prefixes),
        cmocka_unit_test(test_multibase_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
