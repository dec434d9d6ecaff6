/* home — the data directory ($LESTER_HOME, default ~/.lester).
 *
 *   config.json    settings (every key, with defaults)      0600
 *   identity.key   Ed25519 identity, optionally encrypted    0600
 *   lester.db      SQLite (WAL)
 *   lock           flock()ed by the running daemon (holds its pid)
 *   api            the running daemon's API multiaddr (as kubo's $IPFS_PATH/api)
 *   api.cookie     the running daemon's API token (as bitcoind's .cookie)      0600
 *
 * Functions that fail write a sentence saying what to do into `err`. */
#ifndef LS_NODE_HOME_H
#define LS_NODE_HOME_H

#include <stdbool.h>

#include "lib/buf/buf.h"
#include "lib/crypto/ed25519.h"

#define HOME_CONFIG "config.json"
#define HOME_IDENTITY "identity.key"
#define HOME_DB "lester.db"
#define HOME_LOCK "lock"
#define HOME_API "api"
#define HOME_COOKIE "api.cookie"

/** The directory to use: `flag` if set, else $LESTER_HOME, else ~/.lester. Caller frees. */
char *home_resolve(const char *flag);
/** `dir`/`name`, caller frees. */
char *home_path(const char *dir, const char *name);

typedef struct home_init_opts_t {
    bool force;                  /* replace an existing identity */
    const char *passphrase;      /* encrypt identity.key; NULL for plain */
    const char *profile;         /* seed-001 preset, NULL for "default" */
} home_init_opts_t;

/** Create the data directory, config, identity and database. Refuses to replace an
 *  identity without opts->force (LS_EEXIST), and refuses a non-empty directory that
 *  is not a Lester home (LS_EACCES). On success *kp holds the new identity. */
int home_init(const char *dir, const home_init_opts_t *opts, ed25519_keypair_t *kp, buf_t *err);

/** Check `dir` is an initialised, readable home. 0, LS_ENOENT or LS_EACCES. */
int home_check(const char *dir, buf_t *err);

/** Load the identity, decrypting with `passphrase` (may be NULL). */
int home_load_identity(const char *dir, const char *passphrase, ed25519_keypair_t *kp,
                       buf_t *err);

/** The passphrase: the first line of `file` if given, else $LESTER_PASSPHRASE, else
 *  NULL (*out). Caller frees (wipe first). 0 or -errno. */
int home_passphrase(const char *file, char **out, buf_t *err);

/** Take the daemon lock (non-blocking). 0 with *fd held open, or LS_ELOCKED with the
 *  holder's pid in the message. */
int home_lock(const char *dir, int *fd, buf_t *err);
/** Release the lock taken by home_lock(). */
void home_unlock(int fd);

/** Read the running daemon's pid from the lock file; 0 if no daemon holds it. */
int home_daemon_pid(const char *dir);

#endif
