/* Tests of lib/pbread: bounds, varint limits, refused keys and wire types. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/err/err.h"
#include "lib/pbread/pbread.h"

static void
test_varints(void **state)
{
    (void)state;
    static const uint8_t max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    static const uint8_t nonmin[] = {0x81, 0x00};
    uint64_t v;
    pbread_t r = {max, sizeof max, 0};
    assert_int_equal(pbread_varint(&r, &v), 0);
    assert_true(v == UINT64_MAX && r.off == sizeof max);
    r = (pbread_t){over, sizeof over, 0};
    assert_int_equal(pbread_varint(&r, &v), LS_EINVAL);
    r = (pbread_t){max, 3, 0}; /* truncated */
    assert_int_equal(pbread_varint(&r, &v), LS_EINVAL);
    r = (pbread_t){nonmin, sizeof nonmin, 0}; /* accepted, as protobuf does */
    assert_int_equal(pbread_varint(&r, &v), 0);
    assert_int_equal(v, 1);
}

static void
test_tags_bytes_and_skips(void **state)
{
    (void)state;
    /* field 1 bytes "ab", field 2 fixed64, field 3 fixed32, field 4 varint 5 */
    static const uint8_t msg[] = {0x0a, 2, 'a', 'b', 0x11, 1, 2, 3, 4, 5, 6, 7, 8,
                                  0x1d, 1, 2, 3, 4, 0x20, 5};
    pbread_t r = {msg, sizeof msg, 0};
    uint64_t f, v;
    unsigned w;
    const uint8_t *p;
    size_t n;
    assert_int_equal(pbread_tag(&r, &f, &w), 0);
    assert_int_equal(pbread_uint(&r, w, &v), LS_EINVAL); /* wrong wire type */
    assert_int_equal(pbread_len(&r, w, &p, &n), 0);
    assert_true(f == 1 && n == 2 && p[0] == 'a');
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pbread_tag(&r, &f, &w), 0);
        assert_int_equal(pbread_skip(&r, w), 0);
    }
    assert_int_equal(pbread_tag(&r, &f, &w), 0);
    assert_int_equal(pbread_uint(&r, w, &v), 0);
    assert_true(f == 4 && v == 5 && r.off == sizeof msg);
    static const uint8_t bad[][2] = {{0x00, 0}, {0x0b, 0}, {0x0c, 0}, {0x0e, 0}, {0x0f, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) { /* field 0, wire 3, 4, 6, 7 */
        r = (pbread_t){bad[i], 2, 0};
        assert_int_equal(pbread_tag(&r, &f, &w), LS_EINVAL);
    }
    static const uint8_t longlen[] = {0x0a, 5, 'a'};
    r = (pbread_t){longlen, sizeof longlen, 0};
    assert_int_equal(pbread_tag(&r, &f, &w), 0);
    assert_int_equal(pbread_bytes(&r, &p, &n), LS_EINVAL);
    static const uint8_t shortfix[] = {0x11, 1, 2};
    r = (pbread_t){shortfix, sizeof shortfix, 0};
    assert_int_equal(pbread_tag(&r, &f, &w), 0);
    assert_int_equal(pbread_skip(&r, w), LS_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varints),
        cmocka_unit_test(test_tags_bytes_and_skips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
