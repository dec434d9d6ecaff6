#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/peermap/peermap.h"

typedef struct item_t {
    int value;
    peer_id_t id;
} item_t;

static peer_id_t
pid(unsigned i)
{
    uint8_t pk[32] = {0};
    peer_id_t id;
    memcpy(pk, &i, sizeof i);
    peer_id_from_ed25519(&id, pk);
    return id;
}

static void
test_put_get_remove_many(void **state)
{
    (void)state;
    enum { N = 5000 };
    item_t *items = calloc(N, sizeof *items);
    peermap_t *m = peermap_new(offsetof(item_t, id));
    for (int i = 0; i < N; i++) {
        items[i].value = i;
        items[i].id = pid((unsigned)i);
        assert_null(peermap_put(m, &items[i]));
    }
    assert_int_equal(peermap_count(m), N);
    item_t dup = {-1, pid(7)};
    assert_ptr_equal(peermap_put(m, &dup), &items[7]); /* replaces */
    assert_ptr_equal(peermap_put(m, &items[7]), &dup);
    for (int i = 0; i < N; i += 2) /* backward-shift deletion must keep the rest */
        assert_ptr_equal(peermap_remove(m, &items[i].id), &items[i]);
    assert_int_equal(peermap_count(m), N / 2);
    for (int i = 0; i < N; i++) {
        item_t *got = peermap_get(m, &items[i].id);
        if (i % 2)
            assert_ptr_equal(got, &items[i]);
        else
            assert_null(got);
    }
    assert_null(peermap_remove(m, &items[0].id));
    size_t it = 0, seen = 0;
    item_t *x;
    while ((x = peermap_next(m, &it))) {
        assert_true(x->value % 2 == 1);
        seen++;
    }
    assert_int_equal(seen, N / 2);
    peermap_free(m);
    assert_null(m);
    peermap_free_(NULL);
    free(items);
}

static void
test_empty_and_short_ids(void **state)
{
    (void)state;
    peermap_t *m = peermap_new(offsetof(item_t, id));
    peer_id_t empty = {0};
    assert_null(peermap_get(m, &empty));
    item_t e = {1, empty};
    assert_null(peermap_put(m, &e));
    assert_ptr_equal(peermap_get(m, &empty), &e);
    size_t it = 0;
    assert_ptr_equal(peermap_next(m, &it), &e);
    assert_null(peermap_next(m, &it));
    peermap_free(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_remove_many),
        cmocka_unit_test(test_empty_and_short_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
