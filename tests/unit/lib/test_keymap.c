#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/keymap/keymap.h"

/* A key laid out as neither user lays it out: a 16-bit length after a tag byte. */
#define KEY_MAX 40

typedef struct key_t_ {
    uint8_t tag;
    uint16_t len;
    uint8_t bytes[KEY_MAX];
} tkey_t;

typedef struct item_t {
    int value;
    uint32_t pad;
    tkey_t key;
} item_t;

static int views; /* calls of view_key, to check it is not called per probe */

static const uint8_t *
view_key(const void *key, size_t *len)
{
    const tkey_t *k = key;
    views++;
    *len = k->len <= KEY_MAX ? k->len : KEY_MAX;
    return k->bytes;
}

static uint32_t
next_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Key i: 4..KEY_MAX bytes, distinct for every i (its first 4 bytes are i). */
static tkey_t
key_n(unsigned i)
{
    tkey_t k;
    memset(&k, 0xee, sizeof k); /* garbage past len must not matter */
    k.tag = (uint8_t)i;
    k.len = (uint16_t)(4 + i % (KEY_MAX - 3));
    memcpy(k.bytes, &i, 4);
    for (size_t j = 4; j < k.len; j++)
        k.bytes[j] = (uint8_t)(i * 31u + j);
    return k;
}

static void
test_random_against_reference(void **state)
{
    (void)state;
    enum { N = 3000, OPS = 200000 };
    item_t *a = calloc(N, sizeof *a), *b = calloc(N, sizeof *b);
    item_t **ref = calloc(N, sizeof *ref); /* what the map should hold for key i */
    keymap_t *m = keymap_new(offsetof(item_t, key), view_key, 2);
    uint32_t seed = 12345;
    size_t live = 0;

    for (unsigned i = 0; i < N; i++) {
        a[i] = (item_t){(int)i, 0, key_n(i)};
        b[i] = (item_t){-(int)i, 0, key_n(i)};
    }
    for (int op = 0; op < OPS; op++) {
        unsigned i = next_rand(&seed) % N;
        tkey_t probe = key_n(i);
        probe.tag ^= 0x55; /* the lookup key is a copy: only the viewed bytes count */
        switch (next_rand(&seed) % 4) {
        case 0:
        case 1: { /* put a or b: replaces whatever holds the key */
            item_t *obj = next_rand(&seed) & 1 ? &a[i] : &b[i];
            assert_ptr_equal(keymap_put(m, obj), ref[i]);
            live += ref[i] == NULL;
            ref[i] = obj;
            break;
        }
        case 2:
            assert_ptr_equal(keymap_remove(m, &probe), ref[i]);
            live -= ref[i] != NULL;
            ref[i] = NULL;
            break;
        default:
            assert_ptr_equal(keymap_get(m, &probe), ref[i]);
        }
        assert_int_equal(keymap_count(m), live);
    }
    for (unsigned i = 0; i < N; i++)
        assert_ptr_equal(keymap_get(m, &a[i].key), ref[i]);
    keymap_free(m);
    assert_null(m);
    free(ref);
    free(b);
    free(a);
}

static void
test_iterate_then_remove(void **state)
{
    (void)state;
    enum { N = 1000 };
    item_t *a = calloc(N, sizeof *a);
    int *seen = calloc(N, sizeof *seen);
    keymap_t *m = keymap_new(offsetof(item_t, key), view_key, 16);

    for (unsigned i = 0; i < N; i++) {
        a[i] = (item_t){(int)i, 0, key_n(i)};
        assert_null(keymap_put(m, &a[i]));
    }
    size_t it = 0, n = 0;
    item_t *x;
    while ((x = keymap_next(m, &it))) {
        seen[x->value]++;
        n++;
    }
    assert_int_equal(n, N);
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    for (unsigned i = 0; i < N; i += 3) /* collect-then-remove, as the header asks */
        assert_ptr_equal(keymap_remove(m, &a[i].key), &a[i]);
    it = 0;
    n = 0;
    while ((x = keymap_next(m, &it))) {
        assert_true(x->value % 3 != 0);
        n++;
    }
    assert_int_equal(n, keymap_count(m));
    assert_int_equal(n, N - (N + 2) / 3);
    keymap_free(m);
    free(seen);
    free(a);
}

static void
test_lengths_and_empty_key(void **state)
{
    (void)state;
    keymap_t *m = keymap_new(offsetof(item_t, key), view_key, 0);
    item_t e = {0}, ab = {1, 0, {0, 2, "ab"}}, abc = {2, 0, {0, 3, "abc"}};
    item_t a0 = {3, 0, {0, 3, {'a', 'b', 0}}};

    assert_null(keymap_get(m, &e.key));
    assert_null(keymap_next(m, &(size_t){0}));
    assert_null(keymap_put(m, &e)); /* the empty key is a key like any other */
    assert_null(keymap_put(m, &ab));
    assert_null(keymap_put(m, &abc));
    assert_null(keymap_put(m, &a0)); /* "ab\0" is neither "ab" nor "abc" */
    assert_int_equal(keymap_count(m), 4);
    assert_ptr_equal(keymap_get(m, &e.key), &e);
    assert_ptr_equal(keymap_get(m, &ab.key), &ab);
    assert_ptr_equal(keymap_get(m, &abc.key), &abc);
    assert_ptr_equal(keymap_get(m, &a0.key), &a0);
    assert_ptr_equal(keymap_remove(m, &ab.key), &ab);
    assert_null(keymap_get(m, &ab.key));
    assert_ptr_equal(keymap_get(m, &abc.key), &abc);
    assert_null(keymap_remove(m, &ab.key));
    keymap_free(m);
    keymap_free_(NULL);
}

/* The stored hash is compared first: a miss on a full map reads no key at all,
 * and a hit reads the two keys once each. */
static void
test_view_only_on_hash_match(void **state)
{
    (void)state;
    enum { N = 500 };
    item_t *a = calloc(N, sizeof *a);
    keymap_t *m = keymap_new(offsetof(item_t, key), view_key, 2);

    for (unsigned i = 0; i < N; i++) {
        a[i] = (item_t){(int)i, 0, key_n(i)};
        keymap_put(m, &a[i]);
    }
    tkey_t absent = key_n(N + 7);
    views = 0;
    assert_null(keymap_get(m, &absent));
    assert_int_equal(views, 1); /* hashing the probe */
    views = 0;
    assert_ptr_equal(keymap_get(m, &a[42].key), &a[42]);
    assert_int_equal(views, 3);
    keymap_free(m);
    free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_iterate_then_remove),
        cmocka_unit_test(test_lengths_and_empty_key),
        cmocka_unit_test(test_view_only_on_hash_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
