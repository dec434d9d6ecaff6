/* fuzz_pubsub_trust — trust_msg_decode() on arbitrary bytes. Properties: no crash,
 * leak or sanitizer report; an error leaves the message zeroed; whatever decodes is
 * within the documented limits and re-encodes (signed by another key) to a message
 * that decodes to the same content. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf/buf.h"
#include "lib/err/err.h"
#include "pubsub/trust/trust_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_limits(const trust_msg_t *m)
{
    if (m->ttl_ms == 0 || m->ttl_ms > TRUST_MSG_MAX_TTL_MS || m->n_peers > TRUST_MSG_MAX_PEERS)
        abort();
    if (m->type == TRUST_MSG_PEERS_REQUEST && (m->limit == 0 || m->limit > TRUST_MSG_MAX_PEERS))
        abort();
    for (size_t i = 0; i < m->n_peers; i++)
        if (m->peers[i].trust_ppm > TRUST_PPM)
            abort();
}

static void
reencode(const trust_msg_t *m, uint64_t now)
{
    static ed25519_keypair_t kp;
    static int ready;
    trust_msg_t d;
    buf_t out = BUF_INIT(TRUST_MSG_MAX_LEN * 2);

    if (!ready) {
        uint8_t seed[32] = {7};
        ed25519_keypair_from_seed(&kp, seed);
        ready = 1;
    }
    if (trust_msg_encode(m, &kp, &out) != 0 || trust_msg_decode(out.data, out.len, now, &d) != 0)
        abort();
    if (d.type != m->type || d.ts_ms != m->ts_ms || d.request_id != m->request_id ||
        d.n_peers != m->n_peers || d.update.trust_ppm != m->update.trust_ppm ||
        !peer_id_equal(&d.update.peer, &m->update.peer))
        abort();
    buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trust_msg_t m;
    static const trust_msg_t zero;

    /* the time is taken from the input's first 8 bytes so expiry paths are reached */
    uint64_t now = 0;
    if (size >= 8) {
        memcpy(&now, data, 8);
        data += 8;
        size -= 8;
    }
    int rc = trust_msg_decode(data, size, now, &m);
    if (rc < 0) {
        if (memcmp(&m, &zero, sizeof m) != 0)
            abort();
        return 0;
    }
    check_limits(&m);
    reencode(&m, now);
    return 0;
}
