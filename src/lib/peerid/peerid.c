/* peerid — peer IDs (peer-ids.md "Peer Ids" and "String representation"); the key
 * protobufs are in key_proto.c. */
#include "lib/peerid/peerid.h"

#include <string.h>

#include "lib/cid/cid.h"
#include "lib/err/err.h"
#include "lib/mem/mem.h"
#include "lib/multibase/multibase.h"
#include "lib/multihash/multihash.h"

#define ED25519_PUB_LEN 32
#define ED25519_PROTO_LEN (4 + ED25519_PUB_LEN) /* 08 01 12 20 <key> */

/* Store multihash `mh` as the ID's bytes; the caller has validated it. */
static void
set_from_multihash(peer_id_t *out, const multihash_t *mh)
{
    buf_t b = BUF_INIT(PEER_ID_MAX_LEN);
    peer_id_t id;

    memset(&id, 0, sizeof id);
    if (multihash_encode(mh, &b) == 0) {
        id.len = b.len;
        memcpy(id.bytes, b.data, b.len);
    }
    buf_free(&b);
    *out = id;
}

void
peer_id_from_ed25519(peer_id_t *out, const uint8_t pk[static 32])
{
    static const uint8_t prefix[] = {0x00, ED25519_PROTO_LEN, 0x08, PEER_KEY_ED25519,
                                     0x12, ED25519_PUB_LEN};

    memset(out, 0, sizeof *out);
    memcpy(out->bytes, prefix, sizeof prefix);
    memcpy(out->bytes + sizeof prefix, pk, ED25519_PUB_LEN);
    out->len = sizeof prefix + ED25519_PUB_LEN;
}

int
peer_id_from_pubkey_proto(peer_id_t *out, const uint8_t *p, size_t len)
{
    const uint8_t *key;
    size_t keylen;
    multihash_t mh;
    int type, rc;

    if ((rc = pubkey_proto_decode(p, len, &type, &key, &keylen)) < 0)
        return rc;
    if (len <= PEER_ID_INLINE_MAX)
        multihash_identity(p, len, &mh);
    else
        multihash_sha256(p, len, &mh);
    set_from_multihash(out, &mh);
    return 0;
}

/* Decode the ID's multihash; false if it is not one (e.g. a zeroed id). */
static bool
id_multihash(const peer_id_t *id, multihash_t *mh)
{
    if (id->len == 0 || id->len > PEER_ID_MAX_LEN)
        return false;
    return multihash_decode(id->bytes, id->len, mh) == (int)id->len;
}

bool
peer_id_pubkey_proto(const peer_id_t *id, const uint8_t **p, size_t *len)
{
    multihash_t mh;

    if (!id_multihash(id, &mh) || mh.code != MULTIHASH_IDENTITY)
        return false;
    *p = id->bytes + (id->len - mh.len);
    *len = mh.len;
    return true;
}

bool
peer_id_ed25519_pubkey(const peer_id_t *id, uint8_t pk_out[static 32])
{
    const uint8_t *proto, *key;
    size_t len, keylen;
    int type;

    if (!peer_id_pubkey_proto(id, &proto, &len) ||
        pubkey_proto_decode(proto, len, &type, &key, &keylen) < 0 || type != PEER_KEY_ED25519)
        return false;
    memcpy(pk_out, key, ED25519_PUB_LEN);
    return true;
}

/* Check that `mh` may be a peer ID: a hashed key, or an inlined valid key. */
static int
check_id_multihash(const multihash_t *mh)
{
    const uint8_t *key;
    size_t keylen;
    int type;

    if (mh->code == MULTIHASH_SHA2_256)
        return 0; /* multihash_decode() already insists on 32 bytes */
    if (mh->code != MULTIHASH_IDENTITY)
        return LS_ENOTSUP;
    if (mh->len > PEER_ID_INLINE_MAX ||
        pubkey_proto_decode(mh->digest, mh->len, &type, &key, &keylen) < 0)
        return LS_EINVAL;
    return 0;
}

int
peer_id_from_bytes(peer_id_t *out, const uint8_t *p, size_t len)
{
    multihash_t mh;
    int n, rc;

    if (len == 0 || len > PEER_ID_MAX_LEN)
        return LS_EINVAL;
    n = multihash_decode(p, len, &mh);
    if (n < 0)
        return n == LS_EAGAIN || n == LS_ETOOBIG ? LS_EINVAL : n;
    if ((size_t)n != len)
        return LS_EINVAL;
    if ((rc = check_id_multihash(&mh)) < 0)
        return rc;
    memset(out, 0, sizeof *out);
    memcpy(out->bytes, p, len);
    out->len = len;
    return 0;
}

/* A peer ID written as a CIDv1 with the libp2p-key codec (peer-ids.md). */
static int
from_cid_string(peer_id_t *out, const char *s)
{
    cid_t cid;
    int rc;

    if ((rc = cid_from_string(&cid, s)) < 0)
        return rc == LS_ETOOBIG ? LS_EINVAL : rc;
    if (cid.version != 1 || cid.codec != CID_CODEC_LIBP2P_KEY)
        return LS_EINVAL;
    if ((rc = check_id_multihash(&cid.hash)) < 0)
        return rc;
    set_from_multihash(out, &cid.hash);
    return 0;
}

int
peer_id_from_string(peer_id_t *out, const char *s)
{
    size_t len = strnlen(s, PEER_ID_MAX_STRING + 1);
    buf_t bytes = BUF_INIT(PEER_ID_MAX_STRING);
    int rc;

    if (len > PEER_ID_MAX_STRING)
        return LS_ETOOBIG;
    if (len == 0)
        return LS_EINVAL;
    /* '1' is base58 for a leading 0x00 (identity), "Qm" starts every 0x12 0x20 */
    if (s[0] != '1' && !(s[0] == 'Q' && s[1] == 'm'))
        return from_cid_string(out, s);
    rc = base58btc_decode(s, len, &bytes);
    if (rc == 0)
        rc = peer_id_from_bytes(out, bytes.data, bytes.len);
    buf_free(&bytes);
    return rc;
}

int
peer_id_to_string(const peer_id_t *id, buf_t *out)
{
    if (id->len == 0 || id->len > PEER_ID_MAX_LEN)
        return LS_EINVAL;
    return base58btc_encode(id->bytes, id->len, out);
}

char *
peer_id_to_str(const peer_id_t *id)
{
    buf_t b = BUF_INIT(PEER_ID_MAX_STRING);

    if (peer_id_to_string(id, &b) < 0)
        buf_clear(&b);
    return buf_take_str(&b);
}

int
peer_id_to_cid_string(const peer_id_t *id, buf_t *out)
{
    cid_t cid;

    if (!id_multihash(id, &cid.hash))
        return LS_EINVAL;
    cid.version = 1;
    cid.codec = CID_CODEC_LIBP2P_KEY;
    return cid_to_string(&cid, out);
}

void
peer_id_short(const peer_id_t *id, char out[static PEER_ID_SHORT_LEN])
{
    enum { HEAD = 2, TAIL = 10 };
    buf_t b = BUF_INIT(PEER_ID_MAX_STRING);

    if (peer_id_to_string(id, &b) < 0) {
        memcpy(out, "<invalid>", sizeof "<invalid>");
    } else if (b.len <= HEAD + 1 + TAIL) {
        memcpy(out, b.data, b.len);
        out[b.len] = '\0';
    } else {
        memcpy(out, b.data, HEAD);
        out[HEAD] = '*';
        memcpy(out + HEAD + 1, b.data + b.len - TAIL, TAIL);
        out[HEAD + 1 + TAIL] = '\0';
    }
    buf_free(&b);
}

bool
peer_id_equal(const peer_id_t *a, const peer_id_t *b)
{
    return a->len == b->len && a->len <= PEER_ID_MAX_LEN && memcmp(a->bytes, b->bytes, a->len) == 0;
}

int
peer_id_cmp(const peer_id_t *a, const peer_id_t *b)
{
    size_t n = LS_MIN(a->len, b->len);
    int c = memcmp(a->bytes, b->bytes, LS_MIN(n, (size_t)PEER_ID_MAX_LEN));

    if (c != 0)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}
