/* noise_hs — Noise Protocol Framework rev 34 §4-§7 for Noise_XX_25519_ChaChaPoly_SHA256.
 * Section numbers below refer to that document. */
#include "net/noise/noise_hs.h"

#include <string.h>

#include <sodium.h>

#include "lib/crypto/random.h"
#include "lib/err/err.h"

/* ---- CipherState (§5.1) ------------------------------------------------------ */

void
noise_cipher_init(noise_cipher_t *c, const uint8_t key[static 32])
{
    aead_free(c->aead);
    c->aead = aead_new(key);
    c->n = 0;
}

void
noise_cipher_clear(noise_cipher_t *c)
{
    aead_free(c->aead);
    c->n = 0;
}

int
noise_cipher_encrypt(noise_cipher_t *c, const uint8_t *ad, size_t adlen, const uint8_t *in,
                     size_t len, uint8_t *out)
{
    if (len > NOISE_MAX_MSG)
        return LS_ETOOBIG;
    if (!c->aead) {
        if (len && out != in)
            memmove(out, in, len);
        return 0;
    }
    if (c->n == NOISE_NONCE_MAX)
        return LS_ELIMIT;
    int rc = aead_seal(c->aead, c->n, ad, adlen, in, len, out);
    if (rc == 0)
        c->n++;
    return rc;
}

int
noise_cipher_decrypt(noise_cipher_t *c, const uint8_t *ad, size_t adlen, const uint8_t *in,
                     size_t len, uint8_t *out)
{
    if (len > NOISE_MAX_MSG)
        return LS_ETOOBIG;
    if (!c->aead) {
        if (len && out != in)
            memmove(out, in, len);
        return 0;
    }
    if (len < NOISE_TAGLEN)
        return LS_EPROTO;
    if (c->n == NOISE_NONCE_MAX)
        return LS_ELIMIT;
    int rc = aead_open(c->aead, c->n, ad, adlen, in, len, out);
    if (rc == 0)
        c->n++;
    return rc;
}

/* ---- HKDF (§4.3) --------------------------------------------------------------- */

void
noise_hkdf(const uint8_t ck[static NOISE_HASHLEN], const uint8_t *ikm, size_t ikmlen,
           uint8_t out1[static NOISE_HASHLEN], uint8_t out2[static NOISE_HASHLEN], uint8_t *out3)
{
    uint8_t temp_key[NOISE_HASHLEN];
    uint8_t in[NOISE_HASHLEN + 1];

    hmac_sha256(temp_key, ck, NOISE_HASHLEN, ikm, ikmlen);
    in[0] = 0x01;
    hmac_sha256(out1, temp_key, sizeof temp_key, in, 1);
    memcpy(in, out1, NOISE_HASHLEN);
    in[NOISE_HASHLEN] = 0x02;
    hmac_sha256(out2, temp_key, sizeof temp_key, in, sizeof in);
    if (out3) {
        memcpy(in, out2, NOISE_HASHLEN);
        in[NOISE_HASHLEN] = 0x03;
        hmac_sha256(out3, temp_key, sizeof temp_key, in, sizeof in);
    }
    sodium_memzero(temp_key, sizeof temp_key);
    sodium_memzero(in, sizeof in);
}

/* ---- SymmetricState (§5.2) ----------------------------------------------------- */

void
noise_ss_init(noise_symmetric_t *ss, const char *protocol_name)
{
    size_t len = strlen(protocol_name);

    memset(ss, 0, sizeof *ss);
    ss->md = sha256_new();
    if (len <= NOISE_HASHLEN)
        memcpy(ss->h, protocol_name, len); /* zero-padded; our name is exactly 32 */
    else
        sha256(ss->h, protocol_name, len);
    memcpy(ss->ck, ss->h, NOISE_HASHLEN);
}

void
noise_ss_mix_hash(noise_symmetric_t *ss, const uint8_t *data, size_t len)
{
    sha256_update(ss->md, ss->h, NOISE_HASHLEN);
    sha256_update(ss->md, data, len);
    sha256_final(ss->md, ss->h);
}

void
noise_ss_mix_key(noise_symmetric_t *ss, const uint8_t *ikm, size_t len)
{
    uint8_t temp_k[NOISE_HASHLEN];

    noise_hkdf(ss->ck, ikm, len, ss->ck, temp_k, NULL);
    noise_cipher_init(&ss->cs, temp_k); /* HASHLEN is 32: no truncation */
    sodium_memzero(temp_k, sizeof temp_k);
}

int
noise_ss_encrypt_and_hash(noise_symmetric_t *ss, const uint8_t *in, size_t len, uint8_t *out)
{
    int rc = noise_cipher_encrypt(&ss->cs, ss->h, NOISE_HASHLEN, in, len, out);
    if (rc < 0)
        return rc;
    noise_ss_mix_hash(ss, out, len + (noise_cipher_has_key(&ss->cs) ? NOISE_TAGLEN : 0));
    return 0;
}

int
noise_ss_decrypt_and_hash(noise_symmetric_t *ss, const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t ad[NOISE_HASHLEN];

    /* Hash the ciphertext before decrypting so that `out` may overwrite `in`; the
     * associated data is the hash from before this message part. */
    memcpy(ad, ss->h, sizeof ad);
    noise_ss_mix_hash(ss, in, len);
    return noise_cipher_decrypt(&ss->cs, ad, sizeof ad, in, len, out);
}

void
noise_ss_split(noise_symmetric_t *ss, noise_cipher_t *c1, noise_cipher_t *c2)
{
    uint8_t k1[NOISE_HASHLEN], k2[NOISE_HASHLEN];

    noise_hkdf(ss->ck, NULL, 0, k1, k2, NULL);
    noise_cipher_init(c1, k1);
    noise_cipher_init(c2, k2);
    sodium_memzero(k1, sizeof k1);
    sodium_memzero(k2, sizeof k2);
    sodium_memzero(ss->ck, sizeof ss->ck);
    noise_cipher_clear(&ss->cs);
    sha256_free(ss->md);
}

void
noise_ss_wipe(noise_symmetric_t *ss)
{
    noise_cipher_clear(&ss->cs);
    sha256_free(ss->md);
    sodium_memzero(ss, sizeof *ss);
}

/* ---- HandshakeState, XX only (§5.3, §7.5) ------------------------------------ */

void
noise_xx_init(noise_xx_t *hs, bool initiator, const uint8_t *prologue, size_t prologue_len,
              const x25519_keypair_t *s)
{
    memset(hs, 0, sizeof *hs);
    noise_ss_init(&hs->ss, NOISE_PROTOCOL_NAME);
    noise_ss_mix_hash(&hs->ss, prologue, prologue_len);
    hs->s = *s;
    hs->initiator = initiator;
}

void
noise_xx_set_ephemeral(noise_xx_t *hs, const uint8_t sk[static 32])
{
    x25519_keypair_from_secret(&hs->e, sk);
    hs->has_e = true;
}

bool
noise_xx_is_my_turn(const noise_xx_t *hs)
{
    if (hs->next >= 3)
        return false;
    /* messages 0 and 2 go initiator -> responder, message 1 the other way */
    return hs->initiator == (hs->next != 1);
}

size_t
noise_xx_write_len(const noise_xx_t *hs, size_t payload_len)
{
    switch (hs->next) {
    case 0:
        return NOISE_DHLEN + payload_len; /* no key yet: payload in clear */
    case 1:
        return NOISE_DHLEN + NOISE_DHLEN + NOISE_TAGLEN + payload_len + NOISE_TAGLEN;
    default:
        return NOISE_DHLEN + NOISE_TAGLEN + payload_len + NOISE_TAGLEN;
    }
}

/* The "ee", "es", "se" tokens: MixKey(DH(sk, pk)); an all-zero result means the peer
 * sent a small-order point. */
static int
mix_dh(noise_xx_t *hs, const uint8_t sk[static 32], const uint8_t pk[static 32])
{
    uint8_t shared[NOISE_DHLEN];

    if (x25519(shared, sk, pk) < 0)
        return LS_EPROTO;
    noise_ss_mix_key(&hs->ss, shared, sizeof shared);
    sodium_memzero(shared, sizeof shared);
    return 0;
}

/* Token "e" on the writing side. */
static uint8_t *
write_e(noise_xx_t *hs, uint8_t *p)
{
    if (!hs->has_e)
        x25519_keypair_generate(&hs->e);
    hs->has_e = true;
    memcpy(p, hs->e.pk, NOISE_DHLEN);
    noise_ss_mix_hash(&hs->ss, p, NOISE_DHLEN);
    return p + NOISE_DHLEN;
}

/* The tokens of message hs->next, writing side, then the payload. */
static int
write_tokens(noise_xx_t *hs, const uint8_t *payload, size_t payload_len, uint8_t *p)
{
    int rc = 0;

    if (hs->next == 0) {
        p = write_e(hs, p); /* -> e */
    } else if (hs->next == 1) {
        p = write_e(hs, p); /* <- e, ee, s, es */
        if ((rc = mix_dh(hs, hs->e.sk, hs->re)) < 0 ||
            (rc = noise_ss_encrypt_and_hash(&hs->ss, hs->s.pk, NOISE_DHLEN, p)) < 0)
            return rc;
        p += NOISE_DHLEN + NOISE_TAGLEN;
        if ((rc = mix_dh(hs, hs->s.sk, hs->re)) < 0)
            return rc;
    } else {
        /* -> s, se */
        if ((rc = noise_ss_encrypt_and_hash(&hs->ss, hs->s.pk, NOISE_DHLEN, p)) < 0)
            return rc;
        p += NOISE_DHLEN + NOISE_TAGLEN;
        if ((rc = mix_dh(hs, hs->s.sk, hs->re)) < 0)
            return rc;
    }
    return noise_ss_encrypt_and_hash(&hs->ss, payload, payload_len, p);
}

int
noise_xx_write(noise_xx_t *hs, const uint8_t *payload, size_t payload_len, buf_t *out)
{
    if (!noise_xx_is_my_turn(hs))
        return LS_EINVAL;
    if (payload_len > NOISE_MAX_MSG)
        return LS_ETOOBIG;
    size_t total = noise_xx_write_len(hs, payload_len);
    if (total > NOISE_MAX_MSG)
        return LS_ETOOBIG;
    size_t start = out->len;
    uint8_t *p = buf_extend(out, total);
    if (!p)
        return LS_ETOOBIG;
    int rc = write_tokens(hs, payload, payload_len, p);
    if (rc < 0) {
        buf_truncate(out, start);
        return rc;
    }
    hs->next++;
    return 0;
}

/* The tokens of message hs->next, reading side; returns bytes used or an error. */
static int
read_tokens(noise_xx_t *hs, const uint8_t *msg, size_t len)
{
    const uint8_t *p = msg;
    int rc;

    if (hs->next == 0 || hs->next == 1) { /* "e" */
        memcpy(hs->re, p, NOISE_DHLEN);
        noise_ss_mix_hash(&hs->ss, hs->re, NOISE_DHLEN);
        p += NOISE_DHLEN;
        if (hs->next == 0)
            return (int)(p - msg);
        if ((rc = mix_dh(hs, hs->e.sk, hs->re)) < 0) /* ee */
            return rc;
    }
    /* "s": the peer's static key, encrypted */
    if ((size_t)(p - msg) + NOISE_DHLEN + NOISE_TAGLEN > len)
        return LS_EPROTO;
    if ((rc = noise_ss_decrypt_and_hash(&hs->ss, p, NOISE_DHLEN + NOISE_TAGLEN, hs->rs)) < 0)
        return rc;
    p += NOISE_DHLEN + NOISE_TAGLEN;
    /* "es" read by the initiator and "se" read by the responder are both
     * DH(our ephemeral, their static). */
    if ((rc = mix_dh(hs, hs->e.sk, hs->rs)) < 0)
        return rc;
    return (int)(p - msg);
}

int
noise_xx_read(noise_xx_t *hs, const uint8_t *msg, size_t len, buf_t *payload)
{
    if (hs->next >= 3 || noise_xx_is_my_turn(hs))
        return LS_EINVAL;
    if (len > NOISE_MAX_MSG)
        return LS_ETOOBIG;
    /* The minimum: the keys, plus the payload's tag once a key is set. */
    size_t min = noise_xx_write_len(hs, 0);
    if (len < min)
        return LS_EPROTO;
    int used = read_tokens(hs, msg, len);
    if (used < 0)
        return used;
    size_t clen = len - (size_t)used;
    size_t plen = clen - (noise_cipher_has_key(&hs->ss.cs) ? NOISE_TAGLEN : 0);
    size_t start = payload->len;
    uint8_t *out = buf_extend(payload, plen);
    if (!out)
        return LS_ETOOBIG;
    int rc = noise_ss_decrypt_and_hash(&hs->ss, msg + used, clen, out);
    if (rc < 0) {
        buf_truncate(payload, start);
        return rc;
    }
    hs->next++;
    return 0;
}

void
noise_xx_split(noise_xx_t *hs, noise_cipher_t *tx, noise_cipher_t *rx)
{
    if (hs->initiator)
        noise_ss_split(&hs->ss, tx, rx);
    else
        noise_ss_split(&hs->ss, rx, tx);
    x25519_keypair_wipe(&hs->e);
    x25519_keypair_wipe(&hs->s);
    hs->has_e = false;
}

void
noise_xx_wipe(noise_xx_t *hs)
{
    noise_ss_wipe(&hs->ss);
    sodium_memzero(hs, sizeof *hs);
}
