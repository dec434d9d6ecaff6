/* gateway_negotiate: the examples of ipfs/specs trustless-gateway ("CAR format
 * signaling in Request", entity-bytes) and RFC 9110's Accept/q-value and
 * If-None-Match rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/err/err.h"
#include "node/daemon/gateway_negotiate.h"

static int
neg(const char *accept, const char *format, gateway_want_t *w)
{
    const char *why;
    gateway_request_t in = { .accept = accept, .format = format };
    return gateway_negotiate(&in, w, &why);
}

static void
test_format_wins_over_accept(void **state)
{
    (void)state;
    gateway_want_t w;
    assert_int_equal(neg("application/vnd.ipld.car", "raw", &w), 0);
    assert_int_equal(w.format, GATEWAY_FORMAT_RAW);
    assert_false(w.by_accept);
    assert_int_equal(neg("application/vnd.ipld.raw", NULL, &w), 0);
    assert_int_equal(w.format, GATEWAY_FORMAT_RAW);
    assert_true(w.by_accept);
    assert_int_equal(neg(NULL, NULL, &w), 0);
    assert_int_equal(w.format, GATEWAY_FORMAT_FILE);
    assert_int_equal(neg(NULL, "dag-json", &w), LS_ENOTSUP);
    assert_int_equal(neg(NULL, "nonsense", &w), LS_EINVAL);
}

static void
test_accept_lists_and_weights(void **state)
{
    (void)state;
    gateway_want_t w;
    assert_int_equal(neg("application/vnd.ipld.raw, */*;q=0.5", NULL, &w), 0);
    assert_int_equal(w.format, GATEWAY_FORMAT_RAW);
    assert_int_equal(neg("*/*;q=0.5, application/vnd.ipld.raw;q=0.4", NULL, &w), 0);
    assert_int_equal(w.format, GATEWAY_FORMAT_FILE);
    /* the spec's example: order=foo is not served, the dfs/dups=y fallback is */
    assert_int_equal(neg("application/vnd.ipld.car;order=foo, "
                         "application/vnd.ipld.car;order=dfs;dups=y;q=0.5",
                         NULL, &w),
                     0);
    assert_int_equal(w.format, GATEWAY_FORMAT_CAR);
    assert_true(w.dups);
    assert_int_equal(neg("application/vnd.ipld.car; version=\"1\"; order=unk", NULL, &w), 0);
    assert_false(w.dups);
    assert_int_equal(neg("application/vnd.ipld.car; version=2", NULL, &w), LS_ENOTSUP);
    assert_int_equal(neg("application/vnd.ipld.raw;q=0", NULL, &w), LS_ENOTSUP);
    assert_int_equal(neg("application/vnd.ipld.dag-json", NULL, &w), LS_ENOTSUP);
    assert_int_equal(neg("text/html, application/vnd.ipld.car", NULL, &w), 0);
    assert_int_equal(w.format, GATEWAY_FORMAT_CAR); /* a trustless type at equal q */
    assert_int_equal(neg("application/vnd.ipld.raw;q=2, text/plain", NULL, &w), 0);
    assert_int_equal(w.format, GATEWAY_FORMAT_FILE); /* q=2 is malformed: dropped */
    assert_int_equal(neg(";;,=,\"", NULL, &w), 0);
    assert_int_equal(w.format, GATEWAY_FORMAT_FILE);
}

static void
test_car_parameters(void **state)
{
    (void)state;
    gateway_want_t w;
    const char *why;
    gateway_request_t in = { .format = "car", .accept = "application/vnd.ipld.car; dups=y",
                             .car_dups = "n", .dag_scope = "block" };
    assert_int_equal(gateway_negotiate(&in, &w, &why), 0);
    assert_false(w.dups);
    assert_int_equal(w.scope, GATEWAY_SCOPE_BLOCK);
    in = (gateway_request_t){ .format = "car", .car_version = "2" };
    assert_int_equal(gateway_negotiate(&in, &w, &why), LS_ENOTSUP);
    in = (gateway_request_t){ .format = "car", .dag_scope = "everything" };
    assert_int_equal(gateway_negotiate(&in, &w, &why), LS_EINVAL);
    assert_true(why[0] != '\0');
    /* only CAR requests read the CAR parameters */
    in = (gateway_request_t){ .format = "raw", .dag_scope = "everything" };
    assert_int_equal(gateway_negotiate(&in, &w, &why), 0);
}

static void
check_range(const char *bytes, uint64_t size, int want_rc, uint64_t lo, uint64_t hi)
{
    gateway_want_t w;
    const char *why;
    uint64_t a = 0, b = 0;
    gateway_request_t in = { .format = "car", .entity_bytes = bytes };
    assert_int_equal(gateway_negotiate(&in, &w, &why), 0);
    assert_true(w.has_range);
    assert_int_equal(w.scope, GATEWAY_SCOPE_ENTITY);
    assert_int_equal(gateway_range_resolve(&w, size, &a, &b), want_rc);
    if (want_rc == 0) {
        assert_int_equal(a, lo);
        assert_int_equal(b, hi);
    }
}

static void
test_entity_bytes(void **state)
{
    (void)state;
    check_range("0:*", 5000, 0, 0, 4999);
    check_range("-1024:*", 5000, 0, 3976, 4999);
    check_range("499:-1000", 5000, 0, 499, 4000);
    check_range("-99999:10", 5000, 0, 0, 10);
    check_range("100:99999", 5000, 0, 100, 4999);
    check_range("5000:*", 5000, LS_ERANGE, 0, 0);
    check_range("10:-4995", 5000, 1, 0, 0); /* empty: answered as dag-scope=block */
    check_range("0:*", 0, 1, 0, 0);
    gateway_want_t w;
    const char *why;
    static const char *const bad[] = { "5:2", "abc", "1:", ":5", "1:2:3", "--1:*", "1:**",
                                       "1234567890123456789:*", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gateway_request_t in = { .format = "car", .entity_bytes = bad[i] };
        assert_int_equal(gateway_negotiate(&in, &w, &why), LS_EINVAL);
    }
}

static void
test_if_none_match(void **state)
{
    (void)state;
    assert_true(gateway_etag_match("\"a.raw\"", "\"a.raw\""));
    assert_true(gateway_etag_match("W/\"a.raw\"", "\"a.raw\""));
    assert_true(gateway_etag_match("\"x\", W/\"y\" ,\"a.raw\"", "\"a.raw\""));
    assert_true(gateway_etag_match("*", "\"a.raw\""));
    assert_false(gateway_etag_match("\"a.car\"", "\"a.raw\""));
    assert_false(gateway_etag_match("\"a.raw", "\"a.raw\""));
    assert_false(gateway_etag_match("", "\"a.raw\""));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_wins_over_accept),
        cmocka_unit_test(test_accept_lists_and_weights),
        cmocka_unit_test(test_car_parameters),
        cmocka_unit_test(test_entity_bytes),
        cmocka_unit_test(test_if_none_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
