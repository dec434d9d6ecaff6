/* path_invariants.h — what every parsed content path must satisfy, for the fuzz
 * targets of both parsers (fuzz_gateway_path.c: URLs; fuzz_content_path.c: CLI/API):
 * at most GATEWAY_PATH_MAX_SEGMENTS segments, each non-empty, without '/' and not "."
 * or "..". */
#ifndef LS_TESTS_FUZZ_PATH_INVARIANTS_H
#define LS_TESTS_FUZZ_PATH_INVARIANTS_H

#include <stdlib.h>
#include <string.h>

#include "node/daemon/gateway_path.h"

static inline void
check_path_invariants(const gateway_path_t *p)
{
    if (p->n > GATEWAY_PATH_MAX_SEGMENTS)
        abort();
    for (size_t i = 0; i < p->n; i++) {
        const char *s = p->seg[i];
        if (!s[0] || strchr(s, '/') || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
            abort();
    }
}

#endif
