#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/buf/buf.h"
#include "lib/crypto/ed25519.h"
#include "lib/err/err.h"
#include "lib/mem/mem.h"
#include "lib/record/record.h"

/* A byte-string literal and its length (without the literal's NUL). */
#define B(s) (const uint8_t *)(s), (sizeof(s) - 1)

/* RFC 8032 section 7.1, TEST 1. */
static const uint8_t rfc_seed[32] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
#define RFC_PK                                                                                     \
    "\xd7\x5a\x98\x01\x82\xb1\x0a\xb7\xd5\x4b\xfe\xd3\xc9\x64\x07\x3a\x0e\xe1\x72\xf3\xda\xa6\x23" \
    "\x25\xaf\x02\x1a\x68\xf7\x07\x51\x1a"
/* Ed25519 by the RFC key over 82 a1 'n' 01 a2 'pk' c4 20 <pk>, computed independently with
 * `openssl pkeyutl -sign -rawin`. */
#define KAT_SIG                                                                                    \
    "\x76\x43\xde\xd0\x7d\xe9\x81\xf5\x90\xa6\xb1\x62\x0b\xd4\x8b\x44\x90\xe3\x6a\x10\xe2\x31\x27" \
    "\x42\x5a\x1a\x4e\x86\x4f\xd0\x64\xdb\xc4\xcf\xa9\x40\x13\xa0\x36\x08\x7f\x56\x15\x62\xbe\x3f" \
    "\x6d\x71\x8e\xd4\xc4\x8d\xa2\x7a\x58\xe8\xe0\x79\x41\x6b\x79\xaf\x19\x05"

static void
assert_encodes(const record_t *r, const uint8_t *want, size_t len)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(record_encode(r, &b), 0);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, want, len);
    buf_free(&b);
}

static int
decode(const uint8_t *p, size_t len)
{
    record_t *r = (record_t *)1;
    int rc = record_decode(p, len, 1 << 20, &r);
    if (rc < 0)
        assert_null(r);
    record_free(r);
    return rc;
}

/* Decoding `p` succeeds and re-encodes to the same bytes. */
static void
assert_round_trips(const uint8_t *p, size_t len)
{
    record_t *r = NULL;
    assert_int_equal(record_decode(p, len, len, &r), 0);
    assert_encodes(r, p, len);
    record_free(r);
}

static void
test_record_known_answers_small(void **state)
{
    record_t *r = record_new();
    record_t *m = record_new();
    record_array_t *a = record_array_new();

    (void)state;
    assert_encodes(r, B("\x80"));
    assert_int_equal(record_set_bool(r, "y", true), 0);
    assert_int_equal(record_set_bool(r, "n", false), 0);
    assert_encodes(r, B("\x82\xa1n\xc2\xa1y\xc3"));
    record_free(r);

    r = record_new();
    assert_int_equal(record_set_u64(m, "x", 1), 0);
    assert_int_equal(record_array_push_u64(a, 1), 0);
    assert_int_equal(record_array_push_str(a, "z"), 0);
    assert_int_equal(record_array_push_bool(a, true), 0);
    assert_int_equal(record_set_record(r, "m", m), 0);
    assert_int_equal(record_set_array(r, "l", a), 0);
    assert_encodes(r, B("\x82\xa1l\x93\x01\xa1z\xc3\xa1m\x81\xa1x\x01"));
    assert_round_trips(B("\x82\xa1l\x93\x01\xa1z\xc3\xa1m\x81\xa1x\x01"));
    record_free(r);
}

/* Keys sort bytewise with a prefix first: "" < "k" < "kl" < "l" < "\xc3\xa9" (é). */
static void
test_record_key_order_and_determinism(void **state)
{
    static const uint8_t want[] = "\x85\xa0\x00\xa1k\x01\xa2kl\x02\xa1l\x03\xa2\xc3\xa9\x04";
    static const char *keys[] = {"", "k", "kl", "l", "\xc3\xa9"};
    static const int orders[3][5] = {{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 4, 0, 3, 1}};

    (void)state;
    for (size_t o = 0; o < 3; o++) {
        record_t *r = record_new();
        for (size_t k = 0; k < 5; k++) {
            int i = orders[o][k];
            assert_int_equal(record_set_u64(r, keys[i], 99), 0);
            assert_int_equal(record_set_u64(r, keys[i], (uint64_t)i), 0); /* replaces */
        }
        assert_int_equal(record_len(r), 5);
        assert_encodes(r, want, sizeof want - 1);
        record_free(r);
    }
}

static const struct {
    int64_t v;
    bool is_unsigned;
    uint64_t u;
    const char *bytes;
    size_t len;
} ints[] = {
#define U(x, s)                                                                                    \
    {                                                                                              \
        0, true, (x), s, sizeof(s) - 1                                                             \
    }
#define I(x, s)                                                                                    \
    {                                                                                              \
        (x), false, 0, s, sizeof(s) - 1                                                            \
    }
    U(0, "\x00"),
    U(127, "\x7f"),
    U(128, "\xcc\x80"),
    U(255, "\xcc\xff"),
    U(256, "\xcd\x01\x00"),
    U(65535, "\xcd\xff\xff"),
    U(65536, "\xce\x00\x01\x00\x00"),
    U(4294967295u, "\xce\xff\xff\xff\xff"),
    U(4294967296u, "\xcf\x00\x00\x00\x01\x00\x00\x00\x00"),
    U(UINT64_MAX, "\xcf\xff\xff\xff\xff\xff\xff\xff\xff"),
    I(5, "\x05"), /* non-negative int64 -> uint family */
    I(200, "\xcc\xc8"),
    I(INT64_MAX, "\xcf\x7f\xff\xff\xff\xff\xff\xff\xff"),
    I(-1, "\xff"),
    I(-32, "\xe0"),
    I(-33, "\xd0\xdf"),
    I(-128, "\xd0\x80"),
    I(-129, "\xd1\xff\x7f"),
    I(-32768, "\xd1\x80\x00"),
    I(-32769, "\xd2\xff\xff\x7f\xff"),
    I(INT32_MIN, "\xd2\x80\x00\x00\x00"),
    I((int64_t)INT32_MIN - 1, "\xd3\xff\xff\xff\xff\x7f\xff\xff\xff"),
    I(INT64_MIN, "\xd3\x80\x00\x00\x00\x00\x00\x00\x00"),
#undef U
#undef I
};

static void
test_record_known_answers_integers(void **state)
{
    (void)state;
    for (size_t i = 0; i < LS_ARRAY_LEN(ints); i++) {
        uint8_t want[16] = {0x81, 0xa1, 'i'};
        record_t *r = record_new(), *back = NULL;
        uint64_t u;
        int64_t s;

        memcpy(want + 3, ints[i].bytes, ints[i].len);
        if (ints[i].is_unsigned)
            assert_int_equal(record_set_u64(r, "i", ints[i].u), 0);
        else
            assert_int_equal(record_set_i64(r, "i", ints[i].v), 0);
        assert_encodes(r, want, 3 + ints[i].len);
        assert_int_equal(record_decode(want, 3 + ints[i].len, 64, &back), 0);
        if (ints[i].is_unsigned) {
            assert_int_equal(record_get_u64(back, "i", &u), 0);
            assert_true(u == ints[i].u);
        } else {
            assert_int_equal(record_get_i64(back, "i", &s), 0);
            assert_true(s == ints[i].v);
        }
        record_free(r);
        record_free(back);
    }
}

/* str/bin of `len` bytes under key "s" encode with `hdr`. */
static void
check_bytes_header(bool str, size_t len, const char *hdr, size_t hdrlen)
{
    char *v = ls_malloc(len + 1);
    buf_t want = BUF_INIT(BUF_UNLIMITED);
    record_t *r = record_new();

    memset(v, 'x', len);
    v[len] = '\0';
    if (str)
        assert_int_equal(record_set_str(r, "s", v), 0);
    else
        assert_int_equal(record_set_bin(r, "s", v, len), 0);
    buf_append(&want, "\x81\xa1s", 3);
    buf_append(&want, hdr, hdrlen);
    buf_append(&want, v, len);
    assert_encodes(r, want.data, want.len);
    assert_round_trips(want.data, want.len);
    record_free(r);
    buf_free(&want);
    free(v);
}

static void
test_record_known_answers_strings(void **state)
{
    (void)state;
    check_bytes_header(true, 0, "\xa0", 1);
    check_bytes_header(true, 31, "\xbf", 1);
    check_bytes_header(true, 32, "\xd9\x20", 2);
    check_bytes_header(true, 255, "\xd9\xff", 2);
    check_bytes_header(true, 256, "\xda\x01\x00", 3);
    check_bytes_header(true, 65535, "\xda\xff\xff", 3);
    check_bytes_header(true, 65536, "\xdb\x00\x01\x00\x00", 5);
    check_bytes_header(false, 0, "\xc4\x00", 2);
    check_bytes_header(false, 255, "\xc4\xff", 2);
    check_bytes_header(false, 256, "\xc5\x01\x00", 3);
    check_bytes_header(false, 65536, "\xc6\x00\x01\x00\x00", 5);
}

static void
test_record_known_answers_containers(void **state)
{
    record_t *r = record_new();
    record_array_t *a15 = record_array_new(), *a16 = record_array_new();
    record_t *m16 = record_new();
    buf_t b = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    for (int i = 0; i < 16; i++) {
        char key[4];
        snprintf(key, sizeof key, "%c", 'g' + i);
        assert_int_equal(record_set_u64(m16, key, 0), 0);
        if (i < 15)
            record_array_push_u64(a15, 0);
        record_array_push_u64(a16, 0);
    }
    record_set_array(r, "k", a15);
    record_set_array(r, "l", a16);
    record_set_record(r, "m", m16);
    assert_int_equal(record_encode(r, &b), 0);
    assert_memory_equal(b.data, "\x83\xa1k\x9f", 4);
    assert_memory_equal(b.data + 4 + 15, "\xa1l\xdc\x00\x10", 5);
    assert_memory_equal(b.data + 4 + 15 + 5 + 16, "\xa1m\xde\x00\x10\xa1g\x00", 8);
    assert_round_trips(b.data, b.len);
    record_free(r);
    buf_free(&b);
}

static void
test_record_rejects_non_canonical(void **state)
{
    (void)state;
    /* key order */
    assert_int_equal(decode(B("\x82\xa1l\x01\xa1k\x02")), LS_ENONCANON);
    assert_int_equal(decode(B("\x82\xa1k\x01\xa1k\x02")), LS_ENONCANON);
    assert_int_equal(decode(B("\x82\xa2kl\x01\xa1k\x02")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\x01\x01")), LS_ENONCANON);      /* int key */
    assert_int_equal(decode(B("\x81\xc4\x01k\x01")), LS_ENONCANON); /* bin key */
    assert_int_equal(decode(B("\x81\x80\x01")), LS_ENONCANON);      /* map key */
    /* integers longer than needed, or signed forms for non-negative values */
    assert_int_equal(decode(B("\x81\xa1k\xcc\x05")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xcd\x00\xc8")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xce\x00\x00\xff\xff")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xcf\x00\x00\x00\x00\xff\xff\xff\xff")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xd0\x05")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xd0\xfb")), LS_ENONCANON); /* -5 */
    assert_int_equal(decode(B("\x81\xa1k\xd0\xe0")), LS_ENONCANON); /* -32 */
    assert_int_equal(decode(B("\x81\xa1k\xd1\xff\x9c")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xd1\x00\x05")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xd2\xff\xff\x80\x00")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xd3\xff\xff\xff\xff\x80\x00\x00\x00")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xd3\x00\x00\x00\x00\x00\x00\x00\x05")), LS_ENONCANON);
    /* headers longer than needed */
    assert_int_equal(decode(B("\x81\xa1k\xd9\x01x")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xda\x00\x01x")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xdb\x00\x00\x00\x01x")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xd9\x01k\x01")), LS_ENONCANON); /* in a key */
    assert_int_equal(decode(B("\x81\xa1k\xc5\x00\x01x")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xc6\x00\x00\x00\x01x")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xdc\x00\x01\x01")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xdd\x00\x00\x00\x01\x01")), LS_ENONCANON);
    assert_int_equal(decode(B("\xde\x00\x01\xa1k\x01")), LS_ENONCANON);
    assert_int_equal(decode(B("\xdf\x00\x00\x00\x01\xa1k\x01")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xde\x00\x00")), LS_ENONCANON);
    /* types outside the canonical subset */
    assert_int_equal(decode(B("\x81\xa1k\xca\x3f\x80\x00\x00")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xc0")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xd4\x01\x00")), LS_ENONCANON);
    assert_int_equal(decode(B("\x81\xa1k\xc7\x01\x01\x00")), LS_ENONCANON);
    /* trailing bytes */
    assert_int_equal(decode(B("\x80\x00")), LS_ENONCANON);
    assert_int_equal(decode(B("\x80\x80")), LS_ENONCANON);
}

static void
test_record_rejects_malformed(void **state)
{
    static const uint8_t good[] =
        "\x83\xa1k\x92\xcd\x01\x00\xa2hi\xa1l\xc4\x02xy\xa1m\x81\xa1n\xd0\x80";

    (void)state;
    assert_round_trips(good, sizeof good - 1);
    for (size_t n = 0; n < sizeof good - 1; n++)
        assert_int_equal(decode(good, n), LS_EINVAL); /* every truncation */
    assert_int_equal(decode(B("\x81\xa1k\xc1")), LS_EINVAL);
    assert_int_equal(decode(B("\x01")), LS_EINVAL); /* not a map */
    assert_int_equal(decode(B("\x90")), LS_EINVAL);
    assert_int_equal(decode(B("\xa0")), LS_EINVAL);
    assert_int_equal(decode(B("\x81\xa1k\xa1\xff")), LS_EINVAL); /* not UTF-8 */
    assert_int_equal(decode(B("\x81\xa1\xff\x01")), LS_EINVAL);
    assert_int_equal(decode(B("\x81\xa1k\xa2\xc0\x80")), LS_EINVAL);         /* overlong NUL */
    assert_int_equal(decode(B("\x81\xa1k\xa3\xed\xa0\x80")), LS_EINVAL);     /* surrogate */
    assert_int_equal(decode(B("\x81\xa1k\xa4\xf4\x90\x80\x80")), LS_EINVAL); /* > U+10FFFF */
    assert_int_equal(decode(B("\x81\xa1k\xa1\x00")), LS_EINVAL);             /* NUL */
    assert_int_equal(decode(B("\x81\xa1\x00\x01")), LS_EINVAL);
    /* counts far beyond the input are refused before anything is allocated */
    assert_int_equal(decode(B("\xdf\xff\xff\xff\xff")), LS_EINVAL);
    assert_int_equal(decode(B("\x81\xa1k\xdd\xff\xff\xff\xff")), LS_EINVAL);
    assert_int_equal(decode(B("\x81\xa1k\xdb\xff\xff\xff\xff")), LS_EINVAL);
    assert_int_equal(decode(B("\x81\xa1k\xc6\xff\xff\xff\xff")), LS_EINVAL);
}

/* {"k": [[...[]...]]} with `arrays` nested arrays: depth = arrays + 1. */
static void
nested(buf_t *b, int arrays)
{
    buf_append(b, "\x81\xa1k", 3);
    for (int i = 0; i < arrays - 1; i++)
        buf_append_byte(b, 0x91);
    buf_append_byte(b, 0x90);
}

static void
test_record_limits(void **state)
{
    buf_t ok = BUF_INIT(BUF_UNLIMITED), deep = BUF_INIT(BUF_UNLIMITED);
    record_t *r = NULL;

    (void)state;
    nested(&ok, RECORD_MAX_DEPTH - 1);
    nested(&deep, RECORD_MAX_DEPTH);
    assert_round_trips(ok.data, ok.len);
    assert_int_equal(decode(deep.data, deep.len), LS_ETOOBIG);
    assert_int_equal(record_decode(ok.data, ok.len, ok.len - 1, &r), LS_ETOOBIG);
    assert_null(r);

    /* the builder can nest deeper, but such a record does not encode */
    record_t *top = record_new();
    record_t *inner = top;
    for (int i = 0; i < RECORD_MAX_DEPTH; i++) {
        record_t *child = record_new();
        record_set_record(inner, "x", child);
        inner = child;
    }
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    buf_append(&out, "keep", 4);
    assert_int_equal(record_encode(top, &out), LS_ETOOBIG);
    assert_int_equal(out.len, 4); /* unchanged */
    buf_t small = BUF_INIT(2);
    assert_int_equal(record_encode(top, &small), LS_ETOOBIG);
    assert_int_equal(small.len, 0);
    buf_free(&small);
    record_free(top);
    buf_free(&out);
    buf_free(&ok);
    buf_free(&deep);
}

static void
test_record_getters(void **state)
{
    record_t *r = record_new();
    record_array_t *a = record_array_new();
    uint64_t u = 7;
    int64_t s = 7;
    bool b;
    const char *str;
    const uint8_t *bin;
    size_t len;
    const record_array_t *ga;
    const record_t *gr;

    (void)state;
    record_set_i64(r, "five", 5);
    record_set_i64(r, "neg", -3);
    record_set_u64(r, "big", UINT64_MAX);
    record_set_str(r, "s", "héllo");
    record_set_bin(r, "e", NULL, 0);
    record_array_push_i64(a, -1);
    record_array_push_record(a, record_new());
    record_set_array(r, "a", a);
    assert_int_equal(record_get_u64(r, "five", &u), 0);
    assert_true(u == 5);
    assert_int_equal(record_get_u64(r, "neg", &u), LS_ERANGE);
    assert_int_equal(record_get_i64(r, "neg", &s), 0);
    assert_true(s == -3);
    assert_int_equal(record_get_i64(r, "big", &s), LS_ERANGE);
    assert_int_equal(record_get_u64(r, "missing", &u), LS_ENOENT);
    assert_int_equal(record_get_bool(r, "five", &b), LS_EINVAL);
    assert_int_equal(record_get_str(r, "five", &str), LS_EINVAL);
    assert_int_equal(record_get_u64(r, "s", &u), LS_EINVAL);
    assert_int_equal(record_get_str(r, "s", &str), 0);
    assert_string_equal(str, "héllo");
    assert_int_equal(record_get_bin(r, "e", &bin, &len), 0);
    assert_non_null(bin);
    assert_int_equal(len, 0);
    assert_int_equal(record_get_record(r, "a", &gr), LS_EINVAL);
    assert_int_equal(record_get_array(r, "a", &ga), 0);
    assert_int_equal(record_array_len(ga), 2);
    assert_int_equal(record_array_get_i64(ga, 0, &s), 0);
    assert_true(s == -1);
    assert_int_equal(record_array_get_u64(ga, 0, &u), LS_ERANGE);
    assert_int_equal(record_array_get_record(ga, 1, &gr), 0);
    assert_int_equal(record_len(gr), 0);
    assert_int_equal(record_array_get_bool(ga, 2, &b), LS_ENOENT);
    assert_true(record_has(r, "five"));
    assert_int_equal(record_remove(r, "five"), 0);
    assert_false(record_has(r, "five"));
    assert_int_equal(record_remove(r, "five"), LS_ENOENT);
    record_free(r);
    assert_null(r);
    record_free_(NULL);
    record_array_free_(NULL);
}

static void
test_record_setters_validate_text(void **state)
{
    record_t *r = record_new();
    record_array_t *a = record_array_new();

    (void)state;
    assert_int_equal(record_set_u64(r, "\xff", 1), LS_EINVAL);
    assert_int_equal(record_set_str(r, "k", "\xc0\x80"), LS_EINVAL);
    assert_int_equal(record_array_push_str(a, "\xed\xa0\x80"), LS_EINVAL);
    /* taken children are freed on error (ASan would report a leak otherwise) */
    assert_int_equal(record_set_record(r, "\xfe", record_new()), LS_EINVAL);
    assert_int_equal(record_set_array(r, "\xfe", a), LS_EINVAL);
    assert_int_equal(record_len(r), 0);
    record_free(r);
}

static void
test_record_sign_known_answer(void **state)
{
    static const uint8_t want[] = "\x83\xa1n\x01\xa2pk\xc4\x20" RFC_PK "\xa3sig\xc4\x40" KAT_SIG;
    ed25519_keypair_t kp;
    record_t *r = record_new(), *back = NULL;
    uint8_t pk[32];

    (void)state;
    ed25519_keypair_from_seed(&kp, rfc_seed);
    record_set_u64(r, "n", 1);
    assert_int_equal(record_sign(r, &kp), 0);
    assert_encodes(r, want, sizeof want - 1);
    assert_int_equal(record_verify(r, pk), 0);
    assert_memory_equal(pk, RFC_PK, 32);
    assert_int_equal(record_decode(want, sizeof want - 1, 1024, &back), 0);
    assert_int_equal(record_verify(back, NULL), 0);
    record_free(r);
    record_free(back);
}

static void
test_record_sign_round_trip_and_tamper(void **state)
{
    ed25519_keypair_t kp, other;
    record_t *r = record_new(), *back = NULL;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    uint8_t pk[32];

    (void)state;
    ed25519_keypair_generate(&kp);
    ed25519_keypair_generate(&other);
    record_set_str(r, "type", "hello");
    record_set_u64(r, "ts", 1764000000000u);
    record_set_array(r, "tags", record_array_new());
    assert_int_equal(record_verify(r, pk), LS_EINVAL); /* unsigned */
    assert_int_equal(record_sign(r, &other), 0);
    assert_int_equal(record_sign(r, &kp), 0); /* re-signing replaces */
    assert_int_equal(record_encode(r, &b), 0);
    assert_int_equal(record_decode(b.data, b.len, b.len, &back), 0);
    assert_int_equal(record_verify(back, pk), 0);
    assert_memory_equal(pk, kp.pk, 32);
    record_free(back);

    /* flip a bit in "hello": still canonical, no longer signed */
    uint8_t *h = memmem(b.data, b.len, "hello", 5);
    assert_non_null(h);
    h[0] ^= 0x01;
    assert_int_equal(record_decode(b.data, b.len, b.len, &back), 0);
    assert_int_equal(record_verify(back, pk), LS_EBADSIG);
    record_free(back);

    record_set_u64(r, "ts", 1764000000001u);
    assert_int_equal(record_verify(r, NULL), LS_EBADSIG);
    assert_int_equal(record_sign(r, &kp), 0);
    record_set_bin(r, "pk", other.pk, 32); /* someone else's key */
    assert_int_equal(record_verify(r, NULL), LS_EBADSIG);
    record_set_bin(r, "pk", kp.pk, 31);
    assert_int_equal(record_verify(r, NULL), LS_EINVAL);
    record_set_str(r, "pk", "x");
    assert_int_equal(record_verify(r, NULL), LS_EINVAL);
    assert_int_equal(record_sign(r, &kp), 0);
    record_set_bin(r, "sig", kp.pk, 32);
    assert_int_equal(record_verify(r, NULL), LS_EINVAL);
    record_remove(r, "sig");
    assert_int_equal(record_verify(r, NULL), LS_EINVAL);
    record_free(r);
    buf_free(&b);
}

/* Every one-byte change of a canonical record is either rejected or is itself canonical
 * (decodes and re-encodes to the changed bytes) - the fuzz property, swept exhaustively. */
static void
test_record_single_byte_mutations(void **state)
{
    static const uint8_t good[] =
        "\x84\xa1k\x93\xcd\x01\x00\xa2hi\xd1\xff\x00\xa1l\xc4\x02xy\xa1m\x81\xa1n\xd0\x80\xa1p\xc3";
    uint8_t m[sizeof good - 1];
    int accepted = 0;

    (void)state;
    assert_round_trips(good, sizeof good - 1);
    for (size_t i = 0; i < sizeof m; i++) {
        for (int v = 0; v < 256; v++) {
            record_t *r = NULL;
            memcpy(m, good, sizeof m);
            m[i] = (uint8_t)v;
            if (record_decode(m, sizeof m, sizeof m, &r) == 0) {
                assert_encodes(r, m, sizeof m);
                accepted++;
            }
            record_free(r);
        }
    }
    assert_true(accepted > (int)sizeof m); /* the unchanged bytes, at least */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_known_answers_small),
        cmocka_unit_test(test_record_key_order_and_determinism),
        cmocka_unit_test(test_record_known_answers_integers),
        cmocka_unit_test(test_record_known_answers_strings),
        cmocka_unit_test(test_record_known_answers_containers),
        cmocka_unit_test(test_record_rejects_non_canonical),
        cmocka_unit_test(test_record_rejects_malformed),
        cmocka_unit_test(test_record_limits),
        cmocka_unit_test(test_record_getters),
        cmocka_unit_test(test_record_setters_validate_text),
        cmocka_unit_test(test_record_sign_known_answer),
        cmocka_unit_test(test_record_sign_round_trip_and_tamper),
        cmocka_unit_test(test_record_single_byte_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
