/* node_crypt — the daemon's side of encrypted files (content/crypt): the argon2id key
 * of `lester add --encrypt` derived on the worker pool, off the event loop (it is slow
 * on purpose: ~0.1-0.2 s of CPU and 64 MiB, during which the loop would serve no peer
 * and no API client), and `lester get --decrypt`, which writes a held file's plaintext
 * to a local path, all or nothing. */
#ifndef LS_NODE_CRYPT_H
#define LS_NODE_CRYPT_H

#include <stdint.h>

#include "content/crypt/crypt.h"
#include "lib/workpool/workpool.h"
#include "node/daemon/node_content.h"

/** A key derivation running on the pool (node_crypt_derive). */
typedef struct node_crypt_derive_t node_crypt_derive_t;

/** Runs on the loop thread when the key is ready: `rc` is 0 and `key` the new key,
 *  which the callee takes (crypt_key_free()), or `rc` is an error of
 *  crypt_key_derive() (LS_EINVAL, LS_ENOMEM), or LS_ECLOSED when the pool stopped
 *  before the job ran, and `key` is NULL. */
typedef void (*node_crypt_key_fn)(void *ctx, int rc, crypt_key_t *key);

/** On a worker of `pool` (borrowed): crypt_key_derive(passphrase, NULL) when `h` is
 *  NULL (a new file: fresh salt, default cost), else crypt_key_derive_for(passphrase,
 *  h) (an existing stream's key; `h` is copied). `passphrase` is copied, and the copy
 *  wiped as soon as argon2id has run. On success sets `*out` (a handle valid until
 *  `done` runs or node_crypt_derive_cancel()) and returns 0; `done(ctx, ...)` then
 *  runs exactly once, later, on the loop. LS_EINVAL for an empty passphrase, or the
 *  errors of workpool_submit(); `done` is then never called. */
int node_crypt_derive(workpool_t *pool, const char *passphrase, const crypt_header_t *h,
                      node_crypt_key_fn done, void *ctx, node_crypt_derive_t **out);

/** Forget a derivation whose owner goes away (the API client or the node stopped):
 *  `done` will not run; the job, when the worker is through with it, wipes and frees
 *  the key itself. Must not be called after `done` ran. NULL is a no-op. */
void node_crypt_derive_cancel(node_crypt_derive_t *d);

/** An API request waiting for its key: registered as a content job, so a node that
 *  stops answers it 503 and cancels the derivation. The first member of the caller's
 *  waiting struct, whose `release` frees it (its own fields and itself). */
typedef struct node_crypt_wait_t {
    content_job_t job;
    node_content_t *c;
    api_req_t *req;
    node_crypt_derive_t *derive;
    void (*release)(struct node_crypt_wait_t *w);
} node_crypt_wait_t;

/** node_crypt_derive() on the node's pool for `req` (both borrowed, as `w`'s fields
 *  `c`, `req` and `release` must already say); `done(w, ...)` runs later and ends with
 *  node_crypt_wait_end(w). 0, or the error (nothing registered: `w` is still the
 *  caller's to release). */
int node_crypt_wait(node_crypt_wait_t *w, const char *passphrase, const crypt_header_t *h,
                    node_crypt_key_fn done);

/** The wait is over (in `done`, or when the caller gives up): unregister, release. */
void node_crypt_wait_end(node_crypt_wait_t *w);

/** The header of the first file under `root` (a file, or the first file met depth
 *  first in a directory; held blocks only), for deriving the key of a `get --decrypt`
 *  ahead (every file of one `add -r --encrypt` shares its salt). 0, LS_ENOENT when
 *  there is no file, or the errors of unixfs_stat()/unixfs_ls()/unixfs_cat() and
 *  crypt_header_parse() (LS_EAGAIN: the file is shorter than a header). */
int node_crypt_first_header(node_content_t *c, const cid_t *root, crypt_header_t *out);

/** Decrypt the held file `cid` with `passphrase` into `path`: the plaintext goes to a
 *  temporary file beside `path` (mode 0600) that is renamed over `path` only once the
 *  whole stream has been authenticated, and removed on any error, so a wrong
 *  passphrase or damaged data leaves no file behind. Adds the plaintext bytes written
 *  to `*bytes`. 0, -errno, the errors of unixfs_cat() or of crypt_dec_write() /
 *  crypt_dec_finish(); on a decryption error `*why` is set to a sentence for the user
 *  (a static string), else left alone. `*keys` caches derived keys across the files of
 *  one export (crypt_dec_use_cache(); NULL at first, the caller crypt_key_free()s it). */
int node_crypt_export_file(node_content_t *c, const cid_t *cid, const char *path,
                           const char *passphrase, crypt_key_t **keys, uint64_t *bytes,
                           const char **why);

#endif
