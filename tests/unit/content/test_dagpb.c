#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "content/dagpb/dagpb.h"
#include "content/dagpb/pbwire.h"
#include "lib/err/err.h"

/* A link to the raw block "a": 0a 24 <cidv1 raw sha256> 12 01 'x' 18 01 */
static size_t
make_link(uint8_t *out, const char *name, int order_swap)
{
    cid_t cid;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    size_t n = 0;

    cid_v1_sha256(&cid, CID_CODEC_RAW, "a", 1);
    cid_to_bytes(&cid, &b);
    uint8_t hash[64], nm[32];
    size_t hl = 0, nl = 0;
    hash[hl++] = 0x0a;
    hash[hl++] = (uint8_t)b.len;
    memcpy(hash + hl, b.data, b.len);
    hl += b.len;
    nm[nl++] = 0x12;
    nm[nl++] = (uint8_t)strlen(name);
    memcpy(nm + nl, name, strlen(name));
    nl += strlen(name);
    out[n++] = 0x12; /* PBNode.Links */
    out[n++] = (uint8_t)(hl + nl + 2);
    memcpy(out + n, order_swap ? nm : hash, order_swap ? nl : hl);
    n += order_swap ? nl : hl;
    memcpy(out + n, order_swap ? hash : nm, order_swap ? hl : nl);
    n += order_swap ? hl : nl;
    out[n++] = 0x18;
    out[n++] = 0x01;
    buf_free(&b);
    return n;
}

static void
test_dagpb_empty_block(void **state)
{
    dagpb_node_t n;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    cid_t cid;
    buf_t s = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    assert_int_equal(dagpb_decode((const uint8_t *)"", 0, &n), 0);
    assert_false(n.has_data);
    assert_int_equal(n.n_links, 0);
    assert_int_equal(dagpb_encode(&n, &b), 0);
    assert_int_equal(b.len, 0);
    /* spec "Zero-length blocks": the CIDv1 of the empty dag-pb block */
    cid_v1_sha256(&cid, CID_CODEC_DAG_PB, "", 0);
    cid_to_string(&cid, &s);
    assert_string_equal(buf_cstr(&s),
                        "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
    buf_free(&b);
    buf_free(&s);
}

static void
test_dagpb_round_trip_links_then_data(void **state)
{
    uint8_t blk[256];
    size_t n = make_link(blk, "x", 0);
    dagpb_node_t node;
    buf_t out = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    memcpy(blk + n, "\x0a\x02\x08\x01", 4); /* Data: UnixFS directory */
    n += 4;
    assert_int_equal(dagpb_decode(blk, n, &node), 0);
    assert_int_equal(node.n_links, 1);
    assert_true(node.links[0].has_name && node.links[0].name_len == 1 &&
                node.links[0].name[0] == 'x');
    assert_true(node.links[0].has_tsize && node.links[0].tsize == 1);
    assert_int_equal(node.links[0].cid.codec, CID_CODEC_RAW);
    assert_true(node.has_data && node.data_len == 2);
    assert_int_equal(dagpb_encoded_len(&node), n);
    assert_int_equal(dagpb_encode(&node, &out), 0);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.data, blk, n);
    dagpb_node_clear(&node);
    buf_free(&out);
}

static void
test_dagpb_accepts_data_before_links(void **state)
{
    uint8_t blk[256];
    dagpb_node_t node;

    (void)state;
    memcpy(blk, "\x0a\x02\x08\x01", 4);
    size_t n = 4 + make_link(blk + 4, "x", 0);
    assert_int_equal(dagpb_decode(blk, n, &node), 0);
    assert_int_equal(node.n_links, 1);
    dagpb_node_clear(&node);
}

static void
test_dagpb_rejects_malformed(void **state)
{
    uint8_t blk[512];
    dagpb_node_t node;
    size_t n;

    (void)state;
    /* PBLink fields out of order: Name before Hash */
    n = make_link(blk, "x", 1);
    assert_int_equal(dagpb_decode(blk, n, &node), LS_ENONCANON);
    /* Links, Data, Links */
    n = make_link(blk, "a", 0);
    memcpy(blk + n, "\x0a\x00", 2);
    n += 2;
    n += make_link(blk + n, "b", 0);
    assert_int_equal(dagpb_decode(blk, n, &node), LS_EINVAL);
    /* duplicate Data */
    assert_int_equal(dagpb_decode((const uint8_t *)"\x0a\x00\x0a\x00", 4, &node), LS_EINVAL);
    /* unknown field 3, wrong wire type for Data, truncated length */
    assert_int_equal(dagpb_decode((const uint8_t *)"\x1a\x00", 2, &node), LS_EINVAL);
    assert_int_equal(dagpb_decode((const uint8_t *)"\x08\x00", 2, &node), LS_EINVAL);
    assert_int_equal(dagpb_decode((const uint8_t *)"\x0a\x05\x00", 3, &node), LS_EINVAL);
    /* non-minimal length varint */
    assert_int_equal(dagpb_decode((const uint8_t *)"\x0a\x80\x00", 3, &node), LS_EINVAL);
    /* a link without Hash, a Hash that is not a CID, a Hash with trailing bytes */
    assert_int_equal(dagpb_decode((const uint8_t *)"\x12\x03\x12\x01x", 5, &node), LS_EINVAL);
    assert_int_equal(dagpb_decode((const uint8_t *)"\x12\x04\x0a\x02\x01\x55", 6, &node),
                     LS_EINVAL);
    n = make_link(blk, "x", 0);
    blk[1]++;
    blk[3]++;
    memmove(blk + 4 + blk[3], blk + 4 + blk[3] - 1, n - (4 + blk[3] - 1));
    blk[4 + blk[3] - 1] = 0;
    assert_int_equal(dagpb_decode(blk, n + 1, &node), LS_EINVAL);
    /* duplicate Tsize */
    n = make_link(blk, "x", 0);
    blk[1] += 2;
    blk[n++] = 0x18;
    blk[n++] = 0x02;
    assert_int_equal(dagpb_decode(blk, n, &node), LS_EINVAL);
    /* too big */
    uint8_t *big = calloc(1, DAGPB_MAX_BLOCK + 1);
    assert_int_equal(dagpb_decode(big, DAGPB_MAX_BLOCK + 1, &node), LS_ETOOBIG);
    free(big);
    assert_int_equal(node.n_links, 0);
    assert_null(node.links);
}

static void
test_dagpb_sorting(void **state)
{
    dagpb_link_t l[4] = {0};
    const char *names[4] = {"b", "", "ab", ""};
    dagpb_node_t node = {.links = l, .n_links = 4};
    buf_t out = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    for (int i = 0; i < 4; i++) {
        cid_v1_sha256(&l[i].cid, CID_CODEC_RAW, &i, sizeof i);
        l[i].name = (const uint8_t *)names[i];
        l[i].name_len = strlen(names[i]);
        l[i].has_name = true;
    }
    assert_int_equal(dagpb_encode(&node, &out), LS_EINVAL); /* not sorted */
    assert_int_equal(out.len, 0);
    cid_t first_empty = l[1].cid;
    dagpb_sort_links(l, 4);
    assert_int_equal(l[0].name_len, 0);
    assert_true(cid_equal(&l[0].cid, &first_empty)); /* stable */
    assert_int_equal(l[2].name[0], 'a');
    assert_int_equal(l[3].name[0], 'b');
    assert_int_equal(dagpb_encode(&node, &out), 0);
    buf_free(&out);
}

static void
test_pbwire_varints(void **state)
{
    uint8_t b[PBWIRE_VARINT_MAX];
    static const uint8_t max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    uint64_t v;
    size_t pos = 0;

    (void)state;
    assert_int_equal(pbwire_put_varint(b, UINT64_MAX), 10);
    assert_memory_equal(b, max, 10);
    assert_int_equal(pbwire_read_varint(max, 10, &pos, &v), 0);
    assert_true(v == UINT64_MAX && pos == 10);
    pos = 0;
    assert_int_equal(pbwire_read_varint(over, 10, &pos, &v), LS_EINVAL);
    assert_int_equal(pbwire_read_varint(max, 5, &pos, &v), LS_EAGAIN);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dagpb_empty_block),
        cmocka_unit_test(test_dagpb_round_trip_links_then_data),
        cmocka_unit_test(test_dagpb_accepts_data_before_links),
        cmocka_unit_test(test_dagpb_rejects_malformed),
        cmocka_unit_test(test_dagpb_sorting),
        cmocka_unit_test(test_pbwire_varints),
    };
    return cmocka_run_group_tests_name("content/dagpb", tests, NULL, NULL);
}
