/* Fuzz the multibase decoders: accepted text must re-encode to itself (decoding is
 * canonical), and arbitrary bytes must survive encode -> decode in every base. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/err/err.h"
#include "lib/multibase/multibase.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *s, size_t len)
{
    buf_t bytes = BUF_INIT(BUF_UNLIMITED), text = BUF_INIT(BUF_UNLIMITED);
    multibase_t which;

    if (multibase_decode(s, len, &bytes, &which) == 0) {
        if (multibase_encode(which, bytes.data, bytes.len, &text) != 0)
            abort();
        if (text.len != len || memcmp(text.data, s, len) != 0)
            abort();
    }
    buf_clear(&bytes);
    buf_clear(&text);
    /* the raw base32/base16 decoders take either case; the encoders write lowercase */
    if (base32_decode(s, len, &bytes) == 0) {
        if (base32_encode(bytes.data, bytes.len, &text) != 0 || text.len != len ||
            strncasecmp((const char *)text.data, s, len) != 0)
            abort();
    }
    buf_free(&bytes);
    buf_free(&text);
}

static void
check_bytes(const uint8_t *p, size_t len)
{
    static const multibase_t bases[] = {MULTIBASE_BASE16, MULTIBASE_BASE16_UPPER, MULTIBASE_BASE32,
                                        MULTIBASE_BASE32_UPPER, MULTIBASE_BASE58BTC};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        buf_t text = BUF_INIT(BUF_UNLIMITED), back = BUF_INIT(BUF_UNLIMITED);
        multibase_t which;
        int rc = multibase_encode(bases[i], p, len, &text);
        if (rc == LS_ETOOBIG && bases[i] == MULTIBASE_BASE58BTC && len > MULTIBASE_BASE58_MAX) {
            buf_free(&text);
            continue;
        }
        if (rc != 0 || multibase_decode((const char *)text.data, text.len, &back, &which) != 0)
            abort();
        if (which != bases[i] || back.len != len || (len && memcmp(back.data, p, len) != 0))
            abort();
        buf_free(&text);
        buf_free(&back);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_text((const char *)data, size);
    check_bytes(data, size);
    return 0;
}
