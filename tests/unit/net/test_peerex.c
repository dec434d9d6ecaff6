/* peerex: the Peers codec (round trip, limits, malformed input) and one exchange
 * between two swarms over loopback, from peer store to peer store. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <event2/event.h>

#include "lib/crypto/ed25519.h"
#include "lib/err/err.h"
#include "net/peerex/peerex.h"

static peer_id_t
random_peer(void)
{
    ed25519_keypair_t kp;
    peer_id_t id;
    ed25519_keypair_generate(&kp);
    peer_id_from_ed25519(&id, kp.pk);
    ed25519_keypair_wipe(&kp);
    return id;
}

static multiaddr_t *
addr(const char *s)
{
    multiaddr_t *ma = NULL;
    assert_int_equal(multiaddr_parse(s, &ma), 0);
    return ma;
}

static void
test_codec_round_trip(void **state)
{
    (void)state;
    peerex_entry_t in[2] = {{.id = random_peer()}, {.id = random_peer()}};
    in[0].addrs[in[0].n_addrs++] = addr("/ip4/127.0.0.1/tcp/4001");
    in[0].addrs[in[0].n_addrs++] = addr("/ip6/::1/tcp/4002");
    buf_t msg = BUF_INIT(PEEREX_MAX_MESSAGE);
    assert_int_equal(peerex_encode(in, 2, &msg), 0);
    peerex_entry_t *out;
    size_t n;
    assert_int_equal(peerex_decode(msg.data, msg.len, &out, &n), 0);
    assert_int_equal(n, 2);
    assert_true(peer_id_equal(&out[0].id, &in[0].id));
    assert_true(peer_id_equal(&out[1].id, &in[1].id));
    assert_int_equal(out[0].n_addrs, 2);
    assert_true(multiaddr_equal(out[0].addrs[1], in[0].addrs[1]));
    assert_int_equal(out[1].n_addrs, 0);
    peerex_entries_free(out, n);
    multiaddr_free(in[0].addrs[0]);
    multiaddr_free(in[0].addrs[1]);
    buf_free(&msg);
}

/* A message is outside input: every count, size and ID is checked. */
static void
test_decode_rejects_bad_input(void **state)
{
    (void)state;
    peerex_entry_t *out;
    size_t n;
    static const uint8_t garbage[] = {0x0a, 0x05, 0x0a, 0x01}; /* truncated */
    assert_int_equal(peerex_decode(garbage, sizeof garbage, &out, &n), LS_EINVAL);
    assert_null(out);
    static const uint8_t bad_id[] = {0x0a, 0x04, 0x0a, 0x02, 0x00, 0x01}; /* id "\0\1" */
    assert_int_equal(peerex_decode(bad_id, sizeof bad_id, &out, &n), LS_EINVAL);
    uint8_t big[PEEREX_MAX_MESSAGE + 1] = {0};
    assert_int_equal(peerex_decode(big, sizeof big, &out, &n), LS_ETOOBIG);
    /* one peer more than allowed: refused whole */
    peerex_entry_t many[PEEREX_MAX_PEERS + 1];
    buf_t msg = BUF_INIT(PEEREX_MAX_MESSAGE);
    for (size_t i = 0; i < PEEREX_MAX_PEERS + 1; i++)
        many[i] = (peerex_entry_t){.id = random_peer()};
    assert_int_equal(peerex_encode(many, PEEREX_MAX_PEERS + 1, &msg), 0); /* capped */
    assert_int_equal(peerex_decode(msg.data, msg.len, &out, &n), 0);
    assert_int_equal(n, PEEREX_MAX_PEERS);
    peerex_entries_free(out, n);
    /* protobuf concatenation appends to repeated fields: a 33rd peer */
    assert_int_equal(peerex_encode(many, 1, &msg), 0);
    assert_int_equal(peerex_decode(msg.data, msg.len, &out, &n), LS_ETOOBIG);
    assert_null(out);
    buf_free(&msg);
}

static void
test_decode_skips_addrs_with_peer_id(void **state)
{
    (void)state;
    peerex_entry_t e = {.id = random_peer()};
    peer_id_t other = random_peer();
    multiaddr_t *plain = addr("/ip4/10.0.0.1/tcp/1");
    e.addrs[0] = multiaddr_with_peer_id(plain, &other);
    e.addrs[1] = plain;
    e.n_addrs = 2;
    buf_t msg = BUF_INIT(PEEREX_MAX_MESSAGE);
    assert_int_equal(peerex_encode(&e, 1, &msg), 0);
    peerex_entry_t *out;
    size_t n;
    assert_int_equal(peerex_decode(msg.data, msg.len, &out, &n), 0);
    assert_int_equal(out[0].n_addrs, 1);
    assert_true(multiaddr_equal(out[0].addrs[0], plain));
    peerex_entries_free(out, n);
    multiaddr_free(e.addrs[0]);
    multiaddr_free(plain);
    buf_free(&msg);
}

/* ---- an exchange over loopback ---- */

typedef struct side_t {
    ed25519_keypair_t key;
    swarm_t *sw;
    peerstore_t *ps;
    peerex_t *px;
    multiaddr_t *addr; /* with /p2p */
} side_t;

static void
side_start(struct event_base *base, side_t *s)
{
    ed25519_keypair_generate(&s->key);
    s->sw = swarm_new(base, &s->key, NULL, NULL);
    s->ps = peerstore_new(NULL, 0.5);
    s->px = peerex_new(s->sw, s->ps);
    multiaddr_t *ma = addr("/ip4/127.0.0.1/tcp/0");
    assert_int_equal(swarm_listen(s->sw, ma), 0);
    multiaddr_free(ma);
    const multiaddr_t *const *addrs;
    swarm_listen_addrs(s->sw, &addrs);
    s->addr = multiaddr_with_peer_id(addrs[0], swarm_local_peer(s->sw));
}

static void
side_stop(side_t *s)
{
    swarm_free(s->sw);
    peerex_free(s->px);
    peerstore_free(s->ps);
    multiaddr_free(s->addr);
}

static void
test_exchange(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    side_t a, b;
    side_start(base, &a);
    side_start(base, &b);
    peer_id_t c = random_peer(), silent = random_peer();
    multiaddr_t *c_addr = addr("/ip4/127.0.0.1/tcp/9");
    const multiaddr_t *const list[] = {c_addr};
    assert_int_equal(peerstore_add_addrs(b.ps, &c, list, 1, 1000), 1);
    assert_int_equal(peerstore_add_addrs(b.ps, swarm_local_peer(a.sw), list, 1, 1000), 1);
    assert_int_equal(peerstore_touch(b.ps, &silent, 1000), 0); /* no address: not shared */
    multiaddr_t *b_bare = multiaddr_without_peer_id(b.addr);
    const multiaddr_t *const b_list[] = {b_bare};
    swarm_add_addrs(a.sw, swarm_local_peer(b.sw), b_list, 1);
    assert_int_equal(peerex_request(a.px, swarm_local_peer(b.sw)), 0);
    peerex_stats_t st = {0};
    for (int i = 0; i < 2000 && st.answers + st.failed == 0; i++) {
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        peerex_stats(a.px, &st);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(st.answers, 1);
    assert_int_equal(st.learned, 1);
    peer_view_t v;
    assert_true(peerstore_get(a.ps, &c, &v));
    assert_int_equal(v.n_addrs, 1);
    assert_true(multiaddr_equal(v.addrs[0], c_addr));
    assert_false(peerstore_has(a.ps, &silent));
    assert_false(peerstore_has(a.ps, swarm_local_peer(a.sw))); /* never ourselves */
    peerex_stats(b.px, &st);
    assert_int_equal(st.served, 1);
    multiaddr_free(b_bare);
    multiaddr_free(c_addr);
    side_stop(&a);
    side_stop(&b);
    event_base_free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_round_trip),
        cmocka_unit_test(test_decode_rejects_bad_input),
        cmocka_unit_test(test_decode_skips_addrs_with_peer_id),
        cmocka_unit_test(test_exchange),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
