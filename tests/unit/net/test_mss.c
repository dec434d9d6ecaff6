/* Tests for net/mss: byte-exact vectors from libp2p/specs connections/README.md,
 * both roles against each other through buffers split at every boundary, the `na`
 * path, garbage, oversize messages and pipelined application data. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/buf/buf.h"
#include "lib/err/err.h"
#include "net/mss/mss.h"

#define HDR "\x13/multistream/1.0.0\n"
#define YAMUX "\x0d/yamux/1.0.0\n"
#define NA "\x03na\n"
#define MPLEX "\x0d/mplex/6.7.0\n"

static const char *const yamux_only[] = {"/yamux/1.0.0"};

/* Everything `m` wants to send, as a fresh buffer. */
static buf_t
drain(mss_t *m)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    assert_true(mss_output(m, &b) >= 0);
    return b;
}

static void
assert_output(mss_t *m, const char *expect, size_t len)
{
    buf_t b = drain(m);
    assert_int_equal(b.len, len);
    if (len)
        assert_memory_equal(b.data, expect, len);
    buf_free(&b);
}

static int
feed(mss_t *m, const char *p, size_t len, size_t *consumed)
{
    return mss_input(m, (const uint8_t *)p, len, consumed);
}

static void
test_mss_initiator_vectors(void **state)
{
    mss_t *m = mss_new_initiator(yamux_only, 1);
    size_t used;
    (void)state;

    /* Header and first proposal pipelined in one write. */
    assert_output(m, HDR YAMUX, sizeof(HDR YAMUX) - 1);
    assert_output(m, "", 0);
    assert_false(mss_is_done(m));
    assert_null(mss_protocol(m));
    assert_int_equal(feed(m, HDR YAMUX, sizeof(HDR YAMUX) - 1, &used), 0);
    assert_int_equal(used, sizeof(HDR YAMUX) - 1);
    assert_true(mss_is_done(m));
    assert_string_equal(mss_protocol(m), "/yamux/1.0.0");
    assert_output(m, "", 0);
    mss_free(m);
    assert_null(m);
    mss_free_(NULL);
}

static bool
supports_yamux(void *ctx, const char *proto)
{
    int *calls = ctx;
    (*calls)++;
    return strcmp(proto, "/yamux/1.0.0") == 0;
}

static void
test_mss_responder_vectors(void **state)
{
    int calls = 0;
    mss_t *m = mss_new_responder(supports_yamux, &calls);
    size_t used;
    (void)state;

    assert_output(m, HDR, sizeof HDR - 1); /* sent without waiting */
    assert_int_equal(feed(m, HDR MPLEX, sizeof(HDR MPLEX) - 1, &used), 0);
    assert_int_equal(used, sizeof(HDR MPLEX) - 1);
    assert_int_equal(calls, 1);
    assert_output(m, NA, 4); /* the spec's 0x036e610a */
    assert_false(mss_is_done(m));
    assert_int_equal(feed(m, YAMUX, sizeof YAMUX - 1, &used), 0);
    assert_true(mss_is_done(m));
    assert_output(m, YAMUX, sizeof YAMUX - 1);
    assert_string_equal(mss_protocol(m), "/yamux/1.0.0");
    mss_free(m);
}

/* Run an initiator against a responder, moving at most `chunk` bytes per call (or
 * splitting each burst once at `split` when chunk is 0). Returns the initiator's
 * last result. */
static int
converse(mss_t *ini, mss_t *resp, size_t chunk, size_t split)
{
    mss_t *side[2] = {ini, resp};
    int rc[2] = {0, 0};

    for (int round = 0; round < 64; round++) {
        bool moved = false;
        for (int s = 0; s < 2; s++) {
            buf_t b = drain(side[s]);
            size_t off = 0;
            while (off < b.len && rc[!s] == 0) {
                size_t n = chunk ? LS_MIN(chunk, b.len - off)
                                 : (off < split && split < b.len ? split - off : b.len - off);
                size_t used;
                rc[!s] = mss_input(side[!s], b.data + off, n, &used);
                if (rc[!s] == 0)
                    assert_int_equal(used, n); /* no application data here */
                off += n;
                moved = true;
            }
            buf_free(&b);
        }
        if (!moved || rc[0] || rc[1])
            break;
    }
    assert_int_equal(rc[1], 0);
    return rc[0];
}

static void
test_mss_pair_every_split(void **state)
{
    static const char *const wanted[] = {"/noise", "/yamux/1.0.0"};
    static const char *const served[] = {"/tls/1.0.0", "/yamux/1.0.0"};
    (void)state;

    for (size_t chunk = 0; chunk <= 3; chunk++) {
        for (size_t split = 0; split < (chunk ? 1 : 40); split++) {
            mss_t *ini = mss_new_initiator(wanted, 2);
            mss_t *resp = mss_new_responder_list(served, 2);
            assert_int_equal(converse(ini, resp, chunk, split), 0);
            assert_true(mss_is_done(ini));
            assert_true(mss_is_done(resp));
            assert_string_equal(mss_protocol(ini), "/yamux/1.0.0");
            assert_string_equal(mss_protocol(resp), "/yamux/1.0.0");
            mss_free(ini);
            mss_free(resp);
        }
    }
}

static void
test_mss_na_path_bytes(void **state)
{
    /* gossipsub offers /meshsub/1.2.0 first (INTEROP.md); we only speak 1.1.0. */
    static const char *const wanted[] = {"/meshsub/1.2.0", "/meshsub/1.1.0"};
    mss_t *m = mss_new_initiator(wanted, 2);
    size_t used;
    (void)state;

    assert_output(m, HDR "\x0f/meshsub/1.2.0\n", sizeof HDR - 1 + 16);
    assert_int_equal(feed(m, HDR NA, sizeof HDR - 1 + 4, &used), 0);
    assert_output(m, "\x0f/meshsub/1.1.0\n", 16);
    assert_false(mss_is_done(m));
    assert_int_equal(feed(m, "\x0f/meshsub/1.1.0\n", 16, &used), 0);
    assert_string_equal(mss_protocol(m), "/meshsub/1.1.0");
    mss_free(m);
}

static void
test_mss_all_refused(void **state)
{
    static const char *const wanted[] = {"/a", "/b"};
    static const char *const served[] = {"/c"};
    mss_t *ini = mss_new_initiator(wanted, 2);
    mss_t *resp = mss_new_responder_list(served, 1);
    size_t used;
    (void)state;

    assert_int_equal(converse(ini, resp, 0, 0), LS_ENOTSUP);
    assert_false(mss_is_done(ini));
    assert_null(mss_protocol(ini));
    /* Sticky: nothing more is consumed. */
    assert_int_equal(feed(ini, NA, 4, &used), LS_ENOTSUP);
    assert_int_equal(used, 0);
    mss_free(ini);
    mss_free(resp);
}

static int
one_shot(bool initiator, const char *p, size_t len)
{
    static const char *const served[] = {"/yamux/1.0.0"};
    mss_t *m = initiator ? mss_new_initiator(served, 1) : mss_new_responder_list(served, 1);
    size_t used;
    int rc = feed(m, p, len, &used);
    assert_true(used <= len);
    mss_free(m);
    return rc;
}

#define ONE_SHOT(ini, lit) one_shot((ini), (lit), sizeof(lit) - 1)

static void
test_mss_garbage(void **state)
{
    (void)state;
    /* The first message must be the multistream header, from either side. */
    assert_int_equal(ONE_SHOT(false, "\x13/multistream/2.0.0\n"), LS_EPROTO);
    assert_int_equal(ONE_SHOT(true, YAMUX), LS_EPROTO);
    assert_int_equal(ONE_SHOT(true, NA), LS_EPROTO);
    /* No newline, zero length, non-minimal prefix, NUL inside, bad UTF-8. */
    assert_int_equal(ONE_SHOT(false, "\x13/multistream/1.0.0x"), LS_EPROTO);
    assert_int_equal(ONE_SHOT(false, "\x00"), LS_EPROTO);
    assert_int_equal(ONE_SHOT(false, "\x83\x00na\n"), LS_EPROTO);
    assert_int_equal(ONE_SHOT(false, HDR "\x04/a\0\n"), LS_EPROTO);
    assert_int_equal(ONE_SHOT(false, HDR "\x04/\xc0\xaf\n"), LS_EPROTO);     /* overlong */
    assert_int_equal(ONE_SHOT(false, HDR "\x05/\xed\xa0\x80\n"), LS_EPROTO); /* surrogate */
    assert_int_equal(ONE_SHOT(false, HDR "\x04/\xe2\x82\n"), LS_EPROTO);     /* truncated */
    assert_int_equal(ONE_SHOT(false, HDR "\x05/\xe2\x82\xac\n"), 0);         /* "/€" is fine */
    /* The initiator gets an answer that is neither its proposal nor na. */
    assert_int_equal(ONE_SHOT(true, HDR MPLEX), LS_EPROTO);
    /* A partial message is not an error. */
    assert_int_equal(ONE_SHOT(false, "\x13/multi"), 0);
}

static void
test_mss_oversize(void **state)
{
    uint8_t msg[2 + MSS_MAX_MESSAGE];
    mss_t *m;
    size_t used;
    (void)state;

    /* 1025 bytes: LS_ETOOBIG as soon as the prefix is read. */
    assert_int_equal(ONE_SHOT(false, "\x81\x08"), LS_ETOOBIG);
    /* A third prefix byte can only mean >= 16384. */
    assert_int_equal(ONE_SHOT(false, "\x80\x80"), LS_ETOOBIG);
    /* Exactly 1024 is allowed: the 1023-byte proposal is refused with na. */
    msg[0] = 0x80, msg[1] = 0x08;
    memset(msg + 2, 'x', MSS_MAX_MESSAGE - 1);
    msg[2] = '/';
    msg[1 + MSS_MAX_MESSAGE] = '\n';
    m = mss_new_responder_list(yamux_only, 1);
    assert_int_equal(feed(m, HDR, sizeof HDR - 1, &used), 0);
    assert_int_equal(mss_input(m, msg, sizeof msg, &used), 0);
    assert_int_equal(used, sizeof msg);
    assert_output(m, HDR NA, sizeof HDR - 1 + 4);
    mss_free(m);
}

static void
test_mss_trailing_app_data(void **state)
{
    static const char from_ini[] = HDR YAMUX "\x00\x00hello";
    static const char from_resp[] = HDR YAMUX "world";
    mss_t *resp = mss_new_responder_list(yamux_only, 1);
    mss_t *ini = mss_new_initiator(yamux_only, 1);
    size_t used;
    (void)state;

    /* The peer's first application bytes ride in the same read. */
    assert_int_equal(feed(resp, from_ini, sizeof from_ini - 1, &used), 0);
    assert_int_equal(used, sizeof(HDR YAMUX) - 1);
    assert_true(mss_is_done(resp));
    assert_int_equal(feed(resp, "more", 4, &used), 0);
    assert_int_equal(used, 0);

    assert_int_equal(feed(ini, from_resp, sizeof from_resp - 1, &used), 0);
    assert_int_equal(used, sizeof(HDR YAMUX) - 1);
    assert_memory_equal(from_resp + used, "world", 5);
    assert_true(mss_is_done(ini));
    mss_free(resp);
    mss_free(ini);
}

static void
test_mss_ls(void **state)
{
    static const char *const served[] = {"/a", "/bc"};
    /* One message: varint(10) + "\x03/a\n" "\x04/bc\n" + "\n". */
    static const char answer[] = "\x0a\x03/a\n\x04/bc\n\n";
    mss_t *m = mss_new_responder_list(served, 2);
    int calls = 0;
    size_t used;
    (void)state;

    assert_int_equal(feed(m, HDR "\x03ls\n", sizeof HDR - 1 + 4, &used), 0);
    assert_output(m, HDR "\x0a\x03/a\n\x04/bc\n\n", sizeof HDR - 1 + sizeof answer - 1);
    assert_false(mss_is_done(m));
    mss_free(m);

    m = mss_new_responder(supports_yamux, &calls);
    assert_int_equal(feed(m, HDR "\x03ls\n", sizeof HDR - 1 + 4, &used), 0);
    assert_output(m, HDR NA, sizeof HDR - 1 + 4);
    assert_int_equal(calls, 0);
    mss_free(m);
}

static void
test_mss_output_full(void **state)
{
    mss_t *m = mss_new_initiator(yamux_only, 1);
    buf_t small = BUF_INIT(8);
    (void)state;

    assert_int_equal(mss_output(m, &small), LS_ETOOBIG);
    assert_int_equal(small.len, 0);
    assert_output(m, HDR YAMUX, sizeof(HDR YAMUX) - 1); /* still pending */
    buf_free(&small);
    mss_free(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mss_initiator_vectors),
        cmocka_unit_test(test_mss_responder_vectors),
        cmocka_unit_test(test_mss_pair_every_split),
        cmocka_unit_test(test_mss_na_path_bytes),
        cmocka_unit_test(test_mss_all_refused),
        cmocka_unit_test(test_mss_garbage),
        cmocka_unit_test(test_mss_oversize),
        cmocka_unit_test(test_mss_trailing_app_data),
        cmocka_unit_test(test_mss_ls),
        cmocka_unit_test(test_mss_output_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
