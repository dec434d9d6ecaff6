#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dht/kadmsg.h"
#include "lib/buf/buf.h"
#include "lib/err/err.h"
#include "lib/mem/mem.h"

#define B(s) (const uint8_t *)(s), (sizeof(s) - 1)

static kadmsg_t *
msg_new(void)
{
    return ls_calloc(1, sizeof(kadmsg_t));
}

static void
assert_encodes(const kadmsg_t *m, const uint8_t *want, size_t len)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(kadmsg_encode(m, &b), 0);
    assert_int_equal(b.len, len);
    if (len)
        assert_memory_equal(b.data, want, len);
    buf_free(&b);
}

/* Known answers written by hand from the .proto: tag = field << 3 | wire type. */
static void
test_find_node_vector(void **state)
{
    (void)state;
    static const uint8_t want[] = {0x08, 0x04, 0x12, 0x03, 'a', 'b', 'c'};
    kadmsg_t *m = msg_new();
    kadmsg_init(m, KADMSG_FIND_NODE);
    m->key = (kadmsg_bytes_t){(const uint8_t *)"abc", 3};
    assert_encodes(m, want, sizeof want);

    assert_int_equal(kadmsg_decode(want, sizeof want, m), 0);
    assert_int_equal(m->type, KADMSG_FIND_NODE);
    assert_int_equal(m->key.len, 3);
    assert_memory_equal(m->key.p, "abc", 3);
    assert_false(m->has_record);
    free(m);
}

static void
test_peers_and_record_round_trip(void **state)
{
    (void)state;
    /* closerPeers { id "P1" addrs "A" addrs "BB" connection 1 }, record { key "k"
     * value "v" timeReceived "t" }, clusterLevelRaw -1 (ten-byte varint) */
    static const uint8_t want[] = {0x08, 0x01, 0x12, 0x01, 'k',  0x1a, 0x09, 0x0a, 0x01, 'k',  0x12,
                                   0x01, 'v',  0x2a, 0x01, 't',  0x42, 0x0d, 0x0a, 0x02, 'P',  '1',
                                   0x12, 0x01, 'A',  0x12, 0x02, 'B',  'B',  0x18, 0x01, 0x50, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    kadmsg_t *m = msg_new();
    assert_int_equal(kadmsg_decode(want, sizeof want, m), 0);
    assert_int_equal(m->type, KADMSG_GET_VALUE);
    assert_true(m->has_record);
    assert_memory_equal(m->record.value.p, "v", 1);
    assert_int_equal(m->ncloser, 1);
    assert_int_equal(m->closer[0].naddrs, 2);
    assert_memory_equal(m->closer[0].addrs[1].p, "BB", 2);
    assert_int_equal(m->closer[0].connection, KADMSG_CONNECTED);
    assert_int_equal(m->cluster_level, -1);
    assert_encodes(m, want, sizeof want);
    free(m);
}

static void
test_meta_extension_and_unknown_fields(void **state)
{
    (void)state;
    /* providerPeers { id "P" field100 "M" field7(varint) 5 }, unknown top field 20 */
    static const uint8_t in[] = {0x08, 0x03, 0x4a, 0x09, 0x0a, 0x01, 'P',  0xa2,
                                 0x06, 0x01, 'M',  0x38, 0x05, 0xa0, 0x01, 0x07};
    kadmsg_t *m = msg_new();
    assert_int_equal(kadmsg_decode(in, sizeof in, m), 0);
    assert_int_equal(m->nproviders, 1);
    assert_int_equal(m->providers[0].meta.len, 1);
    assert_memory_equal(m->providers[0].meta.p, "M", 1);
    free(m);
}

static void
test_rejects_malformed(void **state)
{
    (void)state;
    kadmsg_t *m = msg_new();
    assert_int_equal(kadmsg_decode(B("\x08\x06"), m), LS_EINVAL); /* type 6 */
    assert_int_equal(kadmsg_decode(B("\x12\x05"
                                     "ab"),
                                   m),
                     LS_EINVAL);                                          /* truncated */
    assert_int_equal(kadmsg_decode(B("\x13"), m), LS_EINVAL);             /* group */
    assert_int_equal(kadmsg_decode(B("\x10\x01"), m), LS_EINVAL);         /* key as varint */
    assert_int_equal(kadmsg_decode(B("\x00\x01"), m), LS_EINVAL);         /* field 0 */
    assert_int_equal(kadmsg_decode(B("\x42\x02\x08\x01"), m), LS_EINVAL); /* peer id varint */
    assert_int_equal(kadmsg_decode(B("\x50\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"), m),
                     LS_EINVAL);                    /* varint overflow */
    assert_int_equal(kadmsg_decode(NULL, 0, m), 0); /* empty = PUT_VALUE */
    uint8_t *big = ls_calloc(1, KADMSG_MAX_SIZE + 1);
    assert_int_equal(kadmsg_decode(big, KADMSG_MAX_SIZE + 1, m), LS_ETOOBIG);
    free(big);
    free(m);
}

static void
test_peer_and_addr_limits(void **state)
{
    (void)state;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    buf_append(&b, "\x08\x04", 2);
    for (int i = 0; i < KADMSG_MAX_PEERS + 5; i++) {
        uint8_t peer[2 + 3 + 2 * (KADMSG_MAX_ADDRS + 3)];
        size_t n = 0;
        peer[n++] = 0x42;
        peer[n++] = (uint8_t)(3 + 2 * (KADMSG_MAX_ADDRS + 3));
        peer[n++] = 0x0a, peer[n++] = 1, peer[n++] = (uint8_t)i;
        for (int a = 0; a < KADMSG_MAX_ADDRS + 3; a++)
            peer[n++] = 0x12, peer[n++] = 0;
        buf_append(&b, peer, n);
    }
    kadmsg_t *m = msg_new();
    assert_int_equal(kadmsg_decode(b.data, b.len, m), 0);
    assert_int_equal(m->ncloser, KADMSG_MAX_PEERS);
    assert_int_equal(m->closer[3].naddrs, KADMSG_MAX_ADDRS);
    assert_int_equal(m->closer[3].id.p[0], 3);
    buf_free(&b);
    free(m);
}

static void
test_frames(void **state)
{
    (void)state;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    const uint8_t *body;
    size_t len;
    assert_int_equal(kadmsg_frame_append(&b, B("\x08\x05")), 0);
    assert_int_equal(b.len, 3);
    assert_int_equal(kadmsg_frame_decode(b.data, 2, &body, &len), LS_EAGAIN);
    assert_int_equal(kadmsg_frame_decode(b.data, b.len, &body, &len), 3);
    assert_int_equal(len, 2);
    assert_int_equal(kadmsg_frame_decode(B("\x80"), &body, &len), LS_EAGAIN);
    assert_int_equal(kadmsg_frame_decode(B("\x80\x80\x80\x01"), &body, &len), LS_ETOOBIG);
    assert_int_equal(kadmsg_frame_decode(B("\x80\x00"), &body, &len), LS_EINVAL);
    buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_node_vector),
        cmocka_unit_test(test_peers_and_record_round_trip),
        cmocka_unit_test(test_meta_extension_and_unknown_fields),
        cmocka_unit_test(test_rejects_malformed),
        cmocka_unit_test(test_peer_and_addr_limits),
        cmocka_unit_test(test_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
