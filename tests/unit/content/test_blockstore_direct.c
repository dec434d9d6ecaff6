/* The pack writer's stages (blockstore_writer.c): the same records whether written
 * with O_DIRECT or through the page cache, large blocks on 4096-byte boundaries
 * behind filler records, no padding left past a committed pack, repair walking
 * fillers, and tees (a staged block written into another file by the writer). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockstore_fixture.h"
#include "content/blockstore/blockstore_internal.h"
#include "lib/fs/fs.h"

/* Sizes around every edge: empty, tiny, just under and over the alignment
 * threshold, a page multiple and an odd size, a full chunk. */
static const size_t SIZES[] = {0,         1,          4095,        4096, BS_ALIGN_MIN - 1,
                               BS_ALIGN_MIN, 100003, 262144,      5000, 262144 + 7};
#define NSIZES (sizeof SIZES / sizeof SIZES[0])

static uint64_t
pack_size(fixture_t *f, int64_t id)
{
    char path[PATH_MAX];
    blockstore_t fake = {.dir = f->blocks};
    assert_int_equal(bs_pack_path(&fake, id, path), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* Every size, three batches, each block read back while staged, then committed:
 * bodies of large blocks start on a page, a committed pack is exactly its records
 * (no padding), and everything reads back after a reopen with nothing to repair. */
static void
run_sizes(fixture_t *f)
{
    for (uint32_t round = 0; round < 3; round++) {
        cid_t c[NSIZES];
        assert_int_equal(blockstore_batch_begin(f->bs), 0);
        for (uint32_t i = 0; i < NSIZES; i++) {
            assert_int_equal(fx_put(f->bs, round * 100 + i, SIZES[i], &c[i]), 0);
            fx_assert_block(f->bs, round * 100 + i, SIZES[i]);
        }
        assert_int_equal(blockstore_batch_commit(f->bs), 0);
        assert_int_equal(pack_size(f, f->bs->cur_pack), f->bs->cur_size);
        for (uint32_t i = 0; i < NSIZES; i++) {
            bs_loc_t loc;
            int64_t id;
            uint64_t size;
            assert_int_equal(bs_row_locate(f->bs, &c[i].hash, &id, &size, &loc), 1);
            if (SIZES[i] >= BS_ALIGN_MIN)
                assert_int_equal(loc.off % BS_DIO_ALIGN, 0);
        }
    }
    assert_int_equal(fx_reopen(f), 0);
    for (uint32_t round = 0; round < 3; round++)
        for (uint32_t i = 0; i < NSIZES; i++)
            fx_assert_block(f->bs, round * 100 + i, SIZES[i]);
    blockstore_repair_t rep;
    assert_int_equal(blockstore_repair(f->bs, &rep), 0);
    assert_int_equal(rep.rows_dropped + rep.files_indexed + rep.bytes_cut, 0);
}

/* Hot (page cache) and direct appends alternating in one pack, stage by stage: a
 * direct stage starts on a page a hot one left half written and the other way
 * round; every block reads back staged, after the commit and after a reopen. */
static void
test_hot_and_direct_mixed(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(blockstore_batch_begin(f->bs), 0);
    for (uint32_t i = 0; i < 3 * NSIZES; i++) {
        size_t len = SIZES[i % NSIZES];
        cid_t c;
        uint8_t *p = fx_block(500 + i, len, &c);
        if (i % 3 == 1)
            assert_int_equal(blockstore_put_hot(f->bs, &c, p, len), 0);
        else
            assert_int_equal(blockstore_put(f->bs, &c, p, len), 0);
        free(p);
        fx_assert_block(f->bs, 500 + i, len);
    }
    assert_int_equal(blockstore_batch_commit(f->bs), 0);
    assert_int_equal(pack_size(f, f->bs->cur_pack), f->bs->cur_size);
    for (uint32_t i = 0; i < 3 * NSIZES; i++)
        fx_assert_block(f->bs, 500 + i, SIZES[i % NSIZES]);
    assert_int_equal(fx_reopen(f), 0);
    for (uint32_t i = 0; i < 3 * NSIZES; i++)
        fx_assert_block(f->bs, 500 + i, SIZES[i % NSIZES]);
    blockstore_repair_t rep;
    assert_int_equal(blockstore_repair(f->bs, &rep), 0);
    assert_int_equal(rep.rows_dropped + rep.files_indexed + rep.bytes_cut, 0);
}

static void
test_direct_sizes(void **state)
{
    fixture_t *f = *state;
    run_sizes(f);
    /* where the file system takes O_DIRECT, no direct write was refused */
    assert_true(f->bs->cur_dfd < 0 || bs_writer_direct(f->bs->writer));
}

static void
test_buffered_sizes(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    f->cfg.buffered = true;
    assert_int_equal(fx_open(f), 0);
    assert_int_equal(f->bs->cur_dfd, -1);
    run_sizes(f);
}

/* Uncommitted large records (fillers between them) on disk when the process is
 * killed: the repair walks the fillers and indexes every one. */
static void
test_repair_walks_fillers(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (fx_open(f) < 0)
            _exit(1);
        cid_t c;
        fx_put(f->bs, 1, 100003, &c); /* lone: committed */
        blockstore_batch_begin(f->bs);
        for (uint32_t i = 2; i < 8; i++)
            fx_put(f->bs, i, 70000 + i, &c); /* written, never indexed */
        bs_pack_drain(f->bs);                /* on disk, the last page padded */
        kill(getpid(), SIGKILL);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(fx_open(f), 0);
    fx_assert_block(f->bs, 1, 100003);
    for (uint32_t i = 2; i < 8; i++)
        fx_assert_block(f->bs, i, 70000 + i);
}

/* A staged block written into another file by the writer: at page-aligned offsets
 * (direct) and odd ones (buffered), twice for one block; other blocks refused. */
static void
test_tee_last(void **state)
{
    fixture_t *f = *state;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/out.bin", f->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int dfd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
    assert_true(fd >= 0);
    cid_t a, b, c;
    uint8_t *da = fx_block(1, 262144, &a), *db = fx_block(2, 1000, &b);
    uint8_t *dc = fx_block(3, 262144, &c);
    assert_int_equal(blockstore_batch_begin(f->bs), 0); /* a lone put is synced at once */
    assert_int_equal(blockstore_put(f->bs, &a, da, 262144), 0);
    assert_int_equal(blockstore_tee_last(f->bs, &a, 262144, fd, dfd, 0), 0);
    assert_int_equal(blockstore_tee_last(f->bs, &a, 262144, fd, dfd, 262144 + 1000), 0);
    assert_int_equal(blockstore_tee_last(f->bs, &a, 1000, fd, dfd, 0), LS_ENOENT);
    assert_int_equal(blockstore_put(f->bs, &b, db, 1000), 0);
    assert_int_equal(blockstore_tee_last(f->bs, &a, 262144, fd, dfd, 0), LS_ENOENT);
    assert_int_equal(blockstore_tee_last(f->bs, &b, 1000, fd, dfd, 262144), 0);
    assert_int_equal(blockstore_put(f->bs, &a, da, 262144), 0); /* held: not appended */
    assert_int_equal(blockstore_tee_last(f->bs, &a, 262144, fd, dfd, 0), LS_ENOENT);
    assert_int_equal(blockstore_put(f->bs, &c, dc, 262144), 0);
    assert_int_equal(blockstore_tee_last(f->bs, &c, 262144, fd, dfd, 2 * 262144 + 1000), 0);
    assert_int_equal(blockstore_tee_wait(f->bs, fd), 0);
    assert_int_equal(blockstore_batch_commit(f->bs), 0);
    close(fd);
    if (dfd >= 0)
        close(dfd);
    buf_t got = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(fs_read_all(path, 1 << 20, &got), 0);
    assert_int_equal(got.len, 3 * 262144 + 1000);
    assert_memory_equal(got.data, da, 262144);
    assert_memory_equal(got.data + 262144, db, 1000);
    assert_memory_equal(got.data + 262144 + 1000, da, 262144);
    assert_memory_equal(got.data + 2 * 262144 + 1000, dc, 262144);
    buf_free(&got);
    free(da);
    free(db);
    free(dc);
}

/* Closed packs read through the reader's direct extents: forwards (read ahead),
 * backwards and scattered, blocks straddling extents, after a reopen (so every
 * block is hashed again on read: a wrong byte would be LS_ECORRUPT); then GC
 * compaction unlinks packs and the survivors still read right. */
static void
test_reader_closed_packs(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    f->cfg.pack_max = 3 << 20;
    assert_int_equal(fx_open(f), 0);
    enum { N = 60 };
    assert_int_equal(blockstore_batch_begin(f->bs), 0);
    for (uint32_t i = 0; i < N; i++) {
        cid_t c;
        assert_int_equal(fx_put(f->bs, i, 100003 + i * 911, &c), 0);
    }
    assert_int_equal(blockstore_batch_commit(f->bs), 0);
    assert_int_equal(fx_reopen(f), 0);
    assert_non_null(f->bs->reader);
    for (uint32_t i = 0; i < N; i++)
        fx_assert_block(f->bs, i, 100003 + i * 911);
    /* written directly, the packs are not in the page cache: the reader read them
     * (unless this file system refuses O_DIRECT) */
    assert_true(f->bs->cur_dfd < 0 || bs_reader_loads(f->bs->reader) >= 6);
    for (uint32_t i = N; i-- > 0;)
        fx_assert_block(f->bs, i, 100003 + i * 911);
    for (uint32_t j = 0; j < N; j++) {
        uint32_t i = (j * 37) % N;
        fx_assert_block(f->bs, i, 100003 + i * 911);
    }
    /* pin every fifth block: GC frees the rest and compacts the half-dead packs
     * (their extents forgotten before the unlink) */
    for (uint32_t i = 0; i < N; i += 5) {
        cid_t c;
        free(fx_block(i, 100003 + i * 911, &c));
        assert_int_equal(pin_add(f->bs, &c, false, NULL, NULL), 0);
    }
    blockstore_gc_result_t res;
    assert_int_equal(blockstore_gc(f->bs, &res), 0);
    assert_true(res.pack_bytes > 0);
    for (uint32_t i = 0; i < N; i += 5)
        fx_assert_block(f->bs, i, 100003 + i * 911);
    assert_int_equal(fx_reopen(f), 0);
    for (uint32_t i = 0; i < N; i += 5)
        fx_assert_block(f->bs, i, 100003 + i * 911);
}

/* Hints (blockstore_prefetch, a seeder's queue) load exactly the extents of the
 * blocks named, in the background, and switch the blind read-ahead off: a seeder
 * asked for every 16th block reads those blocks' extents, not the whole file. */
static void
test_reader_prefetch_hints(void **state)
{
    fixture_t *f = *state;
    enum { N = 96, TAIL = 24, LEN = 256 * 1024, STRIDE = 16 };
    fx_close(f);
    f->cfg.pack_max = 4 << 20; /* the 96 blocks in closed packs, the tail in the last */
    assert_int_equal(fx_open(f), 0);
    assert_int_equal(blockstore_batch_begin(f->bs), 0);
    for (uint32_t i = 0; i < N + TAIL; i++) {
        cid_t c;
        assert_int_equal(fx_put(f->bs, i, LEN, &c), 0);
    }
    assert_int_equal(blockstore_batch_commit(f->bs), 0);
    assert_int_equal(fx_reopen(f), 0);
    if (f->bs->cur_dfd < 0)
        return; /* this file system refuses O_DIRECT: everything is buffered */
    for (uint32_t i = 0; i < N; i += STRIDE) {
        cid_t c;
        free(fx_block(i, LEN, &c));
        blockstore_prefetch(f->bs, &c);
        fx_assert_block(f->bs, i, LEN);
    }
    /* 6 blocks, each in one or two 1 MiB extents; the blind read-ahead would have
       loaded 8 extents after each read (all ~24 of the file) */
    uint64_t loads = bs_reader_loads(f->bs->reader);
    assert_true(loads >= N / STRIDE && loads <= 2 * N / STRIDE);
    cid_t unknown;
    cid_v1_sha256(&unknown, CID_CODEC_RAW, "not here", 8);
    blockstore_prefetch(f->bs, &unknown); /* ignored */
}

/* A tee that fails is reported to its own file's wait only: two downloads side by
 * side must not see each other's write errors. */
static void
test_tee_errors_per_file(void **state)
{
    fixture_t *f = *state;
    char good_path[PATH_MAX], bad_path[PATH_MAX];
    snprintf(good_path, sizeof good_path, "%s/good.bin", f->dir);
    snprintf(bad_path, sizeof bad_path, "%s/bad.bin", f->dir);
    int good = open(good_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(good >= 0);
    assert_int_equal(fs_write_atomic(bad_path, "x", 1, 0644), 0);
    int bad = open(bad_path, O_RDONLY | O_CLOEXEC); /* writes to it fail: EBADF */
    assert_true(bad >= 0);
    cid_t a;
    uint8_t *da = fx_block(7, 100003, &a);
    assert_int_equal(blockstore_batch_begin(f->bs), 0);
    assert_int_equal(blockstore_put(f->bs, &a, da, 100003), 0);
    assert_int_equal(blockstore_tee_last(f->bs, &a, 100003, bad, -1, 0), 0);
    assert_int_equal(blockstore_tee_last(f->bs, &a, 100003, good, -1, 0), 0);
    assert_int_equal(blockstore_tee_wait(f->bs, good), 0);
    assert_int_equal(blockstore_tee_wait(f->bs, bad), -EBADF);
    assert_int_equal(blockstore_tee_wait(f->bs, bad), 0); /* reported once */
    assert_int_equal(blockstore_batch_commit(f->bs), 0);
    close(good);
    close(bad);
    buf_t got = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(fs_read_all(good_path, 1 << 20, &got), 0);
    assert_int_equal(got.len, 100003);
    assert_memory_equal(got.data, da, 100003);
    buf_free(&got);
    free(da);
}

static void
test_filler_codec(void **state)
{
    (void)state;
    uint8_t p[16] = {'L', 'B', 'K', 'P', 8, 0, 0, 0};
    assert_int_equal(bs_filler_decode(p, 8), 8);
    assert_int_equal(bs_filler_decode(p, 7), 0); /* too short to tell */
    p[4] = 7;
    assert_int_equal(bs_filler_decode(p, 8), LS_ECORRUPT);
    p[4] = (BS_FILLER_MIN + BS_DIO_ALIGN) & 0xff;
    p[5] = (BS_FILLER_MIN + BS_DIO_ALIGN) >> 8;
    assert_int_equal(bs_filler_decode(p, 8), LS_ECORRUPT);
    p[4] = 0, p[5] = 0x10; /* 4096 */
    assert_int_equal(bs_filler_decode(p, 8), 4096);
    memcpy(p, "LBK1", 4);
    assert_int_equal(bs_filler_decode(p, 8), 0); /* a record, not a filler */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filler_codec),
        cmocka_unit_test_setup_teardown(test_reader_prefetch_hints, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_direct_sizes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_buffered_sizes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hot_and_direct_mixed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_repair_walks_fillers, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tee_last, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tee_errors_per_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reader_closed_packs, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
