/* Tests for net/noise (libp2p Noise) and the crypto it stands on (lib/crypto/aead,
 * lib/crypto/x25519): known answers from RFC 5869, RFC 7748 and the cacophony Noise
 * vectors; a cross-check of the AEAD against libsodium; full handshakes split at
 * random points; and the ways a peer can misbehave. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "lib/buf/buf.h"
#include "lib/crypto/aead.h"
#include "lib/crypto/ed25519.h"
#include "lib/crypto/random.h"
#include "lib/crypto/sha256.h"
#include "lib/crypto/x25519.h"
#include "lib/err/err.h"
#include "lib/peerid/peerid.h"
#include "net/noise/noise.h"
#include "net/noise/noise_hs.h"
#include "net/noise/noise_internal.h"
#include "net/noise/noise_payload.h"

#include "../lib/libp2p_keys_fixture.h"

/* ---- helpers ---------------------------------------------------------------- */

static size_t
unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        char pair[3] = {hex[2 * i], hex[2 * i + 1], 0};
        out[i] = (uint8_t)strtoul(pair, NULL, 16);
    }
    return n;
}

typedef struct side_t {
    noise_t *n;
    buf_t inbox; /* delivered, not yet consumed */
    ed25519_keypair_t id;
    peer_id_t pid;
} side_t;

static void
side_init(side_t *s, bool initiator, const peer_id_t *expect)
{
    ed25519_keypair_generate(&s->id);
    peer_id_from_ed25519(&s->pid, s->id.pk);
    s->n = noise_new(initiator, &s->id, expect);
    buf_init(&s->inbox, BUF_UNLIMITED);
}

static void
side_free(side_t *s)
{
    noise_free(s->n);
    buf_free(&s->inbox);
    ed25519_keypair_wipe(&s->id);
}

/* Move 1..max_chunk bytes (all if max_chunk is 0) from the front of `wire`. */
static void
deliver(buf_t *wire, side_t *to, size_t max_chunk)
{
    if (wire->len == 0)
        return;
    size_t n = max_chunk ? 1 + random_uniform((uint32_t)max_chunk) : wire->len;
    n = LS_MIN(n, wire->len);
    assert_int_equal(buf_append(&to->inbox, wire->data, n), 0);
    buf_consume(wire, n);
}

static int
feed_handshake(side_t *s)
{
    while (!noise_is_done(s->n)) {
        size_t used;
        int rc = noise_input(s->n, s->inbox.data, s->inbox.len, &used);
        buf_consume(&s->inbox, used);
        if (rc == LS_EAGAIN)
            return 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Run the handshake between initiator `a` and responder `b`, delivering bytes in
 * random chunks of at most `max_chunk`. Returns 0 or the first error. */
static int
handshake(side_t *a, side_t *b, size_t max_chunk)
{
    buf_t a2b = BUF_INIT(BUF_UNLIMITED), b2a = BUF_INIT(BUF_UNLIMITED);
    int rc = 0;

    for (int i = 0; i < 100000; i++) {
        if ((rc = noise_output(a->n, &a2b)) < 0 || (rc = noise_output(b->n, &b2a)) < 0)
            break;
        rc = 0;
        if (noise_is_done(a->n) && noise_is_done(b->n) && !a2b.len && !b2a.len)
            break;
        deliver(&a2b, b, max_chunk);
        deliver(&b2a, a, max_chunk);
        if ((rc = feed_handshake(a)) < 0 || (rc = feed_handshake(b)) < 0)
            break;
    }
    buf_free(&a2b);
    buf_free(&b2a);
    return rc;
}

/* ---- HKDF, SymmetricState ---------------------------------------------------- */

static void
test_hkdf_rfc5869(void **state)
{
    /* RFC 5869 A.3: SHA-256, IKM = 22 x 0x0b, no salt (= HashLen zeros), no info.
     * Noise's HKDF is RFC 5869 with salt = chaining key and empty info. */
    uint8_t ck[32] = {0}, ikm[22], out1[32], out2[32], out3[32], okm[42];
    (void)state;
    memset(ikm, 0x0b, sizeof ikm);
    unhex(okm, sizeof okm,
          "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
          "9d201395faa4b61a96c8");
    noise_hkdf(ck, ikm, sizeof ikm, out1, out2, out3);
    assert_memory_equal(out1, okm, 32);
    assert_memory_equal(out2, okm + 32, 10);
    /* out3 = HMAC(temp_key, out2 || 0x03): compute temp_key independently */
    uint8_t temp[32], in[33], want3[32];
    hmac_sha256(temp, ck, 32, ikm, sizeof ikm);
    memcpy(in, out2, 32);
    in[32] = 0x03;
    hmac_sha256(want3, temp, 32, in, 33);
    assert_memory_equal(out3, want3, 32);
}

static void
test_symmetric_state(void **state)
{
    noise_symmetric_t ss;
    uint8_t want[32], buf[64], k1[32], k2[32];
    (void)state;

    /* A 32-byte protocol name is used as h directly, and ck = h. */
    noise_ss_init(&ss, NOISE_PROTOCOL_NAME);
    assert_memory_equal(ss.h, NOISE_PROTOCOL_NAME, 32);
    assert_memory_equal(ss.ck, NOISE_PROTOCOL_NAME, 32);
    assert_false(noise_cipher_has_key(&ss.cs));

    /* MixHash(data): h = SHA256(h || data) */
    memcpy(buf, ss.h, 32);
    memcpy(buf + 32, "abc", 3);
    sha256(want, buf, 35);
    noise_ss_mix_hash(&ss, (const uint8_t *)"abc", 3);
    assert_memory_equal(ss.h, want, 32);

    /* MixKey(ikm): ck, k = HKDF(ck, ikm); the cipher is keyed with k, n = 0 */
    uint8_t old_ck[32], ikm[32];
    memcpy(old_ck, ss.ck, 32);
    memset(ikm, 7, sizeof ikm);
    noise_hkdf(old_ck, ikm, sizeof ikm, k1, k2, NULL);
    noise_ss_mix_key(&ss, ikm, sizeof ikm);
    assert_memory_equal(ss.ck, k1, 32);
    assert_true(noise_cipher_has_key(&ss.cs));
    assert_int_equal(ss.cs.n, 0);

    /* EncryptAndHash uses k with ad = h, then hashes the ciphertext */
    uint8_t ct[3 + 16], ref[3 + 16], h_before[32];
    memcpy(h_before, ss.h, 32);
    aead_t *a = aead_new(k2);
    assert_int_equal(aead_seal(a, 0, h_before, 32, (const uint8_t *)"xyz", 3, ref), 0);
    aead_free(a);
    assert_int_equal(noise_ss_encrypt_and_hash(&ss, (const uint8_t *)"xyz", 3, ct), 0);
    assert_memory_equal(ct, ref, sizeof ct);
    memcpy(buf, h_before, 32);
    memcpy(buf + 32, ct, sizeof ct);
    sha256(want, buf, 32 + sizeof ct);
    assert_memory_equal(ss.h, want, 32);
    assert_int_equal(ss.cs.n, 1);

    /* Split: HKDF(ck, empty) and the chaining key is wiped */
    noise_cipher_t c1 = {0}, c2 = {0};
    noise_hkdf(ss.ck, NULL, 0, k1, k2, NULL);
    noise_ss_split(&ss, &c1, &c2);
    uint8_t zero[32] = {0};
    assert_memory_equal(ss.ck, zero, 32);
    assert_false(noise_cipher_has_key(&ss.cs));
    uint8_t x1[16], x2[16];
    a = aead_new(k1);
    assert_int_equal(aead_seal(a, 0, NULL, 0, NULL, 0, x1), 0);
    aead_free(a);
    assert_int_equal(noise_cipher_encrypt(&c1, NULL, 0, NULL, 0, x2), 0);
    assert_memory_equal(x1, x2, 16);
    noise_cipher_clear(&c1);
    noise_cipher_clear(&c2);
    noise_ss_wipe(&ss);
}

/* ---- AEAD, X25519 -------------------------------------------------------------- */

static void
test_aead_matches_libsodium(void **state)
{
    uint8_t key[32], ad[40], pt[5000], ct[5000 + 16], ref[5000 + 16], back[5000 + 16];
    (void)state;

    for (int iter = 0; iter < 100; iter++) {
        size_t len = iter < 10 ? (size_t)1019 + iter : random_uniform(sizeof pt + 1),
               adlen = random_uniform(sizeof ad + 1);
        uint64_t nonce = iter == 0 ? 0 : random_u64();
        uint8_t iv[12] = {0};
        unsigned long long reflen;
        random_bytes(key, sizeof key);
        random_bytes(ad, sizeof ad);
        random_bytes(pt, sizeof pt);
        for (int i = 0; i < 8; i++)
            iv[4 + i] = (uint8_t)(nonce >> (8 * i));
        aead_t *a = aead_new(key);
        assert_int_equal(aead_seal(a, nonce, ad, adlen, pt, len, ct), 0);
        crypto_aead_chacha20poly1305_ietf_encrypt(ref, &reflen, pt, len, ad, adlen, NULL, iv, key);
        assert_int_equal(reflen, len + 16);
        assert_memory_equal(ct, ref, len + 16);
        assert_int_equal(aead_open(a, nonce, ad, adlen, ct, len + 16, back), 0);
        assert_memory_equal(back, pt, len);
        /* in place, both ways */
        memcpy(back, pt, len);
        assert_int_equal(aead_seal(a, nonce, ad, adlen, back, len, back), 0);
        assert_memory_equal(back, ref, len);
        ct[random_uniform((uint32_t)(len + 16))] ^= 0x40; /* tamper anywhere */
        assert_int_equal(aead_open(a, nonce, ad, adlen, ct, len + 16, back), LS_EBADSIG);
        for (size_t i = 0; i < len; i++)
            assert_int_equal(back[i], 0); /* no unauthenticated plaintext */
        memcpy(ct, ref, len + 16);
        assert_int_equal(aead_open(a, nonce + 1, ad, adlen, ct, len + 16, back), LS_EBADSIG);
        aead_free(a);
    }
}

static void
test_aead_edges(void **state)
{
    uint8_t key[32] = {1}, out[16], empty[1];
    (void)state;
    aead_t *a = aead_new(key);
    assert_int_equal(aead_open(a, 0, NULL, 0, out, 15, out), LS_EINVAL);
    assert_int_equal(aead_seal(a, 0, NULL, 0, NULL, 0, out), 0); /* tag only */
    assert_int_equal(aead_open(a, 0, NULL, 0, out, 16, empty), 0);
    assert_int_equal(aead_open(a, 1, NULL, 0, out, 16, empty), LS_EBADSIG);
    assert_int_equal(aead_seal(a, 0, NULL, 0, out, AEAD_MAX_LEN + 1, out), LS_ETOOBIG);
    aead_free(a);
    assert_null(a);
    aead_free_(NULL);
}

static void
test_x25519_rfc7748(void **state)
{
    uint8_t ask[32], bsk[32], apk[32], bpk[32], shared[32], s2[32], zero[32] = {0};
    x25519_keypair_t a, b;
    (void)state;
    /* RFC 7748 §6.1 */
    unhex(ask, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    unhex(apk, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    unhex(bsk, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    unhex(bpk, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    unhex(s2, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    x25519_keypair_from_secret(&a, ask);
    x25519_keypair_from_secret(&b, bsk);
    assert_memory_equal(a.pk, apk, 32);
    assert_memory_equal(b.pk, bpk, 32);
    assert_int_equal(x25519(shared, a.sk, b.pk), 0);
    assert_memory_equal(shared, s2, 32);
    assert_int_equal(x25519(shared, b.sk, a.pk), 0);
    assert_memory_equal(shared, s2, 32);
    /* small-order points give an all-zero secret: refused */
    uint8_t one[32] = {1};
    assert_int_equal(x25519(shared, a.sk, zero), LS_EINVAL);
    assert_int_equal(x25519(shared, a.sk, one), LS_EINVAL);
    assert_memory_equal(shared, zero, 32);
    x25519_keypair_wipe(&a);
    assert_memory_equal(a.sk, zero, 32);
}

/* ---- Noise XX known answer (cacophony vectors/cacophony.txt) ------------------- */

static void
check_write(noise_xx_t *w, noise_xx_t *r, const char *payload_hex, const char *ct_hex)
{
    uint8_t payload[64], want[256];
    size_t plen = unhex(payload, sizeof payload, payload_hex);
    size_t clen = unhex(want, sizeof want, ct_hex);
    buf_t msg = BUF_INIT(NOISE_MAX_MSG), got = BUF_INIT(NOISE_MAX_MSG);

    assert_int_equal(noise_xx_write_len(w, plen), clen);
    assert_int_equal(noise_xx_write(w, payload, plen, &msg), 0);
    assert_int_equal(msg.len, clen);
    assert_memory_equal(msg.data, want, clen);
    assert_int_equal(noise_xx_read(r, msg.data, msg.len, &got), 0);
    assert_int_equal(got.len, plen);
    assert_memory_equal(got.data, payload, plen);
    buf_free(&msg);
    buf_free(&got);
}

static void
check_transport(noise_cipher_t *tx, noise_cipher_t *rx, const char *payload_hex, const char *ct_hex)
{
    uint8_t payload[64], want[128], got[128], back[128];
    size_t plen = unhex(payload, sizeof payload, payload_hex);
    size_t clen = unhex(want, sizeof want, ct_hex);

    assert_int_equal(clen, plen + 16);
    assert_int_equal(noise_cipher_encrypt(tx, NULL, 0, payload, plen, got), 0);
    assert_memory_equal(got, want, clen);
    assert_int_equal(noise_cipher_decrypt(rx, NULL, 0, got, clen, back), 0);
    assert_memory_equal(back, payload, plen);
}

static void
test_xx_known_answer(void **state)
{
    uint8_t prologue[16], sk[32], eph_i[32], eph_r[32];
    size_t plen = unhex(prologue, sizeof prologue, "4a6f686e2047616c74");
    x25519_keypair_t is, rs;
    noise_xx_t i, r;
    noise_cipher_t i_tx = {0}, i_rx = {0}, r_tx = {0}, r_rx = {0};
    (void)state;

    unhex(sk, 32, "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1");
    x25519_keypair_from_secret(&is, sk);
    unhex(sk, 32, "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893");
    x25519_keypair_from_secret(&rs, sk);
    unhex(eph_i, 32, "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a");
    unhex(eph_r, 32, "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b");
    noise_xx_init(&i, true, prologue, plen, &is);
    noise_xx_init(&r, false, prologue, plen, &rs);
    noise_xx_set_ephemeral(&i, eph_i);
    noise_xx_set_ephemeral(&r, eph_r);

    check_write(&i, &r, "4c756477696720766f6e204d69736573",
                "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944"
                "4c756477696720766f6e204d69736573");
    check_write(&r, &i, "4d757272617920526f746862617264",
                "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843"
                "81cbad1f276e038c48378ffce2b65285e08d6b68aaa3629a5a8639392490e5b9"
                "bd5269c2f1e4f488ed8831161f19b7815528f8982ffe09be9b5c412f8a0db50f"
                "8814c7194e83f23dbd8d162c9326ad");
    check_write(&i, &r, "462e20412e20486179656b",
                "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a8"
                "0ae475b9df0f169ae80a89be0865b57f58c9fea0d4ec82a286427402f113e4b6"
                "ae769a1d95941d49b25030");
    assert_memory_equal(i.rs, rs.pk, 32);
    assert_memory_equal(r.rs, is.pk, 32);
    assert_memory_equal(i.ss.h, r.ss.h, 32);

    noise_xx_split(&i, &i_tx, &i_rx);
    noise_xx_split(&r, &r_tx, &r_rx);
    uint8_t zero[32] = {0};
    assert_memory_equal(i.e.sk, zero, 32); /* ephemeral and static wiped at Split */
    assert_memory_equal(i.s.sk, zero, 32);
    assert_memory_equal(r.ss.ck, zero, 32);
    /* transport messages alternate, starting with the responder */
    check_transport(&r_tx, &i_rx, "4361726c204d656e676572",
                    "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df");
    check_transport(&i_tx, &r_rx, "4a65616e2d426170746973746520536179",
                    "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5");
    check_transport(&r_tx, &i_rx, "457567656e2042f6686d20766f6e2042617765726b",
                    "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3"
                    "a58502ae3f");
    noise_cipher_clear(&i_tx);
    noise_cipher_clear(&i_rx);
    noise_cipher_clear(&r_tx);
    noise_cipher_clear(&r_rx);
    noise_xx_wipe(&i);
    noise_xx_wipe(&r);
}

static void
test_xx_turns_and_short_messages(void **state)
{
    x25519_keypair_t s;
    noise_xx_t i, r;
    buf_t msg = BUF_INIT(NOISE_MAX_MSG), pl = BUF_INIT(NOISE_MAX_MSG);
    uint8_t junk[200] = {0};
    (void)state;

    x25519_keypair_generate(&s);
    noise_xx_init(&i, true, NULL, 0, &s);
    noise_xx_init(&r, false, NULL, 0, &s);
    assert_int_equal(noise_xx_read(&i, junk, 32, &pl), LS_EINVAL); /* not its turn */
    assert_int_equal(noise_xx_write(&r, NULL, 0, &msg), LS_EINVAL);
    assert_int_equal(noise_xx_read(&r, junk, 31, &pl), LS_EPROTO); /* short e */
    assert_int_equal(noise_xx_write(&i, NULL, 65535, &msg), LS_ETOOBIG);
    assert_int_equal(msg.len, 0);
    /* an all-zero ephemeral from the initiator: the responder's ee DH refuses it */
    assert_int_equal(noise_xx_read(&r, junk, 32, &pl), 0);
    assert_int_equal(noise_xx_write(&r, NULL, 0, &msg), LS_EPROTO);
    assert_int_equal(msg.len, 0);
    noise_xx_wipe(&i);
    noise_xx_wipe(&r);
    buf_free(&msg);
    buf_free(&pl);
}

/* ---- payload codec -------------------------------------------------------------- */

static void
test_payload_roundtrip(void **state)
{
    static const char *const muxers[] = {"/yamux/1.0.0", "/mplex/6.7.0"};
    uint8_t key[36], sig[64];
    buf_t b = BUF_INIT(1024);
    noise_payload_t pl;
    (void)state;

    memset(key, 0xaa, sizeof key);
    memset(sig, 0x55, sizeof sig);
    assert_int_equal(noise_payload_encode(&b, key, sizeof key, sig, sizeof sig, muxers, 2), 0);
    /* field 1 (0x0a), 36 bytes; field 2 (0x12), 64 bytes; field 4 (0x22), ... */
    assert_int_equal(b.data[0], 0x0a);
    assert_int_equal(b.data[1], 36);
    assert_int_equal(b.data[38], 0x12);
    assert_int_equal(b.data[39], 64);
    assert_int_equal(b.data[104], 0x22);
    assert_int_equal(noise_payload_decode(&pl, b.data, b.len), 0);
    assert_true(pl.has_identity_key && pl.has_identity_sig && pl.has_extensions);
    assert_int_equal(pl.identity_key.len, 36);
    assert_memory_equal(pl.identity_key.p, key, 36);
    assert_int_equal(pl.identity_sig.len, 64);
    assert_int_equal(pl.n_muxers, 2);
    assert_memory_equal(pl.muxers[1].p, "/mplex/6.7.0", 12);

    /* no muxers: no extensions field at all */
    buf_clear(&b);
    assert_int_equal(noise_payload_encode(&b, key, sizeof key, sig, sizeof sig, NULL, 0), 0);
    assert_int_equal(b.len, 2 + 36 + 2 + 64);
    /* a full buffer leaves it unchanged */
    buf_t small = BUF_INIT(50);
    assert_int_equal(noise_payload_encode(&small, key, sizeof key, sig, 64, NULL, 0), LS_ETOOBIG);
    assert_int_equal(small.len, 0);
    buf_free(&small);
    buf_free(&b);
}

static void
test_payload_decode_rules(void **state)
{
    noise_payload_t pl;
    (void)state;
    /* unknown fields of every wire type are skipped; retired field 3 too; an
     * extension with certhashes and an unknown field; last identity_key wins */
    /* clang-format off */
    static const uint8_t ok[] = {
        0x0a, 0x01, 0x11,                         /* identity_key = 11 */
        0x1a, 0x02, 0xde, 0xad,                   /* data (field 3) */
        0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, /* 10-byte varint */
        0x31, 1, 2, 3, 4, 5, 6, 7, 8,             /* field 6, i64 */
        0x3d, 1, 2, 3, 4,                         /* field 7, i32 */
        0x22, 0x08, 0x0a, 0x01, 0x00, 0x12, 0x01, 'y', 0x18, 0x05, /* extensions */
        0x22, 0x03, 0x12, 0x01, 'z',              /* merged */
        0x0a, 0x01, 0x22,                         /* identity_key again: 22 */
    };
    /* clang-format on */
    assert_int_equal(noise_payload_decode(&pl, ok, sizeof ok), 0);
    assert_int_equal(pl.identity_key.len, 1);
    assert_int_equal(pl.identity_key.p[0], 0x22);
    assert_false(pl.has_identity_sig);
    assert_int_equal(pl.n_certhashes, 1);
    assert_int_equal(pl.n_muxers, 2);
    assert_int_equal(pl.muxers[0].p[0], 'y');
    assert_int_equal(pl.muxers[1].p[0], 'z');
    assert_int_equal(noise_payload_decode(&pl, NULL, 0), 0); /* empty message */

    static const uint8_t bad[][6] = {
        {0x0a, 0x05, 1, 2},       /* length past the end */
        {0x08, 0x01},             /* identity_key as a varint */
        {0x23, 0x24},             /* a group */
        {0x00, 0x00},             /* field 0 */
        {0x0f},                   /* wire type 7 */
        {0x22, 0x02, 0x10, 0x01}, /* extensions: muxer as a varint */
        {0x0a, 0x80},             /* truncated varint */
        {0x31, 1, 2},             /* truncated i64 */
    };
    static const size_t bad_len[] = {4, 2, 2, 2, 1, 4, 2, 3};
    for (size_t i = 0; i < LS_ARRAY_LEN(bad_len); i++)
        assert_int_equal(noise_payload_decode(&pl, bad[i], bad_len[i]), LS_EPROTO);
    /* an 11-byte varint */
    static const uint8_t long_varint[] = {0x28, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0x81, 0x00};
    assert_int_equal(noise_payload_decode(&pl, long_varint, sizeof long_varint), LS_EPROTO);
}

static void
test_payload_muxer_limits(void **state)
{
    noise_payload_t pl;
    (void)state;
    /* muxer names: empty or with NUL counted, not kept; more than 8 not kept */
    uint8_t many[2 + 10 * 3 + 4];
    size_t n = 0;
    many[n++] = 0x22;
    many[n++] = 10 * 3 + 4;
    for (int i = 0; i < 10; i++) {
        many[n++] = 0x12;
        many[n++] = 1;
        many[n++] = (uint8_t)('a' + i);
    }
    memcpy(many + n, "\x12\x00\x12\x01", 4); /* empty name, then a truncated one */
    assert_int_equal(noise_payload_decode(&pl, many, n + 4), LS_EPROTO);
    many[1] = 10 * 3 + 2;
    assert_int_equal(noise_payload_decode(&pl, many, n + 2), 0);
    assert_int_equal(pl.n_muxers, NOISE_PAYLOAD_MAX_MUXERS);
    assert_int_equal(pl.n_muxers_seen, 11);
}

/* ---- libp2p handshakes --------------------------------------------------------- */

static void
test_handshake_random_splits(void **state)
{
    (void)state;
    for (int iter = 0; iter < 20; iter++) {
        side_t a, b;
        side_init(&b, false, NULL);
        side_init(&a, true, iter % 2 ? &b.pid : NULL);
        size_t chunk = iter < 2 ? 0 : 1 + random_uniform(iter < 10 ? 8 : 300);
        assert_int_equal(handshake(&a, &b, chunk), 0);
        assert_true(noise_is_done(a.n));
        assert_true(noise_is_done(b.n));
        assert_true(peer_id_equal(noise_remote_peer(a.n), &b.pid));
        assert_true(peer_id_equal(noise_remote_peer(b.n), &a.pid));
        assert_memory_equal(noise_remote_identity(a.n), b.id.pk, 32);
        assert_memory_equal(noise_remote_identity(b.n), a.id.pk, 32);
        assert_int_equal(a.inbox.len, 0);
        assert_int_equal(b.inbox.len, 0);
        size_t used;
        assert_int_equal(noise_input(a.n, NULL, 0, &used), LS_EINVAL); /* done */
        side_free(&a);
        side_free(&b);
    }
}

/* Send `total` random bytes from `from` to `to` in random write sizes, delivered in
 * random chunks; check they arrive intact. */
static void
transport_roundtrip(side_t *from, side_t *to, size_t total, size_t max_write)
{
    uint8_t *data = ls_malloc(total);
    buf_t wire = BUF_INIT(BUF_UNLIMITED), got = BUF_INIT(BUF_UNLIMITED);

    random_bytes(data, total);
    for (size_t off = 0; off < total || off == 0;) {
        size_t w = random_uniform((uint32_t)max_write + 1); /* LS_MIN evaluates twice */
        w = LS_MIN(total - off, w);
        assert_int_equal(noise_encrypt(from->n, data + off, w, &wire), 0);
        off += w;
        if (total == 0)
            break;
        while (wire.len) {
            deliver(&wire, to, 1 + random_uniform(100000));
            size_t used;
            int rc = noise_decrypt(to->n, to->inbox.data, to->inbox.len, &used, &got);
            assert_true(rc == 0 || rc == LS_EAGAIN);
            buf_consume(&to->inbox, used);
        }
    }
    assert_int_equal(to->inbox.len, 0);
    assert_int_equal(got.len, total);
    assert_memory_equal(got.data, data, total);
    free(data);
    buf_free(&wire);
    buf_free(&got);
}

static void
test_transport_random_splits(void **state)
{
    side_t a, b;
    (void)state;
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    assert_int_equal(handshake(&a, &b, 7), 0);
    transport_roundtrip(&a, &b, 300000, 70000);
    transport_roundtrip(&b, &a, 300000, 70000);
    transport_roundtrip(&a, &b, 1000, 3);
    side_free(&a);
    side_free(&b);
}

/* The initiator's last handshake message and its first data leave in one write, as
 * the spec suggests; the responder's noise_input() must stop at the boundary. */
static void
test_handshake_and_data_in_one_write(void **state)
{
    side_t a, b;
    buf_t a2b = BUF_INIT(BUF_UNLIMITED), b2a = BUF_INIT(BUF_UNLIMITED), got = BUF_INIT(4096);
    size_t used;
    (void)state;
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    assert_true(noise_output(a.n, &a2b) > 0); /* -> e */
    assert_int_equal(noise_input(b.n, a2b.data, a2b.len, &used), 0);
    assert_int_equal(used, a2b.len);
    assert_true(noise_output(b.n, &b2a) > 0); /* <- e, ee, s, es */
    assert_int_equal(noise_encrypt(a.n, (const uint8_t *)"x", 1, &a2b), LS_EINVAL);
    assert_int_equal(noise_input(a.n, b2a.data, b2a.len, &used), 0);
    assert_true(noise_is_done(a.n));
    buf_clear(&a2b);
    /* no noise_output: noise_encrypt puts the pending -> s, se first */
    assert_int_equal(noise_encrypt(a.n, (const uint8_t *)"hello", 5, &a2b), 0);
    assert_int_equal(noise_output(a.n, &a2b), 0);
    assert_int_equal(noise_input(b.n, a2b.data, a2b.len, &used), 0);
    assert_true(noise_is_done(b.n));
    assert_true(used < a2b.len);
    assert_int_equal(noise_decrypt(b.n, a2b.data + used, a2b.len - used, &used, &got), 0);
    assert_int_equal(got.len, 5);
    assert_memory_equal(got.data, "hello", 5);
    side_free(&a);
    side_free(&b);
    buf_free(&a2b);
    buf_free(&b2a);
    buf_free(&got);
}

static void
test_wrong_expected_peer(void **state)
{
    side_t a, b, other;
    buf_t tmp = BUF_INIT(BUF_UNLIMITED);
    (void)state;
    side_init(&other, false, NULL);
    /* initiator expects `other` but reaches b */
    side_init(&b, false, NULL);
    side_init(&a, true, &other.pid);
    assert_int_equal(handshake(&a, &b, 0), LS_EPEERID);
    assert_false(noise_is_done(a.n));
    assert_null(noise_remote_peer(a.n));
    assert_int_equal(noise_output(a.n, &tmp), LS_EPEERID); /* sticky */
    assert_int_equal(noise_encrypt(a.n, NULL, 0, &tmp), LS_EPEERID);
    side_free(&a);
    side_free(&b);
    /* a responder may pin the initiator too */
    side_init(&b, false, &other.pid);
    side_init(&a, true, NULL);
    assert_int_equal(handshake(&a, &b, 0), LS_EPEERID);
    assert_false(noise_is_done(b.n));
    side_free(&a);
    side_free(&b);
    side_free(&other);
    buf_free(&tmp);
}

static void
test_bad_signature(void **state)
{
    side_t a, b;
    (void)state;
    /* the responder's signature is corrupted: the initiator refuses message 2 */
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    b.n->sig[10] ^= 1;
    assert_int_equal(handshake(&a, &b, 0), LS_EBADSIG);
    assert_false(noise_is_done(a.n));
    side_free(&a);
    side_free(&b);
    /* the initiator's is: the responder refuses message 3 */
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    a.n->sig[63] ^= 0x80;
    assert_int_equal(handshake(&a, &b, 0), LS_EBADSIG);
    assert_false(noise_is_done(b.n));
    side_free(&a);
    side_free(&b);
    /* a valid signature by another identity key than the one sent */
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    ed25519_keypair_t other;
    ed25519_keypair_generate(&other);
    buf_clear(&b.n->key_proto);
    assert_int_equal(pubkey_proto_encode(PEER_KEY_ED25519, other.pk, 32, &b.n->key_proto), 0);
    assert_int_equal(handshake(&a, &b, 0), LS_EBADSIG);
    side_free(&a);
    side_free(&b);
}

/* Give `s` an identity of libp2p key type `type` (not Ed25519): its PublicKey and a
 * signature of its static key, made with OpenSSL (libp2p_keys_fixture.h). */
static EVP_PKEY *
use_identity(side_t *s, int type)
{
    buf_t pub = BUF_INIT(BUF_UNLIMITED), sig = BUF_INIT(BUF_UNLIMITED);
    EVP_PKEY *pk = fixture_keygen(type, &pub);
    buf_clear(&s->n->key_proto);
    assert_int_equal(pubkey_proto_encode(type, pub.data, pub.len, &s->n->key_proto), 0);
    uint8_t msg[24 + 32];
    memcpy(msg, "noise-libp2p-static-key:", 24);
    memcpy(msg + 24, s->n->hs.s.pk, 32);
    fixture_sign(pk, msg, sizeof msg, &sig);
    assert_true(sig.len <= sizeof s->n->sig);
    memcpy(s->n->sig, sig.data, sig.len);
    s->n->sig_len = sig.len;
    assert_int_equal(peer_id_from_pubkey_proto(&s->pid, s->n->key_proto.data, s->n->key_proto.len),
                     0);
    buf_free(&pub);
    buf_free(&sig);
    return pk;
}

/* Remotes with RSA, secp256k1 and ECDSA identities, as responder and as initiator:
 * the signature is checked with that key and the peer ID derived from it
 * (sha2-256 for RSA and ECDSA, inline for secp256k1) is the one a dial expects. */
static void
test_other_key_types(void **state)
{
    static const int types[] = { PEER_KEY_RSA, PEER_KEY_SECP256K1, PEER_KEY_ECDSA };
    (void)state;
    for (size_t i = 0; i < LS_ARRAY_LEN(types); i++) {
        side_t a, b;
        side_init(&b, false, NULL);
        EVP_PKEY *kb = use_identity(&b, types[i]);
        assert_int_equal(b.pid.len, types[i] == PEER_KEY_SECP256K1 ? 39 : 34);
        side_init(&a, true, &b.pid);
        assert_int_equal(handshake(&a, &b, 7), 0);
        assert_true(peer_id_equal(noise_remote_peer(a.n), &b.pid));
        assert_int_equal(noise_remote_key_type(a.n), types[i]);
        assert_null(noise_remote_identity(a.n));
        assert_true(peer_id_equal(noise_remote_peer(b.n), &a.pid));
        assert_int_equal(noise_remote_key_type(b.n), PEER_KEY_ED25519);
        side_free(&a);
        side_free(&b);
        EVP_PKEY_free(kb);

        side_init(&a, true, NULL); /* the initiator's identity is checked in message 3 */
        EVP_PKEY *ka = use_identity(&a, types[i]);
        side_init(&b, false, NULL);
        assert_int_equal(handshake(&a, &b, 0), 0);
        assert_true(peer_id_equal(noise_remote_peer(b.n), &a.pid));
        side_free(&a);
        side_free(&b);
        EVP_PKEY_free(ka);

        side_init(&b, false, NULL); /* a signature that does not verify */
        kb = use_identity(&b, types[i]);
        b.n->sig[b.n->sig_len - 3] ^= 0x01;
        side_init(&a, true, NULL);
        assert_int_equal(handshake(&a, &b, 0), LS_EBADSIG);
        assert_false(noise_is_done(a.n));
        side_free(&a);
        side_free(&b);
        EVP_PKEY_free(kb);
    }
}

static void
test_bad_identity_keys(void **state)
{
    side_t a, b;
    uint8_t secp[33];
    (void)state;
    /* a secp256k1 "point" that is not on the curve */
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    memset(secp, 0xff, sizeof secp);
    secp[0] = 0x02;
    buf_clear(&b.n->key_proto);
    assert_int_equal(pubkey_proto_encode(PEER_KEY_SECP256K1, secp, 33, &b.n->key_proto), 0);
    assert_int_equal(handshake(&a, &b, 0), LS_EPROTO);
    side_free(&a);
    side_free(&b);
    /* an unknown key type */
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    buf_clear(&b.n->key_proto);
    assert_int_equal(buf_append(&b.n->key_proto, "\x08\x09\x12\x01\x00", 5), 0);
    assert_int_equal(handshake(&a, &b, 0), LS_ENOTSUP);
    side_free(&a);
    side_free(&b);
    /* garbage in identity_key */
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    buf_clear(&b.n->key_proto);
    assert_int_equal(buf_append(&b.n->key_proto, "\x08\x01\x12\x05hello", 9), 0);
    assert_int_equal(handshake(&a, &b, 0), LS_EPROTO);
    side_free(&a);
    side_free(&b);
}

static void
test_muxer_extension(void **state)
{
    static const char *const ours[] = {"/yamux/1.0.0"};
    static const char *const theirs[] = {"/mplex/6.7.0", "/yamux/1.0.0"};
    side_t a, b;
    const char *const *names;
    (void)state;
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    assert_int_equal(noise_set_muxers(a.n, ours, 1), 0);
    assert_int_equal(noise_set_muxers(b.n, theirs, 2), 0);
    assert_int_equal(noise_remote_muxers(a.n, &names), 0);
    assert_int_equal(handshake(&a, &b, 0), 0);
    assert_int_equal(noise_set_muxers(a.n, ours, 1), LS_EINVAL); /* too late */
    assert_int_equal(noise_remote_muxers(a.n, &names), 2);
    assert_string_equal(names[0], "/mplex/6.7.0");
    assert_string_equal(names[1], "/yamux/1.0.0");
    assert_int_equal(noise_remote_muxers(b.n, &names), 1);
    assert_string_equal(names[0], "/yamux/1.0.0");
    side_free(&a);
    side_free(&b);
    /* limits */
    side_init(&a, true, NULL);
    const char *nine[9] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    const char *empty[1] = {""};
    assert_int_equal(noise_set_muxers(a.n, nine, 9), LS_ELIMIT);
    assert_int_equal(noise_set_muxers(a.n, empty, 1), LS_EINVAL);
    side_free(&a);
}

static void
test_handshake_garbage(void **state)
{
    side_t a, b;
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    size_t used;
    (void)state;
    side_init(&b, false, NULL);
    /* truncated frames need more bytes */
    assert_int_equal(noise_input(b.n, (const uint8_t *)"\x00", 1, &used), LS_EAGAIN);
    assert_int_equal(noise_input(b.n, (const uint8_t *)"\x00\x20\x01", 3, &used), LS_EAGAIN);
    assert_int_equal(used, 0);
    /* a message 0 too short for an ephemeral key */
    assert_int_equal(noise_input(b.n,
                                 (const uint8_t *)"\x00\x03"
                                                  "abc",
                                 5, &used),
                     LS_EPROTO);
    assert_int_equal(noise_input(b.n, (const uint8_t *)"\x00\x00", 2, &used), LS_EPROTO);
    side_free(&b);

    /* a message 1 whose tags do not verify */
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    assert_true(noise_output(a.n, &out) > 0);
    assert_int_equal(noise_input(b.n, out.data, out.len, &used), 0);
    buf_clear(&out);
    assert_true(noise_output(b.n, &out) > 0);
    out.data[2 + 40] ^= 1; /* inside the encrypted static key */
    assert_int_equal(noise_input(a.n, out.data, out.len, &used), LS_EBADSIG);
    assert_int_equal(noise_output(a.n, &out), LS_EBADSIG);
    side_free(&a);
    side_free(&b);
    buf_free(&out);
}

static void
test_tampered_transport(void **state)
{
    side_t a, b;
    buf_t wire = BUF_INIT(BUF_UNLIMITED), got = BUF_INIT(BUF_UNLIMITED);
    size_t used;
    (void)state;
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    assert_int_equal(handshake(&a, &b, 0), 0);
    assert_int_equal(noise_encrypt(a.n, (const uint8_t *)"first", 5, &wire), 0);
    assert_int_equal(noise_encrypt(a.n, (const uint8_t *)"second", 6, &wire), 0);
    wire.data[wire.len - 3] ^= 0x01; /* the second frame's tag */
    assert_int_equal(noise_decrypt(b.n, wire.data, wire.len, &used, &got), LS_EBADSIG);
    assert_int_equal(used, 2 + 5 + 16); /* the first frame was good */
    assert_int_equal(got.len, 5);
    /* sticky */
    assert_int_equal(noise_decrypt(b.n, wire.data, 0, &used, &got), LS_EBADSIG);
    side_free(&a);
    side_free(&b);

    /* a replayed frame fails (its nonce is already used) */
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    assert_int_equal(handshake(&a, &b, 0), 0);
    buf_clear(&wire);
    assert_int_equal(noise_encrypt(a.n, (const uint8_t *)"x", 1, &wire), 0);
    assert_int_equal(noise_decrypt(b.n, wire.data, wire.len, &used, &got), 0);
    assert_int_equal(noise_decrypt(b.n, wire.data, wire.len, &used, &got), LS_EBADSIG);
    side_free(&a);
    side_free(&b);

    /* a frame shorter than a tag */
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    assert_int_equal(handshake(&a, &b, 0), 0);
    assert_int_equal(noise_decrypt(b.n, (const uint8_t *)"\x00\x0f", 2, &used, &got), LS_EAGAIN);
    static const uint8_t short_frame[2 + 15] = {0x00, 0x0f};
    assert_int_equal(noise_decrypt(b.n, short_frame, sizeof short_frame, &used, &got), LS_EPROTO);
    side_free(&a);
    side_free(&b);
    buf_free(&wire);
    buf_free(&got);
}

static void
test_large_message_frames(void **state)
{
    side_t a, b;
    buf_t wire = BUF_INIT(BUF_UNLIMITED), got = BUF_INIT(BUF_UNLIMITED);
    size_t len = 3 * NOISE_MAX_PLAINTEXT + 1000, used;
    uint8_t *data = ls_malloc(len);
    (void)state;
    random_bytes(data, len);
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    assert_int_equal(handshake(&a, &b, 0), 0);
    assert_int_equal(noise_encrypt(a.n, data, len, &wire), 0);
    assert_int_equal(wire.len, len + 4 * 18);
    /* frames of 63 KiB, then the rest (at most 65519) */
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(wire.data[off] << 8 | wire.data[off + 1], 63 * 1024 + 16);
        off += 2 + 63 * 1024 + 16;
    }
    assert_int_equal(wire.data[off] << 8 | wire.data[off + 1], len - 3 * 63 * 1024 + 16);
    assert_int_equal(off + 2 + len - 3 * 63 * 1024 + 16, wire.len);
    assert_int_equal(noise_decrypt(b.n, wire.data, wire.len, &used, &got), 0);
    assert_int_equal(used, wire.len);
    assert_memory_equal(got.data, data, len);
    /* exactly one full frame, and one byte more */
    static const size_t sizes[] = {NOISE_MAX_PLAINTEXT, NOISE_MAX_PLAINTEXT + 1};
    static const size_t nframes[] = {1, 2};
    for (int i = 0; i < 2; i++) {
        buf_clear(&wire);
        buf_clear(&got);
        assert_int_equal(noise_encrypt(a.n, data, sizes[i], &wire), 0);
        assert_int_equal(wire.len, sizes[i] + nframes[i] * 18);
        assert_int_equal(noise_decrypt(b.n, wire.data, wire.len, &used, &got), 0);
        assert_int_equal(got.len, sizes[i]);
        assert_memory_equal(got.data, data, sizes[i]);
    }
    /* an empty write is one empty frame */
    buf_clear(&wire);
    buf_clear(&got);
    assert_int_equal(noise_encrypt(a.n, NULL, 0, &wire), 0);
    assert_int_equal(wire.len, 18);
    assert_int_equal(noise_decrypt(b.n, wire.data, wire.len, &used, &got), 0);
    assert_int_equal(got.len, 0);
    free(data);
    side_free(&a);
    side_free(&b);
    buf_free(&wire);
    buf_free(&got);
}

/* In-place decryption, frame by frame: small (libsodium) and bulk (EVP) frames, an
 * incomplete one, then a tampered one (sticky). */
/* noise_encrypt_parts(): a header and a separate buffer sealed as one frame, read
 * back as head || data, at sizes on both sides of the AEAD's libsodium/EVP switch
 * and at the largest frame; over the limit nothing is written. */
static void
test_encrypt_parts(void **state)
{
    static const size_t sizes[] = { 0, 1, 1000, 1012, 5000, 64500, NOISE_MAX_PLAINTEXT - 12 };
    side_t a, b;
    buf_t wire = BUF_INIT(BUF_UNLIMITED);
    uint8_t head[12], *data = ls_malloc(NOISE_MAX_PLAINTEXT), *plain;
    size_t used, plen;
    (void)state;
    random_bytes(head, sizeof head);
    random_bytes(data, NOISE_MAX_PLAINTEXT);
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    assert_int_equal(noise_encrypt_parts(a.n, head, 12, data, 10, &wire), LS_EINVAL); /* early */
    assert_int_equal(handshake(&a, &b, 0), 0);
    for (size_t i = 0; i < LS_ARRAY_LEN(sizes); i++) {
        buf_clear(&wire);
        assert_int_equal(noise_encrypt_parts(a.n, head, sizeof head, data, sizes[i], &wire), 0);
        assert_int_equal(wire.len, 2 + sizeof head + sizes[i] + 16);
        assert_int_equal(noise_decrypt_frame(b.n, wire.data, wire.len, &used, &plain, &plen), 0);
        assert_int_equal(used, wire.len);
        assert_int_equal(plen, sizeof head + sizes[i]);
        assert_memory_equal(plain, head, sizeof head);
        if (sizes[i])
            assert_memory_equal(plain + sizeof head, data, sizes[i]);
    }
    buf_clear(&wire);
    assert_int_equal(noise_encrypt_parts(a.n, head, sizeof head, data, NOISE_MAX_PLAINTEXT - 11,
                                         &wire), LS_ETOOBIG);
    assert_int_equal(wire.len, 0);
    /* the nonce did not move: the next frame still decrypts */
    assert_int_equal(noise_encrypt_parts(a.n, NULL, 0, data, 100, &wire), 0);
    assert_int_equal(noise_decrypt_frame(b.n, wire.data, wire.len, &used, &plain, &plen), 0);
    assert_memory_equal(plain, data, 100);
    free(data);
    side_free(&a);
    side_free(&b);
    buf_free(&wire);
}

static void
test_decrypt_frame_in_place(void **state)
{
    side_t a, b;
    buf_t wire = BUF_INIT(BUF_UNLIMITED);
    size_t len = 2 * 63 * 1024 + 100, used, plen;
    uint8_t *data = ls_malloc(len), *plain;
    (void)state;
    random_bytes(data, len);
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    assert_int_equal(handshake(&a, &b, 0), 0);
    assert_int_equal(noise_encrypt(a.n, (const uint8_t *)"tiny", 4, &wire), 0);
    assert_int_equal(noise_encrypt(a.n, data, len, &wire), 0); /* 3 frames */
    size_t off = 0, got = 0;
    assert_int_equal(noise_decrypt_frame(b.n, wire.data, wire.len, &used, &plain, &plen), 0);
    assert_int_equal(used, 2 + 4 + 16);
    assert_ptr_equal(plain, wire.data + 2);
    assert_int_equal(plen, 4);
    assert_memory_equal(plain, "tiny", 4);
    off += used;
    /* one byte short of the next frame: nothing is touched */
    size_t flen = 2 + (size_t)(wire.data[off] << 8 | wire.data[off + 1]);
    assert_int_equal(noise_decrypt_frame(b.n, wire.data + off, flen - 1, &used, &plain, &plen),
                     LS_EAGAIN);
    assert_int_equal(used, 0);
    while (off < wire.len) {
        assert_int_equal(
            noise_decrypt_frame(b.n, wire.data + off, wire.len - off, &used, &plain, &plen), 0);
        assert_memory_equal(plain, data + got, plen);
        got += plen;
        off += used;
    }
    assert_int_equal(got, len);
    buf_clear(&wire);
    assert_int_equal(noise_encrypt(a.n, data, 5000, &wire), 0);
    wire.data[10] ^= 0x40;
    assert_int_equal(noise_decrypt_frame(b.n, wire.data, wire.len, &used, &plain, &plen),
                     LS_EBADSIG);
    assert_null(plain);
    assert_int_equal(noise_decrypt_frame(b.n, wire.data, wire.len, &used, &plain, &plen),
                     LS_EBADSIG);
    static uint8_t short_frame[2 + 15] = {0x00, 0x0f};
    side_free(&b);
    side_init(&b, false, NULL);
    side_free(&a);
    side_init(&a, true, NULL);
    assert_int_equal(handshake(&a, &b, 0), 0);
    assert_int_equal(
        noise_decrypt_frame(b.n, short_frame, sizeof short_frame, &used, &plain, &plen), LS_EPROTO);
    free(data);
    side_free(&a);
    side_free(&b);
    buf_free(&wire);
}

static void
test_buffer_limits(void **state)
{
    side_t a, b;
    buf_t wire = BUF_INIT(BUF_UNLIMITED), small = BUF_INIT(100), tiny = BUF_INIT(10);
    uint8_t data[60] = {1, 2, 3};
    size_t used;
    (void)state;
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    assert_int_equal(handshake(&a, &b, 0), 0);
    /* back-pressure: decryption stops before a frame the plaintext buffer cannot take */
    assert_int_equal(noise_encrypt(a.n, data, 60, &wire), 0);
    assert_int_equal(noise_encrypt(a.n, data, 60, &wire), 0);
    assert_int_equal(noise_decrypt(b.n, wire.data, wire.len, &used, &small), 0);
    assert_int_equal(used, 2 + 60 + 16); /* the second does not fit: left */
    buf_consume(&wire, used);
    assert_int_equal(noise_decrypt(b.n, wire.data, wire.len, &used, &small), LS_ETOOBIG);
    buf_clear(&small);
    assert_int_equal(noise_decrypt(b.n, wire.data, wire.len, &used, &small), 0);
    assert_memory_equal(small.data, data, 60);
    /* an output buffer that is too small is left unchanged, and nothing is lost */
    assert_int_equal(noise_encrypt(a.n, data, 60, &tiny), LS_ETOOBIG);
    assert_int_equal(tiny.len, 0);
    buf_clear(&wire);
    buf_clear(&small);
    assert_int_equal(noise_encrypt(a.n, data, 60, &wire), 0);
    assert_int_equal(noise_decrypt(b.n, wire.data, wire.len, &used, &small), 0);
    side_free(&a);
    side_free(&b);
    buf_free(&wire);
    buf_free(&small);
}

static void
test_nonce_exhaustion(void **state)
{
    side_t a, b;
    buf_t wire = BUF_INIT(BUF_UNLIMITED), got = BUF_INIT(BUF_UNLIMITED);
    size_t used;
    (void)state;
    side_init(&b, false, NULL);
    side_init(&a, true, NULL);
    assert_int_equal(handshake(&a, &b, 0), 0);
    a.n->tx.n = NOISE_NONCE_MAX - 1;
    b.n->rx.n = NOISE_NONCE_MAX - 1;
    assert_int_equal(noise_encrypt(a.n, (const uint8_t *)"last", 4, &wire), 0);
    assert_int_equal(noise_decrypt(b.n, wire.data, wire.len, &used, &got), 0);
    assert_int_equal(noise_encrypt(a.n, (const uint8_t *)"more", 4, &wire), LS_ELIMIT);
    assert_int_equal(noise_decrypt(b.n, wire.data, wire.len, &used, &got), LS_ELIMIT);
    side_free(&a);
    side_free(&b);
    buf_free(&wire);
    buf_free(&got);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hkdf_rfc5869),
        cmocka_unit_test(test_symmetric_state),
        cmocka_unit_test(test_aead_matches_libsodium),
        cmocka_unit_test(test_aead_edges),
        cmocka_unit_test(test_x25519_rfc7748),
        cmocka_unit_test(test_xx_known_answer),
        cmocka_unit_test(test_xx_turns_and_short_messages),
        cmocka_unit_test(test_payload_roundtrip),
        cmocka_unit_test(test_payload_decode_rules),
        cmocka_unit_test(test_payload_muxer_limits),
        cmocka_unit_test(test_handshake_random_splits),
        cmocka_unit_test(test_transport_random_splits),
        cmocka_unit_test(test_handshake_and_data_in_one_write),
        cmocka_unit_test(test_wrong_expected_peer),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_other_key_types),
        cmocka_unit_test(test_bad_identity_keys),
        cmocka_unit_test(test_muxer_extension),
        cmocka_unit_test(test_handshake_garbage),
        cmocka_unit_test(test_tampered_transport),
        cmocka_unit_test(test_large_message_frames),
        cmocka_unit_test(test_encrypt_parts),
        cmocka_unit_test(test_decrypt_frame_in_place),
        cmocka_unit_test(test_buffer_limits),
        cmocka_unit_test(test_nonce_exhaustion),
    };
    if (getenv("NOISE_FILTER"))
        cmocka_set_test_filter(getenv("NOISE_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
