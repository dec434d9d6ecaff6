/* lester devnet — N daemons on loopback, each with its own home under one directory,
 * every node after the first bootstrapping from the first. Used by `make demo` and by
 * the cluster tests. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "lib/clock/clock.h"
#include "lib/config/config.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "lib/mem/mem.h"
#include "node/config/node_config.h"
#include "node/home/home.h"

#define DEVNET_MAX 256

const char usage_devnet[] =
    "usage: lester devnet up [-n N] [--dir DIR] [--log-level LEVEL]\n"
    "       lester devnet status [--dir DIR] [--json]\n"
    "       lester devnet down [--dir DIR]\n\n"
    "Run N local daemons (default 4) on free loopback ports, homes in DIR/node0 ...\n"
    "(default ./devnet). Nodes after the first bootstrap from node0. `up` on a running\n"
    "devnet starts only what is stopped. `down` stops them cleanly (SIGTERM, then\n"
    "SIGKILL after 10 s).\n";

typedef struct devnet_t {
    const char *dir;
    int n;
    const char *log_level;
} devnet_t;

static char *
node_home(const devnet_t *d, int i)
{
    char name[32];
    snprintf(name, sizeof name, "node%d", i);
    return fs_join(d->dir, name);
}

static int
count_nodes(const devnet_t *d)
{
    int n = 0;
    for (; n < DEVNET_MAX; n++) {
        char *h = node_home(d, n);
        bool ok = fs_exists(h);
        free(h);
        if (!ok)
            break;
    }
    return n;
}

/* Loopback, ephemeral ports, bootstrap from node0 (if known yet). */
static int
prepare_home(const char *home, const char *bootstrap, buf_t *err)
{
    if (!fs_exists(home)) {
        home_init_opts_t o = { 0 };
        ed25519_keypair_t kp;
        int rc = home_init(home, &o, &kp, err);
        ed25519_keypair_wipe(&kp);
        if (rc < 0)
            return rc;
    }
    char *path = home_path(home, HOME_CONFIG);
    config_t *cfg = NULL;
    int rc = node_config_load(path, &cfg, err);
    if (rc == 0) {
        char *log = fs_join(home, "daemon.log");
        buf_t boot = BUF_INIT(4096);
        buf_printf(&boot, "[%s%s%s]", bootstrap ? "\"" : "", bootstrap ? bootstrap : "",
                   bootstrap ? "\"" : "");
        if ((rc = config_set(cfg, "api.port", "0", err)) == 0 &&
            (rc = config_set(cfg, "swarm.listen", "[\"/ip4/127.0.0.1/tcp/0\"]", err)) == 0 &&
            (rc = config_set(cfg, "swarm.bootstrap", buf_cstr(&boot), err)) == 0 &&
            (rc = config_set(cfg, "log.file", log, err)) == 0)
            rc = config_save(cfg, path);
        buf_free(&boot);
        free(log);
        config_free(cfg);
    }
    free(path);
    return rc;
}

static pid_t
spawn_daemon(const char *home, const char *log_level)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setsid();
    char *out = fs_join(home, "daemon.out");
    int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0600);
    int nul = open("/dev/null", O_RDONLY);
    if (fd >= 0 && nul >= 0) {
        dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
    }
    char *argv[] = { exe, "--home", (char *)home, "daemon", "--log-level",
                     (char *)(log_level ? log_level : "info"), NULL };
    execv(exe, argv);
    _exit(127);
}

static json_t *
query_id(const char *home)
{
    cli_t c = { .home = (char *)home };
    client_resp_t r;
    buf_t err = BUF_INIT(1024);
    json_t *id = NULL;
    if (client_call(&c, "GET", "/api/v0/id", NULL, 0, &r, &err) == 0 && r.status == 200)
        id = json_incref(r.json);
    client_resp_free(&r);
    buf_free(&err);
    return id;
}

/* Poll until the daemon answers /api/v0/id; NULL if it died or timed out. */
static json_t *
wait_ready(const char *home, pid_t pid, uint64_t timeout_ms)
{
    uint64_t until = clock_mono_ms() + timeout_ms;
    while (clock_mono_ms() < until) {
        if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
            return NULL;
        char *api = home_path(home, HOME_API);
        bool published = fs_exists(api);
        free(api);
        json_t *id = published ? query_id(home) : NULL;
        if (id)
            return id;
        struct timespec ts = { 0, 20 * 1000000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static const char *
first_address(json_t *id)
{
    return json_string_value(json_array_get(json_object_get(id, "addresses"), 0));
}

/* Start node i unless it already runs (then *pid is 0). 0 or a negative error. */
static int
start_node(const devnet_t *d, int i, const char *bootstrap, pid_t *pid)
{
    char *home = node_home(d, i);
    buf_t err = BUF_INIT(4096);
    int rc = 0;
    *pid = 0;
    if (home_daemon_pid(home) <= 0) {
        if ((rc = prepare_home(home, bootstrap, &err)) < 0)
            cli_fail(EXIT_FAIL, "devnet", "node%d: %s", i, buf_cstr(&err));
        else if ((*pid = spawn_daemon(home, d->log_level)) < 0)
            rc = -errno;
    }
    buf_free(&err);
    free(home);
    return rc;
}

static json_t *
await_node(const devnet_t *d, int i, pid_t pid)
{
    char *home = node_home(d, i);
    json_t *id = wait_ready(home, pid, 30000);
    if (!id)
        cli_fail(EXIT_FAIL, "devnet", "node%d did not come up; see %s/daemon.out and "
                 "daemon.log", i, home);
    free(home);
    return id;
}

static int devnet_status(const devnet_t *d, bool json);

static int
devnet_up(const devnet_t *d)
{
    if (d->n < 1 || d->n > DEVNET_MAX)
        return cli_fail(EXIT_USAGE, "devnet", "-n must be between 1 and %d", DEVNET_MAX);
    int rc = fs_mkdir_p(d->dir, 0700);
    if (rc < 0)
        return cli_fail(EXIT_FAIL, "devnet", "cannot create %s: %s", d->dir, strerror(-rc));
    pid_t pids[DEVNET_MAX];
    if (start_node(d, 0, NULL, &pids[0]) < 0)
        return EXIT_FAIL;
    json_t *first = await_node(d, 0, pids[0]);
    if (!first)
        return EXIT_FAIL;
    const char *boot = first_address(first);
    for (int i = 1; i < d->n && rc == 0; i++)
        rc = start_node(d, i, boot, &pids[i]);
    for (int i = 1; i < d->n && rc == 0; i++) {
        json_t *id = await_node(d, i, pids[i]);
        rc = id ? 0 : -1;
        json_decref(id);
    }
    json_decref(first);
    if (rc < 0)
        return EXIT_FAIL;
    return devnet_status(d, false);
}

static json_t *
node_status(const devnet_t *d, int i)
{
    char *home = node_home(d, i);
    char name[32];
    snprintf(name, sizeof name, "node%d", i);
    int pid = home_daemon_pid(home);
    json_t *id = pid > 0 ? query_id(home) : NULL;
    char *apif = home_path(home, HOME_API);
    buf_t api = BUF_INIT(1024);
    if (pid > 0)
        fs_read_all(apif, 1024, &api);
    while (api.len && (api.data[api.len - 1] == '\n'))
        api.len--;
    json_t *j = json_pack("{s:s,s:s,s:b,s:i,s:s?,s:s?,s:O?}", "name", name, "home", home,
                          "running", id != NULL, "pid", pid, "id",
                          id ? json_string_value(json_object_get(id, "id")) : NULL, "api",
                          api.len ? buf_cstr(&api) : NULL, "addresses",
                          id ? json_object_get(id, "addresses") : NULL);
    json_decref(id);
    buf_free(&api);
    free(apif);
    free(home);
    return j;
}

static int
devnet_status(const devnet_t *d, bool json)
{
    int n = count_nodes(d);
    json_t *all = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(all, node_status(d, i));
    if (json) {
        cli_print_json(all);
        return EXIT_OK;
    }
    if (n == 0)
        printf("no devnet in %s ('lester devnet up' starts one)\n", d->dir);
    size_t i;
    json_t *node;
    json_array_foreach(all, i, node) {
        const char *id = json_string_value(json_object_get(node, "id"));
        printf("%-7s %-8s %-52s api %s\n", json_string_value(json_object_get(node, "name")),
               id ? "running" : "stopped", id ? id : "-",
               id ? json_string_value(json_object_get(node, "api")) : "-");
        size_t k;
        json_t *a;
        json_array_foreach(json_object_get(node, "addresses"), k, a)
            printf("        swarm %s\n", json_string_value(a));
    }
    json_decref(all);
    return EXIT_OK;
}

static bool
wait_stopped(const char *home, uint64_t timeout_ms)
{
    uint64_t until = clock_mono_ms() + timeout_ms;
    while (clock_mono_ms() < until) {
        if (home_daemon_pid(home) <= 0)
            return true;
        struct timespec ts = { 0, 20 * 1000000 };
        nanosleep(&ts, NULL);
    }
    return false;
}

static int
devnet_down(const devnet_t *d)
{
    int n = count_nodes(d), stopped = 0;
    for (int i = 0; i < n; i++) {
        char *home = node_home(d, i);
        int pid = home_daemon_pid(home);
        if (pid > 0 && kill(pid, SIGTERM) == 0) {
            if (!wait_stopped(home, 10000)) {
                fprintf(stderr, "node%d (pid %d) ignored SIGTERM; killing it\n", i, pid);
                kill(pid, SIGKILL);
                wait_stopped(home, 5000);
            }
            stopped++;
        }
        free(home);
    }
    printf("stopped %d node%s in %s\n", stopped, stopped == 1 ? "" : "s", d->dir);
    return EXIT_OK;
}

int
cmd_devnet(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "dir", required_argument, NULL, 'd' },
                                          { "log-level", required_argument, NULL, 'l' },
                                          { 0 } };
    devnet_t d = { .dir = "devnet", .n = 4 };
    if (argc < 2)
        return cli_fail(EXIT_USAGE, "devnet", "say up, status or down");
    const char *sub = argv[1];
    optind = 0;
    for (int c; (c = getopt_long(argc - 1, argv + 1, "+n:", opts, NULL)) != -1;) {
        char *end;
        if (c == 'd') {
            d.dir = optarg;
        } else if (c == 'l') {
            d.log_level = optarg;
        } else if (c == 'n') {
            d.n = (int)strtol(optarg, &end, 10);
            if (*end)
                return cli_fail(EXIT_USAGE, "devnet", "-n wants a number");
        } else {
            return cli_fail(EXIT_USAGE, "devnet", "see 'lester devnet --help'");
        }
    }
    if (strcmp(sub, "up") == 0)
        return devnet_up(&d);
    if (strcmp(sub, "status") == 0)
        return devnet_status(&d, cli->json);
    if (strcmp(sub, "down") == 0)
        return devnet_down(&d);
    return cli_fail(EXIT_USAGE, "devnet", "unknown subcommand '%s' (up, status, down)", sub);
}
