/* Commands that work on the data directory itself: init, daemon, config. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/cli.h"
#include "lib/config/config.h"
#include "lib/err/err.h"
#include "lib/peerid/peerid.h"
#include "node/config/node_config.h"
#include "node/daemon/daemon.h"
#include "node/home/home.h"

const char usage_init[] =
    "usage: lester init [--force] [--passphrase-file FILE] [--profile NAME]\n\n"
    "Create the data directory (--home, $LESTER_HOME or ~/.lester): config.json with\n"
    "every setting and its default, a new Ed25519 identity in identity.key (mode 0600)\n"
    "and the database lester.db.\n\n"
    "  --force                 replace an existing identity (its peer ID is lost)\n"
    "  --passphrase-file FILE  encrypt identity.key (argon2id + secretbox) with the first\n"
    "                          line of FILE; $LESTER_PASSPHRASE works too\n"
    "  --profile NAME          default, high-throughput, low-resource or high-security\n";

const char usage_daemon[] =
    "usage: lester daemon [--log-level LEVEL] [--log-file FILE] [--api-port PORT]\n"
    "                     [--passphrase-file FILE]\n\n"
    "Run the node in the foreground until SIGINT or SIGTERM (clean shutdown). SIGHUP\n"
    "re-reads log.level from config.json and reopens the log file. While it runs, the\n"
    "API address is in <home>/api and its token in <home>/api.cookie.\n\n"
    "  --log-level LEVEL       error, warn, info, debug or trace (default: config)\n"
    "  --log-file FILE         log to FILE instead of standard error\n"
    "  --api-port PORT         override api.port (0 picks a free port)\n"
    "  --passphrase-file FILE  passphrase of an encrypted identity ($LESTER_PASSPHRASE)\n";

const char usage_config[] =
    "usage: lester config show\n"
    "       lester config get KEY\n"
    "       lester config set KEY VALUE\n\n"
    "Read or change <home>/config.json. Keys are dotted (api.port, swarm.listen, ...);\n"
    "lists take a JSON array or comma-separated values. Changes are validated before\n"
    "they are written; restart the daemon to apply them.\n";

/* getopt_long over a command's own argv; returns the option or -1 at the end. */
static int
next_opt(int argc, char **argv, const struct option *opts)
{
    return getopt_long(argc, argv, "+", opts, NULL);
}

static char *
read_passphrase(const char *file, const char *cmd, int *rc)
{
    char *pass = NULL;
    buf_t err = BUF_INIT(1024);
    *rc = home_passphrase(file, &pass, &err) < 0 ? cli_fail(EXIT_FAIL, cmd, "%s", buf_cstr(&err))
                                                 : EXIT_OK;
    buf_free(&err);
    return pass;
}

static void
free_passphrase(char *p)
{
    if (p) {
        sodium_memzero(p, strlen(p));
        free(p);
    }
}

int
cmd_init(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "force", no_argument, NULL, 'f' },
                                          { "passphrase-file", required_argument, NULL, 'p' },
                                          { "profile", required_argument, NULL, 'P' },
                                          { 0 } };
    home_init_opts_t o = { 0 };
    const char *passfile = NULL;
    optind = 0;
    for (int c; (c = next_opt(argc, argv, opts)) != -1;) {
        if (c == 'f')
            o.force = true;
        else if (c == 'p')
            passfile = optarg;
        else if (c == 'P')
            o.profile = optarg;
        else
            return cli_fail(EXIT_USAGE, "init", "see 'lester init --help'");
    }
    if (optind < argc)
        return cli_fail(EXIT_USAGE, "init", "unexpected argument '%s'", argv[optind]);
    int rc;
    char *pass = read_passphrase(passfile, "init", &rc);
    if (rc != EXIT_OK)
        return rc;
    o.passphrase = pass;
    ed25519_keypair_t kp;
    buf_t err = BUF_INIT(4096);
    if (home_init(cli->home, &o, &kp, &err) < 0) {
        rc = cli_fail(EXIT_FAIL, "init", "%s", buf_cstr(&err));
    } else {
        peer_id_t id;
        peer_id_from_ed25519(&id, kp.pk);
        char *s = peer_id_to_str(&id);
        if (cli->json)
            cli_print_json(json_pack("{s:s,s:s,s:b}", "home", cli->home, "id", s, "encrypted",
                                     pass != NULL));
        else
            printf("initialised %s\npeer ID: %s\n%s", cli->home, s,
                   pass ? "identity.key is encrypted with your passphrase\n" : "");
        free(s);
        ed25519_keypair_wipe(&kp);
    }
    buf_free(&err);
    free_passphrase(pass);
    return rc;
}

int
cmd_daemon(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "log-level", required_argument, NULL, 'l' },
                                          { "log-file", required_argument, NULL, 'f' },
                                          { "api-port", required_argument, NULL, 'a' },
                                          { "passphrase-file", required_argument, NULL, 'p' },
                                          { 0 } };
    daemon_opts_t o = { .home = cli->home, .api_port = -1 };
    const char *passfile = NULL;
    optind = 0;
    for (int c; (c = next_opt(argc, argv, opts)) != -1;) {
        char *end;
        if (c == 'l') {
            o.log_level = optarg;
        } else if (c == 'f') {
            o.log_file = optarg;
        } else if (c == 'p') {
            passfile = optarg;
        } else if (c == 'a') {
            long p = strtol(optarg, &end, 10);
            if (*end || p < 0 || p > 65535)
                return cli_fail(EXIT_USAGE, "daemon", "--api-port wants 0-65535");
            o.api_port = (int)p;
        } else {
            return cli_fail(EXIT_USAGE, "daemon", "see 'lester daemon --help'");
        }
    }
    int rc;
    char *pass = read_passphrase(passfile, "daemon", &rc);
    if (rc != EXIT_OK)
        return rc;
    o.passphrase = pass;
    rc = daemon_run(&o) < 0 ? EXIT_FAIL : EXIT_OK;
    free_passphrase(pass);
    return rc;
}

static int
config_open(const cli_t *cli, config_t **cfg, char **path)
{
    buf_t err = BUF_INIT(4096);
    *path = home_path(cli->home, HOME_CONFIG);
    int rc = node_config_load(*path, cfg, &err);
    if (rc < 0) {
        rc = cli_fail(EXIT_FAIL, "config", "%s%s", buf_cstr(&err),
                      rc == -ENOENT ? " (run 'lester init' first)" : "");
        free(*path);
    }
    buf_free(&err);
    return rc < 0 ? EXIT_FAIL : rc;
}

static int
config_get_cmd(const cli_t *cli, config_t *cfg, const char *key)
{
    if (!config_has_key(cfg, key))
        return cli_fail(EXIT_FAIL, "config", "no such key '%s' ('lester config show' lists them)",
                        key);
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    config_get_json(cfg, key, &out);
    json_t *j = json_loadb((const char *)out.data, out.len, JSON_DECODE_ANY, NULL);
    if (!cli->json && json_is_string(j))
        puts(json_string_value(j));
    else
        cli_print_json(json_incref(j));
    json_decref(j);
    buf_free(&out);
    return EXIT_OK;
}

static int
config_set_cmd(config_t *cfg, const char *path, const char *key, const char *value)
{
    buf_t err = BUF_INIT(4096);
    int rc = config_set(cfg, key, value, &err);
    if (rc < 0)
        rc = cli_fail(EXIT_FAIL, "config", "%s", buf_cstr(&err));
    else if ((rc = config_save(cfg, path)) < 0)
        rc = cli_fail(EXIT_FAIL, "config", "cannot write %s: %s", path, ls_strerror(rc));
    buf_free(&err);
    return rc < 0 ? EXIT_FAIL : rc;
}

int
cmd_config(cli_t *cli, int argc, char **argv)
{
    if (argc < 2)
        return cli_fail(EXIT_USAGE, "config", "say show, get KEY or set KEY VALUE");
    const char *sub = argv[1];
    bool show = strcmp(sub, "show") == 0, get = strcmp(sub, "get") == 0,
         set = strcmp(sub, "set") == 0;
    if (!(show && argc == 2) && !(get && argc == 3) && !(set && argc == 4))
        return cli_fail(EXIT_USAGE, "config", "say show, get KEY or set KEY VALUE");
    config_t *cfg;
    char *path;
    int rc = config_open(cli, &cfg, &path);
    if (rc != EXIT_OK)
        return rc;
    if (show) {
        char *s = config_to_json(cfg);
        puts(s);
        free(s);
    } else if (get) {
        rc = config_get_cmd(cli, cfg, argv[2]);
    } else {
        rc = config_set_cmd(cfg, path, argv[2], argv[3]);
    }
    config_free(cfg);
    free(path);
    return rc;
}
