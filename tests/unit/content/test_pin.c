#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "blockstore_fixture.h"

/* R → (X, Y, L1); X → (L1, L2); L1, L2, Y raw leaves. */
typedef struct tree_t {
    cid_t r, x, y, l1, l2;
} tree_t;

static void
make_tree(blockstore_t *bs, tree_t *t, bool with_l2)
{
    assert_int_equal(fx_put(bs, 11, 300, &t->l1), 0);
    if (with_l2)
        assert_int_equal(fx_put(bs, 12, 300, &t->l2), 0);
    else
        free(fx_block(12, 300, &t->l2));
    assert_int_equal(fx_put(bs, 13, 300, &t->y), 0);
    cid_t xk[] = {t->l1, t->l2};
    assert_int_equal(fx_node(bs, 1, xk, 2, &t->x), 0);
    cid_t rk[] = {t->x, t->y, t->l1};
    assert_int_equal(fx_node(bs, 0, rk, 3, &t->r), 0);
}

static void
test_direct(void **state)
{
    fixture_t *f = *state;
    cid_t a, b;
    assert_int_equal(fx_put(f->bs, 1, 100, &a), 0);
    assert_int_equal(fx_put(f->bs, 2, 100, &b), 0);
    assert_int_equal(pin_add(f->bs, &a, false, NULL, NULL), 0);
    assert_int_equal(pin_add(f->bs, &a, false, NULL, NULL), 0); /* idempotent */
    assert_int_equal(pin_status(f->bs, &a), PIN_DIRECT);
    assert_true(pin_is_pinned(f->bs, &a));
    assert_int_equal(pin_status(f->bs, &b), PIN_NONE);
    assert_int_equal(blockstore_delete(f->bs, &a), LS_EACCES);
    assert_int_equal(pin_rm(f->bs, &a), 0);
    assert_int_equal(pin_rm(f->bs, &a), LS_ENOENT);
    assert_false(pin_is_pinned(f->bs, &a));
    assert_int_equal(blockstore_delete(f->bs, &a), 0);
    assert_int_equal(pin_add(f->bs, &a, false, NULL, NULL), LS_ENOENT); /* not held */
}

static void
test_recursive_and_indirect(void **state)
{
    fixture_t *f = *state;
    tree_t t;
    make_tree(f->bs, &t, true);
    cid_t other;
    assert_int_equal(fx_put(f->bs, 99, 10, &other), 0);
    int calls = 0;
    pin_links_t links = {&calls, fx_links};
    assert_int_equal(pin_add(f->bs, &t.r, true, &links, NULL), 0);
    assert_int_equal(calls, 2); /* R and X read; raw leaves never */
    assert_int_equal(pin_status(f->bs, &t.r), PIN_RECURSIVE);
    assert_int_equal(pin_status(f->bs, &t.x), PIN_INDIRECT);
    assert_int_equal(pin_status(f->bs, &t.l2), PIN_INDIRECT);
    assert_int_equal(pin_status(f->bs, &other), PIN_NONE);
    assert_int_equal(blockstore_delete(f->bs, &t.l1), LS_EACCES);

    blockstore_stat_t st;
    assert_int_equal(blockstore_stat(f->bs, &st), 0);
    assert_int_equal(st.pins_recursive, 1);
    assert_int_equal(st.pins_direct, 0);
    assert_int_equal(st.pinned_blocks, 5);

    /* a direct pin under it is still possible; a direct pin on it is not */
    assert_int_equal(pin_add(f->bs, &t.x, false, NULL, NULL), 0);
    assert_int_equal(pin_status(f->bs, &t.x), PIN_DIRECT);
    assert_int_equal(pin_add(f->bs, &t.r, false, NULL, NULL), LS_EEXIST);
    assert_int_equal(pin_add(f->bs, &t.r, true, &links, NULL), 0);

    /* persists */
    fx_close(f);
    assert_int_equal(fx_open(f), 0);
    assert_int_equal(pin_status(f->bs, &t.l1), PIN_INDIRECT);
    assert_int_equal(pin_rm(f->bs, &t.r), 0);
    assert_int_equal(pin_status(f->bs, &t.l1), PIN_NONE);
    assert_int_equal(pin_status(f->bs, &t.x), PIN_DIRECT);
}

static void
test_missing_blocks(void **state)
{
    fixture_t *f = *state;
    tree_t t;
    make_tree(f->bs, &t, false);
    pin_links_t links = {NULL, fx_links};
    blockstore_cidlist_t missing = {0};
    assert_int_equal(pin_add(f->bs, &t.r, true, &links, &missing), LS_ENOENT);
    assert_int_equal(missing.n, 1);
    assert_true(cid_equal(&missing.items[0], &t.l2));
    assert_int_equal(pin_status(f->bs, &t.r), PIN_NONE); /* nothing changed */
    assert_int_equal(pin_status(f->bs, &t.l1), PIN_NONE);

    /* a direct pin needs only the root */
    assert_int_equal(pin_add(f->bs, &t.r, false, &links, NULL), 0);
    /* fetched, the upgrade to recursive works */
    cid_t l2;
    assert_int_equal(fx_put(f->bs, 12, 300, &l2), 0);
    assert_int_equal(pin_add(f->bs, &t.r, true, &links, NULL), 0);
    assert_int_equal(pin_status(f->bs, &t.r), PIN_RECURSIVE);
    assert_int_equal(pin_status(f->bs, &l2), PIN_INDIRECT);
    blockstore_cidlist_clear(&missing);

    /* recursion without a links callback on a non-raw block is the caller's bug */
    cid_t lone;
    assert_int_equal(fx_node(f->bs, 7, NULL, 0, &lone), 0);
    assert_int_equal(pin_add(f->bs, &lone, true, NULL, NULL), LS_EINVAL);
}

static int
bad_links(void *ctx, const cid_t *cid, const uint8_t *p, size_t len, blockstore_cidlist_t *out)
{
    (void)ctx, (void)cid, (void)p, (void)len, (void)out;
    return LS_EPROTO;
}

static void
test_links_error_rolls_back(void **state)
{
    fixture_t *f = *state;
    tree_t t;
    make_tree(f->bs, &t, true);
    pin_links_t links = {NULL, bad_links};
    assert_int_equal(pin_add(f->bs, &t.r, true, &links, NULL), LS_EPROTO);
    assert_int_equal(pin_status(f->bs, &t.r), PIN_NONE);
}

static int
ls_cb(void *ctx, const cid_t *cid, pin_mode_t mode)
{
    int *n = ctx;
    (void)cid;
    assert_int_equal(mode, *n == 0 ? PIN_RECURSIVE : PIN_DIRECT);
    ++*n;
    return 0;
}

static void
test_ls(void **state)
{
    fixture_t *f = *state;
    tree_t t;
    make_tree(f->bs, &t, true);
    pin_links_t links = {NULL, fx_links};
    assert_int_equal(pin_add(f->bs, &t.r, true, &links, NULL), 0);
    assert_int_equal(pin_add(f->bs, &t.y, false, NULL, NULL), 0);
    int n = 0;
    assert_int_equal(pin_ls(f->bs, ls_cb, &n), 0);
    assert_int_equal(n, 2);
}

static void
test_corrupt_pinned_block(void **state)
{
    fixture_t *f = *state;
    tree_t t;
    make_tree(f->bs, &t, true);
    pin_links_t links = {NULL, fx_links};
    assert_int_equal(pin_add(f->bs, &t.r, true, &links, NULL), 0);
    assert_int_equal(fx_reopen(f), 0);
    fx_damage(f->bs, &t.y, 10);
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(blockstore_get(f->bs, &t.y, &out), LS_ECORRUPT);
    assert_false(blockstore_has(f->bs, &t.y));
    assert_int_equal(pin_status(f->bs, &t.y), PIN_INDIRECT); /* still wanted */
    blockstore_cidlist_t miss = {0};
    assert_int_equal(pin_missing(f->bs, &miss, 10), 1);
    assert_memory_equal(miss.items[0].hash.digest, t.y.hash.digest, 32);
    blockstore_cidlist_clear(&miss);

    assert_int_equal(fx_put(f->bs, 13, 300, &t.y), 0); /* refetched */
    assert_int_equal(pin_missing(f->bs, &miss, 10), 0);
    assert_int_equal(blockstore_get(f->bs, &t.y, &out), 0);

    /* corrupt inner node found while pinning */
    fx_damage(f->bs, &t.x, 0);
    assert_int_equal(pin_rm(f->bs, &t.r), 0);
    assert_int_equal(pin_add(f->bs, &t.r, true, &links, &miss), LS_ECORRUPT);
    assert_int_equal(miss.n, 1);
    assert_false(blockstore_has(f->bs, &t.x));
    blockstore_stat_t st;
    assert_int_equal(blockstore_stat(f->bs, &st), 0);
    assert_int_equal(st.blocks, 4);
    blockstore_cidlist_clear(&miss);
    buf_free(&out);
}

static void
test_pin_flushes_batch(void **state)
{
    fixture_t *f = *state;
    tree_t t;
    assert_int_equal(blockstore_batch_begin(f->bs), 0);
    make_tree(f->bs, &t, true);
    pin_links_t links = {NULL, fx_links};
    assert_int_equal(pin_add(f->bs, &t.r, true, &links, NULL), 0);
    assert_int_equal(blockstore_batch_commit(f->bs), 0);
    assert_int_equal(pin_status(f->bs, &t.l2), PIN_INDIRECT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_direct, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_recursive_and_indirect, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_missing_blocks, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_links_error_rolls_back, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_ls, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_pinned_block, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pin_flushes_batch, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
