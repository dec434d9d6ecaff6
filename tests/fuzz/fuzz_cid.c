/* Fuzz CID decoding: binary CIDs must re-encode to the bytes consumed; CID text must
 * round-trip through cid_to_string() and cid_from_string(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cid/cid.h"
#include "lib/err/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_binary(const uint8_t *p, size_t len)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    cid_t cid;
    int n = cid_from_bytes(&cid, p, len);

    if (n > 0) {
        if (cid_to_bytes(&cid, &b) != 0 || b.len != (size_t)n || memcmp(b.data, p, b.len) != 0)
            abort();
    }
    buf_free(&b);
}

static void
check_text(const uint8_t *p, size_t len)
{
    char *s = malloc(len + 1);
    buf_t text = BUF_INIT(BUF_UNLIMITED);
    cid_t cid, again;

    memcpy(s, p, len);
    s[len] = '\0';
    if (cid_from_string(&cid, s) == 0) {
        if (cid_to_string(&cid, &text) != 0 || cid_from_string(&again, buf_cstr(&text)) != 0 ||
            !cid_equal(&cid, &again))
            abort();
        /* our own output forms are canonical: they must come back verbatim */
        if ((s[0] == 'Q' || s[0] == 'b') && strcmp(s, buf_cstr(&text)) != 0)
            abort();
    }
    buf_free(&text);
    free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_binary(data, size);
    check_text(data, size);
    return 0;
}
