#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/cid/cid.h"
#include "lib/err/err.h"
#include "lib/multibase/multibase.h"

/* CIDs of the empty byte string (sha2-256 e3b0c442...b855), from the CID spec */
#define EMPTY_RAW_V1 "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
#define EMPTY_PB_V0 "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n"
#define EMPTY_PB_V1 "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"

static void
check_string(const cid_t *cid, const char *want)
{
    buf_t b = BUF_INIT(CID_MAX_STRING);

    assert_int_equal(cid_to_string(cid, &b), 0);
    assert_string_equal(buf_cstr(&b), want);
    buf_free(&b);
}

static void
test_cid_empty_raw(void **state)
{
    cid_t made, parsed;

    (void)state;
    cid_v1_sha256(&made, CID_CODEC_RAW, "", 0);
    check_string(&made, EMPTY_RAW_V1);
    assert_int_equal(cid_from_string(&parsed, EMPTY_RAW_V1), 0);
    assert_true(cid_equal(&made, &parsed));
    assert_true(multihash_verify(&parsed.hash, "", 0));
}

static void
test_cid_v0_v1_conversion(void **state)
{
    cid_t v0, v1;

    (void)state;
    assert_int_equal(cid_from_string(&v0, EMPTY_PB_V0), 0);
    assert_int_equal(v0.version, 0);
    assert_true(v0.codec == CID_CODEC_DAG_PB);
    check_string(&v0, EMPTY_PB_V0);
    assert_int_equal(cid_from_string(&v1, EMPTY_PB_V1), 0);
    assert_int_equal(v1.version, 1);
    assert_false(cid_equal(&v0, &v1));
    v0.version = 1; /* v0 -> v1 keeps codec and hash */
    assert_true(cid_equal(&v0, &v1));
    check_string(&v0, EMPTY_PB_V1);
    v1.version = 0;
    check_string(&v1, EMPTY_PB_V0);
}

static void
test_cid_other_multibases(void **state)
{
    cid_t a, b;
    buf_t text = BUF_INIT(CID_MAX_STRING), bytes = BUF_INIT(CID_MAX_STRING);

    (void)state;
    cid_v1_sha256(&a, CID_CODEC_DAG_CBOR, "hello", 5);
    assert_int_equal(cid_to_bytes(&a, &bytes), 0);
    const multibase_t bases[] = {MULTIBASE_BASE58BTC, MULTIBASE_BASE16, MULTIBASE_BASE32_UPPER};
    for (size_t i = 0; i < 3; i++) {
        buf_clear(&text);
        assert_int_equal(multibase_encode(bases[i], bytes.data, bytes.len, &text), 0);
        assert_int_equal(cid_from_string(&b, buf_cstr(&text)), 0);
        assert_true(cid_equal(&a, &b));
    }
    buf_free(&text);
    buf_free(&bytes);
}

static void
test_cid_binary(void **state)
{
    static const uint8_t v1_raw_prefix[] = {0x01, 0x55, 0x12, 0x20};
    buf_t b = BUF_INIT(CID_MAX_STRING);
    cid_t c, d;

    (void)state;
    cid_v1_sha256(&c, CID_CODEC_RAW, "", 0);
    assert_int_equal(cid_to_bytes(&c, &b), 0);
    assert_int_equal(b.len, 36);
    assert_memory_equal(b.data, v1_raw_prefix, sizeof v1_raw_prefix);
    assert_int_equal(buf_append_byte(&b, 0x99), 0); /* trailing data is not consumed */
    assert_int_equal(cid_from_bytes(&d, b.data, b.len), 36);
    assert_true(cid_equal(&c, &d));
    for (size_t n = 0; n < 36; n++)
        assert_int_equal(cid_from_bytes(&d, b.data, n), LS_EAGAIN);
    buf_free(&b);
}

static void
test_cid_rejects(void **state)
{
    static const uint8_t explicit_v0[] = {0x00, 0x70, 0x12, 0x20};
    static const uint8_t v2[] = {0x02, 0x55, 0x00, 0x00};
    static const uint8_t bad_v0[] = {0x12, 0x10, 0x00};
    char huge[CID_MAX_STRING + 2];
    buf_t b = BUF_INIT(CID_MAX_STRING);
    cid_t c;

    (void)state;
    assert_int_equal(cid_from_bytes(&c, explicit_v0, sizeof explicit_v0), LS_EINVAL);
    assert_int_equal(cid_from_bytes(&c, v2, sizeof v2), LS_ENOTSUP);
    assert_int_equal(cid_from_bytes(&c, bad_v0, sizeof bad_v0), LS_EINVAL);
    assert_int_equal(cid_from_string(&c, ""), LS_EINVAL);
    assert_int_equal(cid_from_string(&c, "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1"),
                     LS_ENOTSUP); /* 45 chars: not v0, and 'Q' is no multibase */
    assert_int_equal(cid_from_string(&c, "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR10"),
                     LS_EINVAL); /* '0' is not base58 */
    assert_int_equal(cid_from_string(&c, EMPTY_PB_V1 "a"), LS_EINVAL);
    assert_int_equal(cid_from_string(&c, "zQmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n"),
                     LS_EINVAL); /* v0 bytes under a multibase prefix */
    assert_int_equal(
        cid_from_string(&c, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk"),
        LS_EINVAL); /* truncated */
    memset(huge, 'b', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(cid_from_string(&c, huge), LS_ETOOBIG);
    c.version = 0;
    c.codec = CID_CODEC_RAW;
    multihash_sha256("", 0, &c.hash);
    assert_int_equal(cid_to_bytes(&c, &b), LS_EINVAL); /* v0 must be dag-pb */
    c.version = 2;
    assert_int_equal(cid_to_bytes(&c, &b), LS_EINVAL);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cid_empty_raw),        cmocka_unit_test(test_cid_v0_v1_conversion),
        cmocka_unit_test(test_cid_other_multibases), cmocka_unit_test(test_cid_binary),
        cmocka_unit_test(test_cid_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
