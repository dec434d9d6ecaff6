/* multiaddr — self-describing network addresses (multiformats/multiaddr).
 *
 * Binary form: components of <varint protocol code><value>, where the value is
 * fixed-size (ip4 4 bytes, ip6 16, tcp/udp port 2 big-endian), empty, or
 * <varint length><bytes> (dns names, zones, /p2p peer IDs). Text form:
 * "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...". Codes and names follow protocols.csv.
 *
 * A multiaddr_t is immutable and holds the binary form, validated on creation: every
 * code is one below, every value well-formed (a /p2p value must be a peer ID, a text
 * value non-empty without '/' or NUL), so any multiaddr_t prints and re-parses to
 * the same bytes. Unknown protocols are LS_ENOTSUP rather than skipped, since their
 * value size is unknown. At most MULTIADDR_MAX_LEN bytes; never empty. */
#ifndef LS_LIB_MULTIADDR_H
#define LS_LIB_MULTIADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/buf/buf.h"
#include "lib/mem/mem.h"
#include "lib/peerid/peerid.h"

/** Longest binary multiaddr accepted (LS_ETOOBIG past it). */
#define MULTIADDR_MAX_LEN 1024
/** Longest text accepted by multiaddr_parse(). */
#define MULTIADDR_MAX_STRING 4096

/** Protocol codes Lester understands (protocols.csv). */
enum {
    MULTIADDR_IP4 = 4,
    MULTIADDR_TCP = 6,
    MULTIADDR_IP6 = 41,
    MULTIADDR_IP6ZONE = 42,
    MULTIADDR_DNS = 53,
    MULTIADDR_DNS4 = 54,
    MULTIADDR_DNS6 = 55,
    MULTIADDR_DNSADDR = 56,
    MULTIADDR_UDP = 273,
    MULTIADDR_WEBRTC_DIRECT = 280,
    MULTIADDR_WEBRTC = 281,
    MULTIADDR_P2P_CIRCUIT = 290,
    MULTIADDR_P2P = 421, /* text name "p2p"; "ipfs" is read as an alias */
    MULTIADDR_HTTPS = 443,
    MULTIADDR_TLS = 448,
    MULTIADDR_SNI = 449,
    MULTIADDR_NOISE = 454,
    MULTIADDR_QUIC = 460,
    MULTIADDR_QUIC_V1 = 461,
    MULTIADDR_WEBTRANSPORT = 465,
    MULTIADDR_WS = 477,
    MULTIADDR_WSS = 478,
    MULTIADDR_HTTP = 480,
};

typedef struct multiaddr_t multiaddr_t;

/* ---- codec (multiaddr.c) ---- */

/** Parse text `s` (NUL-terminated) into a new multiaddr in `*out`. One trailing '/'
 *  is allowed. 0; LS_ENOTSUP for an unknown protocol name; LS_ETOOBIG if `s` is
 *  longer than MULTIADDR_MAX_STRING or the result longer than MULTIADDR_MAX_LEN;
 *  LS_EINVAL otherwise. `*out` is set only on success. */
int multiaddr_parse(const char *s, multiaddr_t **out);

/** Validate binary `p[0..len)` (all of it) and copy it into a new multiaddr in
 *  `*out`. 0; LS_ENOTSUP for an unknown protocol code; LS_ETOOBIG if len >
 *  MULTIADDR_MAX_LEN; LS_EINVAL if empty, truncated or malformed. */
int multiaddr_from_bytes(const uint8_t *p, size_t len, multiaddr_t **out);

/** The binary form, valid as long as `ma`; its length goes to `*len`. */
const uint8_t *multiaddr_bytes(const multiaddr_t *ma, size_t *len);

/** Append the text form to `out`. 0, or LS_ETOOBIG if `out` is full (then `out`
 *  is unchanged). */
int multiaddr_to_string(const multiaddr_t *ma, buf_t *out);

/** The text form as a new string the caller frees. Never NULL. */
char *multiaddr_to_str(const multiaddr_t *ma);

/** A copy of `ma`. Never NULL. */
multiaddr_t *multiaddr_dup(const multiaddr_t *ma);

/** True if both have the same bytes. */
bool multiaddr_equal(const multiaddr_t *a, const multiaddr_t *b);

void multiaddr_free_(multiaddr_t *ma); /* NULL is a no-op */
#define multiaddr_free(m) FREE_AND_NULL(multiaddr_t, multiaddr_free_, (m))

/** Number of components (>= 1). */
size_t multiaddr_component_count(const multiaddr_t *ma);

/** Component `i` (from 0): its protocol code, and its value without any length
 *  prefix (`*value` points into `ma`; `*vlen` is 0 for valueless protocols; a /p2p
 *  value is the peer ID's multihash bytes). 0, or LS_ENOENT if i is out of range. */
int multiaddr_component(const multiaddr_t *ma, size_t i, uint64_t *code, const uint8_t **value,
                        size_t *vlen);

/* ---- helpers for transports (multiaddr_net.c) ---- */

/** Fill `*ss` and `*sslen` from an address that starts /ip4/<a>/tcp/<port> or
 *  /ip6/<a>/tcp/<port> (anything after is ignored). 0, or LS_ENOTSUP for any other
 *  shape (dns, udp, ip6zone...). */
int multiaddr_to_sockaddr(const multiaddr_t *ma, struct sockaddr_storage *ss, socklen_t *sslen);

/** /ip4/<a>/tcp/<port> or /ip6/<a>/tcp/<port> for an AF_INET or AF_INET6 `sa`
 *  (an IPv4-mapped IPv6 address becomes /ip4). NULL for any other family. */
multiaddr_t *multiaddr_from_sockaddr_tcp(const struct sockaddr *sa);

/** If the last component is /p2p, store its peer ID in `*out` and return true.
 *  "/.../p2p/R/p2p-circuit" has no final /p2p, so it gives false. */
bool multiaddr_get_peer_id(const multiaddr_t *ma, peer_id_t *out);

/** A new multiaddr `ma` + /p2p/<id>, or a copy of `ma` if it already ends with
 *  that /p2p/<id>. NULL if it ends with a different /p2p, if `id` is not valid, or
 *  if the result would exceed MULTIADDR_MAX_LEN. */
multiaddr_t *multiaddr_with_peer_id(const multiaddr_t *ma, const peer_id_t *id);

/** A new multiaddr without a final /p2p component (a copy if there is none).
 *  NULL if nothing would remain (`ma` was just "/p2p/<id>"). */
multiaddr_t *multiaddr_without_peer_id(const multiaddr_t *ma);

/** True if the first address component (after any /ip6zone) is a loopback IP:
 *  127.0.0.0/8, ::1, or IPv4-mapped 127/8. DNS names are never loopback here. */
bool multiaddr_is_loopback(const multiaddr_t *ma);

/** True if the first address component is a non-public IP: RFC 1918 (10/8,
 *  172.16/12, 192.168/16), shared CGNAT space 100.64/10, link-local (169.254/16,
 *  fe80::/10), unique-local fc00::/7, or their IPv4-mapped forms. Loopback is not
 *  included (see multiaddr_is_loopback). */
bool multiaddr_is_private(const multiaddr_t *ma);

#endif
