/* Fuzz the encrypted-file decoder (content/crypt): header parser and message stream.
 * The input is decrypted with the passphrase "fuzz" under reader bounds low enough
 * that argon2id stays cheap; it is fed whole and again in pieces of a size taken from
 * its last byte, and both runs must agree on the outcome and the plaintext. The seed
 * corpus holds valid files for "fuzz" so that mutations reach the message layer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "content/crypt/crypt.h"
#include "lib/buf/buf.h"
#include "lib/err/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const crypt_params_t bounds = {2, 16384, 4096};

static int
to_buf(void *ctx, const uint8_t *p, size_t len)
{
    return buf_append(ctx, p, len);
}

static int
run(const uint8_t *p, size_t len, size_t piece, buf_t *out)
{
    crypt_dec_t *d = crypt_dec_new("fuzz", &bounds, to_buf, out);
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < len; off += piece)
        rc = crypt_dec_write(d, p + off, LS_MIN(piece, len - off));
    if (rc == 0)
        rc = crypt_dec_finish(d);
    if (rc < 0 && !crypt_dec_error(d)[0])
        abort(); /* every failure has a sentence for the user */
    crypt_dec_free(d);
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    crypt_header_t h;
    int hrc = crypt_header_parse(data, size, &bounds, &h);
    if (hrc == 0 && (h.params.chunk == 0 || h.params.chunk > bounds.chunk))
        abort();
    buf_t a = BUF_INIT(BUF_UNLIMITED), b = BUF_INIT(BUF_UNLIMITED);
    int ra = run(data, size, size ? size : 1, &a);
    int rb = run(data, size, size ? (size_t)data[size - 1] % 97 + 1 : 1, &b);
    if (ra != rb || (ra == 0 && (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))))
        abort();
    /* plaintext never exceeds what the ciphertext can carry */
    if (a.len && a.len + CRYPT_HEADER_LEN > size)
        abort();
    buf_free(&a);
    buf_free(&b);
    return 0;
}
