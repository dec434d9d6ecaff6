/* gs_dontwant — IDONTWANT (gossipsub-v1.2.md): a peer that already has a message, or
 * is about to, asks us not to forward it. We honour it for the few heartbeats during
 * which we could still forward the message; we do not send IDONTWANT ourselves. */
#include <stdlib.h>

#include "pubsub/gossipsub/gs_internal.h"

static void
drop_oldest(gs_peer_t *p)
{
    gs_dontwant_t *d = p->dw_head;
    p->dw_head = d->next;
    if (!p->dw_head)
        p->dw_tail = NULL;
    gs_idmap_remove(p->dontwant, &d->id);
    p->n_dontwant--;
    free(d);
}

void
gs_dontwant_add(gossipsub_t *gs, gs_peer_t *p, const PubsubPb__ControlIDontWant *dw)
{
    if (p->proto < GOSSIPSUB_V12)
        return; /* not part of what it negotiated */
    for (size_t i = 0; i < dw->n_messageids; i++) {
        gs_msgid_t id;
        if (!gs_msgid_set(&id, dw->messageids[i].data, dw->messageids[i].len))
            continue;
        if (!p->dontwant)
            p->dontwant = gs_idmap_new(offsetof(gs_dontwant_t, id));
        if (gs_idmap_get(p->dontwant, &id))
            continue;
        if (p->n_dontwant >= GS_MAX_DONTWANT)
            drop_oldest(p);
        gs_dontwant_t *d = ls_calloc(1, sizeof *d);
        d->id = id;
        d->heartbeat = gs->heartbeats;
        gs_idmap_put(p->dontwant, d);
        if (p->dw_tail)
            p->dw_tail->next = d;
        else
            p->dw_head = d;
        p->dw_tail = d;
        p->n_dontwant++;
        gs->stats.idontwant_received++;
    }
}

bool
gs_dontwant_has(const gs_peer_t *p, const gs_msgid_t *id)
{
    return p->dontwant && id && gs_idmap_get(p->dontwant, id);
}

void
gs_dontwant_expire(gossipsub_t *gs, gs_peer_t *p)
{
    while (p->dw_head && p->dw_head->heartbeat + GS_DONTWANT_HEARTBEATS <= gs->heartbeats)
        drop_oldest(p);
}

void
gs_dontwant_free(gs_peer_t *p)
{
    while (p->dw_head) {
        gs_dontwant_t *d = p->dw_head;
        p->dw_head = d->next;
        free(d);
    }
    gs_idmap_free(p->dontwant);
    p->dw_tail = NULL;
    p->n_dontwant = 0;
}
