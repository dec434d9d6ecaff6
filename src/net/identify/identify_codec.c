/* identify_codec — the Identify protobuf (identify.proto via protoc-c), with the
 * limits checked before and after decoding. */
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/peerid/peerid.h"
#include "net/identify/identify.h"
#include "net/identify/identify.pb-c.h"

static bool
utf8_valid(const char *s, size_t max)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t n = 0;
    while (*p) {
        size_t len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
        if (!len)
            return false;
        for (size_t i = 1; i < len; i++)
            if ((p[i] & 0xc0) != 0x80)
                return false;
        p += len;
        n += len;
        if (n > max)
            return false;
    }
    return true;
}

int
identify_encode(const identify_info_t *info, buf_t *out)
{
    Identify__Pb__Identify m = IDENTIFY__PB__IDENTIFY__INIT;
    ProtobufCBinaryData addrs[IDENTIFY_MAX_ADDRS];
    m.protocolversion = info->protocol_version;
    m.agentversion = info->agent_version;
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
    m.protocols = info->protocols;
    size_t len = identify__pb__identify__get_packed_size(&m);
    uint8_t *dst = len <= IDENTIFY_MAX_MESSAGE ? buf_extend(out, len) : NULL;
    if (!dst)
        return LS_ETOOBIG;
    identify__pb__identify__pack(&m, dst);
    return 0;
}

static int
take_strings(const Identify__Pb__Identify *m, identify_info_t *out)
{
    if (m->protocolversion && !utf8_valid(m->protocolversion, IDENTIFY_MAX_STRING))
        return LS_EINVAL;
    if (m->agentversion && !utf8_valid(m->agentversion, IDENTIFY_MAX_STRING))
        return LS_EINVAL;
    if (m->n_protocols > IDENTIFY_MAX_PROTOCOLS)
        return LS_ETOOBIG;
    for (size_t i = 0; i < m->n_protocols; i++)
        if (!utf8_valid(m->protocols[i], IDENTIFY_MAX_STRING))
            return LS_EINVAL;
    out->protocol_version = m->protocolversion ? ls_strdup(m->protocolversion) : NULL;
    out->agent_version = m->agentversion ? ls_strdup(m->agentversion) : NULL;
    out->has_protocols = m->n_protocols > 0;
    out->n_protocols = m->n_protocols;
    out->protocols = ls_calloc(m->n_protocols + 1, sizeof(char *));
    for (size_t i = 0; i < m->n_protocols; i++)
        out->protocols[i] = ls_strdup(m->protocols[i]);
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
