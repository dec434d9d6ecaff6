/* crypt — optional encryption of a file's bytes before they are chunked (`lester add
 * --encrypt`, seed 004): a passphrase-keyed AEAD stream whose output is an ordinary
 * UnixFS file, so anyone can fetch and seed it and only passphrase holders read it.
 *
 * Format, version 1 (integers big-endian):
 *
 *   offset size  field
 *   0      6     magic "LSENC\x01" (the last byte is the version)
 *   6      1     algorithm: 1 = argon2id13 key + libsodium
 *                crypto_secretstream_xchacha20poly1305
 *   7      1     reserved, 0
 *   8      4     argon2id opslimit
 *   12     8     argon2id memlimit (bytes, whole KiB)
 *   20     4     chunk: plaintext bytes per message (1..CRYPT_CHUNK_MAX)
 *   24     16    argon2id salt (random per file)
 *   40     24    secretstream header (random per file)
 *   64     ...   messages: each is one chunk of plaintext + 17 bytes (crypto_secretstream
 *                ABYTES); every message but the last carries exactly `chunk` bytes and
 *                the tag MESSAGE, the last one 0..chunk bytes and the tag FINAL.
 *
 * The first message authenticates the 64 header bytes as additional data, so any
 * change to the parameters is caught; secretstream chains the messages, so reordering,
 * dropping or repeating one fails, and a stream that ends without a FINAL message is
 * truncated. Nothing after FINAL is accepted. A wrong passphrase and a damaged first
 * message are indistinguishable (LS_EPASSPHRASE).
 *
 * Both directions stream with bounded memory (one chunk plus a few hundred bytes,
 * plus argon2id's memlimit while the key is derived) and hand out bytes through a sink
 * callback; the decoder releases a chunk's plaintext only once it is authenticated. */
#ifndef LS_CONTENT_CRYPT_H
#define LS_CONTENT_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/mem/mem.h"

#define CRYPT_MAGIC "LSENC\x01"
#define CRYPT_MAGIC_LEN 6
#define CRYPT_HEADER_LEN 64
/** Bytes each message adds to its plaintext (crypto_secretstream ABYTES). */
#define CRYPT_ABYTES 17
/** Plaintext bytes per message written by the encoder. */
#define CRYPT_CHUNK_DEFAULT (64u << 10)
/** Largest chunk a reader accepts (bounds the decoder's buffer). */
#define CRYPT_CHUNK_MAX (1u << 20)
/* Reader bounds on the argon2id cost a file may ask for, so that a hostile file cannot
 * make us allocate gigabytes or spin for minutes (as keyfile.h). */
#ifndef CRYPT_MEMLIMIT_MAX
#define CRYPT_MEMLIMIT_MAX ((uint64_t)256 << 20)
#endif
#ifndef CRYPT_OPSLIMIT_MAX
#define CRYPT_OPSLIMIT_MAX 16u
#endif

/** A key derived from a passphrase (crypt_key_derive). */
typedef struct crypt_key_t crypt_key_t;

/** Encoder parameters / reader bounds. */
typedef struct crypt_params_t {
    uint32_t opslimit; /* argon2id passes, >= 1 */
    uint64_t memlimit; /* argon2id bytes, whole KiB, >= 8192 */
    uint32_t chunk;    /* plaintext bytes per message, 1..CRYPT_CHUNK_MAX */
} crypt_params_t;

/** argon2id INTERACTIVE (2 passes, 64 MiB) and CRYPT_CHUNK_DEFAULT. */
crypt_params_t crypt_params_default(void);
/** The reader's default bounds: CRYPT_OPSLIMIT_MAX, CRYPT_MEMLIMIT_MAX, CRYPT_CHUNK_MAX. */
crypt_params_t crypt_params_max(void);

/** A parsed header (crypt_header_parse). */
typedef struct crypt_header_t {
    crypt_params_t params;
    uint8_t salt[16];
    uint8_t stream[24];
} crypt_header_t;

/** Parse the first CRYPT_HEADER_LEN bytes of `p` (borrowed). Returns 0, or:
 *    LS_EAGAIN   `len` is shorter than the header but the bytes so far fit
 *    LS_EINVAL   not an encrypted stream (bad magic)
 *    LS_ENOTSUP  another version or algorithm
 *    LS_ECORRUPT reserved byte set, parameters below libsodium's minimum, a memlimit
 *                that is not whole KiB, or a chunk of 0
 *    LS_ETOOBIG  parameters above `max` (NULL: crypt_params_max()) */
int crypt_header_parse(const uint8_t *p, size_t len, const crypt_params_t *max,
                       crypt_header_t *out);

/** True if `p` starts with CRYPT_MAGIC (the caller may then ask for a passphrase). */
bool crypt_is_encrypted(const uint8_t *p, size_t len);

/** Receives output bytes, borrowed for the call. 0, or an error that stops the stream
 *  and is returned by the call that produced the bytes. */
typedef int (*crypt_sink_fn)(void *ctx, const uint8_t *p, size_t len);

/* ---- encoder ---- */

typedef struct crypt_enc_t crypt_enc_t;

/** Derive a stream key from `passphrase` with `params` (NULL: crypt_params_default())
 *  and a fresh random salt, for one or more files: `add -r --encrypt` derives once and
 *  encrypts every file under it (each stream still draws its own random header, so no
 *  nonce repeats; the files share the salt). Sets `*out` and returns 0; LS_EINVAL for
 *  an empty passphrase or params out of range; LS_ENOMEM if argon2id cannot get memory. */
int crypt_key_derive(const char *passphrase, const crypt_params_t *params, crypt_key_t **out);
/** The key of an existing stream: argon2id(passphrase) with the salt and cost of its
 *  parsed header `h` (borrowed), for a decoder's cache (crypt_dec_use_cache()), so the
 *  slow derivation can run apart from the decoding (e.g. on a worker thread). A wrong
 *  passphrase is not detected here but by the first message (LS_EPASSPHRASE). Sets
 *  `*out` and returns 0; LS_EINVAL for an empty passphrase; LS_ENOMEM. */
int crypt_key_derive_for(const char *passphrase, const crypt_header_t *h, crypt_key_t **out);
void crypt_key_free_(crypt_key_t *k); /* NULL is a no-op; wipes */
#define crypt_key_free(k) FREE_AND_NULL(crypt_key_t, crypt_key_free_, (k))

/** An encrypted stream under `k` (borrowed for the call). Never NULL. */
crypt_enc_t *crypt_enc_new_key(const crypt_key_t *k, crypt_sink_fn sink, void *ctx);

/** crypt_key_derive() then crypt_enc_new_key(): one file, its own salt. The header goes
 *  to `sink` at the first crypt_enc_write() or crypt_enc_finish(); `sink`/`ctx` are kept
 *  until crypt_enc_free(). 0 or the errors of crypt_key_derive() (`*out` NULL then). */
int crypt_enc_new(const char *passphrase, const crypt_params_t *params, crypt_sink_fn sink,
                  void *ctx, crypt_enc_t **out);
void crypt_enc_free_(crypt_enc_t *e); /* NULL is a no-op; wipes the key */
#define crypt_enc_free(e) FREE_AND_NULL(crypt_enc_t, crypt_enc_free_, (e))

/** Feed plaintext (borrowed). 0 or the sink's error; after an error, or after finish,
 *  every later call returns an error (the same one, or LS_ECLOSED). */
int crypt_enc_write(crypt_enc_t *e, const uint8_t *p, size_t len);

/** End of plaintext: send the FINAL message. 0, the sink's error or LS_ECLOSED. */
int crypt_enc_finish(crypt_enc_t *e);

/** Ciphertext length for `plain_len` bytes with `chunk`-byte messages. */
uint64_t crypt_ciphertext_len(uint64_t plain_len, uint32_t chunk);

/* ---- decoder ---- */

typedef struct crypt_dec_t crypt_dec_t;

/** A decoder for `passphrase` (copied; wiped on free), refusing parameters above
 *  `max` (NULL: crypt_params_max()). Plaintext goes to `sink`. Never NULL. */
crypt_dec_t *crypt_dec_new(const char *passphrase, const crypt_params_t *max, crypt_sink_fn sink,
                           void *ctx);
void crypt_dec_free_(crypt_dec_t *d); /* NULL is a no-op; wipes key and buffers */

/** Let `d` reuse and keep derived keys in `*cache` (borrowed; `*cache` NULL at first,
 *  freed by the caller with crypt_key_free()): a stream whose salt and argon2id cost
 *  match the cached key skips argon2id, any other replaces it. Decrypting the files
 *  of one `add -r --encrypt` thus derives once. One cache serves one passphrase.
 *  Call before the first write. */
void crypt_dec_use_cache(crypt_dec_t *d, crypt_key_t **cache);
#define crypt_dec_free(d) FREE_AND_NULL(crypt_dec_t, crypt_dec_free_, (d))

/** Feed ciphertext (borrowed). Returns 0, or the errors of crypt_header_parse() (but
 *  never LS_EAGAIN), LS_EPASSPHRASE (wrong passphrase or first message damaged),
 *  LS_ECORRUPT (a later message damaged, or bytes after the end), LS_ENOMEM (argon2id)
 *  or the sink's error. After an error every later call returns it again. */
int crypt_dec_write(crypt_dec_t *d, const uint8_t *p, size_t len);

/** End of ciphertext: decrypt what is buffered. 0 once the FINAL message has been
 *  authenticated; LS_ECORRUPT if the stream is truncated (crypt_dec_error() says so),
 *  or the errors of crypt_dec_write(). */
int crypt_dec_finish(crypt_dec_t *d);

/** A sentence for the decoder's error (for users), or "" if none. */
const char *crypt_dec_error(const crypt_dec_t *d);

#endif
