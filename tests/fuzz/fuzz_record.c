/* fuzz_record — record_decode() on arbitrary bytes. Properties: no crash, leak or
 * sanitizer report; whatever decodes is canonical (re-encodes to exactly the input);
 * record_verify() and the getters accept whatever decodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf/buf.h"
#include "lib/err/err.h"
#include "lib/record/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
poke(const record_t *r)
{
    const uint8_t *bin;
    const char *str;
    const record_t *child;
    const record_array_t *a;
    uint64_t u;
    int64_t i;
    size_t len;

    (void)record_get_bin(r, "pk", &bin, &len);
    (void)record_get_str(r, "type", &str);
    (void)record_get_u64(r, "n", &u);
    (void)record_get_i64(r, "n", &i);
    if (record_get_record(r, "m", &child) == 0)
        (void)record_get_u64(child, "n", &u);
    if (record_get_array(r, "a", &a) == 0 && record_array_len(a) > 0)
        (void)record_array_get_i64(a, 0, &i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    record_t *r = NULL;
    uint8_t pk[32];

    if (record_decode(data, size, 1 << 16, &r) < 0) {
        if (r)
            abort();
        return 0;
    }
    buf_t again = BUF_INIT(size);
    if (record_encode(r, &again) != 0 || again.len != size || memcmp(again.data, data, size) != 0)
        abort();
    int rc = record_verify(r, pk);
    if (rc != 0 && rc != LS_EINVAL && rc != LS_EBADSIG)
        abort();
    poke(r);
    buf_free(&again);
    record_free(r);
    return 0;
}
