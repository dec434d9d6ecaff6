/* record_impl — the bodies of record_t and record_array_t, shared by record.c (builder,
 * getters), record_codec.c (canonical MessagePack) and record_sign.c. Not for other
 * modules: only tests may include it. */
#ifndef LS_LIB_RECORD_RECORD_IMPL_H
#define LS_LIB_RECORD_RECORD_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/record/record.h"

typedef enum record_type_t {
    RECORD_T_UINT, /* u: any non-negative integer */
    RECORD_T_NINT, /* i: a negative integer (< 0) */
    RECORD_T_BOOL,
    RECORD_T_STR, /* bytes: UTF-8 without NUL, NUL-terminated in memory (not in len) */
    RECORD_T_BIN, /* bytes: never NULL, even when len == 0 */
    RECORD_T_MAP,
    RECORD_T_ARRAY,
} record_type_t;

typedef struct record_value_t {
    record_type_t type;
    union {
        uint64_t u;
        int64_t i;
        bool b;
        struct {
            uint8_t *p;
            size_t len;
        } bytes;
        record_t *map;
        record_array_t *arr;
    } as;
} record_value_t;

typedef struct record_entry_t {
    char *key; /* NUL-terminated, UTF-8 */
    size_t keylen;
    record_value_t val;
} record_entry_t;

/* Entries are kept sorted by record_key_cmp(), which is the canonical order. */
struct record_t {
    record_entry_t *e;
    size_t n, cap;
};

struct record_array_t {
    record_value_t *v;
    size_t n, cap;
};

/** Free what `v` owns (not `v` itself). */
void record_value_clear(record_value_t *v);
/** Canonical key order: bytewise, and a prefix before the longer key. */
int record_key_cmp(const char *a, size_t alen, const char *b, size_t blen);
/** True if `len` bytes at `p` are well-formed UTF-8 (RFC 3629: no overlongs, no
 *  surrogates, nothing above U+10FFFF) and contain no NUL. */
bool record_text_is_valid(const uint8_t *p, size_t len);
/** Append an entry known to sort after every key already in `r` (the decoder's path);
 *  takes `key` and `val`. */
void record_append_sorted(record_t *r, char *key, size_t keylen, record_value_t *val);
/** Append `val` to `a`, taking what it owns. */
void record_array_append(record_array_t *a, record_value_t *val);
/** Encode `r`, leaving out the key `skip` when not NULL (for signing). */
int record_encode_skip(const record_t *r, const char *skip, buf_t *out);

#endif
