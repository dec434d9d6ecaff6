/* fuzz_keyfile — keyfile_decode() on arbitrary bytes with the passphrase "fuzz" (the
 * seeds in corpus/keyfile/ use it). The argon2id cost is capped far below the real
 * reader's bound so each run stays fast; above the cap the decoder must refuse before
 * hashing. Properties: no crash or sanitizer report; a decoded plain file re-encodes to
 * the input; a decoded key matches the public key the file advertises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf/buf.h"
#include "lib/crypto/keyfile.h"
#include "lib/err/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const keyfile_params_t cap = {2, 64 * 1024};
    ed25519_keypair_t kp;
    uint8_t pk[ED25519_PK_LEN];

    int rc = keyfile_decode_params(data, size, "fuzz", &cap, &kp);
    int peek = keyfile_peek_public(data, size, pk);
    bool encrypted = keyfile_is_encrypted(data, size);
    if (rc < 0)
        return 0;
    if (peek != 0 || memcmp(pk, kp.pk, sizeof pk) != 0)
        abort();
    if (!encrypted) {
        buf_t again = BUF_INIT(KEYFILE_MAX_LEN);
        if (keyfile_encode(&kp, NULL, &again) != 0 || again.len != size ||
            memcmp(again.data, data, size) != 0)
            abort();
        buf_wipe(&again);
    }
    ed25519_keypair_wipe(&kp);
    return 0;
}
