/* test_bitswap_msg — the Bitswap message codec: known-answer vectors written by hand
 * from the .proto (tag = field << 3 | wire type), limits and malformed input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "content/bitswap/bitswap_msg.h"
#include "lib/buf/buf.h"
#include "lib/err/err.h"
#include "lib/mem/mem.h"
#include "lib/varint/varint.h"

/* CIDv1 raw sha2-256 of the empty string: 01 55 12 20 e3b0c442... */
static cid_t
empty_cid(void)
{
    cid_t c;
    cid_v1_sha256(&c, CID_CODEC_RAW, "", 0);
    return c;
}

static size_t
put_cid(uint8_t *out)
{
    cid_t c = empty_cid();
    uint8_t tmp[BITSWAP_CID_MAX];
    size_t n = bitswap_cid_encode(&c, tmp);
    assert_int_equal(n, 36);
    memcpy(out, tmp, n);
    return n;
}

static void
finish_equals(bitswap_writer_t *w, const uint8_t *want, size_t len)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(bitswap_writer_size(w), len);
    assert_int_equal(bitswap_writer_finish(w, &b), 0);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, want, len);
    buf_free(&b);
}

static void
test_want_block_vector(void **state)
{
    (void)state;
    uint8_t want[64] = {0x0a, 0x2c, 0x0a, 0x2a, 0x0a, 0x24};
    size_t n = 6 + put_cid(want + 6);
    memcpy(want + n, "\x10\x01\x28\x01", 4);
    n += 4;
    assert_int_equal(n, 46);

    cid_t c = empty_cid();
    bitswap_writer_t w;
    bitswap_writer_init(&w, BITSWAP_V120);
    assert_int_equal(bitswap_writer_want(&w, &c, 1, BITSWAP_WANT_BLOCK, true, false), 0);
    finish_equals(&w, want, n);

    bitswap_msg_t m;
    assert_int_equal(bitswap_msg_decode(want, n, &m), 0);
    assert_int_equal(m.nentries, 1);
    assert_true(cid_equal(&m.entries[0].cid, &c));
    assert_int_equal(m.entries[0].priority, 1);
    assert_false(m.entries[0].cancel);
    assert_int_equal(m.entries[0].want_type, BITSWAP_WANT_BLOCK);
    assert_true(m.entries[0].send_dont_have);
    assert_false(m.full);
    bitswap_msg_clear(&m);

    /* 1.1.0 has no sendDontHave or want-have */
    bitswap_writer_t w11;
    bitswap_writer_init(&w11, BITSWAP_V110);
    assert_int_equal(bitswap_writer_want(&w11, &c, 1, BITSWAP_WANT_BLOCK, true, false), LS_ENOTSUP);
    assert_int_equal(bitswap_writer_want(&w11, &c, 1, BITSWAP_WANT_HAVE, false, false), LS_ENOTSUP);
    assert_int_equal(bitswap_writer_presence(&w11, &c, BITSWAP_HAVE), LS_ENOTSUP);
    bitswap_writer_free(&w11);
    bitswap_writer_free(&w);
}

static void
test_want_have_cancel_full_vector(void **state)
{
    (void)state;
    /* want-have (type 1, sendDontHave) then a cancel, full = true */
    uint8_t want[128] = {0x0a, 0x5c, 0x0a, 0x2c, 0x0a, 0x24};
    size_t n = 6 + put_cid(want + 6);
    memcpy(want + n, "\x10\x01\x20\x01\x28\x01\x0a\x2a\x0a\x24", 10);
    n += 10;
    n += put_cid(want + n);
    memcpy(want + n, "\x10\x01\x18\x01\x10\x01", 6);
    n += 6;
    assert_int_equal(n, 2 + 0x5c);

    cid_t c = empty_cid();
    bitswap_writer_t w;
    bitswap_writer_init(&w, BITSWAP_V120);
    w.full = true;
    assert_int_equal(bitswap_writer_want(&w, &c, 1, BITSWAP_WANT_HAVE, true, false), 0);
    assert_int_equal(bitswap_writer_want(&w, &c, 1, BITSWAP_WANT_BLOCK, false, true), 0);
    finish_equals(&w, want, n);

    bitswap_msg_t m;
    assert_int_equal(bitswap_msg_decode(want, n, &m), 0);
    assert_int_equal(m.nentries, 2);
    assert_true(m.full);
    assert_int_equal(m.entries[0].want_type, BITSWAP_WANT_HAVE);
    assert_true(m.entries[1].cancel);
    bitswap_msg_clear(&m);
    bitswap_writer_free(&w);
}

static void
test_blocks_vectors(void **state)
{
    (void)state;
    static const uint8_t v11[] = {0x1a, 0x0b, 0x0a, 0x04, 0x01, 0x55, 0x12,
                                  0x20, 0x12, 0x03, 'a',  'b',  'c'};
    static const uint8_t v10[] = {0x12, 0x03, 'a', 'b', 'c'};
    cid_t c;
    cid_v1_sha256(&c, CID_CODEC_RAW, "abc", 3);

    bitswap_writer_t w;
    bitswap_writer_init(&w, BITSWAP_V110);
    assert_int_equal(bitswap_writer_block(&w, &c, (const uint8_t *)"abc", 3), 0);
    finish_equals(&w, v11, sizeof v11);
    bitswap_writer_free(&w);
    bitswap_writer_init(&w, BITSWAP_V100);
    assert_int_equal(bitswap_writer_block(&w, &c, (const uint8_t *)"abc", 3), 0);
    finish_equals(&w, v10, sizeof v10);
    bitswap_writer_free(&w);

    bitswap_msg_t m;
    cid_t got;
    assert_int_equal(bitswap_msg_decode(v11, sizeof v11, &m), 0);
    assert_int_equal(m.nblocks, 1);
    assert_true(m.blocks[0].has_prefix);
    assert_int_equal(m.blocks[0].prefix.codec, CID_CODEC_RAW);
    assert_int_equal(
        bitswap_prefix_cid(&m.blocks[0].prefix, m.blocks[0].data, m.blocks[0].len, &got), 0);
    assert_true(cid_equal(&got, &c));
    bitswap_msg_clear(&m);
    assert_int_equal(bitswap_msg_decode(v10, sizeof v10, &m), 0);
    assert_int_equal(m.nblocks, 1);
    assert_false(m.blocks[0].has_prefix);
    assert_int_equal(m.blocks[0].len, 3);
    bitswap_msg_clear(&m);
}

static void
test_presence_vectors(void **state)
{
    (void)state;
    uint8_t want[128] = {0x22, 0x26, 0x0a, 0x24};
    size_t n = 4 + put_cid(want + 4);
    memcpy(want + n, "\x22\x28\x0a\x24", 4);
    n += 4;
    n += put_cid(want + n);
    memcpy(want + n, "\x10\x01", 2);
    n += 2;

    cid_t c = empty_cid();
    bitswap_writer_t w;
    bitswap_writer_init(&w, BITSWAP_V120);
    assert_int_equal(bitswap_writer_presence(&w, &c, BITSWAP_HAVE), 0);
    assert_int_equal(bitswap_writer_presence(&w, &c, BITSWAP_DONT_HAVE), 0);
    finish_equals(&w, want, n);
    bitswap_writer_free(&w);

    bitswap_msg_t m;
    assert_int_equal(bitswap_msg_decode(want, n, &m), 0);
    assert_int_equal(m.npresences, 2);
    assert_int_equal(m.presences[0].type, BITSWAP_HAVE);
    assert_int_equal(m.presences[1].type, BITSWAP_DONT_HAVE);
    bitswap_msg_clear(&m);
}

static void
test_prefix(void **state)
{
    (void)state;
    static const uint8_t v0[] = {0x00, 0x70, 0x12, 0x20};
    static const uint8_t v0_raw[] = {0x00, 0x55, 0x12, 0x20};
    static const uint8_t v2[] = {0x02, 0x55, 0x12, 0x20};
    static const uint8_t trailing[] = {0x01, 0x55, 0x12, 0x20, 0x00};
    static const uint8_t identity[] = {0x01, 0x55, 0x00, 0x03};
    static const uint8_t blake[] = {0x01, 0x55, 0xa0, 0xe4, 0x02, 0x20};
    bitswap_prefix_t p;
    cid_t c, want;
    buf_t b = BUF_INIT(64);

    assert_int_equal(bitswap_prefix_decode(v0, sizeof v0, &p), 0);
    assert_int_equal(p.version, 0);
    assert_int_equal(bitswap_prefix_cid(&p, (const uint8_t *)"x", 1, &c), 0);
    assert_int_equal(c.version, 0);
    assert_int_equal(bitswap_prefix_encode(&c, &b), 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, v0, 4);
    assert_int_equal(bitswap_prefix_decode(v0_raw, sizeof v0_raw, &p), LS_EINVAL);
    assert_int_equal(bitswap_prefix_decode(v2, sizeof v2, &p), LS_EINVAL);
    assert_int_equal(bitswap_prefix_decode(trailing, sizeof trailing, &p), LS_EINVAL);
    assert_int_equal(bitswap_prefix_decode(v0, 3, &p), LS_EINVAL);

    assert_int_equal(bitswap_prefix_decode(identity, sizeof identity, &p), 0);
    assert_int_equal(bitswap_prefix_cid(&p, (const uint8_t *)"abc", 3, &c), 0);
    assert_int_equal(c.hash.code, MULTIHASH_IDENTITY);
    assert_int_equal(bitswap_prefix_cid(&p, (const uint8_t *)"ab", 2, &c), LS_EINVAL);

    assert_int_equal(bitswap_prefix_decode(blake, sizeof blake, &p), 0);
    assert_int_equal(bitswap_prefix_cid(&p, (const uint8_t *)"ab", 2, &c), LS_ENOTSUP);

    cid_v1_sha256(&want, CID_CODEC_DAG_PB, "abc", 3);
    buf_clear(&b);
    assert_int_equal(bitswap_prefix_encode(&want, &b), 0);
    assert_int_equal(bitswap_prefix_decode(b.data, b.len, &p), 0);
    assert_int_equal(bitswap_prefix_cid(&p, (const uint8_t *)"abc", 3, &c), 0);
    assert_true(cid_equal(&c, &want));
    buf_free(&b);
}

static void
test_unknown_fields_and_priority(void **state)
{
    (void)state;
    cid_t c = empty_cid();
    bitswap_writer_t w;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    bitswap_msg_t m;
    bitswap_writer_init(&w, BITSWAP_V120);
    assert_int_equal(bitswap_writer_want(&w, &c, -5, BITSWAP_WANT_BLOCK, false, false), 0);
    assert_int_equal(bitswap_writer_finish(&w, &b), 0);
    /* unknown varint, fixed64, fixed32 and bytes fields, and pendingBytes */
    static const uint8_t extra[] = {0x30, 0x07, 0x39, 1, 2, 3,    4,    5,    6,    7,   8,
                                    0x45, 1,    2,    3, 4, 0x4a, 0x01, 0xff, 0x28, 0x09};
    assert_int_equal(buf_append(&b, extra, sizeof extra), 0);
    assert_int_equal(bitswap_msg_decode(b.data, b.len, &m), 0);
    assert_int_equal(m.nentries, 1);
    assert_int_equal(m.entries[0].priority, -5);
    assert_int_equal(m.pending_bytes, 9);
    bitswap_msg_clear(&m);
    buf_free(&b);
    bitswap_writer_free(&w);
}

static void
test_malformed(void **state)
{
    (void)state;
    bitswap_msg_t m;
    static const uint8_t truncated[] = {0x0a, 0x05, 0x0a};
    static const uint8_t group[] = {0x0b};
    static const uint8_t field0[] = {0x02, 0x00};
    static const uint8_t bad_cid[] = {0x0a, 0x04, 0x0a, 0x02, 0x0a, 0x00};
    static const uint8_t no_cid[] = {0x0a, 0x04, 0x0a, 0x02, 0x10, 0x01};
    static const uint8_t no_prefix[] = {0x1a, 0x03, 0x12, 0x01, 'x'};
    static const uint8_t wrong_wire[] = {0x0a, 0x02, 0x08, 0x01};
    static const uint8_t long_varint[] = {0x28, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0x7f};
    assert_int_equal(bitswap_msg_decode(truncated, sizeof truncated, &m), LS_EINVAL);
    assert_int_equal(bitswap_msg_decode(group, sizeof group, &m), LS_EINVAL);
    assert_int_equal(bitswap_msg_decode(field0, sizeof field0, &m), LS_EINVAL);
    assert_int_equal(bitswap_msg_decode(bad_cid, sizeof bad_cid, &m), LS_EINVAL);
    assert_int_equal(bitswap_msg_decode(no_cid, sizeof no_cid, &m), LS_EINVAL);
    assert_int_equal(bitswap_msg_decode(no_prefix, sizeof no_prefix, &m), LS_EINVAL);
    assert_int_equal(bitswap_msg_decode(wrong_wire, sizeof wrong_wire, &m), LS_EINVAL);
    assert_int_equal(bitswap_msg_decode(long_varint, sizeof long_varint, &m), LS_EINVAL);
    assert_null(m.entries);
    /* want type 2 and presence type 2 are not in the spec */
    uint8_t bad_type[64] = {0x0a, 0x2a, 0x0a, 0x28, 0x0a, 0x24};
    size_t n = 6 + put_cid(bad_type + 6);
    memcpy(bad_type + n, "\x20\x02", 2);
    assert_int_equal(bitswap_msg_decode(bad_type, n + 2, &m), LS_EINVAL);
    /* empty message is valid */
    assert_int_equal(bitswap_msg_decode(bad_type, 0, &m), 0);
    bitswap_msg_clear(&m);
}

static void
test_limits(void **state)
{
    (void)state;
    bitswap_msg_t m;
    cid_t c = empty_cid();
    uint8_t *big = ls_calloc(1, BITSWAP_MSG_MAX_SIZE + 1);
    assert_int_equal(bitswap_msg_decode(big, BITSWAP_MSG_MAX_SIZE + 1, &m), LS_ETOOBIG);

    /* a block over the block size limit, in both fields */
    size_t bl = BITSWAP_MAX_BLOCK_SIZE + 1;
    big[0] = 0x12;
    size_t h = 1 + varint_encode(bl, big + 1);
    assert_int_equal(bitswap_msg_decode(big, h + bl, &m), LS_ETOOBIG);

    /* one entry over BITSWAP_MSG_MAX_ENTRIES */
    bitswap_writer_t w;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    bitswap_writer_init(&w, BITSWAP_V120);
    for (int i = 0; i <= BITSWAP_MSG_MAX_ENTRIES; i++)
        assert_int_equal(bitswap_writer_want(&w, &c, 1, BITSWAP_WANT_HAVE, false, false), 0);
    assert_int_equal(bitswap_writer_finish(&w, &b), 0);
    assert_int_equal(bitswap_msg_decode(b.data, b.len, &m), LS_ETOOBIG);
    bitswap_writer_free(&w);
    buf_free(&b);

    /* writer refuses a block over the limit */
    bitswap_writer_init(&w, BITSWAP_V120);
    assert_int_equal(bitswap_writer_block(&w, &c, big, bl), LS_ETOOBIG);
    assert_true(bitswap_writer_is_empty(&w));
    bitswap_writer_free(&w);
    free(big);
}

static void
test_frame(void **state)
{
    (void)state;
    static const uint8_t f[] = {0x03, 'a', 'b', 'c', 0x01};
    const uint8_t *body;
    size_t len;
    assert_int_equal(bitswap_msg_frame_decode(f, sizeof f, 0, &body, &len), 4);
    assert_int_equal(len, 3);
    assert_ptr_equal(body, f + 1);
    assert_int_equal(bitswap_msg_frame_decode(f, 3, 0, &body, &len), LS_EAGAIN);
    assert_int_equal(bitswap_msg_frame_decode(f, 0, 0, &body, &len), LS_EAGAIN);
    assert_int_equal(bitswap_msg_frame_decode(f, sizeof f, 2, &body, &len), LS_ETOOBIG);
    static const uint8_t huge[] = {0x81, 0x80, 0x80, 0x02};
    assert_int_equal(bitswap_msg_frame_decode(huge, sizeof huge, 0, &body, &len), LS_ETOOBIG);
}

/* Blocks written in place (block_begin, the bytes appended by the caller, block_end)
 * and finished as a frame give byte for byte what the copying writer gives. */
static void
framed_equals_plain(int version, size_t blen)
{
    uint8_t *data = ls_malloc(blen + 1);
    for (size_t i = 0; i < blen + 1; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    cid_t c1 = empty_cid(), c2;
    cid_v1_sha256(&c2, CID_CODEC_DAG_PB, data, blen);
    bitswap_writer_t a, f;
    buf_t plain = BUF_INIT(BUF_UNLIMITED);
    bitswap_writer_init(&a, version);
    bitswap_writer_init_framed(&f, version);
    for (int round = 0; round < 2; round++) { /* the second after a reset */
        assert_int_equal(bitswap_writer_block(&a, &c2, data, blen), 0);
        assert_int_equal(bitswap_writer_block(&a, &c1, data, 1), 0);
        assert_int_equal(bitswap_writer_block_begin(&f, &c2, blen), 0);
        assert_int_equal(bitswap_writer_block_begin(&f, &c1, 1), LS_EINVAL); /* one open */
        assert_int_equal(bitswap_writer_presence(&f, &c1, BITSWAP_HAVE), LS_EINVAL);
        assert_int_equal(buf_append(&f.blocks, data, blen), 0);
        assert_int_equal(bitswap_writer_block_end(&f, true), 0);
        assert_int_equal(bitswap_writer_block(&f, &c1, data, 1), 0);
        if (version >= BITSWAP_V120) {
            assert_int_equal(bitswap_writer_presence(&a, &c1, BITSWAP_DONT_HAVE), 0);
            assert_int_equal(bitswap_writer_presence(&f, &c1, BITSWAP_DONT_HAVE), 0);
        }
        size_t size = bitswap_writer_size(&a), start;
        assert_int_equal(bitswap_writer_size(&f), size);
        buf_clear(&plain);
        assert_int_equal(bitswap_writer_finish(&a, &plain), 0);
        assert_int_equal(bitswap_writer_finish_frame(&f, &start), 0);
        const uint8_t *body;
        size_t len;
        int n = bitswap_msg_frame_decode(f.blocks.data + start, f.blocks.len - start, 0, &body,
                                         &len);
        assert_int_equal(n, f.blocks.len - start);
        assert_int_equal(len, plain.len);
        assert_memory_equal(body, plain.data, len);
        bitswap_writer_reset(&f);
        assert_true(bitswap_writer_is_empty(&f));
        assert_int_equal(bitswap_writer_size(&f), 0);
    }
    /* a short read or a failed one takes the block back out entirely */
    assert_int_equal(bitswap_writer_block(&f, &c1, data, 1), 0);
    size_t before = bitswap_writer_size(&f);
    assert_int_equal(bitswap_writer_block_begin(&f, &c2, blen), 0);
    assert_int_equal(buf_append(&f.blocks, data, blen - 1), 0);
    assert_int_equal(bitswap_writer_block_end(&f, true), LS_EINVAL);
    assert_int_equal(bitswap_writer_size(&f), before);
    assert_int_equal(bitswap_writer_block_begin(&f, &c2, blen), 0);
    assert_int_equal(buf_append(&f.blocks, data, blen + 1), 0);
    assert_int_equal(bitswap_writer_block_end(&f, true), LS_EINVAL);
    assert_int_equal(bitswap_writer_block_begin(&f, &c2, blen), 0);
    assert_int_equal(bitswap_writer_block_end(&f, false), LS_EINVAL);
    assert_int_equal(bitswap_writer_size(&f), before);
    assert_int_equal(bitswap_writer_block_end(&f, true), LS_EINVAL); /* none open */
    /* a framed writer serves: it takes no wants; a plain one cannot finish framed */
    assert_int_equal(bitswap_writer_want(&f, &c1, 1, BITSWAP_WANT_BLOCK, false, false),
                     LS_EINVAL);
    size_t start;
    assert_int_equal(bitswap_writer_finish_frame(&a, &start), LS_EINVAL);
    bitswap_writer_free(&a);
    bitswap_writer_free(&f);
    buf_free(&plain);
    free(data);
}

static void
test_framed_in_place(void **state)
{
    (void)state;
    static const int versions[] = {BITSWAP_V100, BITSWAP_V110, BITSWAP_V120};
    for (size_t i = 0; i < 3; i++) {
        framed_equals_plain(versions[i], 100);
        framed_equals_plain(versions[i], 256 * 1024); /* three-byte length varints */
    }
}

static void
test_reencode_versions(void **state)
{
    (void)state;
    cid_t c;
    cid_v1_sha256(&c, CID_CODEC_RAW, "abc", 3);
    bitswap_writer_t w;
    buf_t a = BUF_INIT(BUF_UNLIMITED), b10 = BUF_INIT(BUF_UNLIMITED);
    bitswap_msg_t m;
    bitswap_writer_init(&w, BITSWAP_V120);
    assert_int_equal(bitswap_writer_want(&w, &c, 3, BITSWAP_WANT_HAVE, true, false), 0);
    assert_int_equal(bitswap_writer_want(&w, &c, 3, BITSWAP_WANT_BLOCK, false, false), 0);
    assert_int_equal(bitswap_writer_block(&w, &c, (const uint8_t *)"abc", 3), 0);
    assert_int_equal(bitswap_writer_presence(&w, &c, BITSWAP_DONT_HAVE), 0);
    assert_int_equal(bitswap_writer_finish(&w, &a), 0);
    assert_int_equal(bitswap_msg_decode(a.data, a.len, &m), 0);
    assert_int_equal(bitswap_msg_encode(&m, BITSWAP_V100, &b10), 0);
    bitswap_msg_clear(&m);
    /* 1.0.0: the want-have and the presence are dropped, the block is raw */
    assert_int_equal(bitswap_msg_decode(b10.data, b10.len, &m), 0);
    assert_int_equal(m.nentries, 1);
    assert_int_equal(m.npresences, 0);
    assert_int_equal(m.nblocks, 1);
    assert_false(m.blocks[0].has_prefix);
    bitswap_msg_clear(&m);
    assert_int_equal(bitswap_version_of("/ipfs/bitswap/1.2.0"), BITSWAP_V120);
    assert_int_equal(bitswap_version_of("/ipfs/bitswap"), BITSWAP_V100);
    assert_int_equal(bitswap_version_of("/ipfs/kad/1.0.0"), 0);
    buf_free(&a);
    buf_free(&b10);
    bitswap_writer_free(&w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_want_block_vector),
        cmocka_unit_test(test_want_have_cancel_full_vector),
        cmocka_unit_test(test_blocks_vectors),
        cmocka_unit_test(test_presence_vectors),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_unknown_fields_and_priority),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_frame),
        cmocka_unit_test(test_framed_in_place),
        cmocka_unit_test(test_reencode_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
