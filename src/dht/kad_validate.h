/* kad_validate — record validators per key namespace (libp2p/specs kad-dht,
 * "Entry validation"; go-libp2p-record), and Lester's signed values.
 *
 * A DHT key "/<ns>/<rest>" belongs to namespace <ns>; a value is stored or returned
 * only if the validator of its namespace accepts it, and keys of an unknown
 * namespace are refused (as js kad-dht does). Two validators are built in:
 *
 *   pk      key "/pk/" + binary peer ID; value a PublicKey protobuf whose peer ID is
 *           that one. All valid values are equal, so select picks the first.
 *   lester  key "/lester/..." ; value a canonical lib/record signed by its
 *           publisher (record_sign), with fields
 *             key  bin  the whole DHT key (so a value cannot be replayed elsewhere)
 *             value bin the payload (what `lester dht put` stored)
 *             seq  u64  sequence number, higher replaces lower
 *             ts   u64  publication time, ms since the epoch
 *             exp  u64  expiry, ms since the epoch, at most max_age after ts
 *             pk, sig   publisher key and signature
 *           Refused: unsigned or forged (LS_EBADSIG / LS_EINVAL), expired or older
 *           than max_age, or from the future beyond max_skew (LS_EEXPIRED),
 *           oversized (LS_ETOOBIG), key mismatch (LS_EINVAL). Select: highest seq,
 *           then newest ts, then the smaller encoding. A stored value may only be
 *           replaced by one from the same publisher (may_replace: LS_EACCES) until it
 *           expires — seed 003's pollution defence: a key is its first publisher's.
 *
 * Provider metadata (seed 004) rides in Peer field 100 of ADD_PROVIDER and
 * GET_PROVIDERS (kadmsg.h): a lib/record signed by the provider itself, with
 *   key bin (the provider key), provider bin (its peer ID), ts u64, exp u64, and
 *   optionally protocols [str], endpoints [str], wallet str, price_per_mb u64
 *   (smallest currency unit per 10^6 bytes), chunks [u64].
 */
#ifndef LS_DHT_KAD_VALIDATE_H
#define LS_DHT_KAD_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dht/kadmsg.h"
#include "lib/buf/buf.h"
#include "lib/crypto/ed25519.h"
#include "lib/peerid/peerid.h"
#include "lib/record/record.h"

/** Longest DHT key accepted. */
#define KAD_KEY_MAX 512
/** Longest record value accepted in any namespace. */
#define KAD_VALUE_MAX (16 * 1024)
/** Longest provider metadata record. */
#define KAD_META_MAX 4096
#define KAD_LESTER_MAX_AGE_MS (30ull * 24 * 3600 * 1000)
#define KAD_LESTER_MAX_SKEW_MS (5ull * 60 * 1000)

typedef struct kad_validator_t {
    const char *ns; /* namespace, without slashes */
    /** 0 if `val` is a valid value for `key` at `now_ms` (wall clock, ms since the
     *  epoch); a negative LS_* code otherwise. */
    int (*validate)(const void *ctx, uint64_t now_ms, const uint8_t *key, size_t klen,
                    const uint8_t *val, size_t vlen);
    /** Index of the best of `n` >= 1 values, all valid for `key`. */
    size_t (*select)(const void *ctx, const uint8_t *key, size_t klen, const kadmsg_bytes_t *vals,
                     size_t n);
    /** 0 if valid `newer` may replace the stored valid `old`; NULL means always. */
    int (*may_replace)(const void *ctx, const uint8_t *old, size_t olen, const uint8_t *newer,
                       size_t nlen);
    const void *ctx;
} kad_validator_t;

typedef struct kad_lester_policy_t {
    uint64_t max_age_ms;  /* KAD_LESTER_MAX_AGE_MS */
    uint64_t max_skew_ms; /* KAD_LESTER_MAX_SKEW_MS */
    size_t max_size;      /* KAD_VALUE_MAX */
} kad_lester_policy_t;

/** The namespace of `key` ("/ns/..."): 0 and `*ns`/`*nslen` pointing into `key`,
 *  or LS_EINVAL if the key has no "/<ns>/" prefix. */
int kad_key_namespace(const uint8_t *key, size_t klen, const uint8_t **ns, size_t *nslen);

/** The built-in validators (static; never NULL). The lester one uses the policy
 *  defaults; kad_validator_lester_with() binds another policy (borrowed). */
const kad_validator_t *kad_validator_pk(void);
const kad_validator_t *kad_validator_lester(void);
kad_validator_t kad_validator_lester_with(const kad_lester_policy_t *policy);

/** Decoded fields of a Lester value. */
typedef struct kad_lester_info_t {
    uint64_t seq, ts_ms, exp_ms;
    uint8_t pk[ED25519_PK_LEN];
} kad_lester_info_t;

/** Build and sign a Lester value for `key` holding `value` and append its encoding
 *  to `out`. 0; LS_ETOOBIG if key or value is over the limits or `out` is full;
 *  LS_EINVAL if exp_ms <= ts_ms. */
int kad_lester_value_make(const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen,
                          uint64_t seq, uint64_t ts_ms, uint64_t exp_ms,
                          const ed25519_keypair_t *kp, buf_t *out);

/** Check a Lester value as the validator does (`pol` NULL for defaults) and fill
 *  `info` (may be NULL); if `payload` is not NULL, append the payload to it. */
int kad_lester_value_check(const kad_lester_policy_t *pol, uint64_t now_ms, const uint8_t *key,
                           size_t klen, const uint8_t *val, size_t vlen, kad_lester_info_t *info,
                           buf_t *payload);

/** Set key, provider, ts and exp on `meta` (taken; freed in all cases), sign it with
 *  `kp` (whose peer ID is the provider) and append the encoding to `out`. 0,
 *  LS_ETOOBIG past KAD_META_MAX, LS_EINVAL for a bad field. */
int kad_provider_meta_make(record_t *meta, const uint8_t *key, size_t klen, uint64_t ts_ms,
                           uint64_t exp_ms, const ed25519_keypair_t *kp, buf_t *out);

/** Check provider metadata `meta` for provider `provider` of `key` at `now_ms`:
 *  signed by the provider's own key, bound to this key, not expired, fields of the
 *  right types. On success, if `out` is not NULL, `*out` is the decoded record (the
 *  caller frees it). Errors as for Lester values. */
int kad_provider_meta_check(uint64_t now_ms, const uint8_t *key, size_t klen,
                            const peer_id_t *provider, const uint8_t *meta, size_t mlen,
                            record_t **out);

#endif
