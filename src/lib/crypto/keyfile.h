/* keyfile — the node's identity file (`identity.key`, mode 0600), optionally encrypted
 * with a passphrase (ARCHITECTURE.md "Has an identity").
 *
 * Format, version 1 (all integers big-endian, every length fixed by the mode):
 *
 *   offset size  field
 *   0      6     magic "LSTKEY"
 *   6      1     version (1)
 *   7      1     mode: 0 = plain, 1 = argon2id + XSalsa20-Poly1305 (libsodium secretbox)
 *   8      32    Ed25519 public key (lets `lester id` work without the passphrase;
 *                checked against the decrypted seed, so tampering is caught)
 *   mode 0:
 *   40     32    Ed25519 seed                                   (total 72 bytes)
 *   mode 1:
 *   40     16    argon2id salt
 *   56     4     opslimit (u32)
 *   60     8     memlimit (u64, bytes)
 *   68     24    secretbox nonce
 *   92     48    secretbox(seed) = 32-byte seed + 16-byte MAC  (total 140 bytes)
 *
 * The argon2id parameters are read from the file, so stronger ones can be chosen later
 * without a format change; the reader refuses parameters above KEYFILE_MEMLIMIT_MAX /
 * KEYFILE_OPSLIMIT_MAX so that a hostile file cannot make us allocate gigabytes or spin
 * for minutes. A wrong passphrase and a damaged ciphertext are indistinguishable (the
 * MAC fails either way): both return LS_EPASSPHRASE. */
#ifndef LS_LIB_CRYPTO_KEYFILE_H
#define LS_LIB_CRYPTO_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf/buf.h"
#include "lib/crypto/ed25519.h"

#define KEYFILE_VERSION 1
#define KEYFILE_PLAIN_LEN 72
#define KEYFILE_ENCRYPTED_LEN 140
/** Largest file keyfile_read() will look at. */
#define KEYFILE_MAX_LEN 4096

/* Reader bounds on the argon2id cost a file may ask for. The defaults allow libsodium's
 * MODERATE profile (256 MiB, 3 passes) with room for more passes. */
#ifndef KEYFILE_MEMLIMIT_MAX
#define KEYFILE_MEMLIMIT_MAX ((uint64_t)256 << 20)
#endif
#ifndef KEYFILE_OPSLIMIT_MAX
#define KEYFILE_OPSLIMIT_MAX 16u
#endif

/** argon2id cost. Writers use keyfile_params_default(); the reader checks a file's
 *  parameters against a maximum of this type. */
typedef struct keyfile_params_t {
    uint32_t opslimit; /* passes; argon2id needs >= 1 */
    uint64_t memlimit; /* bytes, a multiple of 1024; argon2id needs >= 8192 */
} keyfile_params_t;

/** libsodium's INTERACTIVE profile (2 passes, 64 MiB): ~0.1 s on the reference machine. */
keyfile_params_t keyfile_params_default(void);
/** The reader's default bounds: KEYFILE_OPSLIMIT_MAX, KEYFILE_MEMLIMIT_MAX. */
keyfile_params_t keyfile_params_max(void);

/** Append the key file for `kp` to `out`. With `passphrase` NULL the seed is stored in
 *  the clear (mode 0); otherwise it is encrypted under argon2id(passphrase) with the
 *  default parameters and a fresh random salt and nonce. Returns 0; LS_EINVAL for an
 *  empty passphrase; LS_ETOOBIG if `out` is full (unchanged then); LS_ENOMEM if argon2id
 *  cannot get its memory. Intermediate secrets are wiped; `out` holds the secret seed in
 *  plain mode, so callers should release it with buf_wipe(). */
int keyfile_encode(const ed25519_keypair_t *kp, const char *passphrase, buf_t *out);

/** keyfile_encode() with explicit argon2id cost (tests and fuzz seeds use cheap ones).
 *  LS_EINVAL if `params` is outside [libsodium minimum, keyfile_params_max()]. */
int keyfile_encode_params(const ed25519_keypair_t *kp, const char *passphrase,
                          const keyfile_params_t *params, buf_t *out);

/** Parse a key file (borrowed bytes) into `out`. `passphrase` is needed for an encrypted
 *  file and ignored for a plain one. Returns 0, or:
 *    LS_EINVAL       not a Lester key file (bad magic or too short for the header)
 *    LS_ENOTSUP      a version or mode this build does not know
 *    LS_ECORRUPT     wrong length for the mode, argon2id parameters below the minimum
 *                    or a memlimit that is not whole KiB, or the public key does not
 *                    match the seed
 *    LS_ETOOBIG      argon2id parameters above keyfile_params_max()
 *    LS_EPASSPHRASE  encrypted and `passphrase` is NULL, wrong, or the ciphertext damaged
 *    LS_ENOMEM       argon2id could not get its memory
 *  On error `out` is zeroed. The caller wipes `out` (ed25519_keypair_wipe) when done. */
int keyfile_decode(const uint8_t *p, size_t len, const char *passphrase, ed25519_keypair_t *out);

/** keyfile_decode() refusing (LS_ETOOBIG) any argon2id cost above `max`. */
int keyfile_decode_params(const uint8_t *p, size_t len, const char *passphrase,
                          const keyfile_params_t *max, ed25519_keypair_t *out);

/** True if `p` starts like a Lester key file of a known version in encrypted mode
 *  (the caller should then ask for a passphrase). */
bool keyfile_is_encrypted(const uint8_t *p, size_t len);

/** Copy the public key stored in a key file without decrypting it. The key is not
 *  authenticated until keyfile_decode() succeeds. 0 or the structural errors of
 *  keyfile_decode() (LS_EINVAL, LS_ENOTSUP, LS_ECORRUPT). */
int keyfile_peek_public(const uint8_t *p, size_t len, uint8_t pk[static ED25519_PK_LEN]);

/** Write `kp` to `path` atomically (fs_write_atomic) with mode 0600. 0, the errors of
 *  keyfile_encode(), or -errno. */
int keyfile_write(const char *path, const ed25519_keypair_t *kp, const char *passphrase);

/** Read and decode `path` (at most KEYFILE_MAX_LEN bytes, else LS_ETOOBIG). 0, -errno
 *  (LS_ENOENT if missing), or the errors of keyfile_decode(). */
int keyfile_read(const char *path, const char *passphrase, ed25519_keypair_t *out);

#endif
