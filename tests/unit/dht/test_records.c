/* Validators: /pk/ and Lester signed values (seed 003), provider metadata (seed 004),
 * and the PUT_VALUE rules of a serving node. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dht/kad.h"
#include "dht/kad_validate.h"
#include "dht/kadmsg.h"
#include "lib/buf/buf.h"
#include "lib/crypto/ed25519.h"
#include "lib/err/err.h"

#define NOW 1800000000000ull
#define DAY 86400000ull
#define KEY "/lester/pkg/left-pad"
#define KL (sizeof KEY - 1)

static ed25519_keypair_t alice, mallory;

static int
setup(void **state)
{
    (void)state;
    ed25519_keypair_generate(&alice);
    ed25519_keypair_generate(&mallory);
    return 0;
}

/* A signed value by `kp`; caller frees the buffer. */
static buf_t
value(const ed25519_keypair_t *kp, uint64_t seq, uint64_t ts, uint64_t exp, const char *payload)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(kad_lester_value_make((const uint8_t *)KEY, KL, (const uint8_t *)payload,
                                           strlen(payload), seq, ts, exp, kp, &b),
                     0);
    return b;
}

static int
check(const buf_t *b, uint64_t now)
{
    const kad_validator_t *v = kad_validator_lester();
    return v->validate(v->ctx, now, (const uint8_t *)KEY, KL, b->data, b->len);
}

static void
test_valid_and_payload(void **state)
{
    (void)state;
    buf_t b = value(&alice, 1, NOW, NOW + DAY, "v1");
    kad_lester_info_t info;
    buf_t payload = BUF_INIT(100);
    assert_int_equal(check(&b, NOW + 1000), 0);
    assert_int_equal(
        kad_lester_value_check(NULL, NOW, (const uint8_t *)KEY, KL, b.data, b.len, &info, &payload),
        0);
    assert_int_equal(info.seq, 1);
    assert_memory_equal(info.pk, alice.pk, 32);
    assert_memory_equal(payload.data, "v1", 2);
    buf_free(&payload);
    buf_free(&b);
}

static void
test_rejects_forged_unsigned_expired_oversized(void **state)
{
    (void)state;
    buf_t b = value(&alice, 1, NOW, NOW + DAY, "v1");
    /* forged: flip a byte of the payload ("v1" is inside the encoding) */
    uint8_t *v = memmem(b.data, b.len, "v1", 2);
    assert_non_null(v);
    v[1] = '2';
    assert_int_equal(check(&b, NOW), LS_EBADSIG);
    buf_free(&b);

    /* unsigned: the same fields without pk/sig */
    record_t *r = record_new();
    record_set_bin(r, "key", KEY, KL);
    record_set_bin(r, "value", "x", 1);
    record_set_u64(r, "seq", 1);
    record_set_u64(r, "ts", NOW);
    record_set_u64(r, "exp", NOW + DAY);
    buf_t u = BUF_INIT(BUF_UNLIMITED);
    record_encode(r, &u);
    assert_int_equal(check(&u, NOW), LS_EBADSIG);
    record_free(r);
    buf_free(&u);

    /* expired, too old (seed 003: 30 days), lifetime over the maximum, future */
    b = value(&alice, 1, NOW, NOW + DAY, "v1");
    assert_int_equal(check(&b, NOW + DAY), LS_EEXPIRED);
    buf_free(&b);
    b = value(&alice, 1, NOW, NOW + 31 * DAY, "v1");
    assert_int_equal(check(&b, NOW), LS_EEXPIRED);
    buf_free(&b);
    b = value(&alice, 1, NOW + DAY, NOW + 2 * DAY, "v1");
    assert_int_equal(check(&b, NOW), LS_EEXPIRED);
    buf_free(&b);

    /* oversized */
    char *big = malloc(KAD_VALUE_MAX + 1);
    memset(big, 'a', KAD_VALUE_MAX);
    big[KAD_VALUE_MAX] = 0;
    buf_t o = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(kad_lester_value_make((const uint8_t *)KEY, KL, (const uint8_t *)big,
                                           KAD_VALUE_MAX, 1, NOW, NOW + DAY, &alice, &o),
                     LS_ETOOBIG);
    buf_append(&o, big, KAD_VALUE_MAX + 1);
    assert_int_equal(check(&o, NOW), LS_ETOOBIG);
    free(big);
    buf_free(&o);

    /* replayed under another key */
    b = value(&alice, 1, NOW, NOW + DAY, "v1");
    const kad_validator_t *val = kad_validator_lester();
    assert_int_equal(
        val->validate(val->ctx, NOW, (const uint8_t *)"/lester/other", 13, b.data, b.len),
        LS_EINVAL);
    buf_free(&b);
}

static void
test_select_and_replace(void **state)
{
    (void)state;
    const kad_validator_t *v = kad_validator_lester();
    buf_t a = value(&alice, 1, NOW, NOW + DAY, "a"),
          b = value(&alice, 2, NOW - 5000, NOW + DAY, "b"),
          c = value(&alice, 2, NOW, NOW + DAY, "c");
    kadmsg_bytes_t vals[3] = {{a.data, a.len}, {b.data, b.len}, {c.data, c.len}};
    assert_int_equal(v->select(v->ctx, (const uint8_t *)KEY, KL, vals, 3), 2); /* seq, then ts */
    assert_int_equal(v->may_replace(v->ctx, a.data, a.len, c.data, c.len), 0);
    assert_int_equal(v->may_replace(v->ctx, c.data, c.len, a.data, a.len), LS_ESTALE);
    buf_t m = value(&mallory, 99, NOW, NOW + DAY, "evil");
    assert_int_equal(v->may_replace(v->ctx, a.data, a.len, m.data, m.len), LS_EACCES);
    buf_free(&a), buf_free(&b), buf_free(&c), buf_free(&m);
}

static int
noop_send(void *ctx, uint64_t id, const peer_id_t *to, const uint8_t *addrs, size_t alen,
          const uint8_t *msg, size_t len, bool want)
{
    (void)ctx, (void)id, (void)to, (void)addrs, (void)alen, (void)msg, (void)len, (void)want;
    return 0;
}

/* PUT_VALUE to a serving node: older sequence and other publishers are refused. */
static int
put(kad_t *kad, const peer_id_t *from, const buf_t *val, uint64_t now)
{
    kadmsg_t *m = calloc(1, sizeof *m);
    kadmsg_init(m, KADMSG_PUT_VALUE);
    m->key = (kadmsg_bytes_t){(const uint8_t *)KEY, KL};
    m->has_record = true;
    m->record.key = m->key;
    m->record.value = (kadmsg_bytes_t){val->data, val->len};
    buf_t msg = BUF_INIT(BUF_UNLIMITED), reply = BUF_INIT(BUF_UNLIMITED);
    kadmsg_encode(m, &msg);
    int rc = kad_input_request(kad, now, from, msg.data, msg.len, &reply);
    if (rc == 0)
        assert_memory_equal(reply.data, msg.data, msg.len); /* echoed */
    buf_free(&msg), buf_free(&reply);
    free(m);
    return rc;
}

static void
test_serving_node_rules(void **state)
{
    (void)state;
    peer_id_t self, from;
    peer_id_from_ed25519(&self, alice.pk);
    peer_id_from_ed25519(&from, mallory.pk);
    kad_env_t env = {NULL, noop_send, NULL};
    kad_t *kad = kad_new(&self, NULL, &env);
    buf_t v2 = value(&alice, 2, NOW, NOW + DAY, "two"), v1 = value(&alice, 1, NOW, NOW + DAY, "1"),
          v3 = value(&alice, 3, NOW, NOW + DAY, "3"), m = value(&mallory, 9, NOW, NOW + DAY, "m");
    assert_int_equal(put(kad, &from, &v2, NOW), 0);
    assert_int_equal(put(kad, &from, &v2, NOW), 0);         /* same again: fine */
    assert_int_equal(put(kad, &from, &v1, NOW), LS_ESTALE); /* replayed older */
    assert_int_equal(put(kad, &from, &m, NOW), LS_EACCES);  /* someone else's key */
    assert_int_equal(put(kad, &from, &v3, NOW), 0);
    const kad_stored_record_t *r = kad_store_get_record(kad_store(kad), (const uint8_t *)KEY, KL);
    assert_non_null(r);
    assert_int_equal(r->vlen, v3.len);
    assert_int_equal(r->expires_ms, NOW + DAY); /* the value's own expiry */
    /* once expired, another publisher may take the key */
    buf_t m2 = value(&mallory, 1, NOW + 2 * DAY, NOW + 3 * DAY, "m2");
    assert_int_equal(put(kad, &from, &m2, NOW + 2 * DAY), 0);
    buf_free(&v1), buf_free(&v2), buf_free(&v3), buf_free(&m), buf_free(&m2);

    /* a record without its own key (fuzz finding) */
    buf_t r2 = BUF_INIT(100);
    assert_int_equal(kad_input_request(kad, NOW, &from,
                                       (const uint8_t *)"\x12\x09/lester/x\x1a\x03\x12\x01v", 16,
                                       &r2),
                     LS_EINVAL);
    buf_free(&r2);
    kad_free(kad);

    /* a client-mode node serves nothing */
    kad_config_t cfg;
    kad_config_default(&cfg);
    cfg.client_mode = true;
    kad = kad_new(&self, &cfg, &env);
    buf_t reply = BUF_INIT(100);
    assert_int_equal(kad_input_request(kad, NOW, &from, (const uint8_t *)"\x08\x05", 2, &reply),
                     LS_ENOTSUP);
    assert_int_equal(reply.len, 0);
    kad_free(kad);
}

static void
test_pk_validator(void **state)
{
    (void)state;
    const kad_validator_t *v = kad_validator_pk();
    peer_id_t id;
    peer_id_from_ed25519(&id, alice.pk);
    uint8_t key[4 + PEER_ID_MAX_LEN];
    memcpy(key, "/pk/", 4);
    memcpy(key + 4, id.bytes, id.len);
    buf_t pk = BUF_INIT(100), other = BUF_INIT(100);
    pubkey_proto_encode(PEER_KEY_ED25519, alice.pk, 32, &pk);
    pubkey_proto_encode(PEER_KEY_ED25519, mallory.pk, 32, &other);
    assert_int_equal(v->validate(v->ctx, NOW, key, 4 + id.len, pk.data, pk.len), 0);
    assert_int_equal(v->validate(v->ctx, NOW, key, 4 + id.len, other.data, other.len), LS_EINVAL);
    assert_int_equal(v->validate(v->ctx, NOW, key, 4 + id.len, (const uint8_t *)"x", 1), LS_EINVAL);
    buf_free(&pk), buf_free(&other);
}

static void
test_provider_metadata(void **state)
{
    (void)state;
    const uint8_t key[] = "cid-bytes";
    peer_id_t prov, other;
    peer_id_from_ed25519(&prov, alice.pk);
    peer_id_from_ed25519(&other, mallory.pk);
    record_t *meta = record_new();
    record_array_t *protos = record_array_new(), *chunks = record_array_new();
    record_array_push_str(protos, "http");
    record_array_push_str(protos, "bittorrent");
    for (uint64_t i = 0; i < 16; i++)
        record_array_push_u64(chunks, i);
    record_set_array(meta, "protocols", protos);
    record_set_array(meta, "chunks", chunks);
    record_set_str(meta, "wallet", "0x742d35Cc");
    record_set_u64(meta, "price_per_mb", 1000);
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(kad_provider_meta_make(meta, key, sizeof key, NOW, NOW + DAY, &alice, &b), 0);
    record_t *out = NULL;
    assert_int_equal(kad_provider_meta_check(NOW, key, sizeof key, &prov, b.data, b.len, &out), 0);
    const char *wallet;
    assert_int_equal(record_get_str(out, "wallet", &wallet), 0);
    assert_string_equal(wallet, "0x742d35Cc");
    record_free(out);
    /* claimed for another provider, another key, or after expiry: refused */
    assert_int_equal(kad_provider_meta_check(NOW, key, sizeof key, &other, b.data, b.len, NULL),
                     LS_EBADSIG);
    assert_int_equal(
        kad_provider_meta_check(NOW, (const uint8_t *)"k2", 2, &prov, b.data, b.len, NULL),
        LS_EINVAL);
    assert_int_equal(
        kad_provider_meta_check(NOW + DAY, key, sizeof key, &prov, b.data, b.len, NULL),
        LS_EEXPIRED);
    buf_free(&b);
    /* a wrongly typed field */
    meta = record_new();
    record_set_u64(meta, "wallet", 5);
    assert_int_equal(kad_provider_meta_make(meta, key, sizeof key, NOW, NOW + DAY, &alice, &b), 0);
    assert_int_equal(kad_provider_meta_check(NOW, key, sizeof key, &prov, b.data, b.len, NULL),
                     LS_EINVAL);
    buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_and_payload),
        cmocka_unit_test(test_rejects_forged_unsigned_expired_oversized),
        cmocka_unit_test(test_select_and_replace),
        cmocka_unit_test(test_serving_node_rules),
        cmocka_unit_test(test_pk_validator),
        cmocka_unit_test(test_provider_metadata),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
