#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "content/car/car.h"
#include "lib/err/err.h"

typedef struct got_t {
    size_t n;
    size_t bytes;
    cid_t last;
} got_t;

static int
on_block(void *ctx, const cid_t *cid, const uint8_t *block, size_t len)
{
    got_t *g = ctx;
    (void)block;
    g->n++;
    g->bytes += len;
    g->last = *cid;
    return 0;
}

/* A CAR of `nblocks` raw blocks of i * 100 bytes (block 0 is empty). */
static void
make_car(buf_t *car, size_t nblocks, cid_t *root)
{
    uint8_t blk[2000];
    for (size_t i = 0; i < nblocks; i++) {
        cid_t cid;
        memset(blk, (int)i, sizeof blk);
        cid_v1_sha256(&cid, CID_CODEC_RAW, blk, i * 100);
        if (i == 0) {
            *root = cid;
            assert_int_equal(car_write_header(car, root, 1), 0);
        }
        assert_int_equal(car_write_block(car, &cid, blk, i * 100), 0);
    }
}

static void
test_car_header_bytes(void **state)
{
    buf_t car = BUF_INIT(BUF_UNLIMITED);
    cid_t root;
    /* {"roots": [42("\0" ++ cid)], "version": 1}: a2 65 roots 81 d8 2a 58 25 00 <36> 67 version 01
     */
    static const uint8_t head[] = {0x3a, 0xa2, 0x65, 'r',  'o',  'o',  't',  's',  0x81,
                                   0xd8, 0x2a, 0x58, 0x25, 0x00, 0x01, 0x55, 0x12, 0x20};
    static const uint8_t tail[] = {0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01};

    (void)state;
    cid_v1_sha256(&root, CID_CODEC_RAW, "", 0);
    assert_int_equal(car_write_header(&car, &root, 1), 0);
    assert_int_equal(car.len, 1 + 0x3a);
    assert_memory_equal(car.data, head, sizeof head);
    assert_memory_equal(car.data + car.len - sizeof tail, tail, sizeof tail);
    buf_free(&car);
}

static void
test_car_round_trip_any_split(void **state)
{
    buf_t car = BUF_INIT(BUF_UNLIMITED);
    cid_t root;
    static const size_t pieces[] = {1, 2, 7, 64, 1000, 100000};

    (void)state;
    make_car(&car, 20, &root);
    for (size_t k = 0; k < LS_ARRAY_LEN(pieces); k++) {
        car_reader_t *r = car_reader_new(0);
        got_t g = {0};
        const cid_t *roots;
        for (size_t off = 0; off < car.len; off += pieces[k])
            assert_int_equal(
                car_reader_feed(r, car.data + off, LS_MIN(pieces[k], car.len - off), on_block, &g),
                0);
        assert_int_equal(car_reader_finish(r), 0);
        assert_int_equal(g.n, 20);
        assert_int_equal(g.bytes, 100 * (19 * 20 / 2));
        assert_int_equal(car_reader_roots(r, &roots), 1);
        assert_true(cid_equal(&roots[0], &root));
        car_reader_free(r);
        assert_null(r);
    }
    buf_free(&car);
}

static void
test_car_rejects_bad_input(void **state)
{
    buf_t car = BUF_INIT(BUF_UNLIMITED);
    cid_t root;
    got_t g = {0};
    car_reader_t *r;

    (void)state;
    make_car(&car, 3, &root);
    /* a flipped bit in the last block */
    car.data[car.len - 1] ^= 1;
    r = car_reader_new(0);
    assert_int_equal(car_reader_feed(r, car.data, car.len, on_block, &g), LS_ECORRUPT);
    assert_int_equal(car_reader_feed(r, car.data, 1, on_block, &g), LS_ECORRUPT); /* sticky */
    car_reader_free(r);
    car.data[car.len - 1] ^= 1;
    /* cut short */
    r = car_reader_new(0);
    assert_int_equal(car_reader_feed(r, car.data, car.len - 5, on_block, &g), 0);
    assert_int_equal(car_reader_finish(r), LS_EPROTO);
    car_reader_free(r);
    /* a block over the reader's limit */
    r = car_reader_new(150);
    assert_int_equal(car_reader_feed(r, car.data, car.len, on_block, &g), LS_ETOOBIG);
    car_reader_free(r);
    /* CARv2 pragma: 0a a1 67 version 02 */
    r = car_reader_new(0);
    assert_int_equal(
        car_reader_feed(r, (const uint8_t *)"\x0a\xa1\x67version\x02", 11, on_block, &g),
        LS_ENOTSUP);
    car_reader_free(r);
    /* keys in the wrong order, a zero-length section, an oversized header */
    r = car_reader_new(0);
    assert_int_equal(car_reader_feed(r, (const uint8_t *)"\x11\xa2\x67version\x01\x65roots\x80", 18,
                                     on_block, &g),
                     LS_EPROTO);
    car_reader_free(r);
    r = car_reader_new(0);
    assert_int_equal(car_reader_feed(r, (const uint8_t *)"\x11\xa2\x65roots\x80\x67version\x01\x00",
                                     19, on_block, &g),
                     LS_EPROTO);
    car_reader_free(r);
    r = car_reader_new(0);
    assert_int_equal(car_reader_feed(r, (const uint8_t *)"\xff\xff\x7f", 3, on_block, &g),
                     LS_ETOOBIG);
    car_reader_free(r);
    /* header with no roots is accepted; no header at all is not */
    r = car_reader_new(0);
    assert_int_equal(car_reader_feed(r, (const uint8_t *)"\x11\xa2\x65roots\x80\x67version\x01", 18,
                                     on_block, &g),
                     0);
    assert_int_equal(car_reader_finish(r), 0);
    car_reader_free(r);
    r = car_reader_new(0);
    assert_int_equal(car_reader_finish(r), LS_EPROTO);
    car_reader_free(r);
    buf_free(&car);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_car_header_bytes),
        cmocka_unit_test(test_car_round_trip_any_split),
        cmocka_unit_test(test_car_rejects_bad_input),
    };
    return cmocka_run_group_tests_name("content/car", tests, NULL, NULL);
}
