/* Fuzz peer IDs in binary and text form, and the key protobuf decoders: accepted
 * IDs must round-trip through both text forms, accepted key protobufs must
 * re-encode byte for byte (the decoders accept only the canonical encoding). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/peerid/peerid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_id_text_forms(const peer_id_t *id)
{
    buf_t text = BUF_INIT(BUF_UNLIMITED);
    peer_id_t back;
    char shortform[PEER_ID_SHORT_LEN];

    if (peer_id_to_string(id, &text) != 0 || peer_id_from_string(&back, buf_cstr(&text)) != 0 ||
        !peer_id_equal(id, &back))
        abort();
    buf_clear(&text);
    if (peer_id_to_cid_string(id, &text) != 0 || peer_id_from_string(&back, buf_cstr(&text)) != 0 ||
        !peer_id_equal(id, &back))
        abort();
    peer_id_short(id, shortform);
    if (strnlen(shortform, sizeof shortform) >= sizeof shortform)
        abort();
    free(peer_id_to_str(id));
    buf_free(&text);
}

static void
check_key_protos(const uint8_t *p, size_t len)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    const uint8_t *key;
    size_t keylen;
    int type;
    peer_id_t id;

    if (pubkey_proto_decode(p, len, &type, &key, &keylen) == 0) {
        if (pubkey_proto_encode(type, key, keylen, &b) != 0 || b.len != len ||
            memcmp(b.data, p, len) != 0)
            abort();
        if (peer_id_from_pubkey_proto(&id, p, len) != 0)
            abort();
        check_id_text_forms(&id);
    }
    buf_clear(&b);
    if (privkey_proto_decode(p, len, &type, &key, &keylen) == 0) {
        /* a legacy 96-byte Ed25519 key re-encodes as 64 bytes */
        bool legacy = type == PEER_KEY_ED25519 && len == 4 + 96;
        if (privkey_proto_encode(type, key, keylen, &b) != 0 ||
            (!legacy && (b.len != len || memcmp(b.data, p, len) != 0)))
            abort();
    }
    buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    peer_id_t id;
    uint8_t pk[32];
    char *s;

    if (peer_id_from_bytes(&id, data, size) == 0) {
        if (id.len != size || memcmp(id.bytes, data, size) != 0)
            abort();
        peer_id_ed25519_pubkey(&id, pk);
        check_id_text_forms(&id);
    }
    s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    if (peer_id_from_string(&id, s) == 0)
        check_id_text_forms(&id);
    free(s);
    check_key_protos(data, size);
    return 0;
}
