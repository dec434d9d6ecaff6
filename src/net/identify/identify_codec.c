/* identify_codec — the Identify protobuf (identify.proto via protoc-c), with the
 * limits checked before and after decoding. The string fields arrive as bytes (see
 * identify.proto) and are checked here: strict UTF-8, no NUL, IDENTIFY_MAX_STRING. */
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/peerid/peerid.h"
#include "net/identify/identify.h"
#include "net/identify/identify.pb-c.h"

/* Strict UTF-8 (RFC 3629: no overlongs, surrogates or code points past U+10FFFF),
 * and no NUL, which a C string could not hold. */
static bool
utf8_valid(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len;) {
        uint8_t c = p[i];
        size_t extra;
        uint32_t cp, min;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0)
            extra = 1, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            extra = 2, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            extra = 3, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if (len - i <= extra)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += extra + 1;
    }
    return true;
}

/* 0, LS_ETOOBIG past IDENTIFY_MAX_STRING, or LS_EINVAL. */
static int
check_string(const ProtobufCBinaryData *s)
{
    if (s->len > IDENTIFY_MAX_STRING)
        return LS_ETOOBIG;
    return utf8_valid(s->data, s->len) ? 0 : LS_EINVAL;
}

static char *
dup_string(const ProtobufCBinaryData *s)
{
    char *r = ls_malloc(s->len + 1);
    if (s->len)
        memcpy(r, s->data, s->len);
    r[s->len] = '\0';
    return r;
}

static ProtobufCBinaryData
string_field(const char *s)
{
    return (ProtobufCBinaryData){ strlen(s), (uint8_t *)s };
}

int
identify_encode(const identify_info_t *info, buf_t *out)
{
    Identify__Pb__Identify m = IDENTIFY__PB__IDENTIFY__INIT;
    ProtobufCBinaryData addrs[IDENTIFY_MAX_ADDRS];
    if (info->protocol_version) {
        m.has_protocolversion = 1;
        m.protocolversion = string_field(info->protocol_version);
    }
    if (info->agent_version) {
        m.has_agentversion = 1;
        m.agentversion = string_field(info->agent_version);
    }
    if (info->public_key) {
        m.has_publickey = 1;
        m.publickey = (ProtobufCBinaryData){ info->public_key_len, info->public_key };
    }
    m.n_listenaddrs = LS_MIN(info->n_listen_addrs, (size_t)IDENTIFY_MAX_ADDRS);
    for (size_t i = 0; i < m.n_listenaddrs; i++)
        addrs[i].data = (uint8_t *)multiaddr_bytes(info->listen_addrs[i], &addrs[i].len);
    m.listenaddrs = addrs;
    if (info->observed_addr) {
        m.has_observedaddr = 1;
        m.observedaddr.data = (uint8_t *)multiaddr_bytes(info->observed_addr,
                                                         &m.observedaddr.len);
    }
    m.n_protocols = info->n_protocols;
    m.protocols = ls_calloc(info->n_protocols + 1, sizeof *m.protocols);
    for (size_t i = 0; i < m.n_protocols; i++)
        m.protocols[i] = string_field(info->protocols[i]);
    size_t len = identify__pb__identify__get_packed_size(&m);
    uint8_t *dst = len <= IDENTIFY_MAX_MESSAGE ? buf_extend(out, len) : NULL;
    if (dst)
        identify__pb__identify__pack(&m, dst);
    free(m.protocols);
    return dst ? 0 : LS_ETOOBIG;
}

static int
take_strings(const Identify__Pb__Identify *m, identify_info_t *out)
{
    int rc;
    if (m->has_protocolversion && (rc = check_string(&m->protocolversion)) < 0)
        return rc;
    if (m->has_agentversion && (rc = check_string(&m->agentversion)) < 0)
        return rc;
    if (m->n_protocols > IDENTIFY_MAX_PROTOCOLS)
        return LS_ETOOBIG;
    for (size_t i = 0; i < m->n_protocols; i++)
        if ((rc = check_string(&m->protocols[i])) < 0)
            return rc;
    out->protocol_version = m->has_protocolversion ? dup_string(&m->protocolversion) : NULL;
    out->agent_version = m->has_agentversion ? dup_string(&m->agentversion) : NULL;
    out->has_protocols = m->n_protocols > 0;
    out->n_protocols = m->n_protocols;
    out->protocols = ls_calloc(m->n_protocols + 1, sizeof(char *));
    for (size_t i = 0; i < m->n_protocols; i++)
        out->protocols[i] = dup_string(&m->protocols[i]);
    return 0;
}

static int
take_addrs(const Identify__Pb__Identify *m, identify_info_t *out)
{
    if (m->n_listenaddrs > IDENTIFY_MAX_ADDRS)
        return LS_ETOOBIG;
    out->has_listen_addrs = m->n_listenaddrs > 0;
    out->listen_addrs = ls_calloc(m->n_listenaddrs + 1, sizeof(multiaddr_t *));
    for (size_t i = 0; i < m->n_listenaddrs; i++) {
        multiaddr_t *ma;
        if (multiaddr_from_bytes(m->listenaddrs[i].data, m->listenaddrs[i].len, &ma) == 0)
            out->listen_addrs[out->n_listen_addrs++] = ma;
    }
    if (m->has_observedaddr)
        multiaddr_from_bytes(m->observedaddr.data, m->observedaddr.len, &out->observed_addr);
    return 0;
}

int
identify_decode(const uint8_t *p, size_t len, identify_info_t *out)
{
    memset(out, 0, sizeof *out);
    if (len > IDENTIFY_MAX_MESSAGE)
        return LS_ETOOBIG;
    Identify__Pb__Identify *m = identify__pb__identify__unpack(NULL, len, p);
    if (!m)
        return LS_EINVAL;
    int rc = 0;
    if (m->has_publickey) {
        peer_id_t tmp;
        if (peer_id_from_pubkey_proto(&tmp, m->publickey.data, m->publickey.len) < 0)
            rc = LS_EINVAL;
    }
    if (rc == 0 && (rc = take_strings(m, out)) == 0)
        rc = take_addrs(m, out);
    if (rc == 0 && m->has_publickey) {
        out->public_key = ls_memdup(m->publickey.data, m->publickey.len);
        out->public_key_len = m->publickey.len;
    }
    identify__pb__identify__free_unpacked(m, NULL);
    if (rc < 0)
        identify_info_clear(out);
    return rc;
}

void
identify_info_clear(identify_info_t *info)
{
    free(info->protocol_version);
    free(info->agent_version);
    free(info->public_key);
    for (size_t i = 0; i < info->n_listen_addrs; i++)
        multiaddr_free(info->listen_addrs[i]);
    free(info->listen_addrs);
    multiaddr_free(info->observed_addr);
    for (size_t i = 0; i < info->n_protocols; i++)
        free(info->protocols[i]);
    free(info->protocols);
    memset(info, 0, sizeof *info);
}

#define MOVE(field)              \
    do {                         \
        void *tmp_ = dst->field; \
        dst->field = push->field; \
        push->field = tmp_;      \
    } while (0)

void
identify_info_merge(identify_info_t *dst, identify_info_t *push)
{
    if (push->protocol_version)
        MOVE(protocol_version);
    if (push->agent_version)
        MOVE(agent_version);
    if (push->public_key) {
        MOVE(public_key);
        size_t t = dst->public_key_len;
        dst->public_key_len = push->public_key_len;
        push->public_key_len = t;
    }
    if (push->observed_addr)
        MOVE(observed_addr);
    if (push->has_protocols) {
        MOVE(protocols);
        size_t t = dst->n_protocols;
        dst->n_protocols = push->n_protocols;
        push->n_protocols = t;
        dst->has_protocols = true;
    }
    if (push->has_listen_addrs) {
        MOVE(listen_addrs);
        size_t t = dst->n_listen_addrs;
        dst->n_listen_addrs = push->n_listen_addrs;
        push->n_listen_addrs = t;
        dst->has_listen_addrs = true;
    }
    identify_info_clear(push);
}
