/* Fuzz libp2p Noise (net/noise). The first byte picks a target:
 *   0  the NoiseHandshakePayload decoder, with encode/decode consistency checks;
 *   1  a responder fed arbitrary bytes as handshake frames (then transport frames);
 *   2  a full handshake against a scripted initiator whose message 3 carries the
 *      rest of the input as its payload, so payload verification is reached with
 *      bytes that decrypt; all keys are fixed, so a seed with a valid signature
 *      (tests/fuzz/corpus/noise) lets the fuzzer explore the accepting paths too;
 *   3  an initiator fed arbitrary bytes as the responder's message 2.
 * Any return code is fine; crashes, leaks and sanitizer reports are not. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf/buf.h"
#include "lib/crypto/ed25519.h"
#include "lib/crypto/x25519.h"
#include "lib/err/err.h"
#include "net/noise/noise.h"
#include "net/noise/noise_hs.h"
#include "net/noise/noise_internal.h"
#include "net/noise/noise_payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fixed keys: the seeds in tests/fuzz/corpus/noise were made with the same ones. */
#define SEED_INIT_ID 0x11
#define SEED_RESP_ID 0x22
#define SEED_INIT_STATIC 0x33
#define SEED_INIT_EPH 0x44
#define SEED_RESP_EPH 0x55

static void
fill(uint8_t out[32], uint8_t v)
{
    memset(out, v, 32);
}

static void
fuzz_payload(const uint8_t *p, size_t len)
{
    noise_payload_t pl;
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    const char *names[NOISE_PAYLOAD_MAX_MUXERS];
    char copies[NOISE_PAYLOAD_MAX_MUXERS][NOISE_PAYLOAD_MAX_MUXER_LEN + 1];
    noise_payload_t again;

    if (noise_payload_decode(&pl, p, len) != 0)
        return;
    if (pl.n_muxers > pl.n_muxers_seen || pl.n_muxers > NOISE_PAYLOAD_MAX_MUXERS)
        abort();
    /* re-encode what was understood; it must decode to the same fields */
    for (size_t i = 0; i < pl.n_muxers; i++) {
        memcpy(copies[i], pl.muxers[i].p, pl.muxers[i].len);
        copies[i][pl.muxers[i].len] = '\0';
        names[i] = copies[i];
    }
    if (noise_payload_encode(&b, pl.identity_key.p, pl.identity_key.len, pl.identity_sig.p,
                             pl.identity_sig.len, names, pl.n_muxers) != 0 ||
        noise_payload_decode(&again, b.data, b.len) != 0 ||
        again.identity_key.len != pl.identity_key.len ||
        again.identity_sig.len != pl.identity_sig.len || again.n_muxers != pl.n_muxers)
        abort();
    if (pl.identity_key.len &&
        memcmp(again.identity_key.p, pl.identity_key.p, pl.identity_key.len) != 0)
        abort();
    buf_free(&b);
}

/* Feed `p` to `n` as the peer's bytes; once the handshake is done, the rest goes to
 * the transport decoder. */
static void
feed(noise_t *n, const uint8_t *p, size_t len)
{
    buf_t out = BUF_INIT(BUF_UNLIMITED), plain = BUF_INIT(1 << 20);
    size_t used;

    while (!noise_is_done(n)) {
        (void)noise_output(n, &out);
        int rc = noise_input(n, p, len, &used);
        p += used;
        len -= used;
        if (rc < 0)
            goto out;
    }
    while (len) {
        if (noise_decrypt(n, p, len, &used, &plain) < 0)
            break;
        p += used;
        len -= used;
        buf_clear(&plain);
    }
out:
    buf_free(&out);
    buf_free(&plain);
}

static void
fuzz_responder(const uint8_t *p, size_t len)
{
    ed25519_keypair_t id;
    uint8_t seed[32], eph[32];

    fill(seed, SEED_RESP_ID);
    fill(eph, SEED_RESP_EPH);
    ed25519_keypair_from_seed(&id, seed);
    noise_t *n = noise_new(false, &id, NULL);
    noise_xx_set_ephemeral(&n->hs, eph);
    feed(n, p, len);
    noise_free(n);
}

static void
fuzz_initiator(const uint8_t *p, size_t len)
{
    ed25519_keypair_t id;
    uint8_t seed[32], eph[32];

    fill(seed, SEED_INIT_ID);
    fill(eph, SEED_INIT_EPH);
    ed25519_keypair_from_seed(&id, seed);
    noise_t *n = noise_new(true, &id, NULL);
    noise_xx_set_ephemeral(&n->hs, eph);
    feed(n, p, len);
    noise_free(n);
}

static void
frame(buf_t *b)
{
    size_t mlen = b->len - 2;
    b->data[0] = (uint8_t)(mlen >> 8);
    b->data[1] = (uint8_t)mlen;
}

/* Messages 1 and 2 come from a scripted initiator; message 3 carries `p`. */
static void
fuzz_payload_in_handshake(const uint8_t *p, size_t len)
{
    ed25519_keypair_t id;
    uint8_t k[32];
    x25519_keypair_t s;
    noise_xx_t i;
    buf_t msg = BUF_INIT(NOISE_MAX_FRAME), pl = BUF_INIT(NOISE_MAX_FRAME);
    size_t used;

    if (len > NOISE_MAX_MSG - 64)
        return;
    fill(k, SEED_RESP_ID);
    ed25519_keypair_from_seed(&id, k);
    noise_t *n = noise_new(false, &id, NULL);
    fill(k, SEED_RESP_EPH);
    noise_xx_set_ephemeral(&n->hs, k);
    fill(k, SEED_INIT_STATIC);
    x25519_keypair_from_secret(&s, k);
    noise_xx_init(&i, true, NULL, 0, &s);
    fill(k, SEED_INIT_EPH);
    noise_xx_set_ephemeral(&i, k);

    buf_append(&msg, "\0\0", 2);
    if (noise_xx_write(&i, NULL, 0, &msg) != 0)
        abort();
    frame(&msg);
    if (noise_input(n, msg.data, msg.len, &used) != 0)
        abort();
    buf_clear(&msg);
    if (noise_output(n, &msg) <= 0 || noise_xx_read(&i, msg.data + 2, msg.len - 2, &pl) != 0)
        abort();
    buf_clear(&msg);
    buf_append(&msg, "\0\0", 2);
    if (noise_xx_write(&i, p, len, &msg) != 0)
        abort();
    frame(&msg);
    if (noise_input(n, msg.data, msg.len, &used) == 0 && !noise_is_done(n))
        abort();
    noise_xx_wipe(&i);
    noise_free(n);
    buf_free(&msg);
    buf_free(&pl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] & 3) {
    case 0:
        fuzz_payload(data + 1, size - 1);
        break;
    case 1:
        fuzz_responder(data + 1, size - 1);
        break;
    case 2:
        fuzz_payload_in_handshake(data + 1, size - 1);
        break;
    default:
        fuzz_initiator(data + 1, size - 1);
        break;
    }
    return 0;
}
