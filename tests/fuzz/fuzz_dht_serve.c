/* fuzz_dht_serve — a kad node fed arbitrary bytes: the first byte chooses the path.
 *   0: an inbound request (kad_input_request); whatever reply comes back must decode.
 *   1: the reply to a lookup's request (kad_input_response), then a tick.
 * Properties: no crash, leak or sanitizer report; the node stays within its limits.
 * The node lives across inputs (as a real one would), with 30 peers in its table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dht/kad.h"
#include "dht/kadmsg.h"
#include "lib/buf/buf.h"
#include "lib/err/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1800000000000ull

static uint64_t last_req;

static int
fuzz_send(void *ctx, uint64_t id, const peer_id_t *to, const uint8_t *addrs, size_t alen,
          const uint8_t *msg, size_t len, bool want)
{
    (void)ctx, (void)to, (void)addrs, (void)alen, (void)msg, (void)len;
    if (want)
        last_req = id;
    return 0;
}

static void
fuzz_done(void *arg, const kad_result_t *res)
{
    (void)arg, (void)res;
}

static kad_t *
node(void)
{
    static kad_t *kad;
    if (kad)
        return kad;
    peer_id_t self, p;
    uint8_t pk[32] = {0};
    peer_id_from_ed25519(&self, pk);
    kad_env_t env = {NULL, fuzz_send, NULL};
    kad = kad_new(&self, NULL, &env);
    for (uint8_t i = 1; i <= 30; i++) {
        pk[0] = i;
        peer_id_from_ed25519(&p, pk);
        (void)kad_peer_answered(kad, FUZZ_NOW, &p, NULL, 0);
    }
    return kad;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint64_t iter;
    kad_t *kad = node();
    /* time moves 3 s per input so requests time out, and wraps (a clock may step
     * back) so that signed corpus values stay within their lifetime */
    uint64_t now = FUZZ_NOW + (iter++ % 10000) * 3000;
    if (size < 1)
        return 0;
    if (data[0] == 0) {
        buf_t reply = BUF_INIT(KADMSG_MAX_SIZE);
        peer_id_t from;
        uint8_t pk[32] = {7};
        peer_id_from_ed25519(&from, pk);
        static kadmsg_t m;
        if (kad_input_request(kad, now, &from, data + 1, size - 1, &reply) == 0 && reply.len > 0 &&
            kadmsg_decode(reply.data, reply.len, &m) != 0)
            abort();
        buf_free(&reply);
        return 0;
    }
    if (kad_lookup_count(kad) == 0)
        (void)kad_get_value(kad, now, (const uint8_t *)"/lester/k", 9, 1, fuzz_done, NULL);
    (void)kad_input_response(kad, now, last_req, data + 1, size - 1);
    (void)kad_tick(kad, now);
    return 0;
}
