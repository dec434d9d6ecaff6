/* keyfile — identity file encoding; the format is described in keyfile.h. */
#include "lib/crypto/keyfile.h"

#include <string.h>

#include <sodium.h>

#include "lib/bytes/bytes.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"

#define MAGIC "LSTKEY"
#define MAGIC_LEN 6
#define MODE_PLAIN 0
#define MODE_ARGON2ID_SECRETBOX 1

/* Field offsets (keyfile.h). */
#define OFF_PK 8
#define OFF_BODY (OFF_PK + ED25519_PK_LEN)
#define OFF_SALT OFF_BODY
#define OFF_OPS (OFF_SALT + crypto_pwhash_SALTBYTES)
#define OFF_MEM (OFF_OPS + 4)
#define OFF_NONCE (OFF_MEM + 8)
#define OFF_BOX (OFF_NONCE + crypto_secretbox_NONCEBYTES)
#define BOX_LEN (ED25519_SEED_LEN + crypto_secretbox_MACBYTES)

_Static_assert(OFF_BODY + ED25519_SEED_LEN == KEYFILE_PLAIN_LEN, "plain layout");
_Static_assert(OFF_BOX + BOX_LEN == KEYFILE_ENCRYPTED_LEN, "encrypted layout");
_Static_assert(crypto_secretbox_KEYBYTES == 32, "secretbox key size");

keyfile_params_t
keyfile_params_default(void)
{
    return (keyfile_params_t){crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
}

keyfile_params_t
keyfile_params_max(void)
{
    return (keyfile_params_t){KEYFILE_OPSLIMIT_MAX, KEYFILE_MEMLIMIT_MAX};
}

/* Below libsodium's minimum, or a memlimit that is not whole KiB: argon2id rounds it down
 * to KiB, so 8192 and 8193 would derive the same key from two different files. */
static bool
params_invalid(const keyfile_params_t *pr)
{
    return pr->opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
           pr->memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN || pr->memlimit % 1024 != 0;
}

static bool
params_above(const keyfile_params_t *pr, const keyfile_params_t *max)
{
    return pr->opslimit > max->opslimit || pr->memlimit > max->memlimit || pr->memlimit > SIZE_MAX;
}

/* argon2id(passphrase, salt) -> 32-byte secretbox key. 0 or LS_ENOMEM. */
static int
derive_key(uint8_t key[static crypto_secretbox_KEYBYTES], const char *passphrase,
           const uint8_t *salt, const keyfile_params_t *pr)
{
    if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, passphrase, strlen(passphrase), salt,
                      pr->opslimit, (size_t)pr->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return LS_ENOMEM;
    return 0;
}

static void
write_header(uint8_t *f, uint8_t mode, const ed25519_keypair_t *kp)
{
    memcpy(f, MAGIC, MAGIC_LEN);
    f[MAGIC_LEN] = KEYFILE_VERSION;
    f[MAGIC_LEN + 1] = mode;
    memcpy(f + OFF_PK, kp->pk, ED25519_PK_LEN);
}

static int
seal_seed(uint8_t f[static KEYFILE_ENCRYPTED_LEN], const ed25519_keypair_t *kp,
          const char *passphrase, const keyfile_params_t *pr)
{
    uint8_t key[crypto_secretbox_KEYBYTES];

    write_header(f, MODE_ARGON2ID_SECRETBOX, kp);
    randombytes_buf(f + OFF_SALT, crypto_pwhash_SALTBYTES);
    be_put(f + OFF_OPS, pr->opslimit, 4);
    be_put(f + OFF_MEM, pr->memlimit, 8);
    randombytes_buf(f + OFF_NONCE, crypto_secretbox_NONCEBYTES);
    int rc = derive_key(key, passphrase, f + OFF_SALT, pr);
    if (rc == 0)
        crypto_secretbox_easy(f + OFF_BOX, kp->sk, ED25519_SEED_LEN, f + OFF_NONCE, key);
    sodium_memzero(key, sizeof key);
    return rc;
}

int
keyfile_encode_params(const ed25519_keypair_t *kp, const char *passphrase,
                      const keyfile_params_t *params, buf_t *out)
{
    uint8_t f[KEYFILE_ENCRYPTED_LEN];
    size_t len = KEYFILE_PLAIN_LEN;
    keyfile_params_t max = keyfile_params_max();
    int rc = 0;

    ls_crypto_init();
    if (passphrase && (!*passphrase || params_invalid(params) || params_above(params, &max)))
        return LS_EINVAL;
    if (!passphrase) {
        write_header(f, MODE_PLAIN, kp);
        memcpy(f + OFF_BODY, kp->sk, ED25519_SEED_LEN); /* libsodium sk = seed || pk */
    } else {
        rc = seal_seed(f, kp, passphrase, params);
        len = KEYFILE_ENCRYPTED_LEN;
    }
    if (rc == 0)
        rc = buf_append(out, f, len);
    sodium_memzero(f, sizeof f);
    return rc;
}

int
keyfile_encode(const ed25519_keypair_t *kp, const char *passphrase, buf_t *out)
{
    keyfile_params_t pr = keyfile_params_default();
    return keyfile_encode_params(kp, passphrase, &pr, out);
}

/* Check magic, version and mode, and the exact length for the mode. */
static int
parse_header(const uint8_t *p, size_t len, uint8_t *mode)
{
    if (len < OFF_PK || memcmp(p, MAGIC, MAGIC_LEN) != 0)
        return LS_EINVAL;
    if (p[MAGIC_LEN] != KEYFILE_VERSION)
        return LS_ENOTSUP;
    *mode = p[MAGIC_LEN + 1];
    if (*mode == MODE_PLAIN)
        return len == KEYFILE_PLAIN_LEN ? 0 : LS_ECORRUPT;
    if (*mode == MODE_ARGON2ID_SECRETBOX)
        return len == KEYFILE_ENCRYPTED_LEN ? 0 : LS_ECORRUPT;
    return LS_ENOTSUP;
}

static int
open_seed(const uint8_t *p, const char *passphrase, const keyfile_params_t *max,
          uint8_t seed[static ED25519_SEED_LEN])
{
    keyfile_params_t pr = {(uint32_t)be_get(p + OFF_OPS, 4), be_get(p + OFF_MEM, 8)};
    uint8_t key[crypto_secretbox_KEYBYTES];

    if (params_invalid(&pr))
        return LS_ECORRUPT;
    if (params_above(&pr, max))
        return LS_ETOOBIG;
    if (!passphrase)
        return LS_EPASSPHRASE;
    int rc = derive_key(key, passphrase, p + OFF_SALT, &pr);
    if (rc == 0 && crypto_secretbox_open_easy(seed, p + OFF_BOX, BOX_LEN, p + OFF_NONCE, key) != 0)
        rc = LS_EPASSPHRASE;
    sodium_memzero(key, sizeof key);
    return rc;
}

int
keyfile_decode_params(const uint8_t *p, size_t len, const char *passphrase,
                      const keyfile_params_t *max, ed25519_keypair_t *out)
{
    uint8_t seed[ED25519_SEED_LEN];
    uint8_t mode = 0;
    int rc;

    ls_crypto_init();
    sodium_memzero(out, sizeof *out);
    if ((rc = parse_header(p, len, &mode)) < 0)
        return rc;
    if (mode == MODE_PLAIN)
        memcpy(seed, p + OFF_BODY, ED25519_SEED_LEN);
    else if ((rc = open_seed(p, passphrase, max, seed)) < 0)
        goto out;
    ed25519_keypair_from_seed(out, seed);
    /* The stored public key is outside the MAC: compare it with the derived one. */
    if (sodium_memcmp(out->pk, p + OFF_PK, ED25519_PK_LEN) != 0)
        rc = LS_ECORRUPT;
out:
    sodium_memzero(seed, sizeof seed);
    if (rc < 0)
        sodium_memzero(out, sizeof *out);
    return rc;
}

int
keyfile_decode(const uint8_t *p, size_t len, const char *passphrase, ed25519_keypair_t *out)
{
    keyfile_params_t max = keyfile_params_max();
    return keyfile_decode_params(p, len, passphrase, &max, out);
}

bool
keyfile_is_encrypted(const uint8_t *p, size_t len)
{
    uint8_t mode = 0;
    return parse_header(p, len, &mode) == 0 && mode == MODE_ARGON2ID_SECRETBOX;
}

int
keyfile_peek_public(const uint8_t *p, size_t len, uint8_t pk[static ED25519_PK_LEN])
{
    uint8_t mode = 0;
    int rc = parse_header(p, len, &mode);
    if (rc == 0)
        memcpy(pk, p + OFF_PK, ED25519_PK_LEN);
    return rc;
}

int
keyfile_write(const char *path, const ed25519_keypair_t *kp, const char *passphrase)
{
    buf_t b = BUF_INIT(KEYFILE_MAX_LEN);
    int rc = buf_reserve(&b, KEYFILE_ENCRYPTED_LEN); /* one allocation: nothing to leak */
    if (rc == 0)
        rc = keyfile_encode(kp, passphrase, &b);
    if (rc == 0)
        rc = fs_write_atomic(path, b.data, b.len, 0600);
    buf_wipe(&b);
    return rc;
}

int
keyfile_read(const char *path, const char *passphrase, ed25519_keypair_t *out)
{
    buf_t b = BUF_INIT(KEYFILE_MAX_LEN);
    int rc = buf_reserve(&b, KEYFILE_MAX_LEN); /* no realloc leaves a copy behind */
    if (rc == 0)
        rc = fs_read_all(path, KEYFILE_MAX_LEN, &b);
    if (rc == 0)
        rc = keyfile_decode(b.data, b.len, passphrase, out);
    else
        sodium_memzero(out, sizeof *out);
    buf_wipe(&b);
    return rc;
}
