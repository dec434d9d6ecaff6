/* pubsub_msg — signing, verification and IDs of pubsub messages (libp2p/specs
 * pubsub/README.md "Message Signing" and "Message Identification"; seed 001
 * "Message IDs generated from content hash").
 *
 * Signing (StrictSign, the js and go default): `from` is the author's peer ID,
 * `seqno` 8 bytes (a big-endian counter), `signature` Ed25519 over
 * "libp2p-pubsub:" || the protobuf encoding of the Message without its signature and
 * key fields (nor Lester's lester_hops field, nor unknown fields: js drops those
 * before it re-encodes to verify), `key` the author's PublicKey protobuf. go omits `key` when the
 * peer ID inlines it; js expects it, so Lester always sends it and accepts its absence.
 *
 * Message IDs: the spec's default, from || seqno, for every topic except Lester's own
 * (names starting with PUBSUB_LESTER_TOPIC_PREFIX), whose ID is SHA-256 of the data:
 * the same content published twice is one message, as in seed 001. */
#ifndef LS_PUBSUB_MSG_H
#define LS_PUBSUB_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/crypto/ed25519.h"
#include "lib/peerid/peerid.h"
#include "pubsub/rpc/rpc.pb-c.h"

#define PUBSUB_SIGN_PREFIX "libp2p-pubsub:"
#define PUBSUB_SEQNO_LEN 8
/** Longest message ID produced: a peer ID and a seqno. */
#define PUBSUB_MSGID_MAX (PEER_ID_MAX_LEN + PUBSUB_SEQNO_LEN)
#define PUBSUB_LESTER_TOPIC_PREFIX "/lester/"
/** Ed25519 PublicKey protobuf: 2 bytes of Type, 2 of Data header, 32 of key. */
#define PUBSUB_ED25519_KEY_PROTO_LEN 36

/** Storage for the fields pubsub_msg_sign() sets; the message points into it. */
typedef struct pubsub_msg_sig_t {
    uint8_t from[PEER_ID_MAX_LEN];
    uint8_t seqno[PUBSUB_SEQNO_LEN];
    uint8_t key[PUBSUB_ED25519_KEY_PROTO_LEN];
    uint8_t signature[ED25519_SIG_LEN];
} pubsub_msg_sig_t;

/** Append "libp2p-pubsub:" || encode(`m` without signature, key, lester_hops and
 *  unknown fields) to `out`. 0 or
 *  LS_ETOOBIG (`out` unchanged). */
int pubsub_msg_signing_bytes(const PubsubPb__Message *m, buf_t *out);

/** Make `m` (whose topic and data the caller has set) a StrictSign message by `kp`
 *  with sequence number `seqno`: sets from, seqno, key and signature, pointing into
 *  `store`, which must outlive every use of `m`. 0 (or LS_ETOOBIG on a huge message). */
int pubsub_msg_sign(PubsubPb__Message *m, uint64_t seqno, const ed25519_keypair_t *kp,
                    pubsub_msg_sig_t *store);

/** StrictSign validation of `m`: 0 and the author in `*author` (may be NULL) if from,
 *  an 8-byte seqno and a signature are present, `from` is a valid peer ID, and the
 *  signature verifies under the author's key (the `key` field, which must match
 *  `from`, or the key inlined in `from`) — Ed25519, or RSA, secp256k1 or ECDSA
 *  (lib/crypto/sigverify) for authors running other libp2p implementations.
 *  LS_EINVAL if a field is missing or malformed or the key does not match `from`;
 *  LS_ENOTSUP for an unknown key type; LS_EBADSIG if the signature does not verify. */
int pubsub_msg_verify(const PubsubPb__Message *m, peer_id_t *author);

/** True if `topic` is one of Lester's own (content-hash IDs, hop limit). */
bool pubsub_topic_is_lester(const uint8_t *topic, size_t len);

/** The spec's default ID, from || seqno, into `out`; returns its length, or LS_EINVAL
 *  if from or seqno is absent or they are longer than PUBSUB_MSGID_MAX together. */
int pubsub_msgid_default(const PubsubPb__Message *m, uint8_t out[static PUBSUB_MSGID_MAX]);

/** Seed 001's content ID, SHA-256 of the data (an absent data hashes as empty);
 *  returns 32. */
int pubsub_msgid_content(const PubsubPb__Message *m, uint8_t out[static PUBSUB_MSGID_MAX]);

/** The ID for `m`'s topic: content for Lester's topics, default otherwise. */
int pubsub_msgid(const PubsubPb__Message *m, uint8_t out[static PUBSUB_MSGID_MAX]);

#endif
