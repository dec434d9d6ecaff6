#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "content/chunker/chunker.h"
#include "lib/err/err.h"

typedef struct seen_t {
    size_t n;
    size_t lens[64];
    const uint8_t *ptrs[64];
    uint8_t all[8192]; /* concatenation of chunks */
    size_t total;
    int fail_at; /* return an error on this chunk (1-based), 0: never */
} seen_t;

static int
record(void *ctx, const uint8_t *chunk, size_t len)
{
    seen_t *s = ctx;
    s->lens[s->n] = len;
    s->ptrs[s->n] = chunk;
    memcpy(s->all + s->total, chunk, len);
    s->total += len;
    s->n++;
    return s->fail_at && (int)s->n == s->fail_at ? LS_EIO : 0;
}

static void
test_chunker_empty_stream_is_one_empty_chunk(void **state)
{
    chunker_t *c = chunker_new(0);
    seen_t s = {0};

    (void)state;
    assert_int_equal(chunker_chunk_size(c), CHUNKER_DEFAULT_SIZE);
    assert_int_equal(chunker_feed(c, (const uint8_t *)"", 0, record, &s), 0);
    assert_int_equal(chunker_finish(c, record, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.lens[0], 0);
    assert_int_equal(chunker_finish(c, record, &s), LS_EINVAL);
    chunker_free(c);
    assert_null(c);
}

static void
test_chunker_exact_multiple_has_no_tail(void **state)
{
    uint8_t in[300];
    chunker_t *c = chunker_new(100);
    seen_t s = {0};

    (void)state;
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)i;
    assert_int_equal(chunker_feed(c, in, sizeof in, record, &s), 0);
    assert_int_equal(chunker_finish(c, record, &s), 0);
    assert_int_equal(s.n, 3);
    /* whole chunks inside one fed piece are handed out without copying */
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(s.lens[i], 100);
        assert_ptr_equal(s.ptrs[i], in + 100 * i);
    }
    chunker_free(c);
}

static void
test_chunker_any_split_gives_same_chunks(void **state)
{
    uint8_t in[1000];

    (void)state;
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 7 + 3);
    for (size_t piece = 1; piece <= 260; piece += 37) {
        chunker_t *c = chunker_new(128);
        seen_t s = {0};
        for (size_t off = 0; off < sizeof in; off += piece)
            assert_int_equal(chunker_feed(c, in + off, LS_MIN(piece, sizeof in - off), record, &s),
                             0);
        assert_int_equal(chunker_finish(c, record, &s), 0);
        assert_int_equal(s.n, 8); /* 7 x 128 + 104 */
        for (size_t i = 0; i < 7; i++)
            assert_int_equal(s.lens[i], 128);
        assert_int_equal(s.lens[7], 1000 - 7 * 128);
        assert_int_equal(s.total, sizeof in);
        assert_memory_equal(s.all, in, sizeof in);
        chunker_free(c);
    }
}

static void
test_chunker_callback_error_stops(void **state)
{
    uint8_t in[500] = {0};
    chunker_t *c = chunker_new(100);
    seen_t s = {.fail_at = 2};

    (void)state;
    assert_int_equal(chunker_feed(c, in, sizeof in, record, &s), LS_EIO);
    assert_int_equal(s.n, 2);
    chunker_free(c);
}

static void
test_chunker_size_limits(void **state)
{
    chunker_t *c = chunker_new(CHUNKER_MAX_SIZE);
    (void)state;
    assert_non_null(c);
    chunker_free(c);
    assert_null(chunker_new(CHUNKER_MAX_SIZE + 1));
    chunker_free_(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunker_empty_stream_is_one_empty_chunk),
        cmocka_unit_test(test_chunker_exact_multiple_has_no_tail),
        cmocka_unit_test(test_chunker_any_split_gives_same_chunks),
        cmocka_unit_test(test_chunker_callback_error_stops),
        cmocka_unit_test(test_chunker_size_limits),
    };
    return cmocka_run_group_tests_name("content/chunker", tests, NULL, NULL);
}
