/* Commands of GossipSub and the trust manager: pubsub sub|pub|ls|peers, trust
 * show|list (routes_pubsub.c, routes_trust.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "lib/buf/buf.h"

#define PUB_MAX (768u << 10) /* base64 of it fits the API's default body limit */

const char usage_pubsub[] =
    "usage: lester pubsub sub <topic> [--count N] [--json]\n"
    "       lester pubsub pub <topic> <data|-> [--json]\n"
    "       lester pubsub ls [--json]\n"
    "       lester pubsub peers <topic> [--json]\n\n"
    "sub    subscribe and print each message as it arrives: its data on its own line\n"
    "       as published, or with --json one object per line (topic, from, seqno,\n"
    "       id, data in base64, received_ms). Runs until interrupted, or N messages.\n"
    "pub    publish data (the argument, or standard input with '-', up to 768 KiB),\n"
    "       signed by this node (StrictSign); prints how many peers it went to\n"
    "ls     topics this node subscribes to\n"
    "peers  peers known to subscribe to a topic, whether they are in our mesh, and\n"
    "       their gossip score\n";

const char usage_trust[] =
    "usage: lester trust list [--json]\n"
    "       lester trust show <peer> [--json]\n\n"
    "list  peers the trust manager holds, highest trust first (trust, reputation,\n"
    "      connected)\n"
    "show  one peer: trust, reputation = 0.6 trust + 0.2 trend + 0.2 stats (seed 001),\n"
    "      its counters and gossip score, and its recent trust events with reasons\n";

typedef struct sub_ctx_t {
    bool json;
    long left; /* messages still wanted; < 0: no limit */
} sub_ctx_t;

static bool
sub_line(void *ctx, const char *line, size_t len)
{
    sub_ctx_t *sc = ctx;
    if (sc->json) {
        fwrite(line, 1, len, stdout);
        fputc('\n', stdout);
    } else {
        json_t *j = json_loadb(line, len, 0, NULL);
        const char *b64 = json_string_value(json_object_get(j, "data"));
        size_t cap = b64 ? strlen(b64) : 0, n = 0;
        uint8_t *data = malloc(cap + 1);
        if (b64 && data &&
            sodium_base642bin(data, cap + 1, b64, cap, NULL, &n, NULL,
                              sodium_base64_VARIANT_ORIGINAL) == 0) {
            fwrite(data, 1, n, stdout);
            fputc('\n', stdout);
        }
        free(data);
        json_decref(j);
    }
    fflush(stdout);
    return sc->left < 0 || --sc->left > 0;
}

static int
pubsub_sub(cli_t *cli, int argc, char **argv)
{
    sub_ctx_t sc = {cli->json, -1};
    const char *topic = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            sc.left = strtol(argv[++i], NULL, 10);
        else if (!topic)
            topic = argv[i];
        else
            return cli_fail(EXIT_USAGE, "pubsub sub", "unexpected '%s'", argv[i]);
    }
    if (!topic || sc.left == 0)
        return cli_fail(EXIT_USAGE, "pubsub sub", "give a topic (and a positive --count)");
    return client_stream(cli, "pubsub sub", "/api/v0/pubsub/sub", json_pack("{s:s}", "topic", topic),
                         sub_line, &sc);
}

static int
read_data(const char *arg, buf_t *out)
{
    if (strcmp(arg, "-") != 0)
        return buf_append(out, arg, strlen(arg));
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        if (buf_append(out, chunk, n) < 0)
            return -1;
    return 0;
}

static int
pubsub_pub(cli_t *cli, int argc, char **argv)
{
    if (argc != 4)
        return cli_fail(EXIT_USAGE, "pubsub pub", "give a topic and data (or - for stdin)");
    buf_t data = BUF_INIT(PUB_MAX);
    if (read_data(argv[3], &data) < 0) {
        buf_free(&data);
        return cli_fail(EXIT_USAGE, "pubsub pub", "data over %u bytes", PUB_MAX);
    }
    size_t b64len = sodium_base64_encoded_len(data.len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(b64len);
    if (!b64)
        abort();
    sodium_bin2base64(b64, b64len, data.data ? data.data : (const uint8_t *)"", data.len,
                      sodium_base64_VARIANT_ORIGINAL);
    client_resp_t r;
    int rc = client_call_ok(cli, "pubsub pub", "POST", "/api/v0/pubsub/pub",
                            json_pack("{s:s,s:s}", "topic", argv[2], "data", b64), &r);
    free(b64);
    buf_free(&data);
    if (rc != EXIT_OK)
        return rc;
    if (cli->json)
        cli_print_json(json_incref(r.json));
    else
        printf("published to %lld peer(s)\n",
               (long long)json_integer_value(json_object_get(r.json, "recipients")));
    client_resp_free(&r);
    return EXIT_OK;
}

/* GET `path` and print it as JSON, or each element of `key` with `row`. */
static int
get_and_print(cli_t *cli, const char *cmd, const char *path, const char *key,
              void (*row)(json_t *), const char *empty)
{
    client_resp_t r;
    int rc = client_call_ok(cli, cmd, "GET", path, NULL, &r);
    if (rc != EXIT_OK)
        return rc;
    json_t *arr = key ? json_object_get(r.json, key) : r.json;
    size_t i;
    json_t *v;
    if (cli->json)
        cli_print_json(json_incref(key ? arr : r.json));
    else if (key && json_array_size(arr) == 0)
        printf("%s\n", empty);
    else if (key)
        json_array_foreach(arr, i, v) row(v);
    else
        row(r.json);
    client_resp_free(&r);
    return EXIT_OK;
}

static void
topic_row(json_t *t)
{
    printf("%s\n", json_string_value(t));
}

static void
peer_row(json_t *p)
{
    printf("%-52s  %-7s  score %.2f\n", json_string_value(json_object_get(p, "peer")),
           json_is_true(json_object_get(p, "mesh")) ? "mesh" : "-",
           json_number_value(json_object_get(p, "score")));
}

/* Percent-encode `s` for a query string. */
static char *
query_escape(const char *s)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("-_.~", *c))
            buf_append_byte(&b, *c);
        else
            buf_printf(&b, "%%%02X", *c);
    }
    return buf_take_str(&b);
}

int
cmd_pubsub(cli_t *cli, int argc, char **argv)
{
    if (argc < 2)
        return cli_fail(EXIT_USAGE, "pubsub", "give sub, pub, ls or peers");
    const char *sub = argv[1];
    if (strcmp(sub, "sub") == 0)
        return pubsub_sub(cli, argc, argv);
    if (strcmp(sub, "pub") == 0)
        return pubsub_pub(cli, argc, argv);
    if (strcmp(sub, "ls") == 0)
        return get_and_print(cli, "pubsub ls", "/api/v0/pubsub/ls", "topics", topic_row,
                             "no subscriptions");
    if (strcmp(sub, "peers") != 0)
        return cli_fail(EXIT_USAGE, "pubsub", "unknown subcommand '%s'", sub);
    if (argc != 3)
        return cli_fail(EXIT_USAGE, "pubsub peers", "give a topic");
    char *esc = query_escape(argv[2]);
    buf_t path = BUF_INIT(BUF_UNLIMITED);
    buf_printf(&path, "/api/v0/pubsub/peers?topic=%s", esc);
    int rc = get_and_print(cli, "pubsub peers", buf_cstr(&path), "peers", peer_row,
                           "no known subscribers");
    buf_free(&path);
    free(esc);
    return rc;
}

static void
trust_row(json_t *p)
{
    printf("%-52s  trust %.4f  reputation %.4f  %s\n",
           json_string_value(json_object_get(p, "peer")),
           json_number_value(json_object_get(p, "trust")),
           json_number_value(json_object_get(p, "reputation")),
           json_is_true(json_object_get(p, "connected")) ? "connected" : "");
}

static void
trust_detail(json_t *j)
{
    printf("peer        %s\n", json_string_value(json_object_get(j, "peer")));
    printf("trust       %.4f%s\n", json_number_value(json_object_get(j, "trust")),
           json_is_true(json_object_get(j, "connected")) ? "  (connected)" : "");
    printf("reputation  %.4f  (trend %.3f, stats %.3f)\n",
           json_number_value(json_object_get(j, "reputation")),
           json_number_value(json_object_get(j, "trend")),
           json_number_value(json_object_get(j, "stats")));
    printf("messages    %lld valid, %lld bad events\n",
           (long long)json_integer_value(json_object_get(j, "valid_messages")),
           (long long)json_integer_value(json_object_get(j, "bad_events")));
    json_t *gs = json_object_get(j, "gossip_score");
    if (json_is_number(gs))
        printf("gossip      score %.2f\n", json_number_value(gs));
    size_t i;
    json_t *e;
    json_t *events = json_object_get(j, "events");
    printf("events      %s\n", json_array_size(events) ? "(newest first)" : "none recorded");
    json_array_foreach(events, i, e)
    {
        time_t t = (time_t)(json_integer_value(json_object_get(e, "timestamp_ms")) / 1000);
        char when[32];
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
        printf("  %s  %-20s %+.4f\n", when, json_string_value(json_object_get(e, "event")),
               json_number_value(json_object_get(e, "delta")));
    }
}

int
cmd_trust(cli_t *cli, int argc, char **argv)
{
    if (argc < 2)
        return cli_fail(EXIT_USAGE, "trust", "give list or show");
    if (strcmp(argv[1], "list") == 0)
        return get_and_print(cli, "trust list", "/api/v0/trust/list", "peers", trust_row,
                             "no peers known");
    if (strcmp(argv[1], "show") != 0)
        return cli_fail(EXIT_USAGE, "trust", "unknown subcommand '%s'", argv[1]);
    if (argc != 3)
        return cli_fail(EXIT_USAGE, "trust show", "give a peer ID");
    char *esc = query_escape(argv[2]);
    buf_t path = BUF_INIT(BUF_UNLIMITED);
    buf_printf(&path, "/api/v0/trust/show?peer=%s", esc);
    int rc = get_and_print(cli, "trust show", buf_cstr(&path), NULL, trust_detail, NULL);
    buf_free(&path);
    free(esc);
    return rc;
}
