/* Fuzz the gateway's request negotiation (gateway_negotiate.h): Accept headers,
 * ?format=, car-*, dag-scope and entity-bytes values and If-None-Match lists come from
 * any HTTP client. The input is split at NUL bytes into those fields, in that order.
 * Invariants: an answer is one of the three formats or an error with a reason;
 * a resolved entity-bytes range lies inside the entity; an Etag always matches itself
 * and "*". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "node/daemon/gateway_negotiate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS 9

static void
check_range(const gateway_want_t *w, uint64_t size)
{
    uint64_t lo = 0, hi = 0;
    int rc = gateway_range_resolve(w, size, &lo, &hi);
    if (rc == 0 && (lo > hi || hi >= size))
        abort();
    if (rc != 0 && rc != 1 && rc != LS_ERANGE)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *f[FIELDS] = {0};
    char *p = copy;
    for (int i = 0; i < FIELDS && p <= copy + size; i++) {
        f[i] = p;
        p += strlen(p) + 1;
    }
    gateway_request_t in = {.accept = f[0],
                            .format = f[1],
                            .car_version = f[2],
                            .car_order = f[3],
                            .car_dups = f[4],
                            .dag_scope = f[5],
                            .entity_bytes = f[6]};
    gateway_want_t w;
    const char *why = NULL;
    int rc = gateway_negotiate(&in, &w, &why);
    if (rc != 0 && (rc != LS_EINVAL && rc != LS_ENOTSUP))
        abort();
    if (rc != 0 && (!why || !why[0]))
        abort();
    if (rc == 0 && w.format != GATEWAY_FORMAT_FILE && w.format != GATEWAY_FORMAT_RAW &&
        w.format != GATEWAY_FORMAT_CAR)
        abort();
    if (rc == 0 && w.has_range) {
        if (w.scope != GATEWAY_SCOPE_ENTITY)
            abort();
        static const uint64_t sizes[] = {0, 1, 1000, 262144, UINT64_C(1) << 40};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            check_range(&w, sizes[i]);
    }
    if (f[7]) {
        (void)gateway_etag_match(f[7], f[8] ? f[8] : "\"x\"");
        if (!gateway_etag_match("*", f[7]))
            abort();
    }
    if (f[8] && f[8][0] == '"') {
        const char *close = strchr(f[8] + 1, '"'); /* a lone quoted tag matches itself */
        if (close && close[1] == '\0' && !gateway_etag_match(f[8], f[8]))
            abort();
    }
    free(copy);
    return 0;
}
