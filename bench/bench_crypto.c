/* bench_crypto — Lester's crypto wrappers side by side with the library underneath, in
 * the same process and the same run (ANCHORS.md: "always measure Lester side by side
 * with the anchor ... reporting the ratio").
 *
 *   bench_crypto [SECONDS [ONLY]]   SECONDS per measurement (default 2), split into
 *                              slices that alternate between the two sides; each side
 *                              reports the median slice, so a noisy neighbour hurts both
 *                              alike. ONLY (e.g. "sha256" or "verify,sign") picks the
 *                              measurements whose names contain one of its words.
 *
 * Output, one line per measurement, parsed by scripts/bench.sh:
 *   ed25519_verify lester=17400/s libsodium=17500/s ratio=0.99
 *   ed25519_sign lester=50000/s libsodium=50100/s ratio=1.00
 *   sha256_256k lester=1.52GB/s evp=1.53GB/s ratio=0.99        (GB = 10^9 bytes)
 *
 * Rates are per second of CPU time of the benchmarking thread, as `openssl speed`
 * reports by default (user CPU time), so that other work on a shared machine distorts
 * them less than wall-clock rates would. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "bench_util.h"
#include "lib/crypto/ed25519.h"
#include "lib/crypto/random.h"
#include "lib/crypto/sha256.h"
#include "lib/mem/mem.h"

#define SLICES 7
#define BATCH 32              /* operations between clock reads */
#define MSG_LEN 128           /* about one small signed record */
#define HASH_LEN (256 * 1024) /* one content block */

typedef struct fixture_t {
    ed25519_keypair_t kp;
    uint8_t msg[MSG_LEN];
    uint8_t sig[ED25519_SIG_LEN];
    uint8_t *block;
    EVP_MD *md; /* fetched once, as lib/crypto/sha256.c does */
} fixture_t;

/* One batch of work; returns a value that depends on the work so it is not elided. */
typedef unsigned (*work_fn)(fixture_t *f);

static volatile unsigned sink;

static unsigned
verify_lester(fixture_t *f)
{
    unsigned ok = 0;
    for (int i = 0; i < BATCH; i++)
        ok += ed25519_verify(f->sig, f->msg, sizeof f->msg, f->kp.pk);
    return ok;
}

static unsigned
verify_sodium(fixture_t *f)
{
    unsigned ok = 0;
    for (int i = 0; i < BATCH; i++)
        ok += crypto_sign_verify_detached(f->sig, f->msg, sizeof f->msg, f->kp.pk) == 0;
    return ok;
}

static unsigned
sign_lester(fixture_t *f)
{
    uint8_t sig[ED25519_SIG_LEN];
    for (int i = 0; i < BATCH; i++)
        ed25519_sign(sig, f->msg, sizeof f->msg, &f->kp);
    return sig[0];
}

static unsigned
sign_sodium(fixture_t *f)
{
    uint8_t sig[ED25519_SIG_LEN];
    for (int i = 0; i < BATCH; i++)
        crypto_sign_detached(sig, NULL, f->msg, sizeof f->msg, f->kp.sk);
    return sig[0];
}

static unsigned
sha256_lester(fixture_t *f)
{
    uint8_t out[LS_SHA256_LEN];
    sha256(out, f->block, HASH_LEN);
    return out[0];
}

static unsigned
sha256_evp(fixture_t *f)
{
    uint8_t out[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_Digest(f->block, HASH_LEN, out, &n, f->md, NULL) != 1)
        abort();
    return out[0];
}

/* CPU time used by this thread, in nanoseconds. */
static uint64_t
cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Run `fn` for about `us` microseconds of CPU time; batches per CPU second. */
static double
slice(work_fn fn, fixture_t *f, uint64_t us)
{
    uint64_t start = cpu_ns(), now;
    unsigned long batches = 0;
    do {
        sink += fn(f);
        batches++;
        now = cpu_ns();
    } while (now - start < us * 1000);
    return (double)batches * 1e9 / (double)(now - start);
}

/* Alternate slices of `a` and `b` for `seconds` in total; medians in batches/s. */
static void
measure(work_fn a, work_fn b, fixture_t *f, double seconds, double *ra, double *rb)
{
    double sa[SLICES], sb[SLICES];
    uint64_t us = (uint64_t)(seconds * 1e6 / (2 * SLICES));

    slice(a, f, us / 4); /* warm caches and lazy initialisation */
    slice(b, f, us / 4);
    for (int i = 0; i < SLICES; i++) {
        sa[i] = slice(a, f, us);
        sb[i] = slice(b, f, us);
    }
    qsort(sa, SLICES, sizeof sa[0], bench_cmp_double);
    qsort(sb, SLICES, sizeof sb[0], bench_cmp_double);
    *ra = sa[SLICES / 2];
    *rb = sb[SLICES / 2];
}

static void
report_ops(const char *name, const char *other, work_fn a, work_fn b, fixture_t *f, double seconds)
{
    double ra, rb;
    measure(a, b, f, seconds, &ra, &rb);
    printf("%s lester=%.0f/s %s=%.0f/s ratio=%.2f\n", name, ra * BATCH, other, rb * BATCH, ra / rb);
    fflush(stdout);
}

static void
report_hash(fixture_t *f, double seconds)
{
    double ra, rb;
    measure(sha256_lester, sha256_evp, f, seconds, &ra, &rb);
    printf("sha256_256k lester=%.2fGB/s evp=%.2fGB/s ratio=%.2f\n", ra * HASH_LEN / 1e9,
           rb * HASH_LEN / 1e9, ra / rb);
    fflush(stdout);
}

/* True if measurement `name` was asked for (all are, without an ONLY argument). */
static bool
wanted(const char *only, const char *name)
{
    char words[128];
    char *save = NULL;

    if (!only)
        return true;
    snprintf(words, sizeof words, "%s", only);
    for (char *w = strtok_r(words, ",", &save); w; w = strtok_r(NULL, ",", &save))
        if (*w && strstr(name, w))
            return true;
    return false;
}

int
main(int argc, char **argv)
{
    double seconds = argc > 1 ? strtod(argv[1], NULL) : 2.0;
    const char *only = argc > 2 ? argv[2] : NULL;
    fixture_t f;

    if (seconds <= 0) {
        fprintf(stderr, "usage: %s [SECONDS per measurement [ONLY]]\n", argv[0]);
        return 2;
    }
    ls_crypto_init();
    ed25519_keypair_generate(&f.kp);
    random_bytes(f.msg, sizeof f.msg);
    ed25519_sign(f.sig, f.msg, sizeof f.msg, &f.kp);
    f.block = ls_malloc(HASH_LEN);
    random_bytes(f.block, HASH_LEN);
    f.md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!f.md)
        abort();

    if (wanted(only, "ed25519_verify"))
        report_ops("ed25519_verify", "libsodium", verify_lester, verify_sodium, &f, seconds);
    if (wanted(only, "ed25519_sign"))
        report_ops("ed25519_sign", "libsodium", sign_lester, sign_sodium, &f, seconds);
    if (wanted(only, "sha256_256k"))
        report_hash(&f, seconds);
    ed25519_keypair_wipe(&f.kp);
    free(f.block);
    EVP_MD_free(f.md);
    return 0;
}
