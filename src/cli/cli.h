/* cli — shared pieces of the `lester` command: context, output, exit codes.
 * Commands talk to the daemon only through the API client (client.h). */
#ifndef LS_CLI_CLI_H
#define LS_CLI_CLI_H

#include <stdbool.h>

#include <jansson.h>

/* Exit codes (documented in the README). */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,        /* the operation failed */
    EXIT_USAGE = 2,       /* bad command line */
    EXIT_NODAEMON = 3,    /* the command needs a running daemon and there is none */
};

typedef struct cli_t {
    const char *prog;     /* argv[0] as given */
    const char *home_flag;
    char *home;           /* resolved data directory */
    const char *api_flag; /* --api HOST:PORT */
    bool json;            /* --json: machine output */
} cli_t;

typedef struct cli_command_t {
    const char *name;
    int (*run)(cli_t *cli, int argc, char **argv);
    const char *summary;
    const char *usage;    /* full help text */
} cli_command_t;

/** True if argv has -h or --help; then prints `usage`. */
bool cli_wants_help(int argc, char **argv, const char *usage);
/** Print "lester <cmd>: message" to stderr and return `code`. */
int cli_fail(int code, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** Pretty-print a JSON value on stdout (takes ownership). */
void cli_print_json(json_t *j);

int cmd_init(cli_t *cli, int argc, char **argv);
int cmd_daemon(cli_t *cli, int argc, char **argv);
int cmd_id(cli_t *cli, int argc, char **argv);
int cmd_version(cli_t *cli, int argc, char **argv);
int cmd_status(cli_t *cli, int argc, char **argv);
int cmd_config(cli_t *cli, int argc, char **argv);
int cmd_devnet(cli_t *cli, int argc, char **argv);
int cmd_shutdown(cli_t *cli, int argc, char **argv);
int cmd_swarm(cli_t *cli, int argc, char **argv);
int cmd_ping(cli_t *cli, int argc, char **argv);
int cmd_diag(cli_t *cli, int argc, char **argv);
int cmd_pubsub(cli_t *cli, int argc, char **argv);
int cmd_trust(cli_t *cli, int argc, char **argv);
int cmd_dht(cli_t *cli, int argc, char **argv);
int cmd_add(cli_t *cli, int argc, char **argv);
int cmd_cat(cli_t *cli, int argc, char **argv);
int cmd_get(cli_t *cli, int argc, char **argv);
int cmd_ls(cli_t *cli, int argc, char **argv);
int cmd_pin(cli_t *cli, int argc, char **argv);
int cmd_repo(cli_t *cli, int argc, char **argv);
int cmd_block(cli_t *cli, int argc, char **argv);
int cmd_bitswap(cli_t *cli, int argc, char **argv);
int cmd_dag(cli_t *cli, int argc, char **argv);
/** `lester id <peer|multiaddr>`: identify a remote peer (cmd_swarm.c). */
int cmd_id_remote(cli_t *cli, const char *target);

extern const char usage_init[], usage_daemon[], usage_id[], usage_version[], usage_status[],
    usage_config[], usage_devnet[], usage_shutdown[], usage_swarm[], usage_ping[], usage_diag[],
    usage_pubsub[], usage_trust[], usage_dht[];
extern const char usage_add[], usage_cat[], usage_get[], usage_pin[], usage_repo[],
    usage_block[], usage_bitswap[], usage_ls[], usage_dag[];

#endif
