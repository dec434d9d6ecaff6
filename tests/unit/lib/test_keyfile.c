#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/buf/buf.h"
#include "lib/crypto/keyfile.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "lib/mem/mem.h"

/* RFC 8032 section 7.1, TEST 1. */
static const uint8_t rfc_seed[32] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
static const uint8_t rfc_pk[32] = {0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
                                   0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
                                   0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};

/* The cheapest argon2id libsodium accepts: keeps the corruption sweeps fast. */
static const keyfile_params_t cheap = {1, 8192};

static void
make_key(ed25519_keypair_t *kp)
{
    ed25519_keypair_from_seed(kp, rfc_seed);
}

static void
encode_cheap(const ed25519_keypair_t *kp, const char *pass, buf_t *out)
{
    assert_int_equal(keyfile_encode_params(kp, pass, &cheap, out), 0);
}

static bool
is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static void
test_keyfile_plain_known_answer(void **state)
{
    ed25519_keypair_t kp, back;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    uint8_t pk[32];

    (void)state;
    make_key(&kp);
    assert_memory_equal(kp.pk, rfc_pk, 32);
    assert_int_equal(keyfile_encode(&kp, NULL, &b), 0);
    assert_int_equal(b.len, KEYFILE_PLAIN_LEN);
    assert_memory_equal(b.data, "LSTKEY\x01\x00", 8);
    assert_memory_equal(b.data + 8, rfc_pk, 32);
    assert_memory_equal(b.data + 40, rfc_seed, 32);
    assert_false(keyfile_is_encrypted(b.data, b.len));
    assert_int_equal(keyfile_peek_public(b.data, b.len, pk), 0);
    assert_memory_equal(pk, rfc_pk, 32);
    /* a passphrase given for a plain file is ignored */
    assert_int_equal(keyfile_decode(b.data, b.len, "unused", &back), 0);
    assert_memory_equal(&back, &kp, sizeof kp);
    buf_wipe(&b);
}

static void
test_keyfile_encrypted_round_trip(void **state)
{
    ed25519_keypair_t kp, back;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    uint8_t pk[32];

    (void)state;
    ed25519_keypair_generate(&kp);
    encode_cheap(&kp, "correct horse", &b);
    assert_int_equal(b.len, KEYFILE_ENCRYPTED_LEN);
    assert_true(keyfile_is_encrypted(b.data, b.len));
    assert_null(memmem(b.data, b.len, kp.sk, 32)); /* the seed is not in the clear */
    assert_int_equal(keyfile_peek_public(b.data, b.len, pk), 0);
    assert_memory_equal(pk, kp.pk, 32);
    assert_int_equal(keyfile_decode(b.data, b.len, "correct horse", &back), 0);
    assert_memory_equal(&back, &kp, sizeof kp);
    buf_free(&b);
}

static void
test_keyfile_default_params_round_trip(void **state)
{
    ed25519_keypair_t kp, back;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    keyfile_params_t def = keyfile_params_default();

    (void)state;
    assert_int_equal(def.opslimit, 2);
    assert_int_equal(def.memlimit, 64u << 20);
    ed25519_keypair_generate(&kp);
    assert_int_equal(keyfile_encode(&kp, "pw", &b), 0);
    assert_memory_equal(b.data + 56, "\x00\x00\x00\x02", 4);
    assert_memory_equal(b.data + 60, "\x00\x00\x00\x00\x04\x00\x00\x00", 8);
    assert_int_equal(keyfile_decode(b.data, b.len, "pw", &back), 0);
    assert_memory_equal(&back, &kp, sizeof kp);
    buf_free(&b);
}

static void
test_keyfile_wrong_or_missing_passphrase(void **state)
{
    ed25519_keypair_t kp, back;
    buf_t b = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    make_key(&kp);
    encode_cheap(&kp, "secret", &b);
    memset(&back, 0xaa, sizeof back);
    assert_int_equal(keyfile_decode(b.data, b.len, "Secret", &back), LS_EPASSPHRASE);
    assert_true(is_zero(&back, sizeof back));
    assert_int_equal(keyfile_decode(b.data, b.len, NULL, &back), LS_EPASSPHRASE);
    assert_int_equal(keyfile_decode(b.data, b.len, "", &back), LS_EPASSPHRASE);
    assert_int_equal(keyfile_decode(b.data, b.len, "secret", &back), 0);
    buf_free(&b);
}

static void
test_keyfile_encode_rejects_bad_arguments(void **state)
{
    ed25519_keypair_t kp;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    keyfile_params_t low_mem = {1, 4096}, zero_ops = {0, 8192};
    keyfile_params_t huge = {1, KEYFILE_MEMLIMIT_MAX + 1};
    buf_t tiny = BUF_INIT(KEYFILE_PLAIN_LEN - 1);

    (void)state;
    make_key(&kp);
    assert_int_equal(keyfile_encode(&kp, "", &b), LS_EINVAL);
    assert_int_equal(keyfile_encode_params(&kp, "x", &low_mem, &b), LS_EINVAL);
    assert_int_equal(keyfile_encode_params(&kp, "x", &zero_ops, &b), LS_EINVAL);
    assert_int_equal(keyfile_encode_params(&kp, "x", &huge, &b), LS_EINVAL);
    assert_int_equal(b.len, 0);
    assert_int_equal(keyfile_encode(&kp, NULL, &tiny), LS_ETOOBIG);
    assert_int_equal(tiny.len, 0);
    buf_free(&b);
    buf_free(&tiny);
}

/* Every proper prefix and one extra byte must fail with a structural error. */
static void
check_lengths(const buf_t *b, const char *pass)
{
    ed25519_keypair_t back;
    uint8_t longer[KEYFILE_ENCRYPTED_LEN + 1];

    for (size_t n = 0; n < b->len; n++) {
        int rc = keyfile_decode(b->data, n, pass, &back);
        assert_int_equal(rc, n < 8 ? LS_EINVAL : LS_ECORRUPT);
        assert_false(keyfile_is_encrypted(b->data, n));
    }
    memcpy(longer, b->data, b->len);
    longer[b->len] = 0;
    assert_int_equal(keyfile_decode(longer, b->len + 1, pass, &back), LS_ECORRUPT);
}

static void
test_keyfile_truncated(void **state)
{
    ed25519_keypair_t kp;
    buf_t plain = BUF_INIT(BUF_UNLIMITED), enc = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    make_key(&kp);
    encode_cheap(&kp, NULL, &plain);
    encode_cheap(&kp, "pw", &enc);
    check_lengths(&plain, NULL);
    check_lengths(&enc, "pw");
    buf_free(&plain);
    buf_free(&enc);
}

/* Flip one bit in every byte: the decoder must refuse, never return a different key. */
static void
flip_every_byte(buf_t *b, const char *pass)
{
    ed25519_keypair_t back;

    for (size_t i = 0; i < b->len; i++) {
        b->data[i] ^= 0x01;
        int rc = keyfile_decode(b->data, b->len, pass, &back);
        b->data[i] ^= 0x01;
        if (rc == 0)
            fail_msg("byte %zu flipped and accepted", i);
        if (i < 6)
            assert_int_equal(rc, LS_EINVAL);
        else if (i == 6)
            assert_int_equal(rc, LS_ENOTSUP);
        else if (i < 40 && i > 7)
            assert_int_equal(rc, LS_ECORRUPT); /* public key no longer matches */
        assert_true(is_zero(&back, sizeof back));
    }
}

static void
test_keyfile_corrupted(void **state)
{
    ed25519_keypair_t kp;
    buf_t plain = BUF_INIT(BUF_UNLIMITED), enc = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    make_key(&kp);
    encode_cheap(&kp, NULL, &plain);
    encode_cheap(&kp, "pw", &enc);
    flip_every_byte(&plain, NULL);
    flip_every_byte(&enc, "pw");
    buf_free(&plain);
    buf_free(&enc);
}

static void
test_keyfile_hostile_params(void **state)
{
    ed25519_keypair_t kp, back;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    keyfile_params_t small_max = {1, 8192};

    (void)state;
    make_key(&kp);
    encode_cheap(&kp, "pw", &b);
    memcpy(b.data + 60, "\x00\x00\x01\x00\x00\x00\x00\x00", 8); /* 1 TiB */
    assert_int_equal(keyfile_decode(b.data, b.len, "pw", &back), LS_ETOOBIG);
    memcpy(b.data + 60, "\x00\x00\x00\x00\x00\x00\x00\x00", 8);
    assert_int_equal(keyfile_decode(b.data, b.len, "pw", &back), LS_ECORRUPT);
    memcpy(b.data + 60, "\x00\x00\x00\x00\x00\x00\x20\x00", 8); /* back to 8192 */
    memcpy(b.data + 56, "\xff\xff\xff\xff", 4);
    assert_int_equal(keyfile_decode(b.data, b.len, "pw", &back), LS_ETOOBIG);
    memcpy(b.data + 56, "\x00\x00\x00\x00", 4);
    assert_int_equal(keyfile_decode(b.data, b.len, "pw", &back), LS_ECORRUPT);
    memcpy(b.data + 56, "\x00\x00\x00\x01", 4);
    assert_int_equal(keyfile_decode(b.data, b.len, "pw", &back), 0);
    /* a caller-supplied bound below the file's cost refuses it */
    small_max.opslimit = 0;
    assert_int_equal(keyfile_decode_params(b.data, b.len, "pw", &small_max, &back), LS_ETOOBIG);
    b.data[7] = 2; /* unknown mode */
    assert_int_equal(keyfile_decode(b.data, b.len, "pw", &back), LS_ENOTSUP);
    buf_free(&b);
}

static char *
temp_dir(void)
{
    const char *base = getenv("LESTER_TEST_TMP");
    buf_t b = BUF_INIT(BUF_UNLIMITED);

    if (!base)
        base = "/tmp";
    assert_int_equal(fs_mkdir_p(base, 0700), 0);
    buf_printf(&b, "%s/keyfile-XXXXXX", base);
    char *dir = buf_take_str(&b);
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void
test_keyfile_write_read_mode_0600(void **state)
{
    ed25519_keypair_t kp, back;
    struct stat st;
    char *dir = temp_dir();
    char *path = fs_join(dir, "identity.key");
    mode_t old_umask = umask(0);

    (void)state;
    ed25519_keypair_generate(&kp);
    assert_int_equal(fs_write_atomic(path, "old", 3, 0644), 0);
    assert_int_equal(keyfile_write(path, &kp, NULL), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, KEYFILE_PLAIN_LEN);
    assert_int_equal(keyfile_read(path, NULL, &back), 0);
    assert_memory_equal(&back, &kp, sizeof kp);

    assert_int_equal(keyfile_write(path, &kp, "pw"), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(keyfile_read(path, NULL, &back), LS_EPASSPHRASE);
    assert_int_equal(keyfile_read(path, "pw", &back), 0);
    assert_memory_equal(&back, &kp, sizeof kp);
    umask(old_umask);

    unlink(path);
    assert_int_equal(keyfile_read(path, NULL, &back), LS_ENOENT);
    free(path);
    rmdir(dir);
    free(dir);
}

static void
test_keyfile_read_refuses_large_file(void **state)
{
    ed25519_keypair_t back;
    char *dir = temp_dir();
    char *path = fs_join(dir, "identity.key");
    uint8_t *big = ls_calloc(1, KEYFILE_MAX_LEN + 1);

    (void)state;
    assert_int_equal(fs_write_atomic(path, big, KEYFILE_MAX_LEN + 1, 0600), 0);
    assert_int_equal(keyfile_read(path, NULL, &back), LS_ETOOBIG);
    assert_int_equal(fs_write_atomic(path, big, KEYFILE_MAX_LEN, 0600), 0);
    assert_int_equal(keyfile_read(path, NULL, &back), LS_EINVAL);
    free(big);
    unlink(path);
    free(path);
    rmdir(dir);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyfile_plain_known_answer),
        cmocka_unit_test(test_keyfile_encrypted_round_trip),
        cmocka_unit_test(test_keyfile_default_params_round_trip),
        cmocka_unit_test(test_keyfile_wrong_or_missing_passphrase),
        cmocka_unit_test(test_keyfile_encode_rejects_bad_arguments),
        cmocka_unit_test(test_keyfile_truncated),
        cmocka_unit_test(test_keyfile_corrupted),
        cmocka_unit_test(test_keyfile_hostile_params),
        cmocka_unit_test(test_keyfile_write_read_mode_0600),
        cmocka_unit_test(test_keyfile_read_refuses_large_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
