/* crypt_internal — what crypt.c and crypt_dec.c share; not for other modules. */
#ifndef LS_CONTENT_CRYPT_INTERNAL_H
#define LS_CONTENT_CRYPT_INTERNAL_H

#include <stdint.h>

#include "content/crypt/crypt.h"

#define CRYPT_KEY_LEN 32

/* A derived key and what it was derived with (crypt_key_derive, the decoder's cache). */
struct crypt_key_t {
    crypt_params_t params;
    uint8_t salt[16];
    uint8_t key[CRYPT_KEY_LEN];
};

/** argon2id13(passphrase, salt) with `pr`'s cost -> the stream key. 0 or LS_ENOMEM. */
int crypt_derive_key(uint8_t key[static CRYPT_KEY_LEN], const char *passphrase,
                     const uint8_t salt[static 16], const crypt_params_t *pr);

#endif
