/* Fuzz the CLI/API content paths ("<cid>/a/b", "/ipfs/<cid>/a/b" in a request's
 * "cid"): a path that parses has at most GATEWAY_PATH_MAX_SEGMENTS segments, each
 * non-empty, without '/' and not "." or ".."; printing it again from the canonical
 * CID text and its segments and parsing that gives back the same root and segments. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf/buf.h"
#include "node/daemon/content_path.h"

#include "path_invariants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0'; /* the API hands over a NUL-terminated JSON string */
    gateway_path_t p, q;
    if (content_path_parse(s, &p) != 0) {
        free(s);
        return 0;
    }
    check_path_invariants(&p);
    buf_t again = BUF_INIT(BUF_UNLIMITED);
    if (cid_to_string(&p.root, &again) != 0)
        abort();
    for (size_t i = 0; i < p.n; i++) {
        buf_append(&again, (const uint8_t *)"/", 1);
        buf_append(&again, (const uint8_t *)p.seg[i], strlen(p.seg[i]));
    }
    if (content_path_parse(buf_cstr(&again), &q) != 0 || !cid_equal(&p.root, &q.root) ||
        q.n != p.n)
        abort();
    for (size_t i = 0; i < p.n; i++)
        if (strcmp(p.seg[i], q.seg[i]) != 0)
            abort();
    gateway_path_clear(&p);
    gateway_path_clear(&q);
    buf_free(&again);
    free(s);
    return 0;
}
