#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf/buf.h"
#include "lib/config/config.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"

static const config_key_t schema[] = {
    {"api.port", CONFIG_INT, "5001", 1, 65535, "HTTP API port"},
    {"api.bind", CONFIG_STRING, "\"127.0.0.1\"", 0, 0, "API listen address"},
    {"swarm.listen", CONFIG_STRLIST, "[\"/ip4/0.0.0.0/tcp/4001\"]", 0, 0, "listen addrs"},
    {"swarm.peers.min", CONFIG_INT, "8", 0, 1000, "low water mark"},
    {"swarm.peers.max", CONFIG_INT, "50", 1, 10000, "high water mark"},
    {"trust.initial", CONFIG_DOUBLE, "0.5", 0, 1, "initial trust"},
    {"trust.decay", CONFIG_DOUBLE, "0.01", 0, 0, "unbounded"},
    {"nat.upnp", CONFIG_BOOL, "true", 0, 0, NULL},
    {"name", CONFIG_STRING, "\"\"", 0, 0, "a top-level key"},
    {"offset", CONFIG_INT, "-3", 0, 0, "unbounded int"},
};
#define NKEYS (sizeof schema / sizeof schema[0])

/* Load `text` and return the result; the message goes to `err`. */
static int
load(config_t *cfg, const char *text, buf_t *err)
{
    buf_clear(err);
    return config_load_text(cfg, text, strlen(text), "config.json", err);
}

static void
test_config_defaults(void **state)
{
    (void)state;
    config_t *cfg = config_new(schema, NKEYS);
    assert_int_equal(config_get_int(cfg, "api.port"), 5001);
    assert_string_equal(config_get_str(cfg, "api.bind"), "127.0.0.1");
    const char **items = NULL;
    assert_int_equal(config_get_strlist(cfg, "swarm.listen", &items), 1);
    assert_string_equal(items[0], "/ip4/0.0.0.0/tcp/4001");
    assert_null(items[1]);
    assert_int_equal(config_get_int(cfg, "swarm.peers.max"), 50);
    assert_true(config_get_double(cfg, "trust.initial") == 0.5);
    assert_true(config_get_bool(cfg, "nat.upnp"));
    assert_string_equal(config_get_str(cfg, "name"), "");
    assert_int_equal(config_get_int(cfg, "offset"), -3);
    assert_true(config_has_key(cfg, "swarm.peers.min"));
    assert_false(config_has_key(cfg, "swarm.peers"));
    assert_false(config_has_key(cfg, "nope"));
    config_free(cfg);
    assert_null(cfg);
    config_free(cfg);
}

static void
test_config_load_partial_and_save_round_trip(void **state)
{
    (void)state;
    config_t *cfg = config_new(schema, NKEYS);
    buf_t err = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(
        load(cfg,
             "{\n"
             "  \"api\": { \"port\": 6001 },\n"
             "  \"swarm\": { \"listen\": [\"/ip4/1.2.3.4/tcp/1\", \"/ip6/::/tcp/2\"],\n"
             "             \"peers\": { \"max\": 80 } },\n"
             "  \"trust\": { \"initial\": 1 },\n"
             "  \"nat\": { \"upnp\": false },\n"
             "  \"name\": \"n\\u00e9ud \\\"1\\\"\"\n"
             "}\n",
             &err),
        0);
    assert_int_equal(config_get_int(cfg, "api.port"), 6001);
    assert_string_equal(config_get_str(cfg, "api.bind"), "127.0.0.1"); /* untouched */
    assert_int_equal(config_get_int(cfg, "swarm.peers.max"), 80);
    assert_int_equal(config_get_int(cfg, "swarm.peers.min"), 8);
    assert_true(config_get_double(cfg, "trust.initial") == 1.0); /* integer accepted */
    assert_false(config_get_bool(cfg, "nat.upnp"));
    assert_string_equal(config_get_str(cfg, "name"), "n\xc3\xa9ud \"1\"");

    const char *base = getenv("LESTER_TEST_TMP");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/test_config.XXXXXX", base && *base ? base : "/tmp");
    fs_mkdir_p(base && *base ? base : "/tmp", 0700);
    assert_non_null(mkdtemp(dir));
    char *path = fs_join(dir, "config.json");
    assert_int_equal(config_save(cfg, path), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    config_t *again = config_new(schema, NKEYS);
    assert_int_equal(config_load(again, path, &err), 0);
    char *a = config_to_json(cfg), *b = config_to_json(again);
    assert_string_equal(a, b);
    buf_t file = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(fs_read_all(path, 1 << 20, &file), 0);
    assert_string_equal(buf_cstr(&file), a); /* the file is exactly config_to_json */
    /* nested, sorted, every key present */
    assert_non_null(strstr(a, "\"api\": {\n    \"bind\": \"127.0.0.1\",\n    \"port\": 6001\n"));
    assert_non_null(strstr(a, "\"decay\": 0.01"));
    const char **items = NULL;
    assert_int_equal(config_get_strlist(again, "swarm.listen", &items), 2);
    assert_string_equal(items[1], "/ip6/::/tcp/2");
    free(a);
    free(b);
    buf_free(&file);

    /* missing file */
    unlink(path);
    buf_clear(&err);
    assert_int_equal(config_load(again, path, &err), -ENOENT);
    assert_non_null(strstr(buf_cstr(&err), "config.json"));
    rmdir(dir);
    free(path);
    buf_free(&err);
    config_free(again);
    config_free(cfg);
}

static void
test_config_unknown_key_names_line(void **state)
{
    (void)state;
    config_t *cfg = config_new(schema, NKEYS);
    buf_t err = BUF_INIT(BUF_UNLIMITED);
    /* "min" is a real key under swarm.peers, but not under api: the line must be
     * the one inside "api", not the first "min" in the file */
    assert_int_equal(load(cfg,
                          "{\n"
                          "  \"swarm\": {\n"
                          "    \"peers\": {\n"
                          "      \"min\": 2\n"
                          "    }\n"
                          "  },\n"
                          "  \"api\": {\n"
                          "    \"port\": 5002,\n"
                          "    \"min\": 3\n"
                          "  }\n"
                          "}\n",
                          &err),
                     LS_ECONFIG);
    assert_string_equal(buf_cstr(&err), "config.json:9: unknown key \"api.min\"");
    assert_int_equal(config_get_int(cfg, "api.port"), 5001); /* nothing applied */
    assert_int_equal(config_get_int(cfg, "swarm.peers.min"), 8);

    assert_int_equal(load(cfg, "{\"api\": {\"port\": 1},\n\n \"bogus\": {\"x\": 1}}", &err),
                     LS_ECONFIG);
    assert_string_equal(buf_cstr(&err), "config.json:3: unknown key \"bogus\"");
    /* a key spelled with escapes is still found */
    assert_int_equal(load(cfg, "{\"api\": {\"port\": 1},\n\"a\\u0070i\": 1}", &err), LS_ECONFIG);
    assert_non_null(strstr(buf_cstr(&err), "config.json:2:"));
    assert_non_null(strstr(buf_cstr(&err), "duplicate"));
    assert_int_equal(load(cfg,
                          "{\"x\": \"{\\\"api\\\": [\",\n \"swarm\": {\"pe\\u0065rs\": {\n"
                          "  \"max\": 0}}}",
                          &err),
                     LS_ECONFIG);
    assert_string_equal(buf_cstr(&err), "config.json:1: unknown key \"x\"");
    assert_int_equal(load(cfg,
                          "{\"swarm\": {\"listen\": [\"{\", \"}\"],\n \"pe\\u0065rs\": {\n"
                          "  \"max\": 0}}}",
                          &err),
                     LS_ECONFIG);
    assert_string_equal(buf_cstr(&err), "config.json:3: \"swarm.peers.max\" must be an integer "
                                        "between 1 and 10000, got 0");
    /* dotted keys and non-object prefixes */
    assert_int_equal(load(cfg, "{\n\"api.port\": 5}", &err), LS_ECONFIG);
    assert_non_null(strstr(buf_cstr(&err), "config.json:2: \"api.port\": a key may not contain"));
    assert_int_equal(load(cfg, "{\n\"api\": 5}", &err), LS_ECONFIG);
    assert_string_equal(buf_cstr(&err),
                        "config.json:2: \"api\" must be an object of settings, got 5");
    buf_free(&err);
    config_free(cfg);
}

static void
test_config_wrong_type_and_range(void **state)
{
    (void)state;
    config_t *cfg = config_new(schema, NKEYS);
    buf_t err = BUF_INIT(BUF_UNLIMITED);
    static const char wrong[] = "{\n"
                                "  \"nat\": {\n"
                                "    \"upnp\": true\n"
                                "  },\n"
                                "  \"api\": {\n"
                                "    \"bind\": \"0.0.0.0\",\n"
                                "    \"port\": \"abc\"\n"
                                "  }\n"
                                "}\n";
    assert_int_equal(load(cfg, wrong, &err), LS_ECONFIG);
    assert_string_equal(buf_cstr(&err), "config.json:7: \"api.port\" must be an integer between 1 "
                                        "and 65535, got \"abc\"");
    assert_string_equal(config_get_str(cfg, "api.bind"), "127.0.0.1"); /* all or nothing */

    assert_int_equal(load(cfg, "{\"api\": {\n\"port\": 70000}}", &err), LS_ECONFIG);
    assert_string_equal(buf_cstr(&err), "config.json:2: \"api.port\" must be an integer between 1 "
                                        "and 65535, got 70000");
    assert_int_equal(load(cfg, "{\"api\": {\"port\": 50.5}}", &err), LS_ECONFIG);
    assert_int_equal(load(cfg, "{\"trust\": {\"initial\": 1.5}}", &err), LS_ECONFIG);
    assert_string_equal(buf_cstr(&err), "config.json:1: \"trust.initial\" must be a number "
                                        "between 0 and 1, got 1.5");
    assert_int_equal(load(cfg, "{\"nat\": {\"upnp\": \"yes\"}}", &err), LS_ECONFIG);
    assert_non_null(strstr(buf_cstr(&err), "must be true or false"));
    assert_int_equal(load(cfg, "{\"swarm\": {\"listen\": [\"a\", 1]}}", &err), LS_ECONFIG);
    assert_non_null(strstr(buf_cstr(&err), "must be a list of strings, got [\"a\",1]"));
    assert_int_equal(load(cfg, "{\"name\": null}", &err), LS_ECONFIG);
    assert_string_equal(buf_cstr(&err), "config.json:1: \"name\" must be a string, got null");
    assert_int_equal(load(cfg,
                          "{\"name\": \""
                          "0123456789012345678901234567890123456789"
                          "0123456789012345678901234567890123456789\", \"offset\": 0.5}",
                          &err),
                     LS_ECONFIG);
    assert_non_null(strstr(buf_cstr(&err), "got 0.5"));
    assert_int_equal(load(cfg,
                          "{\"offset\": \"0123456789012345678901234567890123456789"
                          "0123456789012345678901234567890123456789\"}",
                          &err),
                     LS_ECONFIG);
    assert_non_null(strstr(buf_cstr(&err), "...")); /* long values are shortened */
    assert_int_equal(load(cfg, "{\"offset\": -99999999999}", &err), 0);
    assert_int_equal(config_get_int(cfg, "offset"), -99999999999LL);
    buf_free(&err);
    config_free(cfg);
}

static void
test_config_syntax_errors(void **state)
{
    (void)state;
    config_t *cfg = config_new(schema, NKEYS);
    buf_t err = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(
        load(cfg, "{\n  \"api\": {\n    \"port\": 5001\n    \"bind\": \"x\"\n  }\n}\n", &err),
        LS_ECONFIG);
    assert_non_null(strstr(buf_cstr(&err), "config.json:4:"));
    assert_non_null(strstr(buf_cstr(&err), "'}' expected"));
    /* config.json:4:10: ... — line and column */
    int line = 0, col = 0;
    assert_int_equal(sscanf(buf_cstr(&err), "config.json:%d:%d:", &line, &col), 2);
    assert_int_equal(line, 4);
    assert_true(col > 0);

    assert_int_equal(load(cfg, "", &err), LS_ECONFIG);
    assert_non_null(strstr(buf_cstr(&err), "config.json"));
    assert_int_equal(load(cfg, "[1, 2]", &err), LS_ECONFIG);
    assert_string_equal(buf_cstr(&err),
                        "config.json:1: the configuration must be a JSON object ({...})");
    assert_int_equal(load(cfg, "{\"name\": \"a\",\n \"name\": \"b\"}", &err), LS_ECONFIG);
    assert_non_null(strstr(buf_cstr(&err), "config.json:2:"));
    assert_non_null(strstr(buf_cstr(&err), "duplicate"));
    assert_int_equal(load(cfg, "{} trailing", &err), LS_ECONFIG);
    assert_int_equal(config_load_text(cfg, "{\"name\": \"a\0b\"}", 15, "x", &err), LS_ECONFIG);
    assert_int_equal(load(cfg, "{\"name\": \"\\u0000\"}", &err), LS_ECONFIG);
    assert_int_equal(load(cfg, "{}", &err), 0);
    buf_free(&err);
    config_free(cfg);
}

static void
test_config_set_each_type(void **state)
{
    (void)state;
    config_t *cfg = config_new(schema, NKEYS);
    buf_t err = BUF_INIT(BUF_UNLIMITED);
    const char **items = NULL;

    assert_int_equal(config_set(cfg, "api.port", " 8080 ", &err), 0);
    assert_int_equal(config_get_int(cfg, "api.port"), 8080);
    assert_int_equal(config_set(cfg, "api.port", "abc", &err), LS_ECONFIG);
    assert_string_equal(buf_cstr(&err),
                        "\"api.port\" must be an integer between 1 and 65535, got \"abc\"");
    buf_clear(&err);
    assert_int_equal(config_set(cfg, "api.port", "0", &err), LS_ECONFIG);
    assert_string_equal(buf_cstr(&err),
                        "\"api.port\" must be an integer between 1 and 65535, got 0");
    assert_int_equal(config_set(cfg, "api.port", "12x", NULL), LS_ECONFIG);
    assert_int_equal(config_set(cfg, "api.port", "99999999999999999999", NULL), LS_ECONFIG);
    assert_int_equal(config_get_int(cfg, "api.port"), 8080);

    assert_int_equal(config_set(cfg, "nat.upnp", "off", NULL), 0);
    assert_false(config_get_bool(cfg, "nat.upnp"));
    assert_int_equal(config_set(cfg, "nat.upnp", "TRUE", NULL), 0);
    assert_true(config_get_bool(cfg, "nat.upnp"));
    assert_int_equal(config_set(cfg, "nat.upnp", "maybe", NULL), LS_ECONFIG);

    assert_int_equal(config_set(cfg, "trust.initial", "0.25", NULL), 0);
    assert_true(config_get_double(cfg, "trust.initial") == 0.25);
    assert_int_equal(config_set(cfg, "trust.initial", "2", NULL), LS_ECONFIG);
    assert_int_equal(config_set(cfg, "trust.decay", "nan", NULL), LS_ECONFIG);
    assert_int_equal(config_set(cfg, "trust.decay", "-1e300", NULL), 0);

    assert_int_equal(config_set(cfg, "api.bind", "::1", NULL), 0);
    assert_string_equal(config_get_str(cfg, "api.bind"), "::1");
    assert_int_equal(config_set(cfg, "name", "\"quoted \\\"x\\\"\"", NULL), 0);
    assert_string_equal(config_get_str(cfg, "name"), "quoted \"x\"");
    assert_int_equal(config_set(cfg, "name", " spaced ", NULL), 0);
    assert_string_equal(config_get_str(cfg, "name"), " spaced ");
    buf_clear(&err);
    assert_int_equal(config_set(cfg, "name", "\xff\xfe", &err), LS_ECONFIG);
    assert_non_null(strstr(buf_cstr(&err), "not UTF-8"));

    assert_int_equal(
        config_set(cfg, "swarm.listen", "/ip4/1.1.1.1/tcp/1, /ip4/2.2.2.2/tcp/2,", NULL), 0);
    assert_int_equal(config_get_strlist(cfg, "swarm.listen", &items), 2);
    assert_string_equal(items[0], "/ip4/1.1.1.1/tcp/1");
    assert_string_equal(items[1], "/ip4/2.2.2.2/tcp/2");
    assert_int_equal(config_set(cfg, "swarm.listen", "[\"a,b\", \"c\"]", NULL), 0);
    assert_int_equal(config_get_strlist(cfg, "swarm.listen", &items), 2);
    assert_string_equal(items[0], "a,b");
    assert_int_equal(config_set(cfg, "swarm.listen", "", NULL), 0);
    assert_int_equal(config_get_strlist(cfg, "swarm.listen", &items), 0);
    assert_null(items[0]);
    assert_int_equal(config_set(cfg, "swarm.listen", "[1]", NULL), LS_ECONFIG);
    assert_int_equal(config_set(cfg, "swarm.listen", "[\"a\"", NULL), LS_ECONFIG);

    buf_clear(&err);
    assert_int_equal(config_set(cfg, "api.nope", "1", &err), LS_ECONFIG);
    assert_string_equal(buf_cstr(&err), "unknown key \"api.nope\"");
    buf_free(&err);
    config_free(cfg);
}

static void
test_config_get_json(void **state)
{
    (void)state;
    config_t *cfg = config_new(schema, NKEYS);
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(config_get_json(cfg, "api.port", &out), 0);
    assert_string_equal(buf_cstr(&out), "5001");
    buf_clear(&out);
    assert_int_equal(config_get_json(cfg, "api.bind", &out), 0);
    assert_string_equal(buf_cstr(&out), "\"127.0.0.1\"");
    buf_clear(&out);
    assert_int_equal(config_get_json(cfg, "swarm.peers", &out), 0);
    assert_string_equal(buf_cstr(&out), "{\"max\":50,\"min\":8}");
    buf_clear(&out);
    assert_int_equal(config_get_json(cfg, "trust.initial", &out), 0);
    assert_string_equal(buf_cstr(&out), "0.5");
    buf_clear(&out);
    assert_int_equal(config_get_json(cfg, "swarm.peer", &out), LS_ENOENT);
    assert_int_equal(config_get_json(cfg, "", &out), LS_ENOENT);
    assert_int_equal(out.len, 0);
    buf_free(&out);
    config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_load_partial_and_save_round_trip),
        cmocka_unit_test(test_config_unknown_key_names_line),
        cmocka_unit_test(test_config_wrong_type_and_range),
        cmocka_unit_test(test_config_syntax_errors),
        cmocka_unit_test(test_config_set_each_type),
        cmocka_unit_test(test_config_get_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
