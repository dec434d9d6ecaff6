#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blockstore_fixture.h"

static void
test_put_get_has_delete(void **state)
{
    fixture_t *f = *state;
    cid_t cid;
    uint8_t *data = fx_block(1, 5000, &cid);
    buf_t out = BUF_INIT(BUF_UNLIMITED);

    assert_false(blockstore_has(f->bs, &cid));
    assert_int_equal(blockstore_get(f->bs, &cid, &out), LS_ENOENT);
    assert_int_equal(blockstore_put(f->bs, &cid, data, 5000), 0);
    assert_true(blockstore_has(f->bs, &cid));
    assert_int_equal(blockstore_size(f->bs, &cid), 5000);
    assert_int_equal(blockstore_get(f->bs, &cid, &out), 0);
    assert_int_equal(out.len, 5000);
    assert_memory_equal(out.data, data, 5000);
    assert_int_equal(blockstore_put(f->bs, &cid, data, 5000), 0); /* idempotent */

    blockstore_stat_t st;
    assert_int_equal(blockstore_stat(f->bs, &st), 0);
    assert_int_equal(st.blocks, 1);
    assert_int_equal(st.bytes, 5000);
    assert_string_equal(st.path, f->blocks);

    /* a CIDv0 of the same multihash names the same block */
    cid_t v0 = cid;
    v0.version = 0;
    v0.codec = CID_CODEC_DAG_PB;
    assert_true(blockstore_has(f->bs, &v0));

    assert_int_equal(blockstore_delete(f->bs, &cid), 0);
    assert_false(blockstore_has(f->bs, &cid));
    assert_int_equal(blockstore_delete(f->bs, &cid), LS_ENOENT);
    assert_int_equal(blockstore_size(f->bs, &cid), LS_ENOENT);
    assert_int_equal(blockstore_stat(f->bs, &st), 0);
    assert_int_equal(st.blocks, 0);
    assert_int_equal(st.bytes, 0);
    buf_free(&out);
    free(data);
}

static void
test_empty_block(void **state)
{
    fixture_t *f = *state;
    cid_t cid;
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(fx_put(f->bs, 0, 0, &cid), 0);
    assert_int_equal(blockstore_get(f->bs, &cid, &out), 0);
    assert_int_equal(out.len, 0);
    buf_free(&out);
}

static void
test_rejects_bad_input(void **state)
{
    fixture_t *f = *state;
    cid_t a, b;
    uint8_t *da = fx_block(1, 100, &a);
    uint8_t *db = fx_block(2, 100, &b);

    assert_int_equal(blockstore_put(f->bs, &a, db, 100), LS_ECORRUPT); /* hash mismatch */
    assert_false(blockstore_has(f->bs, &a));

    cid_t odd = a;
    odd.hash.code = 0xb220; /* blake2b-256: cannot verify */
    assert_int_equal(blockstore_put(f->bs, &odd, da, 100), LS_ENOTSUP);

    uint8_t *big = fx_block(3, BLOCKSTORE_DEFAULT_MAX_BLOCK + 1, &b);
    assert_int_equal(blockstore_put(f->bs, &b, big, BLOCKSTORE_DEFAULT_MAX_BLOCK + 1), LS_ETOOBIG);
    free(big);
    free(da);
    free(db);

    /* identity multihashes carry their bytes and are verified too */
    cid_t id = {1, CID_CODEC_RAW, {0}};
    assert_int_equal(multihash_identity("hi", 2, &id.hash), 0);
    assert_int_equal(blockstore_put(f->bs, &id, (const uint8_t *)"hi", 2), 0);
    assert_int_equal(blockstore_put(f->bs, &id, (const uint8_t *)"ho", 2), LS_ECORRUPT);
}

static void
test_config_rejected(void **state)
{
    fixture_t *f = *state;
    blockstore_config_t cfg = {.max_block = BLOCKSTORE_MAX_BLOCK + 1};
    blockstore_t *bs = (blockstore_t *)1;
    buf_t err = BUF_INIT(4096);
    assert_int_equal(blockstore_open(f->blocks, f->db, &cfg, &bs, &err), LS_ECONFIG);
    assert_null(bs);
    assert_true(err.len > 0);
    buf_free(&err);
}

static int
count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void
test_corruption_on_disk(void **state)
{
    fixture_t *f = *state;
    cid_t cid;
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(fx_put(f->bs, 7, 3000, &cid), 0);
    assert_int_equal(fx_reopen(f), 0);
    fx_damage(f->bs, &cid, 1234);

    assert_int_equal(blockstore_get(f->bs, &cid, &out), LS_ECORRUPT);
    assert_int_equal(out.len, 0);
    assert_false(blockstore_has(f->bs, &cid));
    char q[700];
    snprintf(q, sizeof q, "%s/quarantine", f->blocks);
    assert_int_equal(count_files(q), 1);
    blockstore_stat_t st;
    assert_int_equal(blockstore_stat(f->bs, &st), 0);
    assert_int_equal(st.blocks, 0);
    assert_int_equal(st.bytes, 0);

    /* fetched again, it is whole */
    assert_int_equal(fx_put(f->bs, 7, 3000, &cid), 0);
    assert_int_equal(blockstore_get(f->bs, &cid, &out), 0);
    buf_free(&out);
}

static void
test_quota(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    f->cfg.max_bytes = 3000;
    assert_int_equal(fx_open(f), 0);
    cid_t c[4];
    for (int i = 0; i < 3; i++)
        assert_int_equal(fx_put(f->bs, (uint32_t)i, 1000, &c[i]), 0);
    assert_int_equal(fx_put(f->bs, 3, 1000, &c[3]), LS_ELIMIT);
    assert_false(blockstore_has(f->bs, &c[3]));
    assert_int_equal(fx_put(f->bs, 0, 1000, &c[0]), 0); /* held already: no new bytes */
    blockstore_stat_t st;
    assert_int_equal(blockstore_stat(f->bs, &st), 0);
    assert_int_equal(st.max_bytes, 3000);
    assert_int_equal(st.bytes, 3000);
    assert_int_equal(blockstore_delete(f->bs, &c[1]), 0);
    assert_int_equal(fx_put(f->bs, 3, 1000, &c[3]), 0);

    /* the quota counts a batch's pending blocks */
    assert_int_equal(blockstore_batch_begin(f->bs), 0);
    assert_int_equal(blockstore_delete(f->bs, &c[3]), LS_ELOCKED);
    assert_int_equal(fx_put(f->bs, 9, 1, &c[1]), LS_ELIMIT);
    assert_int_equal(blockstore_batch_commit(f->bs), 0);
}

static void
test_batch(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    f->cfg.batch_flush = 3; /* exercise the automatic flushes */
    assert_int_equal(fx_open(f), 0);
    cid_t c[10];
    buf_t out = BUF_INIT(BUF_UNLIMITED);

    assert_int_equal(blockstore_batch_begin(f->bs), 0);
    assert_int_equal(blockstore_batch_begin(f->bs), LS_EINVAL);
    assert_true(blockstore_in_batch(f->bs));
    for (int i = 0; i < 10; i++) {
        assert_int_equal(fx_put(f->bs, (uint32_t)i, 700, &c[i]), 0);
        assert_int_equal(fx_put(f->bs, (uint32_t)i, 700, &c[i]), 0); /* dup in batch */
    }
    for (int i = 0; i < 10; i++) {
        assert_true(blockstore_has(f->bs, &c[i]));
        assert_int_equal(blockstore_size(f->bs, &c[i]), 700);
    }
    assert_int_equal(blockstore_get(f->bs, &c[9], &out), 0);
    assert_int_equal(blockstore_batch_commit(f->bs), 0);
    assert_int_equal(blockstore_batch_commit(f->bs), LS_EINVAL);

    /* an aborted batch leaves nothing behind (the un-flushed part) */
    assert_int_equal(blockstore_batch_begin(f->bs), 0);
    cid_t x[2];
    assert_int_equal(fx_put(f->bs, 100, 50, &x[0]), 0);
    assert_int_equal(fx_put(f->bs, 101, 50, &x[1]), 0);
    blockstore_batch_abort(f->bs);
    assert_false(blockstore_has(f->bs, &x[0]));
    assert_int_equal(blockstore_get(f->bs, &x[1], &out), LS_ENOENT);

    fx_close(f);
    assert_int_equal(fx_open(f), 0);
    blockstore_stat_t st;
    assert_int_equal(blockstore_stat(f->bs, &st), 0);
    assert_int_equal(st.blocks, 10);
    assert_int_equal(st.bytes, 7000);
    buf_free(&out);
}

static int
count_cb(void *ctx, const cid_t *cid, uint64_t size)
{
    int *n = ctx;
    assert_int_equal(cid->codec, CID_CODEC_RAW);
    assert_int_equal(size, 100 + *n);
    return ++*n == 1000 ? 7 : 0;
}

static void
test_persistence_and_foreach(void **state)
{
    fixture_t *f = *state;
    cid_t c[5];
    for (int i = 0; i < 5; i++)
        assert_int_equal(fx_put(f->bs, (uint32_t)i, 100 + (size_t)i, &c[i]), 0);
    fx_close(f);
    assert_int_equal(fx_open(f), 0);
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    for (int i = 0; i < 5; i++) {
        buf_clear(&out);
        assert_int_equal(blockstore_get(f->bs, &c[i], &out), 0);
        assert_int_equal(out.len, 100 + i);
    }
    int n = 0;
    assert_int_equal(blockstore_foreach(f->bs, count_cb, &n), 0);
    assert_int_equal(n, 5);
    buf_free(&out);
}

/* A child process puts blocks and is killed: one lone put, a batch half flushed
 * (files on disk without rows), a temporary file. */
static void
crash_child(fixture_t *f)
{
    blockstore_config_t cfg = {.batch_flush = 2, .layout = BLOCKSTORE_LAYOUT_FILES};
    f->cfg = cfg; /* the flatfs layout's repair (test_blockstore_pack.c has packs') */
    if (fx_open(f) < 0)
        _exit(1);
    cid_t c;
    fx_put(f->bs, 1, 1000, &c);
    blockstore_batch_begin(f->bs);
    for (uint32_t i = 2; i <= 4; i++) /* 2, 3 flushed; 4 only a file */
        fx_put(f->bs, i, 1000, &c);
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s/AB", f->blocks);
    mkdir(tmp, 0755);
    snprintf(tmp, sizeof tmp, "%s/AB/X.data.tmp-00000000", f->blocks);
    fs_write_atomic(tmp, "partial", 7, 0644);
    kill(getpid(), SIGKILL);
}

static void
test_crash_repair(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        crash_child(f);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));

    /* make a row without a file too, and an unverifiable file without a row */
    cid_t c1, c5;
    uint8_t *d1 = fx_block(1, 1000, &c1);
    uint8_t *d5 = fx_block(5, 1000, &c5);
    blockstore_t fake = {.dir = f->blocks}; /* only for file names */
    char path[PATH_MAX], shard[PATH_MAX];
    assert_int_equal(bs_path(&fake, &c1.hash, path, NULL), 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(bs_path(&fake, &c5.hash, path, shard), 0);
    fs_mkdir_p(shard, 0755);
    assert_int_equal(fs_write_atomic(path, d1, 1000, 0644), 0); /* wrong bytes */

    f->cfg = (blockstore_config_t){.layout = BLOCKSTORE_LAYOUT_FILES};
    assert_int_equal(fx_open(f), 0);
    assert_false(blockstore_has(f->bs, &c1));
    assert_false(blockstore_has(f->bs, &c5));
    for (uint32_t i = 2; i <= 4; i++) {
        cid_t c;
        free(fx_block(i, 1000, &c));
        assert_true(blockstore_has(f->bs, &c));
    }
    blockstore_stat_t st;
    assert_int_equal(blockstore_stat(f->bs, &st), 0);
    assert_int_equal(st.blocks, 3);
    assert_int_equal(st.bytes, 3000);
    snprintf(path, sizeof path, "%s/AB", f->blocks);
    assert_int_equal(count_files(path), 0);
    /* a clean close means no repair next time; an explicit one finds nothing */
    blockstore_repair_t rep;
    assert_int_equal(blockstore_repair(f->bs, &rep), 0);
    assert_int_equal(rep.rows_dropped + rep.files_indexed + rep.files_removed, 0);
    free(d1);
    free(d5);
}

static void
test_sync_modes(void **state)
{
    fixture_t *f = *state;
    for (int m = BLOCKSTORE_SYNC_BATCH; m <= BLOCKSTORE_SYNC_NONE; m++) {
        fx_close(f);
        f->cfg.sync = (blockstore_sync_t)m;
        assert_int_equal(fx_open(f), 0);
        cid_t c;
        assert_int_equal(fx_put(f->bs, (uint32_t)(50 + m), 4096, &c), 0);
        assert_int_equal(blockstore_batch_begin(f->bs), 0);
        assert_int_equal(fx_put(f->bs, (uint32_t)(60 + m), 4096, &c), 0);
        assert_int_equal(blockstore_batch_commit(f->bs), 0);
        assert_true(blockstore_has(f->bs, &c));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_has_delete, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_empty_block, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rejects_bad_input, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_config_rejected, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_corruption_on_disk, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_quota, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_batch, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_persistence_and_foreach, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_crash_repair, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sync_modes, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
