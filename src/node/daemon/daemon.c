#define LOG_MODULE "daemon"
#include "node/daemon/daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/thread.h>
#include <sodium.h>

#include "lib/clock/clock.h"
#include "lib/crypto/random.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "lib/log/log.h"
#include "node/config/node_config.h"
#include "node/daemon/node.h"
#include "node/daemon/node_content.h"
#include "node/daemon/node_net.h"
#include "node/home/home.h"
#include "node/store/node_store.h"

static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    node_t *n = arg;
    (void)what;
    log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopexit(n->base, NULL);
}

/* SIGHUP: re-read log.level from config.json and reopen the log file (rotation). */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
    node_t *n = arg;
    (void)sig;
    (void)what;
    char *path = home_path(n->home, HOME_CONFIG);
    buf_t err = BUF_INIT(4096);
    config_t *cfg = NULL;
    if (node_config_load(path, &cfg, &err) == 0) {
        log_level_t lvl;
        if (log_level_parse(config_get_str(cfg, "log.level"), &lvl) == 0) {
            log_set_level(lvl);
            log_warn("SIGHUP: log level is now %s", log_level_name(lvl));
        }
        config_free(cfg);
    } else {
        log_warn("SIGHUP: config not reloaded: %s", buf_cstr(&err));
    }
    log_reopen();
    buf_free(&err);
    free(path);
}

static int
setup_logging(const node_t *n, const daemon_opts_t *o, buf_t *err)
{
    const char *lvl_name = o->log_level ? o->log_level : config_get_str(n->cfg, "log.level");
    log_level_t lvl;
    if (log_level_parse(lvl_name, &lvl) < 0) {
        buf_printf(err, "unknown log level '%s' (use error, warn, info, debug or trace)",
                   lvl_name);
        return LS_EINVAL;
    }
    log_set_level(lvl);
    const char *file = o->log_file ? o->log_file : config_get_str(n->cfg, "log.file");
    if (file && *file) {
        int rc = log_set_file(file);
        if (rc < 0) {
            buf_printf(err, "cannot open log file %s: %s", file, strerror(-rc));
            return rc;
        }
    }
    return 0;
}

/* A fresh API token for each run: a stolen cookie dies with the daemon. */
static void
make_token(node_t *n)
{
    uint8_t raw[32];
    char hex[65];
    random_bytes(raw, sizeof raw);
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    n->api_token = ls_strdup(hex);
    sodium_memzero(raw, sizeof raw);
}

/* Write `api` and `api.cookie` so the CLI can find and authenticate to us. */
static int
publish_api(node_t *n, const char *host, buf_t *err)
{
    char *cookie = home_path(n->home, HOME_COOKIE), *api = home_path(n->home, HOME_API);
    buf_t addr = BUF_INIT(256);
    buf_printf(&addr, "/%s/%s/tcp/%u\n", strchr(host, ':') ? "ip6" : "ip4", host, n->api_port);
    int rc = fs_write_atomic(cookie, n->api_token, strlen(n->api_token), 0600);
    if (rc == 0)
        rc = fs_write_atomic(api, addr.data, addr.len, 0644);
    if (rc < 0)
        buf_printf(err, "cannot write API files in %s: %s", n->home, strerror(-rc));
    buf_free(&addr);
    free(cookie);
    free(api);
    return rc;
}

static void
unpublish_api(const node_t *n)
{
    char *cookie = home_path(n->home, HOME_COOKIE), *api = home_path(n->home, HOME_API);
    unlink(api);
    unlink(cookie);
    free(cookie);
    free(api);
}

static double
gauge_uptime(void *ctx)
{
    const node_t *n = ctx;
    return (double)(clock_mono_ms() - n->started_ms) / 1000.0;
}

static double
gauge_db_size(void *ctx)
{
    return (double)db_size_bytes(((node_t *)ctx)->db);
}

static double
gauge_log_errors(void *ctx)
{
    (void)ctx;
    return (double)log_count(LOG_ERROR);
}

static void
setup_metrics(node_t *n)
{
    n->metrics = metrics_new();
    metrics_gauge_fn(n->metrics, "lester_uptime_seconds", "seconds since the daemon started",
                     gauge_uptime, n);
    metrics_gauge_fn(n->metrics, "lester_db_size_bytes", "size of lester.db and its WAL",
                     gauge_db_size, n);
    metrics_gauge_fn(n->metrics, "lester_log_errors", "error lines logged since start",
                     gauge_log_errors, n);
}

/* Storage and identity: everything that needs the disk, before any socket opens. */
static int
open_state(node_t *n, const daemon_opts_t *o, buf_t *err)
{
    int rc;
    char *path = home_path(n->home, HOME_CONFIG);
    rc = node_config_load(path, &n->cfg, err);
    free(path);
    if (rc < 0 || (rc = setup_logging(n, o, err)) < 0)
        return rc;
    if ((rc = home_load_identity(n->home, o->passphrase, &n->key, err)) < 0)
        return rc;
    peer_id_from_ed25519(&n->id, n->key.pk);
    n->id_str = peer_id_to_str(&n->id);
    path = home_path(n->home, HOME_DB);
    rc = node_store_open(path, &n->db, err);
    free(path);
    return rc;
}

/* The loop polls the sockets again after LOOP_SLICE_US of callbacks, or
 * LOOP_SLICE_CALLBACKS of them: jobs that re-activate themselves a slice at a time
 * (add, dag import, cat, CAR answers) would otherwise run back to back before any
 * socket is read — libevent runs what is activated during its callbacks in the same
 * pass — and hold every peer and API client until they end. */
#define LOOP_SLICE_US 5000
#define LOOP_SLICE_CALLBACKS 64

static struct event_base *
new_base(void)
{
    struct event_config *cfg = event_config_new();
    struct timeval slice = { 0, LOOP_SLICE_US };
    if (!cfg)
        return NULL;
    event_config_set_max_dispatch_interval(cfg, &slice, LOOP_SLICE_CALLBACKS, 0);
    struct event_base *base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

static int
start_services(node_t *n, const daemon_opts_t *o, buf_t *err)
{
    n->base = new_base();
    if (!n->base) {
        buf_printf(err, "cannot create the event loop");
        return LS_ENOMEM;
    }
    setup_metrics(n);
    n->pool = workpool_new(n->base, (unsigned)config_get_int(n->cfg, "workers.threads"));
    const char *host = config_get_str(n->cfg, "api.host");
    int port = o->api_port >= 0 ? o->api_port : (int)config_get_int(n->cfg, "api.port");
    make_token(n);
    n->api = api_new(n->base, n->metrics, n->api_token,
                     (size_t)config_get_int(n->cfg, "api.max_body_bytes"));
    node_routes_core(n);
    int rc;
    if ((rc = api_listen(n->api, host, (uint16_t)port, &n->api_port)) < 0) {
        buf_printf(err, "cannot listen for the API on %s:%d: %s (is another program using "
                        "it? set api.port or pass --api-port)", host, port, strerror(-rc));
        return rc;
    }
    if ((rc = node_net_start(n, err)) < 0 || (rc = node_content_start(n, err)) < 0)
        return rc;
    return publish_api(n, host, err);
}

static void
install_signals(node_t *n)
{
    signal(SIGPIPE, SIG_IGN);
    n->sig_int = evsignal_new(n->base, SIGINT, on_stop_signal, n);
    n->sig_term = evsignal_new(n->base, SIGTERM, on_stop_signal, n);
    n->sig_hup = evsignal_new(n->base, SIGHUP, on_hup, n);
    evsignal_add(n->sig_int, NULL);
    evsignal_add(n->sig_term, NULL);
    evsignal_add(n->sig_hup, NULL);
}

static void
teardown(node_t *n)
{
    if (n->api_token)
        unpublish_api(n);
    if (n->sig_int) {
        event_free(n->sig_int);
        event_free(n->sig_term);
        event_free(n->sig_hup);
    }
    node_content_stop(n);       /* before the host: ends downloads, closes the blocks */
    node_net_stop(n);           /* before the API: pending requests get their replies */
    api_free(n->api);
    workpool_free(n->pool);     /* finishes running jobs first */
    db_free(n->db);             /* checkpoints the WAL */
    metrics_free(n->metrics);
    if (n->base)
        event_base_free(n->base);
    config_free(n->cfg);
    ed25519_keypair_wipe(&n->key);
    if (n->api_token) {
        sodium_memzero(n->api_token, strlen(n->api_token));
        free(n->api_token);
    }
    free(n->id_str);
    home_unlock(n->lock_fd);
    free(n->home);
}

int
daemon_run(const daemon_opts_t *o)
{
    node_t n = { .lock_fd = -1, .home = ls_strdup(o->home), .started_ms = clock_mono_ms() };
    buf_t err = BUF_INIT(4096);
    int rc;
    ls_crypto_init();
    if ((rc = home_check(n.home, &err)) < 0 || (rc = home_lock(n.home, &n.lock_fd, &err)) < 0 ||
        (rc = open_state(&n, o, &err)) < 0 || (rc = start_services(&n, o, &err)) < 0) {
        fprintf(stderr, "lester daemon: %s\n", buf_cstr(&err));
        goto out;
    }
    install_signals(&n);
    log_info("peer %s, API on http://%s:%u, data in %s", n.id_str,
             config_get_str(n.cfg, "api.host"), n.api_port, n.home);
    printf("Daemon is ready\nPeer ID: %s\nAPI: http://%s:%u\n", n.id_str,
           config_get_str(n.cfg, "api.host"), n.api_port);
    fflush(stdout);
    event_base_dispatch(n.base);
    log_info("stopped");
out:
    teardown(&n);
    buf_free(&err);
    return rc;
}
