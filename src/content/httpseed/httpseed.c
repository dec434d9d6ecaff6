/* httpseed — parsing HTTP seeders' endpoint templates (httpseed.h). */
#include "content/httpseed/httpseed.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/err/err.h"

static const char *
find(const char *p, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(p + i, needle, n) == 0)
            return p + i;
    return NULL;
}

static size_t
count(const char *p, size_t len, const char *needle)
{
    size_t c = 0, n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(p + i, needle, n) == 0)
            c++;
    return c;
}

static bool
host_char(char c, bool v6)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.')
        return true;
    return v6 ? c == ':' : c == '-';
}

/* host[:port] at p[0..len): fill out->host and out->port. */
static int
parse_authority(const char *p, size_t len, httpseed_endpoint_t *out)
{
    size_t hl;
    const char *rest, *start = p;
    bool v6 = len > 0 && p[0] == '[';
    if (v6) {
        const char *close = memchr(p, ']', len);
        if (!close)
            return LS_EINVAL;
        p++;
        hl = (size_t)(close - p);
        rest = close + 1;
    } else {
        const char *colon = memchr(p, ':', len);
        hl = colon ? (size_t)(colon - p) : len;
        rest = p + hl;
    }
    size_t rl = len - (size_t)(rest - start);
    if (hl == 0 || hl > HTTPSEED_HOST_MAX)
        return hl ? LS_ETOOBIG : LS_EINVAL;
    for (size_t i = 0; i < hl; i++)
        if (!host_char(p[i], v6))
            return LS_EINVAL;
    uint32_t port = 80;
    if (rl > 0) {
        if (rest[0] != ':' || rl < 2 || rl > 6)
            return LS_EINVAL;
        port = 0;
        for (size_t i = 1; i < rl; i++) {
            if (rest[i] < '0' || rest[i] > '9')
                return LS_EINVAL;
            port = port * 10 + (uint32_t)(rest[i] - '0');
        }
        if (port == 0 || port > 65535)
            return LS_EINVAL;
    }
    memcpy(out->host, p, hl);
    out->host[hl] = '\0';
    out->port = (uint16_t)port;
    return 0;
}

/* The path template: printable ASCII, braces only in {cid} and {index}. */
static int
parse_path(const char *p, size_t len, httpseed_endpoint_t *out)
{
    if (len == 0 || p[0] != '/')
        return LS_EINVAL;
    if (len > HTTPSEED_PATH_MAX)
        return LS_ETOOBIG;
    for (size_t i = 0; i < len; i++)
        if (p[i] <= 0x20 || p[i] >= 0x7f)
            return LS_EINVAL;
    size_t ncid = count(p, len, "{cid}"), nidx = count(p, len, "{index}");
    size_t braces = count(p, len, "{") + count(p, len, "}");
    if (ncid != 1 || nidx > 1 || braces != 2 * (ncid + nidx))
        return ncid > 1 || nidx > 1 || braces != 2 * (ncid + nidx) ? LS_EINVAL : LS_ENOTSUP;
    if (nidx == 1)
        out->kind = HTTPSEED_CHUNK;
    else if (find(p, len, "format=raw"))
        out->kind = HTTPSEED_RAW;
    else
        return LS_ENOTSUP;
    memcpy(out->path, p, len);
    out->path[len] = '\0';
    return 0;
}

int
httpseed_parse(const char *url, size_t len, httpseed_endpoint_t *out)
{
    static const char scheme[] = "http://";
    httpseed_endpoint_t ep;
    memset(&ep, 0, sizeof ep);
    if (len > HTTPSEED_URL_MAX)
        return LS_ETOOBIG;
    if (len < sizeof scheme - 1 || memcmp(url, scheme, sizeof scheme - 1) != 0)
        return find(url, len, "://") ? LS_ENOTSUP : LS_EINVAL;
    const char *auth = url + sizeof scheme - 1;
    size_t alen = len - (sizeof scheme - 1);
    const char *slash = memchr(auth, '/', alen);
    if (!slash)
        return LS_EINVAL;
    int rc = parse_authority(auth, (size_t)(slash - auth), &ep);
    if (rc == 0)
        rc = parse_path(slash, alen - (size_t)(slash - auth), &ep);
    if (rc == 0)
        *out = ep;
    return rc;
}

int
httpseed_path(const httpseed_endpoint_t *ep, const char *cid, uint64_t index, char *out,
              size_t cap)
{
    size_t o = 0;
    char num[24];
    snprintf(num, sizeof num, "%" PRIu64, index);
    for (const char *p = ep->path; *p;) {
        const char *sub = NULL;
        size_t skip = 1;
        if (strncmp(p, "{cid}", 5) == 0) {
            sub = cid;
            skip = 5;
        } else if (strncmp(p, "{index}", 7) == 0) {
            sub = num;
            skip = 7;
        }
        size_t n = sub ? strlen(sub) : 1;
        if (o + n + 1 > cap)
            return LS_ETOOBIG;
        memcpy(out + o, sub ? sub : p, n);
        o += n;
        p += skip;
    }
    if (o + 1 > cap)
        return LS_ETOOBIG;
    out[o] = '\0';
    return 0;
}
