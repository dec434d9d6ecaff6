/* pubsub_msg — StrictSign signing and verification, message IDs (contract in
 * pubsub_msg.h). */
#include "pubsub/rpc/pubsub_msg.h"

#include <string.h>

#include "lib/crypto/sha256.h"
#include "lib/crypto/sigverify.h"
#include "lib/err/err.h"

int
pubsub_msg_signing_bytes(const PubsubPb__Message *m, buf_t *out)
{
    PubsubPb__Message copy = *m;
    size_t start = out->len;

    copy.has_signature = 0;
    copy.has_key = 0;
    /* Only the spec's fields are signed: not Lester's hop count, which forwarders
     * change, nor unknown fields, which js drops before it verifies. */
    copy.has_lester_hops = 0;
    copy.base.n_unknown_fields = 0;
    copy.base.unknown_fields = NULL;
    size_t n = pubsub_pb__message__get_packed_size(&copy);
    if (buf_append_str(out, PUBSUB_SIGN_PREFIX) < 0)
        return LS_ETOOBIG;
    uint8_t *dst = buf_extend(out, n);
    if (!dst) {
        buf_truncate(out, start);
        return LS_ETOOBIG;
    }
    pubsub_pb__message__pack(&copy, dst);
    return 0;
}

int
pubsub_msg_sign(PubsubPb__Message *m, uint64_t seqno, const ed25519_keypair_t *kp,
                pubsub_msg_sig_t *store)
{
    peer_id_t id;
    buf_t msg = BUF_INIT(BUF_UNLIMITED);
    const uint8_t *key;
    size_t keylen;

    peer_id_from_ed25519(&id, kp->pk);
    memcpy(store->from, id.bytes, id.len);
    for (int i = 0; i < PUBSUB_SEQNO_LEN; i++)
        store->seqno[i] = (uint8_t)(seqno >> (56 - 8 * i));
    (void)peer_id_pubkey_proto(&id, &key, &keylen); /* always inlined for Ed25519 */
    memcpy(store->key, key, PUBSUB_ED25519_KEY_PROTO_LEN);
    m->has_from = m->has_seqno = m->has_key = m->has_signature = 1;
    m->from = (ProtobufCBinaryData){id.len, store->from};
    m->seqno = (ProtobufCBinaryData){PUBSUB_SEQNO_LEN, store->seqno};
    m->key = (ProtobufCBinaryData){PUBSUB_ED25519_KEY_PROTO_LEN, store->key};
    int rc = pubsub_msg_signing_bytes(m, &msg);
    if (rc == 0)
        ed25519_sign(store->signature, msg.data, msg.len, kp);
    m->signature = (ProtobufCBinaryData){ED25519_SIG_LEN, store->signature};
    m->has_signature = rc == 0;
    buf_free(&msg);
    return rc;
}

/* The author's public key (type and PublicKey.Data, pointing into `m` or `author`):
 * from `key`, which must name the same peer as `from`, or inlined in `from`
 * (Ed25519 and secp256k1 keys are, so senders may omit `key`). */
static int
author_key(const PubsubPb__Message *m, const peer_id_t *author, int *type, const uint8_t **k,
           size_t *klen)
{
    const uint8_t *proto;
    size_t plen;
    if (!m->has_key)
        return peer_id_pubkey_proto(author, &proto, &plen) ?
                   pubkey_proto_decode(proto, plen, type, k, klen) : LS_EINVAL;
    peer_id_t from_key;
    int rc = pubkey_proto_decode(m->key.data, m->key.len, type, k, klen);
    if (rc == LS_ENOTSUP)
        return LS_ENOTSUP;
    if (rc < 0 || peer_id_from_pubkey_proto(&from_key, m->key.data, m->key.len) < 0 ||
        !peer_id_equal(&from_key, author))
        return LS_EINVAL;
    return 0;
}

/* Ed25519 through libsodium (the common case, batched by pubsub_verify); RSA,
 * secp256k1 and ECDSA authors (other libp2p implementations) through sigverify. */
static int
check_signature(int type, const uint8_t *k, size_t klen, const buf_t *msg,
                const ProtobufCBinaryData *sig)
{
    if (type != PEER_KEY_ED25519)
        return sigverify(type, k, klen, msg->data, msg->len, sig->data, sig->len);
    if (klen != ED25519_PK_LEN || sig->len != ED25519_SIG_LEN)
        return LS_EBADSIG;
    return ed25519_verify(sig->data, msg->data, msg->len, k) ? 0 : LS_EBADSIG;
}

int
pubsub_msg_verify(const PubsubPb__Message *m, peer_id_t *author)
{
    peer_id_t id;

    if (!m->has_from || !m->has_seqno || m->seqno.len != PUBSUB_SEQNO_LEN || !m->has_signature ||
        m->signature.len == 0 || m->signature.len > SIGVERIFY_MAX_SIG ||
        peer_id_from_bytes(&id, m->from.data, m->from.len) < 0)
        return LS_EINVAL;
    int type;
    const uint8_t *k;
    size_t klen;
    int rc = author_key(m, &id, &type, &k, &klen);
    if (rc < 0)
        return rc;
    buf_t msg = BUF_INIT(BUF_UNLIMITED);
    rc = pubsub_msg_signing_bytes(m, &msg);
    if (rc == 0)
        rc = check_signature(type, k, klen, &msg, &m->signature);
    buf_free(&msg);
    if (rc == 0 && author)
        *author = id;
    return rc;
}

bool
pubsub_topic_is_lester(const uint8_t *topic, size_t len)
{
    size_t n = sizeof PUBSUB_LESTER_TOPIC_PREFIX - 1;
    return len > n && memcmp(topic, PUBSUB_LESTER_TOPIC_PREFIX, n) == 0;
}

int
pubsub_msgid_default(const PubsubPb__Message *m, uint8_t out[static PUBSUB_MSGID_MAX])
{
    if (!m->has_from || !m->has_seqno || m->from.len + m->seqno.len > PUBSUB_MSGID_MAX ||
        m->from.len > PUBSUB_MSGID_MAX)
        return LS_EINVAL;
    if (m->from.len)
        memcpy(out, m->from.data, m->from.len);
    if (m->seqno.len)
        memcpy(out + m->from.len, m->seqno.data, m->seqno.len);
    return (int)(m->from.len + m->seqno.len);
}

int
pubsub_msgid_content(const PubsubPb__Message *m, uint8_t out[static PUBSUB_MSGID_MAX])
{
    static const uint8_t empty[1];
    bool has = m->has_data && m->data.data && m->data.len > 0;
    sha256(out, has ? m->data.data : empty, has ? m->data.len : 0);
    return LS_SHA256_LEN;
}

int
pubsub_msgid(const PubsubPb__Message *m, uint8_t out[static PUBSUB_MSGID_MAX])
{
    if (m->has_topic && pubsub_topic_is_lester(m->topic.data, m->topic.len))
        return pubsub_msgid_content(m, out);
    return pubsub_msgid_default(m, out);
}
