/* fuzz_peerstore_row — peerstore_load_row() on arbitrary rows, as a damaged or
 * hostile database could hold them (seed 001's `peers` table and `peer_addrs`).
 *
 * Input: a flags byte, then length-prefixed fields (1-byte lengths, 2 bytes for the
 * key): node_id, address, public_key, 8 bytes last_seen, 8 bytes trust (raw
 * double), then up to 8 addresses. Flag bits make address / public_key SQL NULL,
 * and 0x10 replaces node_id with the canonical ID of the Ed25519 key in the first
 * 32 bytes of public_key, so the fuzzer gets past the ID check.
 *
 * Properties: no crash, leak or sanitizer report; whatever loads is valid: trust in
 * [0, 1], a stored key hashes to the peer ID, at most max_addrs addresses and none
 * with a /p2p component; loading a row twice is refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "net/peerstore/peerstore.h"
#include "net/peerstore/peerstore_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELD_ADDRS 8

typedef struct reader_t {
    const uint8_t *p;
    size_t left;
} reader_t;

/* A NUL-terminated copy of the next field (length prefix of `width` bytes). */
static char *
field(reader_t *r, int width, size_t *len)
{
    size_t n = 0;
    for (int i = 0; i < width && r->left; i++, r->p++, r->left--)
        n = (n << 8) | *r->p;
    n = n < r->left ? n : r->left;
    char *s = malloc(n + 1);
    memcpy(s, r->p, n);
    s[n] = '\0';
    r->p += n;
    r->left -= n;
    *len = n;
    return s;
}

static uint64_t
u64(reader_t *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8 && r->left; i++, r->p++, r->left--)
        v = (v << 8) | *r->p;
    return v;
}

static void
check_loaded(const peerstore_t *ps, const peer_id_t *id)
{
    peer_view_t v;
    if (!peerstore_get(ps, id, &v))
        abort();
    if (!(v.trust >= 0 && v.trust <= 1) || v.n_addrs > 16)
        abort();
    for (size_t i = 0; i < v.n_addrs; i++) {
        peer_id_t in_addr;
        if (multiaddr_get_peer_id(v.addrs[i], &in_addr))
            abort();
    }
    if (v.pubkey) {
        peer_id_t derived;
        if (peer_id_from_pubkey_proto(&derived, v.pubkey, v.pubkey_len) < 0 ||
            !peer_id_equal(&derived, id))
            abort();
    }
}

static void
load(const peerstore_row_t *row)
{
    peerstore_t *ps = peerstore_new(NULL, 0.5);
    if (peerstore_load_row(ps, row) == 0) {
        peer_id_t id;
        if (peer_id_from_string(&id, row->node_id) < 0)
            abort();
        check_loaded(ps, &id);
        if (peerstore_load_row(ps, row) != LS_ECORRUPT)
            abort();
    }
    peerstore_free(ps);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    reader_t r = { data + 1, size - 1 };
    uint8_t flags = data[0];
    size_t n, pklen;
    char *node_id = field(&r, 1, &n);
    char *address = field(&r, 1, &n);
    char *pubkey = field(&r, 2, &pklen);
    uint64_t last_seen = u64(&r);
    uint64_t trust_bits = u64(&r);
    char *addrs[MAX_FIELD_ADDRS];
    size_t n_addrs = 0;
    while (r.left && n_addrs < MAX_FIELD_ADDRS)
        addrs[n_addrs++] = field(&r, 1, &n);

    if (flags & 0x10) {
        uint8_t pk[32] = { 0 };
        peer_id_t id;
        memcpy(pk, pubkey, pklen < 32 ? pklen : 32);
        peer_id_from_ed25519(&id, pk);
        free(node_id);
        node_id = peer_id_to_str(&id);
    }
    peerstore_row_t row = { 0 };
    row.node_id = (flags & 0x08) ? NULL : node_id;
    row.address = (flags & 0x01) ? NULL : address;
    row.public_key = (flags & 0x02) ? NULL : (const uint8_t *)pubkey;
    row.public_key_len = pklen;
    row.has_last_seen = !(flags & 0x04);
    row.last_seen = (int64_t)last_seen;
    row.has_trust = !(flags & 0x20);
    memcpy(&row.trust, &trust_bits, sizeof row.trust);
    row.addrs = (const char *const *)addrs;
    row.n_addrs = n_addrs;
    load(&row);

    for (size_t i = 0; i < n_addrs; i++)
        free(addrs[i]);
    free(node_id);
    free(address);
    free(pubkey);
    return 0;
}
