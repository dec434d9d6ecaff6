#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/buf/buf.h"
#include "lib/err/err.h"

static void
test_buf_append_respects_max(void **state)
{
    buf_t b = BUF_INIT(8);
    (void)state;
    assert_int_equal(buf_append(&b, "12345", 5), 0);
    assert_int_equal(buf_append(&b, "6789", 4), LS_ETOOBIG);
    assert_int_equal(b.len, 5);                       /* unchanged on failure */
    assert_int_equal(buf_append(&b, "678", 3), 0);
    assert_memory_equal(b.data, "12345678", 8);
    assert_null(buf_extend(&b, 1));
    buf_free(&b);
}

static void
test_buf_printf_and_consume(void **state)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    (void)state;
    assert_int_equal(buf_printf(&b, "%s-%d", "peer", 42), 0);
    assert_string_equal(buf_cstr(&b), "peer-42");
    buf_consume(&b, 5);
    assert_string_equal(buf_cstr(&b), "42");
    buf_consume(&b, 10);
    assert_int_equal(b.len, 0);
    char *s = buf_take_str(&b);
    assert_string_equal(s, "");
    free(s);
    buf_free(&b);
}

static void
test_buf_overflow_sizes(void **state)
{
    buf_t b = BUF_INIT(16);
    (void)state;
    assert_int_equal(buf_reserve(&b, SIZE_MAX), LS_ETOOBIG);
    assert_int_equal(buf_append(&b, "x", 1), 0);
    assert_int_equal(buf_reserve(&b, SIZE_MAX - 1), LS_ETOOBIG);
    buf_wipe(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_append_respects_max),
        cmocka_unit_test(test_buf_printf_and_consume),
        cmocka_unit_test(test_buf_overflow_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
