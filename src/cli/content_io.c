/* content_io — see content_io.h. The byte stream is plain HTTP/1.1 with chunked
 * decoding as bytes arrive (the shared client reads lines or whole answers). */
#include "cli/content_io.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli/client.h"
#include "lib/buf/buf.h"
#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "lib/mem/mem.h"
#include "node/home/home.h"

#define IO_READ 65536

static int
dial_api(const char *host, unsigned port)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    char ps[8];
    snprintf(ps, sizeof ps, "%u", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0)
        return LS_EINVAL;
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd < 0 ? LS_ENOTRUNNING : fd;
}

static int
send_request(int fd, const cli_t *cli, const char *host, unsigned port, const char *path,
             const char *body)
{
    char *cookie = home_path(cli->home, HOME_COOKIE);
    buf_t tok = BUF_INIT(256), req = BUF_INIT(BUF_UNLIMITED);
    fs_read_all(cookie, 256, &tok);
    buf_printf(&req, "POST %s HTTP/1.1\r\nHost: %s:%u\r\nConnection: close\r\n"
                     "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
               path, host, port, buf_cstr(&tok), strlen(body), body);
    int rc = 0;
    for (size_t off = 0; off < req.len && rc == 0;) {
        ssize_t w = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);
        if (w < 0 && errno != EINTR)
            rc = -errno;
        else if (w > 0)
            off += (size_t)w;
    }
    buf_free(&tok);
    buf_free(&req);
    free(cookie);
    return rc;
}

static ssize_t
fill(int fd, buf_t *b)
{
    uint8_t *p = buf_extend(b, IO_READ);
    if (!p)
        return LS_ETOOBIG;
    ssize_t n;
    do
        n = recv(fd, p, IO_READ, 0);
    while (n < 0 && errno == EINTR);
    buf_truncate(b, b->len - IO_READ + (n > 0 ? (size_t)n : 0));
    return n < 0 ? -errno : n;
}

/* Copy a chunked body to `out` as it arrives. 0 at the last chunk, < 0 on error
 * (LS_EPROTO if the connection ended before the last chunk). */
static int
copy_chunked(int fd, buf_t *raw, FILE *out, uint64_t *written)
{
    for (;;) {
        const char *p = (const char *)raw->data;
        const char *crlf = raw->len ? memmem(p, raw->len, "\r\n", 2) : NULL;
        if (crlf) {
            unsigned long size = strtoul(p, NULL, 16);
            size_t hdr = (size_t)(crlf - p) + 2;
            if (size == 0)
                return 0;
            if (raw->len >= hdr + size + 2) {
                if (fwrite(raw->data + hdr, 1, size, out) != size)
                    return -errno;
                *written += size;
                buf_consume(raw, hdr + size + 2);
                continue;
            }
        }
        ssize_t n = fill(fd, raw);
        if (n <= 0)
            return n < 0 ? (int)n : LS_EPROTO;
    }
}

static int
read_error(const char *cmd, int fd, buf_t *raw, int status)
{
    while (fill(fd, raw) > 0) {
    }
    const char *body = memmem(raw->data, raw->len, "\r\n\r\n", 4);
    json_t *j = body ? json_loads(body + 4, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    int rc = cli_fail(EXIT_FAIL, cmd, "%s (HTTP %d)", msg ? msg : "the daemon refused", status);
    json_decref(j);
    return rc;
}

int
content_stream_bytes(const cli_t *cli, const char *cmd, const char *path, const char *body,
                     FILE *out, uint64_t *written)
{
    char host[256];
    unsigned port;
    buf_t err = BUF_INIT(4096), raw = BUF_INIT(64u << 20);
    int rc = client_endpoint(cli, host, sizeof host, &port, &err), fd = -1, status = 0;
    if (rc == 0 && (fd = dial_api(host, port)) < 0)
        buf_printf(&err, "the daemon is not running (nothing answers at %s:%u)", host, port);
    if (rc < 0 || fd < 0) {
        rc = cli_fail(rc == LS_ENOTRUNNING || fd == LS_ENOTRUNNING ? EXIT_NODAEMON : EXIT_FAIL,
                      cmd, "%s", buf_cstr(&err));
        goto out;
    }
    const char *hdr_end = NULL;
    rc = send_request(fd, cli, host, port, path, body);
    while (rc == 0 && !(hdr_end = raw.len ? memmem(raw.data, raw.len, "\r\n\r\n", 4) : NULL))
        if (fill(fd, &raw) <= 0)
            rc = LS_EPROTO;
    if (rc == 0 && sscanf(buf_cstr(&raw), "HTTP/1.%*d %d", &status) != 1)
        rc = LS_EPROTO;
    if (rc < 0) {
        rc = cli_fail(EXIT_FAIL, cmd, "talking to the daemon failed: %s", ls_strerror(rc));
    } else if (status != 200) {
        rc = read_error(cmd, fd, &raw, status);
    } else {
        buf_consume(&raw, (size_t)(hdr_end - (const char *)raw.data) + 4);
        rc = copy_chunked(fd, &raw, out, written);
        if (fflush(out) != 0 && rc == 0)
            rc = -errno;
        rc = rc < 0 ? cli_fail(EXIT_FAIL, cmd, "the stream broke: %s", ls_strerror(rc)) : EXIT_OK;
    }
out:
    if (fd >= 0)
        close(fd);
    buf_free(&raw);
    buf_free(&err);
    return rc;
}

/* ---- progress bar ---- */

void
progress_init(progress_t *p, const char *label, bool quiet)
{
    p->on = !quiet && isatty(2);
    p->last_ms = 0;
    p->label = label;
}

static void
human(char *out, size_t n, double v)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    size_t u = 0;
    while (v >= 1024 && u + 1 < LS_ARRAY_LEN(units)) {
        v /= 1024;
        u++;
    }
    snprintf(out, n, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void
progress_draw(progress_t *p, uint64_t bytes, uint64_t total, double rate, int peers, double eta)
{
    uint64_t now = clock_mono_ms();
    if (!p->on || now - p->last_ms < 100)
        return;
    p->last_ms = now;
    char b[32], t[32], r[32], bar[32];
    human(b, sizeof b, (double)bytes);
    human(t, sizeof t, (double)total);
    human(r, sizeof r, rate);
    int fill_n = total ? (int)(20.0 * (double)(bytes > total ? total : bytes) / (double)total) : 0;
    for (int i = 0; i < 20; i++)
        bar[i] = i < fill_n ? '#' : '.';
    bar[20] = '\0';
    fprintf(stderr, "\r%s [%s] %s / %s  %s/s", p->label, bar, b, total ? t : "?", r);
    if (peers >= 0)
        fprintf(stderr, "  %d peer%s", peers, peers == 1 ? "" : "s");
    if (eta >= 0)
        fprintf(stderr, "  ETA %.0fs", eta);
    fprintf(stderr, "\033[K");
}

void
progress_done(progress_t *p)
{
    if (p->on && p->last_ms)
        fprintf(stderr, "\r\033[K");
}

/* ---- a download (get, cat, ls --fetch, block get) ---- */

typedef struct fetch_ctx_t {
    const char *cmd;
    progress_t bar;
    int rc;
    json_t *last;
    bool written;  /* the daemon wrote the output file during the download */
    bool answered; /* a done or error event came */
} fetch_ctx_t;

static bool
fetch_line(void *ctx, const char *line, size_t len)
{
    fetch_ctx_t *f = ctx;
    json_t *j = json_loadb(line, len, 0, NULL);
    const char *ev = json_string_value(json_object_get(j, "event"));
    if (ev && strcmp(ev, "progress") == 0) {
        progress_draw(&f->bar, (uint64_t)json_integer_value(json_object_get(j, "bytes")),
                      (uint64_t)json_integer_value(json_object_get(j, "total")),
                      (double)json_integer_value(json_object_get(j, "rate_bps")),
                      (int)json_integer_value(json_object_get(j, "peers")),
                      json_real_value(json_object_get(j, "eta_s")));
        json_decref(f->last);
        f->last = json_incref(j);
    } else if (ev && strcmp(ev, "done") == 0) {
        f->answered = true;
        f->rc = EXIT_OK;
        f->written = json_is_true(json_object_get(j, "written"));
    } else if (ev && strcmp(ev, "error") == 0) {
        f->answered = true;
        progress_done(&f->bar);
        f->rc = cli_fail(EXIT_FAIL, f->cmd, "download failed: %s",
                         json_string_value(json_object_get(j, "message")));
    }
    json_decref(j);
    return true;
}

int
content_fetch(cli_t *cli, content_fetch_t *o, json_t **last)
{
    fetch_ctx_t f = { .cmd = o->cmd, .rc = EXIT_FAIL };
    progress_init(&f.bar, o->cmd, o->quiet);
    json_t *body = json_pack("{s:s, s:I, s:b}", "cid", o->cid, "timeout_s",
                             (json_int_t)o->timeout_s, "block", o->block);
    if (o->path)
        json_object_set_new(body, "path", json_string(o->path));
    int rc = client_stream(cli, o->cmd, "/api/v0/fetch", body, fetch_line, &f);
    o->written = f.written;
    progress_done(&f.bar);
    if (rc == EXIT_OK && !f.answered)
        rc = cli_fail(EXIT_FAIL, o->cmd, "the download ended without an answer");
    if (last)
        *last = f.last;
    else
        json_decref(f.last);
    return rc != EXIT_OK ? rc : f.rc;
}
