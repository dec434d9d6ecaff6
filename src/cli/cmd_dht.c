/* `lester dht ...`: the Kademlia DHT through the API (routes_dht.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/cli.h"
#include "cli/client.h"

/* Largest value file read; the daemon refuses records past its own limit (16 KiB). */
#define VALUE_READ_MAX (64 * 1024)

const char usage_dht[] =
    "usage: lester dht findpeer <peer> [--json]\n"
    "       lester dht put <key> <file|-> [--json]\n"
    "       lester dht get <key> [--json]\n"
    "       lester dht provide <cid> [--json]\n"
    "       lester dht findprovs <cid> [-n MAX] [--json]\n"
    "       lester dht closest <key> [--json]\n"
    "       lester dht routing [--json]\n\n"
    "findpeer   look a peer up in the DHT and print its multiaddrs\n"
    "put        store the bytes of FILE (or standard input with '-') under KEY, a name\n"
    "           of the form /lester/<name> (e.g. /lester/hello). The value is signed\n"
    "           with this node's key, with a sequence number, timestamp and expiry\n"
    "           (dht.value_ttl_s); only this node may replace it until it expires.\n"
    "           Prints how many of the closest peers stored it. At most ~15 KiB.\n"
    "get        print the value stored under KEY exactly as it was put; with --json the\n"
    "           whole verified record: publisher, seq, ts_ms, exp_ms, value (base64)\n"
    "provide    announce this node as a provider of CID\n"
    "findprovs  print the peers that provide CID, at most MAX (20): one block of lines\n"
    "           each, its peer ID, addresses and the metadata it signed when it\n"
    "           announced (protocols, HTTP endpoints, wallet, price per MB, chunks);\n"
    "           --json the full structures\n"
    "closest    the closest peers to KEY that answered, nearest first (FIND_NODE)\n"
    "routing    routing table statistics: peers per bucket, replacement cache, records,\n"
    "           requests by type\n"
    "Errors: 'not found' when no peer holds it, 'no DHT peer known yet' before the node\n"
    "has met a peer that serves the DHT.\n";

static void
print_addrs(json_t *addrs)
{
    size_t i;
    json_t *a;
    json_array_foreach(addrs, i, a) printf("%s\n", json_string_value(a));
}

/* "  label      a, b, c" for a non-empty JSON array (strings or integers). */
static void
print_list(const char *label, json_t *arr)
{
    size_t i;
    json_t *v;
    if (!json_array_size(arr))
        return;
    printf("  %-10s", label);
    json_array_foreach(arr, i, v) {
        if (json_is_string(v))
            printf("%s%s", i ? ", " : "", json_string_value(v));
        else
            printf("%s%lld", i ? ", " : "", (long long)json_integer_value(v));
    }
    printf("\n");
}

/* One block of lines per provider: its peer ID, then its addresses and what its
 * signed metadata (seed 004) announces; a blank line between providers. */
static void
print_providers(json_t *providers)
{
    size_t i, j;
    json_t *p, *a;
    json_array_foreach(providers, i, p) {
        printf("%s%s\n", i ? "\n" : "", json_string_value(json_object_get(p, "peer")));
        json_array_foreach(json_object_get(p, "addrs"), j, a)
            printf("  %-10s%s\n", j ? "" : "addrs", json_string_value(a));
        json_t *m = json_object_get(p, "metadata");
        if (!m) {
            printf("  %-10s%s\n", "metadata", "none (a plain provider record)");
            continue;
        }
        print_list("protocols", json_object_get(m, "protocols"));
        json_array_foreach(json_object_get(m, "endpoints"), j, a)
            printf("  %-10s%s\n", j ? "" : "http", json_string_value(a));
        if (json_object_get(m, "wallet"))
            printf("  %-10s%s\n", "wallet", json_string_value(json_object_get(m, "wallet")));
        if (json_object_get(m, "price_per_mb"))
            printf("  %-10s%lld per MB\n", "price",
                   (long long)json_integer_value(json_object_get(m, "price_per_mb")));
        print_list("chunks", json_object_get(m, "chunks"));
    }
}

static int
read_value(const char *path, char **b64)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return cli_fail(EXIT_FAIL, "dht put", "cannot open %s", path);
    unsigned char *data = malloc(VALUE_READ_MAX + 1);
    size_t n = data ? fread(data, 1, VALUE_READ_MAX + 1, f) : 0;
    if (f != stdin)
        fclose(f);
    if (!data || n > VALUE_READ_MAX) {
        free(data);
        return cli_fail(EXIT_FAIL, "dht put", "%s is larger than %d bytes", path, VALUE_READ_MAX);
    }
    size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    *b64 = malloc(cap);
    if (*b64)
        sodium_bin2base64(*b64, cap, data, n, sodium_base64_VARIANT_ORIGINAL);
    free(data);
    return *b64 ? EXIT_OK : EXIT_FAIL;
}

static int
dht_put(cli_t *cli, const char *key, const char *path)
{
    char *b64 = NULL;
    int rc = read_value(path, &b64);
    if (rc != EXIT_OK)
        return rc;
    client_resp_t r;
    rc = client_call_ok(cli, "dht put", "POST", "/api/v0/dht/put",
                        json_pack("{s:s,s:s}", "key", key, "value", b64), &r);
    free(b64);
    if (rc != EXIT_OK)
        return rc;
    json_int_t ok = json_integer_value(json_object_get(r.json, "peers_ok"));
    if (cli->json)
        cli_print_json(json_incref(r.json));
    else if (ok == 0)
        printf("stored %s locally only: no DHT peer took it (none reachable yet, or the key "
               "is another publisher's until it expires); it is republished\n", key);
    else
        printf("stored %s (seq %lld) at %lld peer(s)\n", key,
               (long long)json_integer_value(json_object_get(r.json, "seq")), (long long)ok);
    client_resp_free(&r);
    return ok == 0 ? EXIT_FAIL : EXIT_OK;
}

static int
dht_get(cli_t *cli, const char *key)
{
    client_resp_t r;
    int rc = client_call_ok(cli, "dht get", "POST", "/api/v0/dht/get",
                            json_pack("{s:s}", "key", key), &r);
    if (rc != EXIT_OK)
        return rc;
    if (cli->json) {
        cli_print_json(json_incref(r.json));
    } else {
        const char *v = json_string_value(json_object_get(r.json, "value"));
        size_t cap = v ? strlen(v) : 0, n = 0;
        unsigned char *data = malloc(cap + 1);
        if (data && v &&
            sodium_base642bin(data, cap + 1, v, cap, NULL, &n, NULL,
                              sodium_base64_VARIANT_ORIGINAL) == 0)
            fwrite(data, 1, n, stdout);
        else
            rc = cli_fail(EXIT_FAIL, "dht get", "the daemon sent a malformed value");
        free(data);
    }
    client_resp_free(&r);
    return rc;
}

static int
dht_simple(cli_t *cli, const char *sub, const char *arg, long long max)
{
    static const struct {
        const char *sub, *path, *field;
    } ops[] = {
        {"findpeer", "/api/v0/dht/findpeer", "peer"}, {"provide", "/api/v0/dht/provide", "cid"},
        {"findprovs", "/api/v0/dht/findprovs", "cid"}, {"closest", "/api/v0/dht/closest", "key"},
    };
    size_t k = 0;
    while (k < sizeof ops / sizeof ops[0] && strcmp(ops[k].sub, sub) != 0)
        k++;
    if (k == sizeof ops / sizeof ops[0])
        return cli_fail(EXIT_USAGE, "dht", "unknown subcommand '%s'", sub);
    char cmd[32];
    snprintf(cmd, sizeof cmd, "dht %s", sub);
    client_resp_t r;
    int rc = client_call_ok(cli, cmd, "POST", ops[k].path,
                            json_pack("{s:s,s:I}", ops[k].field, arg, "max", (json_int_t)max), &r);
    if (rc != EXIT_OK)
        return rc;
    size_t i;
    json_t *p;
    if (cli->json) {
        cli_print_json(json_incref(r.json));
    } else if (k == 0) {
        print_addrs(json_object_get(r.json, "addrs"));
    } else if (k == 1) {
        printf("providing %s: announced to %lld peer(s)\n", arg,
               (long long)json_integer_value(json_object_get(r.json, "peers_ok")));
    } else if (k == 2) {
        print_providers(json_object_get(r.json, "providers"));
    } else {
        json_array_foreach(json_object_get(r.json, "peers"), i, p)
            printf("%s\n", json_string_value(p));
    }
    client_resp_free(&r);
    return EXIT_OK;
}

static int
dht_routing(cli_t *cli)
{
    client_resp_t r;
    int rc = client_call_ok(cli, "dht routing", "GET", "/api/v0/dht/routing", NULL, &r);
    if (rc != EXIT_OK)
        return rc;
    if (cli->json) {
        cli_print_json(json_incref(r.json));
        client_resp_free(&r);
        return EXIT_OK;
    }
    json_t *j = r.json;
    printf("mode %s, %lld peers, %lld replacements, %lld records, %lld provider records\n",
           json_string_value(json_object_get(j, "mode")),
           (long long)json_integer_value(json_object_get(j, "size")),
           (long long)json_integer_value(json_object_get(j, "replacements")),
           (long long)json_integer_value(json_object_get(j, "records")),
           (long long)json_integer_value(json_object_get(j, "provider_records")));
    printf("bucket  peers  replacements\n");
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(j, "buckets"), i, b)
        printf("%6lld  %5lld  %12lld\n", (long long)json_integer_value(json_object_get(b, "cpl")),
               (long long)json_integer_value(json_object_get(b, "peers")),
               (long long)json_integer_value(json_object_get(b, "replacements")));
    client_resp_free(&r);
    return EXIT_OK;
}

int
cmd_dht(cli_t *cli, int argc, char **argv)
{
    long long max = 20;
    char *args[4];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            char *end;
            max = strtoll(argv[++i], &end, 10);
            if (*end || max <= 0 || max > 64)
                return cli_fail(EXIT_USAGE, "dht", "-n takes a number from 1 to 64");
        } else if (n < 4) {
            args[n++] = argv[i];
        } else {
            return cli_fail(EXIT_USAGE, "dht", "too many arguments");
        }
    }
    if (n == 0)
        return cli_fail(EXIT_USAGE, "dht",
                        "give findpeer, put, get, provide, findprovs, closest or routing");
    const char *sub = args[0];
    if (strcmp(sub, "routing") == 0)
        return n == 1 ? dht_routing(cli) : cli_fail(EXIT_USAGE, "dht", "routing takes no argument");
    if (strcmp(sub, "put") == 0)
        return n == 3 ? dht_put(cli, args[1], args[2])
                      : cli_fail(EXIT_USAGE, "dht", "put needs a key and a file (or -)");
    if (n != 2)
        return cli_fail(EXIT_USAGE, "dht", "%s needs one argument (see lester dht --help)", sub);
    if (strcmp(sub, "get") == 0)
        return dht_get(cli, args[1]);
    return dht_simple(cli, sub, args[1], max);
}
