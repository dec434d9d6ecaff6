/* content_path — parse and walk CLI/API content paths (content_path.h). */
#include "node/daemon/content_path.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/mem/mem.h"

int
content_path_parse(const char *s, gateway_path_t *out)
{
    memset(out, 0, sizeof *out);
    if (strncmp(s, "/ipfs/", 6) == 0)
        s += 6;
    size_t len = strlen(s);
    if (len > GATEWAY_PATH_MAX_LEN)
        return LS_ETOOBIG;
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : len;
    char root[CID_MAX_STRING + 1];
    if (n == 0 || n > CID_MAX_STRING)
        return LS_EINVAL;
    memcpy(root, s, n);
    root[n] = '\0';
    if (cid_from_string(&out->root, root) < 0)
        return LS_EINVAL;
    int rc = 0;
    for (const char *p = slash ? slash + 1 : s + len; rc == 0 && *p;) {
        const char *q = strchr(p, '/');
        size_t k = q ? (size_t)(q - p) : strlen(p);
        if (k == 0 || (k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.'))
            rc = LS_EINVAL;
        else if (out->n == GATEWAY_PATH_MAX_SEGMENTS)
            rc = LS_ETOOBIG;
        else
            out->seg[out->n++] = ls_strndup(p, k);
        p = q ? q + 1 : p + k;
        out->trailing_slash = q && !q[1];
    }
    if (rc < 0)
        gateway_path_clear(out);
    return rc;
}

/* A source over the held blocks that remembers the first block it did not find. */
typedef struct recorder_t {
    unixfs_source_t held;
    cid_t missing;
    bool has_missing;
} recorder_t;

static int
recording_get(void *ctx, const cid_t *cid, buf_t *out)
{
    recorder_t *r = ctx;
    int rc = r->held.get(r->held.ctx, cid, out);
    if (rc == LS_ENOENT && !r->has_missing) {
        r->missing = *cid;
        r->has_missing = true;
    }
    return rc;
}

int
content_path_walk(node_content_t *c, const gateway_path_t *p, cid_t *out, cid_t *missing,
                  char *why, size_t whylen)
{
    recorder_t r = {.held = node_content_source(c)};
    unixfs_source_t src = {.get = recording_get, .ctx = &r, .verified = r.held.verified};
    gateway_resolve_t res;
    int rc = gateway_path_resolve(p, &src, &res);
    if (rc == 0) {
        *out = res.cid;
        return 0;
    }
    if (rc == LS_ENOENT && !res.no_entry && r.has_missing) {
        *missing = r.missing;
        return LS_EAGAIN;
    }
    const char *seg = res.at < p->n ? p->seg[res.at] : "";
    if (why && rc == LS_ENOENT)
        snprintf(why, whylen, "no entry named '%s' in the directory", seg);
    else if (why && rc == -ENOTDIR)
        snprintf(why, whylen, "cannot look up '%s': its parent is a file, not a directory", seg);
    else if (why)
        snprintf(why, whylen, "cannot resolve '%s': %s", seg, ls_strerror(rc));
    return rc;
}
