/* Pack-file layout of the blockstore: appends, reads, repair of torn tails and
 * uncommitted records, crash consistency under kill -9, GC compaction, and a store
 * written in the flatfs layout read beside packs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blockstore_fixture.h"

static int
count_entries(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name), s = strlen(suffix);
        n += e->d_name[0] != '.' && l >= s && strcmp(e->d_name + l - s, suffix) == 0;
    }
    closedir(d);
    return n;
}

static int
packs(fixture_t *f)
{
    char p[700];
    snprintf(p, sizeof p, "%s/packs", f->blocks);
    return count_entries(p, ".pack");
}

static uint64_t
packs_bytes(fixture_t *f)
{
    char p[700];
    snprintf(p, sizeof p, "%s/packs", f->blocks);
    DIR *d = opendir(p);
    uint64_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        struct stat st;
        if (e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &st, 0) == 0)
            n += (uint64_t)st.st_size;
    }
    if (d)
        closedir(d);
    return n;
}

static void
mark_unclean(fixture_t *f)
{
    fx_close(f);
    assert_int_equal(db_open(f->dbpath, content_migrations, content_migrations_len, &f->db, NULL),
                     0);
    assert_int_equal(db_exec(f->db, "UPDATE blockstore_state SET value = 0 WHERE key = 'clean'"),
                     0);
    db_free(f->db);
}

static void
test_one_pack_no_block_files(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(blockstore_batch_begin(f->bs), 0);
    for (uint32_t i = 0; i < 50; i++) {
        cid_t c;
        assert_int_equal(fx_put(f->bs, i, 1000 + i, &c), 0);
    }
    fx_assert_block(f->bs, 7, 1007); /* pending: read from the pack already */
    assert_int_equal(blockstore_batch_commit(f->bs), 0);
    cid_t lone;
    assert_int_equal(fx_put(f->bs, 99, 0, &lone), 0); /* an empty block, lone put */
    assert_int_equal(packs(f), 1);
    assert_int_equal(count_entries(f->blocks, ""), 1); /* only packs/: no shard dirs */
    fx_close(f);
    assert_int_equal(fx_open(f), 0);
    for (uint32_t i = 0; i < 50; i++)
        fx_assert_block(f->bs, i, 1000 + i);
    fx_assert_block(f->bs, 99, 0);
    blockstore_stat_t st;
    assert_int_equal(blockstore_stat(f->bs, &st), 0);
    assert_int_equal(st.blocks, 51);
    /* appends go on in the same pack after a reopen */
    cid_t c;
    assert_int_equal(fx_put(f->bs, 100, 10, &c), 0);
    assert_int_equal(packs(f), 1);
}

/* Batches of one, two and three records, each read back while it may still sit in
 * the writer's queue (blockstore_writer.c), committed, and on disk after a close:
 * the pack's size is exactly the records' sum. */
static void
test_writer_short_batches(void **state)
{
    fixture_t *f = *state;
    for (uint32_t round = 0; round < 3; round++) {
        assert_int_equal(blockstore_batch_begin(f->bs), 0);
        for (uint32_t i = 0; i <= round; i++) {
            cid_t c;
            assert_int_equal(fx_put(f->bs, round * 10 + i, 5000 + i, &c), 0);
            fx_assert_block(f->bs, round * 10 + i, 5000 + i); /* the record just queued */
        }
        assert_int_equal(blockstore_batch_commit(f->bs), 0);
    }
    uint64_t bytes = packs_bytes(f);
    fx_close(f);
    assert_int_equal(fx_open(f), 0);
    assert_int_equal(packs_bytes(f), bytes);
    for (uint32_t round = 0; round < 3; round++)
        for (uint32_t i = 0; i <= round; i++)
            fx_assert_block(f->bs, round * 10 + i, 5000 + i);
}

/* blockstore_put_buffer(): a block read into the store's buffer is taken without a
 * copy; 100 of them (the writer's stages recycled), mixed with
 * copied puts, a duplicate (the buffer stays lent and intact) and a pack roll-over,
 * all read back in this run and after a reopen (hashed again then). */
static void
test_put_buffer_lends(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    f->cfg.pack_max = 1 << 20;
    assert_int_equal(fx_open(f), 0);
    assert_int_equal(blockstore_batch_begin(f->bs), 0);
    for (uint32_t i = 0; i < 100; i++) {
        cid_t c;
        size_t len = 20000 + i * 7;
        uint8_t *want = fx_block(1000 + i, len, &c);
        if (i % 10 == 3) /* held already (a copied put) */
            assert_int_equal(blockstore_put(f->bs, &c, want, len), 0);
        uint8_t *p = blockstore_put_buffer(f->bs, 32768);
        assert_non_null(p);
        memcpy(p, want, len);
        if (i % 10 == 3) { /* the same block again: not written, the buffer not taken */
            assert_int_equal(blockstore_put_hot(f->bs, &c, p, len), 0);
            assert_ptr_equal(blockstore_put_buffer(f->bs, 32768), p);
            assert_memory_equal(p, want, len);
        } else {
            assert_int_equal(blockstore_put_hot(f->bs, &c, p, len), 0);
        }
        free(want);
        if (i % 4 == 0)
            assert_int_equal(fx_put(f->bs, 5000 + i, 3000, &c), 0);
    }
    assert_int_equal(blockstore_batch_commit(f->bs), 0);
    assert_true(packs(f) >= 2);
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < 100; i++) {
            fx_assert_block(f->bs, 1000 + i, 20000 + i * 7);
            if (i % 4 == 0)
                fx_assert_block(f->bs, 5000 + i, 3000);
        }
        assert_int_equal(fx_reopen(f), 0);
    }
}

static void
test_rollover_and_abort(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    f->cfg.pack_max = 8192;
    assert_int_equal(fx_open(f), 0);
    assert_int_equal(blockstore_batch_begin(f->bs), 0);
    for (uint32_t i = 0; i < 20; i++) {
        cid_t c;
        assert_int_equal(fx_put(f->bs, i, 3000, &c), 0);
    }
    assert_int_equal(blockstore_batch_commit(f->bs), 0);
    assert_true(packs(f) >= 8);
    uint64_t before = packs_bytes(f);
    /* an aborted batch leaves neither rows nor bytes */
    assert_int_equal(blockstore_batch_begin(f->bs), 0);
    cid_t x;
    assert_int_equal(fx_put(f->bs, 500, 2000, &x), 0);
    blockstore_batch_abort(f->bs);
    assert_false(blockstore_has(f->bs, &x));
    assert_int_equal(packs_bytes(f), before);
    fx_close(f);
    assert_int_equal(fx_open(f), 0);
    for (uint32_t i = 0; i < 20; i++)
        fx_assert_block(f->bs, i, 3000);
}

static void
test_delete_and_corrupt(void **state)
{
    fixture_t *f = *state;
    cid_t a, b;
    assert_int_equal(fx_put(f->bs, 1, 4000, &a), 0);
    assert_int_equal(fx_put(f->bs, 2, 4000, &b), 0);
    assert_int_equal(blockstore_delete(f->bs, &a), 0);
    assert_false(blockstore_has(f->bs, &a));
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(blockstore_get(f->bs, &a, &out), LS_ENOENT);
    /* damage to a block of this run is not looked for (hashed on the way in)... */
    fx_damage(f->bs, &b, 17);
    assert_int_equal(blockstore_get(f->bs, &b, &out), 0);
    buf_clear(&out);
    /* ...after a restart it is */
    assert_int_equal(fx_reopen(f), 0);
    assert_int_equal(blockstore_get(f->bs, &b, &out), LS_ECORRUPT);
    assert_int_equal(out.len, 0);
    assert_false(blockstore_has(f->bs, &b));
    char q[700];
    snprintf(q, sizeof q, "%s/quarantine", f->blocks);
    assert_int_equal(count_entries(q, ""), 1);
    /* fetched again, it is whole (appended anew) */
    assert_int_equal(fx_put(f->bs, 2, 4000, &b), 0);
    fx_assert_block(f->bs, 2, 4000);
    buf_free(&out);
}

/* Records past the committed length (a batch that never committed) are indexed by
 * the repair; a torn record after them is cut off, and appends go on after it. */
static void
test_repair_adopts_and_cuts(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (fx_open(f) < 0)
            _exit(1);
        cid_t c;
        fx_put(f->bs, 1, 5000, &c); /* lone: committed */
        blockstore_batch_begin(f->bs);
        fx_put(f->bs, 2, 5000, &c); /* written, never indexed */
        fx_put(f->bs, 3, 5000, &c);
        buf_t b = BUF_INIT(BUF_UNLIMITED);
        blockstore_get(f->bs, &c, &b); /* served from the writer's stage */
        bs_pack_drain(f->bs);          /* both on disk, padded to a page (direct I/O) */
        kill(getpid(), SIGKILL);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    /* a torn record: a header whose bytes never arrived */
    char path[PATH_MAX];
    blockstore_t fake = {.dir = f->blocks};
    assert_int_equal(bs_pack_path(&fake, 1, path), 0);
    cid_t c4;
    free(fx_block(4, 5000, &c4));
    uint8_t hdr[BS_REC_MAX_HDR];
    size_t hl = bs_record_encode(&c4.hash, CID_CODEC_RAW, 5000, hdr);
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, hdr, hl), (ssize_t)hl);
    assert_int_equal(write(fd, "partial", 7), 7);
    close(fd);

    assert_int_equal(fx_open(f), 0);
    for (uint32_t i = 1; i <= 3; i++)
        fx_assert_block(f->bs, i, 5000);
    assert_false(blockstore_has(f->bs, &c4));
    blockstore_stat_t st;
    assert_int_equal(blockstore_stat(f->bs, &st), 0);
    assert_int_equal(st.blocks, 3);
    assert_int_equal(fx_put(f->bs, 4, 5000, &c4), 0);
    fx_close(f);
    assert_int_equal(fx_open(f), 0);
    fx_assert_block(f->bs, 4, 5000);
    blockstore_repair_t rep;
    assert_int_equal(blockstore_repair(f->bs, &rep), 0);
    assert_int_equal(rep.rows_dropped + rep.files_indexed + rep.files_removed + rep.bytes_cut, 0);
    char ok[16] = "";
    buf_t report = BUF_INIT(4096);
    assert_int_equal(db_integrity_check(f->db, &report), 0);
    snprintf(ok, sizeof ok, "%.2s", buf_cstr(&report));
    assert_string_equal(ok, "ok");
    buf_free(&report);
}

/* kill -9 a writer at random moments: every block it was told is committed reads
 * back verified, and the index is intact. The child writes the number of committed
 * blocks to a pipe after each commit. */
static void
writer_child(fixture_t *f, int wfd, uint32_t base)
{
    f->cfg.batch_flush = 7;
    f->cfg.pack_max = 1 << 20;
    if (fx_open(f) < 0)
        _exit(1);
    for (uint32_t round = 0;; round++) {
        blockstore_batch_begin(f->bs);
        for (uint32_t i = 0; i < 10; i++) {
            cid_t c;
            uint32_t seed = base + round * 10 + i;
            if (fx_put(f->bs, seed, 20000 + seed % 5000, &c) < 0)
                _exit(2);
        }
        if (blockstore_batch_commit(f->bs) < 0)
            _exit(3);
        uint32_t done = (round + 1) * 10;
        if (write(wfd, &done, sizeof done) != sizeof done)
            _exit(4);
    }
}

static void
test_kill9_crash_consistency(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    uint32_t acked_total = 0;
    for (uint32_t run = 0; run < 6; run++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        uint32_t base = 100000 * (run + 1);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            writer_child(f, p[1], base);
        }
        close(p[1]);
        /* let it commit a few batches, then kill it mid-way through another */
        uint32_t acked = 0, v;
        for (uint32_t want = 2 + run; want > 0 && read(p[0], &v, sizeof v) == sizeof v; want--)
            acked = v;
        usleep(1000u * (run * 3 % 7));
        kill(pid, SIGKILL);
        while (read(p[0], &v, sizeof v) == sizeof v)
            acked = v; /* commits that made it before the kill */
        close(p[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_true(acked >= 10);

        f->cfg = (blockstore_config_t){.pack_max = 1 << 20};
        assert_int_equal(fx_open(f), 0);
        buf_t report = BUF_INIT(4096);
        assert_int_equal(db_integrity_check(f->db, &report), 0);
        assert_memory_equal(buf_cstr(&report), "ok", 2);
        buf_free(&report);
        for (uint32_t i = 0; i < acked; i++) {
            uint32_t seed = base + i;
            fx_assert_block(f->bs, seed, 20000 + seed % 5000);
        }
        /* nothing held that does not verify */
        blockstore_repair_t rep;
        assert_int_equal(blockstore_repair(f->bs, &rep), 0);
        assert_int_equal(rep.rows_dropped + rep.bytes_cut, 0);
        acked_total += acked;
        blockstore_stat_t st;
        assert_int_equal(blockstore_stat(f->bs, &st), 0);
        assert_true(st.blocks >= acked_total);
        fx_close(f);
    }
    assert_int_equal(fx_open(f), 0);
}

static void
test_gc_compacts_packs(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    f->cfg.pack_max = 64 << 10;
    assert_int_equal(fx_open(f), 0);
    cid_t c[60];
    assert_int_equal(blockstore_batch_begin(f->bs), 0);
    for (uint32_t i = 0; i < 60; i++)
        assert_int_equal(fx_put(f->bs, i, 8000, &c[i]), 0);
    assert_int_equal(blockstore_batch_commit(f->bs), 0);
    /* pin every fifth block (direct pins): the other packs fall under half live */
    for (uint32_t i = 0; i < 60; i += 5)
        assert_int_equal(pin_add(f->bs, &c[i], false, NULL, NULL), 0);
    int before = packs(f);
    uint64_t bytes_before = packs_bytes(f);
    blockstore_gc_result_t res;
    assert_int_equal(blockstore_gc(f->bs, &res), 0);
    assert_int_equal(res.blocks, 48);
    assert_true(res.pack_bytes > 0);
    assert_true(packs(f) < before);
    assert_true(packs_bytes(f) < bytes_before / 2);
    for (uint32_t i = 0; i < 60; i++) {
        if (i % 5 == 0)
            fx_assert_block(f->bs, i, 8000);
        else
            assert_false(blockstore_has(f->bs, &c[i]));
    }
    fx_close(f);
    assert_int_equal(fx_open(f), 0);
    for (uint32_t i = 0; i < 60; i += 5)
        fx_assert_block(f->bs, i, 8000);
    /* a compaction killed after its commit leaves a dead pack: repair unlinks it */
    assert_int_equal(db_exec(f->db, "INSERT INTO packs(id, size, dead) VALUES (9999, 0, 1)"), 0);
    char path[PATH_MAX];
    assert_int_equal(bs_pack_path(f->bs, 9999, path), 0);
    assert_int_equal(fs_write_atomic(path, "junk", 4, 0644), 0);
    mark_unclean(f);
    assert_int_equal(fx_open(f), 0);
    assert_int_equal(access(path, F_OK), -1);
    for (uint32_t i = 0; i < 60; i += 5)
        fx_assert_block(f->bs, i, 8000);
}

/* A store written in the flatfs layout opens with packs: old blocks read, new ones
 * go to a pack, GC removes both kinds. */
static void
test_files_layout_still_read(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    f->cfg.layout = BLOCKSTORE_LAYOUT_FILES;
    assert_int_equal(fx_open(f), 0);
    cid_t old[3], fresh[3];
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(fx_put(f->bs, i, 2000, &old[i]), 0);
    assert_int_equal(packs(f), 0);
    fx_close(f);
    f->cfg.layout = BLOCKSTORE_LAYOUT_PACK;
    assert_int_equal(fx_open(f), 0);
    for (uint32_t i = 0; i < 3; i++) {
        fx_assert_block(f->bs, i, 2000);
        assert_int_equal(fx_put(f->bs, 10 + i, 2000, &fresh[i]), 0);
    }
    assert_int_equal(packs(f), 1);
    assert_int_equal(pin_add(f->bs, &old[0], false, NULL, NULL), 0);
    assert_int_equal(pin_add(f->bs, &fresh[0], false, NULL, NULL), 0);
    blockstore_gc_result_t res;
    assert_int_equal(blockstore_gc(f->bs, &res), 0);
    assert_int_equal(res.blocks, 4);
    fx_assert_block(f->bs, 0, 2000);
    fx_assert_block(f->bs, 10, 2000);
    char shard[PATH_MAX], path[PATH_MAX];
    assert_int_equal(bs_path(f->bs, &old[1].hash, path, shard), 0);
    assert_int_equal(access(path, F_OK), -1);
    mark_unclean(f);
    assert_int_equal(fx_open(f), 0);
    fx_assert_block(f->bs, 0, 2000);
    fx_assert_block(f->bs, 10, 2000);
}

/* Appends that fail on the writer thread (EFBIG past RLIMIT_FSIZE) commit no row:
 * a lone put fails, a batch fails to commit and its abort leaves the pack as it was,
 * and the store goes on working. In a child, so the limit stays there. */
static void
write_error_child(fixture_t *f)
{
    signal(SIGXFSZ, SIG_IGN);
    if (fx_open(f) < 0)
        _exit(10);
    cid_t c;
    if (fx_put(f->bs, 1, 4000, &c) != 0)
        _exit(11);
    struct rlimit rl = {1 << 20, 1 << 20};
    if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
        _exit(12);
    if (fx_put(f->bs, 2, 1536 << 10, &c) >= 0 || blockstore_has(f->bs, &c))
        _exit(13);
    blockstore_batch_begin(f->bs);
    if (fx_put(f->bs, 3, 1536 << 10, &c) != 0) /* queued: the error comes at commit */
        _exit(14);
    if (blockstore_batch_commit(f->bs) >= 0)
        _exit(15);
    blockstore_batch_abort(f->bs);
    if (blockstore_has(f->bs, &c))
        _exit(16);
    if (fx_put(f->bs, 4, 1000, &c) != 0)
        _exit(17);
    fx_close(f);
    _exit(0);
}

static void
test_write_error_commits_nothing(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        write_error_child(f);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(fx_open(f), 0);
    fx_assert_block(f->bs, 1, 4000);
    fx_assert_block(f->bs, 4, 1000);
    for (uint32_t seed = 2; seed <= 3; seed++) {
        cid_t c;
        free(fx_block(seed, 1536 << 10, &c));
        assert_false(blockstore_has(f->bs, &c));
    }
    blockstore_stat_t st;
    assert_int_equal(blockstore_stat(f->bs, &st), 0);
    assert_int_equal(st.blocks, 2);
}

static void
test_record_codec(void **state)
{
    (void)state;
    cid_t c;
    free(fx_block(1, 10, &c));
    uint8_t hdr[BS_REC_MAX_HDR];
    size_t n = bs_record_encode(&c.hash, CID_CODEC_DAG_PB, 1234, hdr);
    assert_int_equal(n, BS_REC_FIXED + 34);
    bs_record_t r;
    assert_int_equal(bs_record_decode(hdr, n, 1 << 20, &r), (int)n);
    assert_true(multihash_equal(&r.mh, &c.hash));
    assert_int_equal(r.codec, CID_CODEC_DAG_PB);
    assert_int_equal(r.len, 1234);
    for (size_t k = 0; k < n; k++) /* every prefix is "need more" */
        assert_int_equal(bs_record_decode(hdr, k, 1 << 20, &r), 0);
    assert_int_equal(bs_record_decode(hdr, n, 1000, &r), LS_ECORRUPT); /* over the limit */
    hdr[0] = 'X';
    assert_int_equal(bs_record_decode(hdr, n, 1 << 20, &r), LS_ECORRUPT);
    hdr[0] = 'L';
    hdr[16] = 33; /* length byte disagrees with the multihash */
    assert_int_equal(bs_record_decode(hdr, n, 1 << 20, &r), LS_ECORRUPT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_codec),
        cmocka_unit_test_setup_teardown(test_one_pack_no_block_files, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_writer_short_batches, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_put_buffer_lends, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rollover_and_abort, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_corrupt, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_repair_adopts_and_cuts, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_kill9_crash_consistency, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_gc_compacts_packs, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_files_layout_still_read, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_write_error_commits_nothing, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
