#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "content/crypt/crypt.h"
#include "lib/buf/buf.h"
#include "lib/err/err.h"

/* argon2id at libsodium's minimum cost: the format is the same, the tests fast */
static const crypt_params_t cheap = {1, 8192, 64};
static const crypt_params_t cheap_big_chunk = {1, 8192, CRYPT_CHUNK_DEFAULT};

static int
to_buf(void *ctx, const uint8_t *p, size_t len)
{
    return buf_append(ctx, p, len);
}

static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

/* Encrypt `n` bytes, fed in pieces of `step` bytes. */
static void
encrypt(const crypt_params_t *pr, const char *pass, const uint8_t *p, size_t n, size_t step,
        buf_t *out)
{
    crypt_enc_t *e = NULL;
    assert_int_equal(crypt_enc_new(pass, pr, to_buf, out, &e), 0);
    for (size_t off = 0; off < n; off += step)
        assert_int_equal(crypt_enc_write(e, p + off, LS_MIN(step, n - off)), 0);
    assert_int_equal(crypt_enc_finish(e), 0);
    assert_int_equal(crypt_enc_finish(e), LS_ECLOSED);
    crypt_enc_free(e);
    assert_null(e);
}

/* Decrypt in pieces of `step`; the first error of write or finish, else 0. */
static int
decrypt(const char *pass, const uint8_t *p, size_t n, size_t step, buf_t *out)
{
    crypt_dec_t *d = crypt_dec_new(pass, NULL, to_buf, out);
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < n; off += step)
        rc = crypt_dec_write(d, p + off, LS_MIN(step, n - off));
    if (rc == 0)
        rc = crypt_dec_finish(d);
    if (rc < 0)
        assert_true(crypt_dec_error(d)[0] != '\0');
    crypt_dec_free(d);
    return rc;
}

static void
round_trip(const crypt_params_t *pr, size_t n, size_t step)
{
    uint8_t *plain = ls_malloc(n ? n : 1);
    fill(plain, n, (uint32_t)n);
    buf_t ct = BUF_INIT(BUF_UNLIMITED), back = BUF_INIT(BUF_UNLIMITED);
    encrypt(pr, "correct horse", plain, n, step, &ct);
    assert_int_equal(ct.len, crypt_ciphertext_len(n, pr->chunk));
    assert_true(crypt_is_encrypted(ct.data, ct.len));
    assert_memory_equal(ct.data, CRYPT_MAGIC, CRYPT_MAGIC_LEN);
    assert_int_equal(decrypt("correct horse", ct.data, ct.len, step + 3, &back), 0);
    assert_int_equal(back.len, n);
    if (n)
        assert_memory_equal(back.data, plain, n);
    buf_free(&ct);
    buf_free(&back);
    free(plain);
}

static void
test_crypt_round_trip_sizes(void **state)
{
    (void)state;
    static const size_t small[] = {0, 1, 63, 64, 65, 127, 128, 129, 1000};
    for (size_t i = 0; i < LS_ARRAY_LEN(small); i++) {
        round_trip(&cheap, small[i], 1);
        round_trip(&cheap, small[i], 64);
        round_trip(&cheap, small[i], 1000);
    }
    static const size_t big[] = {0,
                                 1,
                                 CRYPT_CHUNK_DEFAULT - 1,
                                 CRYPT_CHUNK_DEFAULT,
                                 CRYPT_CHUNK_DEFAULT + 1,
                                 3 * CRYPT_CHUNK_DEFAULT};
    for (size_t i = 0; i < LS_ARRAY_LEN(big); i++)
        round_trip(&cheap_big_chunk, big[i], 4096);
}

static void
test_crypt_round_trip_10mib(void **state)
{
    (void)state;
    round_trip(&cheap_big_chunk, 10u << 20, 256u << 10);
}

static void
test_crypt_two_files_differ(void **state)
{
    (void)state;
    buf_t a = BUF_INIT(BUF_UNLIMITED), b = BUF_INIT(BUF_UNLIMITED);
    encrypt(&cheap, "pw", (const uint8_t *)"same", 4, 4, &a);
    encrypt(&cheap, "pw", (const uint8_t *)"same", 4, 4, &b);
    assert_int_equal(a.len, b.len);
    /* fresh salt and stream header per file */
    assert_true(memcmp(a.data, b.data, a.len) != 0);
    buf_free(&a);
    buf_free(&b);
}

static void
test_crypt_wrong_passphrase(void **state)
{
    (void)state;
    uint8_t plain[300];
    fill(plain, sizeof plain, 7);
    buf_t ct = BUF_INIT(BUF_UNLIMITED), back = BUF_INIT(BUF_UNLIMITED);
    encrypt(&cheap, "right", plain, sizeof plain, 100, &ct);
    assert_int_equal(decrypt("wrong", ct.data, ct.len, ct.len, &back), LS_EPASSPHRASE);
    assert_int_equal(decrypt("", ct.data, ct.len, 5, &back), LS_EPASSPHRASE);
    assert_int_equal(back.len, 0); /* nothing released */
    buf_free(&ct);
    buf_free(&back);
}

static void
test_crypt_every_tamper_detected(void **state)
{
    (void)state;
    uint8_t plain[200];
    fill(plain, sizeof plain, 9);
    buf_t ct = BUF_INIT(BUF_UNLIMITED);
    encrypt(&cheap, "pw", plain, sizeof plain, 37, &ct);
    for (size_t i = 0; i < ct.len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            buf_t back = BUF_INIT(BUF_UNLIMITED);
            ct.data[i] ^= (uint8_t)(1u << bit);
            int rc = decrypt("pw", ct.data, ct.len, 50, &back);
            ct.data[i] ^= (uint8_t)(1u << bit);
            if (rc == 0)
                fail_msg("flipping bit %d of byte %zu went unnoticed", bit, i);
            /* whatever was released before the damage is a true prefix */
            assert_true(back.len < sizeof plain);
            if (back.len)
                assert_memory_equal(back.data, plain, back.len);
            buf_free(&back);
        }
    }
    buf_free(&ct);
}

static void
test_crypt_truncation_and_trailing_bytes(void **state)
{
    (void)state;
    uint8_t plain[256]; /* exactly four 64-byte chunks: the last full one is FINAL */
    fill(plain, sizeof plain, 11);
    buf_t ct = BUF_INIT(BUF_UNLIMITED);
    encrypt(&cheap, "pw", plain, sizeof plain, sizeof plain, &ct);
    for (size_t n = 0; n < ct.len; n++) {
        buf_t back = BUF_INIT(BUF_UNLIMITED);
        int rc = decrypt("pw", ct.data, n, 64, &back);
        if (rc == 0)
            fail_msg("a stream cut at %zu of %zu bytes was accepted", n, ct.len);
        buf_free(&back);
    }
    buf_t back = BUF_INIT(BUF_UNLIMITED);
    buf_append(&ct, (const uint8_t *)"x", 1);
    assert_int_equal(decrypt("pw", ct.data, ct.len, 7, &back), LS_ECORRUPT);
    buf_free(&back);
    buf_free(&ct);
}

/* Dropping or repeating a whole message is caught by secretstream's chaining. */
static void
test_crypt_reordered_messages(void **state)
{
    (void)state;
    uint8_t plain[64 * 3 + 10];
    fill(plain, sizeof plain, 13);
    buf_t ct = BUF_INIT(BUF_UNLIMITED), back = BUF_INIT(BUF_UNLIMITED);
    encrypt(&cheap, "pw", plain, sizeof plain, 1, &ct);
    size_t m = 64 + CRYPT_ABYTES, m1 = CRYPT_HEADER_LEN + m, m2 = m1 + m;
    buf_t cut = BUF_INIT(BUF_UNLIMITED);
    buf_append(&cut, ct.data, m1);               /* header + message 0 */
    buf_append(&cut, ct.data + m2, ct.len - m2); /* skip message 1 */
    assert_int_equal(decrypt("pw", cut.data, cut.len, 99, &back), LS_ECORRUPT);
    buf_clear(&cut);
    buf_append(&cut, ct.data, m2);
    buf_append(&cut, ct.data + m1, ct.len - m1); /* message 1 twice */
    assert_int_not_equal(decrypt("pw", cut.data, cut.len, 99, &back), 0);
    buf_free(&cut);
    buf_free(&back);
    buf_free(&ct);
}

static void
header_bytes(uint8_t h[CRYPT_HEADER_LEN], const crypt_params_t *pr)
{
    buf_t ct = BUF_INIT(BUF_UNLIMITED);
    encrypt(pr, "pw", NULL, 0, 1, &ct);
    memcpy(h, ct.data, CRYPT_HEADER_LEN);
    buf_free(&ct);
}

static void
put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void
test_crypt_header_parse_bounds(void **state)
{
    (void)state;
    uint8_t h[CRYPT_HEADER_LEN], x[CRYPT_HEADER_LEN];
    crypt_header_t out;
    header_bytes(h, &cheap);
    assert_int_equal(crypt_header_parse(h, sizeof h, NULL, &out), 0);
    assert_int_equal(out.params.opslimit, 1);
    assert_int_equal(out.params.memlimit, 8192);
    assert_int_equal(out.params.chunk, 64);
    for (size_t n = 0; n < sizeof h; n++)
        assert_int_equal(crypt_header_parse(h, n, NULL, &out), LS_EAGAIN);
    assert_int_equal(crypt_header_parse((const uint8_t *)"LSX", 3, NULL, &out), LS_EINVAL);
    assert_false(crypt_is_encrypted(h, CRYPT_MAGIC_LEN - 1));
    memcpy(x, h, sizeof x), x[5] = 2; /* version 2 */
    assert_int_equal(crypt_header_parse(x, 6, NULL, &out), LS_ENOTSUP);
    memcpy(x, h, sizeof x), x[6] = 2; /* another algorithm */
    assert_int_equal(crypt_header_parse(x, sizeof x, NULL, &out), LS_ENOTSUP);
    memcpy(x, h, sizeof x), x[7] = 1; /* reserved */
    assert_int_equal(crypt_header_parse(x, sizeof x, NULL, &out), LS_ECORRUPT);
    memcpy(x, h, sizeof x), put_be32(x + 8, 0); /* opslimit 0 */
    assert_int_equal(crypt_header_parse(x, sizeof x, NULL, &out), LS_ECORRUPT);
    memcpy(x, h, sizeof x), put_be32(x + 8, CRYPT_OPSLIMIT_MAX + 1);
    assert_int_equal(crypt_header_parse(x, sizeof x, NULL, &out), LS_ETOOBIG);
    memcpy(x, h, sizeof x), put_be32(x + 16, 8193); /* memlimit not whole KiB */
    assert_int_equal(crypt_header_parse(x, sizeof x, NULL, &out), LS_ECORRUPT);
    memcpy(x, h, sizeof x), x[12] = 0xff; /* memlimit huge */
    assert_int_equal(crypt_header_parse(x, sizeof x, NULL, &out), LS_ETOOBIG);
    memcpy(x, h, sizeof x), put_be32(x + 20, 0); /* chunk 0 */
    assert_int_equal(crypt_header_parse(x, sizeof x, NULL, &out), LS_ECORRUPT);
    memcpy(x, h, sizeof x), put_be32(x + 20, CRYPT_CHUNK_MAX + 1);
    assert_int_equal(crypt_header_parse(x, sizeof x, NULL, &out), LS_ETOOBIG);
    crypt_params_t low = {1, 8192, 32}; /* a reader's own, tighter bounds */
    assert_int_equal(crypt_header_parse(h, sizeof h, &low, &out), LS_ETOOBIG);
}

static void
test_crypt_not_encrypted(void **state)
{
    (void)state;
    buf_t back = BUF_INIT(BUF_UNLIMITED);
    static const uint8_t plain[] = "just a plain file, not encrypted at all, long enough";
    assert_int_equal(decrypt("pw", plain, sizeof plain, 3, &back), LS_EINVAL);
    assert_int_equal(decrypt("pw", plain, 0, 1, &back), LS_EINVAL);
    buf_free(&back);
}

static int
failing_sink(void *ctx, const uint8_t *p, size_t len)
{
    (void)ctx;
    (void)p;
    (void)len;
    return -ENOSPC;
}

static void
test_crypt_bad_arguments_and_sink_errors(void **state)
{
    (void)state;
    crypt_enc_t *e = NULL;
    buf_t ct = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(crypt_enc_new("", &cheap, to_buf, &ct, &e), LS_EINVAL);
    assert_null(e);
    crypt_params_t bad = {1, 8192, 0};
    assert_int_equal(crypt_enc_new("pw", &bad, to_buf, &ct, &e), LS_EINVAL);
    assert_int_equal(crypt_enc_new("pw", &cheap, failing_sink, NULL, &e), 0);
    uint8_t p[200] = {0};
    assert_int_equal(crypt_enc_write(e, p, sizeof p), -ENOSPC);
    assert_int_equal(crypt_enc_write(e, p, 1), -ENOSPC);
    assert_int_equal(crypt_enc_finish(e), -ENOSPC);
    crypt_enc_free(e);
    encrypt(&cheap, "pw", p, sizeof p, 10, &ct);
    crypt_dec_t *d = crypt_dec_new("pw", NULL, failing_sink, NULL);
    assert_int_equal(crypt_dec_write(d, ct.data, ct.len), -ENOSPC);
    assert_int_equal(crypt_dec_finish(d), -ENOSPC);
    crypt_dec_free(d);
    buf_free(&ct);
}

/* add -r --encrypt: one derived key, many files; each still decrypts with the
 * passphrase alone and no two streams share a header (nonce). */
static void
test_crypt_one_key_many_files(void **state)
{
    (void)state;
    crypt_key_t *k = NULL;
    assert_int_equal(crypt_key_derive("", &cheap, &k), LS_EINVAL);
    assert_int_equal(crypt_key_derive("pw", &cheap, &k), 0);
    buf_t ct[2] = {BUF_INIT(BUF_UNLIMITED), BUF_INIT(BUF_UNLIMITED)};
    for (int i = 0; i < 2; i++) {
        crypt_enc_t *e = crypt_enc_new_key(k, to_buf, &ct[i]);
        assert_int_equal(crypt_enc_write(e, (const uint8_t *)"same bytes", 10), 0);
        assert_int_equal(crypt_enc_finish(e), 0);
        crypt_enc_free(e);
    }
    crypt_key_free(k);
    assert_null(k);
    assert_memory_equal(ct[0].data + 24, ct[1].data + 24, 16);      /* one salt */
    assert_true(memcmp(ct[0].data + 40, ct[1].data + 40, 24) != 0); /* two headers */
    /* a decoder cache derives once for both (the cached key object is kept) */
    crypt_key_t *cache = NULL, *first = NULL;
    for (int i = 0; i < 2; i++) {
        buf_t back = BUF_INIT(BUF_UNLIMITED);
        crypt_dec_t *d = crypt_dec_new("pw", NULL, to_buf, &back);
        crypt_dec_use_cache(d, &cache);
        assert_int_equal(crypt_dec_write(d, ct[i].data, ct[i].len), 0);
        assert_int_equal(crypt_dec_finish(d), 0);
        crypt_dec_free(d);
        assert_non_null(cache);
        if (i == 0)
            first = cache;
        assert_ptr_equal(cache, first);
        assert_int_equal(back.len, 10);
        buf_free(&back);
    }
    crypt_key_free(cache);
    for (int i = 0; i < 2; i++) {
        buf_t back = BUF_INIT(BUF_UNLIMITED);
        assert_int_equal(decrypt("pw", ct[i].data, ct[i].len, 7, &back), 0);
        assert_int_equal(back.len, 10);
        assert_memory_equal(back.data, "same bytes", 10);
        buf_free(&back);
        buf_free(&ct[i]);
    }
}

/* A key derived ahead from the stream's header (as the daemon does on a worker) is
 * used by the decoder's cache instead of argon2id; a wrong passphrase still shows as
 * LS_EPASSPHRASE at the first message. */
static void
test_crypt_key_derive_for_header(void **state)
{
    (void)state;
    uint8_t p[300];
    fill(p, sizeof p, 9);
    buf_t ct = BUF_INIT(BUF_UNLIMITED);
    encrypt(&cheap, "pw", p, sizeof p, 33, &ct);
    crypt_header_t h;
    assert_int_equal(crypt_header_parse(ct.data, ct.len, NULL, &h), 0);
    crypt_key_t *k = NULL;
    assert_int_equal(crypt_key_derive_for("", &h, &k), LS_EINVAL);
    assert_null(k);
    for (int wrong = 0; wrong < 2; wrong++) {
        assert_int_equal(crypt_key_derive_for(wrong ? "not pw" : "pw", &h, &k), 0);
        crypt_key_t *cache = k;
        k = NULL;
        buf_t back = BUF_INIT(BUF_UNLIMITED);
        /* the decoder's own passphrase is never used: the cached key matches */
        crypt_dec_t *d = crypt_dec_new("unused", NULL, to_buf, &back);
        crypt_dec_use_cache(d, &cache);
        int rc = crypt_dec_write(d, ct.data, ct.len);
        if (rc == 0)
            rc = crypt_dec_finish(d);
        assert_int_equal(rc, wrong ? LS_EPASSPHRASE : 0);
        crypt_dec_free(d);
        if (!wrong) {
            assert_int_equal(back.len, sizeof p);
            assert_memory_equal(back.data, p, sizeof p);
        }
        crypt_key_free(cache);
        buf_free(&back);
    }
    buf_free(&ct);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crypt_round_trip_sizes),
        cmocka_unit_test(test_crypt_round_trip_10mib),
        cmocka_unit_test(test_crypt_two_files_differ),
        cmocka_unit_test(test_crypt_wrong_passphrase),
        cmocka_unit_test(test_crypt_every_tamper_detected),
        cmocka_unit_test(test_crypt_truncation_and_trailing_bytes),
        cmocka_unit_test(test_crypt_reordered_messages),
        cmocka_unit_test(test_crypt_header_parse_bounds),
        cmocka_unit_test(test_crypt_not_encrypted),
        cmocka_unit_test(test_crypt_bad_arguments_and_sink_errors),
        cmocka_unit_test(test_crypt_one_key_many_files),
        cmocka_unit_test(test_crypt_key_derive_for_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
