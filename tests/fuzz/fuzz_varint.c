/* Fuzz varint_decode: every accepted varint must re-encode to the bytes consumed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/varint/varint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;

    while (off < size) {
        uint64_t v;
        uint8_t out[VARINT_MAX_LEN];
        int n = varint_decode(data + off, size - off, &v);
        if (n < 0) {
            if (n != LS_EAGAIN && n != LS_EINVAL)
                abort();
            break;
        }
        if (n > VARINT_MAX_LEN || varint_len(v) != (size_t)n)
            abort();
        if (varint_encode(v, out) != (size_t)n || memcmp(out, data + off, (size_t)n) != 0)
            abort();
        off += (size_t)n;
    }
    return 0;
}
