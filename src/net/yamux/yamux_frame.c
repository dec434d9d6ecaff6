/* yamux_frame — header codec; see yamux_frame.h (hashicorp/yamux spec.md "Framing"). */
#include "net/yamux/yamux_frame.h"

#include "lib/err/err.h"

static void
put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t
get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void
yamux_header_encode(const yamux_header_t *h, uint8_t out[static YAMUX_HEADER_LEN])
{
    out[0] = h->version;
    out[1] = h->type;
    put_be16(out + 2, h->flags);
    put_be32(out + 4, h->stream_id);
    put_be32(out + 8, h->length);
}

int
yamux_header_decode(const uint8_t in[static YAMUX_HEADER_LEN], yamux_header_t *h)
{
    h->version = in[0];
    h->type = in[1];
    h->flags = (uint16_t)(in[2] << 8 | in[3]);
    h->stream_id = get_be32(in + 4);
    h->length = get_be32(in + 8);
    if (h->version != YAMUX_VERSION || h->type > YAMUX_TYPE_GO_AWAY)
        return LS_EPROTO;
    return 0;
}

int
yamux_header_append(buf_t *b, uint8_t type, uint16_t flags, uint32_t stream_id, uint32_t length)
{
    yamux_header_t h = {YAMUX_VERSION, type, flags, stream_id, length};
    uint8_t *p = buf_extend(b, YAMUX_HEADER_LEN);

    if (!p)
        return LS_ETOOBIG;
    yamux_header_encode(&h, p);
    return 0;
}
