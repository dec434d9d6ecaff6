/* Fuzz the gateway's content paths (`/ipfs/{cid}/{path...}` from any HTTP client): a
 * path that parses has at most GATEWAY_PATH_MAX_SEGMENTS segments, each non-empty,
 * without '/' and not "." or ".."; percent-encoding every byte of each segment again
 * and parsing the canonical CID text with it gives back the same root and segments. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "node/daemon/gateway_path.h"

#include "path_invariants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "<canonical cid>/%XX%XX.../%XX..." of `p`. */
static void
reencode(const gateway_path_t *p, buf_t *out)
{
    if (cid_to_string(&p->root, out) != 0)
        abort();
    for (size_t i = 0; i < p->n; i++) {
        buf_append(out, (const uint8_t *)"/", 1);
        for (const unsigned char *c = (const unsigned char *)p->seg[i]; *c; c++) {
            char esc[4];
            snprintf(esc, sizeof esc, "%%%02X", *c);
            buf_append(out, (const uint8_t *)esc, 3);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gateway_path_t p, q;
    if (gateway_path_parse((const char *)data, size, &p) != 0)
        return 0;
    check_path_invariants(&p);
    buf_t again = BUF_INIT(BUF_UNLIMITED);
    reencode(&p, &again);
    if (again.len <= GATEWAY_PATH_MAX_LEN) {
        if (gateway_path_parse((const char *)again.data, again.len, &q) != 0)
            abort();
        if (!cid_equal(&p.root, &q.root) || q.n != p.n)
            abort();
        for (size_t i = 0; i < p.n; i++)
            if (strcmp(p.seg[i], q.seg[i]) != 0)
                abort();
        gateway_path_clear(&q);
    }
    buf_free(&again);
    gateway_path_clear(&p);
    return 0;
}
