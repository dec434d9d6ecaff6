/* gateway_negotiate — what a `GET|HEAD /ipfs/{cid}[/{path}]` asks for, from its
 * `format`, `Accept`, CAR and scope parameters (ipfs/specs http-gateways
 * trustless-gateway: "Request Headers", "Request Query Parameters", "CAR format
 * signaling in Request"; RFC 9110 12.5.1 for Accept lists and q-values), and the
 * If-None-Match comparison (RFC 9110 13.1.2, weak comparison). Pure parsing of
 * client bytes, no I/O: tests/fuzz/fuzz_gateway_negotiate.c.
 *
 * Rules, in the order applied:
 *   - `?format=` wins over Accept: raw, car; a format the spec names that Lester does
 *     not serve (tar, dag-json, dag-cbor, json, cbor, ipns-record) is LS_ENOTSUP
 *     (406), any other value LS_EINVAL (400).
 *   - Accept: media ranges with q = 0 or a malformed q are dropped; the highest q
 *     wins, a trustless type (raw, CAR) before a deserialized one at equal q, then the
 *     first listed. application/vnd.ipld.car is acceptable with version 1 (or none),
 *     order dfs or unk (or none), dups y or n (or none; Lester then picks n); any
 *     other variant is not. Named IPLD formats Lester does not serve (vnd.ipld.*,
 *     vnd.ipfs.*, x-tar, cbor) are not acceptable; everything else (*, octet-stream,
 *     text/html, application/json — the directory listing is JSON) takes the
 *     deserialized answer. Nothing acceptable but something named: LS_ENOTSUP (406).
 *     No Accept, or only malformed ranges: the deserialized answer.
 *   - CAR only: car-version (1), car-order (dfs, unk), car-dups (y, n) query
 *     parameters override Accept's; dag-scope block|entity|all (default all);
 *     entity-bytes=from:to (integers, negative from the end; `to` may be `*`) implies
 *     entity. Malformed values: LS_EINVAL (400); car-version other than 1 or an
 *     unknown car-order: LS_ENOTSUP (406). For other formats they are ignored. */
#ifndef LS_NODE_GATEWAY_NEGOTIATE_H
#define LS_NODE_GATEWAY_NEGOTIATE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum gateway_format_t {
    GATEWAY_FORMAT_FILE, /* deserialized: the file's bytes or a directory listing */
    GATEWAY_FORMAT_RAW,  /* application/vnd.ipld.raw */
    GATEWAY_FORMAT_CAR,  /* application/vnd.ipld.car; version=1; order=dfs */
} gateway_format_t;

typedef enum gateway_scope_t {
    GATEWAY_SCOPE_ALL,
    GATEWAY_SCOPE_ENTITY,
    GATEWAY_SCOPE_BLOCK,
} gateway_scope_t;

/** The request's inputs, each NUL-terminated or NULL when absent (borrowed). */
typedef struct gateway_request_t {
    const char *format, *accept;
    const char *car_version, *car_order, *car_dups;
    const char *dag_scope, *entity_bytes;
} gateway_request_t;

/** What to answer. */
typedef struct gateway_want_t {
    gateway_format_t format;
    bool by_accept;        /* chosen by Accept alone (answer with Content-Location) */
    bool dups;             /* CAR: every occurrence of a block is sent (dups=y) */
    gateway_scope_t scope; /* CAR */
    bool has_range;        /* CAR: entity-bytes given */
    int64_t from, to;      /* entity-bytes; negative: from the end (-1 is the last byte) */
    bool to_end;           /* entity-bytes' `to` was `*` */
} gateway_want_t;

/** Largest magnitude of an entity-bytes bound (18 digits: no overflow on resolving). */
#define GATEWAY_MAX_OFFSET 999999999999999999LL

/** Decide the answer for `in`. 0 and `*out`; LS_EINVAL (answer 400) or LS_ENOTSUP
 *  (answer 406) with `*why` set to a static sentence for the client. */
int gateway_negotiate(const gateway_request_t *in, gateway_want_t *out, const char **why);

/** The inclusive byte range [*lo, *hi] entity-bytes names in an entity of `size`
 *  bytes: 0; 1 if it is empty (answer as dag-scope=block); LS_ERANGE if it starts
 *  at or past the end (answer 400). */
int gateway_range_resolve(const gateway_want_t *w, uint64_t size, uint64_t *lo, uint64_t *hi);

/** True if the If-None-Match header `h` ("*" or a list of entity tags, weak or
 *  strong) names `etag` (a quoted strong tag) under the weak comparison. */
bool gateway_etag_match(const char *h, const char *etag);

#endif
