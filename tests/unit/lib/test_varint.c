#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/err/err.h"
#include "lib/varint/varint.h"

/* multiformats/unsigned-varint README examples, plus the 63-bit edge */
static const struct {
    uint64_t v;
    uint8_t bytes[VARINT_MAX_LEN];
    size_t len;
} VECTORS[] = {
    {0, {0x00}, 1},
    {1, {0x01}, 1},
    {127, {0x7f}, 1},
    {128, {0x80, 0x01}, 2},
    {255, {0xff, 0x01}, 2},
    {300, {0xac, 0x02}, 2},
    {16384, {0x80, 0x80, 0x01}, 3},
    {VARINT_MAX_VALUE, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 9},
};

static void
test_varint_known_answers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof VECTORS / sizeof VECTORS[0]; i++) {
        uint8_t out[VARINT_MAX_LEN];
        uint64_t v = 12345;
        assert_int_equal(varint_encode(VECTORS[i].v, out), VECTORS[i].len);
        assert_memory_equal(out, VECTORS[i].bytes, VECTORS[i].len);
        assert_int_equal(varint_len(VECTORS[i].v), VECTORS[i].len);
        assert_int_equal(varint_decode(VECTORS[i].bytes, VECTORS[i].len, &v), VECTORS[i].len);
        assert_true(v == VECTORS[i].v);
    }
}

static void
test_varint_rejects_non_minimal(void **state)
{
    static const uint8_t padded_zero[] = {0x80, 0x00};
    static const uint8_t padded_one[] = {0x81, 0x80, 0x00};
    uint64_t v = 7;

    (void)state;
    assert_int_equal(varint_decode(padded_zero, sizeof padded_zero, &v), LS_EINVAL);
    assert_int_equal(varint_decode(padded_zero, 1, &v), LS_EAGAIN); /* needs more */
    assert_int_equal(varint_decode(padded_one, sizeof padded_one, &v), LS_EINVAL);
    assert_true(v == 7); /* untouched on error */
}

static void
test_varint_truncated_and_too_long(void **state)
{
    static const uint8_t ten[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t two[] = {0xac, 0x02, 0xff};
    uint64_t v;

    (void)state;
    assert_int_equal(varint_decode(two, 0, &v), LS_EAGAIN);
    assert_int_equal(varint_decode(two, 1, &v), LS_EAGAIN);
    assert_int_equal(varint_decode(two, sizeof two, &v), 2); /* trailing bytes are not ours */
    assert_true(v == 300);
    for (size_t n = 1; n < 9; n++)
        assert_int_equal(varint_decode(ten, n, &v), LS_EAGAIN);
    assert_int_equal(varint_decode(ten, 9, &v), LS_EINVAL); /* would need a tenth byte */
    assert_int_equal(varint_decode(ten, sizeof ten, &v), LS_EINVAL);
}

static void
test_varint_out_of_range_values(void **state)
{
    uint8_t out[VARINT_MAX_LEN] = {0};
    buf_t b = BUF_INIT(64);

    (void)state;
    assert_int_equal(varint_encode(VARINT_MAX_VALUE + 1, out), 0);
    assert_int_equal(varint_encode(UINT64_MAX, out), 0);
    assert_int_equal(varint_len(UINT64_MAX), 0);
    assert_int_equal(varint_append(&b, UINT64_MAX), LS_ERANGE);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void
test_varint_append_and_round_trip(void **state)
{
    buf_t b = BUF_INIT(3);
    uint64_t v;

    (void)state;
    assert_int_equal(varint_append(&b, 300), 0);
    assert_int_equal(varint_append(&b, 300), LS_ETOOBIG); /* over the buffer's max */
    assert_int_equal(b.len, 2);
    buf_free(&b);
    for (unsigned shift = 0; shift < 63; shift++) {
        uint64_t x = (uint64_t)1 << shift;
        uint64_t ys[] = {x - 1, x, x + 1};
        for (size_t i = 0; i < 3; i++) {
            uint8_t out[VARINT_MAX_LEN];
            size_t n = varint_encode(ys[i], out);
            assert_true(n > 0);
            assert_int_equal(varint_decode(out, n, &v), (int)n);
            assert_true(v == ys[i]);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_known_answers),
        cmocka_unit_test(test_varint_rejects_non_minimal),
        cmocka_unit_test(test_varint_truncated_and_too_long),
        cmocka_unit_test(test_varint_out_of_range_values),
        cmocka_unit_test(test_varint_append_and_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
