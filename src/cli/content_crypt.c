/* content_crypt — passphrases and client-side decryption for the content commands;
 * see content_crypt.h. */
#include "cli/content_crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/content_io.h"
#include "content/crypt/crypt.h"
#include "lib/err/err.h"
#include "node/home/home.h"

#define PASS_MAX 1024

void
content_passphrase_free(char *pass)
{
    if (pass) {
        sodium_memzero(pass, strlen(pass));
        free(pass);
    }
}

/* Read one line from the terminal with echo off. NULL if there is no terminal. */
static char *
prompt_tty(const char *prompt)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct termios old, quiet;
    bool restore = tcgetattr(fd, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    ssize_t ignored = write(fd, prompt, strlen(prompt));
    (void)ignored;
    char line[PASS_MAX];
    size_t n = 0;
    char ch;
    while (n + 1 < sizeof line && read(fd, &ch, 1) == 1 && ch != '\n' && ch != '\r')
        line[n++] = ch;
    line[n] = '\0';
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    ignored = write(fd, "\n", 1);
    close(fd);
    char *out = ls_strdup(line);
    sodium_memzero(line, sizeof line);
    return out;
}

/* The terminal prompt, twice when the passphrase is being chosen. */
static char *
ask(const char *cmd, bool confirm, int *rc)
{
    if (!isatty(STDIN_FILENO)) {
        *rc = cli_fail(EXIT_USAGE, cmd,
                       "a passphrase is needed: --passphrase-file FILE, "
                       "$LESTER_PASSPHRASE, or run it on a terminal");
        return NULL;
    }
    char *pass = prompt_tty("Passphrase: ");
    if (pass && confirm) {
        char *again = prompt_tty("Passphrase again: ");
        bool same =
            again && strlen(again) == strlen(pass) && sodium_memcmp(again, pass, strlen(pass)) == 0;
        content_passphrase_free(again);
        if (!same) {
            content_passphrase_free(pass);
            *rc = cli_fail(EXIT_USAGE, cmd, "the passphrases differ");
            return NULL;
        }
    }
    if (!pass)
        *rc = cli_fail(EXIT_USAGE, cmd, "cannot open the terminal to ask for a passphrase");
    return pass;
}

char *
content_passphrase(int argc, char **argv, const char *cmd, bool confirm, int *rc)
{
    const char *file = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--passphrase-file") == 0)
            file = argv[i + 1];
    char *pass = NULL;
    buf_t err = BUF_INIT(1024);
    *rc = EXIT_OK;
    if (home_passphrase(file, &pass, &err) < 0)
        *rc = cli_fail(EXIT_FAIL, cmd, "%s", buf_cstr(&err));
    else if (!pass)
        pass = ask(cmd, confirm, rc);
    buf_free(&err);
    if (pass && !pass[0]) {
        content_passphrase_free(pass);
        pass = NULL;
        *rc = cli_fail(EXIT_USAGE, cmd, "the passphrase is empty");
    }
    return pass;
}

/* ---- cat --decrypt ---- */

typedef struct cat_dec_t {
    crypt_dec_t *dec;
    int err;
} cat_dec_t;

static int
to_stdout(void *ctx, const uint8_t *p, size_t len)
{
    (void)ctx;
    return fwrite(p, 1, len, stdout) == len ? 0 : -errno;
}

/* fopencookie write: ciphertext from the daemon's stream into the decoder. A failure
 * stops the download at once (the stream reader sees a write error). */
static ssize_t
cookie_write(void *cookie, const char *p, size_t len)
{
    cat_dec_t *c = cookie;
    int rc = crypt_dec_write(c->dec, (const uint8_t *)p, len);
    if (rc < 0) {
        c->err = rc;
        errno = ECANCELED;
        return -1;
    }
    return (ssize_t)len;
}

int
content_cat_decrypt(const cli_t *cli, const char *body, const char *pass)
{
    cat_dec_t c = {.dec = crypt_dec_new(pass, NULL, to_stdout, NULL)};
    FILE *f = fopencookie(&c, "w", (cookie_io_functions_t){.write = cookie_write});
    if (!f) {
        crypt_dec_free(c.dec);
        return cli_fail(EXIT_FAIL, "cat", "%s", strerror(errno));
    }
    setvbuf(f, NULL, _IONBF, 0);
    uint64_t n = 0;
    int rc = content_stream_bytes(cli, "cat", "/api/v0/cat", body, f, &n);
    fclose(f);
    if (c.err == 0 && rc == EXIT_OK)
        c.err = crypt_dec_finish(c.dec);
    if (fflush(stdout) != 0 && c.err == 0)
        c.err = -errno;
    if (c.err < 0)
        rc = cli_fail(EXIT_FAIL, "cat", "cannot decrypt: %s",
                      crypt_dec_error(c.dec)[0] ? crypt_dec_error(c.dec) : ls_strerror(c.err));
    crypt_dec_free(c.dec);
    return rc;
}
