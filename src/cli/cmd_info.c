/* Commands that ask the daemon: id, version, status, shutdown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "lib/err/err.h"
#include "lib/peerid/peerid.h"
#include "node/home/home.h"

const char usage_id[] =
    "usage: lester id [<peer|multiaddr>] [--json]\n\n"
    "With a peer ID or multiaddr: identify that remote peer now (agent version,\n"
    "protocols, listen addresses, and the address it observes us at).\n\n"
    "Show this node's peer ID, public key (base64 protobuf, as libp2p encodes it),\n"
    "agent version and listen addresses (full multiaddrs ending in /p2p/<id>). Without\n"
    "a running daemon, the peer ID and key are read from the identity file.\n";

const char usage_version[] =
    "usage: lester version [--json]\n\nShow the version of this program and of the running "
    "daemon, if any.\n";

const char usage_status[] =
    "usage: lester status [--json]\n\n"
    "Say whether the daemon of this data directory is running, with its peer ID, API\n"
    "address and uptime. Exits 3 when it is not running.\n";

const char usage_shutdown[] =
    "usage: lester shutdown\n\nStop the running daemon cleanly (as SIGTERM does).\n";

static void
print_id(const cli_t *cli, json_t *j)
{
    if (cli->json) {
        cli_print_json(json_incref(j));
        return;
    }
    printf("peer ID:       %s\n", json_string_value(json_object_get(j, "id")));
    printf("public key:    %s\n", json_string_value(json_object_get(j, "public_key")));
    const char *agent = json_string_value(json_object_get(j, "agent_version"));
    if (agent)
        printf("agent version: %s\n", agent);
    json_t *addrs = json_object_get(j, "addresses");
    size_t i;
    json_t *a;
    if (json_array_size(addrs))
        printf("addresses:\n");
    json_array_foreach(addrs, i, a) printf("  %s\n", json_string_value(a));
}

/* Without a daemon: the identity from the home (needs the passphrase if encrypted). */
static int
id_offline(const cli_t *cli)
{
    buf_t err = BUF_INIT(4096);
    char *pass = NULL;
    ed25519_keypair_t kp;
    int rc = home_passphrase(NULL, &pass, &err);
    if (rc == 0)
        rc = home_load_identity(cli->home, pass, &kp, &err);
    if (pass) {
        sodium_memzero(pass, strlen(pass));
        free(pass);
    }
    if (rc < 0) {
        rc = cli_fail(rc == LS_ENOENT || rc == -ENOENT ? EXIT_NODAEMON : EXIT_FAIL, "id", "%s",
                      buf_cstr(&err));
        buf_free(&err);
        return rc;
    }
    buf_free(&err);
    peer_id_t id;
    peer_id_from_ed25519(&id, kp.pk);
    ed25519_keypair_wipe(&kp);
    buf_t proto = BUF_INIT(256);
    pubkey_proto_encode(1, kp.pk, ED25519_PK_LEN, &proto);
    char b64[128];
    sodium_bin2base64(b64, sizeof b64, proto.data, proto.len, sodium_base64_VARIANT_ORIGINAL);
    char *s = peer_id_to_str(&id);
    json_t *j = json_pack("{s:s,s:s,s:[]}", "id", s, "public_key", b64, "addresses");
    print_id(cli, j);
    json_decref(j);
    free(s);
    buf_free(&proto);
    return EXIT_OK;
}

int
cmd_id(cli_t *cli, int argc, char **argv)
{
    (void)argv;
    if (argc > 2)
        return cli_fail(EXIT_USAGE, "id", "give at most one peer; see 'lester id --help'");
    if (argc == 2)
        return cmd_id_remote(cli, argv[1]);
    client_resp_t r;
    buf_t err = BUF_INIT(4096);
    int rc = client_call(cli, "GET", "/api/v0/id", NULL, 0, &r, &err);
    buf_free(&err);
    if (rc == LS_ENOTRUNNING && !cli->api_flag)
        return id_offline(cli);
    client_resp_free(&r);
    if ((rc = client_call_ok(cli, "id", "GET", "/api/v0/id", NULL, &r)) != EXIT_OK)
        return rc;
    print_id(cli, r.json);
    client_resp_free(&r);
    return EXIT_OK;
}

int
cmd_version(cli_t *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    client_resp_t r;
    buf_t err = BUF_INIT(4096);
    const char *daemon = NULL;
    if (client_call(cli, "GET", "/api/v0/version", NULL, 0, &r, &err) == 0 && r.status == 200)
        daemon = json_string_value(json_object_get(r.json, "version"));
    if (cli->json)
        cli_print_json(json_pack("{s:s,s:s?}", "version", LESTER_VERSION, "daemon", daemon));
    else
        printf("lester %s%s%s%s\n", LESTER_VERSION, daemon ? " (daemon " : "",
               daemon ? daemon : "", daemon ? ")" : "");
    client_resp_free(&r);
    buf_free(&err);
    return EXIT_OK;
}

int
cmd_status(cli_t *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    client_resp_t r;
    int rc = client_call_ok(cli, "status", "GET", "/health", NULL, &r);
    if (rc != EXIT_OK) {
        if (cli->json)
            cli_print_json(json_pack("{s:b,s:s}", "running", 0, "home", cli->home));
        return rc;
    }
    json_int_t up = json_integer_value(json_object_get(r.json, "uptime_ms"));
    const char *id = json_string_value(json_object_get(r.json, "id"));
    char host[256] = "";
    unsigned port = 0;
    buf_t err = BUF_INIT(1024);
    client_endpoint(cli, host, sizeof host, &port, &err);
    buf_free(&err);
    char api[300];
    snprintf(api, sizeof api, "%s:%u", host, port);
    if (cli->json)
        cli_print_json(json_pack("{s:b,s:s,s:s,s:s,s:I,s:i}", "running", 1, "home", cli->home,
                                 "id", id ? id : "", "api", api, "uptime_ms", up, "pid",
                                 home_daemon_pid(cli->home)));
    else
        printf("running (pid %d)\npeer ID: %s\nAPI:     http://%s:%u\nuptime:  %lld s\n",
               home_daemon_pid(cli->home), id ? id : "?", host, port, (long long)(up / 1000));
    client_resp_free(&r);
    return EXIT_OK;
}

int
cmd_shutdown(cli_t *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    client_resp_t r;
    int rc = client_call_ok(cli, "shutdown", "POST", "/api/v0/shutdown", NULL, &r);
    if (rc == EXIT_OK) {
        if (!cli->json)
            printf("the daemon is stopping\n");
        else
            cli_print_json(json_pack("{s:b}", "stopping", 1));
        client_resp_free(&r);
    }
    return rc;
}
