/* record — Lester's own signed records in canonical MessagePack (seed 001: messages are
 * MessagePack and signed; ARCHITECTURE.md: "signed over the encoding without the
 * signature"). The same record always has the same bytes, so a signature made by one node
 * verifies on every other, and a record's hash can name it.
 *
 * A record is a MessagePack map with string keys. Its canonical encoding is:
 *   - map keys are str, sorted bytewise (memcmp order, a prefix before its extensions),
 *     with no duplicates;
 *   - integers in their smallest encoding, non-negative ones always in the uint family
 *     (positive fixint, uint8..uint64), negative ones in the int family (negative fixint,
 *     int8..int64);
 *   - str (valid UTF-8, no NUL) and bin with their smallest headers, arrays and maps with
 *     the smallest header for their count;
 *   - values are int, bool, str, bin, array or map (canonical itself) only: no float (no
 *     canonical form worth the trouble), no nil (absence is the one way to say "nothing"),
 *     no ext;
 *   - at most RECORD_MAX_DEPTH nested containers, the top-level map included.
 *
 * Integers carry no signedness of their own: record_set_i64(r, "n", 5) and
 * record_set_u64(r, "n", 5) make the same record, and either getter reads it back.
 *
 * Signed records (record_sign/record_verify) hold "pk" (bin 32, the signer's Ed25519 key)
 * and "sig" (bin 64): Ed25519 over the canonical encoding of the record without "sig".
 *
 * Ownership: a record owns everything in it. Strings and byte strings passed to setters
 * are copied; nested records and arrays passed to setters are taken (freed on error too).
 * Pointers returned by getters are borrowed from the record and stay valid until that
 * key is replaced or removed or the record is freed. */
#ifndef LS_LIB_RECORD_RECORD_H
#define LS_LIB_RECORD_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/crypto/ed25519.h"
#include "lib/mem/mem.h"

#ifndef RECORD_MAX_DEPTH
#define RECORD_MAX_DEPTH 16
#endif

typedef struct record_t record_t;
typedef struct record_array_t record_array_t;

/** An empty record. Never returns NULL. */
record_t *record_new(void);
/** Free `r` and everything it holds. NULL is a no-op. */
void record_free_(record_t *r);
#define record_free(r) FREE_AND_NULL(record_t, record_free_, (r))

/** Number of keys in `r`. */
size_t record_len(const record_t *r);
bool record_has(const record_t *r, const char *key);
/** Remove `key`. 0 or LS_ENOENT. */
int record_remove(record_t *r, const char *key);

/* Setters add `key` or replace its value. They return 0, or LS_EINVAL if `key` (or a
 * str value) is not valid UTF-8. */
int record_set_u64(record_t *r, const char *key, uint64_t v);
int record_set_i64(record_t *r, const char *key, int64_t v);
int record_set_bool(record_t *r, const char *key, bool v);
/** `v` is copied; LS_EINVAL also if it is not valid UTF-8. */
int record_set_str(record_t *r, const char *key, const char *v);
/** `len` bytes at `p` are copied (`p` may be NULL when `len` is 0). LS_ETOOBIG above
 *  UINT32_MAX bytes (MessagePack's limit). */
int record_set_bin(record_t *r, const char *key, const void *p, size_t len);
/** Takes ownership of `child` (freed on error). `child` must not be `r`. */
int record_set_record(record_t *r, const char *key, record_t *child);
/** Takes ownership of `a` (freed on error). */
int record_set_array(record_t *r, const char *key, record_array_t *a);

/* Getters return 0, LS_ENOENT if `key` is missing, LS_EINVAL if its value has another
 * type, and (integers) LS_ERANGE if the value does not fit the requested type. On error
 * the output is untouched. */
int record_get_u64(const record_t *r, const char *key, uint64_t *out);
int record_get_i64(const record_t *r, const char *key, int64_t *out);
int record_get_bool(const record_t *r, const char *key, bool *out);
/** `*out` is NUL-terminated and borrowed. */
int record_get_str(const record_t *r, const char *key, const char **out);
/** `*p` is borrowed (non-NULL even for an empty bin). */
int record_get_bin(const record_t *r, const char *key, const uint8_t **p, size_t *len);
int record_get_record(const record_t *r, const char *key, const record_t **out);
int record_get_array(const record_t *r, const char *key, const record_array_t **out);

/** An empty array. Never returns NULL. */
record_array_t *record_array_new(void);
void record_array_free_(record_array_t *a);
#define record_array_free(a) FREE_AND_NULL(record_array_t, record_array_free_, (a))
size_t record_array_len(const record_array_t *a);

/* Appenders: same contracts as the record setters. */
int record_array_push_u64(record_array_t *a, uint64_t v);
int record_array_push_i64(record_array_t *a, int64_t v);
int record_array_push_bool(record_array_t *a, bool v);
int record_array_push_str(record_array_t *a, const char *v);
int record_array_push_bin(record_array_t *a, const void *p, size_t len);
/** Takes ownership of `child` (freed on error). */
int record_array_push_record(record_array_t *a, record_t *child);
/** Takes ownership of `child` (freed on error). `child` must not be `a`. */
int record_array_push_array(record_array_t *a, record_array_t *child);

/* Element getters: same contracts as the record getters, LS_ENOENT if `i` is out of
 * range. */
int record_array_get_u64(const record_array_t *a, size_t i, uint64_t *out);
int record_array_get_i64(const record_array_t *a, size_t i, int64_t *out);
int record_array_get_bool(const record_array_t *a, size_t i, bool *out);
int record_array_get_str(const record_array_t *a, size_t i, const char **out);
int record_array_get_bin(const record_array_t *a, size_t i, const uint8_t **p, size_t *len);
int record_array_get_record(const record_array_t *a, size_t i, const record_t **out);
int record_array_get_array(const record_array_t *a, size_t i, const record_array_t **out);

/** Append the canonical encoding of `r` to `out`. 0, or LS_ETOOBIG if `out` would pass
 *  its maximum or `r` nests deeper than RECORD_MAX_DEPTH; `out` is unchanged on error. */
int record_encode(const record_t *r, buf_t *out);

/** Parse `len` borrowed bytes that must be exactly one canonical record. On success
 *  `*out` is a new record the caller frees; on error `*out` is NULL and:
 *    LS_ETOOBIG    `len` > `max`, or nesting deeper than RECORD_MAX_DEPTH
 *    LS_EINVAL     malformed or truncated MessagePack, a top level that is not a map,
 *                  a str that is not UTF-8 or holds a NUL
 *    LS_ENONCANON  valid MessagePack but not canonical: keys unsorted, duplicated or
 *                  not str; an integer or header longer than needed; a non-negative
 *                  integer in the int family; float, nil or ext; trailing bytes
 *  Every count is checked against the bytes left before anything is allocated; the
 *  record takes at most about 60 bytes of memory per input byte (a run of empty arrays
 *  is the worst case), so `max` bounds memory as well. */
int record_decode(const uint8_t *p, size_t len, size_t max, record_t **out);

/** Sign `r` with `kp`: set "pk" to kp's public key, then "sig" to Ed25519 over the
 *  canonical encoding of `r` without "sig" (a previous "sig" is replaced). 0, or
 *  LS_ETOOBIG if `r` nests too deep to encode (then "pk" is set and "sig" absent). */
int record_sign(record_t *r, const ed25519_keypair_t *kp);

/** Check the signature of `r`: 0 if "sig" is a valid signature by "pk" of the canonical
 *  encoding of `r` without "sig", and then the key is copied to `pk_out` unless NULL.
 *  LS_EINVAL if "pk" or "sig" is missing or not bin of 32 / 64 bytes; LS_EBADSIG if the
 *  signature does not verify; LS_ETOOBIG if `r` nests too deep to encode. */
int record_verify(const record_t *r, uint8_t pk_out[ED25519_PK_LEN]);

#endif
