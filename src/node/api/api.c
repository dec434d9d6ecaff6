#define LOG_MODULE "api"
#include "node/api/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "lib/err/err.h"
#include "lib/log/log.h"

typedef struct route_t {
    char *method;
    char *path;
    bool prefix;
    api_handler_fn fn;
    void *ctx;
    struct route_t *next;
} route_t;

struct api_t {
    struct event_base *base;
    struct evhttp *http;
    metrics_t *metrics;
    char *token;
    route_t *routes;
};

struct api_req_t {
    api_t *api;
    struct evhttp_request *req;
    const char *route;       /* label for metrics: the route's path, or "other" */
    char *method;
    char *path;
    struct evkeyvalq query;
    bool query_parsed;
    buf_t body;
    api_gone_fn on_gone; /* streams */
    void *gone_ctx;
};

api_t *
api_new(struct event_base *base, metrics_t *metrics, const char *token, size_t max_body)
{
    api_t *api = ls_calloc(1, sizeof *api);
    api->base = base;
    api->metrics = metrics;
    api->token = ls_strdup(token);
    api->http = evhttp_new(base);
    if (!api->http)
        abort();
    evhttp_set_max_body_size(api->http, (ev_ssize_t)max_body);
    evhttp_set_max_headers_size(api->http, 16384);
    evhttp_set_timeout(api->http, 120);
    evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
    metrics_describe(metrics, "lester_api_requests_total", METRIC_COUNTER,
                     "API requests by route, method and status");
    return api;
}

void
api_free_(api_t *api)
{
    if (!api)
        return;
    if (api->http)
        evhttp_free(api->http);
    for (route_t *r = api->routes, *n; r; r = n) {
        n = r->next;
        free(r->method);
        free(r->path);
        free(r);
    }
    sodium_memzero(api->token, strlen(api->token));
    free(api->token);
    free(api);
}

void
api_route(api_t *api, const char *method, const char *path, api_handler_fn fn, void *ctx)
{
    route_t *r = ls_calloc(1, sizeof *r);
    size_t n = strlen(path);
    r->method = ls_strdup(method);
    r->prefix = n > 0 && path[n - 1] == '*';
    r->path = ls_strndup(path, r->prefix ? n - 1 : n);
    r->fn = fn;
    r->ctx = ctx;
    route_t **pp = &api->routes;
    while (*pp)
        pp = &(*pp)->next;
    *pp = r;
}

static const char *
method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    default: return "OTHER";
    }
}

static void
finish(api_req_t *r, int status)
{
    buf_t labels = BUF_INIT(1024);
    buf_printf(&labels, "route=\"%s\",method=\"%s\",code=\"%d\"", r->route, r->method, status);
    metrics_inc(r->api->metrics, "lester_api_requests_total", buf_cstr(&labels));
    buf_free(&labels);
    log_debug("%s %s -> %d", r->method, r->path, status);
    if (r->query_parsed)
        evhttp_clear_headers(&r->query);
    buf_free(&r->body);
    free(r->method);
    free(r->path);
    free(r);
}

/* HEAD: the headers of the GET answer; `length` < 0 leaves Content-Length out. */
void
api_reply_head(api_req_t *r, int status, const char *content_type, int64_t length)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    char n[24];
    evhttp_add_header(h, "Content-Type", content_type);
    if (!evhttp_find_header(h, "Cache-Control"))
        evhttp_add_header(h, "Cache-Control", "no-store");
    snprintf(n, sizeof n, "%lld", (long long)length);
    if (length >= 0 && !evhttp_find_header(h, "Content-Length"))
        evhttp_add_header(h, "Content-Length", n);
    evhttp_send_reply(r->req, status, NULL, NULL);
    finish(r, status);
}

void
api_reply_bytes(api_req_t *r, int status, const char *content_type, const void *p, size_t len)
{
    if (evhttp_request_get_command(r->req) == EVHTTP_REQ_HEAD) {
        api_reply_head(r, status, content_type, (int64_t)len);
        return;
    }
    struct evbuffer *out = evbuffer_new();
    evbuffer_add(out, p, len);
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(h, "Content-Type", content_type);
    if (!evhttp_find_header(h, "Cache-Control"))
        evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(r->req, status, NULL, out);
    evbuffer_free(out);
    finish(r, status);
}

void
api_reply_json(api_req_t *r, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    size_t len = strlen(text);
    text = ls_realloc(text, len + 2);
    text[len++] = '\n';
    api_reply_bytes(r, status, "application/json", text, len);
    free(text);
}

void
api_reply_error(api_req_t *r, int status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_reply_json(r, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

void
api_reply_errcode(api_req_t *r, int err, const char *what)
{
    int status = 500;
    const char *code = "internal";
    switch (err) {
    case LS_EINVAL: case LS_ERANGE: case LS_ENONCANON: status = 400; code = "bad_request"; break;
    case LS_ENOENT: status = 404; code = "not_found"; break;
    case LS_EEXIST: status = 409; code = "exists"; break;
    case LS_ECHANGED: status = 409; code = "changed"; break;
    case LS_ETOOBIG: status = 413; code = "too_large"; break;
    case LS_EACCES: status = 403; code = "forbidden"; break;
    case LS_ETIMEDOUT: status = 504; code = "timeout"; break;
    case LS_ELIMIT: status = 429; code = "limit"; break;
    case LS_ENOTSUP: status = 501; code = "unsupported"; break;
    default: break;
    }
    api_reply_error(r, status, code, "%s: %s", what, ls_strerror(err));
}

const char *
api_req_path(const api_req_t *r)
{
    return r->path;
}

const char *
api_req_raw_path(const api_req_t *r)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
    const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
    return raw ? raw : r->path;
}

const char *
api_req_query(api_req_t *r, const char *key)
{
    if (!r->query_parsed) {
        const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
        const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
        TAILQ_INIT(&r->query);
        if (q)
            evhttp_parse_query_str(q, &r->query);
        r->query_parsed = true;
    }
    return evhttp_find_header(&r->query, key);
}

const uint8_t *
api_req_body(api_req_t *r, size_t *len)
{
    *len = r->body.len;
    return r->body.data ? r->body.data : (const uint8_t *)"";
}

json_t *
api_req_json(api_req_t *r)
{
    if (r->body.len == 0)
        return json_object();
    json_error_t e;
    json_t *j = json_loadb((const char *)r->body.data, r->body.len, 0, &e);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        api_reply_error(r, 400, "bad_request", "request body must be a JSON object%s%s",
                        j ? "" : ": ", j ? "" : e.text);
        return NULL;
    }
    return j;
}

static bool
authorized(api_t *api, struct evhttp_request *req)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    static const char bearer[] = "Bearer ";
    if (!h || strncmp(h, bearer, sizeof bearer - 1) != 0)
        return false;
    h += sizeof bearer - 1;
    size_t n = strlen(api->token);
    return strlen(h) == n && sodium_memcmp(h, api->token, n) == 0;
}

static const route_t *
find_route(const api_t *api, const char *method, const char *path, bool *path_known)
{
    *path_known = false;
    for (const route_t *r = api->routes; r; r = r->next) {
        bool match = r->prefix ? strncmp(path, r->path, strlen(r->path)) == 0
                               : strcmp(path, r->path) == 0;
        if (!match)
            continue;
        *path_known = true;
        if (strcmp(r->method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0))
            return r;
    }
    return NULL;
}

static api_req_t *
req_new(api_t *api, struct evhttp_request *req)
{
    api_req_t *r = ls_calloc(1, sizeof *r);
    r->api = api;
    r->req = req;
    r->route = "other";
    r->method = ls_strdup(method_name(evhttp_request_get_command(req)));
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
    char *decoded = raw ? evhttp_uridecode(raw, 0, NULL) : NULL;
    r->path = ls_strdup(decoded ? decoded : "/");
    free(decoded);
    buf_init(&r->body, BUF_UNLIMITED);   /* evhttp already enforced max_body */
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n)
        evbuffer_remove(in, buf_extend(&r->body, n), n);
    return r;
}

static void
dispatch(struct evhttp_request *req, void *arg)
{
    api_t *api = arg;
    api_req_t *r = req_new(api, req);
    bool is_v0 = strncmp(r->path, "/api/v0/", 8) == 0;
    if (is_v0 && strcmp(r->method, "POST") == 0 && !authorized(api, req)) {
        api_reply_error(r, 401, "unauthorized",
                        "this call needs the API token from the data directory's api.cookie "
                        "file (header 'Authorization: Bearer <token>')");
        return;
    }
    bool known;
    const route_t *rt = find_route(api, r->method, r->path, &known);
    if (!rt) {
        if (known)
            api_reply_error(r, 405, "method_not_allowed", "%s is not allowed on %s", r->method,
                            r->path);
        else
            api_reply_error(r, 404, "not_found", "no such API route: %s", r->path);
        return;
    }
    r->route = rt->path;
    rt->fn(r, rt->ctx);
}

int
api_listen(api_t *api, const char *host, uint16_t port, uint16_t *bound)
{
    struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(api->http, host, port);
    if (!s)
        return errno ? -errno : LS_EIO;
    evhttp_set_gencb(api->http, dispatch, api);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (bound)
        *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

/* The stream's client went away. libevent 2.1 has detached the request from the
 * connection (it expects the handler to end it; ending a detached request frees it),
 * unless the whole server is being freed, which frees attached requests itself. */
static void
stream_closed(struct evhttp_connection *conn, void *arg)
{
    api_req_t *r = arg;
    evhttp_connection_set_closecb(conn, NULL, NULL);
    if (r->on_gone)
        r->on_gone(r->gone_ctx);
    if (!evhttp_request_get_connection(r->req))
        evhttp_send_reply_end(r->req);
    finish(r, 200);
}

void
api_stream_start(api_req_t *r, const char *content_type, api_gone_fn on_gone, void *ctx)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(h, "Content-Type", content_type);
    if (!evhttp_find_header(h, "Cache-Control"))
        evhttp_add_header(h, "Cache-Control", "no-store");
    r->on_gone = on_gone;
    r->gone_ctx = ctx;
    evhttp_send_reply_start(r->req, 200, "OK");
    struct evhttp_connection *conn = evhttp_request_get_connection(r->req);
    evhttp_connection_set_closecb(conn, stream_closed, r);
    /* a quiet stream is not an idle client: the server's 120 s timeout is not for it */
    evhttp_connection_set_timeout(conn, 30 * 24 * 3600);
}

void
api_stream_send(api_req_t *r, const void *p, size_t len)
{
    if (!len)
        return;
    struct evbuffer *out = evbuffer_new();
    evbuffer_add(out, p, len);
    evhttp_send_reply_chunk(r->req, out);
    evbuffer_free(out);
}

void
api_stream_end(api_req_t *r)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(r->req);
    if (conn)
        evhttp_connection_set_closecb(conn, NULL, NULL);
    evhttp_send_reply_end(r->req);
    finish(r, 200);
}

size_t
api_stream_queued(api_req_t *r)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(r->req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

bool
api_req_is_gone(const api_req_t *r)
{
    /* libevent detaches a request whose connection closed before the reply */
    return !evhttp_request_get_connection(r->req);
}

bool
api_req_is_head(const api_req_t *r)
{
    return evhttp_request_get_command(r->req) == EVHTTP_REQ_HEAD;
}

const char *
api_req_header(api_req_t *r, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

void
api_reply_header(api_req_t *r, const char *name, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(r->req), name, value);
}
