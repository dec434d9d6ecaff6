/* peerid — the PublicKey and PrivateKey protobufs of peer-ids.md ("Keys"):
 *
 *     message PublicKey  { required KeyType Type = 1; required bytes Data = 2; }
 *     message PrivateKey { required KeyType Type = 1; required bytes Data = 2; }
 *
 * Only the canonical wire form is read or written: tag 0x08, the type as a minimal
 * varint, tag 0x12, the length as a minimal varint, the key bytes. */
#include "lib/peerid/peerid.h"

#include <string.h>

#include "lib/err/err.h"
#include "lib/varint/varint.h"

#define TAG_TYPE 0x08 /* field 1, wire type 0 (varint) */
#define TAG_DATA 0x12 /* field 2, wire type 2 (length-delimited) */
#define KEY_TYPE_LAST PEER_KEY_ECDSA

#define ED25519_PUB_LEN 32
#define ED25519_PRIV_LEN 64
#define ED25519_PRIV_LEGACY_LEN 96

/* Fields of one key message; `data` points into the input. */
typedef struct key_fields_t {
    uint64_t type;
    const uint8_t *data;
    size_t len;
} key_fields_t;

static int
key_proto_encode(int key_type, const uint8_t *key, size_t keylen, size_t max, buf_t *out)
{
    size_t old = out->len;
    int rc;

    if (key_type < 0 || key_type > KEY_TYPE_LAST)
        return LS_ENOTSUP;
    if (keylen == 0)
        return LS_EINVAL;
    if (keylen > max)
        return LS_ETOOBIG;
    if ((rc = buf_append_byte(out, TAG_TYPE)) < 0 ||
        (rc = varint_append(out, (uint64_t)key_type)) < 0 ||
        (rc = buf_append_byte(out, TAG_DATA)) < 0 || (rc = varint_append(out, keylen)) < 0 ||
        (rc = buf_append(out, key, keylen)) < 0) {
        buf_truncate(out, old);
        return rc;
    }
    return 0;
}

/* Read one varint that must lie wholly inside the message. */
static int
read_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
    int n = varint_decode(p + *off, len - *off, v);

    if (n < 0)
        return LS_EINVAL; /* truncated or non-minimal: either way malformed */
    *off += (size_t)n;
    return 0;
}

/* Split the message into its two fields, enforcing the canonical layout. */
static int
key_proto_fields(const uint8_t *p, size_t len, size_t max, key_fields_t *f)
{
    bool have_type = false, have_data = false, in_order = true;
    size_t off = 0;
    uint64_t tag, v;

    while (off < len) {
        if (read_varint(p, len, &off, &tag) < 0 || read_varint(p, len, &off, &v) < 0)
            return LS_EINVAL;
        if (tag == TAG_TYPE && !have_type) {
            in_order = !have_data;
            have_type = true;
            f->type = v;
        } else if (tag == TAG_DATA && !have_data) {
            if (v > max)
                return LS_ETOOBIG;
            if (v > len - off)
                return LS_EINVAL;
            have_data = true;
            f->data = p + off;
            f->len = (size_t)v;
            off += f->len;
        } else {
            return LS_EINVAL; /* unknown field, wrong wire type, or repeated */
        }
    }
    if (!have_type || !have_data || f->len == 0)
        return LS_EINVAL;
    if (!in_order)
        return LS_ENONCANON;
    return f->type > KEY_TYPE_LAST ? LS_ENOTSUP : 0;
}

int
pubkey_proto_encode(int key_type, const uint8_t *key, size_t keylen, buf_t *out)
{
    if (key_type == PEER_KEY_ED25519 && keylen != ED25519_PUB_LEN)
        return LS_EINVAL;
    return key_proto_encode(key_type, key, keylen, PUBKEY_PROTO_MAX_DATA, out);
}

int
pubkey_proto_decode(const uint8_t *p, size_t len, int *key_type, const uint8_t **key,
                    size_t *keylen)
{
    key_fields_t f;
    int rc = key_proto_fields(p, len, PUBKEY_PROTO_MAX_DATA, &f);

    if (rc < 0)
        return rc;
    if (f.type == PEER_KEY_ED25519 && f.len != ED25519_PUB_LEN)
        return LS_EINVAL;
    *key_type = (int)f.type;
    *key = f.data;
    *keylen = f.len;
    return 0;
}

int
privkey_proto_encode(int key_type, const uint8_t *key, size_t keylen, buf_t *out)
{
    if (key_type == PEER_KEY_ED25519 && keylen != ED25519_PRIV_LEN)
        return LS_EINVAL;
    return key_proto_encode(key_type, key, keylen, PRIVKEY_PROTO_MAX_DATA, out);
}

int
privkey_proto_decode(const uint8_t *p, size_t len, int *key_type, const uint8_t **key,
                     size_t *keylen)
{
    key_fields_t f;
    int rc = key_proto_fields(p, len, PRIVKEY_PROTO_MAX_DATA, &f);

    if (rc < 0)
        return rc;
    if (f.type == PEER_KEY_ED25519) {
        /* legacy seed || pk || pk: valid only if both copies of pk agree */
        if (f.len == ED25519_PRIV_LEGACY_LEN &&
            memcmp(f.data + 32, f.data + 64, ED25519_PUB_LEN) == 0)
            f.len = ED25519_PRIV_LEN;
        if (f.len != ED25519_PRIV_LEN)
            return LS_EINVAL;
    }
    *key_type = (int)f.type;
    *key = f.data;
    *keylen = f.len;
    return 0;
}
