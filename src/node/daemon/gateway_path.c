/* gateway_path — parse and resolve `/ipfs/{cid}/{path...}` (see gateway_path.h). */
#include "node/daemon/gateway_path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/mem/mem.h"

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode `p[0..n)` (n > 0) into a new string. A name can never hold NUL or
 * '/' (unixfs_ls refuses such directories), so escapes of those are malformed. */
static int
decode_segment(const char *p, size_t n, char **out)
{
    char *s = ls_malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '%') {
            s[k++] = p[i];
            continue;
        }
        int hi = i + 2 < n ? hex_value(p[i + 1]) : -1;
        int lo = hi >= 0 ? hex_value(p[i + 2]) : -1;
        if (lo < 0 || (hi == 0 && lo == 0) || (hi == 2 && lo == 15)) {
            free(s);
            return LS_EINVAL;
        }
        s[k++] = (char)(hi << 4 | lo);
        i += 2;
    }
    s[k] = '\0';
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
        free(s);
        return LS_EINVAL;
    }
    *out = s;
    return 0;
}

static int
parse_root(const char *raw, size_t n, cid_t *root)
{
    char tmp[CID_MAX_STRING + 1];
    if (n == 0 || n > CID_MAX_STRING || memchr(raw, '\0', n))
        return LS_EINVAL;
    memcpy(tmp, raw, n);
    tmp[n] = '\0';
    return cid_from_string(root, tmp) < 0 ? LS_EINVAL : 0;
}

int
gateway_path_parse(const char *raw, size_t len, gateway_path_t *out)
{
    memset(out, 0, sizeof *out);
    if (len > GATEWAY_PATH_MAX_LEN)
        return LS_ETOOBIG;
    const char *end = raw + len, *slash = memchr(raw, '/', len);
    int rc = parse_root(raw, slash ? (size_t)(slash - raw) : len, &out->root);
    const char *p = slash ? slash + 1 : end;
    while (rc == 0 && p < end) {
        const char *q = memchr(p, '/', (size_t)(end - p));
        size_t n = q ? (size_t)(q - p) : (size_t)(end - p);
        if (n == 0 || memchr(p, '\0', n))
            rc = LS_EINVAL; /* "a//b", a leading "//" or a raw NUL */
        else if (out->n == GATEWAY_PATH_MAX_SEGMENTS)
            rc = LS_ETOOBIG;
        else if ((rc = decode_segment(p, n, &out->seg[out->n])) == 0)
            out->n++;
        if (rc == 0 && q && q + 1 == end)
            out->trailing_slash = true;
        p = q ? q + 1 : end;
    }
    if (rc == 0 && slash && slash + 1 == end)
        out->trailing_slash = true;
    if (rc < 0)
        gateway_path_clear(out);
    return rc;
}

void
gateway_path_clear(gateway_path_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->seg[i]);
    p->n = 0;
}

/* ---- resolving ---- */

int
gateway_path_resolve(const gateway_path_t *p, const unixfs_source_t *src, gateway_resolve_t *out)
{
    memset(out, 0, sizeof *out);
    out->cid = p->root;
    out->roots[out->n_roots++] = p->root;
    for (size_t i = 0; i < p->n; i++) {
        cid_t next;
        int rc = unixfs_lookup(&out->cid, src, p->seg[i], &next);
        out->at = i;
        if (rc == 0) {
            out->cid = next;
            out->roots[out->n_roots++] = next;
            continue;
        }
        out->no_entry = rc == UNIXFS_NO_ENTRY;
        return out->no_entry ? LS_ENOENT : rc;
    }
    return 0;
}
