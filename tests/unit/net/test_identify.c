/* Tests for the identify codec (net/identify/identify_codec.c) against the protobuf
 * wire format of libp2p/specs identify/README.md:
 *   message Identify { optional bytes publicKey = 1; repeated bytes listenAddrs = 2;
 *     repeated string protocols = 3; optional bytes observedAddr = 4;
 *     optional string protocolVersion = 5; optional string agentVersion = 6;
 *     optional bytes signedPeerRecord = 8; }
 * The vectors are written out by hand: a tag is (field << 3) | wire type, so the
 * length-delimited fields 1..8 start 0a 12 1a 22 2a 32 42, each followed by a varint
 * length. Decoding must accept fields in any order, repeated optional fields (the
 * last wins), and skip fields it does not know, as every protobuf parser does. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/buf/buf.h"
#include "lib/err/err.h"
#include "lib/multiaddr/multiaddr.h"
#include "net/identify/identify.h"

/* RFC 8032 test 1 public key, as a libp2p PublicKey protobuf (Type Ed25519 = 1). */
#define PUBKEY_PB                                                                          \
    0x08, 0x01, 0x12, 0x20, 0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b,    \
        0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, \
        0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a
static const uint8_t pubkey_pb[] = { PUBKEY_PB };

/* /ip4/127.0.0.1/tcp/4001 and /ip4/1.2.3.4/tcp/80 */
#define LISTEN_MA 0x04, 0x7f, 0x00, 0x00, 0x01, 0x06, 0x0f, 0xa1
#define OBSERVED_MA 0x04, 0x01, 0x02, 0x03, 0x04, 0x06, 0x00, 0x50

#define F_PUBKEY 0x0a, 0x24, PUBKEY_PB
#define F_LISTEN 0x12, 0x08, LISTEN_MA
#define F_PROTO_ID                                                                         \
    0x1a, 0x0e, '/', 'i', 'p', 'f', 's', '/', 'i', 'd', '/', '1', '.', '0', '.', '0'
#define F_PROTO_PING                                                                       \
    0x1a, 0x10, '/', 'i', 'p', 'f', 's', '/', 'p', 'i', 'n', 'g', '/', '1', '.', '0', '.', '0'
#define F_OBSERVED 0x22, 0x08, OBSERVED_MA
#define F_PVERSION 0x2a, 0x0a, 'i', 'p', 'f', 's', '/', '0', '.', '1', '.', '0'
#define F_AGENT 0x32, 0x08, 'l', 'e', 's', 't', 'e', 'r', '/', '1'

/* Every field once, in field-number order: what identify_encode() must produce. */
static const uint8_t full_msg[] = {
    F_PUBKEY, F_LISTEN, F_PROTO_ID, F_PROTO_PING, F_OBSERVED, F_PVERSION, F_AGENT,
};

static multiaddr_t *
ma(const char *s)
{
    multiaddr_t *m = NULL;
    assert_int_equal(multiaddr_parse(s, &m), 0);
    return m;
}

/* The message of full_msg, built through the API. */
static void
full_info(identify_info_t *info, multiaddr_t **listen, char **protos)
{
    memset(info, 0, sizeof *info);
    info->protocol_version = "ipfs/0.1.0";
    info->agent_version = "lester/1";
    info->public_key = (uint8_t *)pubkey_pb;
    info->public_key_len = sizeof pubkey_pb;
    listen[0] = ma("/ip4/127.0.0.1/tcp/4001");
    info->listen_addrs = listen;
    info->n_listen_addrs = 1;
    info->observed_addr = ma("/ip4/1.2.3.4/tcp/80");
    protos[0] = "/ipfs/id/1.0.0";
    protos[1] = "/ipfs/ping/1.0.0";
    info->protocols = protos;
    info->n_protocols = 2;
}

static void
full_info_done(identify_info_t *info)
{
    multiaddr_free(info->listen_addrs[0]);
    multiaddr_free(info->observed_addr);
}

static void
assert_ma(const multiaddr_t *m, const char *text)
{
    assert_non_null(m);
    char *s = multiaddr_to_str(m);
    assert_string_equal(s, text);
    free(s);
}

/* The fields of full_msg, whatever order they arrived in. */
static void
assert_full(const identify_info_t *info)
{
    assert_string_equal(info->protocol_version, "ipfs/0.1.0");
    assert_string_equal(info->agent_version, "lester/1");
    assert_int_equal(info->public_key_len, sizeof pubkey_pb);
    assert_memory_equal(info->public_key, pubkey_pb, sizeof pubkey_pb);
    assert_true(info->has_listen_addrs);
    assert_int_equal(info->n_listen_addrs, 1);
    assert_ma(info->listen_addrs[0], "/ip4/127.0.0.1/tcp/4001");
    assert_ma(info->observed_addr, "/ip4/1.2.3.4/tcp/80");
    assert_true(info->has_protocols);
    assert_int_equal(info->n_protocols, 2);
    assert_string_equal(info->protocols[0], "/ipfs/id/1.0.0");
    assert_string_equal(info->protocols[1], "/ipfs/ping/1.0.0");
}

static int
decode(const uint8_t *p, size_t len, identify_info_t *info)
{
    int rc = identify_decode(p, len, info);
    if (rc < 0) { /* on error nothing is left to free */
        assert_null(info->protocol_version);
        assert_null(info->agent_version);
        assert_null(info->public_key);
        assert_null(info->listen_addrs);
        assert_null(info->observed_addr);
        assert_null(info->protocols);
        assert_int_equal(info->n_protocols + info->n_listen_addrs, 0);
    }
    return rc;
}

/* ---- a small protobuf writer for the larger cases ---- */

static void
pb_varint(buf_t *b, uint64_t v)
{
    do {
        uint8_t c = (uint8_t)(v & 0x7f);
        v >>= 7;
        assert_int_equal(buf_append_byte(b, (uint8_t)(c | (v ? 0x80 : 0))), 0);
    } while (v);
}

static void
pb_bytes(buf_t *b, unsigned field, const void *p, size_t len)
{
    pb_varint(b, (uint64_t)field << 3 | 2);
    pb_varint(b, len);
    assert_int_equal(buf_append(b, p, len), 0);
}

static void
pb_str(buf_t *b, unsigned field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

/* ---- encoding ---- */

static void
test_encode_vector(void **state)
{
    identify_info_t info;
    multiaddr_t *listen[1];
    char *protos[2];
    buf_t out = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    full_info(&info, listen, protos);
    assert_int_equal(identify_encode(&info, &out), 0);
    assert_int_equal(out.len, sizeof full_msg);
    assert_memory_equal(out.data, full_msg, sizeof full_msg);
    full_info_done(&info);
    buf_free(&out);
}

static void
test_encode_minimal_and_empty(void **state)
{
    static const uint8_t agent_only[] = { 0x32, 0x03, 'a', '/', 'b' };
    identify_info_t info = { 0 };
    buf_t out = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    assert_int_equal(identify_encode(&info, &out), 0); /* every field absent */
    assert_int_equal(out.len, 0);
    info.agent_version = "a/b";
    assert_int_equal(identify_encode(&info, &out), 0);
    assert_int_equal(out.len, sizeof agent_only);
    assert_memory_equal(out.data, agent_only, sizeof agent_only);
    /* an empty string is present (proto2), not absent */
    static const uint8_t empty_pv[] = { 0x2a, 0x00 };
    buf_clear(&out);
    info.agent_version = NULL;
    info.protocol_version = "";
    assert_int_equal(identify_encode(&info, &out), 0);
    assert_int_equal(out.len, sizeof empty_pv);
    assert_memory_equal(out.data, empty_pv, sizeof empty_pv);
    buf_free(&out);
}

static void
test_encode_appends(void **state)
{
    identify_info_t info = { .agent_version = "x" };
    buf_t out = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    assert_int_equal(buf_append(&out, "\x05", 1), 0); /* e.g. a length prefix */
    assert_int_equal(identify_encode(&info, &out), 0);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, "\x05\x32\x01x", 4);
    buf_free(&out);
}

static void
test_encode_too_big(void **state)
{
    char *big = malloc(IDENTIFY_MAX_MESSAGE);
    identify_info_t info = { 0 };
    buf_t out = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    memset(big, 'a', IDENTIFY_MAX_MESSAGE - 1);
    big[IDENTIFY_MAX_MESSAGE - 1] = '\0';
    info.agent_version = big; /* 3-byte header + 65535 > 64 KiB */
    assert_int_equal(identify_encode(&info, &out), LS_ETOOBIG);
    assert_int_equal(out.len, 0);
    big[IDENTIFY_MAX_MESSAGE - 4] = '\0'; /* 3 + 65532 = 64 KiB exactly */
    assert_int_equal(identify_encode(&info, &out), 0);
    assert_int_equal(out.len, IDENTIFY_MAX_MESSAGE);
    /* a full output buffer is LS_ETOOBIG too, and leaves it unchanged */
    buf_t small = BUF_INIT(8);
    info.agent_version = "0123456789";
    assert_int_equal(identify_encode(&info, &small), LS_ETOOBIG);
    assert_int_equal(small.len, 0);
    buf_free(&small);
    buf_free(&out);
    free(big);
}

static void
test_encode_caps_addrs(void **state)
{
    multiaddr_t *addrs[IDENTIFY_MAX_ADDRS + 5];
    identify_info_t info = { 0 }, back;
    buf_t out = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    for (size_t i = 0; i < IDENTIFY_MAX_ADDRS + 5; i++)
        addrs[i] = ma("/ip4/10.0.0.1/tcp/1");
    info.listen_addrs = addrs;
    info.n_listen_addrs = IDENTIFY_MAX_ADDRS + 5;
    assert_int_equal(identify_encode(&info, &out), 0);
    assert_int_equal(out.len, IDENTIFY_MAX_ADDRS * 10u); /* 12 08 + 8 bytes each */
    assert_int_equal(decode(out.data, out.len, &back), 0);
    assert_int_equal(back.n_listen_addrs, IDENTIFY_MAX_ADDRS);
    identify_info_clear(&back);
    for (size_t i = 0; i < IDENTIFY_MAX_ADDRS + 5; i++)
        multiaddr_free(addrs[i]);
    buf_free(&out);
}

/* ---- decoding ---- */

static void
test_decode_vector(void **state)
{
    identify_info_t info;

    (void)state;
    assert_int_equal(decode(full_msg, sizeof full_msg, &info), 0);
    assert_full(&info);
    identify_info_clear(&info);
    assert_null(info.agent_version); /* cleared and zeroed */
    assert_int_equal(info.n_protocols, 0);
    identify_info_clear(&info); /* twice is harmless */
}

static void
test_decode_empty(void **state)
{
    identify_info_t info;

    (void)state;
    memset(&info, 0xa5, sizeof info); /* zeroed first */
    assert_int_equal(decode(NULL, 0, &info), 0);
    assert_null(info.protocol_version);
    assert_null(info.agent_version);
    assert_null(info.public_key);
    assert_null(info.observed_addr);
    assert_int_equal(info.n_listen_addrs, 0);
    assert_int_equal(info.n_protocols, 0);
    assert_false(info.has_protocols);
    assert_false(info.has_listen_addrs);
    identify_info_clear(&info);
}

static void
test_decode_any_order(void **state)
{
    /* reverse order, protocols split around the other fields */
    static const uint8_t msg[] = {
        F_AGENT, F_PROTO_ID, F_PVERSION, F_OBSERVED, F_LISTEN, F_PROTO_PING, F_PUBKEY,
    };
    identify_info_t info;

    (void)state;
    assert_int_equal(decode(msg, sizeof msg, &info), 0);
    assert_full(&info);
    identify_info_clear(&info);
}

static void
test_decode_skips_unknown_fields(void **state)
{
    /* what newer go/js/rust peers send: signedPeerRecord (8), and fields of every
     * wire type this build does not know, including large field numbers */
    static const uint8_t msg[] = {
        0x42, 0x05, 0x0a, 0x03, 'a', 'b', 'c',         /* signedPeerRecord */
        F_PVERSION,
        0x48, 0x96, 0x01,                              /* 9: varint 150 */
        0x51, 1, 2, 3, 4, 5, 6, 7, 8,                  /* 10: fixed64 */
        F_PUBKEY,
        0x5d, 1, 2, 3, 4,                              /* 11: fixed32 */
        0xa2, 0x06, 0x03, 'x', 'y', 'z',               /* 100: bytes */
        F_LISTEN, F_PROTO_ID, F_PROTO_PING,
        0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00,            /* 536870911 (max): varint 0 */
        F_OBSERVED, F_AGENT,
        0x3a, 0x00,                                    /* 7 (unused): empty bytes */
        0x08, 0x01,                                    /* 1 as a varint: wrong type */
    };
    identify_info_t info;

    (void)state;
    /* a known field with the wrong wire type is refused (protobuf-c), never misread */
    assert_int_equal(decode(msg, sizeof msg, &info), LS_EINVAL);
    /* without that last field it must decode */
    assert_int_equal(decode(msg, sizeof msg - 2, &info), 0);
    assert_full(&info);
    identify_info_clear(&info);
}

static void
test_decode_repeated_optional_last_wins(void **state)
{
    static const uint8_t msg[] = {
        F_AGENT,
        0x32, 0x03, 'g', 'o', '!',
        F_OBSERVED,
        0x22, 0x08, 0x04, 0x05, 0x06, 0x07, 0x08, 0x06, 0x00, 0x51,
    };
    identify_info_t info;

    (void)state;
    assert_int_equal(decode(msg, sizeof msg, &info), 0);
    assert_string_equal(info.agent_version, "go!");
    assert_ma(info.observed_addr, "/ip4/5.6.7.8/tcp/81");
    identify_info_clear(&info);
}

static void
test_decode_repeated_fields(void **state)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    identify_info_t info;
    char name[32];

    (void)state;
    for (int i = 0; i < IDENTIFY_MAX_PROTOCOLS; i++) {
        snprintf(name, sizeof name, "/p/%d", i);
        pb_str(&b, 3, name);
    }
    static const uint8_t a6[] = { 0x29, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                                  0x06, 0x00, 0x01 }; /* /ip6/::1/tcp/1 */
    for (int i = 0; i < IDENTIFY_MAX_ADDRS; i++)
        pb_bytes(&b, 2, a6, sizeof a6);
    assert_int_equal(decode(b.data, b.len, &info), 0);
    assert_int_equal(info.n_protocols, IDENTIFY_MAX_PROTOCOLS);
    assert_string_equal(info.protocols[0], "/p/0");
    assert_string_equal(info.protocols[IDENTIFY_MAX_PROTOCOLS - 1], "/p/255");
    assert_int_equal(info.n_listen_addrs, IDENTIFY_MAX_ADDRS);
    assert_ma(info.listen_addrs[IDENTIFY_MAX_ADDRS - 1], "/ip6/::1/tcp/1");
    identify_info_clear(&info);

    /* one more of either is over the limit */
    buf_t more = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(buf_append(&more, b.data, b.len), 0);
    pb_str(&more, 3, "/one/more");
    assert_int_equal(decode(more.data, more.len, &info), LS_ETOOBIG);
    buf_clear(&more);
    assert_int_equal(buf_append(&more, b.data, b.len), 0);
    pb_bytes(&more, 2, a6, sizeof a6);
    assert_int_equal(decode(more.data, more.len, &info), LS_ETOOBIG);
    buf_free(&more);
    buf_free(&b);
}

static void
test_decode_truncated(void **state)
{
    identify_info_t info;

    (void)state;
    /* Every prefix either ends on a field boundary (and decodes) or inside a field. */
    static const size_t boundaries[] = { 0, 38, 48, 64, 82, 92, 104, 114 };
    size_t nb = 0;
    for (size_t n = 0; n <= sizeof full_msg; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any over-read */
        memcpy(copy, full_msg, n);
        int rc = decode(copy, n, &info);
        if (nb < sizeof boundaries / sizeof *boundaries && n == boundaries[nb]) {
            assert_int_equal(rc, 0);
            nb++;
            identify_info_clear(&info);
        } else {
            assert_int_equal(rc, LS_EINVAL);
        }
        free(copy);
    }
    assert_int_equal(nb, sizeof boundaries / sizeof *boundaries);
    assert_int_equal(sizeof full_msg, 114);
}

static void
test_decode_length_overruns(void **state)
{
    static const uint8_t over_by_one[] = { 0x32, 0x04, 'a', 'b', 'c' };
    static const uint8_t huge_len[] = { 0x32, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a' };
    static const uint8_t len_2_64[] = { 0x12, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0x01, 0x00 };
    static const uint8_t unknown_over[] = { 0x62, 0x10, 0x00 };   /* field 12 */
    static const uint8_t bad_tag[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
    static const uint8_t field_zero[] = { 0x02, 0x00 };
    static const uint8_t group[] = { 0x4b, 0x4c }; /* field 9 start/end group */
    static const uint8_t wt_7[] = { 0x4f, 0x00 };  /* wire type 7 does not exist */
    static const uint8_t fixed_short[] = { 0x51, 1, 2, 3 };
    static const uint8_t varint_open[] = { 0x48, 0x80 };
    identify_info_t info;

    (void)state;
    assert_int_equal(decode(over_by_one, sizeof over_by_one, &info), LS_EINVAL);
    assert_int_equal(decode(huge_len, sizeof huge_len, &info), LS_EINVAL);
    assert_int_equal(decode(len_2_64, sizeof len_2_64, &info), LS_EINVAL);
    assert_int_equal(decode(unknown_over, sizeof unknown_over, &info), LS_EINVAL);
    assert_int_equal(decode(bad_tag, sizeof bad_tag, &info), LS_EINVAL);
    assert_int_equal(decode(field_zero, sizeof field_zero, &info), LS_EINVAL);
    assert_int_equal(decode(wt_7, sizeof wt_7, &info), LS_EINVAL);
    assert_int_equal(decode(fixed_short, sizeof fixed_short, &info), LS_EINVAL);
    assert_int_equal(decode(varint_open, sizeof varint_open, &info), LS_EINVAL);
    /* deprecated proto2 groups: no libp2p implementation sends them; refused */
    assert_int_equal(decode(group, sizeof group, &info), LS_EINVAL);
}

static void
test_decode_size_limit(void **state)
{
    uint8_t *msg = malloc(IDENTIFY_MAX_MESSAGE + 1);
    identify_info_t info;

    (void)state;
    /* one signedPeerRecord filling the message: 1 tag + 3 length bytes + payload */
    size_t payload = IDENTIFY_MAX_MESSAGE - 4;
    msg[0] = 0x42;
    msg[1] = (uint8_t)(0x80 | (payload & 0x7f));
    msg[2] = (uint8_t)(0x80 | ((payload >> 7) & 0x7f));
    msg[3] = (uint8_t)(payload >> 14);
    memset(msg + 4, 0, payload + 1);
    assert_int_equal(decode(msg, IDENTIFY_MAX_MESSAGE, &info), 0);
    identify_info_clear(&info);
    payload++;
    msg[1] = (uint8_t)(0x80 | (payload & 0x7f));
    msg[2] = (uint8_t)(0x80 | ((payload >> 7) & 0x7f));
    msg[3] = (uint8_t)(payload >> 14);
    assert_int_equal(decode(msg, IDENTIFY_MAX_MESSAGE + 1, &info), LS_ETOOBIG);
    /* the limit holds before parsing: garbage past it is still LS_ETOOBIG */
    memset(msg, 0xff, IDENTIFY_MAX_MESSAGE + 1);
    assert_int_equal(decode(msg, IDENTIFY_MAX_MESSAGE + 1, &info), LS_ETOOBIG);
    free(msg);
}

static void
test_decode_string_limits(void **state)
{
    char *s = malloc(IDENTIFY_MAX_STRING + 2);
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    identify_info_t info;

    (void)state;
    memset(s, 'v', IDENTIFY_MAX_STRING + 1);
    s[IDENTIFY_MAX_STRING] = '\0';
    pb_str(&b, 6, s);
    pb_str(&b, 5, s);
    pb_str(&b, 3, s);
    assert_int_equal(decode(b.data, b.len, &info), 0);
    assert_int_equal(strlen(info.agent_version), IDENTIFY_MAX_STRING);
    identify_info_clear(&info);
    s[IDENTIFY_MAX_STRING] = 'v';
    s[IDENTIFY_MAX_STRING + 1] = '\0';
    for (unsigned field = 3; field <= 6; field++) {
        if (field == 4)
            continue;
        buf_clear(&b);
        pb_str(&b, field, s);
        assert_int_equal(decode(b.data, b.len, &info), LS_ETOOBIG);
    }
    buf_free(&b);
    free(s);
}

static void
test_decode_utf8(void **state)
{
    static const char *const good[] = {
        "caf\xc3\xa9",                 /* U+00E9 */
        "\xe2\x82\xac",                /* U+20AC */
        "\xf0\x9f\x98\x80",            /* U+1F600 */
        "\xf4\x8f\xbf\xbf",            /* U+10FFFF, the last code point */
        "\xed\x9f\xbf",                /* U+D7FF, just below the surrogates */
    };
    static const char *const bad[] = {
        "\xff",             "\x80",             "caf\xc3",          "\xc3(",
        "\xc0\xaf",         /* overlong '/' */
        "\xc1\xbf",         /* overlong U+007F */
        "\xe0\x80\xaf",     /* overlong '/' in 3 bytes */
        "\xf0\x80\x80\xaf", /* overlong '/' in 4 bytes */
        "\xed\xa0\x80",     /* U+D800, a surrogate */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80",
    };
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    identify_info_t info;

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        for (unsigned field = 3; field <= 6; field++) {
            if (field == 4)
                continue;
            buf_clear(&b);
            pb_str(&b, field, good[i]);
            assert_int_equal(decode(b.data, b.len, &info), 0);
            identify_info_clear(&info);
        }
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        for (unsigned field = 3; field <= 6; field++) {
            if (field == 4)
                continue;
            buf_clear(&b);
            pb_str(&b, 6, "ok");
            pb_str(&b, field, bad[i]);
            if (decode(b.data, b.len, &info) != LS_EINVAL)
                fail_msg("bad UTF-8 #%zu in field %u accepted", i, field);
        }
    }
    buf_free(&b);
}

static void
test_decode_nul_in_strings(void **state)
{
    /* A string with a NUL cannot be held as a C string: the message is refused
     * rather than silently cut ("/ipfs/kad/1.0.0\0x" is not "/ipfs/kad/1.0.0"). */
    static const uint8_t agent[] = { 0x32, 0x03, 'a', 0x00, 'b' };
    static const uint8_t proto[] = { F_PROTO_ID, 0x1a, 0x03, '/', 'x', 0x00 };
    static const uint8_t pver[] = { 0x2a, 0x01, 0x00 };
    static const uint8_t in_bytes[] = { 0x42, 0x02, 0x00, 0x00, /* bytes may hold NUL */
                                        0xa2, 0x06, 0x01, 0x00 };
    identify_info_t info;

    (void)state;
    assert_int_equal(decode(agent, sizeof agent, &info), LS_EINVAL);
    assert_int_equal(decode(proto, sizeof proto, &info), LS_EINVAL);
    assert_int_equal(decode(pver, sizeof pver, &info), LS_EINVAL);
    assert_int_equal(decode(in_bytes, sizeof in_bytes, &info), 0);
    identify_info_clear(&info);
}

static void
test_decode_public_key(void **state)
{
    static const uint8_t truncated_key[] = { 0x0a, 0x04, 0x08, 0x01, 0x12, 0x20 };
    static const uint8_t short_key[] = { 0x0a, 0x05, 0x08, 0x01, 0x12, 0x01, 0x00 };
    static const uint8_t garbage_key[] = { 0x0a, 0x02, 0xff, 0xff };
    static const uint8_t empty_key[] = { 0x0a, 0x00 };
    identify_info_t info;

    (void)state;
    assert_int_equal(decode(truncated_key, sizeof truncated_key, &info), LS_EINVAL);
    assert_int_equal(decode(short_key, sizeof short_key, &info), LS_EINVAL);
    assert_int_equal(decode(garbage_key, sizeof garbage_key, &info), LS_EINVAL);
    assert_int_equal(decode(empty_key, sizeof empty_key, &info), LS_EINVAL);
}

static void
test_decode_bad_multiaddrs_skipped(void **state)
{
    static const uint8_t unknown_code[] = { 0xff, 0x7f, 0x01 };       /* code 16383 */
    static const uint8_t short_ip4[] = { 0x04, 0x7f, 0x00 };          /* truncated */
    static const uint8_t bad_len[] = { 0x35, 0x7f, 'a' };             /* dns, len 127 */
    static const uint8_t slash_dns[] = { 0x35, 0x03, 'a', '/', 'b' }; /* '/' in a name */
    static const uint8_t nonminimal[] = { 0x84, 0x00, 1, 2, 3, 4 };   /* varint 0x84 0x00 */
    static const uint8_t trailing[] = { LISTEN_MA, 0x06 };            /* tcp without port */
    static const uint8_t good[] = { LISTEN_MA };
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    identify_info_t info;
    uint8_t *huge = calloc(1, MULTIADDR_MAX_LEN + 10);

    (void)state;
    pb_bytes(&b, 2, unknown_code, sizeof unknown_code);
    pb_bytes(&b, 2, short_ip4, sizeof short_ip4);
    pb_bytes(&b, 2, good, sizeof good);
    pb_bytes(&b, 2, "", 0);
    pb_bytes(&b, 2, bad_len, sizeof bad_len);
    pb_bytes(&b, 2, slash_dns, sizeof slash_dns);
    pb_bytes(&b, 2, nonminimal, sizeof nonminimal);
    pb_bytes(&b, 2, trailing, sizeof trailing);
    huge[0] = 0x04; /* /ip4/0.0.0.0 repeated past MULTIADDR_MAX_LEN */
    for (size_t i = 5; i + 5 <= MULTIADDR_MAX_LEN + 10; i += 5)
        huge[i] = 0x04;
    pb_bytes(&b, 2, huge, MULTIADDR_MAX_LEN + 10);
    pb_bytes(&b, 4, short_ip4, sizeof short_ip4);
    assert_int_equal(decode(b.data, b.len, &info), 0);
    assert_true(info.has_listen_addrs);
    assert_int_equal(info.n_listen_addrs, 1);
    assert_ma(info.listen_addrs[0], "/ip4/127.0.0.1/tcp/4001");
    assert_null(info.observed_addr);
    identify_info_clear(&info);

    /* an unknown observed address, and only bad listen addresses */
    buf_clear(&b);
    pb_bytes(&b, 4, unknown_code, sizeof unknown_code);
    pb_bytes(&b, 2, unknown_code, sizeof unknown_code);
    assert_int_equal(decode(b.data, b.len, &info), 0);
    assert_null(info.observed_addr);
    assert_int_equal(info.n_listen_addrs, 0);
    identify_info_clear(&info);
    buf_free(&b);
    free(huge);
}

/* ---- round trips and merge ---- */

static void
test_round_trip(void **state)
{
    identify_info_t info, back;
    multiaddr_t *listen[1];
    char *protos[2];
    buf_t out = BUF_INIT(BUF_UNLIMITED), again = BUF_INIT(BUF_UNLIMITED);

    (void)state;
    full_info(&info, listen, protos);
    assert_int_equal(identify_encode(&info, &out), 0);
    assert_int_equal(decode(out.data, out.len, &back), 0);
    assert_full(&back);
    assert_int_equal(identify_encode(&back, &again), 0);
    assert_int_equal(again.len, out.len);
    assert_memory_equal(again.data, out.data, out.len);
    identify_info_clear(&back);

    /* unknown fields are dropped: decode + encode gives the canonical bytes */
    static const uint8_t noisy[] = { F_AGENT, 0x42, 0x01, 0x00, 0x48, 0x01, F_PVERSION };
    static const uint8_t canon[] = { F_PVERSION, F_AGENT };
    assert_int_equal(decode(noisy, sizeof noisy, &back), 0);
    buf_clear(&again);
    assert_int_equal(identify_encode(&back, &again), 0);
    assert_int_equal(again.len, sizeof canon);
    assert_memory_equal(again.data, canon, sizeof canon);
    identify_info_clear(&back);
    full_info_done(&info);
    buf_free(&out);
    buf_free(&again);
}

static void
test_merge_push(void **state)
{
    static const uint8_t push_msg[] = { 0x1a, 0x02, '/', 'q', 0x32, 0x02, 'v', '2' };
    identify_info_t dst, push;

    (void)state;
    assert_int_equal(decode(full_msg, sizeof full_msg, &dst), 0);
    assert_int_equal(decode(push_msg, sizeof push_msg, &push), 0);
    identify_info_merge(&dst, &push);
    assert_null(push.agent_version); /* emptied */
    assert_string_equal(dst.agent_version, "v2");
    assert_int_equal(dst.n_protocols, 1);
    assert_string_equal(dst.protocols[0], "/q");
    /* untouched: */
    assert_string_equal(dst.protocol_version, "ipfs/0.1.0");
    assert_int_equal(dst.n_listen_addrs, 1);
    assert_non_null(dst.observed_addr);
    assert_int_equal(dst.public_key_len, sizeof pubkey_pb);
    identify_info_clear(&dst);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_vector),
        cmocka_unit_test(test_encode_minimal_and_empty),
        cmocka_unit_test(test_encode_appends),
        cmocka_unit_test(test_encode_too_big),
        cmocka_unit_test(test_encode_caps_addrs),
        cmocka_unit_test(test_decode_vector),
        cmocka_unit_test(test_decode_empty),
        cmocka_unit_test(test_decode_any_order),
        cmocka_unit_test(test_decode_skips_unknown_fields),
        cmocka_unit_test(test_decode_repeated_optional_last_wins),
        cmocka_unit_test(test_decode_repeated_fields),
        cmocka_unit_test(test_decode_truncated),
        cmocka_unit_test(test_decode_length_overruns),
        cmocka_unit_test(test_decode_size_limit),
        cmocka_unit_test(test_decode_string_limits),
        cmocka_unit_test(test_decode_utf8),
        cmocka_unit_test(test_decode_nul_in_strings),
        cmocka_unit_test(test_decode_public_key),
        cmocka_unit_test(test_decode_bad_multiaddrs_skipped),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_merge_push),
    };
    return cmocka_run_group_tests_name("net/identify", tests, NULL, NULL);
}
