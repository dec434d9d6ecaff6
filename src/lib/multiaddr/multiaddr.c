/* multiaddr — binary and text codec (multiformats/multiaddr README "Encoding",
 * protocols.csv); the transport helpers are in multiaddr_net.c. */
#include "lib/multiaddr/multiaddr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/varint/varint.h"

struct multiaddr_t {
    size_t ncomp;    /* components, >= 1 */
    size_t len;      /* bytes, 1..MULTIADDR_MAX_LEN */
    uint8_t bytes[]; /* the binary form, validated */
};

/* How a protocol's value is stored and written. */
typedef enum value_kind {
    VAL_NONE, /* no value */
    VAL_IP4,  /* 4 bytes, dotted quad */
    VAL_IP6,  /* 16 bytes, RFC 5952 text */
    VAL_PORT, /* 2 bytes big-endian, decimal */
    VAL_TEXT, /* varint length + bytes, written as is */
    VAL_P2P,  /* varint length + peer ID multihash, written base58btc */
} value_kind_t;

typedef struct proto_info_t {
    uint64_t code;
    const char *name;
    value_kind_t kind;
} proto_info_t;

static const proto_info_t PROTOS[] = {
    {MULTIADDR_IP4, "ip4", VAL_IP4},          {MULTIADDR_TCP, "tcp", VAL_PORT},
    {MULTIADDR_IP6, "ip6", VAL_IP6},          {MULTIADDR_IP6ZONE, "ip6zone", VAL_TEXT},
    {MULTIADDR_DNS, "dns", VAL_TEXT},         {MULTIADDR_DNS4, "dns4", VAL_TEXT},
    {MULTIADDR_DNS6, "dns6", VAL_TEXT},       {MULTIADDR_DNSADDR, "dnsaddr", VAL_TEXT},
    {MULTIADDR_UDP, "udp", VAL_PORT},         {MULTIADDR_WEBRTC_DIRECT, "webrtc-direct", VAL_NONE},
    {MULTIADDR_WEBRTC, "webrtc", VAL_NONE},   {MULTIADDR_P2P_CIRCUIT, "p2p-circuit", VAL_NONE},
    {MULTIADDR_P2P, "p2p", VAL_P2P},          {MULTIADDR_HTTPS, "https", VAL_NONE},
    {MULTIADDR_TLS, "tls", VAL_NONE},         {MULTIADDR_SNI, "sni", VAL_TEXT},
    {MULTIADDR_NOISE, "noise", VAL_NONE},     {MULTIADDR_QUIC, "quic", VAL_NONE},
    {MULTIADDR_QUIC_V1, "quic-v1", VAL_NONE}, {MULTIADDR_WEBTRANSPORT, "webtransport", VAL_NONE},
    {MULTIADDR_WS, "ws", VAL_NONE},           {MULTIADDR_WSS, "wss", VAL_NONE},
    {MULTIADDR_HTTP, "http", VAL_NONE},
};

static const proto_info_t *
proto_by_code(uint64_t code)
{
    for (size_t i = 0; i < LS_ARRAY_LEN(PROTOS); i++)
        if (PROTOS[i].code == code)
            return &PROTOS[i];
    return NULL;
}

static const proto_info_t *
proto_by_name(const char *name, size_t len)
{
    if (len == 4 && memcmp(name, "ipfs", 4) == 0)
        return proto_by_code(MULTIADDR_P2P);
    for (size_t i = 0; i < LS_ARRAY_LEN(PROTOS); i++)
        if (strlen(PROTOS[i].name) == len && memcmp(PROTOS[i].name, name, len) == 0)
            return &PROTOS[i];
    return NULL;
}

/* Fixed value size of `kind`, or -1 for length-prefixed values. */
static int
fixed_size(value_kind_t kind)
{
    switch (kind) {
    case VAL_NONE:
        return 0;
    case VAL_IP4:
        return 4;
    case VAL_IP6:
        return 16;
    case VAL_PORT:
        return 2;
    default:
        return -1;
    }
}

/* ---- binary ---- */

/* One decoded component of a binary multiaddr. */
typedef struct component_t {
    const proto_info_t *proto;
    const uint8_t *value;
    size_t vlen;
} component_t;

static int
check_value(const component_t *c)
{
    peer_id_t id;

    if (c->proto->kind == VAL_P2P)
        return peer_id_from_bytes(&id, c->value, c->vlen) < 0 ? LS_EINVAL : 0;
    if (c->proto->kind != VAL_TEXT)
        return 0;
    /* the text form must carry it: non-empty, no separator, no terminator */
    if (c->vlen == 0 || memchr(c->value, '/', c->vlen) || memchr(c->value, '\0', c->vlen))
        return LS_EINVAL;
    return 0;
}

/* Decode and validate the component at p[*off..len), advancing *off. */
static int
next_component(const uint8_t *p, size_t len, size_t *off, component_t *c)
{
    uint64_t code, vlen;
    int n;

    if ((n = varint_decode(p + *off, len - *off, &code)) < 0)
        return LS_EINVAL;
    *off += (size_t)n;
    if (!(c->proto = proto_by_code(code)))
        return LS_ENOTSUP;
    int size = fixed_size(c->proto->kind);
    if (size >= 0) {
        vlen = (uint64_t)size;
    } else {
        if ((n = varint_decode(p + *off, len - *off, &vlen)) < 0)
            return LS_EINVAL;
        *off += (size_t)n;
    }
    if (vlen > len - *off)
        return LS_EINVAL;
    c->value = p + *off;
    c->vlen = (size_t)vlen;
    *off += c->vlen;
    return check_value(c);
}

static multiaddr_t *
multiaddr_new_raw(const uint8_t *p, size_t len, size_t ncomp)
{
    multiaddr_t *ma = ls_malloc(sizeof *ma + len);

    ma->ncomp = ncomp;
    ma->len = len;
    memcpy(ma->bytes, p, len);
    return ma;
}

int
multiaddr_from_bytes(const uint8_t *p, size_t len, multiaddr_t **out)
{
    size_t off = 0, ncomp = 0;
    component_t c;
    int rc;

    if (len == 0)
        return LS_EINVAL;
    if (len > MULTIADDR_MAX_LEN)
        return LS_ETOOBIG;
    while (off < len) {
        if ((rc = next_component(p, len, &off, &c)) < 0)
            return rc;
        ncomp++;
    }
    *out = multiaddr_new_raw(p, len, ncomp);
    return 0;
}

const uint8_t *
multiaddr_bytes(const multiaddr_t *ma, size_t *len)
{
    *len = ma->len;
    return ma->bytes;
}

multiaddr_t *
multiaddr_dup(const multiaddr_t *ma)
{
    return multiaddr_new_raw(ma->bytes, ma->len, ma->ncomp);
}

bool
multiaddr_equal(const multiaddr_t *a, const multiaddr_t *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

void
multiaddr_free_(multiaddr_t *ma)
{
    free(ma);
}

size_t
multiaddr_component_count(const multiaddr_t *ma)
{
    return ma->ncomp;
}

int
multiaddr_component(const multiaddr_t *ma, size_t i, uint64_t *code, const uint8_t **value,
                    size_t *vlen)
{
    size_t off = 0;
    component_t c;

    if (i >= ma->ncomp)
        return LS_ENOENT;
    for (size_t k = 0; k <= i; k++)
        if (next_component(ma->bytes, ma->len, &off, &c) < 0)
            return LS_ENOENT; /* not reached: validated on creation */
    *code = c.proto->code;
    *value = c.value;
    *vlen = c.vlen;
    return 0;
}

/* ---- text ---- */

static int
print_value(const component_t *c, buf_t *out)
{
    char ip[INET6_ADDRSTRLEN];
    peer_id_t id;

    switch (c->proto->kind) {
    case VAL_IP4:
    case VAL_IP6:
        inet_ntop(c->proto->kind == VAL_IP4 ? AF_INET : AF_INET6, c->value, ip, sizeof ip);
        return buf_append_str(out, ip);
    case VAL_PORT:
        return buf_printf(out, "%u", (unsigned)c->value[0] << 8 | c->value[1]);
    case VAL_TEXT:
        return buf_append(out, c->value, c->vlen);
    case VAL_P2P:
        if (peer_id_from_bytes(&id, c->value, c->vlen) < 0)
            return LS_EINVAL; /* not reached: validated on creation */
        return peer_id_to_string(&id, out);
    default:
        return 0;
    }
}

int
multiaddr_to_string(const multiaddr_t *ma, buf_t *out)
{
    size_t off = 0, old = out->len;
    component_t c;
    int rc = 0;

    while (rc == 0 && off < ma->len) {
        if ((rc = next_component(ma->bytes, ma->len, &off, &c)) < 0)
            break;
        if ((rc = buf_append_byte(out, '/')) < 0 || (rc = buf_append_str(out, c.proto->name)) < 0)
            break;
        if (c.proto->kind != VAL_NONE &&
            ((rc = buf_append_byte(out, '/')) < 0 || (rc = print_value(&c, out)) < 0))
            break;
    }
    if (rc < 0)
        buf_truncate(out, old);
    return rc;
}

char *
multiaddr_to_str(const multiaddr_t *ma)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);

    multiaddr_to_string(ma, &b);
    return buf_take_str(&b);
}

/* ---- parsing ---- */

/* The text s[*pos..) up to the next '/' or the end; *pos moves past the '/'. */
static size_t
next_segment(const char *s, size_t len, size_t *pos, const char **seg)
{
    const char *start = s + *pos;
    const char *slash = memchr(start, '/', len - *pos);
    size_t n = slash ? (size_t)(slash - start) : len - *pos;

    *seg = start;
    *pos += n + (slash ? 1 : 0);
    return n;
}

/* A port: 1-5 decimal digits, at most 65535. */
static int
parse_port(const char *s, size_t len, uint8_t out[2])
{
    uint32_t v = 0;

    if (len == 0 || len > 5)
        return LS_EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return LS_EINVAL;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v > 0xffff)
        return LS_EINVAL;
    out[0] = (uint8_t)(v >> 8);
    out[1] = (uint8_t)v;
    return 0;
}

static int
parse_ip(int af, const char *s, size_t len, buf_t *out)
{
    char tmp[INET6_ADDRSTRLEN];
    uint8_t addr[16];

    if (len >= sizeof tmp)
        return LS_EINVAL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (inet_pton(af, tmp, addr) != 1)
        return LS_EINVAL;
    return buf_append(out, addr, af == AF_INET ? 4 : 16);
}

static int
parse_p2p(const char *s, size_t len, buf_t *out)
{
    char tmp[PEER_ID_MAX_STRING + 1];
    peer_id_t id;
    int rc;

    if (len > PEER_ID_MAX_STRING)
        return LS_EINVAL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (peer_id_from_string(&id, tmp) < 0)
        return LS_EINVAL;
    if ((rc = varint_append(out, id.len)) < 0)
        return rc;
    return buf_append(out, id.bytes, id.len);
}

static int
append_value(const proto_info_t *pi, const char *v, size_t vlen, buf_t *out)
{
    uint8_t port[2];
    int rc;

    switch (pi->kind) {
    case VAL_IP4:
        return parse_ip(AF_INET, v, vlen, out);
    case VAL_IP6:
        return parse_ip(AF_INET6, v, vlen, out);
    case VAL_PORT:
        if ((rc = parse_port(v, vlen, port)) < 0)
            return rc;
        return buf_append(out, port, 2);
    case VAL_TEXT:
        if ((rc = varint_append(out, vlen)) < 0)
            return rc;
        return buf_append(out, v, vlen);
    case VAL_P2P:
        return parse_p2p(v, vlen, out);
    default:
        return 0;
    }
}

/* Parse "<name>[/<value>]" at s[*pos..len) and append its binary form. */
static int
parse_component(const char *s, size_t len, size_t *pos, buf_t *out)
{
    const char *name, *value;
    size_t nlen = next_segment(s, len, pos, &name), vlen;
    const proto_info_t *pi;
    int rc;

    if (nlen == 0)
        return LS_EINVAL;
    if (!(pi = proto_by_name(name, nlen)))
        return LS_ENOTSUP;
    if ((rc = varint_append(out, pi->code)) < 0)
        return rc;
    if (pi->kind == VAL_NONE)
        return 0;
    if ((vlen = next_segment(s, len, pos, &value)) == 0)
        return LS_EINVAL;
    return append_value(pi, value, vlen, out);
}

int
multiaddr_parse(const char *s, multiaddr_t **out)
{
    size_t len = strnlen(s, MULTIADDR_MAX_STRING + 1), pos = 1, ncomp = 0;
    buf_t b = BUF_INIT(MULTIADDR_MAX_LEN);
    int rc = 0;

    if (len > MULTIADDR_MAX_STRING)
        return LS_ETOOBIG;
    if (len == 0 || s[0] != '/')
        return LS_EINVAL;
    while (rc == 0 && pos < len) {
        rc = parse_component(s, len, &pos, &b);
        ncomp++;
    }
    if (rc == 0 && b.len == 0)
        rc = LS_EINVAL;
    if (rc == 0)
        *out = multiaddr_new_raw(b.data, b.len, ncomp);
    buf_free(&b);
    return rc;
}
