#include "node/config/node_config.h"

#include <string.h>

#include "lib/err/err.h"
#include "lib/mem/mem.h"

/* Every key of config.json. Numbers carry their valid range. */
const config_key_t node_config_schema[] = {
    { "profile", CONFIG_STRING, "\"default\"", 0, 0,
      "preset this file started from: default, high-throughput, low-resource, high-security" },
    { "api.host", CONFIG_STRING, "\"127.0.0.1\"", 0, 0,
      "address the HTTP API binds to (keep it on loopback)" },
    { "api.port", CONFIG_INT, "5001", 0, 65535, "HTTP API port (0 picks a free one)" },
    { "api.max_body_bytes", CONFIG_INT, "1048576", 1024, 1073741824,
      "largest request body the API accepts" },
    { "swarm.listen", CONFIG_STRLIST, "[\"/ip4/0.0.0.0/tcp/4001\",\"/ip6/::/tcp/4001\"]", 0, 0,
      "multiaddrs the libp2p host listens on" },
    { "swarm.announce", CONFIG_STRLIST, "[]", 0, 0,
      "multiaddrs to announce instead of the listen addresses (empty: listen addresses)" },
    { "swarm.bootstrap", CONFIG_STRLIST, "[]", 0, 0,
      "multiaddrs (ending in /p2p/<peer id>) to connect to at start" },
    { "swarm.max_connections", CONFIG_INT, "0", 0, 65536,
      "TCP connections at once, handshaking ones included (0: 4 x peers.max + 64)" },
    { "swarm.max_streams_per_conn", CONFIG_INT, "1024", 8, 65536,
      "streams open at once on one connection (yamux)" },
    { "peers.min", CONFIG_INT, "8", 0, 10000, "keep dialling known peers below this many" },
    { "peers.max", CONFIG_INT, "50", 1, 10000,
      "connections above this evict the lowest-trust peer" },
    { "peers.grace_ms", CONFIG_INT, "20000", 0, 600000,
      "a new connection is not evicted for this long" },
    { "peers.discovery_interval_ms", CONFIG_INT, "5000", 0, 3600000,
      "below peers.min, ask a connected peer for more peers this often (0: never)" },
    { "peers.flush_interval_ms", CONFIG_INT, "30000", 100, 3600000,
      "the peer store is written to the database at most this often" },
    { "trust.initial", CONFIG_DOUBLE, "0.5", 0, 1, "trust a new peer starts with (seed 001)" },
    { "trust.min_threshold", CONFIG_DOUBLE, "0.1", 0, 1,
      "peers below this trust are disconnected (seed 001)" },
    { "trust.decay_rate", CONFIG_DOUBLE, "0.01", 0, 1,
      "share of the gap to the initial trust closed each interval (seed 001)" },
    { "trust.valid_cap", CONFIG_DOUBLE, "0.02", 0, 1,
      "most trust a peer gains from valid messages (+0.001 each) per decay interval" },
    { "trust.exchange_interval_ms", CONFIG_INT, "30000", 100, 86400000,
      "ask the most trusted peers whom they trust (/lester/trust/1.0.0) this often" },
    { "gossip.fanout", CONFIG_INT, "6", 1, 100, "peers each gossip message is pushed to" },
    { "gossip.interval_ms", CONFIG_INT, "1000", 50, 60000, "gossip heartbeat interval" },
    { "gossip.message_cache_size", CONFIG_INT, "10000", 100, 10000000,
      "messages remembered for deduplication" },
    { "repo.max_bytes", CONFIG_INT, "0", 0, 1e18,
      "disk quota for blocks in bytes (0: none); `lester repo gc` frees unpinned ones" },
    { "repo.sync", CONFIG_STRING, "\"batch\"", 0, 0,
      "block durability: batch (fsync lone puts, one syncfs per import/download batch), "
      "each (fsync every block) or none (kill -9 safe, not power-loss safe)" },
    { "repo.direct_io", CONFIG_BOOL, "true", 0, 0,
      "write block packs and downloaded files with O_DIRECT where the file system allows "
      "it (no page-cache copy); false: through the page cache" },
    { "content.upload_rate_limit", CONFIG_INT, "0", 0, 1e12,
      "bytes per second this node serves blocks at, to all peers together (0: no limit)" },
    { "content.chunk_size", CONFIG_INT, "262144", 1024, 1048576,
      "bytes per leaf chunk of `lester add` (262144 gives kubo's CIDs)" },
    { "content.provide", CONFIG_STRING, "\"roots\"", 0, 0,
      "announce in the DHT after add and get: roots (the DAG's root), all (every block) "
      "or none" },
    { "content.reprovide_interval_s", CONFIG_INT, "43200", 0, 31536000,
      "announce everything pinned again this often (0: never; kubo's 12 h)" },
    { "content.provide_http", CONFIG_BOOL, "false", 0, 0,
      "name the HTTP gateway in provider records even when api.host is loopback" },
    { "content.gateway_url", CONFIG_STRING, "\"\"", 0, 0,
      "the gateway's URL for other hosts in provider records (empty: from api.host)" },
    { "test.corrupt_blocks", CONFIG_BOOL, "false", 0, 0,
      "TESTS ONLY: serve every block with a byte flipped (adversarial cluster tests)" },
    { "test.bitswap_off", CONFIG_BOOL, "false", 0, 0,
      "TESTS ONLY: do not serve Bitswap (an HTTP-only seeder in cluster tests)" },
    { "dht.mode", CONFIG_STRING, "\"auto\"", 0, 0,
      "auto (serve the DHT when listening), server or client (query only)" },
    { "dht.protocol", CONFIG_STRING, "\"/lester/kad/1.0.0\"", 0, 0,
      "protocol ID of the Kademlia DHT" },
    { "dht.ipfs_protocol", CONFIG_BOOL, "false", 0, 0,
      "also serve and speak /ipfs/kad/1.0.0 (interop with other libp2p DHTs)" },
    { "dht.sybil_limit_private", CONFIG_BOOL, "false", 0, 0,
      "apply the per-/24 routing table limits to loopback and private addresses too" },
    { "dht.request_timeout_ms", CONFIG_INT, "10000", 100, 600000,
      "one DHT request to a peer times out after this long" },
    { "dht.requests_per_sec", CONFIG_INT, "200", 1, 1000000,
      "DHT requests one peer may send us per second" },
    { "dht.request_burst", CONFIG_INT, "400", 1, 1000000,
      "... and in a burst" },
    { "dht.value_ttl_s", CONFIG_INT, "604800", 60, 2592000,
      "lifetime of the values `dht put` signs (at most 30 days)" },
    { "log.level", CONFIG_STRING, "\"info\"", 0, 0, "error, warn, info, debug or trace" },
    { "log.file", CONFIG_STRING, "\"\"", 0, 0, "log file (empty: standard error)" },
    { "workers.threads", CONFIG_INT, "0", 0, 256,
      "threads for CPU-heavy work (0: one per core)" },
};
const size_t node_config_schema_len = LS_ARRAY_LEN(node_config_schema);

const char *const node_config_profiles[] = {
    "default", "high-throughput", "low-resource", "high-security", NULL
};

config_t *
node_config_new(void)
{
    return config_new(node_config_schema, node_config_schema_len);
}

int
node_config_load(const char *path, config_t **out, buf_t *err)
{
    config_t *cfg = node_config_new();
    int rc = config_load(cfg, path, err);
    if (rc < 0) {
        config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

typedef struct preset_t {
    const char *profile;
    const char *key;
    const char *value;
} preset_t;

/* Seed 001, "Configuration Tuning". */
static const preset_t presets[] = {
    { "high-throughput", "gossip.fanout", "5" },
    { "high-throughput", "gossip.interval_ms", "500" },
    { "high-throughput", "peers.max", "100" },
    { "low-resource", "gossip.fanout", "2" },
    { "low-resource", "gossip.interval_ms", "2000" },
    { "low-resource", "peers.max", "20" },
    { "low-resource", "gossip.message_cache_size", "1000" },
    { "high-security", "trust.initial", "0.3" },
    { "high-security", "trust.min_threshold", "0.5" },
    { "high-security", "trust.decay_rate", "0.02" },
};

int
node_config_apply_profile(config_t *cfg, const char *name, buf_t *err)
{
    bool known = false;
    for (size_t i = 0; node_config_profiles[i]; i++)
        known |= strcmp(node_config_profiles[i], name) == 0;
    if (!known) {
        buf_printf(err, "unknown profile '%s' (choose default, high-throughput, low-resource "
                        "or high-security)", name);
        return LS_EINVAL;
    }
    for (size_t i = 0; i < LS_ARRAY_LEN(presets); i++) {
        if (strcmp(presets[i].profile, name) != 0)
            continue;
        int rc = config_set(cfg, presets[i].key, presets[i].value, err);
        if (rc < 0)
            return rc;
    }
    return config_set(cfg, "profile", name, err);
}
