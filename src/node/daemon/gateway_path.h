/* gateway_path — the content path of `GET /ipfs/{cid}/{path...}` (ipfs/specs
 * http-gateways/path-gateway, "Request: GET /ipfs/{cid}[/{path}]"): parsing the request
 * path as the client sent it (still percent-encoded) and resolving its segments one by
 * one through UnixFS directories, plain or HAMT-sharded (content/unixfs unixfs_ls).
 *
 * The path is parsed from its raw form because decoding first would turn "%2F" into a
 * separator and "%00" into the end of the string. */
#ifndef LS_NODE_GATEWAY_PATH_H
#define LS_NODE_GATEWAY_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "content/unixfs/unixfs.h"
#include "lib/cid/cid.h"

/** Most segments after the CID: as deep as UnixFS DAGs are read. */
#define GATEWAY_PATH_MAX_SEGMENTS UNIXFS_MAX_DEPTH
/** Longest raw path accepted (evhttp bounds the request line as well). */
#define GATEWAY_PATH_MAX_LEN 8192

/** A parsed content path. */
typedef struct gateway_path_t {
    cid_t root;
    size_t n;                             /* segments after the root */
    char *seg[GATEWAY_PATH_MAX_SEGMENTS]; /* decoded, NUL-terminated, owned */
    bool trailing_slash;                  /* the path ended in '/' */
} gateway_path_t;

/** Parse `raw[0..len)`, the part after "/ipfs/" as sent: "<cid>", "<cid>/",
 *  "<cid>/a/b" or "<cid>/a/b/". Segments are percent-decoded ("%XX", hex either
 *  case). 0 and `*out` filled (free with gateway_path_clear); LS_EINVAL for a bad
 *  CID, an empty segment other than one trailing slash, a segment "." or "..", a
 *  malformed escape, or an escape decoding to NUL or '/'; LS_ETOOBIG past
 *  GATEWAY_PATH_MAX_LEN bytes or GATEWAY_PATH_MAX_SEGMENTS segments. On error `*out`
 *  holds nothing to free. */
int gateway_path_parse(const char *raw, size_t len, gateway_path_t *out);

/** Free the segments; `*p` is then empty. */
void gateway_path_clear(gateway_path_t *p);

/** Where resolving stopped. */
typedef struct gateway_resolve_t {
    cid_t cid;     /* on success: the CID the whole path names */
    size_t at;     /* on error: index of the segment that failed */
    bool no_entry; /* on LS_ENOENT: the directory was read and has no such entry
                      (false: a block on the way is not available) */
    /* the logical roots resolved so far, one per path element from the root CID on
       (path-gateway's X-Ipfs-Roots); on success n_roots = segments + 1 */
    cid_t roots[GATEWAY_PATH_MAX_SEGMENTS + 1];
    size_t n_roots;
} gateway_resolve_t;

/** Walk `p` from its root through `src`: each segment is looked up in the directory
 *  named so far (unixfs_lookup: its first entry of that name; a HAMT directory is read
 *  only along the name's hash path). 0 and `out->cid`; LS_ENOENT (see `no_entry`);
 *  -ENOTDIR if a segment is asked of a file; other errors of unixfs_ls(). */
int gateway_path_resolve(const gateway_path_t *p, const unixfs_source_t *src,
                         gateway_resolve_t *out);

#endif
