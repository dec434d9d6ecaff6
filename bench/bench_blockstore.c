/* bench_blockstore — block store layouts and fsync strategies, side by side in one
 * run, for the layout decision in docs/PERFORMANCE.md ("Blockstore").
 *
 *   bench_blockstore [MIB [DIR]]   MIB of 256 KiB blocks per strategy (default 1024),
 *                                  written under DIR (default /tmp; must be a real
 *                                  disk, not tmpfs, or the fsync figures mean nothing)
 *
 * Each strategy starts from an empty directory and writes the same blocks (CIDs are
 * computed before the clock starts; put verifies the hash again, as it must for
 * blocks from the network). Output, one line per measurement:
 *   put files_nosync 4096 blocks 1.23 s 3251 puts/s 852 MB/s       (MB = 10^6 bytes)
 * Wall-clock rates: the disk is the point. Reads come from the page cache. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "content/blockstore/blockstore.h"
#include "content/blockstore/blockstore_internal.h"
#include "content/blockstore/content_migrations.h"
#include "lib/clock/clock.h"
#include "lib/crypto/random.h"
#include "lib/crypto/sha256.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"

#define BLOCK (256 * 1024)

typedef struct run_t {
    const char *root;
    size_t n;
    cid_t *cids;
    uint8_t *block; /* block i = this buffer with i in its first 8 bytes */
} run_t;

static void
fill(run_t *r, size_t i)
{
    uint64_t v = i;
    memcpy(r->block, &v, sizeof v);
}

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void
wipe(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
report(const char *what, const char *name, size_t n, size_t bytes, uint64_t us)
{
    double s = (double)us / 1e6;
    printf("%s %s %zu blocks %.2f s %.0f %s/s %.0f MB/s\n", what, name, n, s, (double)n / s, what,
           (double)bytes / s / 1e6);
    fflush(stdout);
}

/* Files only, no index: the same names, temp + rename, with or without fsync. */
static void
bench_files(run_t *r, const char *name, bool sync)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bsbench-files", r->root);
    wipe(dir);
    fs_mkdir_p(dir, 0755);
    blockstore_t fake = {.dir = dir, .cfg = {.max_block = BLOCKSTORE_MAX_BLOCK}};
    fake.dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    uint64_t t0 = clock_mono_us();
    for (size_t i = 0; i < r->n; i++) {
        fill(r, i);
        if (!multihash_verify(&r->cids[i].hash, r->block, BLOCK) ||
            bs_file_write(&fake, &r->cids[i].hash, r->block, BLOCK, sync) < 0)
            abort();
    }
    if (!sync)
        syncfs(fake.dirfd); /* flush once, for a fair total */
    report("put", name, r->n, r->n * BLOCK, clock_mono_us() - t0);
    close(fake.dirfd);
    wipe(dir);
}

static void
bench_gets(run_t *r, blockstore_t *bs)
{
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    uint64_t t0 = clock_mono_us();
    for (size_t i = 0; i < r->n; i++) {
        buf_clear(&out);
        if (blockstore_get(bs, &r->cids[i], &out) < 0)
            abort();
    }
    report("get", "verified_cached", r->n, r->n * BLOCK, clock_mono_us() - t0);
    size_t reps = 20, hits = 0;
    t0 = clock_mono_us();
    for (size_t k = 0; k < reps; k++)
        for (size_t i = 0; i < r->n; i++)
            hits += blockstore_has(bs, &r->cids[i]);
    uint64_t us = clock_mono_us() - t0;
    printf("has index %zu lookups %.0f has/s\n", hits, (double)hits / ((double)us / 1e6));
    buf_free(&out);
}

/* The blockstore with `sync`, all puts in one batch or each on its own. */
static void
bench_store(run_t *r, const char *name, blockstore_sync_t sync, bool batch, bool gets)
{
    char dir[512], blocks[600], dbpath[600];
    snprintf(dir, sizeof dir, "%s/bsbench-store", r->root);
    wipe(dir);
    fs_mkdir_p(dir, 0755);
    snprintf(blocks, sizeof blocks, "%s/blocks", dir);
    snprintf(dbpath, sizeof dbpath, "%s/lester.db", dir);
    db_t *db = NULL;
    blockstore_t *bs = NULL;
    blockstore_config_t cfg = {.sync = sync};
    if (db_open(dbpath, content_migrations, content_migrations_len, &db, NULL) < 0 ||
        blockstore_open(blocks, db, &cfg, &bs, NULL) < 0)
        abort();
    uint64_t t0 = clock_mono_us();
    if (batch)
        blockstore_batch_begin(bs);
    for (size_t i = 0; i < r->n; i++) {
        fill(r, i);
        if (blockstore_put(bs, &r->cids[i], r->block, BLOCK) < 0)
            abort();
    }
    if (batch && blockstore_batch_commit(bs) < 0)
        abort();
    report("put", name, r->n, r->n * BLOCK, clock_mono_us() - t0);
    if (gets)
        bench_gets(r, bs);
    blockstore_free(bs);
    db_free(db);
    wipe(dir);
}

/* The index alone: rows keyed by rowid + UNIQUE multihash, 1000 per transaction. */
static void
bench_index(run_t *r, size_t rows)
{
    char dbpath[600];
    snprintf(dbpath, sizeof dbpath, "%s/bsbench-index.db", r->root);
    unlink(dbpath);
    db_t *db = NULL;
    if (db_open(dbpath, content_migrations, content_migrations_len, &db, NULL) < 0)
        abort();
    blockstore_t fake = {.db = db};
    uint64_t t0 = clock_mono_us();
    for (size_t i = 0; i < rows; i++) {
        if (i % 1000 == 0 && (i == 0 || db_commit(db) == 0) && db_begin(db) < 0)
            abort();
        bs_pending_t p = {{MULTIHASH_SHA2_256, 32, {0}}, CID_CODEC_RAW, BLOCK, 0};
        random_bytes(p.mh.digest, 32);
        if (bs_row_store(&fake, &p, 0) < 0)
            abort();
    }
    db_commit(db);
    uint64_t us = clock_mono_us() - t0;
    printf("index insert %zu rows %.0f rows/s\n", rows, (double)rows / ((double)us / 1e6));
    db_free(db);
    unlink(dbpath);
}

int
main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
    run_t r = {argc > 2 ? argv[2] : "/tmp", mib * 4, NULL, ls_malloc(BLOCK)};
    random_bytes(r.block, BLOCK);
    r.cids = ls_calloc(r.n, sizeof *r.cids);
    uint64_t t0 = clock_mono_us();
    for (size_t i = 0; i < r.n; i++) {
        fill(&r, i);
        cid_v1_sha256(&r.cids[i], CID_CODEC_RAW, r.block, BLOCK);
    }
    report("hash", "sha256_only", r.n, r.n * BLOCK, clock_mono_us() - t0);

    bench_files(&r, "files_only_nosync_then_syncfs", false);
    bench_files(&r, "files_only_fsync_each", true);
    bench_store(&r, "index_batch_syncfs (default for add)", BLOCKSTORE_SYNC_BATCH, true, true);
    bench_store(&r, "index_batch_nosync", BLOCKSTORE_SYNC_NONE, true, false);
    bench_store(&r, "index_batch_fsync_each", BLOCKSTORE_SYNC_EACH, true, false);
    bench_store(&r, "index_single_puts_fsync_each", BLOCKSTORE_SYNC_BATCH, false, false);
    bench_index(&r, 100000);
    free(r.cids);
    free(r.block);
    return 0;
}
