/* peerex_codec — the Peers protobuf (peerex.proto via protoc-c), with the limits
 * checked before anything is kept. */
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "net/peerex/peerex.h"
#include "net/peerex/peerex.pb-c.h"

int
peerex_encode(const peerex_entry_t *e, size_t n, buf_t *out)
{
    n = LS_MIN(n, (size_t)PEEREX_MAX_PEERS);
    Peerex__Pb__Peer peers[PEEREX_MAX_PEERS];
    Peerex__Pb__Peer *ptrs[PEEREX_MAX_PEERS];
    ProtobufCBinaryData addrs[PEEREX_MAX_PEERS][PEEREX_MAX_ADDRS];
    for (size_t i = 0; i < n; i++) {
        peerex__pb__peer__init(&peers[i]);
        peers[i].id = (ProtobufCBinaryData){e[i].id.len, (uint8_t *)e[i].id.bytes};
        peers[i].n_addrs = LS_MIN(e[i].n_addrs, (size_t)PEEREX_MAX_ADDRS);
        for (size_t k = 0; k < peers[i].n_addrs; k++)
            addrs[i][k].data = (uint8_t *)multiaddr_bytes(e[i].addrs[k], &addrs[i][k].len);
        peers[i].addrs = addrs[i];
        ptrs[i] = &peers[i];
    }
    Peerex__Pb__Peers m = PEEREX__PB__PEERS__INIT;
    m.n_peers = n;
    m.peers = ptrs;
    size_t len = peerex__pb__peers__get_packed_size(&m);
    uint8_t *dst = len <= PEEREX_MAX_MESSAGE ? buf_extend(out, len) : NULL;
    if (!dst)
        return LS_ETOOBIG;
    peerex__pb__peers__pack(&m, dst);
    return 0;
}

/* Check the counts and sizes of a decoded message before anything is copied. */
static int
check_limits(const Peerex__Pb__Peers *m)
{
    if (m->n_peers > PEEREX_MAX_PEERS)
        return LS_ETOOBIG;
    for (size_t i = 0; i < m->n_peers; i++) {
        if (m->peers[i]->n_addrs > PEEREX_MAX_ADDRS)
            return LS_ETOOBIG;
        for (size_t k = 0; k < m->peers[i]->n_addrs; k++)
            if (m->peers[i]->addrs[k].len > PEEREX_MAX_ADDR_LEN)
                return LS_ETOOBIG;
    }
    return 0;
}

/* Copy one peer; its addresses that do not parse or name a peer are skipped. */
static int
take_peer(const Peerex__Pb__Peer *p, peerex_entry_t *e)
{
    int rc = peer_id_from_bytes(&e->id, p->id.data, p->id.len);
    if (rc < 0)
        return LS_EINVAL;
    for (size_t k = 0; k < p->n_addrs; k++) {
        multiaddr_t *ma = NULL;
        peer_id_t named;
        if (multiaddr_from_bytes(p->addrs[k].data, p->addrs[k].len, &ma) < 0)
            continue;
        if (multiaddr_get_peer_id(ma, &named)) {
            multiaddr_free(ma);
            continue;
        }
        e->addrs[e->n_addrs++] = ma;
    }
    return 0;
}

int
peerex_decode(const uint8_t *p, size_t len, peerex_entry_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (len > PEEREX_MAX_MESSAGE)
        return LS_ETOOBIG;
    Peerex__Pb__Peers *m = peerex__pb__peers__unpack(NULL, len, p);
    if (!m)
        return LS_EINVAL;
    int rc = check_limits(m);
    size_t count = m->n_peers, i = 0;
    peerex_entry_t *e = rc == 0 ? ls_calloc(count + 1, sizeof *e) : NULL;
    while (rc == 0 && i < count) {
        rc = take_peer(m->peers[i], &e[i]);
        i++; /* a failed entry may hold nothing, but is freed with the rest */
    }
    peerex__pb__peers__free_unpacked(m, NULL);
    if (rc < 0) {
        peerex_entries_free(e, i);
        return rc;
    }
    *out = e;
    *n = count;
    return 0;
}

void
peerex_entries_free(peerex_entry_t *e, size_t n)
{
    if (!e)
        return;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < e[i].n_addrs; k++)
            multiaddr_free(e[i].addrs[k]);
    free(e);
}
