/* Fuzz lib/crypto/sigverify: the key parsers of every libp2p key type (DER
 * SubjectPublicKeyInfo for RSA and ECDSA, SEC1 points for secp256k1) and the
 * signature parsers behind them. Input: one byte of key type, two bytes (big
 * endian) of key length, the key, then the signature of MSG. A key sigverify()
 * accepts must pass sigverify_check_key() and the other way round. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crypto/sigverify.h"
#include "lib/err/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the seed signatures sign: a Noise identity message with a zero static key. */
static const uint8_t MSG[24 + 32] = "noise-libp2p-static-key:";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int type = data[0] % 5; /* 4: an unknown type */
    size_t keylen = (size_t)data[1] << 8 | data[2];
    if (keylen > size - 3)
        return 0;
    const uint8_t *key = data + 3, *sig = key + keylen;
    size_t siglen = size - 3 - keylen;
    int parsed = sigverify_check_key(type, key, keylen);
    int rc = sigverify(type, key, keylen, MSG, sizeof MSG, sig, siglen);
    if (rc != 0 && rc != LS_EBADSIG && rc != LS_EINVAL && rc != LS_ENOTSUP)
        abort();
    if ((parsed == 0) != (rc == 0 || rc == LS_EBADSIG))
        abort(); /* the two must agree on the key */
    if (type == 4 && rc != LS_ENOTSUP)
        abort();
    return 0;
}
