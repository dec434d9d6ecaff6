/* yamux_frame — the 12-byte yamux frame header.
 *
 * hashicorp/yamux spec.md "Framing" (copied in libp2p/specs yamux/README.md):
 * version (8 bits, always 0), type (8), flags (16), stream id (32), length (32), all
 * big-endian. The length is the payload size for Data, the window delta for Window
 * Update, an opaque value for Ping and the error code for Go Away; only Data frames
 * carry a payload. */
#ifndef LS_NET_YAMUX_FRAME_H
#define LS_NET_YAMUX_FRAME_H

#include <stdint.h>

#include "lib/buf/buf.h"

#define YAMUX_HEADER_LEN 12
#define YAMUX_VERSION 0

/** Frame types. */
enum {
    YAMUX_TYPE_DATA = 0x0,
    YAMUX_TYPE_WINDOW_UPDATE = 0x1,
    YAMUX_TYPE_PING = 0x2,
    YAMUX_TYPE_GO_AWAY = 0x3,
};

/** Flags; SYN/ACK also mark a Ping request/response. */
enum {
    YAMUX_FLAG_SYN = 0x1,
    YAMUX_FLAG_ACK = 0x2,
    YAMUX_FLAG_FIN = 0x4,
    YAMUX_FLAG_RST = 0x8,
};

/** Go Away error codes. */
enum {
    YAMUX_GOAWAY_NORMAL = 0x0,
    YAMUX_GOAWAY_PROTOCOL_ERROR = 0x1,
    YAMUX_GOAWAY_INTERNAL_ERROR = 0x2,
};

typedef struct yamux_header_t {
    uint8_t version;
    uint8_t type;
    uint16_t flags;
    uint32_t stream_id;
    uint32_t length;
} yamux_header_t;

/** Write `h` in wire order to `out`. */
void yamux_header_encode(const yamux_header_t *h, uint8_t out[static YAMUX_HEADER_LEN]);

/** Parse the 12 bytes at `in` into `*h`. Returns 0, or LS_EPROTO for a version other
 *  than 0 or an unknown type (`*h` is filled in either case, for logging). Unknown
 *  flag bits are kept; the session ignores them. */
int yamux_header_decode(const uint8_t in[static YAMUX_HEADER_LEN], yamux_header_t *h);

/** Append one header to `b`: 0 or LS_ETOOBIG (`b` unchanged). */
int yamux_header_append(buf_t *b, uint8_t type, uint16_t flags, uint32_t stream_id,
                        uint32_t length);

#endif
