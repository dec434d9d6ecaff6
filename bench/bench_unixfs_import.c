/* bench_unixfs_import — `lester add` of one big file (UnixFS import: chunk, hash
 * each chunk once, build the balanced DAG) beside `openssl sha256` over the same
 * file, in the same run (issue 6 goal: at least 80% of openssl's speed).
 *
 *   bench_unixfs_import [MIB [FILE]]  import a MIB-MiB file (default 1024; written
 *                                     once as pseudo-random bytes to FILE, default
 *                                     /tmp/lester-bench-unixfs-<MIB>.bin) RUNS times
 *                                     (env, default 3), alternating with openssl
 *   bench_unixfs_import --cid PATH [CHUNK [MAX_LINKS]]
 *                                     print the root CID of a file or directory,
 *                                     as `lester add [-r]` will (used by
 *                                     tests/interop/test_cid_compat.py)
 *
 * Output (scripts/bench.sh style; MB = 10^6 bytes, wall clock, page cache warm):
 *   unixfs_import_1024m lester=1480MB/s openssl=1510MB/s ratio=0.98 blocks=4101
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "content/unixfs/unixfs.h"
#include "lib/err/err.h"

extern char **environ;

static int
count_block(void *ctx, const cid_t *cid, const uint8_t *block, size_t len)
{
    (void)cid;
    (void)block;
    (void)len;
    (*(uint64_t *)ctx)++;
    return 0;
}

static int
print_cid(const char *path, int argc, char **argv)
{
    unixfs_params_t p = {0};
    unixfs_result_t r;
    uint64_t blocks = 0;
    buf_t s = BUF_INIT(CID_MAX_STRING);
    int rc;

    if (argc > 0)
        p.chunk_size = strtoul(argv[0], NULL, 10);
    if (argc > 1)
        p.max_links = strtoul(argv[1], NULL, 10);
    if (argc > 2) /* helia's shardSplitThresholdBytes */
        p.shard_threshold = strtoul(argv[2], NULL, 10);
    rc = unixfs_add_path(path, &p, count_block, &blocks, &r);
    if (rc < 0 || cid_to_string(&r.cid, &s) < 0) {
        fprintf(stderr, "bench_unixfs_import: %s: %s\n", path, ls_strerror(rc));
        return 1;
    }
    printf("%s\n", buf_cstr(&s));
    buf_free(&s);
    return 0;
}

/* Write `mib` MiB of xorshift64 output to `path` unless a file of that size exists. */
static int
make_file(const char *path, uint64_t mib)
{
    struct stat st;
    uint64_t x = 0x9e3779b97f4a7c15ULL, *blk;
    size_t n = 1 << 20;
    FILE *f;

    if (stat(path, &st) == 0 && (uint64_t)st.st_size == mib << 20)
        return 0;
    if (!(f = fopen(path, "wb")))
        return -1;
    blk = malloc(n);
    for (uint64_t m = 0; m < mib; m++) {
        for (size_t i = 0; i < n / 8; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            blk[i] = x;
        }
        fwrite(blk, 1, n, f);
    }
    free(blk);
    return fclose(f) == 0 ? 0 : -1;
}

static double
time_openssl(const char *path)
{
    char *argv[] = {"openssl", "sha256", (char *)path, NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status;
    double t0 = bench_now_s();

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&pid, "openssl", &fa, NULL, argv, environ) != 0)
        return -1;
    posix_spawn_file_actions_destroy(&fa);
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return bench_now_s() - t0;
}

static double
time_lester(const char *path, uint64_t *blocks)
{
    unixfs_result_t r;
    double t0 = bench_now_s();

    *blocks = 0;
    if (unixfs_add_path(path, NULL, count_block, blocks, &r) < 0)
        return -1;
    return bench_now_s() - t0;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
    uint64_t mib = 1024, blocks = 0;
    char path[256];
    const char *env = getenv("RUNS");
    int runs = env ? (int)strtol(env, NULL, 10) : 3;
    double tl[16], to[16], bytes;

    if (argc >= 3 && strcmp(argv[1], "--cid") == 0)
        return print_cid(argv[2], argc - 3, argv + 3);
    if (argc > 1)
        mib = strtoull(argv[1], NULL, 10);
    snprintf(path, sizeof path, "/tmp/lester-bench-unixfs-%llu.bin", (unsigned long long)mib);
    if (argc > 2)
        snprintf(path, sizeof path, "%s", argv[2]);
    if (runs < 1 || runs > 16 || mib == 0 || make_file(path, mib) < 0) {
        fprintf(stderr, "usage: bench_unixfs_import [MIB [FILE]] | --cid PATH\n");
        return 2;
    }
    time_openssl(path); /* warm the page cache */
    for (int i = 0; i < runs; i++) {
        tl[i] = time_lester(path, &blocks);
        to[i] = time_openssl(path);
        if (tl[i] < 0 || to[i] < 0) {
            fprintf(stderr, "bench_unixfs_import: run failed\n");
            return 1;
        }
    }
    qsort(tl, (size_t)runs, sizeof tl[0], cmp_double);
    qsort(to, (size_t)runs, sizeof to[0], cmp_double);
    bytes = (double)(mib << 20);
    printf("unixfs_import_%llum lester=%.0fMB/s openssl=%.0fMB/s ratio=%.2f blocks=%llu\n",
           (unsigned long long)mib, bytes / tl[runs / 2] / 1e6, bytes / to[runs / 2] / 1e6,
           to[runs / 2] / tl[runs / 2], (unsigned long long)blocks);
    return 0;
}
