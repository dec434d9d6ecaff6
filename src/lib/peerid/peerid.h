/* peerid — libp2p peer IDs and the key protobufs they are made of
 * (libp2p/specs peer-ids/peer-ids.md).
 *
 * A peer ID is a multihash of the peer's encoded PublicKey protobuf: the identity
 * multihash when the encoding is at most 42 bytes (Ed25519, secp256k1), sha2-256
 * otherwise (RSA, ECDSA). Its text form is bare base58btc ("12D3KooW..." for
 * Ed25519, "Qm..." for hashed keys); a CIDv1 with the libp2p-key codec is accepted
 * as well and can be produced with peer_id_to_cid_string().
 *
 * The key protobufs are decoded strictly: fields in order (Type, then Data),
 * minimal varints, no unknown or repeated fields. go-libp2p and rust-libp2p encode
 * exactly that way, and accepting only it means one key has one peer ID.
 *
 * This module must not include multiaddr (which depends on it). */
#ifndef LS_LIB_PEERID_H
#define LS_LIB_PEERID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"

/** Longest PublicKey encoding inlined with the identity multihash (spec: 42). */
#define PEER_ID_INLINE_MAX 42
/** Longest binary peer ID: identity code, one-byte length, 42 bytes of key. A
 *  sha2-256 peer ID is 34 bytes. */
#define PEER_ID_MAX_LEN (2 + PEER_ID_INLINE_MAX)
/** Longest text peer_id_from_string() accepts. */
#define PEER_ID_MAX_STRING 128
/** Size of the buffer peer_id_short() fills. */
#define PEER_ID_SHORT_LEN 16

/** Longest key Data accepted in a PublicKey (an RSA-16384 key is ~2.1 KB). */
#define PUBKEY_PROTO_MAX_DATA 4096
/** Longest key Data accepted in a PrivateKey. */
#define PRIVKEY_PROTO_MAX_DATA 8192

/** KeyType of the key protobufs. */
typedef enum peer_key_type_t {
    PEER_KEY_RSA = 0,
    PEER_KEY_ED25519 = 1,
    PEER_KEY_SECP256K1 = 2,
    PEER_KEY_ECDSA = 3,
} peer_key_type_t;

/** A peer ID: the binary multihash, `len` bytes of `bytes`. A plain value; copy it
 *  freely. Those built by this module are valid and zero past `len`. */
typedef struct peer_id_t {
    size_t len;
    uint8_t bytes[PEER_ID_MAX_LEN];
} peer_id_t;

/* ---- key protobufs ---- */

/** Append the canonical PublicKey protobuf (Type, then Data) to `out`. 0;
 *  LS_ENOTSUP for a key type outside peer_key_type_t; LS_EINVAL for an empty key or
 *  an Ed25519 key that is not 32 bytes; LS_ETOOBIG if keylen >
 *  PUBKEY_PROTO_MAX_DATA or `out` is full (then `out` is unchanged). */
int pubkey_proto_encode(int key_type, const uint8_t *key, size_t keylen, buf_t *out);

/** Decode the PublicKey protobuf `p[0..len)`; `*key` points into `p` (borrowed).
 *  0; LS_EINVAL if malformed, truncated, missing a field, repeating one, carrying an
 *  unknown one, or holding an Ed25519 key that is not 32 bytes; LS_ENONCANON if the
 *  fields are out of order; LS_ENOTSUP for an unknown key type; LS_ETOOBIG if the
 *  key is longer than PUBKEY_PROTO_MAX_DATA. Outputs are written only on success. */
int pubkey_proto_decode(const uint8_t *p, size_t len, int *key_type, const uint8_t **key,
                        size_t *keylen);

/** As pubkey_proto_encode() for a PrivateKey; an Ed25519 key must be the 64-byte
 *  seed || public key. Limit PRIVKEY_PROTO_MAX_DATA. Wipe `out` when done. */
int privkey_proto_encode(int key_type, const uint8_t *key, size_t keylen, buf_t *out);

/** As pubkey_proto_decode() for a PrivateKey. Ed25519 Data must be 64 bytes, or the
 *  legacy 96 (seed || pk || pk) whose two public keys match, returned as its first
 *  64 bytes. */
int privkey_proto_decode(const uint8_t *p, size_t len, int *key_type, const uint8_t **key,
                         size_t *keylen);

/* ---- peer IDs ---- */

/** Set `*out` to the peer ID of Ed25519 public key `pk`. */
void peer_id_from_ed25519(peer_id_t *out, const uint8_t pk[static 32]);

/** Set `*out` to the peer ID of the encoded PublicKey `p[0..len)`, which must pass
 *  pubkey_proto_decode() (its errors are returned; `*out` is then untouched). */
int peer_id_from_pubkey_proto(peer_id_t *out, const uint8_t *p, size_t len);

/** If `id` inlines an Ed25519 key, copy it to `pk_out` and return true. */
bool peer_id_ed25519_pubkey(const peer_id_t *id, uint8_t pk_out[static 32]);

/** If `id` inlines its PublicKey protobuf (identity multihash), point `*p` into
 *  `id->bytes` at it and return true; false for hashed (sha2-256) IDs. */
bool peer_id_pubkey_proto(const peer_id_t *id, const uint8_t **p, size_t *len);

/** Set `*out` from the binary peer ID `p[0..len)`, all of which must be one
 *  multihash: identity of a valid PublicKey of at most 42 bytes, or sha2-256.
 *  0; LS_ENOTSUP for other hash codes; LS_EINVAL otherwise. */
int peer_id_from_bytes(peer_id_t *out, const uint8_t *p, size_t len);

/** Parse text `s` (NUL-terminated): bare base58btc if it starts with '1' or "Qm",
 *  else a CIDv1 with codec libp2p-key in any multibase peer_id can read. 0;
 *  LS_ETOOBIG if longer than PEER_ID_MAX_STRING; LS_ENOTSUP for an unsupported
 *  multibase or hash; LS_EINVAL otherwise. `*out` is written only on success. */
int peer_id_from_string(peer_id_t *out, const char *s);

/** Append the base58btc text of `id` to `out`. 0; LS_EINVAL if `id` is empty or
 *  its length is out of range; LS_ETOOBIG if `out` is full. */
int peer_id_to_string(const peer_id_t *id, buf_t *out);

/** The base58btc text of `id` as a new string the caller frees. Never NULL; an
 *  invalid `id` gives "". */
char *peer_id_to_str(const peer_id_t *id);

/** Append `id` as CIDv1 libp2p-key text in base32 ("bafz..."). Errors as
 *  peer_id_to_string(). */
int peer_id_to_cid_string(const peer_id_t *id, buf_t *out);

/** Write a short NUL-terminated form for logs: the first two characters of the
 *  base58 text, '*', and its last ten ("12*aqUmo7R3pq"); "<invalid>" if `id`
 *  cannot be printed. Not unique: never use it as a key. */
void peer_id_short(const peer_id_t *id, char out[static PEER_ID_SHORT_LEN]);

/** True if the two IDs have the same bytes. */
bool peer_id_equal(const peer_id_t *a, const peer_id_t *b);

/** Total order on IDs for sorting: bytewise, a shorter prefix first. <0, 0, >0. */
int peer_id_cmp(const peer_id_t *a, const peer_id_t *b);

#endif
