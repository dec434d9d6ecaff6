/* routes_content — helpers shared by the content routes (routes_content.c,
 * routes_repo.c, routes_gateway.c). */
#ifndef LS_NODE_ROUTES_CONTENT_H
#define LS_NODE_ROUTES_CONTENT_H

#include "node/daemon/node_content.h"

/** Send one JSON line on a stream (takes `j`). */
void content_stream_line(api_req_t *req, json_t *j);
/** The CID as a base32 JSON string (new reference). */
json_t *content_cid_json(const cid_t *cid);
/** Read "cid" from `body` (or the query): a CID, or a content path in one
 *  (content_path.h) walked over the held blocks to the CID it names. On failure
 *  replies (400 malformed or a segment under a file, 404 no such entry or not held)
 *  and returns the error. */
int content_req_cid(node_content_t *c, api_req_t *req, json_t *body, cid_t *out);
/** A download's progress as a JSON event (new reference). */
json_t *content_progress_json(const node_fetch_progress_t *p);
/** Stream bytes [off, end) of the held file `root` as the answer, paced by what
 *  the client has read. */
void content_cat_start(node_content_t *c, api_req_t *req, const cid_t *root, uint64_t off,
                       uint64_t end, const char *content_type);

/** /api/v0/{get,stat,ls} (routes_repo.c). */
void node_routes_export(node_t *n);
/** /api/v0/{pin,repo,block,bitswap}/... (routes_repo.c). */
void node_routes_repo(node_t *n);
/** /api/v0/dag/{import,export} (routes_dag.c). */
void node_routes_dag(node_t *n);

#endif
