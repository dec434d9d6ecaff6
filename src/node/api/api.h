/* api — the daemon's HTTP JSON API (libevent's evhttp), bound to loopback.
 *
 * Routes are registered by method and path (exact, or a prefix ending in '*').
 * Everything that changes state is a POST under /api/v0/ and requires the cookie
 * token (`Authorization: Bearer <token>`, as bitcoind's cookie file): a POST there
 * without it — known route or not — gets 401 before any handler runs. Errors are
 * `{"error":{"code":"…","message":"…"}}` with the matching HTTP status. Every request
 * is counted in `lester_api_requests_total{route,method,code}`.
 *
 * A handler must answer its request exactly once, now or later (from another event);
 * the api_req_t is freed by the reply. If the client goes away first, the request is
 * still valid until answered; the answer is then dropped.
 *
 * A streamed answer (api_stream_start) is one answer delivered in chunks (HTTP/1.1
 * chunked transfer encoding): it lasts until the handler ends it with
 * api_stream_end() or the client goes away, whichever comes first — in the second
 * case `on_gone` runs, the request is finished and freed, and the handler must not
 * use it again. The daemon ends its streams before it stops. */
#ifndef LS_NODE_API_H
#define LS_NODE_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "lib/buf/buf.h"
#include "lib/mem/mem.h"
#include "node/metrics/metrics.h"

typedef struct api_t api_t;
typedef struct api_req_t api_req_t;
typedef void (*api_handler_fn)(api_req_t *req, void *ctx);

#define API_DEFAULT_MAX_BODY (1u << 20)

/** `token` is copied; `metrics` is borrowed and must outlive the api. */
api_t *api_new(struct event_base *base, metrics_t *metrics, const char *token, size_t max_body);
void api_free_(api_t *api);
#define api_free(a) FREE_AND_NULL(api_t, api_free_, (a))

/** Listen on host:port (port 0 picks a free one, returned in *bound). 0 or -errno. */
int api_listen(api_t *api, const char *host, uint16_t port, uint16_t *bound);
/** Register a handler; `method` is "GET" or "POST"; `path` exact or "prefix*". */
void api_route(api_t *api, const char *method, const char *path, api_handler_fn fn, void *ctx);

/* --- inside a handler --- */
const char *api_req_path(const api_req_t *req);
/** The request path as sent, still percent-encoded (no query): for routes whose
 *  segments may hold an encoded '/' or NUL. Borrowed until the reply. */
const char *api_req_raw_path(const api_req_t *req);
/** Decoded query parameter, or NULL. Borrowed until the reply. */
const char *api_req_query(api_req_t *req, const char *key);
/** The raw request body (borrowed until the reply). */
const uint8_t *api_req_body(api_req_t *req, size_t *len);
/** Parse the body as a JSON object; on failure replies 400 itself and returns NULL.
 *  An empty body parses as {}. The caller owns (json_decref) the result. */
json_t *api_req_json(api_req_t *req);

/** Reply with a JSON document (takes ownership of `body`). */
void api_reply_json(api_req_t *req, int status, json_t *body);
/** Reply with raw bytes and a content type. */
void api_reply_bytes(api_req_t *req, int status, const char *content_type, const void *p,
                     size_t len);
/** Answer a HEAD request: `status`, `content_type`, Content-Length `length` (none
 *  when negative: the GET answer would be a stream), no body. api_reply_bytes() and
 *  the replies built on it do this by themselves for a HEAD request. */
void api_reply_head(api_req_t *req, int status, const char *content_type, int64_t length);
/** Reply {"error":{"code":code,"message":…}} with HTTP `status`. */
void api_reply_error(api_req_t *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** Map a negative LS_* code to an HTTP status and reply with its message. */
void api_reply_errcode(api_req_t *req, int err, const char *what);

/** Called once when the client of a stream went away (the request is then freed). */
typedef void (*api_gone_fn)(void *ctx);
/** Answer with a stream: status 200, `content_type`, chunks to follow. */
void api_stream_start(api_req_t *req, const char *content_type, api_gone_fn on_gone, void *ctx);
/** Send one chunk (copied; empty chunks are skipped). */
void api_stream_send(api_req_t *req, const void *p, size_t len);
/** End the stream (the last chunk) and free the request; on_gone will not run. */
void api_stream_end(api_req_t *req);
/** Bytes of the answer not yet written to the client: a streaming handler waits
 *  while this is high instead of buffering a whole file. */
size_t api_stream_queued(api_req_t *req);
/** True once the client of a request not yet answered went away (a handler that
 *  answers later, e.g. after a worker-pool job): a reply is then dropped and frees
 *  the request, but a stream must not be started. */
bool api_req_is_gone(const api_req_t *req);

/** True for a HEAD request (routed to the GET handler of its path): the handler
 *  answers with the GET's status and headers and no body (api_reply_bytes with
 *  len 0; no stream). */
bool api_req_is_head(const api_req_t *req);

/** A request header, or NULL (borrowed until the reply). */
const char *api_req_header(api_req_t *req, const char *name);
/** Add a header to the answer (before replying or starting a stream). Answers get
 *  "Cache-Control: no-store" unless the handler set a Cache-Control of its own. */
void api_reply_header(api_req_t *req, const char *name, const char *value);

#endif
