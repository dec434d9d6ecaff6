/* fuzz_dht_msg — kadmsg_decode() on arbitrary bytes. Properties: no crash, leak or
 * sanitizer report; what decodes re-encodes within the size limit, and the re-encoding
 * decodes and re-encodes to itself (encode is a fixed point after one round). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dht/kadmsg.h"
#include "lib/buf/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static kadmsg_t m, m2;
    buf_t a = BUF_INIT(KADMSG_MAX_SIZE), b = BUF_INIT(KADMSG_MAX_SIZE);
    const uint8_t *body;
    size_t body_len;

    (void)kadmsg_frame_decode(data, size, &body, &body_len);
    if (kadmsg_decode(data, size, &m) != 0)
        return 0;
    /* dropped fields and peers only shrink the message, so it always fits */
    if (kadmsg_encode(&m, &a) != 0)
        abort();
    if (kadmsg_decode(a.data, a.len, &m2) != 0 || kadmsg_encode(&m2, &b) != 0)
        abort();
    if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
        abort();
    buf_free(&a);
    buf_free(&b);
    return 0;
}
