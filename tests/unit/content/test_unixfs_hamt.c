/* HAMT-sharded directories (unixfs_hamt.c): read through unixfs_ls/unixfs_stat, and
 * written past the threshold. tests/interop checks real shards written by helia
 * (test_helia.py) and that Lester's shards have helia's CIDs (test_cid_compat.py). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "content/dagpb/dagpb.h"
#include "content/unixfs/unixfs.h"
#include "content/unixfs/unixfs_hamt.h"
#include "lib/err/err.h"

typedef struct store_t {
    cid_t cid[256];
    uint8_t *data[256];
    size_t len[256];
    size_t n;
    size_t gets;      /* blocks read */
    size_t gets_left; /* while nonzero, reads past it are refused (0: no limit) */
} store_t;

static int
store_put(void *ctx, const cid_t *cid, const uint8_t *block, size_t len)
{
    store_t *s = ctx;
    for (size_t i = 0; i < s->n; i++)
        if (cid_equal(&s->cid[i], cid))
            return 0;
    assert_true(s->n < 256);
    s->cid[s->n] = *cid;
    s->data[s->n] = ls_memdup(block, len);
    s->len[s->n++] = len;
    return 0;
}

static int
store_get(void *ctx, const cid_t *cid, buf_t *out)
{
    store_t *s = ctx;
    if (s->gets_left && s->gets >= s->gets_left)
        return LS_ENOENT; /* a block not available (yet) */
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

static cid_t
file_of(store_t *s, const char *text)
{
    unixfs_file_t *f = unixfs_file_new(NULL, store_put, s);
    unixfs_result_t r;
    assert_int_equal(unixfs_file_write(f, (const uint8_t *)text, strlen(text)), 0);
    assert_int_equal(unixfs_file_finish(f, &r), 0);
    unixfs_file_free(f);
    return r.cid;
}

typedef struct hlink_t {
    const char *name;
    cid_t cid;
} hlink_t;

/* A shard node: Data {HAMTShard, bitfield, hashType, fanout} and named links. */
static cid_t
shard_of(store_t *s, uint64_t fanout, uint64_t hash_type, bool has_fanout, const hlink_t *ls,
         size_t n)
{
    static const uint8_t bitfield[] = {0x01, 0x02};
    unixfs_data_t ud = {.type = UNIXFS_HAMT_SHARD,
                        .data = bitfield,
                        .data_len = 2,
                        .has_data = true,
                        .hash_type = hash_type,
                        .has_hash_type = true,
                        .fanout = fanout,
                        .has_fanout = has_fanout};
    buf_t data = BUF_INIT(BUF_UNLIMITED), blk = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(unixfs_data_encode(&ud, &data), 0);
    dagpb_link_t links[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        links[i] = (dagpb_link_t){.cid = ls[i].cid,
                                  .name = (const uint8_t *)ls[i].name,
                                  .name_len = strlen(ls[i].name),
                                  .has_name = true,
                                  .tsize = 7,
                                  .has_tsize = true};
    dagpb_node_t node = {
        .links = links, .n_links = n, .data = data.data, .data_len = data.len, .has_data = true};
    assert_int_equal(dagpb_encode(&node, &blk), 0);
    cid_t cid;
    cid_v1_sha256(&cid, CID_CODEC_DAG_PB, blk.data, blk.len);
    store_put(s, &cid, blk.data, blk.len);
    buf_free(&data);
    buf_free(&blk);
    return cid;
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
    assert_int_equal(tsize, 7);
    assert_true(nm->n < 8);
    snprintf(nm->got[nm->n++], 32, "%s", name);
    return 0;
}

static void
test_hamt_ls_walks_sub_shards(void **state)
{
    (void)state;
    store_t *s = ls_calloc(1, sizeof *s);
    unixfs_source_t src = {store_get, s};
    cid_t a = file_of(s, "first"), b = file_of(s, "second");
    hlink_t sub_links[] = {{"00bar", b}, {"FFbaz", a}};
    cid_t sub = shard_of(s, 256, UNIXFS_HAMT_MURMUR3, true, sub_links, 2);
    hlink_t root_links[] = {{"0Afoo", a}, {"1B", sub}, {"C3quite a long name", b}};
    cid_t root = shard_of(s, 256, UNIXFS_HAMT_MURMUR3, true, root_links, 3);

    names_t nm = {0};
    assert_int_equal(unixfs_ls(&root, &src, on_entry, &nm), 0);
    assert_int_equal(nm.n, 4);
    assert_string_equal(nm.got[0], "foo");
    assert_string_equal(nm.got[1], "bar");
    assert_string_equal(nm.got[2], "baz");
    assert_string_equal(nm.got[3], "quite a long name");

    unixfs_stat_t st;
    assert_int_equal(unixfs_stat(&root, &src, &st), 0);
    assert_int_equal(st.type, UNIXFS_DIRECTORY); /* a sharded directory is a directory */
    assert_int_equal(st.n_links, 3);
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(unixfs_cat(&root, 0, 1, &src, NULL, &out), -EISDIR);
    buf_free(&out);

    /* fanout 16: one hex digit per prefix */
    hlink_t small_links[] = {{"Fz", a}, {"0", sub}};
    cid_t small = shard_of(s, 16, UNIXFS_HAMT_MURMUR3, true, small_links, 1);
    memset(&nm, 0, sizeof nm);
    assert_int_equal(unixfs_ls(&small, &src, on_entry, &nm), 0);
    assert_int_equal(nm.n, 1);
    assert_string_equal(nm.got[0], "z");
    store_free(s);
}

/* A one-link shard with `name` -> `to` must be refused with `want`. */
static void
refused(store_t *s, const char *name, cid_t to, uint64_t fanout, uint64_t hash, bool has_fanout,
        int want)
{
    unixfs_source_t src = {store_get, s};
    hlink_t l[] = {{name, to}};
    cid_t root = shard_of(s, fanout, hash, has_fanout, l, 1);
    names_t nm = {0};
    assert_int_equal(unixfs_ls(&root, &src, on_entry, &nm), want);
    assert_int_equal(nm.n, 0);
}

static void
test_hamt_rejects_malformed_shards(void **state)
{
    (void)state;
    store_t *s = ls_calloc(1, sizeof *s);
    cid_t a = file_of(s, "x");
    refused(s, "0", a, 256, UNIXFS_HAMT_MURMUR3, true, LS_EPROTO);      /* shorter than prefix */
    refused(s, "0afoo", a, 256, UNIXFS_HAMT_MURMUR3, true, LS_EPROTO);  /* lower-case hex */
    refused(s, "G0foo", a, 256, UNIXFS_HAMT_MURMUR3, true, LS_EPROTO);  /* not hex */
    refused(s, "AA..", a, 256, UNIXFS_HAMT_MURMUR3, true, LS_EPROTO);   /* ".." */
    refused(s, "AAa/b", a, 256, UNIXFS_HAMT_MURMUR3, true, LS_EPROTO);  /* '/' */
    refused(s, "AAfoo", a, 100, UNIXFS_HAMT_MURMUR3, true, LS_EPROTO);  /* not a power of 2 */
    refused(s, "AAfoo", a, 256, UNIXFS_HAMT_MURMUR3, false, LS_EPROTO); /* no fanout */
    refused(s, "AAfoo", a, 1u << 20, UNIXFS_HAMT_MURMUR3, true, LS_EPROTO);
    refused(s, "AAfoo", a, 256, 0x11, true, LS_ENOTSUP);            /* not murmur3 */
    refused(s, "AA", a, 256, UNIXFS_HAMT_MURMUR3, true, LS_EPROTO); /* raw "sub-shard" */

    /* a sub-shard that is a plain directory, or missing */
    unixfs_dir_t *d = unixfs_dir_new();
    unixfs_result_t dir;
    assert_int_equal(unixfs_dir_finish(d, store_put, s, &dir), 0);
    unixfs_dir_free(d);
    refused(s, "AA", dir.cid, 256, UNIXFS_HAMT_MURMUR3, true, LS_EPROTO);
    cid_t missing;
    cid_v1_sha256(&missing, CID_CODEC_DAG_PB, (const uint8_t *)"nowhere", 7);
    refused(s, "AA", missing, 256, UNIXFS_HAMT_MURMUR3, true, LS_ENOENT);
    store_free(s);
}

static void
test_hamt_depth_limit(void **state)
{
    (void)state;
    store_t *s = ls_calloc(1, sizeof *s);
    unixfs_source_t src = {store_get, s};
    hlink_t l[] = {{"AAleaf", file_of(s, "leaf")}};
    cid_t at = shard_of(s, 256, UNIXFS_HAMT_MURMUR3, true, l, 1);
    for (int i = 0; i < UNIXFS_MAX_DEPTH + 2; i++) {
        names_t nm = {0};
        int rc = unixfs_ls(&at, &src, on_entry, &nm);
        assert_int_equal(rc, i <= UNIXFS_MAX_DEPTH ? 0 : LS_ELIMIT);
        hlink_t down[] = {{"00", at}};
        at = shard_of(s, 256, UNIXFS_HAMT_MURMUR3, true, down, 1);
    }
    store_free(s);
}

/* Known answers from @multiformats/murmur3 (the hash helia's importer uses):
 * murmur3-128("hello") = cbd8a7b341bd9b02..., of "hello" || 0x01 = b8ea181a11c6bf22...,
 * of "file-01.txt" = 8b7ca712922edd7a... */
static void
test_hamt_bucket_known_answers(void **state)
{
    (void)state;
    assert_int_equal(unixfs_hamt_bucket("hello", 5, 0), 0xcb);
    assert_int_equal(unixfs_hamt_bucket("hello", 5, 1), 0xd8);
    assert_int_equal(unixfs_hamt_bucket("hello", 5, 7), 0x02);
    assert_int_equal(unixfs_hamt_bucket("hello", 5, 8), 0xb8); /* rehashed with depth 1 */
    assert_int_equal(unixfs_hamt_bucket("hello", 5, 9), 0xea);
    assert_int_equal(unixfs_hamt_bucket("file-01.txt", 11, 0), 0x8b);
    assert_int_equal(unixfs_hamt_bucket("file-01.txt", 11, 3), 0x12);
}

typedef struct seen_t {
    bool seen[600];
    size_t n;
} seen_t;

static int
on_numbered(void *ctx, const char *name, const cid_t *cid, uint64_t tsize)
{
    seen_t *s = ctx;
    unsigned i;
    (void)cid;
    (void)tsize;
    assert_int_equal(sscanf(name, "name-%u", &i), 1);
    assert_true(i < 600 && !s->seen[i]);
    s->seen[i] = true;
    s->n++;
    return 0;
}

/* 600 entries "name-N", every one the same 1-byte leaf, sharded past a 1000-byte
 * estimate: the root shard and sub-shards where names collide. */
static void
six_hundred(store_t *s, unixfs_result_t *leaf, unixfs_result_t *root)
{
    *leaf = (unixfs_result_t){.tsize = 1};
    cid_v1_sha256(&leaf->cid, CID_CODEC_RAW, (const uint8_t *)"x", 1);
    store_put(s, &leaf->cid, (const uint8_t *)"x", 1);
    unixfs_dir_t *d = unixfs_dir_new();
    unixfs_dir_set_shard_threshold(d, 1000);
    char name[32];
    for (unsigned i = 0; i < 600; i++) {
        snprintf(name, sizeof name, "name-%u", i);
        assert_int_equal(unixfs_dir_add(d, name, leaf), 0);
    }
    assert_int_equal(unixfs_dir_finish(d, store_put, s, root), 0);
    unixfs_dir_free(d);
}

/* Past the threshold a directory is written as shards and reads back whole; at or
 * under it, it stays flat. */
static void
test_hamt_write_round_trip(void **state)
{
    (void)state;
    store_t *s = ls_calloc(1, sizeof *s);
    unixfs_source_t src = {store_get, s};
    unixfs_result_t leaf, root;
    six_hundred(s, &leaf, &root);
    unixfs_dir_t *d;
    char name[32];
    assert_true(s->n > 3); /* the root shard and sub-shards where names collide */
    seen_t seen = {0};
    assert_int_equal(unixfs_ls(&root.cid, &src, on_numbered, &seen), 0);
    assert_int_equal(seen.n, 600);
    unixfs_stat_t st;
    assert_int_equal(unixfs_stat(&root.cid, &src, &st), 0);
    assert_int_equal(st.type, UNIXFS_DIRECTORY);
    assert_true(st.n_links <= 256);
    assert_true(root.tsize > 600);

    /* 25 names of 6 bytes + 36-byte CIDs: 1050 bytes; a threshold of 1050 keeps it flat */
    size_t before = s->n;
    d = unixfs_dir_new();
    unixfs_dir_set_shard_threshold(d, 1050);
    for (unsigned i = 100; i < 125; i++) {
        snprintf(name, sizeof name, "name-%u", i);
        assert_int_equal(unixfs_dir_add(d, name, &leaf), 0);
    }
    assert_int_equal(unixfs_dir_add_subdir(d, "full", &root, false), 0); /* not counted */
    assert_int_equal(unixfs_dir_finish(d, store_put, s, &root), 0);
    unixfs_dir_free(d);
    assert_int_equal(s->n, before + 1); /* one flat node */
    store_free(s);
}

/* A name is found through the shards on its hash path only: at most one block per
 * level, where listing reads every shard; a name not there is UNIXFS_NO_ENTRY, and a
 * shard on the way that is not available is LS_ENOENT. */
static void
test_hamt_lookup_reads_the_hash_path(void **state)
{
    (void)state;
    store_t *s = ls_calloc(1, sizeof *s);
    unixfs_source_t src = {store_get, s};
    unixfs_result_t leaf, root;
    six_hundred(s, &leaf, &root);
    char name[32];
    size_t shards = s->n - 1, deep = 0;
    cid_t got;
    for (unsigned i = 0; i < 600; i++) {
        snprintf(name, sizeof name, "name-%u", i);
        s->gets = 0;
        assert_int_equal(unixfs_lookup(&root.cid, &src, name, &got), 0);
        assert_true(cid_equal(&got, &leaf.cid));
        assert_true(s->gets <= 3 && s->gets < shards);
        deep += s->gets > 1;
    }
    assert_true(deep > 0); /* some names sit in sub-shards */
    assert_int_equal(unixfs_lookup(&root.cid, &src, "name-600", &got), UNIXFS_NO_ENTRY);
    assert_int_equal(unixfs_lookup(&leaf.cid, &src, "name-1", &got), -ENOTDIR);
    s->gets = 0;
    s->gets_left = 1; /* the root shard only */
    int missing = 0;
    for (unsigned i = 0; i < 600; i++) {
        snprintf(name, sizeof name, "name-%u", i);
        s->gets = 0;
        int rc = unixfs_lookup(&root.cid, &src, name, &got);
        assert_true(rc == 0 || rc == LS_ENOENT);
        missing += rc == LS_ENOENT;
    }
    assert_int_equal(missing, (int)deep);
    store_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hamt_ls_walks_sub_shards),
        cmocka_unit_test(test_hamt_rejects_malformed_shards),
        cmocka_unit_test(test_hamt_depth_limit),
        cmocka_unit_test(test_hamt_bucket_known_answers),
        cmocka_unit_test(test_hamt_write_round_trip),
        cmocka_unit_test(test_hamt_lookup_reads_the_hash_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
