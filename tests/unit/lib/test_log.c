/* lib/log: level parsing and filtering, file output and reopen, counters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define LOG_MODULE "testmod"
#include "lib/buf/buf.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "lib/log/log.h"

static void
test_log_levels_parse_and_filter(void **state)
{
    (void)state;
    log_level_t l;
    assert_int_equal(log_level_parse("DEBUG", &l), 0);
    assert_int_equal(l, LOG_DEBUG);
    assert_int_equal(log_level_parse("verbose", &l), LS_EINVAL);
    assert_string_equal(log_level_name(LOG_WARN), "warn");
    log_set_level(LOG_WARN);
    assert_true(log_is_enabled(LOG_ERROR));
    assert_false(log_is_enabled(LOG_INFO));
}

static void
test_log_file_output_and_reopen(void **state)
{
    (void)state;
    char path[] = "/tmp/lester-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(log_set_file(path), 0);
    log_set_level(LOG_INFO);
    unsigned long before = log_count(LOG_WARN);
    log_info("hello %d", 42);
    log_debug("not shown");
    log_warn("careful");
    assert_int_equal(log_count(LOG_WARN), before + 1);
    unlink(path);                       /* as logrotate does, then SIGHUP */
    assert_int_equal(log_reopen(), 0);
    log_error("after rotation");
    buf_t b = BUF_INIT(1 << 16);
    assert_int_equal(fs_read_all(path, 1 << 16, &b), 0);
    const char *text = buf_cstr(&b);
    assert_non_null(strstr(text, "ERROR testmod: after rotation"));
    assert_null(strstr(text, "hello"));  /* that went to the rotated-away file */
    assert_int_equal(log_set_file(NULL), 0);
    unlink(path);
    buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_levels_parse_and_filter),
        cmocka_unit_test(test_log_file_output_and_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
