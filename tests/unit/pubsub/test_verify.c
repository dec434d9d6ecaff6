/* pubsub/verify: batched StrictSign checks on a real worker pool and event loop —
 * every result reported once with the right verdict and author, batching by size
 * and by loop round, the in-flight bound, and freeing with batches on the pool. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <event2/event.h>

#include "lib/buf/buf.h"
#include "lib/crypto/ed25519.h"
#include "lib/err/err.h"
#include "pubsub/rpc/pubsub_msg.h"
#include "pubsub/rpc/pubsub_rpc.h"
#include "pubsub/verify/pubsub_verify.h"

#define N 600

typedef struct results_t {
    int rc[N];
    int calls[N];
    peer_id_t author[N];
    size_t batches, reported;
    size_t batch_sizes[64];
    struct event_base *base;
    size_t want; /* stop the loop after this many results */
} results_t;

static void
on_done(void *ctx, const uint8_t *id, size_t id_len, int rc, const peer_id_t *author)
{
    results_t *r = ctx;
    unsigned i;
    assert_int_equal(id_len, sizeof i);
    memcpy(&i, id, sizeof i);
    assert_true(i < N);
    r->calls[i]++;
    r->rc[i] = rc;
    if (author)
        r->author[i] = *author;
    r->reported++;
}

static void
on_batch(void *ctx, size_t n)
{
    results_t *r = ctx;
    if (r->batches < 64)
        r->batch_sizes[r->batches] = n;
    r->batches++;
    if (r->reported >= r->want)
        event_base_loopbreak(r->base);
}

/* Message `i`, signed by `kp`; every seventh has a flipped signature byte. */
static void
make_msg(unsigned i, const ed25519_keypair_t *kp, buf_t *out)
{
    PubsubPb__Message m;
    pubsub_msg_sig_t st;
    char data[32];
    pubsub_pb__message__init(&m);
    snprintf(data, sizeof data, "message %u", i);
    m.has_topic = m.has_data = 1;
    m.topic = (ProtobufCBinaryData){1, (uint8_t *)"t"};
    m.data = (ProtobufCBinaryData){strlen(data), (uint8_t *)data};
    assert_int_equal(pubsub_msg_sign(&m, i + 1, kp, &st), 0);
    if (i % 7 == 3)
        st.signature[5] ^= 1;
    size_t len = pubsub_pb__message__get_packed_size(&m);
    buf_clear(out);
    assert_int_equal(buf_reserve(out, len), 0);
    pubsub_pb__message__pack(&m, out->data);
    out->len = len;
}

static void
test_batches_and_verdicts(void **state)
{
    (void)state;
    results_t *r = calloc(1, sizeof *r);
    r->base = event_base_new();
    workpool_t *pool = workpool_new(r->base, 2);
    pubsub_verify_env_t env = {.ctx = r, .done = on_done, .batch_done = on_batch};
    pubsub_verifier_t *v = pubsub_verifier_new(r->base, pool, &env, 256, 0);
    ed25519_keypair_t kp;
    ed25519_keypair_generate(&kp);
    peer_id_t me;
    peer_id_from_ed25519(&me, kp.pk);
    buf_t msg = BUF_INIT(BUF_UNLIMITED);

    /* 600 added in one loop round: two full batches at once, the rest at its end */
    for (unsigned i = 0; i < N; i++) {
        make_msg(i, &kp, &msg);
        assert_int_equal(pubsub_verifier_add(v, msg.data, msg.len, (uint8_t *)&i, sizeof i), 0);
    }
    assert_int_equal(pubsub_verifier_add(v, msg.data, msg.len, msg.data, PUBSUB_MSGID_MAX + 1),
                     LS_EINVAL);
    assert_int_equal(r->reported, 0); /* never from the call that added */
    r->want = N;
    event_base_dispatch(r->base);
    assert_int_equal(r->reported, N);
    assert_int_equal(r->batches, 3);
    size_t sizes = r->batch_sizes[0] + r->batch_sizes[1] + r->batch_sizes[2];
    assert_int_equal(sizes, N);
    size_t bad = 0;
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(r->calls[i], 1);
        if (i % 7 == 3) {
            assert_int_equal(r->rc[i], LS_EBADSIG);
            bad++;
        } else {
            assert_int_equal(r->rc[i], 0);
            assert_true(peer_id_equal(&r->author[i], &me));
        }
    }
    pubsub_verify_stats_t st;
    pubsub_verifier_stats(v, &st);
    assert_int_equal(st.inflight, 0);
    assert_int_equal(st.verified, N - bad);
    assert_int_equal(st.rejected, bad);
    assert_int_equal(st.batches, 3);

    /* not a message at all: reported as LS_EINVAL */
    memset(r, 0, offsetof(results_t, base));
    unsigned zero = 0;
    assert_int_equal(pubsub_verifier_add(v, (const uint8_t *)"\xff\xff", 2, (uint8_t *)&zero,
                                         sizeof zero),
                     0);
    r->want = 1;
    event_base_dispatch(r->base);
    assert_int_equal(r->rc[0], LS_EINVAL);

    buf_free(&msg);
    pubsub_verifier_free(v);
    workpool_free(pool);
    event_base_free(r->base);
    free(r);
}

/* The bound on waiting messages, and freeing with batches still on the pool: their
 * callbacks never come (ASan would see a use after free). */
static void
test_bound_and_free_in_flight(void **state)
{
    (void)state;
    results_t *r = calloc(1, sizeof *r);
    r->base = event_base_new();
    workpool_t *pool = workpool_new(r->base, 1);
    pubsub_verify_env_t env = {.ctx = r, .done = on_done, .batch_done = on_batch};
    pubsub_verifier_t *v = pubsub_verifier_new(r->base, pool, &env, 8, 20);
    ed25519_keypair_t kp;
    ed25519_keypair_generate(&kp);
    buf_t msg = BUF_INIT(BUF_UNLIMITED);
    for (unsigned i = 0; i < 25; i++) {
        make_msg(i, &kp, &msg);
        int rc = pubsub_verifier_add(v, msg.data, msg.len, (uint8_t *)&i, sizeof i);
        assert_int_equal(rc, i < 20 ? 0 : LS_ELIMIT);
    }
    pubsub_verifier_free(v); /* two batches of 8 on the pool, 4 collecting */
    workpool_free(pool);     /* runs their done callbacks: nothing reported */
    assert_int_equal(r->reported, 0);
    assert_int_equal(r->batches, 0);
    buf_free(&msg);
    event_base_free(r->base);
    free(r);
}

int
main(void)
{
    ls_crypto_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batches_and_verdicts),
        cmocka_unit_test(test_bound_and_free_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
