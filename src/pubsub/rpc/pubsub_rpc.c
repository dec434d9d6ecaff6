/* pubsub_rpc — RPC decoding with limits and encoding (contract in pubsub_rpc.h). */
#include "pubsub/rpc/pubsub_rpc.h"

#include <string.h>

#include "lib/err/err.h"
#include "lib/varint/varint.h"

void
pubsub_rpc_limits_default(pubsub_rpc_limits_t *lim)
{
    *lim = (pubsub_rpc_limits_t){
        .max_rpc_len = 1u << 20,
        .max_subscriptions = 1024,
        .max_messages = 1024,
        .max_data_len = (1u << 20) - 4096, /* one message always fits one RPC */
        .max_topic_len = 256,
        .max_control = 1024,
        .max_ids = 5000,
        .max_id_len = 256,
        .max_px = 16,
        .max_px_record = 4096,
    };
}

bool
pubsub_topic_is_valid(const uint8_t *topic, size_t len, const pubsub_rpc_limits_t *lim)
{
    pubsub_rpc_limits_t d;
    if (!lim) {
        pubsub_rpc_limits_default(&d);
        lim = &d;
    }
    return len >= 1 && len <= lim->max_topic_len && memchr(topic, 0, len) == NULL;
}

/* A topic field: present and valid. Absent is LS_EINVAL, too long LS_ETOOBIG. */
static int
check_topic(protobuf_c_boolean has, const ProtobufCBinaryData *t, const pubsub_rpc_limits_t *lim)
{
    if (!has || t->len == 0 || memchr(t->data, 0, t->len))
        return LS_EINVAL;
    return t->len > lim->max_topic_len ? LS_ETOOBIG : 0;
}

static int
check_ids(size_t n, const ProtobufCBinaryData *ids, size_t *total, const pubsub_rpc_limits_t *lim)
{
    *total += n;
    if (*total > lim->max_ids)
        return LS_ETOOBIG;
    for (size_t i = 0; i < n; i++)
        if (ids[i].len > lim->max_id_len)
            return LS_ETOOBIG;
    return 0;
}

static int
check_prune(const PubsubPb__ControlPrune *p, const pubsub_rpc_limits_t *lim)
{
    int rc = check_topic(p->has_topicid, &p->topicid, lim);
    if (rc < 0)
        return rc;
    if (p->n_peers > lim->max_px)
        return LS_ETOOBIG;
    for (size_t i = 0; i < p->n_peers; i++)
        if (p->peers[i]->signedpeerrecord.len > lim->max_px_record || p->peers[i]->peerid.len > 64)
            return LS_ETOOBIG;
    return 0;
}

static int
check_control(const PubsubPb__ControlMessage *c, const pubsub_rpc_limits_t *lim)
{
    size_t ids = 0;
    int rc = 0;

    if (c->n_ihave + c->n_iwant + c->n_graft + c->n_prune + c->n_idontwant > lim->max_control)
        return LS_ETOOBIG;
    for (size_t i = 0; rc == 0 && i < c->n_ihave; i++) {
        rc = check_topic(c->ihave[i]->has_topicid, &c->ihave[i]->topicid, lim);
        if (rc == 0)
            rc = check_ids(c->ihave[i]->n_messageids, c->ihave[i]->messageids, &ids, lim);
    }
    for (size_t i = 0; rc == 0 && i < c->n_iwant; i++)
        rc = check_ids(c->iwant[i]->n_messageids, c->iwant[i]->messageids, &ids, lim);
    for (size_t i = 0; rc == 0 && i < c->n_idontwant; i++)
        rc = check_ids(c->idontwant[i]->n_messageids, c->idontwant[i]->messageids, &ids, lim);
    for (size_t i = 0; rc == 0 && i < c->n_graft; i++)
        rc = check_topic(c->graft[i]->has_topicid, &c->graft[i]->topicid, lim);
    for (size_t i = 0; rc == 0 && i < c->n_prune; i++)
        rc = check_prune(c->prune[i], lim);
    return rc;
}

/* protobuf-c keeps an unknown field numbered 0, which protobuf forbids and which
 * protobuf-c itself refuses once re-encoded: refuse it anywhere in the tree. */
static bool
has_field_zero(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0)
            return true;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t j = 0; j < n; j++)
                if (has_field_zero(items[j]))
                    return true;
        } else {
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);
            if (sub && has_field_zero(sub))
                return true;
        }
    }
    return false;
}

static int
check_rpc(const PubsubPb__RPC *r, const pubsub_rpc_limits_t *lim)
{
    int rc = 0;

    if (has_field_zero(&r->base))
        return LS_EINVAL;
    if (r->n_subscriptions > lim->max_subscriptions || r->n_publish > lim->max_messages)
        return LS_ETOOBIG;
    for (size_t i = 0; rc == 0 && i < r->n_subscriptions; i++)
        rc = check_topic(r->subscriptions[i]->has_topicid, &r->subscriptions[i]->topicid, lim);
    for (size_t i = 0; rc == 0 && i < r->n_publish; i++) {
        const PubsubPb__Message *m = r->publish[i];
        rc = check_topic(m->has_topic, &m->topic, lim);
        if (rc == 0 && m->data.len > lim->max_data_len)
            rc = LS_ETOOBIG;
    }
    if (rc == 0 && r->control)
        rc = check_control(r->control, lim);
    return rc;
}

int
pubsub_rpc_decode(const uint8_t *p, size_t len, const pubsub_rpc_limits_t *lim, PubsubPb__RPC **out)
{
    pubsub_rpc_limits_t d;

    *out = NULL;
    if (!lim) {
        pubsub_rpc_limits_default(&d);
        lim = &d;
    }
    if (len > lim->max_rpc_len)
        return LS_ETOOBIG;
    PubsubPb__RPC *r = pubsub_pb__rpc__unpack(NULL, len, p);
    if (!r)
        return LS_EINVAL;
    int rc = check_rpc(r, lim);
    if (rc < 0) {
        pubsub_pb__rpc__free_unpacked(r, NULL);
        return rc;
    }
    *out = r;
    return 0;
}

void
pubsub_rpc_free_(PubsubPb__RPC *rpc)
{
    if (rpc)
        pubsub_pb__rpc__free_unpacked(rpc, NULL);
}

int
pubsub_rpc_encode(const PubsubPb__RPC *rpc, bool framed, buf_t *out)
{
    size_t n = pubsub_pb__rpc__get_packed_size(rpc);
    size_t start = out->len;

    if (framed && varint_append(out, n) < 0)
        return LS_ETOOBIG;
    uint8_t *dst = buf_extend(out, n);
    if (!dst) {
        buf_truncate(out, start);
        return LS_ETOOBIG;
    }
    pubsub_pb__rpc__pack(rpc, dst);
    return 0;
}

/* A protobuf varint (up to 10 bytes, non-minimal forms allowed as protobuf does) at
 * p[*off..len); false if truncated or too long. */
static bool
pb_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 70 && *off < len; shift += 7) {
        uint8_t b = p[(*off)++];
        if (shift < 64)
            *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

int
pubsub_rpc_count_messages(const uint8_t *p, size_t len)
{
    size_t off = 0;
    int count = 0;
    while (off < len) {
        uint64_t tag, n;
        if (!pb_varint(p, len, &off, &tag))
            return LS_EINVAL;
        switch (tag & 7) {
        case 0: /* varint */
            if (!pb_varint(p, len, &off, &n))
                return LS_EINVAL;
            break;
        case 1: /* fixed64 */
            n = 8;
            goto skip;
        case 5: /* fixed32 */
            n = 4;
            goto skip;
        case 2: /* length-delimited: publish is field 2 */
            if (!pb_varint(p, len, &off, &n))
                return LS_EINVAL;
            if (tag >> 3 == 2 && count < INT32_MAX)
                count++;
        skip:
            if (n > len - off)
                return LS_EINVAL;
            off += (size_t)n;
            break;
        default: /* groups are not in this schema */
            return LS_EINVAL;
        }
    }
    return count;
}
