#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "content/dagpb/dagpb.h"
#include "content/chunker/chunker.h"
#include "content/unixfs/unixfs.h"
#include "lib/err/err.h"

/* ---- an in-memory block store ---- */

typedef struct store_t {
    cid_t cid[4096];
    uint8_t *data[4096];
    size_t len[4096];
    size_t n;
    size_t gets;
} store_t;

static int
store_put(void *ctx, const cid_t *cid, const uint8_t *block, size_t len)
{
    store_t *s = ctx;
    for (size_t i = 0; i < s->n; i++)
        if (cid_equal(&s->cid[i], cid))
            return 0;
    assert_true(s->n < 4096);
    s->cid[s->n] = *cid;
    s->data[s->n] = ls_memdup(block, len);
    s->len[s->n] = len;
    s->n++;
    return 0;
}

static int
store_get(void *ctx, const cid_t *cid, buf_t *out)
{
    store_t *s = ctx;
    s->gets++;
    for (size_t i = 0; i < s->n; i++)
        if (cid_equal(&s->cid[i], cid))
            return buf_append(out, s->data[i], s->len[i]);
    return LS_ENOENT;
}

static void
store_free(store_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->data[i]);
    free(s);
}

static int
collect(void *ctx, const uint8_t *p, size_t len)
{
    return buf_append(ctx, p, len);
}

static uint8_t *
pattern(size_t n)
{
    uint8_t *p = ls_malloc(n ? n : 1);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245 + 12345;
        p[i] = (uint8_t)(x >> 16);
    }
    return p;
}

static void
import(store_t *s, const uint8_t *p, size_t n, size_t chunk, size_t links, unixfs_result_t *r)
{
    unixfs_params_t params = {chunk, links};
    unixfs_file_t *f = unixfs_file_new(&params, store_put, s);
    assert_non_null(f);
    /* feed in uneven pieces */
    for (size_t off = 0; off < n; off += 333)
        assert_int_equal(unixfs_file_write(f, p + off, LS_MIN(333, n - off)), 0);
    assert_int_equal(unixfs_file_finish(f, r), 0);
    assert_int_equal(unixfs_file_finish(f, r), LS_EINVAL);
    unixfs_file_free(f);
}

/* ---- tests ---- */

/* A put that changes the file being imported once, after the first block. */
typedef struct changer_t {
    store_t *s;
    const char *path;
    int how; /* 0 nothing, 1 truncate, 2 append, 3 overwrite in place */
    bool done;
} changer_t;

static int
changing_put(void *ctx, const cid_t *cid, const uint8_t *block, size_t len)
{
    changer_t *c = ctx;
    if (!c->done && c->how) {
        int fd = open(c->path, O_WRONLY | (c->how == 2 ? O_APPEND : 0));
        assert_true(fd >= 0);
        if (c->how == 1)
            assert_int_equal(ftruncate(fd, 1000), 0);
        else
            assert_int_equal(write(fd, "changed", 7), 7);
        close(fd);
        c->done = true;
    }
    return store_put(c->s, cid, block, len);
}

/* A file written, truncated or extended during its import is an error, never a CID
 * of bytes it did not hold at once: alone and inside a directory. */
static void
test_unixfs_add_path_detects_change(void **state)
{
    (void)state;
    char dir[64] = "/tmp/unixfs-change-", path[96];
    size_t n = 3 * 262144 + 5;
    uint8_t *p = pattern(n);
    memset(dir + strlen(dir), 'X', 6); /* mkdtemp's template */
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f", dir);
    for (int how = 0; how <= 3; how++) {
        for (int in_dir = 0; in_dir <= 1; in_dir++) {
            FILE *fp = fopen(path, "wb");
            assert_non_null(fp);
            assert_int_equal(fwrite(p, 1, n, fp), n);
            fclose(fp);
            /* an mtime in the past: an in-place write must change it, whatever
             * the clock's granularity */
            struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
            assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
            store_t *s = ls_calloc(1, sizeof *s);
            changer_t c = {s, path, how, false};
            unixfs_result_t r, want;
            int rc = unixfs_add_path(in_dir ? dir : path, NULL, changing_put, &c, &r);
            if (how == 0) {
                assert_int_equal(rc, 0);
                store_t *s2 = ls_calloc(1, sizeof *s2);
                import(s2, p, n, 0, 0, &want);
                if (!in_dir)
                    assert_true(cid_equal(&r.cid, &want.cid));
                store_free(s2);
            } else {
                assert_int_equal(rc, LS_ECHANGED);
            }
            store_free(s);
        }
    }
    unlink(path);
    rmdir(dir);
    free(p);
}

static void
write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    fclose(fp);
}

/* The root the importer must give for the tree test_unixfs_tree_in_slices makes,
 * built here from its parts with the directory API. */
static void
expected_tree(store_t *s, const uint8_t *big, size_t n, unixfs_result_t *root)
{
    unixfs_result_t a, b, e, inner, sub, none;
    import(s, (const uint8_t *)"hello", 5, 0, 0, &a);
    import(s, big, n, 0, 0, &b);
    import(s, (const uint8_t *)"", 0, 0, 0, &e);
    import(s, (const uint8_t *)"inner", 5, 0, 0, &inner);
    unixfs_dir_t *d = unixfs_dir_new();
    assert_int_equal(unixfs_dir_add(d, "inner.txt", &inner), 0);
    assert_int_equal(unixfs_dir_finish(d, store_put, s, &sub), 0);
    unixfs_dir_free(d);
    d = unixfs_dir_new();
    assert_int_equal(unixfs_dir_finish(d, store_put, s, &none), 0);
    unixfs_dir_free(d);
    d = unixfs_dir_new();
    assert_int_equal(unixfs_dir_add(d, "a.txt", &a), 0);
    assert_int_equal(unixfs_dir_add(d, "big.bin", &b), 0);
    assert_int_equal(unixfs_dir_add(d, "empty", &e), 0);
    assert_int_equal(unixfs_dir_add_subdir(d, "sub", &sub, false), 0);
    assert_int_equal(unixfs_dir_add_subdir(d, "emptydir", &none, true), 0);
    assert_int_equal(unixfs_dir_finish(d, store_put, s, root), 0);
    unixfs_dir_free(d);
}

/* A tree imported a slice at a time (the smallest budget: every read and entry is
 * its own step) gives the root built by hand from its parts; a symlink is skipped;
 * progress counts the files' bytes; past UNIXFS_MAX_DEPTH directories: LS_ELIMIT. */
static void
test_unixfs_tree_in_slices(void **state)
{
    (void)state;
    char top[64] = "/tmp/unixfs-tree-XXXXXX", path[256];
    size_t n = 3 * 262144 + 5;
    uint8_t *big = pattern(n);
    assert_non_null(mkdtemp(top));
    write_file(top, "a.txt", (const uint8_t *)"hello", 5);
    write_file(top, "big.bin", big, n);
    write_file(top, "empty", (const uint8_t *)"", 0);
    snprintf(path, sizeof path, "%s/sub", top);
    assert_int_equal(mkdir(path, 0755), 0);
    write_file(path, "inner.txt", (const uint8_t *)"inner", 5);
    snprintf(path, sizeof path, "%s/emptydir", top);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/link", top);
    assert_int_equal(symlink("a.txt", path), 0);

    store_t *s = ls_calloc(1, sizeof *s), *s2 = ls_calloc(1, sizeof *s2);
    unixfs_result_t want, got;
    expected_tree(s2, big, n, &want);
    unixfs_tree_t *t = unixfs_tree_new(NULL, NULL, store_put, s);
    assert_int_equal(unixfs_tree_open(t, top), 0);
    int rc, steps = 0;
    while ((rc = unixfs_tree_step(t, 1, &got)) == 0)
        steps++;
    assert_int_equal(rc, 1);
    assert_true(steps > 8);
    assert_true(cid_equal(&got.cid, &want.cid));
    uint64_t bytes, files;
    unixfs_tree_progress(t, &bytes, &files);
    assert_int_equal(bytes, n + 10);
    assert_int_equal(files, 4);
    assert_int_equal(unixfs_tree_step(t, 1, &got), 1); /* done stays done */
    unixfs_tree_free(t);
    assert_int_equal(unixfs_add_path(top, NULL, store_put, s, &got), 0);
    assert_true(cid_equal(&got.cid, &want.cid));

    /* 33 nested directories, a file at the bottom */
    char deep[4096];
    int len = snprintf(deep, sizeof deep, "%s/emptydir", top);
    for (int i = 0; i < UNIXFS_MAX_DEPTH; i++) {
        len += snprintf(deep + len, sizeof deep - (size_t)len, "/d");
        assert_int_equal(mkdir(deep, 0755), 0);
    }
    write_file(deep, "f", (const uint8_t *)"x", 1);
    assert_int_equal(unixfs_add_path(top, NULL, store_put, s, &got), LS_ELIMIT);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", top);
    assert_int_equal(system(cmd), 0);
    store_free(s);
    store_free(s2);
    free(big);
}

static void
test_unixfs_data_round_trip(void **state)
{
    uint64_t bs[2] = {262144, 1};
    unixfs_data_t d = {.type = UNIXFS_FILE,
                       .has_filesize = true,
                       .filesize = 262145,
                       .blocksizes = bs,
                       .n_blocksizes = 2,
                       .has_mode = true,
                       .mode = 0755,
                       .has_mtime = true,
                       .mtime_secs = -5,
                       .has_mtime_nsecs = true,
                       .mtime_nsecs = 7};
    /* Type=File, filesize=262145, blocksizes 262144 and 1: what ipfs-unixfs writes */
    static const uint8_t want_prefix[] = {0x08, 0x02, 0x18, 0x81, 0x80, 0x10,
                                          0x20, 0x80, 0x80, 0x10, 0x20, 0x01};
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    unixfs_data_t back;

    (void)state;
    assert_int_equal(unixfs_data_encode(&d, &b), 0);
    assert_memory_equal(b.data, want_prefix, sizeof want_prefix);
    assert_int_equal(unixfs_data_decode(b.data, b.len, &back), 0);
    assert_int_equal(back.type, UNIXFS_FILE);
    assert_true(back.filesize == 262145 && back.n_blocksizes == 2 && back.blocksizes[1] == 1);
    assert_true(back.has_mode && back.mode == 0755);
    assert_true(back.has_mtime && back.mtime_secs == -5 && back.mtime_nsecs == 7);
    unixfs_data_clear(&back);
    /* packed blocksizes are read too; a missing Type, a bad Type, a repeated field not */
    assert_int_equal(unixfs_data_decode((const uint8_t *)"\x08\x02\x22\x02\x05\x06", 6, &back), 0);
    assert_true(back.n_blocksizes == 2 && back.blocksizes[0] == 5 && back.blocksizes[1] == 6);
    unixfs_data_clear(&back);
    assert_int_equal(unixfs_data_decode((const uint8_t *)"\x18\x01", 2, &back), LS_EINVAL);
    assert_int_equal(unixfs_data_decode((const uint8_t *)"\x08\x09", 2, &back), LS_EINVAL);
    assert_int_equal(unixfs_data_decode((const uint8_t *)"\x08\x02\x08\x02", 4, &back), LS_EINVAL);
    assert_int_equal(unixfs_data_decode((const uint8_t *)"\x08\x02\x12\x05", 4, &back), LS_EINVAL);
    /* unknown fields are skipped */
    assert_int_equal(unixfs_data_decode((const uint8_t *)"\x08\x01\x68\x01", 4, &back), 0);
    buf_free(&b);
}

static void
test_unixfs_empty_and_single_chunk_are_raw_leaves(void **state)
{
    store_t *s = ls_calloc(1, sizeof *s);
    unixfs_result_t r;
    buf_t str = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    import(s, (const uint8_t *)"", 0, 0, 0, &r);
    cid_to_string(&r.cid, &str);
    /* ipfs-unixfs-importer, rawLeaves + reduceSingleLeafToSelf: the empty raw block */
    assert_string_equal(buf_cstr(&str),
                        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
    assert_true(r.tsize == 0 && r.filesize == 0 && s->n == 1);
    uint8_t *p = pattern(1000);
    import(s, p, 1000, 1000, 0, &r);
    assert_int_equal(r.cid.codec, CID_CODEC_RAW);
    assert_true(r.tsize == 1000 && r.filesize == 1000);
    free(p);
    buf_free(&str);
    store_free(s);
}

/* Import with small parameters, then read back whole and in ranges. */
static void
test_unixfs_import_and_cat(void **state)
{
    static const size_t sizes[] = {1001, 4000, 4001, 16000, 16001, 20000, 64000, 64001, 70500};
    (void)state;
    for (size_t k = 0; k < LS_ARRAY_LEN(sizes); k++) {
        size_t n = sizes[k];
        uint8_t *p = pattern(n);
        store_t *s = ls_calloc(1, sizeof *s);
        unixfs_source_t src = {store_get, s};
        unixfs_result_t r;
        unixfs_stat_t st;
        buf_t out = BUF_INIT(BUF_UNLIMITED);

        import(s, p, n, 1000, 4, &r);
        assert_int_equal(r.cid.codec, CID_CODEC_DAG_PB);
        assert_true(r.filesize == n);
        assert_int_equal(unixfs_stat(&r.cid, &src, &st), 0);
        assert_true(st.type == UNIXFS_FILE && st.filesize == n && st.n_links <= 4);
        assert_int_equal(unixfs_cat(&r.cid, 0, UINT64_MAX, &src, collect, &out), 0);
        assert_int_equal(out.len, n);
        assert_memory_equal(out.data, p, n);
        for (size_t off = 0; off < n; off += 777) {
            buf_clear(&out);
            assert_int_equal(unixfs_cat(&r.cid, off, 1500, &src, collect, &out), 0);
            assert_int_equal(out.len, LS_MIN(1500, n - off));
            assert_memory_equal(out.data, p + off, out.len);
        }
        buf_clear(&out);
        assert_int_equal(unixfs_cat(&r.cid, n + 5, 10, &src, collect, &out), 0);
        assert_int_equal(out.len, 0);
        buf_free(&out);
        store_free(s);
        free(p);
    }
}

static void
test_unixfs_range_skips_subtrees(void **state)
{
    size_t n = 64000; /* 64 leaves of 1000 under 4-link parents: 3 levels */
    uint8_t *p = pattern(n);
    store_t *s = ls_calloc(1, sizeof *s);
    unixfs_source_t src = {store_get, s};
    unixfs_result_t r;
    buf_t out = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    import(s, p, n, 1000, 4, &r);
    s->gets = 0;
    assert_int_equal(unixfs_cat(&r.cid, 50500, 10, &src, collect, &out), 0);
    assert_memory_equal(out.data, p + 50500, 10);
    assert_int_equal(s->gets, 4); /* root, one node per level, one leaf */
    buf_free(&out);
    store_free(s);
    free(p);
}

static void
test_unixfs_detects_corruption_and_lies(void **state)
{
    size_t n = 5000;
    uint8_t *p = pattern(n);
    store_t *s = ls_calloc(1, sizeof *s);
    unixfs_source_t src = {store_get, s};
    unixfs_result_t r;
    buf_t out = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    import(s, p, n, 1000, 0, &r);
    s->data[2][10] ^= 1; /* a leaf no longer matches its CID */
    assert_int_equal(unixfs_cat(&r.cid, 0, UINT64_MAX, &src, collect, &out), LS_ECORRUPT);
    s->data[2][10] ^= 1;

    /* a parent whose blocksizes lie about a child: well hashed, still refused */
    uint64_t bs[1] = {999};
    unixfs_data_t ud = {.type = UNIXFS_FILE, .blocksizes = bs, .n_blocksizes = 1};
    dagpb_link_t l = {.cid = s->cid[0], .has_name = true, .has_tsize = true, .tsize = 1000};
    dagpb_node_t node = {.links = &l, .n_links = 1, .has_data = true};
    buf_t d = BUF_INIT(BUF_UNLIMITED), blk = BUF_INIT(BUF_UNLIMITED);
    cid_t liar;
    unixfs_data_encode(&ud, &d);
    node.data = d.data;
    node.data_len = d.len;
    assert_int_equal(dagpb_encode(&node, &blk), 0);
    cid_v1_sha256(&liar, CID_CODEC_DAG_PB, blk.data, blk.len);
    store_put(s, &liar, blk.data, blk.len);
    buf_clear(&out);
    assert_int_equal(unixfs_cat(&liar, 0, UINT64_MAX, &src, collect, &out), LS_EPROTO);
    /* missing block */
    cid_t missing;
    cid_v1_sha256(&missing, CID_CODEC_RAW, "nope", 4);
    assert_int_equal(unixfs_cat(&missing, 0, 1, &src, collect, &out), LS_ENOENT);
    buf_free(&d);
    buf_free(&blk);
    buf_free(&out);
    store_free(s);
    free(p);
}

typedef struct names_t {
    char got[8][32];
    size_t n;
} names_t;

static int
on_entry(void *ctx, const char *name, const cid_t *cid, uint64_t tsize)
{
    names_t *nm = ctx;
    (void)cid;
    (void)tsize;
    snprintf(nm->got[nm->n++], 32, "%s", name);
    return 0;
}

static void
test_unixfs_directory(void **state)
{
    store_t *s = ls_calloc(1, sizeof *s);
    unixfs_source_t src = {store_get, s};
    unixfs_dir_t *d = unixfs_dir_new();
    unixfs_result_t a, b, root;
    names_t nm = {0};
    buf_t out = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    import(s, (const uint8_t *)"hello", 5, 0, 0, &a);
    import(s, (const uint8_t *)"", 0, 0, 0, &b);
    assert_int_equal(unixfs_dir_add(d, "zeta", &a), 0);
    assert_int_equal(unixfs_dir_add(d, "Alpha", &b), 0);
    assert_int_equal(unixfs_dir_add(d, "alpha", &a), 0);
    assert_int_equal(unixfs_dir_add(d, "alpha", &a), LS_EEXIST);
    assert_int_equal(unixfs_dir_add(d, "a/b", &a), LS_EINVAL);
    assert_int_equal(unixfs_dir_add(d, "..", &a), LS_EINVAL);
    assert_int_equal(unixfs_dir_add(d, "", &a), LS_EINVAL);
    assert_int_equal(unixfs_dir_finish(d, store_put, s, &root), 0);
    unixfs_dir_free(d);
    assert_int_equal(unixfs_ls(&root.cid, &src, on_entry, &nm), 0);
    assert_int_equal(nm.n, 3);
    assert_string_equal(nm.got[0], "Alpha"); /* byte order: 'A' < 'a' < 'z' */
    assert_string_equal(nm.got[1], "alpha");
    assert_string_equal(nm.got[2], "zeta");
    assert_int_equal(unixfs_cat(&root.cid, 0, 1, &src, collect, &out), -EISDIR);
    assert_int_equal(unixfs_ls(&a.cid, &src, on_entry, &nm), -ENOTDIR);
    buf_free(&out);
    store_free(s);
}

static void
test_unixfs_ls_refuses_path_tricks(void **state)
{
    store_t *s = ls_calloc(1, sizeof *s);
    unixfs_source_t src = {store_get, s};
    unixfs_result_t a;
    dagpb_link_t l = {.name = (const uint8_t *)"../etc", .name_len = 6, .has_name = true};
    static const uint8_t dir_data[] = {0x08, 0x01};
    dagpb_node_t node = {
        .links = &l, .n_links = 1, .data = dir_data, .data_len = 2, .has_data = true};
    buf_t blk = BUF_INIT(BUF_UNLIMITED);
    cid_t cid;
    names_t nm = {0};

    (void)state;
    import(s, (const uint8_t *)"x", 1, 0, 0, &a);
    l.cid = a.cid;
    assert_int_equal(dagpb_encode(&node, &blk), 0);
    cid_v1_sha256(&cid, CID_CODEC_DAG_PB, blk.data, blk.len);
    store_put(s, &cid, blk.data, blk.len);
    assert_int_equal(unixfs_ls(&cid, &src, on_entry, &nm), LS_EPROTO);
    assert_int_equal(nm.n, 0);
    buf_free(&blk);
    store_free(s);
}

static void
test_unixfs_params(void **state)
{
    unixfs_params_t bad_links = {0, 1}, bad_chunk = {CHUNKER_MAX_SIZE + 1, 0};
    (void)state;
    assert_null(unixfs_file_new(&bad_links, store_put, NULL));
    assert_null(unixfs_file_new(&bad_chunk, store_put, NULL));
    unixfs_file_free_(NULL);
    unixfs_dir_free_(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unixfs_data_round_trip),
        cmocka_unit_test(test_unixfs_empty_and_single_chunk_are_raw_leaves),
        cmocka_unit_test(test_unixfs_import_and_cat),
        cmocka_unit_test(test_unixfs_range_skips_subtrees),
        cmocka_unit_test(test_unixfs_detects_corruption_and_lies),
        cmocka_unit_test(test_unixfs_directory),
        cmocka_unit_test(test_unixfs_ls_refuses_path_tricks),
        cmocka_unit_test(test_unixfs_params),
        cmocka_unit_test(test_unixfs_add_path_detects_change),
        cmocka_unit_test(test_unixfs_tree_in_slices),
    };
    return cmocka_run_group_tests_name("content/unixfs", tests, NULL, NULL);
}
