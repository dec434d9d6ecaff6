/* fuzz_bitswap — Bitswap messages from outside: bitswap_msg_frame_decode() and
 * bitswap_msg_decode() on arbitrary bytes, then the engine's bitswap_input() (serving
 * and fetching paths) with a small in-memory block store.
 *
 * Properties: no crash, leak or sanitizer report; what decodes re-encodes (1.2.0),
 * and the re-encoding decodes and re-encodes to itself. The first input byte picks
 * the protocol version the message is said to arrive on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "content/bitswap/bitswap.h"
#include "lib/err/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cid_t g_held;

static int
fz_send(void *ctx, const peer_id_t *to, const uint8_t *msg, size_t len)
{
    bitswap_msg_t m;
    (void)ctx;
    (void)to;
    /* everything the engine sends must decode */
    if (bitswap_msg_decode(msg, len, &m) != 0)
        abort();
    bitswap_msg_clear(&m);
    return 0;
}

static bool
fz_has(void *ctx, const cid_t *cid)
{
    (void)ctx;
    return cid_equal(cid, &g_held);
}

static int
fz_get(void *ctx, const cid_t *cid, buf_t *out)
{
    return fz_has(ctx, cid) ? buf_append(out, "abc", 3) : LS_ENOENT;
}

static void
fz_random(void *ctx, void *out, size_t len)
{
    (void)ctx;
    memset(out, 7, len);
}

static bitswap_t *
engine(bitswap_session_t **sess, peer_id_t *peer)
{
    static bitswap_t *bs;
    static bitswap_session_t *s;
    static peer_id_t id;
    if (!bs) {
        bitswap_env_t env = {.send = fz_send, .has = fz_has, .get = fz_get, .random = fz_random};
        uint8_t pk[32] = {1};
        bs = bitswap_new(NULL, &env);
        cid_v1_sha256(&g_held, CID_CODEC_RAW, "abc", 3);
        peer_id_from_ed25519(&id, pk);
        bitswap_peer_connected(bs, 1, &id, BITSWAP_V120);
        s = bitswap_session_new(bs);
        bitswap_session_add_peer(s, &id);
    }
    *sess = s;
    *peer = id;
    return bs;
}

static void
roundtrip(const uint8_t *data, size_t size)
{
    bitswap_msg_t m, m2;
    buf_t a = BUF_INIT(BITSWAP_MSG_MAX_SIZE), b = BUF_INIT(BITSWAP_MSG_MAX_SIZE);
    if (bitswap_msg_decode(data, size, &m) != 0)
        return;
    /* 1.0.0 blocks gain a prefix, so a message near the limit may not fit again */
    if (bitswap_msg_encode(&m, BITSWAP_V120, &a) == 0) {
        if (bitswap_msg_decode(a.data, a.len, &m2) != 0 ||
            bitswap_msg_encode(&m2, BITSWAP_V120, &b) != 0)
            abort();
        if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
            abort();
        bitswap_msg_clear(&m2);
    }
    bitswap_msg_clear(&m);
    buf_free(&a);
    buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int versions[] = {BITSWAP_V100, BITSWAP_V110, BITSWAP_V120, BITSWAP_V120};
    static uint64_t now = 1;
    const uint8_t *body;
    size_t body_len;
    bitswap_session_t *s;
    peer_id_t peer;
    if (size == 0)
        return 0;
    (void)bitswap_msg_frame_decode(data + 1, size - 1, 0, &body, &body_len);
    roundtrip(data + 1, size - 1);

    bitswap_t *bs = engine(&s, &peer);
    cid_t want;
    cid_v1_sha256(&want, CID_CODEC_RAW, data, LS_MIN(size, (size_t)4));
    bitswap_session_stats_t st;
    bitswap_session_stats(s, &st);
    if (st.pending < 256) /* keep the engine's state bounded across runs */
        bitswap_session_want(s, &want, 1);
    now += 30000; /* monotonic: the tick below stays before the next input */
    (void)bitswap_input(bs, now, &peer, versions[data[0] & 3], data + 1, size - 1);
    (void)bitswap_tick(bs, now + 20000);
    return 0;
}
