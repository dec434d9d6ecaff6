#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/cidset/cidset.h"

#define N 5000

static cid_t
nth(int i, uint64_t codec)
{
    cid_t c;
    uint32_t v = (uint32_t)i;
    cid_v1_sha256(&c, codec, &v, sizeof v);
    return c;
}

/* xorshift32: a reproducible sequence for the test */
static uint32_t
next_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Random adds and removes against a plain array: after each step membership and the
 * count agree (backward-shift deletion keeps every probe chain whole). */
static void
test_cidset_matches_reference(void **state)
{
    (void)state;
    static bool in[N];
    memset(in, 0, sizeof in);
    cidset_t *s = cidset_new();
    size_t count = 0;
    uint32_t seed = 7;
    for (int step = 0; step < 60000; step++) {
        int i = (int)(next_rand(&seed) % N);
        cid_t c = nth(i, CID_CODEC_RAW);
        if (next_rand(&seed) % 3) {
            assert_int_equal(cidset_add(s, &c), !in[i]);
            count += !in[i];
            in[i] = true;
        } else {
            assert_int_equal(cidset_remove(s, &c), in[i]);
            count -= in[i];
            in[i] = false;
        }
        assert_int_equal(cidset_count(s), count);
        if (step % 997 == 0)
            for (int k = 0; k < N; k++) {
                cid_t ck = nth(k, CID_CODEC_RAW);
                assert_int_equal(cidset_has(s, &ck), in[k]);
            }
    }
    cidset_free(s);
}

/* Members are multihashes: the same bytes under another codec are the same member. */
static void
test_cidset_by_multihash(void **state)
{
    (void)state;
    cidset_t *s = cidset_new();
    cid_t raw = nth(1, CID_CODEC_RAW), pb = nth(1, CID_CODEC_DAG_PB), got;
    assert_false(cidset_any(s, &got));
    assert_true(cidset_add(s, &raw));
    assert_false(cidset_add(s, &pb));
    assert_true(cidset_has(s, &pb));
    assert_true(cidset_any(s, &got));
    assert_true(cid_equal(&got, &raw));
    assert_true(cidset_remove(s, &pb));
    assert_false(cidset_has(s, &raw));
    assert_int_equal(cidset_count(s), 0);
    cidset_free(s);
    cidset_free(s); /* NULL after the first: a no-op */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cidset_matches_reference),
        cmocka_unit_test(test_cidset_by_multihash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
