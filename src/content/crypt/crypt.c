/* crypt — the header and the encoder of encrypted files; the format is in crypt.h. */
#include "content/crypt/crypt.h"

#include <string.h>

#include <sodium.h>

#include "content/crypt/crypt_internal.h"
#include "lib/bytes/bytes.h"
#include "lib/err/err.h"

_Static_assert(crypto_secretstream_xchacha20poly1305_ABYTES == CRYPT_ABYTES, "ABYTES");
_Static_assert(crypto_secretstream_xchacha20poly1305_HEADERBYTES == 24, "stream header");
_Static_assert(crypto_pwhash_SALTBYTES == 16, "salt");
_Static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == CRYPT_KEY_LEN, "key");

/* Field offsets (crypt.h). */
#define OFF_ALG 6
#define OFF_RESERVED 7
#define OFF_OPS 8
#define OFF_MEM 12
#define OFF_CHUNK 20
#define OFF_SALT 24
#define OFF_STREAM 40
#define ALG_ARGON2ID_SECRETSTREAM 1

crypt_params_t
crypt_params_default(void)
{
    return (crypt_params_t){crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE, CRYPT_CHUNK_DEFAULT};
}

crypt_params_t
crypt_params_max(void)
{
    return (crypt_params_t){CRYPT_OPSLIMIT_MAX, CRYPT_MEMLIMIT_MAX, CRYPT_CHUNK_MAX};
}

/* Below libsodium's minimum, a memlimit argon2id would round down to whole KiB (two
 * headers, one key), or an empty chunk. */
static bool
params_invalid(const crypt_params_t *pr)
{
    return pr->opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
           pr->memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN || pr->memlimit % 1024 != 0 ||
           pr->chunk == 0;
}

static bool
params_above(const crypt_params_t *pr, const crypt_params_t *max)
{
    return pr->opslimit > max->opslimit || pr->memlimit > max->memlimit || pr->chunk > max->chunk ||
           pr->chunk > CRYPT_CHUNK_MAX || pr->memlimit > SIZE_MAX;
}

bool
crypt_is_encrypted(const uint8_t *p, size_t len)
{
    return len >= CRYPT_MAGIC_LEN && memcmp(p, CRYPT_MAGIC, CRYPT_MAGIC_LEN) == 0;
}

int
crypt_header_parse(const uint8_t *p, size_t len, const crypt_params_t *max, crypt_header_t *out)
{
    crypt_params_t dflt = crypt_params_max();
    /* "LSENC" then the version byte: another version is LS_ENOTSUP, not garbage */
    size_t m = LS_MIN(len, (size_t)CRYPT_MAGIC_LEN - 1);
    if (memcmp(p, CRYPT_MAGIC, m) != 0)
        return LS_EINVAL;
    if (len >= CRYPT_MAGIC_LEN && p[CRYPT_MAGIC_LEN - 1] != CRYPT_MAGIC[CRYPT_MAGIC_LEN - 1])
        return LS_ENOTSUP;
    if (len < CRYPT_HEADER_LEN)
        return LS_EAGAIN;
    if (p[OFF_ALG] != ALG_ARGON2ID_SECRETSTREAM)
        return LS_ENOTSUP;
    crypt_header_t h;
    h.params.opslimit = (uint32_t)be_get(p + OFF_OPS, 4);
    h.params.memlimit = be_get(p + OFF_MEM, 8);
    h.params.chunk = (uint32_t)be_get(p + OFF_CHUNK, 4);
    if (p[OFF_RESERVED] != 0 || params_invalid(&h.params))
        return LS_ECORRUPT;
    if (params_above(&h.params, max ? max : &dflt))
        return LS_ETOOBIG;
    memcpy(h.salt, p + OFF_SALT, sizeof h.salt);
    memcpy(h.stream, p + OFF_STREAM, sizeof h.stream);
    *out = h;
    return 0;
}

int
crypt_derive_key(uint8_t key[static CRYPT_KEY_LEN], const char *passphrase,
                 const uint8_t salt[static 16], const crypt_params_t *pr)
{
    if (crypto_pwhash(key, CRYPT_KEY_LEN, passphrase, strlen(passphrase), salt, pr->opslimit,
                      (size_t)pr->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return LS_ENOMEM;
    return 0;
}

uint64_t
crypt_ciphertext_len(uint64_t plain_len, uint32_t chunk)
{
    /* every full chunk but a last full one is a MESSAGE; the FINAL one holds the rest
     * (0..chunk bytes), so n bytes make max(1, ceil(n / chunk)) messages */
    uint64_t msgs = plain_len ? (plain_len + chunk - 1) / chunk : 1;
    return CRYPT_HEADER_LEN + plain_len + msgs * CRYPT_ABYTES;
}

/* ---- encoder ---- */

struct crypt_enc_t {
    crypto_secretstream_xchacha20poly1305_state st;
    uint8_t header[CRYPT_HEADER_LEN];
    bool header_sent, first, finished;
    uint32_t chunk;
    uint8_t *plain, *cipher; /* chunk and chunk + ABYTES bytes */
    size_t plen;
    crypt_sink_fn sink;
    void *ctx;
    int err;
};

int
crypt_key_derive(const char *passphrase, const crypt_params_t *params, crypt_key_t **out)
{
    crypt_params_t pr = params ? *params : crypt_params_default();
    crypt_params_t max = crypt_params_max();
    *out = NULL;
    if (!passphrase || !passphrase[0] || params_invalid(&pr) || params_above(&pr, &max))
        return LS_EINVAL;
    crypt_key_t *k = ls_calloc(1, sizeof *k);
    k->params = pr;
    randombytes_buf(k->salt, sizeof k->salt);
    int rc = crypt_derive_key(k->key, passphrase, k->salt, &pr);
    if (rc < 0) {
        crypt_key_free_(k);
        return rc;
    }
    *out = k;
    return 0;
}

int
crypt_key_derive_for(const char *passphrase, const crypt_header_t *h, crypt_key_t **out)
{
    *out = NULL;
    if (!passphrase || !passphrase[0])
        return LS_EINVAL;
    crypt_key_t *k = ls_calloc(1, sizeof *k);
    k->params = h->params;
    memcpy(k->salt, h->salt, sizeof k->salt);
    int rc = crypt_derive_key(k->key, passphrase, k->salt, &k->params);
    if (rc < 0) {
        crypt_key_free_(k);
        return rc;
    }
    *out = k;
    return 0;
}

void
crypt_key_free_(crypt_key_t *k)
{
    if (!k)
        return;
    sodium_memzero(k, sizeof *k);
    free(k);
}

static void
header_encode(uint8_t h[static CRYPT_HEADER_LEN], const crypt_key_t *k)
{
    memset(h, 0, CRYPT_HEADER_LEN);
    memcpy(h, CRYPT_MAGIC, CRYPT_MAGIC_LEN);
    h[OFF_ALG] = ALG_ARGON2ID_SECRETSTREAM;
    be_put(h + OFF_OPS, k->params.opslimit, 4);
    be_put(h + OFF_MEM, k->params.memlimit, 8);
    be_put(h + OFF_CHUNK, k->params.chunk, 4);
    memcpy(h + OFF_SALT, k->salt, sizeof k->salt);
}

crypt_enc_t *
crypt_enc_new_key(const crypt_key_t *k, crypt_sink_fn sink, void *ctx)
{
    crypt_enc_t *e = ls_calloc(1, sizeof *e);
    header_encode(e->header, k);
    /* init_push draws the random stream header: one key never repeats a nonce */
    crypto_secretstream_xchacha20poly1305_init_push(&e->st, e->header + OFF_STREAM, k->key);
    e->chunk = k->params.chunk;
    e->plain = ls_malloc(e->chunk);
    e->cipher = ls_malloc((size_t)e->chunk + CRYPT_ABYTES);
    e->first = true;
    e->sink = sink;
    e->ctx = ctx;
    return e;
}

int
crypt_enc_new(const char *passphrase, const crypt_params_t *params, crypt_sink_fn sink, void *ctx,
              crypt_enc_t **out)
{
    crypt_key_t *k = NULL;
    int rc = crypt_key_derive(passphrase, params, &k);
    *out = rc < 0 ? NULL : crypt_enc_new_key(k, sink, ctx);
    crypt_key_free(k);
    return rc;
}

void
crypt_enc_free_(crypt_enc_t *e)
{
    if (!e)
        return;
    if (e->plain)
        sodium_memzero(e->plain, e->chunk);
    free(e->plain);
    free(e->cipher);
    sodium_memzero(e, sizeof *e);
    free(e);
}

/* Seal the buffered plaintext as one message with `tag` and hand it to the sink. The
 * first message authenticates the header, which then goes out in front of it. */
static int
emit(crypt_enc_t *e, uint8_t tag)
{
    int rc = 0;
    if (!e->header_sent) {
        e->header_sent = true;
        rc = e->sink(e->ctx, e->header, CRYPT_HEADER_LEN);
    }
    unsigned long long clen = 0;
    if (rc == 0)
        crypto_secretstream_xchacha20poly1305_push(&e->st, e->cipher, &clen, e->plain, e->plen,
                                                   e->first ? e->header : NULL,
                                                   e->first ? CRYPT_HEADER_LEN : 0, tag);
    e->first = false;
    e->plen = 0;
    if (rc == 0)
        rc = e->sink(e->ctx, e->cipher, (size_t)clen);
    if (rc < 0)
        e->err = rc;
    return rc;
}

int
crypt_enc_write(crypt_enc_t *e, const uint8_t *p, size_t len)
{
    if (e->err)
        return e->err;
    if (e->finished)
        return LS_ECLOSED;
    while (len) {
        /* a full chunk is sealed only once more bytes follow: the last chunk of the
         * file, full or not, must carry the FINAL tag */
        if (e->plen == e->chunk) {
            int rc = emit(e, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
            if (rc < 0)
                return rc;
        }
        size_t n = LS_MIN(len, e->chunk - e->plen);
        memcpy(e->plain + e->plen, p, n);
        e->plen += n;
        p += n;
        len -= n;
    }
    return 0;
}

int
crypt_enc_finish(crypt_enc_t *e)
{
    if (e->err)
        return e->err;
    if (e->finished)
        return LS_ECLOSED;
    e->finished = true;
    return emit(e, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
}
