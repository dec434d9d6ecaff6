/* multiaddr — what transports need from an address: socket addresses, the /p2p
 * suffix, and loopback/private classification. Uses only the public API of
 * multiaddr.c. */
#include "lib/multiaddr/multiaddr.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/varint/varint.h"

static const uint8_t V4_MAPPED_PREFIX[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int
multiaddr_to_sockaddr(const multiaddr_t *ma, struct sockaddr_storage *ss, socklen_t *sslen)
{
    uint64_t ipc, portc;
    const uint8_t *ip, *port;
    size_t iplen, portlen;

    if (multiaddr_component(ma, 0, &ipc, &ip, &iplen) < 0 ||
        multiaddr_component(ma, 1, &portc, &port, &portlen) < 0 || portc != MULTIADDR_TCP)
        return LS_ENOTSUP;
    memset(ss, 0, sizeof *ss);
    if (ipc == MULTIADDR_IP4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, ip, 4);
        memcpy(&sin->sin_port, port, 2); /* both network byte order */
        *sslen = sizeof *sin;
    } else if (ipc == MULTIADDR_IP6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, ip, 16);
        memcpy(&sin6->sin6_port, port, 2);
        *sslen = sizeof *sin6;
    } else {
        return LS_ENOTSUP;
    }
    return 0;
}

multiaddr_t *
multiaddr_from_sockaddr_tcp(const struct sockaddr *sa)
{
    uint8_t b[1 + 16 + 1 + 2];
    const uint8_t *ip, *port;
    multiaddr_t *ma = NULL;
    size_t n = 0;

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        ip = (const uint8_t *)&sin->sin_addr;
        port = (const uint8_t *)&sin->sin_port;
        b[n++] = MULTIADDR_IP4;
        memcpy(b + n, ip, 4);
        n += 4;
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        ip = (const uint8_t *)&sin6->sin6_addr;
        port = (const uint8_t *)&sin6->sin6_port;
        /* dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d */
        bool mapped = memcmp(ip, V4_MAPPED_PREFIX, sizeof V4_MAPPED_PREFIX) == 0;
        b[n++] = mapped ? MULTIADDR_IP4 : MULTIADDR_IP6;
        memcpy(b + n, mapped ? ip + 12 : ip, mapped ? 4 : 16);
        n += mapped ? 4 : 16;
    } else {
        return NULL;
    }
    b[n++] = MULTIADDR_TCP;
    memcpy(b + n, port, 2);
    n += 2;
    if (multiaddr_from_bytes(b, n, &ma) < 0)
        return NULL; /* not reached: always well-formed */
    return ma;
}

/* The final component if it is /p2p: its value and where it starts in the bytes. */
static bool
last_p2p(const multiaddr_t *ma, const uint8_t **value, size_t *vlen, size_t *start)
{
    size_t n = multiaddr_component_count(ma), total;
    const uint8_t *bytes = multiaddr_bytes(ma, &total);
    uint64_t code;

    if (multiaddr_component(ma, n - 1, &code, value, vlen) < 0 || code != MULTIADDR_P2P)
        return false;
    /* the value is preceded by its length varint and the protocol code */
    *start = (size_t)(*value - bytes) - varint_len(*vlen) - varint_len(MULTIADDR_P2P);
    return true;
}

bool
multiaddr_get_peer_id(const multiaddr_t *ma, peer_id_t *out)
{
    const uint8_t *value;
    size_t vlen, start;

    return last_p2p(ma, &value, &vlen, &start) && peer_id_from_bytes(out, value, vlen) == 0;
}

multiaddr_t *
multiaddr_with_peer_id(const multiaddr_t *ma, const peer_id_t *id)
{
    buf_t b = BUF_INIT(MULTIADDR_MAX_LEN);
    multiaddr_t *res = NULL;
    const uint8_t *bytes;
    peer_id_t have;
    size_t len;

    if (multiaddr_get_peer_id(ma, &have))
        return peer_id_equal(&have, id) ? multiaddr_dup(ma) : NULL;
    if (id->len > PEER_ID_MAX_LEN)
        return NULL;
    bytes = multiaddr_bytes(ma, &len);
    /* multiaddr_from_bytes() leaves res NULL if `id` is not a valid peer ID */
    if (buf_append(&b, bytes, len) == 0 && varint_append(&b, MULTIADDR_P2P) == 0 &&
        varint_append(&b, id->len) == 0 && buf_append(&b, id->bytes, id->len) == 0)
        multiaddr_from_bytes(b.data, b.len, &res);
    buf_free(&b);
    return res;
}

multiaddr_t *
multiaddr_without_peer_id(const multiaddr_t *ma)
{
    const uint8_t *value, *bytes;
    size_t vlen, start, len;
    multiaddr_t *res = NULL;

    if (!last_p2p(ma, &value, &vlen, &start))
        return multiaddr_dup(ma);
    bytes = multiaddr_bytes(ma, &len);
    if (start == 0 || multiaddr_from_bytes(bytes, start, &res) < 0)
        return NULL;
    return res;
}

/* The first IP component as 4 (IPv4, including v4-mapped IPv6) or 16 bytes, after
 * an optional /ip6zone. Returns the address length, or 0 if there is none. */
static size_t
first_ip(const multiaddr_t *ma, uint8_t addr[16])
{
    const uint8_t *v;
    uint64_t code;
    size_t vlen, i = 0;

    if (multiaddr_component(ma, i, &code, &v, &vlen) == 0 && code == MULTIADDR_IP6ZONE)
        i++;
    if (multiaddr_component(ma, i, &code, &v, &vlen) < 0)
        return 0;
    if (code == MULTIADDR_IP6 && memcmp(v, V4_MAPPED_PREFIX, sizeof V4_MAPPED_PREFIX) == 0) {
        memcpy(addr, v + 12, 4);
        return 4;
    }
    if (code != MULTIADDR_IP4 && code != MULTIADDR_IP6)
        return 0;
    memcpy(addr, v, vlen);
    return vlen;
}

bool
multiaddr_is_loopback(const multiaddr_t *ma)
{
    static const uint8_t v6_loopback[16] = {[15] = 1};
    uint8_t a[16];
    size_t n = first_ip(ma, a);

    if (n == 4)
        return a[0] == 127;
    return n == 16 && memcmp(a, v6_loopback, 16) == 0;
}

bool
multiaddr_is_private(const multiaddr_t *ma)
{
    uint8_t a[16];
    size_t n = first_ip(ma, a);

    if (n == 4)
        return a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
               (a[0] == 169 && a[1] == 254) || (a[0] == 100 && (a[1] & 0xc0) == 64);
    if (n == 16)
        return (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
    return false;
}
