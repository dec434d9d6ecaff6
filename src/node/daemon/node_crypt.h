/* node_crypt — the daemon's side of encrypted files (content/crypt): `lester get
 * --decrypt` writes a held file's plaintext to a local path, all or nothing. */
#ifndef LS_NODE_CRYPT_H
#define LS_NODE_CRYPT_H

#include <stdint.h>

#include "content/crypt/crypt.h"
#include "node/daemon/node_content.h"

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
