/* Commands on held content: pin add|rm|ls, repo stat|gc, block get|put|stat,
 * bitswap stat (routes_repo.c). Each is one API call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/content_io.h"
#include "lib/buf/buf.h"
#include "lib/fs/fs.h"

/* Print the answer as JSON (--json) or through `human`. */
static int
call(cli_t *cli, const char *cmd, const char *method, const char *path, json_t *body,
     void (*human)(json_t *j))
{
    client_resp_t r;
    int rc = client_call_ok(cli, cmd, method, path, body, &r);
    if (rc != EXIT_OK)
        return rc;
    if (cli->json || !human)
        cli_print_json(json_incref(r.json));
    else
        human(r.json);
    client_resp_free(&r);
    return EXIT_OK;
}

static const char *
arg_after(int argc, char **argv, int from)
{
    for (int i = from; i < argc; i++)
        if (argv[i][0] != '-')
            return argv[i];
    return NULL;
}

static void
print_cid(json_t *j)
{
    printf("%s\n", json_string_value(json_object_get(j, "cid")));
}

static void
print_pins(json_t *j)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(j, "pins"), i, p)
        printf("%s %s\n", json_string_value(json_object_get(p, "cid")),
               json_string_value(json_object_get(p, "mode")));
}

/* What is not held is fetched first (the DAG, or with --direct the block), as kubo's
 * pin add does; then the daemon pins what it holds. */
static int
pin_add(cli_t *cli, const char *cid, int argc, char **argv)
{
    content_fetch_t o = { .cmd = "pin add", .cid = cid, .timeout_s = 60 };
    for (int i = 2; i < argc; i++) {
        o.block |= strcmp(argv[i], "--direct") == 0;
        o.quiet |= strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0;
        if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
            o.timeout_s = strtol(argv[i + 1], NULL, 10);
    }
    int rc = content_fetch(cli, &o, NULL);
    if (rc != EXIT_OK)
        return rc;
    return call(cli, "pin add", "POST", "/api/v0/pin/add",
                json_pack("{s:s, s:b}", "cid", cid, "recursive", !o.block), print_cid);
}

int
cmd_pin(cli_t *cli, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    const char *cid = arg_after(argc, argv, 2);
    if (strcmp(sub, "ls") == 0)
        return call(cli, "pin ls", "GET", "/api/v0/pin/ls", NULL, print_pins);
    if ((strcmp(sub, "add") == 0 || strcmp(sub, "rm") == 0) && !cid)
        return cli_fail(EXIT_USAGE, "pin", "which CID? (lester pin --help)");
    if (strcmp(sub, "add") == 0)
        return pin_add(cli, cid, argc, argv);
    if (strcmp(sub, "rm") == 0)
        return call(cli, "pin rm", "POST", "/api/v0/pin/rm", json_pack("{s:s}", "cid", cid),
                    print_cid);
    return cli_fail(EXIT_USAGE, "pin", "unknown subcommand '%s' (add, rm or ls)", sub);
}

static void
print_repo_stat(json_t *j)
{
    printf("blocks          %lld\nbytes           %lld\nquota           %lld%s\n"
           "pins            %lld recursive, %lld direct (%lld blocks pinned)\npath            %s\n",
           json_integer_value(json_object_get(j, "blocks")),
           json_integer_value(json_object_get(j, "bytes")),
           json_integer_value(json_object_get(j, "max_bytes")),
           json_integer_value(json_object_get(j, "max_bytes")) ? "" : " (none)",
           json_integer_value(json_object_get(j, "pins_recursive")),
           json_integer_value(json_object_get(j, "pins_direct")),
           json_integer_value(json_object_get(j, "pinned_blocks")),
           json_string_value(json_object_get(j, "path")));
}

static void
print_gc(json_t *j)
{
    printf("freed %lld blocks, %lld bytes\n", json_integer_value(json_object_get(j, "blocks")),
           json_integer_value(json_object_get(j, "bytes")));
}

int
cmd_repo(cli_t *cli, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "stat") == 0)
        return call(cli, "repo stat", "GET", "/api/v0/repo/stat", NULL, print_repo_stat);
    if (strcmp(sub, "gc") == 0)
        return call(cli, "repo gc", "POST", "/api/v0/repo/gc", NULL, print_gc);
    return cli_fail(EXIT_USAGE, "repo", "unknown subcommand '%s' (stat or gc)", sub);
}

static void
print_block(json_t *j)
{
    printf("%s %lld\n", json_string_value(json_object_get(j, "cid")),
           json_integer_value(json_object_get(j, "size")));
}

/* Fetched alone first if not held (a held block answers at once). */
static int
block_get(cli_t *cli, const char *cid, int argc, char **argv)
{
    content_fetch_t o = { .cmd = "block get", .cid = cid, .quiet = true, .timeout_s = 60,
                          .block = true };
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], "--timeout") == 0)
            o.timeout_s = strtol(argv[i + 1], NULL, 10);
    client_resp_t r;
    int rc = content_fetch(cli, &o, NULL);
    if (rc != EXIT_OK)
        return rc;
    rc = client_call_ok(cli, "block get", "POST", "/api/v0/block/get",
                            json_pack("{s:s}", "cid", cid), &r);
    if (rc != EXIT_OK)
        return rc;
    if (fwrite(r.body.data, 1, r.body.len, stdout) != r.body.len)
        rc = cli_fail(EXIT_FAIL, "block get", "cannot write the block");
    client_resp_free(&r);
    return rc;
}

static int
block_put(cli_t *cli, int argc, char **argv)
{
    const char *codec = "raw", *file = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--codec") == 0 && i + 1 < argc)
            codec = argv[++i];
        else if (argv[i][0] != '-')
            file = argv[i];
    }
    buf_t data = BUF_INIT(4u << 20);
    int rc = file ? fs_read_all(file, 4u << 20, &data) : 0;
    while (!file && rc == 0) {
        uint8_t *p = buf_extend(&data, 65536);
        ssize_t n = p ? read(0, p, 65536) : -1;
        buf_truncate(&data, data.len - (p ? 65536 : 0) + (n > 0 ? (size_t)n : 0));
        if (n <= 0)
            rc = n < 0 ? -1 : 1;
    }
    if (rc < 0) {
        buf_free(&data);
        return cli_fail(EXIT_FAIL, "block put", "cannot read %s (blocks are at most 4 MiB)",
                        file ? file : "standard input");
    }
    char path[64];
    snprintf(path, sizeof path, "/api/v0/block/put?codec=%s", codec);
    client_resp_t r;
    buf_t err = BUF_INIT(4096);
    rc = client_call(cli, "POST", path, (const char *)data.data, data.len, &r, &err);
    buf_free(&data);
    if (rc < 0) {
        rc = cli_fail(EXIT_FAIL, "block put", "%s", buf_cstr(&err));
    } else if (r.status != 200) {
        const char *m = json_string_value(
            json_object_get(json_object_get(r.json, "error"), "message"));
        rc = cli_fail(EXIT_FAIL, "block put", "%s (HTTP %d)", m ? m : "refused", r.status);
    } else {
        if (cli->json)
            cli_print_json(json_incref(r.json));
        else
            print_cid(r.json);
        rc = EXIT_OK;
    }
    if (rc >= 0)
        client_resp_free(&r);
    buf_free(&err);
    return rc;
}

int
cmd_block(cli_t *cli, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    const char *cid = arg_after(argc, argv, 2);
    if (strcmp(sub, "put") == 0)
        return block_put(cli, argc, argv);
    if ((strcmp(sub, "get") == 0 || strcmp(sub, "stat") == 0) && !cid)
        return cli_fail(EXIT_USAGE, "block", "which CID? (lester block --help)");
    if (strcmp(sub, "get") == 0)
        return block_get(cli, cid, argc, argv);
    if (strcmp(sub, "stat") == 0)
        return call(cli, "block stat", "POST", "/api/v0/block/stat",
                    json_pack("{s:s}", "cid", cid), print_block);
    return cli_fail(EXIT_USAGE, "block", "unknown subcommand '%s' (get, put or stat)", sub);
}

static void
print_bitswap(json_t *j)
{
    printf("%lld peers; sent %lld blocks (%lld bytes), received %lld blocks (%lld bytes), "
           "%lld bad\n",
           json_integer_value(json_object_get(j, "peers")),
           json_integer_value(json_object_get(j, "blocks_sent")),
           json_integer_value(json_object_get(j, "bytes_sent")),
           json_integer_value(json_object_get(j, "blocks_recv")),
           json_integer_value(json_object_get(j, "bytes_recv")),
           json_integer_value(json_object_get(j, "bad_blocks_recv")));
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(j, "ledgers"), i, p)
        printf("%-52s  sent %6lld blk %12lld B  recv %6lld blk %12lld B  bad %lld\n",
               json_string_value(json_object_get(p, "peer")),
               json_integer_value(json_object_get(p, "blocks_sent")),
               json_integer_value(json_object_get(p, "bytes_sent")),
               json_integer_value(json_object_get(p, "blocks_recv")),
               json_integer_value(json_object_get(p, "bytes_recv")),
               json_integer_value(json_object_get(p, "bad_blocks_recv")));
}

int
cmd_bitswap(cli_t *cli, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "stat";
    if (strcmp(sub, "stat") == 0)
        return call(cli, "bitswap stat", "GET", "/api/v0/bitswap/stat", NULL, print_bitswap);
    return cli_fail(EXIT_USAGE, "bitswap", "unknown subcommand '%s' (stat)", sub);
}
