/* Commands of the libp2p host: swarm peers|known|connect|disconnect, ping, id <peer>,
 * diag echo|bulk. Each is one API call (routes_swarm.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"

const char usage_swarm[] =
    "usage: lester swarm peers [--json]\n"
    "       lester swarm known [--json]\n"
    "       lester swarm connect <multiaddr> [--json]\n"
    "       lester swarm disconnect <peer> [--json]\n\n"
    "peers       list connected peers: peer ID, state, trust, direction, latency\n"
    "            (libp2p ping round trip), agent version and remote address\n"
    "known       list the peer store: every known peer with its state, trust, last\n"
    "            seen, dial backoff and addresses (cached across restarts)\n"
    "connect     dial a multiaddr such as /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...; with\n"
    "            /p2p/<id> the remote must prove that identity\n"
    "disconnect  close every connection to a peer (it is not redialled for a while)\n";

const char usage_ping[] =
    "usage: lester ping <peer|multiaddr> [-n COUNT] [--json]\n\n"
    "Send libp2p pings (/ipfs/ping/1.0.0) and print each round trip. A peer ID is\n"
    "dialled from its known addresses; a multiaddr is dialled first. COUNT defaults\n"
    "to 3.\n";

const char usage_diag[] =
    "usage: lester diag echo <peer|multiaddr> [--streams N] [--bytes N] [--json]\n"
    "       lester diag bulk <peer|multiaddr> [--bytes N] [--json]\n\n"
    "Test streams to a peer serving /lester/echo/1.0.0 or /lester/bulk/1.0.0: echo\n"
    "writes random bytes on N streams at once and checks they come back intact; bulk\n"
    "sends BYTES on one stream. Prints the outcome and the rate.\n";

static void
print_peer(json_t *p)
{
    json_t *lat = json_object_get(p, "latency_ms");
    char latency[32] = "-";
    if (json_is_number(lat))
        snprintf(latency, sizeof latency, "%.2fms", json_number_value(lat));
    const char *agent = json_string_value(json_object_get(p, "agent"));
    printf("%-52s  %-6s  %.3f  %-8s  %9s  %-16s  %s\n",
           json_string_value(json_object_get(p, "peer")),
           json_string_value(json_object_get(p, "state")),
           json_number_value(json_object_get(p, "trust")),
           json_string_value(json_object_get(p, "direction")), latency, agent ? agent : "?",
           json_string_value(json_object_get(p, "addr")));
}

static void
print_known(json_t *p)
{
    char seen[32] = "never", backoff[32] = "-";
    json_t *ago = json_object_get(p, "last_seen_ago_s");
    if (json_is_number(ago))
        snprintf(seen, sizeof seen, "%.0fs ago", json_number_value(ago));
    double b = json_number_value(json_object_get(p, "backoff_s"));
    if (b > 0)
        snprintf(backoff, sizeof backoff, "%.0fs", b);
    printf("%-52s  %-10s  %.3f  %-12s  backoff %-6s", json_string_value(json_object_get(p, "peer")),
           json_string_value(json_object_get(p, "state")),
           json_number_value(json_object_get(p, "trust")), seen, backoff);
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(p, "addrs"), i, a) printf("  %s", json_string_value(a));
    printf("\n");
}

/* GET `path`'s {"peers": [...]}: as JSON (--json), one line each, or `none`. */
static int
list_peers(cli_t *cli, const char *cmd, const char *path, const char *none,
           void (*print)(json_t *p))
{
    client_resp_t r;
    int rc = client_call_ok(cli, cmd, "GET", path, NULL, &r);
    if (rc != EXIT_OK)
        return rc;
    json_t *peers = json_object_get(r.json, "peers");
    size_t i;
    json_t *p;
    if (cli->json)
        cli_print_json(json_incref(peers));
    else if (json_array_size(peers) == 0)
        printf("%s\n", none);
    else
        json_array_foreach(peers, i, p) print(p);
    client_resp_free(&r);
    return EXIT_OK;
}

static int
swarm_peers(cli_t *cli)
{
    return list_peers(cli, "swarm peers", "/api/v0/swarm/peers", "no peers connected", print_peer);
}

static int
swarm_known(cli_t *cli)
{
    return list_peers(cli, "swarm known", "/api/v0/swarm/known", "no known peers", print_known);
}

int
cmd_swarm(cli_t *cli, int argc, char **argv)
{
    if (argc < 2)
        return cli_fail(EXIT_USAGE, "swarm", "give peers, known, connect or disconnect");
    const char *sub = argv[1];
    if (strcmp(sub, "peers") == 0)
        return swarm_peers(cli);
    if (strcmp(sub, "known") == 0)
        return swarm_known(cli);
    bool connect = strcmp(sub, "connect") == 0;
    if (!connect && strcmp(sub, "disconnect") != 0)
        return cli_fail(EXIT_USAGE, "swarm", "unknown subcommand '%s'", sub);
    if (argc != 3)
        return cli_fail(EXIT_USAGE, "swarm", "%s needs one %s", sub,
                        connect ? "multiaddr" : "peer ID");
    client_resp_t r;
    int rc = client_call_ok(cli, connect ? "swarm connect" : "swarm disconnect", "POST",
                            connect ? "/api/v0/swarm/connect" : "/api/v0/swarm/disconnect",
                            json_pack("{s:s}", connect ? "addr" : "peer", argv[2]), &r);
    if (rc != EXIT_OK)
        return rc;
    if (cli->json)
        cli_print_json(json_incref(r.json));
    else if (connect)
        printf("connected to %s\n", json_string_value(json_object_get(r.json, "peer")));
    else
        printf("closed %lld connection(s)\n",
               (long long)json_integer_value(json_object_get(r.json, "closed")));
    client_resp_free(&r);
    return EXIT_OK;
}

/* Parse "--name N" / "-n N" options after the target; returns false on a bad one. */
static bool
int_opt(int argc, char **argv, int *i, const char *name, const char *alias, long long *out)
{
    if (strcmp(argv[*i], name) != 0 && !(alias && strcmp(argv[*i], alias) == 0))
        return false;
    if (*i + 1 >= argc)
        return false;
    char *end;
    long long v = strtoll(argv[++*i], &end, 10);
    if (*end || v <= 0)
        return false;
    *out = v;
    return true;
}

int
cmd_ping(cli_t *cli, int argc, char **argv)
{
    long long count = 3;
    const char *target = NULL;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0' && argv[i][0] != '/') {
            if (!int_opt(argc, argv, &i, "--count", "-n", &count))
                return cli_fail(EXIT_USAGE, "ping", "bad option '%s'", argv[i]);
        } else if (!target) {
            target = argv[i];
        } else {
            return cli_fail(EXIT_USAGE, "ping", "give one peer or multiaddr");
        }
    }
    if (!target)
        return cli_fail(EXIT_USAGE, "ping", "give a peer ID or a multiaddr");
    client_resp_t r;
    int rc = client_call_ok(cli, "ping", "POST", "/api/v0/ping",
                            json_pack("{s:s,s:I}", "peer", target, "count", (json_int_t)count),
                            &r);
    if (rc != EXIT_OK)
        return rc;
    if (cli->json) {
        cli_print_json(json_incref(r.json));
    } else {
        const char *peer = json_string_value(json_object_get(r.json, "peer"));
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(r.json, "rtts_ms"), i, v)
            printf("pong from %s: time=%.3f ms\n", peer, json_number_value(v));
        printf("average %.3f ms\n", json_number_value(json_object_get(r.json, "avg_ms")));
    }
    client_resp_free(&r);
    return EXIT_OK;
}

static void
print_list(const char *title, json_t *arr)
{
    size_t i;
    json_t *v;
    printf("%s\n", title);
    json_array_foreach(arr, i, v) printf("  %s\n", json_string_value(v));
}

/* `lester id <peer>`: identify a remote peer now. */
int
cmd_id_remote(cli_t *cli, const char *target)
{
    client_resp_t r;
    int rc = client_call_ok(cli, "id", "POST", "/api/v0/swarm/identify",
                            json_pack("{s:s}", "peer", target), &r);
    if (rc != EXIT_OK)
        return rc;
    if (cli->json) {
        cli_print_json(json_incref(r.json));
        client_resp_free(&r);
        return EXIT_OK;
    }
    const char *agent = json_string_value(json_object_get(r.json, "agent_version"));
    const char *observed = json_string_value(json_object_get(r.json, "observed_addr"));
    printf("peer ID:          %s\n", json_string_value(json_object_get(r.json, "peer")));
    printf("agent version:    %s\n", agent ? agent : "?");
    printf("public key:       %s\n", json_string_value(json_object_get(r.json, "public_key")));
    printf("observed address: %s\n", observed ? observed : "-");
    print_list("protocols:", json_object_get(r.json, "protocols"));
    print_list("listen addresses:", json_object_get(r.json, "listen_addrs"));
    client_resp_free(&r);
    return EXIT_OK;
}

int
cmd_diag(cli_t *cli, int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "echo") != 0 && strcmp(argv[1], "bulk") != 0))
        return cli_fail(EXIT_USAGE, "diag", "give echo or bulk, then a peer");
    bool echo = strcmp(argv[1], "echo") == 0;
    long long streams = 1, bytes = echo ? 1 << 20 : 64 << 20;
    for (int i = 3; i < argc; i++)
        if (!int_opt(argc, argv, &i, "--streams", NULL, &streams) &&
            !int_opt(argc, argv, &i, "--bytes", NULL, &bytes))
            return cli_fail(EXIT_USAGE, "diag", "bad option '%s'", argv[i]);
    client_resp_t r;
    int rc = client_call_ok(cli, "diag", "POST", echo ? "/api/v0/diag/echo" : "/api/v0/diag/bulk",
                            json_pack("{s:s,s:I,s:I}", "peer", argv[2], "streams",
                                      (json_int_t)streams, "bytes", (json_int_t)bytes),
                            &r);
    if (rc != EXIT_OK)
        return rc;
    if (cli->json)
        cli_print_json(json_incref(r.json));
    else
        printf("%lld stream(s) ok, %lld failed, %.1f ms, %.1f MB/s\n",
               (long long)json_integer_value(json_object_get(r.json, "ok_streams")),
               (long long)json_integer_value(json_object_get(r.json, "failed_streams")),
               json_number_value(json_object_get(r.json, "ms")),
               json_number_value(json_object_get(r.json, "mbps")));
    client_resp_free(&r);
    return EXIT_OK;
}
