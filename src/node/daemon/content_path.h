/* content_path — a content path as the CLI and API take it: "<cid>", "<cid>/a/b" or
 * "/ipfs/<cid>/a/b" (kubo's forms), walked through UnixFS directories, plain or
 * HAMT-sharded (gateway_path_resolve), over the blocks held here.
 *
 * Segments are taken literally — the names as the directory holds them, spaces and
 * '%' included — unlike the gateway's URLs, which are percent-decoded. A walk that
 * needs a block not held says which one, so that a download (node_fetch_start_path)
 * can fetch that block alone and walk again. */
#ifndef LS_NODE_CONTENT_PATH_H
#define LS_NODE_CONTENT_PATH_H

#include <stddef.h>

#include "node/daemon/gateway_path.h"
#include "node/daemon/node_content.h"

/** Parse `s`. 0 and `*out` filled (free with gateway_path_clear); LS_EINVAL for a bad
 *  CID, an empty segment (other than one trailing slash), "." or ".."; LS_ETOOBIG
 *  past GATEWAY_PATH_MAX_LEN bytes or GATEWAY_PATH_MAX_SEGMENTS segments. On error
 *  `*out` holds nothing to free. */
int content_path_parse(const char *s, gateway_path_t *out);

/** Walk `p` over the held blocks. 0 and `*out` (the CID the path names); LS_EAGAIN
 *  when a block on the way is not held (`*missing` names it); LS_ENOENT when a
 *  directory has no such entry; -ENOTDIR when a segment is asked of a file; other
 *  errors of unixfs_ls(). On an error `why` (may be NULL) gets a sentence for the
 *  user naming the segment. */
int content_path_walk(node_content_t *c, const gateway_path_t *p, cid_t *out, cid_t *missing,
                      char *why, size_t whylen);

#endif
