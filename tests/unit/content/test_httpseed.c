#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "content/httpseed/httpseed.h"
#include "lib/err/err.h"

static int
parse(const char *s, httpseed_endpoint_t *ep)
{
    return httpseed_parse(s, strlen(s), ep);
}

static void
test_httpseed_raw_template(void **state)
{
    (void)state;
    httpseed_endpoint_t ep;
    char path[256];
    assert_int_equal(parse("http://127.0.0.1:5001/ipfs/{cid}?format=raw", &ep), 0);
    assert_int_equal(ep.kind, HTTPSEED_RAW);
    assert_string_equal(ep.host, "127.0.0.1");
    assert_int_equal(ep.port, 5001);
    assert_int_equal(httpseed_path(&ep, "bafkqaaa", 0, path, sizeof path), 0);
    assert_string_equal(path, "/ipfs/bafkqaaa?format=raw");
}

static void
test_httpseed_chunk_template_and_defaults(void **state)
{
    (void)state;
    httpseed_endpoint_t ep;
    char path[256];
    assert_int_equal(parse("http://seed.example-1.org/file/{cid}/chunk/{index}", &ep), 0);
    assert_int_equal(ep.kind, HTTPSEED_CHUNK);
    assert_int_equal(ep.port, 80);
    assert_int_equal(httpseed_path(&ep, "bafy", 12345, path, sizeof path), 0);
    assert_string_equal(path, "/file/bafy/chunk/12345");
    assert_int_equal(parse("http://[::1]:8080/ipfs/{cid}?format=raw", &ep), 0);
    assert_string_equal(ep.host, "::1");
    assert_int_equal(ep.port, 8080);
}

static void
test_httpseed_rejects_bad_templates(void **state)
{
    (void)state;
    httpseed_endpoint_t ep = { .port = 7 };
    static const char *const invalid[] = {
        "",
        "http://",
        "http://host",                             /* no path */
        "http://:80/ipfs/{cid}?format=raw",        /* no host */
        "http://ho st/ipfs/{cid}?format=raw",
        "http://host:0/ipfs/{cid}?format=raw",
        "http://host:65536/ipfs/{cid}?format=raw",
        "http://host:12a/ipfs/{cid}?format=raw",
        "http://host:/ipfs/{cid}?format=raw",
        "http://[::1/ipfs/{cid}?format=raw",
        "http://host/ipfs/{cid}/{cid}?format=raw", /* two {cid} */
        "http://host/ipfs/{cid}?format=raw&x={y}", /* stray braces */
        "http://host/ipfs/{cid} ?format=raw",      /* space */
        "http://host/file/{cid}/{index}/{index}",
        "http://host/file/{index}",                /* no {cid} */
        "ftp-ish",
    };
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        int rc = parse(invalid[i], &ep);
        assert_true(rc == LS_EINVAL || rc == LS_ENOTSUP);
        assert_int_equal(ep.port, 7); /* untouched on failure */
    }
    assert_int_equal(parse("https://host/ipfs/{cid}?format=raw", &ep), LS_ENOTSUP);
    assert_int_equal(parse("http://host/ipfs/{cid}", &ep), LS_ENOTSUP); /* not raw */
    char big[HTTPSEED_URL_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(parse(big, &ep), LS_ETOOBIG);
}

static void
test_httpseed_path_respects_capacity(void **state)
{
    (void)state;
    httpseed_endpoint_t ep;
    char path[16];
    assert_int_equal(parse("http://h/ipfs/{cid}?format=raw", &ep), 0);
    assert_int_equal(httpseed_path(&ep, "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
                                   0, path, sizeof path), LS_ETOOBIG);
    char fits[19];
    assert_int_equal(httpseed_path(&ep, "b", 0, fits, 18), LS_ETOOBIG); /* no room for NUL */
    assert_int_equal(httpseed_path(&ep, "b", 0, fits, sizeof fits), 0);
    assert_string_equal(fits, "/ipfs/b?format=raw");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_httpseed_raw_template),
        cmocka_unit_test(test_httpseed_chunk_template_and_defaults),
        cmocka_unit_test(test_httpseed_rejects_bad_templates),
        cmocka_unit_test(test_httpseed_path_respects_capacity),
    };
    return cmocka_run_group_tests_name("content/httpseed", tests, NULL, NULL);
}
