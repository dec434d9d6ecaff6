/* Fuzz the configuration reader: config_load_text() on arbitrary bytes must never
 * crash, and whatever it accepts must survive a save/load round trip unchanged.
 * The same bytes also go through config_set() for each key type. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf/buf.h"
#include "lib/config/config.h"
#include "lib/log/log.h"
#include "lib/mem/mem.h"

static const config_key_t schema[] = {
    {"api.port", CONFIG_INT, "5001", 1, 65535, NULL},
    {"api.bind", CONFIG_STRING, "\"127.0.0.1\"", 0, 0, NULL},
    {"swarm.listen", CONFIG_STRLIST, "[\"/ip4/0.0.0.0/tcp/4001\"]", 0, 0, NULL},
    {"swarm.peers.min", CONFIG_INT, "8", 0, 1000, NULL},
    {"swarm.peers.max", CONFIG_INT, "50", 1, 10000, NULL},
    {"trust.initial", CONFIG_DOUBLE, "0.5", 0, 1, NULL},
    {"trust.decay", CONFIG_DOUBLE, "0.01", 0, 0, NULL},
    {"nat.upnp", CONFIG_BOOL, "true", 0, 0, NULL},
    {"name", CONFIG_STRING, "\"\"", 0, 0, NULL},
    {"offset", CONFIG_INT, "-3", 0, 0, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
round_trip(const config_t *cfg)
{
    char *text = config_to_json(cfg);
    config_t *again = config_new(schema, LS_ARRAY_LEN(schema));
    if (config_load_text(again, text, strlen(text), "saved", NULL) != 0)
        abort(); /* we wrote something we cannot read back */
    char *text2 = config_to_json(again);
    if (strcmp(text, text2) != 0)
        abort(); /* the round trip changed a value */
    free(text2);
    free(text);
    config_free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_set_level(LOG_ERROR);
    config_t *cfg = config_new(schema, LS_ARRAY_LEN(schema));
    buf_t err = BUF_INIT(BUF_UNLIMITED);
    if (config_load_text(cfg, (const char *)data, size, "fuzz.json", &err) == 0)
        round_trip(cfg);
    else if (err.len == 0)
        abort(); /* every failure must say why */
    buf_free(&err);

    if (size < 4096) {
        char *text = ls_strndup((const char *)data, size);
        static const char *const keys[] = {"api.port", "api.bind", "swarm.listen", "trust.initial",
                                           "nat.upnp"};
        for (size_t i = 0; i < LS_ARRAY_LEN(keys); i++)
            config_set(cfg, keys[i], text, NULL);
        round_trip(cfg);
        free(text);
    }
    config_free(cfg);
    return 0;
}
