/* blockstore_fixture — scratch directory, database and store shared by
 * test_blockstore.c, test_pin.c and test_gc.c (header-only: each test is its own
 * executable). */
#ifndef LS_TEST_BLOCKSTORE_FIXTURE_H
#define LS_TEST_BLOCKSTORE_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "content/blockstore/blockstore.h"
#include "content/blockstore/blockstore_internal.h"
#include "content/blockstore/content_migrations.h"
#include "content/blockstore/pin.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"

typedef struct fixture_t {
    char dir[512];
    char blocks[600];
    char dbpath[600];
    db_t *db;
    blockstore_t *bs;
    blockstore_config_t cfg;
} fixture_t;

static inline int
fx_open(fixture_t *f)
{
    if (db_open(f->dbpath, content_migrations, content_migrations_len, &f->db, NULL) < 0)
        return -1;
    return blockstore_open(f->blocks, f->db, &f->cfg, &f->bs, NULL) < 0 ? -1 : 0;
}

static inline void
fx_close(fixture_t *f)
{
    blockstore_free(f->bs);
    db_free(f->db);
}

static inline int
fx_setup_cfg(void **state, const blockstore_config_t *cfg)
{
    fixture_t *f = calloc(1, sizeof *f);
    const char *base = getenv("LESTER_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    fs_mkdir_p(base, 0700);
    snprintf(f->dir, sizeof f->dir, "%s/test_bs.XXXXXX", base);
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->blocks, sizeof f->blocks, "%s/blocks", f->dir);
    snprintf(f->dbpath, sizeof f->dbpath, "%s/lester.db", f->dir);
    if (cfg)
        f->cfg = *cfg;
    *state = f;
    return fx_open(f);
}

static inline int
fx_setup(void **state)
{
    return fx_setup_cfg(state, NULL);
}

static inline int
fx_rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline int
fx_teardown(void **state)
{
    fixture_t *f = *state;
    fx_close(f);
    nftw(f->dir, fx_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* A deterministic block of `len` bytes numbered `seed`, and its raw CIDv1. */
static inline uint8_t *
fx_block(uint32_t seed, size_t len, cid_t *cid)
{
    /* calloc: an empty block is hashed from a defined (if unread) byte */
    uint8_t *p = calloc(1, len ? len : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
    cid_v1_sha256(cid, CID_CODEC_RAW, p, len);
    return p;
}

/* Put block `seed` of `len` bytes; returns put's result and the CID. */
static inline int
fx_put(blockstore_t *bs, uint32_t seed, size_t len, cid_t *cid)
{
    uint8_t *p = fx_block(seed, len, cid);
    int rc = blockstore_put(bs, cid, p, len);
    free(p);
    return rc;
}

/* Close and open the store again: blocks put before are no longer this run's
 * (blockstore_get() skips the hash of those), so damage to them is caught. */
/* Block `seed` of `len` bytes is held and reads back verified with the right bytes
 * (cmocka's asserts: include <cmocka.h> first). */
static inline void
fx_assert_block(blockstore_t *bs, uint32_t seed, size_t len)
{
    cid_t cid;
    uint8_t *want = fx_block(seed, len, &cid);
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(blockstore_get(bs, &cid, &out), 0);
    assert_int_equal(out.len, len);
    if (len)
        assert_memory_equal(out.data, want, len);
    buf_free(&out);
    free(want);
}

static inline int
fx_reopen(fixture_t *f)
{
    fx_close(f);
    return fx_open(f);
}

/* Overwrite byte `at` of the block's bytes on disk (its file, or its pack record). */
static inline void
fx_damage(blockstore_t *bs, const cid_t *cid, long at)
{
    char path[PATH_MAX];
    int64_t id;
    uint64_t size;
    bs_loc_t loc = {0, 0};
    if (bs_row_locate(bs, &cid->hash, &id, &size, &loc) != 1)
        abort();
    if (loc.pack > 0) {
        if (bs_pack_path(bs, loc.pack, path) < 0)
            abort();
        at += (long)loc.off;
    } else if (bs_path(bs, &cid->hash, path, NULL) < 0) {
        abort();
    }
    FILE *fp = fopen(path, "r+b");
    if (!fp)
        abort();
    fseek(fp, at, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, at, SEEK_SET);
    fputc(c ^ 0x5a, fp);
    fclose(fp);
}

/* Test DAG nodes (codec dag-pb, but not dag-pb bytes): 'N', a tag byte, then the
 * binary CIDs of the children. fx_links() is their links callback. */
static inline int
fx_node(blockstore_t *bs, uint8_t tag, const cid_t *kids, size_t n, cid_t *cid)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    buf_append_byte(&b, 'N');
    buf_append_byte(&b, tag);
    for (size_t i = 0; i < n; i++)
        cid_to_bytes(&kids[i], &b);
    cid_v1_sha256(cid, CID_CODEC_DAG_PB, b.data, b.len);
    int rc = blockstore_put(bs, cid, b.data, b.len);
    buf_free(&b);
    return rc;
}

static inline int
fx_links(void *ctx, const cid_t *cid, const uint8_t *p, size_t len, blockstore_cidlist_t *out)
{
    int *calls = ctx;
    (void)cid;
    if (calls)
        (*calls)++;
    if (len < 2 || p[0] != 'N')
        return LS_EINVAL;
    for (size_t off = 2; off < len;) {
        cid_t c;
        int n = cid_from_bytes(&c, p + off, len - off);
        if (n <= 0)
            return LS_EINVAL;
        blockstore_cidlist_push(out, &c);
        off += (size_t)n;
    }
    return 0;
}

#endif
