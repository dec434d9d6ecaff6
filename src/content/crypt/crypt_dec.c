/* crypt_dec — the streaming decoder of encrypted files (format in crypt.h). Bytes
 * arrive in any split: the header is collected first, the key derived from it, then
 * each message is buffered whole, authenticated and only then released to the sink. */
#include <string.h>

#include <sodium.h>

#include "content/crypt/crypt.h"
#include "content/crypt/crypt_internal.h"
#include "lib/err/err.h"

struct crypt_dec_t {
    crypto_secretstream_xchacha20poly1305_state st;
    char *passphrase; /* wiped and freed once the key is derived */
    crypt_params_t max;
    uint8_t header[CRYPT_HEADER_LEN];
    size_t hlen;
    bool keyed, final_seen;
    uint64_t messages;       /* authenticated so far */
    uint8_t *cipher, *plain; /* msg_len and chunk bytes, once keyed */
    size_t clen, msg_len, chunk;
    crypt_sink_fn sink;
    void *ctx;
    int err;
    const char *why;
    crypt_key_t **cache; /* crypt_dec_use_cache(); NULL: derive every time */
};

crypt_dec_t *
crypt_dec_new(const char *passphrase, const crypt_params_t *max, crypt_sink_fn sink, void *ctx)
{
    crypt_dec_t *d = ls_calloc(1, sizeof *d);
    d->passphrase = ls_strdup(passphrase ? passphrase : "");
    d->max = max ? *max : crypt_params_max();
    d->sink = sink;
    d->ctx = ctx;
    d->why = "";
    return d;
}

static void
drop_passphrase(crypt_dec_t *d)
{
    if (d->passphrase) {
        sodium_memzero(d->passphrase, strlen(d->passphrase));
        free(d->passphrase);
        d->passphrase = NULL;
    }
}

void
crypt_dec_free_(crypt_dec_t *d)
{
    if (!d)
        return;
    drop_passphrase(d);
    if (d->cipher)
        sodium_memzero(d->cipher, d->msg_len);
    if (d->plain)
        sodium_memzero(d->plain, d->chunk);
    free(d->cipher);
    free(d->plain);
    sodium_memzero(d, sizeof *d);
    free(d);
}

void
crypt_dec_use_cache(crypt_dec_t *d, crypt_key_t **cache)
{
    d->cache = cache;
}

/* The key for `h`: from the cache when salt and cost match, else argon2id (and then
 * into the cache). 0 or LS_ENOMEM. */
static int
stream_key(crypt_dec_t *d, const crypt_header_t *h, uint8_t key[static CRYPT_KEY_LEN])
{
    crypt_key_t *c = d->cache ? *d->cache : NULL;
    if (c && c->params.opslimit == h->params.opslimit && c->params.memlimit == h->params.memlimit &&
        sodium_memcmp(c->salt, h->salt, sizeof c->salt) == 0) {
        memcpy(key, c->key, CRYPT_KEY_LEN);
        return 0;
    }
    int rc = crypt_derive_key(key, d->passphrase, h->salt, &h->params);
    if (rc == 0 && d->cache) {
        crypt_key_free(*d->cache);
        c = *d->cache = ls_calloc(1, sizeof *c);
        c->params = h->params;
        memcpy(c->salt, h->salt, sizeof c->salt);
        memcpy(c->key, key, CRYPT_KEY_LEN);
    }
    return rc;
}

const char *
crypt_dec_error(const crypt_dec_t *d)
{
    return d->why;
}

static int
fail(crypt_dec_t *d, int err, const char *why)
{
    d->err = err;
    d->why = why;
    return err;
}

static const char *
header_error(int rc)
{
    switch (rc) {
    case LS_EINVAL:
        return "not an encrypted Lester file (no LSENC header)";
    case LS_ENOTSUP:
        return "encrypted with a format version or algorithm this build does not know";
    case LS_ETOOBIG:
        return "the file asks for a key derivation cost above this node's limit";
    default:
        return "the encryption header is damaged";
    }
}

/* The header is complete: check it, derive the key, size the buffers. */
static int
start_stream(crypt_dec_t *d)
{
    crypt_header_t h;
    int rc = crypt_header_parse(d->header, d->hlen, &d->max, &h);
    if (rc < 0)
        return fail(d, rc, header_error(rc));
    uint8_t key[CRYPT_KEY_LEN];
    rc = stream_key(d, &h, key);
    drop_passphrase(d);
    if (rc == 0 && crypto_secretstream_xchacha20poly1305_init_pull(&d->st, h.stream, key) != 0)
        rc = LS_ECORRUPT;
    sodium_memzero(key, sizeof key);
    if (rc < 0)
        return fail(d, rc,
                    rc == LS_ENOMEM ? "out of memory deriving the key"
                                    : "the encryption header is damaged");
    d->keyed = true;
    d->chunk = h.params.chunk;
    d->msg_len = d->chunk + CRYPT_ABYTES;
    d->cipher = ls_malloc(d->msg_len);
    d->plain = ls_malloc(d->chunk);
    return 0;
}

/* Authenticate and release the buffered message. A non-final message must be full:
 * the encoder only seals a short one as the end. */
static int
open_message(crypt_dec_t *d)
{
    unsigned long long plen = 0;
    uint8_t tag = 0;
    bool first = d->messages == 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&d->st, d->plain, &plen, &tag, d->cipher,
                                                   d->clen, first ? d->header : NULL,
                                                   first ? CRYPT_HEADER_LEN : 0) != 0)
        return first ? fail(d, LS_EPASSPHRASE, "wrong passphrase, or the encrypted data is damaged")
                     : fail(d, LS_ECORRUPT,
                            "the encrypted data is damaged (a message "
                            "fails authentication)");
    d->clen = 0;
    d->messages++;
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
        d->final_seen = true;
    else if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE || plen != d->chunk)
        return fail(d, LS_ECORRUPT, "the encrypted data is malformed (unexpected message)");
    int rc = plen ? d->sink(d->ctx, d->plain, (size_t)plen) : 0;
    sodium_memzero(d->plain, (size_t)plen);
    return rc < 0 ? fail(d, rc, "writing the plaintext failed") : 0;
}

int
crypt_dec_write(crypt_dec_t *d, const uint8_t *p, size_t len)
{
    if (d->err)
        return d->err;
    while (len) {
        if (!d->keyed) {
            size_t n = LS_MIN(len, CRYPT_HEADER_LEN - d->hlen);
            memcpy(d->header + d->hlen, p, n);
            d->hlen += n;
            p += n;
            len -= n;
            crypt_header_t h;
            int rc = crypt_header_parse(d->header, d->hlen, &d->max, &h);
            if (rc == LS_EAGAIN)
                continue; /* len is 0 here */
            if (rc < 0)
                return fail(d, rc, header_error(rc));
            if ((rc = start_stream(d)) < 0)
                return rc;
            continue;
        }
        if (d->final_seen)
            return fail(d, LS_ECORRUPT, "bytes after the end of the encrypted data");
        size_t n = LS_MIN(len, d->msg_len - d->clen);
        memcpy(d->cipher + d->clen, p, n);
        d->clen += n;
        p += n;
        len -= n;
        /* a full message can be opened at once: its tag says whether it is the end */
        if (d->clen == d->msg_len) {
            int rc = open_message(d);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int
crypt_dec_finish(crypt_dec_t *d)
{
    if (d->err)
        return d->err;
    if (!d->keyed) {
        crypt_header_t h;
        int rc = crypt_header_parse(d->header, d->hlen, &d->max, &h);
        return rc == LS_EAGAIN || rc == 0
                   ? fail(d, d->hlen ? LS_ECORRUPT : LS_EINVAL,
                          d->hlen ? "the encrypted data is truncated (inside the header)"
                                  : "not an encrypted Lester file (empty)")
                   : fail(d, rc, header_error(rc));
    }
    if (!d->final_seen && d->clen && d->clen < CRYPT_ABYTES)
        return fail(d, LS_ECORRUPT, "the encrypted data is truncated");
    if (!d->final_seen && d->clen) {
        int rc = open_message(d);
        if (rc < 0)
            return rc;
    }
    if (!d->final_seen)
        return fail(d, LS_ECORRUPT, "the encrypted data is truncated");
    return 0;
}
