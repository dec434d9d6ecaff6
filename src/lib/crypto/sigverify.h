/* sigverify — check a libp2p signature made with any of the four key types of
 * libp2p/specs peer-ids/peer-ids.md ("How Keys are Encoded and Messages Signed"),
 * for remote peers whose identity is not Ed25519. Lester's own key stays Ed25519.
 *
 *   type       key Data (PublicKey.Data)                signature
 *   RSA        DER SubjectPublicKeyInfo, 2048..8192 bit  RSASSA-PKCS1-v1_5, SHA-256
 *   Ed25519    the 32-byte key                           64 bytes (RFC 8032)
 *   Secp256k1  SEC1 point, 33 (compressed) or 65 bytes   DER ECDSA over SHA-256
 *   ECDSA      DER SubjectPublicKeyInfo, P-256/384/521   DER ECDSA over SHA-256
 *
 * RSA, secp256k1 and ECDSA are verified with OpenSSL's EVP; keys are parsed
 * strictly (a DER key must be exactly one structure of the type it claims). This
 * module does not know the key protobufs (lib/peerid does): the key types are
 * passed as their KeyType numbers. */
#ifndef LS_LIB_CRYPTO_SIGVERIFY_H
#define LS_LIB_CRYPTO_SIGVERIFY_H

#include <stddef.h>
#include <stdint.h>

/** The KeyType numbers of the key protobufs (equal to peer_key_type_t). */
enum {
    SIGVERIFY_RSA = 0,
    SIGVERIFY_ED25519 = 1,
    SIGVERIFY_SECP256K1 = 2,
    SIGVERIFY_ECDSA = 3,
};

/** Smallest and largest RSA modulus accepted, in bits (go-libp2p's bounds). */
#define SIGVERIFY_RSA_MIN_BITS 2048
#define SIGVERIFY_RSA_MAX_BITS 8192
/** Longest signature accepted (an RSA-8192 signature is 1024 bytes). */
#define SIGVERIFY_MAX_SIG 1024

/** Check that `sig` (borrowed) is a signature of `msg` by the public key `key`
 *  (PublicKey.Data of `key_type`, borrowed). Returns 0 if it verifies; LS_EBADSIG
 *  if it does not (or the signature is malformed); LS_EINVAL for a malformed key or
 *  one outside the bounds above; LS_ENOTSUP for an unknown key type or curve. */
int sigverify(int key_type, const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len,
              const uint8_t *sig, size_t siglen);

/** Just parse `key` as sigverify() would: 0, LS_EINVAL or LS_ENOTSUP. */
int sigverify_check_key(int key_type, const uint8_t *key, size_t keylen);

#endif
