/* bench_noise — libp2p Noise (net/noise) side by side with what it is built from, in the
 * same process and run (ANCHORS.md):
 *
 *   noise_transport  noise_encrypt() + noise_decrypt() of 64 KiB writes (two frames
 *                    each: 65519 + 17 bytes) against one raw OpenSSL EVP
 *                    ChaCha20-Poly1305 seal + open of 64 KiB with kept contexts;
 *   noise_handshake  a full XX handshake, both sides in this process, against the
 *                    bare libsodium primitives it needs (4 X25519 key generations,
 *                    6 X25519, 2 Ed25519 signatures, 2 verifications).
 *
 *   bench_noise [SECONDS [ONLY]]   SECONDS per measurement (default 2), in slices that
 *                                  alternate between the two sides; each reports its
 *                                  median slice. ONLY picks measurements by name.
 *
 * Output (GB = 10^9 bytes; each byte is encrypted once and decrypted once):
 *   noise_transport lester=1.95GB/s evp=2.05GB/s ratio=0.95
 *   noise_handshake lester=2100/s primitives=2300/s ratio=0.91 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "bench_util.h"
#include "lib/buf/buf.h"
#include "lib/clock/clock.h"
#include "lib/crypto/ed25519.h"
#include "lib/crypto/random.h"
#include "lib/err/err.h"
#include "lib/mem/mem.h"
#include "net/noise/noise.h"

#define SLICES 7
#define WRITE_LEN (64 * 1024)

typedef struct fixture_t {
    ed25519_keypair_t ida, idb;
    noise_t *a, *b; /* an established session, a -> b */
    uint8_t *data;
    buf_t wire, plain;
    EVP_CIPHER_CTX *enc, *dec; /* raw EVP, keyed once like lib/crypto/aead.c */
    uint8_t *ct;
    uint64_t nonce;
    uint8_t sig[64], msg[56], dh_pk[32], dh_sk[32];
} fixture_t;

typedef unsigned (*work_fn)(fixture_t *f);

static volatile unsigned sink;

static void
check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "bench_noise: %s failed\n", what);
        exit(1);
    }
}

/* Pass whatever `from` owes to `to`; 0 or an error. */
static int
pass(noise_t *from, noise_t *to, buf_t *wire)
{
    size_t used;
    int rc;

    buf_clear(wire);
    if ((rc = noise_output(from, wire)) < 0)
        return rc;
    return noise_input(to, wire->data, wire->len, &used);
}

/* The three XX messages between fresh sides; 0 or an error. */
static int
handshake(noise_t *a, noise_t *b)
{
    buf_t wire = BUF_INIT(BUF_UNLIMITED);
    int rc;

    if ((rc = pass(a, b, &wire)) == 0 && (rc = pass(b, a, &wire)) == 0)
        rc = pass(a, b, &wire);
    buf_free(&wire);
    if (rc == 0 && !(noise_is_done(a) && noise_is_done(b)))
        rc = LS_EPROTO;
    return rc;
}

static unsigned
transport_lester(fixture_t *f)
{
    size_t used;

    buf_clear(&f->wire);
    buf_clear(&f->plain);
    check(noise_encrypt(f->a, f->data, WRITE_LEN, &f->wire) == 0, "noise_encrypt");
    check(noise_decrypt(f->b, f->wire.data, f->wire.len, &used, &f->plain) == 0 &&
              used == f->wire.len && f->plain.len == WRITE_LEN,
          "noise_decrypt");
    return f->plain.data[WRITE_LEN - 1];
}

static unsigned
transport_evp(fixture_t *f)
{
    uint8_t iv[12] = {0}, tag[16];
    int outl;

    memcpy(iv + 4, &f->nonce, 8);
    f->nonce++;
    check(EVP_EncryptInit_ex2(f->enc, NULL, NULL, iv, NULL) == 1 &&
              EVP_EncryptUpdate(f->enc, f->ct, &outl, f->data, WRITE_LEN) == 1 &&
              EVP_EncryptFinal_ex(f->enc, f->ct + WRITE_LEN, &outl) == 1 &&
              EVP_CIPHER_CTX_ctrl(f->enc, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1,
          "EVP seal");
    check(EVP_DecryptInit_ex2(f->dec, NULL, NULL, iv, NULL) == 1 &&
              EVP_CIPHER_CTX_ctrl(f->dec, EVP_CTRL_AEAD_SET_TAG, 16, tag) == 1 &&
              EVP_DecryptUpdate(f->dec, f->plain.data, &outl, f->ct, WRITE_LEN) == 1 &&
              EVP_DecryptFinal_ex(f->dec, f->plain.data + WRITE_LEN, &outl) == 1,
          "EVP open");
    return f->plain.data[WRITE_LEN - 1];
}

static unsigned
handshake_lester(fixture_t *f)
{
    noise_t *a = noise_new(true, &f->ida, NULL), *b = noise_new(false, &f->idb, NULL);
    check(handshake(a, b) == 0, "handshake");
    unsigned v = noise_remote_peer(a)->bytes[5];
    noise_free(a);
    noise_free(b);
    return v;
}

/* What a handshake costs in primitives alone, both sides. */
static unsigned
handshake_primitives(fixture_t *f)
{
    uint8_t pk[32], shared[32], sig[64];
    unsigned v = 0;

    for (int i = 0; i < 4; i++) /* static and ephemeral key of each side */
        v += crypto_scalarmult_base(pk, f->dh_sk) + pk[0];
    for (int i = 0; i < 6; i++) /* ee, es, se on each side */
        v += crypto_scalarmult(shared, f->dh_sk, f->dh_pk) + shared[0];
    for (int i = 0; i < 2; i++) {
        crypto_sign_detached(sig, NULL, f->msg, sizeof f->msg, f->ida.sk);
        v += (unsigned)crypto_sign_verify_detached(f->sig, f->msg, sizeof f->msg, f->ida.pk);
    }
    return v;
}

static double
slice(work_fn fn, fixture_t *f, uint64_t us)
{
    uint64_t start = clock_mono_us(), now;
    unsigned long ops = 0;
    do {
        sink += fn(f);
        ops++;
        now = clock_mono_us();
    } while (now - start < us);
    return (double)ops * 1e6 / (double)(now - start);
}

static void
measure(work_fn a, work_fn b, fixture_t *f, double seconds, double *ra, double *rb)
{
    double sa[SLICES], sb[SLICES];
    uint64_t us = (uint64_t)(seconds * 1e6 / (2 * SLICES));

    slice(a, f, us / 4);
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

static void
setup(fixture_t *f)
{
    uint8_t key[32];

    memset(f, 0, sizeof *f);
    ls_crypto_init();
    ed25519_keypair_generate(&f->ida);
    ed25519_keypair_generate(&f->idb);
    f->a = noise_new(true, &f->ida, NULL);
    f->b = noise_new(false, &f->idb, NULL);
    check(handshake(f->a, f->b) == 0, "handshake");
    f->data = ls_malloc(WRITE_LEN);
    f->ct = ls_malloc(WRITE_LEN + 16);
    random_bytes(f->data, WRITE_LEN);
    buf_init(&f->wire, BUF_UNLIMITED);
    buf_init(&f->plain, BUF_UNLIMITED);
    check(buf_reserve(&f->plain, WRITE_LEN + 16) == 0, "reserve");
    random_bytes(key, sizeof key);
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    f->enc = EVP_CIPHER_CTX_new();
    f->dec = EVP_CIPHER_CTX_new();
    check(c && f->enc && f->dec && EVP_EncryptInit_ex2(f->enc, c, key, NULL, NULL) == 1 &&
              EVP_DecryptInit_ex2(f->dec, c, key, NULL, NULL) == 1,
          "EVP setup");
    EVP_CIPHER_free(c);
    random_bytes(f->msg, sizeof f->msg);
    ed25519_sign(f->sig, f->msg, sizeof f->msg, &f->ida);
    random_bytes(f->dh_sk, sizeof f->dh_sk);
    crypto_scalarmult_base(f->dh_pk, f->dh_sk);
}

int
main(int argc, char **argv)
{
    double seconds = argc > 1 ? strtod(argv[1], NULL) : 2.0, ra, rb;
    const char *only = argc > 2 ? argv[2] : NULL;
    fixture_t f;

    if (seconds <= 0) {
        fprintf(stderr, "usage: %s [SECONDS per measurement [ONLY]]\n", argv[0]);
        return 2;
    }
    setup(&f);
    if (wanted(only, "noise_transport")) {
        measure(transport_lester, transport_evp, &f, seconds, &ra, &rb);
        printf("noise_transport lester=%.2fGB/s evp=%.2fGB/s ratio=%.2f\n", ra * WRITE_LEN / 1e9,
               rb * WRITE_LEN / 1e9, ra / rb);
        fflush(stdout);
    }
    if (wanted(only, "noise_handshake")) {
        measure(handshake_lester, handshake_primitives, &f, seconds, &ra, &rb);
        printf("noise_handshake lester=%.0f/s primitives=%.0f/s ratio=%.2f\n", ra, rb, ra / rb);
        fflush(stdout);
    }
    noise_free(f.a);
    noise_free(f.b);
    EVP_CIPHER_CTX_free(f.enc);
    EVP_CIPHER_CTX_free(f.dec);
    free(f.data);
    free(f.ct);
    buf_free(&f.wire);
    buf_free(&f.plain);
    ed25519_keypair_wipe(&f.ida);
    ed25519_keypair_wipe(&f.idb);
    return 0;
}
