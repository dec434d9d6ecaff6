/* Tests of pubsub/rpc: byte-exact RPC vectors (hand-assembled from the spec's
 * rpc.proto), limits, StrictSign signing/verification and message IDs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/err/err.h"
#include "pubsub/rpc/pubsub_msg.h"
#include "pubsub/rpc/pubsub_rpc.h"

#include "../lib/libp2p_keys_fixture.h"

#define BIN(s) ((ProtobufCBinaryData){sizeof(s) - 1, (uint8_t *)(s)})

/* Message{from "AB", data "hi", seqno 1, topic "t"} */
static const uint8_t msg_bytes[] = {
    0x0a, 0x02, 'A', 'B', 0x12, 0x02, 'h', 'i', 0x1a, 0x08, 0, 0, 0, 0, 0, 0, 0, 1, 0x22, 0x01, 't',
};

/* RPC{subscriptions [{true, "t"}], publish [msg], control {ihave [{"t", ["x"]}],
 * iwant [{["x"]}], graft [{"t"}], prune [{"t", backoff 60}], idontwant [{["y"]}]}} */
static const uint8_t rpc_bytes[] = {
    0x0a, 0x05, 0x08, 0x01, 0x12, 0x01, 't',  0x12, 0x15, 0x0a, 0x02, 'A',  'B',  0x12, 0x02, 'h',
    'i',  0x1a, 0x08, 0,    0,    0,    0,    0,    0,    0,    1,    0x22, 0x01, 't',  0x1a, 0x1e,
    0x0a, 0x06, 0x0a, 0x01, 't',  0x12, 0x01, 'x',  0x12, 0x03, 0x0a, 0x01, 'x',  0x1a, 0x03, 0x0a,
    0x01, 't',  0x22, 0x05, 0x0a, 0x01, 't',  0x18, 0x3c, 0x2a, 0x03, 0x0a, 0x01, 'y',
};

static void
fill_msg(PubsubPb__Message *m)
{
    static uint8_t seqno[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    pubsub_pb__message__init(m);
    m->has_from = m->has_data = m->has_seqno = m->has_topic = 1;
    m->from = BIN("AB");
    m->data = BIN("hi");
    m->seqno = (ProtobufCBinaryData){8, seqno};
    m->topic = BIN("t");
}

static void
test_encode_vector(void **state)
{
    PubsubPb__RPC rpc;
    PubsubPb__RPC__SubOpts sub;
    PubsubPb__Message msg, *msgs[1] = {&msg};
    PubsubPb__RPC__SubOpts *subs[1] = {&sub};
    PubsubPb__ControlMessage ctl;
    PubsubPb__ControlIHave ihave, *ihaves[1] = {&ihave};
    PubsubPb__ControlIWant iwant, *iwants[1] = {&iwant};
    PubsubPb__ControlGraft graft, *grafts[1] = {&graft};
    PubsubPb__ControlPrune prune, *prunes[1] = {&prune};
    PubsubPb__ControlIDontWant idw, *idws[1] = {&idw};
    ProtobufCBinaryData x = BIN("x"), y = BIN("y");
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    (void)state;

    pubsub_pb__rpc__init(&rpc);
    pubsub_pb__rpc__sub_opts__init(&sub);
    sub.has_subscribe = sub.subscribe = 1;
    sub.has_topicid = 1;
    sub.topicid = BIN("t");
    fill_msg(&msg);
    pubsub_pb__control_message__init(&ctl);
    pubsub_pb__control_ihave__init(&ihave);
    ihave.has_topicid = 1;
    ihave.topicid = BIN("t");
    ihave.n_messageids = 1;
    ihave.messageids = &x;
    pubsub_pb__control_iwant__init(&iwant);
    iwant.n_messageids = 1;
    iwant.messageids = &x;
    pubsub_pb__control_graft__init(&graft);
    graft.has_topicid = 1;
    graft.topicid = BIN("t");
    pubsub_pb__control_prune__init(&prune);
    prune.has_topicid = prune.has_backoff = 1;
    prune.topicid = BIN("t");
    prune.backoff = 60;
    pubsub_pb__control_idont_want__init(&idw);
    idw.n_messageids = 1;
    idw.messageids = &y;
    ctl.n_ihave = ctl.n_iwant = ctl.n_graft = ctl.n_prune = ctl.n_idontwant = 1;
    ctl.ihave = ihaves;
    ctl.iwant = iwants;
    ctl.graft = grafts;
    ctl.prune = prunes;
    ctl.idontwant = idws;
    rpc.n_subscriptions = 1;
    rpc.subscriptions = subs;
    rpc.n_publish = 1;
    rpc.publish = msgs;
    rpc.control = &ctl;

    assert_int_equal(pubsub_rpc_encode(&rpc, false, &out), 0);
    assert_int_equal(out.len, sizeof rpc_bytes);
    assert_memory_equal(out.data, rpc_bytes, sizeof rpc_bytes);
    buf_clear(&out);
    assert_int_equal(pubsub_rpc_encode(&rpc, true, &out), 0);
    assert_int_equal(out.data[0], sizeof rpc_bytes);
    assert_memory_equal(out.data + 1, rpc_bytes, sizeof rpc_bytes);
    /* the Message alone */
    uint8_t mb[sizeof msg_bytes];
    assert_int_equal(pubsub_pb__message__get_packed_size(&msg), sizeof msg_bytes);
    pubsub_pb__message__pack(&msg, mb);
    assert_memory_equal(mb, msg_bytes, sizeof msg_bytes);
    buf_t small = BUF_INIT(10);
    assert_int_equal(pubsub_rpc_encode(&rpc, true, &small), LS_ETOOBIG);
    assert_int_equal(small.len, 0);
    buf_free(&small);
    buf_free(&out);
}

static void
test_decode_vector(void **state)
{
    PubsubPb__RPC *r;
    (void)state;

    assert_int_equal(pubsub_rpc_decode(rpc_bytes, sizeof rpc_bytes, NULL, &r), 0);
    assert_int_equal(r->n_subscriptions, 1);
    assert_true(r->subscriptions[0]->subscribe);
    assert_int_equal(r->n_publish, 1);
    assert_memory_equal(r->publish[0]->data.data, "hi", 2);
    assert_int_equal(r->control->n_prune, 1);
    assert_int_equal(r->control->prune[0]->backoff, 60);
    assert_int_equal(r->control->idontwant[0]->messageids[0].data[0], 'y');
    buf_t again = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(pubsub_rpc_encode(r, false, &again), 0);
    assert_memory_equal(again.data, rpc_bytes, sizeof rpc_bytes);
    buf_free(&again);
    pubsub_rpc_free(r);
    assert_null(r);
    /* an empty RPC is valid */
    assert_int_equal(pubsub_rpc_decode(rpc_bytes, 0, NULL, &r), 0);
    pubsub_rpc_free(r);
}

static void
test_decode_rejects(void **state)
{
    PubsubPb__RPC *r;
    pubsub_rpc_limits_t lim;
    (void)state;

    /* truncated */
    assert_int_equal(pubsub_rpc_decode(rpc_bytes, 10, NULL, &r), LS_EINVAL);
    assert_null(r);
    /* a topic with a NUL, an empty topic, a message without a topic */
    static const uint8_t nul_topic[] = {0x0a, 0x04, 0x12, 0x02, 't', 0};
    assert_int_equal(pubsub_rpc_decode(nul_topic, sizeof nul_topic, NULL, &r), LS_EINVAL);
    static const uint8_t empty_topic[] = {0x0a, 0x02, 0x12, 0x00};
    assert_int_equal(pubsub_rpc_decode(empty_topic, sizeof empty_topic, NULL, &r), LS_EINVAL);
    static const uint8_t no_topic[] = {0x12, 0x04, 0x12, 0x02, 'h', 'i'};
    assert_int_equal(pubsub_rpc_decode(no_topic, sizeof no_topic, NULL, &r), LS_EINVAL);
    /* an unknown field numbered 0, at the top and inside a message */
    static const uint8_t field0[] = {0x02, 0x00};
    assert_int_equal(pubsub_rpc_decode(field0, sizeof field0, NULL, &r), LS_EINVAL);
    static const uint8_t field0_deep[] = {0x12, 0x05, 0x22, 0x01, 't', 0x02, 0x00};
    assert_int_equal(pubsub_rpc_decode(field0_deep, sizeof field0_deep, NULL, &r), LS_EINVAL);
    /* an unknown field numbered 99 is kept */
    static const uint8_t field99[] = {0x12, 0x06, 0x22, 0x01, 't', 0x98, 0x06, 0x01};
    assert_int_equal(pubsub_rpc_decode(field99, sizeof field99, NULL, &r), 0);
    buf_t again = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(pubsub_rpc_encode(r, false, &again), 0);
    assert_int_equal(again.len, sizeof field99);
    assert_memory_equal(again.data, field99, sizeof field99);
    buf_free(&again);
    pubsub_rpc_free(r);
    /* limits */
    pubsub_rpc_limits_default(&lim);
    lim.max_rpc_len = sizeof rpc_bytes - 1;
    assert_int_equal(pubsub_rpc_decode(rpc_bytes, sizeof rpc_bytes, &lim, &r), LS_ETOOBIG);
    pubsub_rpc_limits_default(&lim);
    lim.max_ids = 2; /* ihave x, iwant x, idontwant y */
    assert_int_equal(pubsub_rpc_decode(rpc_bytes, sizeof rpc_bytes, &lim, &r), LS_ETOOBIG);
    pubsub_rpc_limits_default(&lim);
    lim.max_control = 4;
    assert_int_equal(pubsub_rpc_decode(rpc_bytes, sizeof rpc_bytes, &lim, &r), LS_ETOOBIG);
    pubsub_rpc_limits_default(&lim);
    lim.max_data_len = 1;
    assert_int_equal(pubsub_rpc_decode(rpc_bytes, sizeof rpc_bytes, &lim, &r), LS_ETOOBIG);
    pubsub_rpc_limits_default(&lim);
    lim.max_topic_len = 0;
    assert_int_equal(pubsub_rpc_decode(rpc_bytes, sizeof rpc_bytes, &lim, &r), LS_ETOOBIG);
    assert_true(pubsub_topic_is_valid((const uint8_t *)"t", 1, NULL));
    assert_false(pubsub_topic_is_valid((const uint8_t *)"", 0, NULL));
}

static void
test_sign_vector(void **state)
{
    ed25519_keypair_t kp;
    uint8_t seed[32];
    PubsubPb__Message m;
    pubsub_msg_sig_t store;
    peer_id_t me, author;
    (void)state;

    memset(seed, 0x42, sizeof seed);
    ed25519_keypair_from_seed(&kp, seed);
    peer_id_from_ed25519(&me, kp.pk);
    pubsub_pb__message__init(&m);
    m.has_data = m.has_topic = 1;
    m.data = BIN("hi");
    m.topic = BIN("t");
    assert_int_equal(pubsub_msg_sign(&m, 0x0102030405060708u, &kp, &store), 0);

    /* the signed bytes, assembled by hand: prefix, from (38), data, seqno, topic */
    uint8_t want[14 + 40 + 4 + 10 + 3];
    size_t n = 0;
    memcpy(want, "libp2p-pubsub:", 14);
    n = 14;
    want[n++] = 0x0a;
    want[n++] = 38;
    memcpy(want + n, me.bytes, 38);
    n += 38;
    memcpy(want + n, "\x12\x02hi\x1a\x08\x01\x02\x03\x04\x05\x06\x07\x08\x22\x01t", 17);
    n += 17;
    assert_int_equal(n, sizeof want);
    buf_t got = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(pubsub_msg_signing_bytes(&m, &got), 0);
    assert_int_equal(got.len, sizeof want);
    assert_memory_equal(got.data, want, sizeof want);
    assert_true(ed25519_verify(m.signature.data, want, sizeof want, kp.pk));
    /* key: the PublicKey protobuf */
    assert_int_equal(m.key.len, 36);
    assert_memory_equal(m.key.data, "\x08\x01\x12\x20", 4);
    assert_memory_equal(m.key.data + 4, kp.pk, 32);

    assert_int_equal(pubsub_msg_verify(&m, &author), 0);
    assert_true(peer_id_equal(&author, &me));
    m.has_key = 0; /* go style: key inlined in from */
    assert_int_equal(pubsub_msg_verify(&m, NULL), 0);
    m.has_key = 1;
    m.data = BIN("ho");
    assert_int_equal(pubsub_msg_verify(&m, NULL), LS_EBADSIG);
    m.data = BIN("hi");
    m.seqno.len = 7;
    assert_int_equal(pubsub_msg_verify(&m, NULL), LS_EINVAL);
    m.seqno.len = 8;
    m.has_signature = 0;
    assert_int_equal(pubsub_msg_verify(&m, NULL), LS_EINVAL);
    m.has_signature = 1;
    uint8_t other[36];
    memcpy(other, m.key.data, 36);
    other[10] ^= 1; /* a key that is not the author's */
    m.key.data = other;
    assert_int_equal(pubsub_msg_verify(&m, NULL), LS_EINVAL);
    buf_free(&got);
}

static void
test_msgid(void **state)
{
    PubsubPb__Message m;
    uint8_t id[PUBSUB_MSGID_MAX];
    static const uint8_t hi_hash[32] = {
        0x8f, 0x43, 0x43, 0x46, 0x64, 0x8f, 0x6b, 0x96, 0xdf, 0x89, 0xdd,
        0xa9, 0x01, 0xc5, 0x17, 0x6b, 0x10, 0xa6, 0xd8, 0x39, 0x61, 0xdd,
        0x3c, 0x1a, 0xc8, 0x8b, 0x59, 0xb2, 0xdc, 0x32, 0x7a, 0xa4,
    };
    (void)state;

    fill_msg(&m);
    assert_int_equal(pubsub_msgid(&m, id), 10);
    assert_memory_equal(id, "AB\0\0\0\0\0\0\0\1", 10);
    m.topic = BIN("/lester/blocks");
    assert_true(pubsub_topic_is_lester(m.topic.data, m.topic.len));
    assert_false(pubsub_topic_is_lester((const uint8_t *)"/lester/", 8));
    assert_int_equal(pubsub_msgid(&m, id), 32);
    assert_memory_equal(id, hi_hash, 32);
    m.has_from = 0;
    assert_int_equal(pubsub_msgid_default(&m, id), LS_EINVAL);
}

/* The per-message rate-limit count: field-2 entries, agreeing with the decoder. */
static void
test_count_messages(void **state)
{
    (void)state;
    assert_int_equal(pubsub_rpc_count_messages(rpc_bytes, sizeof rpc_bytes), 1);
    assert_int_equal(pubsub_rpc_count_messages(rpc_bytes, 0), 0);
    assert_int_equal(pubsub_rpc_count_messages(rpc_bytes, 7), 0); /* subscriptions only */

    /* 300 messages in one RPC */
    PubsubPb__Message m, *pm[300];
    fill_msg(&m);
    for (size_t i = 0; i < 300; i++)
        pm[i] = &m;
    PubsubPb__RPC rpc;
    pubsub_pb__rpc__init(&rpc);
    rpc.n_publish = 300;
    rpc.publish = pm;
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(pubsub_rpc_encode(&rpc, false, &out), 0);
    assert_int_equal(pubsub_rpc_count_messages(out.data, out.len), 300);
    /* cut inside the last message, or in a length prefix: malformed */
    assert_int_equal(pubsub_rpc_count_messages(out.data, out.len - 1), LS_EINVAL);
    assert_int_equal(pubsub_rpc_count_messages(out.data, 1), LS_EINVAL);
    buf_free(&out);

    /* unknown fields of every wire type are skipped; groups and long varints are not */
    static const uint8_t mixed[] = {0x20, 0x96, 0x01,                   /* 4: varint */
                                    0x29, 1, 2, 3, 4, 5, 6, 7, 8,       /* 5: fixed64 */
                                    0x35, 1, 2, 3, 4,                   /* 6: fixed32 */
                                    0x12, 0x00,                         /* 2: a message */
                                    0x12, 0x80, 0x00};                  /* non-minimal 0 */
    assert_int_equal(pubsub_rpc_count_messages(mixed, sizeof mixed), 2);
    static const uint8_t group[] = {0x13, 0x14};
    assert_int_equal(pubsub_rpc_count_messages(group, sizeof group), LS_EINVAL);
    static const uint8_t longv[] = {0x20, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(pubsub_rpc_count_messages(longv, sizeof longv), LS_EINVAL);
}

/* Authors with RSA, secp256k1 and ECDSA keys (js, go and rust nodes can have them):
 * their StrictSign signatures verify, with `key` present or (secp256k1, whose peer
 * ID inlines the key) omitted; a changed byte does not. */
static void
test_verify_other_key_types(void **state)
{
    static const int types[] = {SIGVERIFY_RSA, SIGVERIFY_SECP256K1, SIGVERIFY_ECDSA};
    static uint8_t seqno[8] = {0, 0, 0, 0, 0, 0, 0, 9};
    (void)state;
    for (size_t i = 0; i < LS_ARRAY_LEN(types); i++) {
        buf_t pub = BUF_INIT(BUF_UNLIMITED), proto = BUF_INIT(BUF_UNLIMITED);
        buf_t signing = BUF_INIT(BUF_UNLIMITED), sig = BUF_INIT(BUF_UNLIMITED);
        EVP_PKEY *pk = fixture_keygen(types[i], &pub);
        assert_int_equal(pubkey_proto_encode(types[i], pub.data, pub.len, &proto), 0);
        peer_id_t id, author;
        assert_int_equal(peer_id_from_pubkey_proto(&id, proto.data, proto.len), 0);
        PubsubPb__Message m;
        pubsub_pb__message__init(&m);
        m.has_from = m.has_data = m.has_seqno = m.has_topic = m.has_key = 1;
        m.from = (ProtobufCBinaryData){id.len, id.bytes};
        m.data = BIN("hello");
        m.seqno = (ProtobufCBinaryData){8, seqno};
        m.topic = BIN("t");
        m.key = (ProtobufCBinaryData){proto.len, proto.data};
        assert_int_equal(pubsub_msg_signing_bytes(&m, &signing), 0);
        fixture_sign(pk, signing.data, signing.len, &sig);
        m.has_signature = 1;
        m.signature = (ProtobufCBinaryData){sig.len, sig.data};
        assert_int_equal(pubsub_msg_verify(&m, &author), 0);
        assert_true(peer_id_equal(&author, &id));
        m.has_key = 0; /* only a secp256k1 key fits in the peer ID */
        assert_int_equal(pubsub_msg_verify(&m, NULL), types[i] == SIGVERIFY_SECP256K1 ? 0 : LS_EINVAL);
        m.has_key = 1;
        m.data = BIN("hellO");
        assert_int_equal(pubsub_msg_verify(&m, NULL), LS_EBADSIG);
        EVP_PKEY_free(pk);
        buf_free(&pub);
        buf_free(&proto);
        buf_free(&signing);
        buf_free(&sig);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_vector),  cmocka_unit_test(test_decode_vector),
        cmocka_unit_test(test_decode_rejects), cmocka_unit_test(test_sign_vector),
        cmocka_unit_test(test_msgid), cmocka_unit_test(test_count_messages),
        cmocka_unit_test(test_verify_other_key_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
