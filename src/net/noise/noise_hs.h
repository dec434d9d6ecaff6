/* noise_hs — the Noise Protocol Framework (revision 34) objects that libp2p's Noise
 * uses, fixed to Noise_XX_25519_ChaChaPoly_SHA256:
 *
 *   CipherState    §5.1   noise_cipher_t
 *   SymmetricState §5.2   noise_symmetric_t (HKDF §4.3, MixKey, MixHash, ...)
 *   HandshakeState §5.3   noise_xx_t, the XX pattern (§7.5) only:
 *                              -> e
 *                              <- e, ee, s, es
 *                              -> s, se
 *
 * Internal to net/noise (noise.c and the tests): it knows nothing of libp2p payloads
 * or framing, so it can be checked byte for byte against the Noise test vectors
 * (any prologue, any payload). Messages are returned into caller buffers; nothing
 * here does I/O. Secrets live in these structs and are wiped by the _wipe functions. */
#ifndef LS_NET_NOISE_NOISE_HS_H
#define LS_NET_NOISE_NOISE_HS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/crypto/aead.h"
#include "lib/crypto/sha256.h"
#include "lib/crypto/x25519.h"

#define NOISE_PROTOCOL_NAME "Noise_XX_25519_ChaChaPoly_SHA256"
#define NOISE_HASHLEN 32
#define NOISE_DHLEN 32
#define NOISE_TAGLEN 16
/** Largest Noise message, handshake or transport (rev 34 §3). */
#define NOISE_MAX_MSG 65535
/** Nonce 2^64-1 is reserved (§5.1): a CipherState that reaches it is exhausted. */
#define NOISE_NONCE_MAX UINT64_MAX

/** CipherState: a key (or none) and a 64-bit counter nonce. */
typedef struct noise_cipher_t {
    aead_t *aead; /* NULL: "k is empty", Encrypt/Decrypt pass bytes through */
    uint64_t n;
} noise_cipher_t;

/** InitializeKey(key): replace any key by `key` and set n = 0. */
void noise_cipher_init(noise_cipher_t *c, const uint8_t key[static 32]);
/** Drop the key (wiped) and reset; the struct may be reused or discarded. */
void noise_cipher_clear(noise_cipher_t *c);
/** HasKey(): true once InitializeKey() has run. */
static inline bool
noise_cipher_has_key(const noise_cipher_t *c)
{
    return c->aead != NULL;
}

/** EncryptWithAd: `out` receives len + NOISE_TAGLEN bytes (len if no key; `out` may
 *  equal `in`). Returns 0; LS_ELIMIT when the nonce is exhausted (n == 2^64-1);
 *  LS_ETOOBIG for len > NOISE_MAX_MSG. n advances only on success. */
int noise_cipher_encrypt(noise_cipher_t *c, const uint8_t *ad, size_t adlen, const uint8_t *in,
                         size_t len, uint8_t *out);
/** DecryptWithAd: `out` receives len - NOISE_TAGLEN bytes (len if no key). Returns 0;
 *  LS_EBADSIG on a bad tag (n unchanged, `out` zeroed); LS_EPROTO if len is shorter
 *  than a tag; LS_ELIMIT when the nonce is exhausted. */
int noise_cipher_decrypt(noise_cipher_t *c, const uint8_t *ad, size_t adlen, const uint8_t *in,
                         size_t len, uint8_t *out);

/** HKDF(chaining_key, ikm, 2 or 3) of §4.3: out1 and out2 always, out3 if non-NULL.
 *  (Equal to RFC 5869 HKDF-SHA256 with salt = ck and empty info.) */
void noise_hkdf(const uint8_t ck[static NOISE_HASHLEN], const uint8_t *ikm, size_t ikmlen,
                uint8_t out1[static NOISE_HASHLEN], uint8_t out2[static NOISE_HASHLEN],
                uint8_t *out3);

/** SymmetricState. */
typedef struct noise_symmetric_t {
    noise_cipher_t cs;
    uint8_t ck[NOISE_HASHLEN]; /* chaining key (secret) */
    uint8_t h[NOISE_HASHLEN];  /* handshake hash (transcript) */
    sha256_ctx_t *md;          /* reused for every MixHash */
} noise_symmetric_t;

/** InitializeSymmetric(protocol_name). */
void noise_ss_init(noise_symmetric_t *ss, const char *protocol_name);
void noise_ss_mix_hash(noise_symmetric_t *ss, const uint8_t *data, size_t len);
void noise_ss_mix_key(noise_symmetric_t *ss, const uint8_t *ikm, size_t len);
/** EncryptAndHash; `out` gets len (+ NOISE_TAGLEN once a key is set). */
int noise_ss_encrypt_and_hash(noise_symmetric_t *ss, const uint8_t *in, size_t len, uint8_t *out);
/** DecryptAndHash; `out` gets len (- NOISE_TAGLEN once a key is set). */
int noise_ss_decrypt_and_hash(noise_symmetric_t *ss, const uint8_t *in, size_t len, uint8_t *out);
/** Split(): c1 for initiator->responder, c2 for responder->initiator. Wipes ck and
 *  the handshake cipher; h stays readable (channel binding). */
void noise_ss_split(noise_symmetric_t *ss, noise_cipher_t *c1, noise_cipher_t *c2);
/** Wipe every secret and free the digest context. */
void noise_ss_wipe(noise_symmetric_t *ss);

/** HandshakeState for XX. Fields are public to the tests; treat as opaque. */
typedef struct noise_xx_t {
    noise_symmetric_t ss;
    x25519_keypair_t s; /* local static */
    x25519_keypair_t e; /* local ephemeral */
    uint8_t rs[NOISE_DHLEN];
    uint8_t re[NOISE_DHLEN];
    bool initiator;
    bool has_e; /* an ephemeral was injected (tests); otherwise one is generated */
    int next;   /* index of the next message of the pattern, 0..3 (3 = complete) */
} noise_xx_t;

/** Initialize(XX, initiator, prologue, s): `s` is copied. */
void noise_xx_init(noise_xx_t *hs, bool initiator, const uint8_t *prologue, size_t prologue_len,
                   const x25519_keypair_t *s);
/** Use `sk` as the ephemeral secret instead of a random one (known-answer tests).
 *  Must precede the message that sends e. */
void noise_xx_set_ephemeral(noise_xx_t *hs, const uint8_t sk[static 32]);
/** True when it is this side's turn to write. */
bool noise_xx_is_my_turn(const noise_xx_t *hs);
/** Bytes of the next message this side writes with a `payload_len`-byte payload. */
size_t noise_xx_write_len(const noise_xx_t *hs, size_t payload_len);
/** WriteMessage: append the next message carrying `payload` to `out`. Returns 0;
 *  LS_ETOOBIG if it would exceed NOISE_MAX_MSG or `out`'s maximum (then `out` is
 *  unchanged); LS_EINVAL if it is not this side's turn. */
int noise_xx_write(noise_xx_t *hs, const uint8_t *payload, size_t payload_len, buf_t *out);
/** ReadMessage: process the peer's next message, appending its decrypted payload to
 *  `payload`. Returns 0; LS_EPROTO for a short message or a small-order DH key;
 *  LS_EBADSIG when a tag fails; LS_EINVAL if it is not the peer's turn. On error the
 *  state is unusable: drop the handshake. */
int noise_xx_read(noise_xx_t *hs, const uint8_t *msg, size_t len, buf_t *payload);
/** After the last message: Split() into this side's `tx` and `rx` ciphers, then
 *  wipe ephemeral and static secrets and the chaining key. */
void noise_xx_split(noise_xx_t *hs, noise_cipher_t *tx, noise_cipher_t *rx);
/** Wipe everything (safe to call twice). */
void noise_xx_wipe(noise_xx_t *hs);

#endif
