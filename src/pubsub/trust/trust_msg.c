/* trust_msg — codec of /lester/trust/1.0.0 (contract in trust_msg.h). */
#include "pubsub/trust/trust_msg.h"

#include <math.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/record/record.h"

#define COMMON_KEYS 5 /* type, ts, ttl, pk, sig */

static const char *const type_names[] = {
    [TRUST_MSG_UPDATE] = "trust_update",
    [TRUST_MSG_PEERS_REQUEST] = "trusted_peers_request",
    [TRUST_MSG_PEERS_RESPONSE] = "trusted_peers_response",
};

const char *
trust_msg_type_name(trust_msg_type_t type)
{
    if ((unsigned)type < TRUST_MSG_UPDATE || (unsigned)type > TRUST_MSG_PEERS_RESPONSE)
        return NULL;
    return type_names[type];
}

uint32_t
trust_msg_to_ppm(double trust)
{
    if (isnan(trust) || trust <= 0.0)
        return 0;
    if (trust >= 1.0)
        return TRUST_PPM;
    return (uint32_t)lround(trust * TRUST_PPM);
}

static bool
peer_valid(const trust_msg_peer_t *p)
{
    peer_id_t check;
    return p->trust_ppm <= TRUST_PPM && peer_id_from_bytes(&check, p->peer.bytes, p->peer.len) == 0;
}

/* The checks the decoder makes on values, for the encoder. */
static bool
msg_valid(const trust_msg_t *m)
{
    if (!trust_msg_type_name(m->type) || m->ttl_ms == 0 || m->ttl_ms > TRUST_MSG_MAX_TTL_MS)
        return false;
    switch (m->type) {
    case TRUST_MSG_UPDATE:
        return peer_valid(&m->update);
    case TRUST_MSG_PEERS_REQUEST:
        return m->limit >= 1 && m->limit <= TRUST_MSG_MAX_PEERS && m->min_ppm <= TRUST_PPM;
    default:
        if (m->n_peers > TRUST_MSG_MAX_PEERS)
            return false;
        for (size_t i = 0; i < m->n_peers; i++) {
            if (!peer_valid(&m->peers[i]))
                return false;
            for (size_t j = 0; j < i; j++)
                if (peer_id_equal(&m->peers[i].peer, &m->peers[j].peer))
                    return false;
        }
        return true;
    }
}

static record_t *
peer_record(const trust_msg_peer_t *p)
{
    record_t *r = record_new();
    record_set_bin(r, "peer", p->peer.bytes, p->peer.len);
    record_set_u64(r, "trust", p->trust_ppm);
    return r;
}

static record_t *
build(const trust_msg_t *m)
{
    record_t *r = record_new();
    record_set_str(r, "type", trust_msg_type_name(m->type));
    record_set_u64(r, "ts", m->ts_ms);
    record_set_u64(r, "ttl", m->ttl_ms);
    if (m->type == TRUST_MSG_UPDATE) {
        record_set_bin(r, "peer", m->update.peer.bytes, m->update.peer.len);
        record_set_u64(r, "trust", m->update.trust_ppm);
    } else if (m->type == TRUST_MSG_PEERS_REQUEST) {
        record_set_u64(r, "id", m->request_id);
        record_set_u64(r, "limit", m->limit);
        record_set_u64(r, "min", m->min_ppm);
    } else {
        record_array_t *a = record_array_new();
        for (size_t i = 0; i < m->n_peers; i++)
            record_array_push_record(a, peer_record(&m->peers[i]));
        record_set_u64(r, "id", m->request_id);
        record_set_array(r, "peers", a);
    }
    return r;
}

int
trust_msg_encode(const trust_msg_t *m, const ed25519_keypair_t *kp, buf_t *out)
{
    if (!msg_valid(m))
        return LS_EINVAL;
    record_t *r = build(m);
    buf_t enc = BUF_INIT(TRUST_MSG_MAX_LEN);
    int rc = record_sign(r, kp);
    if (rc == 0)
        rc = record_encode(r, &enc);
    if (rc == 0)
        rc = buf_append(out, enc.data, enc.len);
    buf_free(&enc);
    record_free(r);
    return rc;
}

/* An unsigned integer at `key` no larger than `max`. */
static int
get_uint(const record_t *r, const char *key, uint64_t max, uint64_t *out)
{
    int rc = record_get_u64(r, key, out);
    if (rc < 0 || *out > max)
        return LS_EINVAL;
    return 0;
}

static int
get_peer(const record_t *r, trust_msg_peer_t *p)
{
    const uint8_t *b;
    size_t len;
    uint64_t ppm;

    if (record_get_bin(r, "peer", &b, &len) < 0 || peer_id_from_bytes(&p->peer, b, len) < 0 ||
        get_uint(r, "trust", TRUST_PPM, &ppm) < 0)
        return LS_EINVAL;
    p->trust_ppm = (uint32_t)ppm;
    return 0;
}

static int
parse_response(const record_t *r, trust_msg_t *m)
{
    const record_array_t *a;
    const record_t *item;

    if (get_uint(r, "id", UINT64_MAX, &m->request_id) < 0 || record_get_array(r, "peers", &a) < 0 ||
        record_array_len(a) > TRUST_MSG_MAX_PEERS)
        return LS_EINVAL;
    m->n_peers = record_array_len(a);
    for (size_t i = 0; i < m->n_peers; i++) {
        if (record_array_get_record(a, i, &item) < 0 || record_len(item) != 2 ||
            get_peer(item, &m->peers[i]) < 0)
            return LS_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (peer_id_equal(&m->peers[i].peer, &m->peers[j].peer))
                return LS_EINVAL;
    }
    return 0;
}

static int
parse_body(const record_t *r, trust_msg_t *m)
{
    uint64_t v;

    switch (m->type) {
    case TRUST_MSG_UPDATE:
        return record_len(r) == COMMON_KEYS + 2 ? get_peer(r, &m->update) : LS_EINVAL;
    case TRUST_MSG_PEERS_REQUEST:
        if (record_len(r) != COMMON_KEYS + 3 || get_uint(r, "id", UINT64_MAX, &m->request_id) ||
            get_uint(r, "limit", TRUST_MSG_MAX_PEERS, &v) < 0 || v == 0)
            return LS_EINVAL;
        m->limit = (uint32_t)v;
        if (get_uint(r, "min", TRUST_PPM, &v) < 0)
            return LS_EINVAL;
        m->min_ppm = (uint32_t)v;
        return 0;
    default:
        return record_len(r) == COMMON_KEYS + 2 ? parse_response(r, m) : LS_EINVAL;
    }
}

static int
parse(const record_t *r, uint64_t now_ms, trust_msg_t *m)
{
    const char *type;
    uint8_t pk[ED25519_PK_LEN];

    int rc = record_verify(r, pk);
    if (rc < 0)
        return rc;
    peer_id_from_ed25519(&m->signer, pk);
    if (record_get_str(r, "type", &type) < 0 || get_uint(r, "ts", UINT64_MAX, &m->ts_ms) < 0 ||
        get_uint(r, "ttl", TRUST_MSG_MAX_TTL_MS, &m->ttl_ms) < 0 || m->ttl_ms == 0)
        return LS_EINVAL;
    m->type = 0;
    for (unsigned t = TRUST_MSG_UPDATE; t <= TRUST_MSG_PEERS_RESPONSE; t++)
        if (strcmp(type, type_names[t]) == 0)
            m->type = (trust_msg_type_t)t;
    if (m->type == 0)
        return LS_EINVAL;
    rc = parse_body(r, m);
    if (rc < 0)
        return rc;
    if (m->ts_ms > now_ms + TRUST_MSG_MAX_SKEW_MS || m->ts_ms + m->ttl_ms < now_ms)
        return LS_EEXPIRED;
    return 0;
}

int
trust_msg_decode(const uint8_t *p, size_t len, uint64_t now_ms, trust_msg_t *m)
{
    record_t *r = NULL;

    memset(m, 0, sizeof *m);
    if (len > TRUST_MSG_MAX_LEN)
        return LS_ETOOBIG;
    int rc = record_decode(p, len, TRUST_MSG_MAX_LEN, &r);
    if (rc == 0)
        rc = parse(r, now_ms, m);
    record_free(r);
    if (rc < 0)
        memset(m, 0, sizeof *m);
    return rc;
}
