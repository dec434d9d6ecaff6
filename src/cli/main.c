/* lester — the command line. Global options may appear anywhere:
 *   --home DIR   data directory (default $LESTER_HOME or ~/.lester)
 *   --api ADDR   talk to the daemon at HOST:PORT instead of the one in the home
 *   --json       machine-readable output */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/log/log.h"
#include "lib/mem/mem.h"
#include "node/home/home.h"

static const cli_command_t commands[] = {
    { "init", cmd_init, "create a data directory with a new identity", usage_init },
    { "daemon", cmd_daemon, "run the node", usage_daemon },
    { "id", cmd_id, "show this node's peer ID, key and addresses", usage_id },
    { "version", cmd_version, "show the version", usage_version },
    { "status", cmd_status, "is the daemon running, and how is it", usage_status },
    { "config", cmd_config, "show or change config.json", usage_config },
    { "devnet", cmd_devnet, "run a local network of nodes", usage_devnet },
    { "shutdown", cmd_shutdown, "stop the running daemon", usage_shutdown },
    { "swarm", cmd_swarm, "list, connect and disconnect libp2p peers", usage_swarm },
    { "ping", cmd_ping, "measure round trips to a peer (libp2p ping)", usage_ping },
    { "diag", cmd_diag, "echo and bulk test streams to a peer", usage_diag },
    { "add", cmd_add, "import a file or directory and print its CID", usage_add },
    { "cat", cmd_cat, "write a file's bytes to stdout (fetched if needed)", usage_cat },
    { "get", cmd_get, "fetch a file or directory by CID and save it", usage_get },
    { "ls", cmd_ls, "list a directory's entries: type, size, CID, name", usage_ls },
    { "pin", cmd_pin, "keep content from garbage collection", usage_pin },
    { "repo", cmd_repo, "blockstore size, quota and garbage collection", usage_repo },
    { "block", cmd_block, "raw blocks: get, put, stat", usage_block },
    { "dag", cmd_dag, "import and export DAGs as CAR files", usage_dag },
    { "bitswap", cmd_bitswap, "per-peer Bitswap ledgers", usage_bitswap },
    { "pubsub", cmd_pubsub, "subscribe, publish and inspect GossipSub topics", usage_pubsub },
    { "trust", cmd_trust, "peers' trust and reputation, and why they changed", usage_trust },
    { "dht", cmd_dht, "put, get and find in the Kademlia DHT", usage_dht },
};

static void
print_usage(FILE *f)
{
    fprintf(f, "lester %s — a node of the Lester network\n\n"
               "usage: lester [--home DIR] [--api HOST:PORT] [--json] <command> [args]\n\n"
               "commands:\n", LESTER_VERSION);
    for (size_t i = 0; i < LS_ARRAY_LEN(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'lester <command> --help' explains a command. Exit codes: 0 ok, 1 failed,\n"
               "2 bad usage, 3 the daemon is not running.\n");
}

bool
cli_wants_help(int argc, char **argv, const char *usage)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return true;
        }
    }
    return false;
}

int
cli_fail(int code, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "lester %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

void
cli_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (s)
        puts(s);
    free(s);
    json_decref(j);
}

/* Take the global options out of argv wherever they are; returns the new argc,
 * or -1 after printing a usage error. */
static int
strip_globals(cli_t *cli, int argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--home") == 0 ? &cli->home_flag
                            : strcmp(a, "--api") == 0 ? &cli->api_flag : NULL;
        if (strcmp(a, "--") == 0) {
            while (i < argc)
                argv[out++] = argv[i++];
            break;
        }
        if (slot) {
            if (i + 1 >= argc) {
                fprintf(stderr, "lester: %s needs a value\n", a);
                return -1;
            }
            *slot = argv[++i];
        } else if (strncmp(a, "--home=", 7) == 0) {
            cli->home_flag = a + 7;
        } else if (strncmp(a, "--api=", 6) == 0) {
            cli->api_flag = a + 6;
        } else if (strcmp(a, "--json") == 0) {
            cli->json = true;
        } else {
            argv[out++] = argv[i];
        }
    }
    argv[out] = NULL;
    return out;
}

int
main(int argc, char **argv)
{
    cli_t cli = { .prog = argv[0] };
    argc = strip_globals(&cli, argc, argv);
    if (argc < 0)
        return EXIT_USAGE;
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
        argv[1] = "version";
    /* commands other than the daemon speak through their output, not the log */
    log_set_level(LOG_WARN);
    cli.home = home_resolve(cli.home_flag);
    int rc = -1;
    for (size_t i = 0; i < LS_ARRAY_LEN(commands); i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        rc = cli_wants_help(argc - 1, argv + 1, commands[i].usage)
                 ? EXIT_OK
                 : commands[i].run(&cli, argc - 1, argv + 1);
        break;
    }
    if (rc < 0) {
        fprintf(stderr, "lester: unknown command '%s'\n\n", argv[1]);
        print_usage(stderr);
        rc = EXIT_USAGE;
    }
    free(cli.home);
    return rc;
}
