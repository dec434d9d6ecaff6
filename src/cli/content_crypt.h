/* content_crypt — the CLI's side of encrypted files: the passphrase of `add --encrypt`,
 * `get --decrypt`, `cat --decrypt`, and `cat --decrypt` itself, which decrypts here
 * as the ciphertext streams in (so a damaged or cut stream is always reported: the
 * FINAL message is missing or fails, whatever the daemon's stream did). */
#ifndef LS_CLI_CONTENT_CRYPT_H
#define LS_CLI_CONTENT_CRYPT_H

#include <stdbool.h>

#include "cli/cli.h"

/** The passphrase: the first line of --passphrase-file FILE, else $LESTER_PASSPHRASE,
 *  else a prompt on the terminal (echo off; asked twice if `confirm`). NULL with *rc an
 *  exit code (message printed) when none can be had or it is empty. Free with
 *  content_passphrase_free(). */
char *content_passphrase(int argc, char **argv, const char *cmd, bool confirm, int *rc);
/** Wipe and free; NULL is a no-op. */
void content_passphrase_free(char *pass);

/** POST `body` (JSON text) to /api/v0/cat and write the decrypted bytes to stdout.
 *  Plaintext is released one authenticated message at a time, so on a wrong passphrase
 *  nothing is written and on damage only a true prefix. Returns an exit code; errors
 *  are printed as "lester cat: ...". */
int content_cat_decrypt(const cli_t *cli, const char *body, const char *pass);

#endif
