/* bench_bitswap — how fast the Bitswap engine takes in received blocks: messages of
 * four 256 KiB raw blocks (as a seeder batches them), every block wanted by a session,
 * through bitswap_input(), with the blocks' SHA-256 checked on the calling thread only
 * and with verify helpers beside it (lib/fanout). Wall-clock rates: this measures
 * what the helpers buy when a core is free for them, which the loopback download
 * benchmark cannot show on a 2-core host (the seeder takes the other core).
 *
 *   bench_bitswap [MIB [ROUNDS]]   MIB of blocks per round (default 128), ROUNDS
 *                                  rounds per setting, alternating (default 5)
 *
 * Output (one line, parsed by scripts/bench.sh):
 *   bitswap_recv helpers0=1.61GB/s helpers1=2.90GB/s ratio=1.80 cpus=2 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "content/bitswap/bitswap.h"
#include "lib/crypto/random.h"
#include "lib/err/err.h"
#include "lib/fanout/fanout.h"

#define BLOCK (256 * 1024)
#define PER_MSG 4

typedef struct corpus_t {
    uint8_t *data; /* nblocks * BLOCK */
    cid_t *cids;
    buf_t *msgs;
    size_t nblocks, nmsgs;
} corpus_t;

static int
no_send(void *ctx, const peer_id_t *to, const uint8_t *msg, size_t len)
{
    (void)ctx, (void)to, (void)msg, (void)len;
    return 0;
}

static bool
not_held(void *ctx, const cid_t *cid)
{
    (void)ctx, (void)cid;
    return false;
}

static int
none(void *ctx, const cid_t *cid, buf_t *out)
{
    (void)ctx, (void)cid, (void)out;
    return LS_ENOENT;
}

static void
rnd(void *ctx, void *out, size_t len)
{
    (void)ctx;
    random_bytes(out, len);
}

static void
corpus_make(corpus_t *c, size_t mib)
{
    c->nblocks = mib * 4;
    c->nmsgs = (c->nblocks + PER_MSG - 1) / PER_MSG;
    c->data = ls_malloc(c->nblocks * BLOCK);
    c->cids = ls_calloc(c->nblocks, sizeof *c->cids);
    c->msgs = ls_calloc(c->nmsgs, sizeof *c->msgs);
    random_bytes(c->data, c->nblocks * BLOCK);
    for (size_t m = 0; m < c->nmsgs; m++) {
        bitswap_writer_t w;
        bitswap_writer_init(&w, BITSWAP_V120);
        buf_init(&c->msgs[m], BITSWAP_MSG_MAX_SIZE);
        for (size_t i = m * PER_MSG; i < c->nblocks && i < (m + 1) * PER_MSG; i++) {
            cid_v1_sha256(&c->cids[i], CID_CODEC_RAW, c->data + i * BLOCK, BLOCK);
            if (bitswap_writer_block(&w, &c->cids[i], c->data + i * BLOCK, BLOCK) != 0)
                abort();
        }
        if (bitswap_writer_finish(&w, &c->msgs[m]) != 0)
            abort();
        bitswap_writer_free(&w);
    }
}

/* One round: a fresh engine wanting every block, fed every message; bytes/s. */
static double
round_rate(const corpus_t *c, int helpers)
{
    bitswap_env_t env = {.send = no_send, .has = not_held, .get = none, .random = rnd};
    bitswap_config_t cfg = {.verify_helpers = helpers ? helpers : -1};
    bitswap_t *bs = bitswap_new(&cfg, &env);
    peer_id_t peer;
    uint8_t pk[32] = {9};
    peer_id_from_ed25519(&peer, pk);
    bitswap_peer_connected(bs, 1, &peer, BITSWAP_V120);
    bitswap_session_t *s = bitswap_session_new(bs);
    bitswap_session_add_peer(s, &peer);
    bitswap_session_want(s, c->cids, c->nblocks);
    double t0 = bench_now_s();
    for (size_t m = 0; m < c->nmsgs; m++)
        if (bitswap_input(bs, 2, &peer, BITSWAP_V120, c->msgs[m].data, c->msgs[m].len) != 0)
            abort();
    double dt = bench_now_s() - t0;
    bitswap_session_stats_t st;
    bitswap_session_stats(s, &st);
    if (st.received != c->nblocks)
        abort(); /* every block verified and taken */
    bitswap_session_free(s);
    bitswap_free(bs);
    return (double)(c->nblocks * BLOCK) / dt;
}

int
main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 128;
    int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
    int helpers = (int)fanout_auto_helpers(3);
    corpus_t c;
    if (mib == 0 || rounds <= 0 || rounds > 99)
        return 2;
    corpus_make(&c, mib);
    double r0[99], r1[99];
    for (int i = 0; i < rounds; i++) { /* alternate: a noisy moment hurts both */
        r0[i] = round_rate(&c, 0);
        r1[i] = helpers ? round_rate(&c, helpers) : r0[i];
    }
    double m0 = bench_median(r0, (size_t)rounds), m1 = bench_median(r1, (size_t)rounds);
    printf("bitswap_recv helpers0=%.2fGB/s helpers%d=%.2fGB/s ratio=%.2f cpus=%ld\n", m0 / 1e9,
           helpers, m1 / 1e9, m1 / m0, sysconf(_SC_NPROCESSORS_ONLN));
    for (size_t m = 0; m < c.nmsgs; m++)
        buf_free(&c.msgs[m]);
    free(c.msgs);
    free(c.cids);
    free(c.data);
    return 0;
}
