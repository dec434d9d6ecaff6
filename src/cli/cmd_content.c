/* Content commands: add, cat, get, pin, repo, block, bitswap (routes_content.c,
 * routes_repo.c). `add` and `get` name local paths the daemon reads or writes
 * itself, so they need a daemon on this machine; `cat` streams the bytes. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/content_crypt.h"
#include "cli/content_io.h"
#include "lib/buf/buf.h"
#include "lib/fs/fs.h"

const char usage_add[] =
    "usage: lester add [-r] [--pin=false] [--only-hash] [-q|--quiet] [--json]\n"
    "                  [--encrypt [--passphrase-file F]] <path>\n\n"
    "Import a file (or with -r a directory) into the node's blockstore as a UnixFS DAG\n"
    "(CIDv1, raw leaves, content.chunk_size chunks, 174 links per node: the CID kubo\n"
    "and helia give for the same bytes) and print its CID. The daemon reads the path\n"
    "itself, so it must run on this machine. The root is pinned recursively unless\n"
    "--pin=false. --only-hash computes the CID without storing anything. A progress\n"
    "bar is drawn on stderr for files over 4 MiB (not with --quiet).\n"
    "--encrypt stores each file's bytes encrypted (argon2id key from the passphrase,\n"
    "XChaCha20-Poly1305 stream; an \"LSENC\" header): the CID names the ciphertext,\n"
    "which anyone can fetch and seed; only passphrase holders read it (get/cat\n"
    "--decrypt). With -r, file names and the tree stay visible. Passphrase: the first\n"
    "line of --passphrase-file F, else $LESTER_PASSPHRASE, else asked twice on the tty.\n";

const char usage_cat[] =
    "usage: lester cat <cid>[/path] [--offset N] [--length N] [--timeout S] [-q|--quiet]\n"
    "                  [--decrypt [--passphrase-file F]]\n\n"
    "Write a file's bytes to standard output: a CID, or a file inside a directory as\n"
    "<cid>/dir/name (also /ipfs/<cid>/dir/name). Blocks not held here are fetched first\n"
    "over Bitswap from the connected peers (progress on stderr), every block verified;\n"
    "--timeout as for `lester get`. --decrypt decrypts a file added with --encrypt\n"
    "(passphrase as for `lester add`; not with --offset/--length); a wrong passphrase\n"
    "prints nothing, damaged or cut data fails with exit code 1.\n";

const char usage_get[] =
    "usage: lester get <cid>[/path] [-o PATH] [--timeout S] [-q|--quiet] [--json]\n"
    "                  [--decrypt [--passphrase-file F]]\n\n"
    "Fetch a file or directory over Bitswap from the connected peers (blocks already\n"
    "held, e.g. from an interrupted run, are not fetched again), verify every block and\n"
    "the whole DAG, and write it to PATH (default ./<cid>, or ./<name> for\n"
    "<cid>/dir/name: only the directory blocks on the way and that entry's DAG are\n"
    "fetched). Progress (bytes, peers,\n"
    "rate, ETA) is drawn on stderr; --json prints the final figures. The download\n"
    "fails when no block arrives for --timeout seconds (default 60; 0: wait for ever).\n"
    "--decrypt writes the plaintext of a file (or of every file of a directory) added\n"
    "with --encrypt, mode 0600, all or nothing: a wrong passphrase or damaged data\n"
    "fails and leaves no file. Passphrase as for `lester add`.\n";

const char usage_pin[] =
    "usage: lester pin add <cid>[/path] [--direct] [--timeout S] [-q|--quiet] [--json]\n"
    "       lester pin rm <cid> [--json]\n"
    "       lester pin ls [--json]\n\n"
    "Pinned blocks survive `lester repo gc`. add pins the whole DAG (recursive) unless\n"
    "--direct (the one block); what is not held is fetched first over Bitswap, with a\n"
    "progress bar (--timeout as for `lester get`).\n";

const char usage_repo[] =
    "usage: lester repo stat [--json]\n"
    "       lester repo gc [--json]\n\n"
    "stat  blocks and bytes held, the quota (repo.max_bytes), pins\n"
    "gc    delete every block no pin protects\n";

const char usage_block[] =
    "usage: lester block get <cid> [--timeout S] > FILE\n"
    "       lester block put [--codec raw|dag-pb] [FILE] [--json]   (stdin without FILE)\n"
    "       lester block stat <cid> [--json]\n\n"
    "Raw blocks: get writes a block's bytes (fetched alone over Bitswap if not held,\n"
    "verified; --timeout as for `lester get`), put stores bytes as a block (CIDv1,\n"
    "sha2-256) and prints its CID, stat prints the size of a held block. <cid> may be\n"
    "a path <cid>/dir/name to a held block.\n";

const char usage_dag[] =
    "usage: lester dag import <file.car> [--pin=false] [-q|--quiet] [--json]\n"
    "       lester dag export <cid>[/path] [-o FILE] [--timeout S] [-q|--quiet]\n\n"
    "DAGs as CAR files (CARv1), to and from kubo (`ipfs dag export|import`), helia and\n"
    "other IPFS tools. import: the daemon reads the file (it must run on this\n"
    "machine), checks every block against its CID (a block that lies stops the import)\n"
    "and stores it; each root the CAR names is then pinned, unless --pin=false, if its\n"
    "whole DAG is held — a root missing blocks is reported, not pinned, exit code 1.\n"
    "export: the whole DAG under <cid> (fetched first if not held, as `lester cat`\n"
    "does), depth-first, each block once, to stdout or FILE (written, then renamed).\n";

const char usage_bitswap[] =
    "usage: lester bitswap stat [--json]\n\n"
    "Per-peer Bitswap ledgers: blocks and bytes sent to and received from each peer,\n"
    "bad blocks, timeouts.\n";

static bool
has_flag(int argc, char **argv, const char *a, const char *b)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], a) == 0 || (b && strcmp(argv[i], b) == 0))
            return true;
    return false;
}

/* The first argument that is not an option (or the value of one listed in
 * `valued`). */
static const char *
positional(int argc, char **argv, int nth)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--offset") == 0 ||
            strcmp(argv[i], "--timeout") == 0 ||
            strcmp(argv[i], "--length") == 0 || strcmp(argv[i], "--codec") == 0 ||
            strcmp(argv[i], "--passphrase-file") == 0) {
            i++;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1])
            continue;
        if (nth-- == 0)
            return argv[i];
    }
    return NULL;
}

static const char *
opt_value(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

/* --timeout SECONDS: give up when no block arrives for that long (0: never). */
static long
timeout_arg(int argc, char **argv)
{
    const char *t = opt_value(argc, argv, "--timeout");
    return t ? strtol(t, NULL, 10) : 60;
}

/* ---- add ---- */

/* A job answering with JSON-line events (add, dag import): progress is drawn (only
 * past `draw_over` bytes, or for a tree: a small add has no bar), the done event goes
 * to `done`, which prints it and gives the exit code, an error is printed. */
typedef struct events_t {
    const cli_t *cli;
    const char *cmd;
    progress_t bar;
    uint64_t draw_over;
    int (*done)(const cli_t *cli, json_t *j);
    int rc;
} events_t;

static bool
events_line(void *ctx, const char *line, size_t len)
{
    events_t *a = ctx;
    json_t *j = json_loadb(line, len, 0, NULL);
    const char *ev = json_string_value(json_object_get(j, "event"));
    if (ev && strcmp(ev, "progress") == 0) {
        uint64_t total = (uint64_t)json_integer_value(json_object_get(j, "total"));
        if (total > a->draw_over || json_object_get(j, "files"))
            progress_draw(&a->bar, (uint64_t)json_integer_value(json_object_get(j, "bytes")),
                          total, 0, -1, -1);
    } else if (ev && strcmp(ev, "done") == 0) {
        progress_done(&a->bar);
        if (a->cli->json)
            cli_print_json(json_incref(j));
        a->rc = a->done(a->cli, j);
    } else if (ev && strcmp(ev, "error") == 0) {
        progress_done(&a->bar);
        a->rc = cli_fail(EXIT_FAIL, a->cmd, "%s", json_string_value(json_object_get(j, "message")));
    }
    json_decref(j);
    return true;
}

static int
add_done(const cli_t *cli, json_t *j)
{
    if (!cli->json)
        printf("%s\n", json_string_value(json_object_get(j, "cid")));
    return EXIT_OK;
}

int
cmd_add(cli_t *cli, int argc, char **argv)
{
    const char *path = positional(argc, argv, 0);
    if (!path)
        return cli_fail(EXIT_USAGE, "add", "which file? (lester add --help)");
    char abs[PATH_MAX];
    if (!realpath(path, abs))
        return cli_fail(EXIT_FAIL, "add", "%s: %s", path, strerror(errno));
    char *pass = NULL;
    int prc = EXIT_OK;
    if (has_flag(argc, argv, "--encrypt", NULL) &&
        !(pass = content_passphrase(argc, argv, "add", true, &prc)))
        return prc;
    events_t a = { .cli = cli, .cmd = "add", .draw_over = 4u << 20, .done = add_done,
                   .rc = EXIT_FAIL };
    progress_init(&a.bar, "add", has_flag(argc, argv, "-q", "--quiet"));
    json_t *body = json_pack("{s:s, s:b, s:b, s:b}", "path", abs, "recursive",
                             has_flag(argc, argv, "-r", "--recursive"), "pin",
                             !has_flag(argc, argv, "--pin=false", NULL), "only_hash",
                             has_flag(argc, argv, "--only-hash", "-n"));
    if (pass) {
        json_object_set_new(body, "encrypt", json_true());
        json_object_set_new(body, "passphrase", json_string(pass));
        content_passphrase_free(pass);
    }
    int rc = client_stream(cli, "add", "/api/v0/add", body, events_line, &a);
    return rc != EXIT_OK ? rc : a.rc;
}

/* A download with the command's -q and --timeout. */
static int
fetch(cli_t *cli, const char *cmd, const char *cid, int argc, char **argv, json_t **last)
{
    content_fetch_t o = { .cmd = cmd, .cid = cid, .quiet = has_flag(argc, argv, "-q", "--quiet"),
                          .timeout_s = timeout_arg(argc, argv) };
    return content_fetch(cli, &o, last);
}

/* Where `get` saves without -o: the CID, or a path's last name (as kubo does). */
static const char *
default_name(const char *arg)
{
    const char *end = arg + strlen(arg);
    while (end > arg && end[-1] == '/')
        end--;
    const char *p = end;
    while (p > arg && p[-1] != '/')
        p--;
    static char name[256];
    size_t n = (size_t)(end - p);
    if (n == 0 || n >= sizeof name)
        return arg;
    memcpy(name, p, n);
    name[n] = '\0';
    return name;
}

int
cmd_get(cli_t *cli, int argc, char **argv)
{
    const char *cid = positional(argc, argv, 0), *out = opt_value(argc, argv, "-o");
    if (!cid)
        return cli_fail(EXIT_USAGE, "get", "which CID? (lester get --help)");
    char abs[PATH_MAX + 512], cwd[PATH_MAX];
    if (!out)
        out = default_name(cid);
    if (strlen(out) >= 512)
        return cli_fail(EXIT_USAGE, "get", "path too long");
    if (out[0] == '/')
        snprintf(abs, sizeof abs, "%s", out);
    else if (getcwd(cwd, sizeof cwd))
        snprintf(abs, sizeof abs, "%s/%s", cwd, out);
    else
        return cli_fail(EXIT_FAIL, "get", "cannot resolve %s", out);
    char *pass = NULL;
    int rc = EXIT_OK;
    if (has_flag(argc, argv, "--decrypt", NULL) &&
        !(pass = content_passphrase(argc, argv, "get", false, &rc)))
        return rc;
    json_t *last = NULL;
    bool written = false;
    content_fetch_t o = { .cmd = "get", .cid = cid, .quiet = has_flag(argc, argv, "-q", "--quiet"),
                          .timeout_s = timeout_arg(argc, argv), .path = pass ? NULL : abs };
    rc = content_fetch(cli, &o, &last);
    written = o.written;
    client_resp_t r = { 0 };
    json_t *body = json_pack("{s:s, s:s}", "cid", cid, "path", abs);
    if (pass)
        json_object_set_new(body, "passphrase", json_string(pass));
    content_passphrase_free(pass);
    if (rc == EXIT_OK && written) { /* no export pass: the reply /api/v0/get would give */
        json_decref(body);
        struct stat st;
        r.json = json_pack("{s:s, s:I, s:b}", "path", abs, "bytes",
                           (json_int_t)(stat(abs, &st) == 0 ? st.st_size : 0), "streamed", 1);
    } else if (rc == EXIT_OK) {
        rc = client_call_ok(cli, "get", "POST", "/api/v0/get", body, &r);
    } else {
        json_decref(body);
    }
    if (rc == EXIT_OK) {
        if (cli->json) {
            json_object_set(r.json, "download", last ? last : json_null());
            cli_print_json(json_incref(r.json));
        } else {
            printf("saved %s to %s\n", cid, abs);
        }
        client_resp_free(&r);
    }
    json_decref(last);
    return rc;
}

int
cmd_cat(cli_t *cli, int argc, char **argv)
{
    const char *cid = positional(argc, argv, 0);
    if (!cid)
        return cli_fail(EXIT_USAGE, "cat", "which CID? (lester cat --help)");
    const char *off = opt_value(argc, argv, "--offset"), *len = opt_value(argc, argv, "--length");
    bool decrypt = has_flag(argc, argv, "--decrypt", NULL);
    if (decrypt && (off || len))
        return cli_fail(EXIT_USAGE, "cat", "--decrypt reads the whole file (no --offset/--length)");
    char *pass = NULL;
    int rc = EXIT_OK;
    if (decrypt && !(pass = content_passphrase(argc, argv, "cat", false, &rc)))
        return rc;
    rc = fetch(cli, "cat", cid, argc, argv, NULL);
    if (rc != EXIT_OK) {
        content_passphrase_free(pass);
        return rc;
    }
    json_t *body = json_pack("{s:s}", "cid", cid);
    if (off)
        json_object_set_new(body, "offset", json_integer(strtoll(off, NULL, 10)));
    if (len)
        json_object_set_new(body, "length", json_integer(strtoll(len, NULL, 10)));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    uint64_t n = 0;
    rc = pass ? content_cat_decrypt(cli, text, pass)
              : content_stream_bytes(cli, "cat", "/api/v0/cat", text, stdout, &n);
    content_passphrase_free(pass);
    free(text);
    return rc;
}

/* ---- ls ---- */

const char usage_ls[] =
    "usage: lester ls <cid> [--fetch [--timeout S] [-q|--quiet]] [--json]\n\n"
    "List a directory held by this node: one line per entry with its type (file or\n"
    "dir), size in bytes ('-' for a directory, '?' when the entry's block is not held),\n"
    "CID and name, in link order (a HAMT-sharded directory is listed whole). Only held\n"
    "blocks are read: a CID not held fails; fetch it first with `lester get <cid>`, or\n"
    "give --fetch to fetch the whole DAG over Bitswap as `lester cat` does (--timeout\n"
    "and progress as for `lester get`). A file has no entries: its CID is listed as\n"
    "the one entry, with a note on stderr. --json prints the API's answer:\n"
    "{\"entries\": [{name, cid, tsize, type, size}]} (for a file also \"file\": true).\n";

/* Width of the widest "size" column value of `entries`. */
static int
ls_size_width(json_t *entries)
{
    size_t i;
    json_t *e;
    int w = 1;
    json_array_foreach(entries, i, e) {
        char tmp[32];
        int n = snprintf(tmp, sizeof tmp, "%lld",
                         (long long)json_integer_value(json_object_get(e, "size")));
        if (n > w)
            w = n;
    }
    return w;
}

static void
ls_print(json_t *entries)
{
    int w = ls_size_width(entries);
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        const char *type = json_string_value(json_object_get(e, "type"));
        char size[32];
        if (!type)
            snprintf(size, sizeof size, "?");
        else if (strcmp(type, "directory") == 0)
            snprintf(size, sizeof size, "-");
        else
            snprintf(size, sizeof size, "%lld",
                     (long long)json_integer_value(json_object_get(e, "size")));
        const char *name = json_string_value(json_object_get(e, "name"));
        printf("%-4s  %*s  %s%s%s\n",
               !type ? "?" : strcmp(type, "directory") == 0 ? "dir" : "file", w, size,
               json_string_value(json_object_get(e, "cid")), name && *name ? "  " : "",
               name ? name : "");
    }
}

/* A file CID: the file itself as the one entry. Takes `st` (the stat answer). */
static int
ls_file(cli_t *cli, const char *cid, json_t *st)
{
    json_t *e = json_pack("{s:s, s:O, s:s, s:O}", "name", "", "cid", json_object_get(st, "cid"),
                          "type", "file", "size", json_object_get(st, "size"));
    json_t *out = json_pack("{s:[o], s:b}", "entries", e, "file", 1);
    json_decref(st);
    fprintf(stderr, "lester ls: %s is a file, not a directory: it has no entries\n", cid);
    if (cli->json)
        cli_print_json(out);
    else {
        ls_print(json_object_get(out, "entries"));
        json_decref(out);
    }
    return EXIT_OK;
}

int
cmd_ls(cli_t *cli, int argc, char **argv)
{
    const char *cid = positional(argc, argv, 0);
    if (!cid)
        return cli_fail(EXIT_USAGE, "ls", "which CID? (lester ls --help)");
    int rc = EXIT_OK;
    if (has_flag(argc, argv, "--fetch", NULL))
        rc = fetch(cli, "ls", cid, argc, argv, NULL);
    client_resp_t r;
    if (rc == EXIT_OK)
        rc = client_call_ok(cli, "ls", "POST", "/api/v0/stat", json_pack("{s:s}", "cid", cid), &r);
    if (rc != EXIT_OK)
        return rc;
    json_t *st = json_incref(r.json);
    client_resp_free(&r);
    if (!json_is_true(json_object_get(st, "held"))) {
        json_decref(st);
        return cli_fail(EXIT_FAIL, "ls",
                        "%s is not held here: fetch it first with `lester get`, or give "
                        "--fetch", cid);
    }
    const char *type = json_string_value(json_object_get(st, "type"));
    if (!type || strcmp(type, "directory") != 0)
        return ls_file(cli, cid, st);
    json_decref(st);
    rc = client_call_ok(cli, "ls", "POST", "/api/v0/ls", json_pack("{s:s}", "cid", cid), &r);
    if (rc != EXIT_OK)
        return rc;
    if (cli->json)
        cli_print_json(json_incref(r.json));
    else
        ls_print(json_object_get(r.json, "entries"));
    client_resp_free(&r);
    return EXIT_OK;
}

/* ---- dag import / export (CAR files) ---- */

static void
print_import(const json_t *j)
{
    printf("imported %lld blocks (%lld bytes)\n", json_integer_value(json_object_get(j, "blocks")),
           json_integer_value(json_object_get(j, "bytes")));
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(j, "roots"), i, r) {
        json_t *miss = json_object_get(r, "missing_blocks");
        printf("root %s %s\n", json_string_value(json_object_get(r, "cid")),
               json_is_true(json_object_get(r, "pinned")) ? "pinned"
               : miss ? "incomplete: not pinned"
                      : "not pinned");
    }
}

static int
import_done(const cli_t *cli, json_t *j)
{
    if (!cli->json)
        print_import(j);
    long long bad = json_integer_value(json_object_get(j, "incomplete"));
    if (!bad)
        return EXIT_OK;
    return cli_fail(EXIT_FAIL, "dag import",
                    "%lld root(s) whose DAG the CAR does not hold whole: not pinned "
                    "(fetch the rest with `lester get <cid>`)", bad);
}

static int
dag_import(cli_t *cli, int argc, char **argv)
{
    const char *path = positional(argc, argv, 1);
    char abs[PATH_MAX];
    if (!path)
        return cli_fail(EXIT_USAGE, "dag import", "which CAR file? (lester dag --help)");
    if (!realpath(path, abs))
        return cli_fail(EXIT_FAIL, "dag import", "%s: %s", path, strerror(errno));
    events_t a = { .cli = cli, .cmd = "dag import", .done = import_done, .rc = EXIT_FAIL };
    progress_init(&a.bar, "import", has_flag(argc, argv, "-q", "--quiet"));
    json_t *body = json_pack("{s:s, s:b}", "path", abs, "pin",
                             !has_flag(argc, argv, "--pin=false", NULL));
    int rc = client_stream(cli, "dag import", "/api/v0/dag/import", body, events_line, &a);
    return rc != EXIT_OK ? rc : a.rc;
}

/* The CAR to stdout, or to -o FILE (written whole, then renamed into place). */
static int
dag_export(cli_t *cli, int argc, char **argv)
{
    const char *cid = positional(argc, argv, 1), *out = opt_value(argc, argv, "-o");
    if (!cid)
        return cli_fail(EXIT_USAGE, "dag export", "which CID? (lester dag --help)");
    int rc = fetch(cli, "dag export", cid, argc, argv, NULL);
    if (rc != EXIT_OK)
        return rc;
    char part[PATH_MAX + 16];
    FILE *f = stdout;
    if (out && (snprintf(part, sizeof part, "%s.lester-part", out) >= (int)sizeof part ||
                !(f = fopen(part, "wb"))))
        return cli_fail(EXIT_FAIL, "dag export", "cannot write %s: %s", out, strerror(errno));
    json_t *body = json_pack("{s:s}", "cid", cid);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    uint64_t n = 0;
    rc = content_stream_bytes(cli, "dag export", "/api/v0/dag/export", text, f, &n);
    free(text);
    if (out && (fclose(f) != 0 || (rc == EXIT_OK && rename(part, out) != 0)))
        rc = cli_fail(EXIT_FAIL, "dag export", "cannot write %s: %s", out, strerror(errno));
    if (out && rc != EXIT_OK)
        unlink(part);
    return rc;
}

int
cmd_dag(cli_t *cli, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "import") == 0)
        return dag_import(cli, argc, argv);
    if (strcmp(sub, "export") == 0)
        return dag_export(cli, argc, argv);
    return cli_fail(EXIT_USAGE, "dag", "unknown subcommand '%s' (import or export)", sub);
}
