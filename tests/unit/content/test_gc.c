#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "blockstore_fixture.h"

static void
test_gc_keeps_pinned(void **state)
{
    fixture_t *f = *state;
    cid_t l1, l2, x, r, d, loose[3];
    assert_int_equal(fx_put(f->bs, 1, 100, &l1), 0);
    assert_int_equal(fx_put(f->bs, 2, 100, &l2), 0);
    cid_t xk[] = {l1, l2};
    assert_int_equal(fx_node(f->bs, 1, xk, 2, &x), 0);
    assert_int_equal(fx_node(f->bs, 2, &x, 1, &r), 0);
    assert_int_equal(fx_put(f->bs, 3, 100, &d), 0);
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(fx_put(f->bs, 10 + i, 1000, &loose[i]), 0);
    pin_links_t links = {NULL, fx_links};
    assert_int_equal(pin_add(f->bs, &r, true, &links, NULL), 0);
    assert_int_equal(pin_add(f->bs, &d, false, NULL, NULL), 0);

    blockstore_gc_result_t res;
    assert_int_equal(blockstore_gc(f->bs, &res), 0);
    assert_int_equal(res.blocks, 3);
    assert_int_equal(res.bytes, 3000);
    cid_t keep[] = {l1, l2, x, r, d};
    for (size_t i = 0; i < LS_ARRAY_LEN(keep); i++)
        assert_true(blockstore_has(f->bs, &keep[i]));
    for (size_t i = 0; i < 3; i++)
        assert_false(blockstore_has(f->bs, &loose[i]));
    blockstore_stat_t st;
    assert_int_equal(blockstore_stat(f->bs, &st), 0);
    assert_int_equal(st.blocks, 5);

    /* unpinned, the DAG goes; the direct pin stays */
    assert_int_equal(pin_rm(f->bs, &r), 0);
    assert_int_equal(blockstore_gc(f->bs, &res), 0);
    assert_int_equal(res.blocks, 4);
    assert_true(blockstore_has(f->bs, &d));
    assert_int_equal(blockstore_gc(f->bs, &res), 0);
    assert_int_equal(res.blocks, 0);

    /* survives a reopen */
    fx_close(f);
    assert_int_equal(fx_open(f), 0);
    assert_int_equal(blockstore_stat(f->bs, &st), 0);
    assert_int_equal(st.blocks, 1);
    assert_int_equal(st.bytes, 100);
}

static void
test_gc_refuses_during_batch_or_hold(void **state)
{
    fixture_t *f = *state;
    cid_t c;
    assert_int_equal(blockstore_batch_begin(f->bs), 0);
    assert_int_equal(fx_put(f->bs, 1, 100, &c), 0);
    assert_int_equal(blockstore_gc(f->bs, NULL), LS_ELOCKED);
    assert_int_equal(blockstore_batch_commit(f->bs), 0);
    blockstore_hold(f->bs);
    assert_int_equal(blockstore_gc(f->bs, NULL), LS_ELOCKED);
    assert_true(blockstore_has(f->bs, &c));
    blockstore_release(f->bs);
    assert_int_equal(blockstore_gc(f->bs, NULL), 0);
    assert_false(blockstore_has(f->bs, &c));
}

static void
test_gc_frees_quota(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    f->cfg.max_bytes = 2000;
    assert_int_equal(fx_open(f), 0);
    cid_t a, b, c;
    assert_int_equal(fx_put(f->bs, 1, 1000, &a), 0);
    assert_int_equal(fx_put(f->bs, 2, 1000, &b), 0);
    assert_int_equal(pin_add(f->bs, &a, false, NULL, NULL), 0);
    assert_int_equal(fx_put(f->bs, 3, 1000, &c), LS_ELIMIT);
    assert_int_equal(blockstore_gc(f->bs, NULL), 0);
    assert_int_equal(fx_put(f->bs, 3, 1000, &c), 0);
    assert_int_equal(fx_put(f->bs, 4, 1000, &b), LS_ELIMIT); /* only pinned + new left */
}

static void
test_gc_many_rounds(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    f->cfg.sync = BLOCKSTORE_SYNC_NONE;
    assert_int_equal(fx_open(f), 0);
    cid_t keep;
    assert_int_equal(blockstore_batch_begin(f->bs), 0);
    for (uint32_t i = 0; i < 2600; i++)
        assert_int_equal(fx_put(f->bs, i, 64, &keep), 0);
    assert_int_equal(blockstore_batch_commit(f->bs), 0);
    assert_int_equal(pin_add(f->bs, &keep, false, NULL, NULL), 0);
    blockstore_gc_result_t res;
    assert_int_equal(blockstore_gc(f->bs, &res), 0);
    assert_int_equal(res.blocks, 2599);
    assert_int_equal(res.bytes, 2599 * 64);
    assert_true(blockstore_has(f->bs, &keep));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gc_keeps_pinned, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_gc_refuses_during_batch_or_hold, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_gc_frees_quota, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_gc_many_rounds, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
