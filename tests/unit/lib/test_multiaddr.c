#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "lib/err/err.h"
#include "lib/multiaddr/multiaddr.h"
#include "lib/multibase/multibase.h"

#define QM_ID "QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC"
#define QM_ID_HEX "a503221220d52ebb89d85b02a284948203a62ff28389c57c9f42beec4ec20db76a68911c0b"
#define ED_ID "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"

/* Parse `text`, expect binary `hexbytes`, print `canon` (NULL: same as text), and
 * read the bytes back. Vectors from multiformats/multiaddr implementations' tests. */
static void
check_vector(const char *text, const char *hexbytes, const char *canon)
{
    buf_t want = BUF_INIT(BUF_UNLIMITED);
    multiaddr_t *ma = NULL, *back = NULL;
    const uint8_t *bytes;
    size_t len;

    assert_int_equal(base16_decode(hexbytes, strlen(hexbytes), &want), 0);
    assert_int_equal(multiaddr_parse(text, &ma), 0);
    bytes = multiaddr_bytes(ma, &len);
    assert_int_equal(len, want.len);
    assert_memory_equal(bytes, want.data, len);
    char *s = multiaddr_to_str(ma);
    assert_string_equal(s, canon ? canon : text);
    free(s);
    assert_int_equal(multiaddr_from_bytes(want.data, want.len, &back), 0);
    assert_true(multiaddr_equal(ma, back));
    multiaddr_free(ma);
    multiaddr_free(back);
    assert_null(ma);
    buf_free(&want);
}

static void
test_multiaddr_known_vectors(void **state)
{
    (void)state;
    check_vector("/ip4/127.0.0.1/tcp/4001", "047f000001060fa1", NULL);
    check_vector("/ip4/1.2.3.4", "0401020304", NULL);
    check_vector("/udp/1234", "910204d2", NULL);
    check_vector("/tcp/65535", "06ffff", NULL);
    check_vector("/ip6/2001:8a0:7ac5:4201:3ac9:86ff:fe31:7095",
                 "29200108a07ac542013ac986fffe317095", NULL);
    check_vector("/ip6/0:0:0:0:0:0:0:1/tcp/1", "2900000000000000000000000000000001060001",
                 "/ip6/::1/tcp/1");
    check_vector("/p2p/" QM_ID, QM_ID_HEX, NULL);
    check_vector("/ipfs/" QM_ID, QM_ID_HEX, "/p2p/" QM_ID);
    check_vector("/ip4/127.0.0.1/udp/1234/", "047f000001910204d2", "/ip4/127.0.0.1/udp/1234");
    check_vector("/dns4/example.com/tcp/443/wss", "360b6578616d706c652e636f6d0601bbde03", NULL);
    check_vector("/ip4/1.2.3.4/udp/4001/quic-v1", "040102030491020fa1cd03", NULL);
    check_vector("/ip4/1.2.3.4/udp/4001/quic-v1/webtransport", "040102030491020fa1cd03d103", NULL);
    check_vector("/ip4/1.2.3.4/tcp/1/tls/ws/noise", "0401020304060001c003dd03c603", NULL);
}

static void
test_multiaddr_all_protocols_round_trip(void **state)
{
    static const char *const addrs[] = {
        "/dns/example.com/tcp/80/http",
        "/dns6/a.b/tcp/443/https",
        "/dnsaddr/bootstrap.libp2p.io/p2p/" QM_ID,
        "/ip6zone/eth0/ip6/fe80::1/udp/9/quic",
        "/ip4/1.2.3.4/tcp/1/p2p/" QM_ID "/p2p-circuit/p2p/" ED_ID,
        "/ip4/1.2.3.4/udp/1/webrtc-direct",
        "/p2p/" ED_ID "/p2p-circuit/webrtc",
        "/dns/x/tcp/443/tls/sni/example.org/ws",
        "/ip6/::ffff:1.2.3.4/tcp/5",
    };
    (void)state;
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        multiaddr_t *ma = NULL, *again = NULL;
        const uint8_t *b;
        size_t len;
        assert_int_equal(multiaddr_parse(addrs[i], &ma), 0);
        char *s = multiaddr_to_str(ma);
        assert_string_equal(s, addrs[i]);
        b = multiaddr_bytes(ma, &len);
        assert_int_equal(multiaddr_from_bytes(b, len, &again), 0);
        assert_true(multiaddr_equal(ma, again));
        free(s);
        multiaddr_free(ma);
        multiaddr_free(again);
    }
}

static void
test_multiaddr_p2p_as_cid(void **state)
{
    multiaddr_t *ma = NULL;
    (void)state;
    assert_int_equal(
        multiaddr_parse("/p2p/bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6",
                        &ma),
        0);
    char *s = multiaddr_to_str(ma);
    assert_string_equal(s, "/p2p/" ED_ID);
    free(s);
    multiaddr_free(ma);
}

static void
test_multiaddr_bad_text(void **state)
{
    static const struct {
        const char *text;
        int rc;
    } cases[] = {
        {"", LS_EINVAL},
        {"/", LS_EINVAL},
        {"ip4/1.2.3.4", LS_EINVAL},
        {"/ip4", LS_EINVAL},
        {"/ip4/", LS_EINVAL},
        {"/ip4/1.2.3", LS_EINVAL},
        {"/ip4/1.2.3.256", LS_EINVAL},
        {"/ip4/01.2.3.4", LS_EINVAL},
        {"/ip6/1::2::3", LS_EINVAL},
        {"/tcp/65536", LS_EINVAL},
        {"/tcp/-1", LS_EINVAL},
        {"/tcp/123456", LS_EINVAL},
        {"/tcp/", LS_EINVAL},
        {"/tcp/1//", LS_EINVAL},
        {"//tcp/1", LS_EINVAL},
        {"/dns4", LS_EINVAL},
        {"/p2p/QmNotAPeerId", LS_EINVAL},
        {"/p2p/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", LS_EINVAL},
        {"/unix/tmp/sock", LS_ENOTSUP},
        {"/ip4/1.2.3.4/foo", LS_ENOTSUP},
    };
    multiaddr_t *ma = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = multiaddr_parse(cases[i].text, &ma);
        if (rc != cases[i].rc)
            fail_msg("%s: got %d, want %d", cases[i].text, rc, cases[i].rc);
        assert_null(ma);
    }
}

static void
test_multiaddr_bad_bytes(void **state)
{
    static const struct {
        const char *hex;
        int rc;
    } cases[] = {
        {"04", LS_EINVAL}, /* truncated ip4 */
        {"047f0000", LS_EINVAL},
        {"0604", LS_EINVAL},           /* truncated port */
        {"8000", LS_EINVAL},           /* non-minimal code */
        {"ff7f", LS_ENOTSUP},          /* unknown code */
        {"35", LS_EINVAL},             /* dns without length */
        {"3505616263", LS_EINVAL},     /* dns length past the end */
        {"3500", LS_EINVAL},           /* empty dns name */
        {"3503612f62", LS_EINVAL},     /* '/' inside a name */
        {"3503610062", LS_EINVAL},     /* NUL inside a name */
        {"a5030412200000", LS_EINVAL}, /* p2p value that is no peer ID */
        {"a50300", LS_EINVAL},
    };
    multiaddr_t *ma = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_t b = BUF_INIT(64);
        assert_int_equal(base16_decode(cases[i].hex, strlen(cases[i].hex), &b), 0);
        int rc = multiaddr_from_bytes(b.data, b.len, &ma);
        if (rc != cases[i].rc)
            fail_msg("%s: got %d, want %d", cases[i].hex, rc, cases[i].rc);
        assert_null(ma);
        buf_free(&b);
    }
    assert_int_equal(multiaddr_from_bytes((const uint8_t *)"", 0, &ma), LS_EINVAL);
}

static void
test_multiaddr_size_limits(void **state)
{
    uint8_t *big = malloc(MULTIADDR_MAX_LEN + 1);
    char *text = malloc(MULTIADDR_MAX_STRING + 2);
    multiaddr_t *ma = NULL;

    (void)state;
    for (size_t i = 0; i < MULTIADDR_MAX_LEN + 1; i++)
        big[i] = i % 2 ? 0x03 : 0xdd; /* "/ws" repeated */
    assert_int_equal(multiaddr_from_bytes(big, MULTIADDR_MAX_LEN + 1, &ma), LS_ETOOBIG);
    assert_int_equal(multiaddr_from_bytes(big, MULTIADDR_MAX_LEN, &ma), 0);
    assert_int_equal(multiaddr_component_count(ma), MULTIADDR_MAX_LEN / 2);
    multiaddr_free(ma);
    /* 4096 characters of "/ws" parse to 2730 bytes: over the binary limit */
    for (size_t i = 0; i < MULTIADDR_MAX_STRING; i++)
        text[i] = "/ws"[i % 3];
    text[MULTIADDR_MAX_STRING] = '\0';
    assert_int_equal(multiaddr_parse(text, &ma), LS_ETOOBIG);
    text[MULTIADDR_MAX_STRING] = '/';
    text[MULTIADDR_MAX_STRING + 1] = '\0';
    assert_int_equal(multiaddr_parse(text, &ma), LS_ETOOBIG);
    assert_null(ma);
    free(big);
    free(text);
}

static void
test_multiaddr_components(void **state)
{
    multiaddr_t *ma = NULL;
    uint64_t code;
    const uint8_t *v;
    size_t vlen;

    (void)state;
    assert_int_equal(multiaddr_parse("/ip4/10.0.0.1/tcp/80/ws/p2p/" QM_ID, &ma), 0);
    assert_int_equal(multiaddr_component_count(ma), 4);
    assert_int_equal(multiaddr_component(ma, 0, &code, &v, &vlen), 0);
    assert_true(code == MULTIADDR_IP4 && vlen == 4 && v[0] == 10);
    assert_int_equal(multiaddr_component(ma, 1, &code, &v, &vlen), 0);
    assert_true(code == MULTIADDR_TCP && vlen == 2 && v[1] == 80);
    assert_int_equal(multiaddr_component(ma, 2, &code, &v, &vlen), 0);
    assert_true(code == MULTIADDR_WS && vlen == 0);
    assert_int_equal(multiaddr_component(ma, 3, &code, &v, &vlen), 0);
    assert_true(code == MULTIADDR_P2P && vlen == 34 && v[0] == 0x12);
    assert_int_equal(multiaddr_component(ma, 4, &code, &v, &vlen), LS_ENOENT);
    multiaddr_t *copy = multiaddr_dup(ma);
    assert_true(multiaddr_equal(ma, copy));
    multiaddr_free(copy);
    multiaddr_free(ma);
    multiaddr_free_(NULL);
}

static void
test_multiaddr_sockaddr(void **state)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    multiaddr_t *ma = NULL, *back;
    char *s;

    (void)state;
    assert_int_equal(multiaddr_parse("/ip4/192.168.1.2/tcp/4001/p2p/" QM_ID, &ma), 0);
    assert_int_equal(multiaddr_to_sockaddr(ma, &ss, &sl), 0);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    assert_int_equal(sl, sizeof *sin);
    assert_int_equal(sin->sin_family, AF_INET);
    assert_int_equal(ntohs(sin->sin_port), 4001);
    assert_true(ntohl(sin->sin_addr.s_addr) == 0xc0a80102);
    back = multiaddr_from_sockaddr_tcp((struct sockaddr *)&ss);
    s = multiaddr_to_str(back);
    assert_string_equal(s, "/ip4/192.168.1.2/tcp/4001");
    free(s);
    multiaddr_free(back);
    multiaddr_free(ma);

    assert_int_equal(multiaddr_parse("/ip6/::1/tcp/9", &ma), 0);
    assert_int_equal(multiaddr_to_sockaddr(ma, &ss, &sl), 0);
    assert_int_equal(sl, sizeof(struct sockaddr_in6));
    back = multiaddr_from_sockaddr_tcp((struct sockaddr *)&ss);
    assert_true(multiaddr_equal(ma, back));
    multiaddr_free(back);
    multiaddr_free(ma);

    struct sockaddr_in6 mapped = {.sin6_family = AF_INET6, .sin6_port = htons(7)};
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &mapped.sin6_addr);
    back = multiaddr_from_sockaddr_tcp((struct sockaddr *)&mapped);
    s = multiaddr_to_str(back);
    assert_string_equal(s, "/ip4/10.1.2.3/tcp/7");
    free(s);
    multiaddr_free(back);
    struct sockaddr unix_sa = {.sa_family = AF_UNIX};
    assert_null(multiaddr_from_sockaddr_tcp(&unix_sa));

    static const char *const unsupported[] = {"/ip4/1.2.3.4/udp/1", "/dns4/a/tcp/1", "/ip4/1.2.3.4",
                                              "/tcp/1/ip4/1.2.3.4"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(multiaddr_parse(unsupported[i], &ma), 0);
        assert_int_equal(multiaddr_to_sockaddr(ma, &ss, &sl), LS_ENOTSUP);
        multiaddr_free(ma);
    }
}

static void
test_multiaddr_peer_id_helpers(void **state)
{
    multiaddr_t *base = NULL, *with, *again, *without, *circuit = NULL;
    peer_id_t id, other, got;
    char *s;

    (void)state;
    assert_int_equal(peer_id_from_string(&id, QM_ID), 0);
    assert_int_equal(peer_id_from_string(&other, ED_ID), 0);
    assert_int_equal(multiaddr_parse("/ip4/1.2.3.4/tcp/1", &base), 0);
    assert_false(multiaddr_get_peer_id(base, &got));
    with = multiaddr_with_peer_id(base, &id);
    s = multiaddr_to_str(with);
    assert_string_equal(s, "/ip4/1.2.3.4/tcp/1/p2p/" QM_ID);
    free(s);
    assert_true(multiaddr_get_peer_id(with, &got));
    assert_true(peer_id_equal(&got, &id));
    again = multiaddr_with_peer_id(with, &id); /* already there: a copy */
    assert_true(multiaddr_equal(again, with));
    assert_null(multiaddr_with_peer_id(with, &other)); /* conflicting id */
    without = multiaddr_without_peer_id(with);
    assert_true(multiaddr_equal(without, base));
    multiaddr_free(without);
    without = multiaddr_without_peer_id(base);
    assert_true(multiaddr_equal(without, base));
    multiaddr_free(without);

    peer_id_t bad = {.len = 3, .bytes = {0x12, 0x01, 0x00}};
    assert_null(multiaddr_with_peer_id(base, &bad));

    assert_int_equal(multiaddr_parse("/p2p/" QM_ID "/p2p-circuit", &circuit), 0);
    assert_false(multiaddr_get_peer_id(circuit, &got)); /* relay id is not the target */
    multiaddr_free(circuit);
    assert_int_equal(multiaddr_parse("/p2p/" QM_ID, &circuit), 0);
    assert_null(multiaddr_without_peer_id(circuit)); /* nothing would remain */
    multiaddr_free(circuit);
    multiaddr_free(base);
    multiaddr_free(with);
    multiaddr_free(again);
}

static void
check_class(const char *text, bool loopback, bool private_addr)
{
    multiaddr_t *ma = NULL;
    assert_int_equal(multiaddr_parse(text, &ma), 0);
    if (multiaddr_is_loopback(ma) != loopback || multiaddr_is_private(ma) != private_addr)
        fail_msg("%s: loopback %d private %d", text, multiaddr_is_loopback(ma),
                 multiaddr_is_private(ma));
    multiaddr_free(ma);
}

static void
test_multiaddr_classification(void **state)
{
    (void)state;
    check_class("/ip4/127.0.0.1/tcp/1", true, false);
    check_class("/ip4/127.255.0.9", true, false);
    check_class("/ip6/::1/tcp/1", true, false);
    check_class("/ip6/::ffff:127.0.0.1", true, false);
    check_class("/ip4/10.1.2.3", false, true);
    check_class("/ip4/172.16.0.1", false, true);
    check_class("/ip4/172.31.255.255", false, true);
    check_class("/ip4/172.32.0.1", false, false);
    check_class("/ip4/192.168.0.1", false, true);
    check_class("/ip4/169.254.1.1", false, true);
    check_class("/ip4/100.64.0.1", false, true);
    check_class("/ip4/100.128.0.1", false, false);
    check_class("/ip4/8.8.8.8/tcp/53", false, false);
    check_class("/ip6/fd00::1", false, true);
    check_class("/ip6/fc00::1", false, true);
    check_class("/ip6zone/eth0/ip6/fe80::1", false, true);
    check_class("/ip6/2001:db8::1", false, false);
    check_class("/ip6/::ffff:192.168.1.1", false, true);
    check_class("/dns4/localhost/tcp/1", false, false);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multiaddr_known_vectors),
        cmocka_unit_test(test_multiaddr_all_protocols_round_trip),
        cmocka_unit_test(test_multiaddr_p2p_as_cid),
        cmocka_unit_test(test_multiaddr_bad_text),
        cmocka_unit_test(test_multiaddr_bad_bytes),
        cmocka_unit_test(test_multiaddr_size_limits),
        cmocka_unit_test(test_multiaddr_components),
        cmocka_unit_test(test_multiaddr_sockaddr),
        cmocka_unit_test(test_multiaddr_peer_id_helpers),
        cmocka_unit_test(test_multiaddr_classification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
