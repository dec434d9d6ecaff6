#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "node/metrics/metrics.h"

static double
forty_two(void *ctx)
{
    (void)ctx;
    return 42.5;
}

static void
test_metrics_render_exposition_format(void **state)
{
    (void)state;
    metrics_t *m = metrics_new();
    metrics_describe(m, "lester_api_requests_total", METRIC_COUNTER, "API requests");
    metrics_inc(m, "lester_api_requests_total", "route=\"/a\",code=\"200\"");
    metrics_inc(m, "lester_api_requests_total", "route=\"/a\",code=\"200\"");
    metrics_inc(m, "lester_api_requests_total", "route=\"/b\",code=\"401\"");
    metrics_set(m, "lester_peers", NULL, 3);
    metrics_gauge_fn(m, "lester_db_size_bytes", "db size", forty_two, NULL);
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(metrics_render(m, &out), 0);
    const char *want =
        "# HELP lester_api_requests_total API requests\n"
        "# TYPE lester_api_requests_total counter\n"
        "lester_api_requests_total{route=\"/a\",code=\"200\"} 2\n"
        "lester_api_requests_total{route=\"/b\",code=\"401\"} 1\n"
        "# HELP lester_peers lester_peers\n"
        "# TYPE lester_peers gauge\n"
        "lester_peers 3\n"
        "# HELP lester_db_size_bytes db size\n"
        "# TYPE lester_db_size_bytes gauge\n"
        "lester_db_size_bytes 42.5\n";
    assert_string_equal(buf_cstr(&out), want);
    assert_true(metrics_get(m, "lester_api_requests_total", "route=\"/a\",code=\"200\"") == 2);
    assert_true(metrics_get(m, "lester_db_size_bytes", NULL) == 42.5);
    assert_true(metrics_get(m, "missing", NULL) == 0);
    buf_free(&out);
    metrics_free(m);
    assert_null(m);
    metrics_free_(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_render_exposition_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
