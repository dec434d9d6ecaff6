#include "cli/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "lib/mem/mem.h"
#include "node/home/home.h"

#define MAX_RESPONSE (256u << 20)

/* "HOST:PORT", "[v6]:PORT" or a multiaddr "/ip4/H/tcp/P" (the api file's form). */
static int
parse_endpoint(const char *s, char *host, size_t hostlen, unsigned *port)
{
    char proto[8];
    char h[256];
    if (sscanf(s, "/%7[a-z0-9]/%255[^/]/tcp/%u", proto, h, port) == 3) {
        snprintf(host, hostlen, "%s", h);
        return 0;
    }
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return LS_EINVAL;
    size_t n = (size_t)(colon - s);
    if (s[0] == '[' && n >= 2 && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    if (n >= hostlen)
        return LS_EINVAL;
    memcpy(host, s, n);
    host[n] = '\0';
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end || p == 0 || p > 65535)
        return LS_EINVAL;
    *port = (unsigned)p;
    return 0;
}

int
client_endpoint(const cli_t *cli, char *host, size_t hostlen, unsigned *port, buf_t *err)
{
    if (cli->api_flag) {
        if (parse_endpoint(cli->api_flag, host, hostlen, port) == 0)
            return 0;
        buf_printf(err, "--api wants HOST:PORT, got '%s'", cli->api_flag);
        return LS_EINVAL;
    }
    char *path = home_path(cli->home, HOME_API);
    buf_t b = BUF_INIT(1024);
    int rc = fs_read_all(path, 1024, &b);
    if (rc < 0) {
        buf_printf(err, "the daemon is not running (no %s); start it with 'lester daemon'",
                   path);
        rc = LS_ENOTRUNNING;
    } else if (parse_endpoint(buf_cstr(&b), host, hostlen, port) < 0) {
        buf_printf(err, "%s is damaged; restart the daemon", path);
        rc = LS_EINVAL;
    }
    buf_free(&b);
    free(path);
    return rc;
}

static int
dial(const char *host, unsigned port, buf_t *err)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    char ps[8];
    snprintf(ps, sizeof ps, "%u", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0) {
        buf_printf(err, "cannot resolve API host '%s'", host);
        return LS_EINVAL;
    }
    int fd = -1, e = ECONNREFUSED;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        buf_printf(err, "the daemon is not running (nothing answers at %s:%u: %s); start it "
                        "with 'lester daemon'", host, port, strerror(e));
        return LS_ENOTRUNNING;
    }
    struct timeval tv = { 300, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static int
send_all(int fd, const void *p, size_t n)
{
    const uint8_t *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static char *
read_token(const cli_t *cli)
{
    char *path = home_path(cli->home, HOME_COOKIE);
    buf_t b = BUF_INIT(256);
    char *tok = NULL;
    if (fs_read_all(path, 256, &b) == 0 && b.len > 0)
        tok = buf_take_str(&b);
    buf_free(&b);
    free(path);
    return tok;
}

/* Decode a chunked body in place. 0 or LS_EINVAL. */
static int
dechunk(buf_t *b, size_t start)
{
    buf_t out = BUF_INIT(MAX_RESPONSE);
    size_t i = start;
    for (;;) {
        char *end;
        const char *p = (const char *)b->data + i;
        unsigned long n = strtoul(p, &end, 16);
        const char *crlf = memmem(p, b->len - i, "\r\n", 2);
        if (!crlf || end == p)
            goto bad;
        i = (size_t)(crlf - (const char *)b->data) + 2;
        if (n == 0)
            break;
        if (n > b->len - i || buf_append(&out, b->data + i, n) < 0)
            goto bad;
        i += n + 2;
        if (i > b->len)
            goto bad;
    }
    buf_truncate(b, start);
    buf_append(b, out.data, out.len);
    buf_free(&out);
    return 0;
bad:
    buf_free(&out);
    return LS_EINVAL;
}

static int
parse_response(buf_t *raw, client_resp_t *resp)
{
    const char *text = buf_cstr(raw);
    const char *hdr_end = strstr(text, "\r\n\r\n");
    if (!hdr_end || sscanf(text, "HTTP/1.%*d %d", &resp->status) != 1)
        return LS_EPROTO;
    size_t body_at = (size_t)(hdr_end - text) + 4;
    bool chunked = false;
    for (const char *l = strstr(text, "\r\n") + 2; l < hdr_end; l = strstr(l, "\r\n") + 2)
        if (strncasecmp(l, "Transfer-Encoding:", 18) == 0 && strstr(l, "chunked") &&
            strstr(l, "chunked") < strstr(l, "\r\n"))
            chunked = true;
    if (chunked && dechunk(raw, body_at) < 0)
        return LS_EPROTO;
    buf_append(&resp->body, raw->data + body_at, raw->len - body_at);
    if (resp->body.len)
        resp->json = json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
    return 0;
}

int
client_call(const cli_t *cli, const char *method, const char *path, const char *body,
            size_t body_len, client_resp_t *resp, buf_t *err)
{
    memset(resp, 0, sizeof *resp);
    buf_init(&resp->body, MAX_RESPONSE);
    char host[256];
    unsigned port;
    int rc = client_endpoint(cli, host, sizeof host, &port, err);
    if (rc < 0)
        return rc;
    int fd = dial(host, port, err);
    if (fd < 0)
        return fd;
    char *tok = read_token(cli);
    buf_t req = BUF_INIT(BUF_UNLIMITED), raw = BUF_INIT(MAX_RESPONSE);
    buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s:%u\r\nConnection: close\r\n", method, path,
               host, port);
    if (tok)
        buf_printf(&req, "Authorization: Bearer %s\r\n", tok);
    buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
               body ? body_len : 0);
    if (body)
        buf_append(&req, body, body_len);
    rc = send_all(fd, req.data, req.len);
    while (rc == 0) {
        uint8_t *p = buf_extend(&raw, 65536);
        if (!p) {
            rc = LS_ETOOBIG;
            break;
        }
        ssize_t n = recv(fd, p, 65536, 0);
        buf_truncate(&raw, raw.len - 65536 + (n > 0 ? (size_t)n : 0));
        if (n == 0)
            break;
        if (n < 0 && errno != EINTR)
            rc = -errno;
    }
    close(fd);
    if (rc == 0)
        rc = parse_response(&raw, resp);
    if (rc < 0)
        buf_printf(err, "talking to the daemon at %s:%u failed: %s", host, port, ls_strerror(rc));
    free(tok);
    buf_free(&req);
    buf_free(&raw);
    return rc;
}

void
client_resp_free(client_resp_t *resp)
{
    buf_free(&resp->body);
    json_decref(resp->json);
    resp->json = NULL;
}

int
client_call_ok(const cli_t *cli, const char *cmd, const char *method, const char *path,
               json_t *body, client_resp_t *resp)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    buf_t err = BUF_INIT(4096);
    int rc = client_call(cli, method, path, text, text ? strlen(text) : 0, resp, &err);
    free(text);
    if (rc < 0) {
        int code = rc == LS_ENOTRUNNING ? EXIT_NODAEMON : EXIT_FAIL;
        cli_fail(code, cmd, "%s", buf_cstr(&err));
        buf_free(&err);
        client_resp_free(resp);
        return code;
    }
    buf_free(&err);
    if (resp->status / 100 == 2)
        return EXIT_OK;
    json_t *e = resp->json ? json_object_get(resp->json, "error") : NULL;
    const char *msg = e ? json_string_value(json_object_get(e, "message")) : NULL;
    cli_fail(EXIT_FAIL, cmd, "%s (HTTP %d)", msg ? msg : "the daemon refused", resp->status);
    client_resp_free(resp);
    return EXIT_FAIL;
}

/* ---- streamed answers ---- */

typedef struct stream_rd_t {
    int fd;
    buf_t raw;  /* bytes received, not yet decoded */
    buf_t line; /* the current line of the decoded body */
} stream_rd_t;

/* More bytes from the socket; 0 at EOF, > 0 read, < 0 error. */
static ssize_t
fill(stream_rd_t *r)
{
    uint8_t *p = buf_extend(&r->raw, 65536);
    if (!p)
        return LS_ETOOBIG;
    ssize_t n;
    do
        n = recv(r->fd, p, 65536, 0);
    while (n < 0 && errno == EINTR);
    buf_truncate(&r->raw, r->raw.len - 65536 + (n > 0 ? (size_t)n : 0));
    return n < 0 ? -errno : n;
}

/* Feed decoded body bytes into lines; false when `fn` asked to stop. */
static bool
feed_lines(stream_rd_t *r, const uint8_t *p, size_t n, client_line_fn fn, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\n') {
            if (buf_append_byte(&r->line, p[i]) < 0)
                buf_clear(&r->line); /* an absurd line is dropped */
            continue;
        }
        bool go = fn(ctx, buf_cstr(&r->line), r->line.len);
        buf_clear(&r->line);
        if (!go)
            return false;
    }
    return true;
}

/* Decode chunks as they come. 0 at the last chunk or EOF, 1 if stopped by `fn`. */
static int
read_chunks(stream_rd_t *r, client_line_fn fn, void *ctx)
{
    for (;;) {
        const char *p = (const char *)r->raw.data;
        const char *crlf = r->raw.len ? memmem(p, r->raw.len, "\r\n", 2) : NULL;
        if (crlf) {
            unsigned long size = strtoul(p, NULL, 16);
            size_t hdr = (size_t)(crlf - p) + 2;
            if (size == 0)
                return 0;
            if (r->raw.len >= hdr + size + 2) {
                if (!feed_lines(r, r->raw.data + hdr, size, fn, ctx))
                    return 1;
                buf_consume(&r->raw, hdr + size + 2);
                continue;
            }
        }
        ssize_t n = fill(r);
        if (n <= 0)
            return n < 0 ? (int)n : 0;
    }
}

int
client_stream(const cli_t *cli, const char *cmd, const char *path, json_t *body,
              client_line_fn fn, void *ctx)
{
    char host[256];
    unsigned port;
    buf_t err = BUF_INIT(4096);
    char *text = body ? json_dumps(body, JSON_COMPACT) : ls_strdup("{}");
    json_decref(body);
    int rc = client_endpoint(cli, host, sizeof host, &port, &err);
    int fd = rc < 0 ? rc : dial(host, port, &err);
    if (fd < 0) {
        free(text);
        rc = cli_fail(fd == LS_ENOTRUNNING ? EXIT_NODAEMON : EXIT_FAIL, cmd, "%s", buf_cstr(&err));
        buf_free(&err);
        return rc;
    }
    struct timeval tv = {0, 0}; /* a quiet topic is not an error: wait for ever */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char *tok = read_token(cli);
    buf_t req = BUF_INIT(BUF_UNLIMITED);
    buf_printf(&req, "POST %s HTTP/1.1\r\nHost: %s:%u\r\nConnection: close\r\n", path, host,
               port);
    if (tok)
        buf_printf(&req, "Authorization: Bearer %s\r\n", tok);
    buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
               strlen(text), text);
    stream_rd_t r = {fd, BUF_INIT(MAX_RESPONSE), BUF_INIT(1u << 24)};
    rc = send_all(fd, req.data, req.len) < 0 ? EXIT_FAIL : EXIT_OK;
    const char *hdr_end = NULL;
    while (rc == EXIT_OK && !(hdr_end = r.raw.len ? memmem(r.raw.data, r.raw.len, "\r\n\r\n", 4)
                                                  : NULL))
        if (fill(&r) <= 0)
            rc = EXIT_FAIL;
    int status = 0;
    if (rc == EXIT_OK && sscanf(buf_cstr(&r.raw), "HTTP/1.%*d %d", &status) != 1)
        rc = EXIT_FAIL;
    if (rc == EXIT_OK) {
        size_t at = (size_t)(hdr_end - (const char *)r.raw.data) + 4;
        bool chunked = strcasestr(buf_cstr(&r.raw), "transfer-encoding: chunked") != NULL;
        buf_consume(&r.raw, at);
        if (status != 200) {
            while (fill(&r) > 0) {
            }
            json_t *j = json_loadb((const char *)r.raw.data, r.raw.len, 0, NULL);
            const char *msg = json_string_value(
                json_object_get(json_object_get(j, "error"), "message"));
            rc = cli_fail(EXIT_FAIL, cmd, "%s (HTTP %d)", msg ? msg : "the daemon refused",
                          status);
            json_decref(j);
        } else if (!chunked) {
            feed_lines(&r, r.raw.data, r.raw.len, fn, ctx);
        } else if (read_chunks(&r, fn, ctx) < 0) {
            rc = cli_fail(EXIT_FAIL, cmd, "the stream from the daemon broke");
        }
    } else {
        rc = cli_fail(EXIT_FAIL, cmd, "talking to the daemon at %s:%u failed", host, port);
    }
    close(fd);
    free(tok);
    free(text);
    buf_free(&req);
    buf_free(&r.raw);
    buf_free(&r.line);
    buf_free(&err);
    return rc;
}
