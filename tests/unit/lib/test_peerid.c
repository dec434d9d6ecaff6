#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/crypto/ed25519.h"
#include "lib/err/err.h"
#include "lib/multibase/multibase.h"
#include "lib/peerid/peerid.h"

/* libp2p/specs peer-ids/peer-ids.md "Test vectors" (Ed25519, secp256k1, ECDSA) */
#define ED_PRIV_HEX                                                                                \
    "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2"           \
    "c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
#define ED_PUB_HEX "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
#define ED_PEER_ID "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"
#define ED_PEER_CID "bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6"
#define SECP_PUB_HEX "08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99"
#define SECP_PEER_ID "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY"
#define ECDSA_PUB_HEX                                                                              \
    "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de3d300fa36ae0e8f5d5"           \
    "30899d83abab44abf3161f162a4bc901d8e6ecda020e8b6d5f8da30525e71d6851510c098e5c47c646"           \
    "a597fb4dcec034e9f77c409e62"
#define ECDSA_PEER_ID "QmVMT29id3TUASyfZZ6k9hmNyc2nYabCo4uMSpDw4zrgDk"

static buf_t
hex(const char *s)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(base16_decode(s, strlen(s), &b), 0);
    return b;
}

static void
check_text(const peer_id_t *id, const char *want)
{
    char *s = peer_id_to_str(id);
    assert_string_equal(s, want);
    free(s);
}

static void
test_peerid_ed25519_spec_vector(void **state)
{
    buf_t priv = hex(ED_PRIV_HEX), pub = hex(ED_PUB_HEX), enc = BUF_INIT(256);
    const uint8_t *key;
    size_t keylen;
    int type;
    ed25519_keypair_t kp;
    peer_id_t a, b, c;
    uint8_t pk[32];

    (void)state;
    assert_int_equal(privkey_proto_decode(priv.data, priv.len, &type, &key, &keylen), 0);
    assert_int_equal(type, PEER_KEY_ED25519);
    assert_int_equal(keylen, 64);
    ed25519_keypair_from_seed(&kp, key); /* the seed derives the stored public half */
    assert_memory_equal(kp.pk, key + 32, 32);
    assert_memory_equal(kp.pk, pub.data + 4, 32);
    assert_int_equal(privkey_proto_encode(type, key, keylen, &enc), 0);
    assert_int_equal(enc.len, priv.len);
    assert_memory_equal(enc.data, priv.data, priv.len);
    buf_clear(&enc);
    assert_int_equal(pubkey_proto_encode(PEER_KEY_ED25519, kp.pk, 32, &enc), 0);
    assert_memory_equal(enc.data, pub.data, pub.len);

    peer_id_from_ed25519(&a, kp.pk);
    assert_int_equal(peer_id_from_pubkey_proto(&b, pub.data, pub.len), 0);
    assert_int_equal(peer_id_from_string(&c, ED_PEER_ID), 0);
    assert_true(peer_id_equal(&a, &b) && peer_id_equal(&a, &c));
    assert_int_equal(a.len, 38); /* identity: 00 24 + 36-byte protobuf */
    check_text(&a, ED_PEER_ID);
    assert_true(peer_id_ed25519_pubkey(&a, pk));
    assert_memory_equal(pk, kp.pk, 32);

    buf_clear(&enc);
    assert_int_equal(peer_id_to_cid_string(&a, &enc), 0);
    assert_string_equal(buf_cstr(&enc), ED_PEER_CID);
    assert_int_equal(peer_id_from_string(&c, ED_PEER_CID), 0);
    assert_true(peer_id_equal(&a, &c));
    ed25519_keypair_wipe(&kp);
    buf_wipe(&priv);
    buf_free(&pub);
    buf_wipe(&enc);
}

static void
test_peerid_other_key_types(void **state)
{
    buf_t secp = hex(SECP_PUB_HEX), ecdsa = hex(ECDSA_PUB_HEX);
    peer_id_t a, b;
    uint8_t pk[32];
    const uint8_t *proto;
    size_t len;

    (void)state;
    assert_int_equal(peer_id_from_pubkey_proto(&a, secp.data, secp.len), 0); /* 37 <= 42 */
    check_text(&a, SECP_PEER_ID);
    assert_false(peer_id_ed25519_pubkey(&a, pk));
    assert_true(peer_id_pubkey_proto(&a, &proto, &len));
    assert_int_equal(len, secp.len);
    assert_memory_equal(proto, secp.data, len);

    assert_int_equal(peer_id_from_pubkey_proto(&b, ecdsa.data, ecdsa.len), 0); /* 95: hashed */
    assert_int_equal(b.len, 34);
    check_text(&b, ECDSA_PEER_ID);
    assert_false(peer_id_pubkey_proto(&b, &proto, &len));
    assert_false(peer_id_equal(&a, &b));
    assert_true(peer_id_cmp(&a, &b) < 0); /* 0x00 identity sorts before 0x12 */
    assert_true(peer_id_cmp(&b, &a) > 0);
    assert_int_equal(peer_id_cmp(&a, &a), 0);
    buf_free(&secp);
    buf_free(&ecdsa);
}

static void
test_pubkey_proto_strictness(void **state)
{
    static const uint8_t reordered[] = {0x12, 0x01, 0xaa, 0x08, 0x02};
    static const uint8_t dup_type[] = {0x08, 0x02, 0x08, 0x02, 0x12, 0x01, 0xaa};
    static const uint8_t unknown[] = {0x08, 0x02, 0x12, 0x01, 0xaa, 0x18, 0x00};
    static const uint8_t no_data[] = {0x08, 0x02};
    static const uint8_t no_type[] = {0x12, 0x01, 0xaa};
    static const uint8_t empty_data[] = {0x08, 0x02, 0x12, 0x00};
    static const uint8_t bad_type[] = {0x08, 0x07, 0x12, 0x01, 0xaa};
    static const uint8_t overrun[] = {0x08, 0x02, 0x12, 0x05, 0xaa};
    static const uint8_t nonmin[] = {0x08, 0x82, 0x00, 0x12, 0x01, 0xaa};
    static const uint8_t ed_short[] = {0x08, 0x01, 0x12, 0x01, 0xaa};
    static const uint8_t huge[] = {0x08, 0x00, 0x12, 0x81, 0x40}; /* 8193 bytes */
    static const uint8_t ok[] = {0x08, 0x02, 0x12, 0x01, 0xaa};
    const uint8_t *key = NULL;
    size_t keylen = 0;
    int type = -1;

    (void)state;
#define DEC(m) pubkey_proto_decode(m, sizeof m, &type, &key, &keylen)
    assert_int_equal(DEC(reordered), LS_ENONCANON);
    assert_int_equal(DEC(dup_type), LS_EINVAL);
    assert_int_equal(DEC(unknown), LS_EINVAL);
    assert_int_equal(DEC(no_data), LS_EINVAL);
    assert_int_equal(DEC(no_type), LS_EINVAL);
    assert_int_equal(DEC(empty_data), LS_EINVAL);
    assert_int_equal(DEC(bad_type), LS_ENOTSUP);
    assert_int_equal(DEC(overrun), LS_EINVAL);
    assert_int_equal(DEC(nonmin), LS_EINVAL);
    assert_int_equal(DEC(ed_short), LS_EINVAL);
    assert_int_equal(DEC(huge), LS_ETOOBIG);
    assert_int_equal(type, -1); /* outputs untouched on error */
    for (size_t n = 0; n < sizeof ok; n++)
        assert_int_not_equal(pubkey_proto_decode(ok, n, &type, &key, &keylen), 0);
    assert_int_equal(DEC(ok), 0);
    assert_int_equal(type, PEER_KEY_SECP256K1);
    assert_int_equal(keylen, 1);
    assert_ptr_equal(key, ok + 4);
#undef DEC
}

static void
test_privkey_legacy_and_errors(void **state)
{
    uint8_t key96[96], msg[4 + 96];
    const uint8_t *key;
    size_t keylen;
    int type;
    buf_t b = BUF_INIT(16);

    (void)state;
    for (size_t i = 0; i < 32; i++) {
        key96[i] = (uint8_t)i;
        key96[32 + i] = key96[64 + i] = (uint8_t)(0x80 + i);
    }
    memcpy(msg, "\x08\x01\x12\x60", 4);
    memcpy(msg + 4, key96, 96);
    assert_int_equal(privkey_proto_decode(msg, sizeof msg, &type, &key, &keylen), 0);
    assert_int_equal(keylen, 64); /* seed || pk || pk read as seed || pk */
    msg[sizeof msg - 1] ^= 1;     /* the two public keys differ */
    assert_int_equal(privkey_proto_decode(msg, sizeof msg, &type, &key, &keylen), LS_EINVAL);

    assert_int_equal(pubkey_proto_encode(9, key96, 32, &b), LS_ENOTSUP);
    assert_int_equal(pubkey_proto_encode(PEER_KEY_ED25519, key96, 31, &b), LS_EINVAL);
    assert_int_equal(pubkey_proto_encode(PEER_KEY_RSA, key96, 0, &b), LS_EINVAL);
    assert_int_equal(privkey_proto_encode(PEER_KEY_ED25519, key96, 96, &b), LS_EINVAL);
    assert_int_equal(pubkey_proto_encode(PEER_KEY_RSA, key96, 20, &b), LS_ETOOBIG); /* buf */
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void
test_peerid_rejects(void **state)
{
    static const uint8_t sha_short[] = {0x12, 0x20, 0x01};
    static const uint8_t md5ish[] = {0xd5, 0x01, 0x02, 0xaa, 0xbb};
    static const uint8_t ident_junk[] = {0x00, 0x02, 0xaa, 0xbb};
    char huge[PEER_ID_MAX_STRING + 2];
    peer_id_t id = {0}, ed;
    buf_t b = BUF_INIT(256);
    uint8_t pk[32] = {1};

    (void)state;
    assert_int_equal(peer_id_from_bytes(&id, sha_short, sizeof sha_short), LS_EINVAL);
    assert_int_equal(peer_id_from_bytes(&id, md5ish, sizeof md5ish), LS_ENOTSUP);
    assert_int_equal(peer_id_from_bytes(&id, ident_junk, sizeof ident_junk), LS_EINVAL);
    assert_int_equal(peer_id_from_bytes(&id, sha_short, 0), LS_EINVAL);
    assert_int_equal(peer_id_from_string(&id, ""), LS_EINVAL);
    assert_int_equal(
        peer_id_from_string(&id, "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3p"),
        LS_EINVAL); /* one character short */
    assert_int_equal(
        peer_id_from_string(&id, "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3p0"),
        LS_EINVAL);
    /* a CID of another codec is not a peer ID */
    assert_int_equal(
        peer_id_from_string(&id, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
        LS_EINVAL);
    memset(huge, '1', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(peer_id_from_string(&id, huge), LS_ETOOBIG);
    assert_int_equal(id.len, 0); /* untouched */

    assert_int_equal(peer_id_to_string(&id, &b), LS_EINVAL); /* empty id */
    assert_int_equal(peer_id_to_cid_string(&id, &b), LS_EINVAL);
    char *s = peer_id_to_str(&id);
    assert_string_equal(s, "");
    free(s);
    char shortform[PEER_ID_SHORT_LEN];
    peer_id_short(&id, shortform);
    assert_string_equal(shortform, "<invalid>");
    peer_id_from_ed25519(&ed, pk);
    assert_int_equal(peer_id_from_bytes(&id, ed.bytes, ed.len), 0);
    assert_true(peer_id_equal(&id, &ed));
    buf_free(&b);
}

static void
test_peerid_short_form(void **state)
{
    peer_id_t id;
    char out[PEER_ID_SHORT_LEN];

    (void)state;
    assert_int_equal(peer_id_from_string(&id, ED_PEER_ID), 0);
    peer_id_short(&id, out);
    assert_string_equal(out, "12*aqUmo7R3pq");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peerid_ed25519_spec_vector),
        cmocka_unit_test(test_peerid_other_key_types),
        cmocka_unit_test(test_pubkey_proto_strictness),
        cmocka_unit_test(test_privkey_legacy_and_errors),
        cmocka_unit_test(test_peerid_rejects),
        cmocka_unit_test(test_peerid_short_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
