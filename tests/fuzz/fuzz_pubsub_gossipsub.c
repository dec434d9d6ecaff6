/* fuzz_pubsub_gossipsub — a gossipsub router fed arbitrary RPCs from three peers (v1.2,
 * v1.0, floodsub) with heartbeats in between. Input: records of [peer byte][2-byte
 * big-endian length][RPC]; a peer byte of 0xff is a heartbeat. Properties: no crash,
 * leak or sanitizer report; gossipsub_input() returns 0, LS_EINVAL or LS_ETOOBIG;
 * every RPC the router sends decodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "pubsub/gossipsub/gossipsub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 1;

static uint32_t
fz_random(void *ctx, uint32_t bound)
{
    (void)ctx;
    rng = rng * 6364136223846793005u + 1442695040888963407u;
    return bound ? (uint32_t)((rng >> 33) % bound) : 0;
}

static int
fz_send(void *ctx, const peer_id_t *to, const uint8_t *rpc, size_t len)
{
    PubsubPb__RPC *r;
    (void)ctx;
    (void)to;
    if (pubsub_rpc_decode(rpc, len, NULL, &r) != 0)
        abort();
    pubsub_rpc_free(r);
    return 0;
}

static gossipsub_verdict_t
fz_validate(void *ctx, const gossipsub_message_t *m)
{
    (void)ctx;
    return m->data_len ? (gossipsub_verdict_t)(m->data[0] % 3) : GOSSIPSUB_ACCEPT;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const gossipsub_proto_t protos[3] = {GOSSIPSUB_V12, GOSSIPSUB_V10, GOSSIPSUB_FLOODSUB};
    gossipsub_config_t cfg;
    ed25519_keypair_t kp;
    uint8_t seed[32] = {1};
    peer_id_t peers[3];
    uint64_t now = 1000000;

    rng = 1;
    gossipsub_config_default(&cfg);
    ed25519_keypair_from_seed(&kp, seed);
    gossipsub_env_t env = {NULL, fz_send, NULL, fz_validate, fz_random, NULL, NULL, {NULL, NULL}};
    gossipsub_t *gs = gossipsub_new(&cfg, &env, &kp, now);
    gossipsub_subscribe(gs, now, (const uint8_t *)"chat", 4);
    gossipsub_subscribe(gs, now, (const uint8_t *)"/lester/x", 9);
    for (int i = 0; i < 3; i++) {
        uint8_t pk[32] = {(uint8_t)(i + 2)};
        peer_id_from_ed25519(&peers[i], pk);
        gossipsub_add_peer(gs, now, &peers[i], protos[i], i == 0, NULL);
    }
    while (size >= 3) {
        uint8_t who = data[0];
        size_t len = (size_t)data[1] << 8 | data[2];
        data += 3;
        size -= 3;
        if (who == 0xff) {
            now += 1000;
            gossipsub_tick(gs, now);
            continue;
        }
        if (len > size)
            len = size;
        int rc = gossipsub_input(gs, now, &peers[who % 3], data, len);
        if (rc != 0 && rc != LS_EINVAL && rc != LS_ETOOBIG)
            abort();
        data += len;
        size -= len;
    }
    gossipsub_free(gs);
    return 0;
}
