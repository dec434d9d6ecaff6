/* record_sign — Ed25519 signatures over the canonical encoding of a record without its
 * "sig" key (record.h; ARCHITECTURE.md "signed over the encoding without the signature"). */
#include <string.h>

#include "lib/crypto/ed25519.h"
#include "lib/err/err.h"
#include "lib/record/record.h"
#include "lib/record/record_impl.h"

#define KEY_PK "pk"
#define KEY_SIG "sig"

int
record_sign(record_t *r, const ed25519_keypair_t *kp)
{
    uint8_t sig[ED25519_SIG_LEN];
    buf_t msg = BUF_INIT(BUF_UNLIMITED);

    int rc = record_set_bin(r, KEY_PK, kp->pk, ED25519_PK_LEN);
    if (rc == 0)
        rc = record_encode_skip(r, KEY_SIG, &msg);
    if (rc == 0) {
        ed25519_sign(sig, msg.data, msg.len, kp);
        rc = record_set_bin(r, KEY_SIG, sig, ED25519_SIG_LEN);
    } else {
        record_remove(r, KEY_SIG); /* never leave a stale signature behind */
    }
    buf_free(&msg);
    return rc;
}

int
record_verify(const record_t *r, uint8_t pk_out[ED25519_PK_LEN])
{
    const uint8_t *pk, *sig;
    size_t pklen, siglen;
    buf_t msg = BUF_INIT(BUF_UNLIMITED);

    if (record_get_bin(r, KEY_PK, &pk, &pklen) < 0 || pklen != ED25519_PK_LEN ||
        record_get_bin(r, KEY_SIG, &sig, &siglen) < 0 || siglen != ED25519_SIG_LEN)
        return LS_EINVAL;
    int rc = record_encode_skip(r, KEY_SIG, &msg);
    if (rc == 0 && !ed25519_verify(sig, msg.data, msg.len, pk))
        rc = LS_EBADSIG;
    if (rc == 0 && pk_out)
        memcpy(pk_out, pk, ED25519_PK_LEN);
    buf_free(&msg);
    return rc;
}
