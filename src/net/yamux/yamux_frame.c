/* yamux_frame — header codec; see yamux_frame.h (hashicorp/yamux spec.md "Framing"). */
#include "net/yamux/yamux_frame.h"

#include "lib/bytes/bytes.h"
#include "lib/err/err.h"

void
yamux_header_encode(const yamux_header_t *h, uint8_t out[static YAMUX_HEADER_LEN])
{
    out[0] = h->version;
    out[1] = h->type;
    be_put(out + 2, h->flags, 2);
    be_put(out + 4, h->stream_id, 4);
    be_put(out + 8, h->length, 4);
}

int
yamux_header_decode(const uint8_t in[static YAMUX_HEADER_LEN], yamux_header_t *h)
{
    h->version = in[0];
    h->type = in[1];
    h->flags = (uint16_t)(in[2] << 8 | in[3]);
    h->stream_id = (uint32_t)be_get(in + 4, 4);
    h->length = (uint32_t)be_get(in + 8, 4);
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
