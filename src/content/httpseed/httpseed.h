/* httpseed — endpoint templates of HTTP seeders, as provider records name them (seed
 * 004's metadata, kad_validate.h "endpoints"). Two forms are understood:
 *
 *   http://host[:port]/ipfs/{cid}?format=raw      trustless gateway: one raw block
 *   http://host[:port]/file/{cid}/chunk/{index}   seed 004: a file's index-th chunk
 *
 * The text comes from other peers, so it is parsed strictly: only http (no TLS in
 * the downloader), a host of letters, digits, '.', '-' or a bracketed IPv6 address,
 * a path of printable ASCII with exactly one {cid} (and for chunks one {index}),
 * everything under fixed limits. */
#ifndef LS_CONTENT_HTTPSEED_H
#define LS_CONTENT_HTTPSEED_H

#include <stddef.h>
#include <stdint.h>

#define HTTPSEED_URL_MAX 600
#define HTTPSEED_HOST_MAX 255
#define HTTPSEED_PATH_MAX 512

typedef enum httpseed_kind_t {
    HTTPSEED_RAW = 1, /* GET the template with {cid}: the block's bytes */
    HTTPSEED_CHUNK,   /* GET with {cid} of a file and {index}: that leaf's bytes */
} httpseed_kind_t;

typedef struct httpseed_endpoint_t {
    httpseed_kind_t kind;
    char host[HTTPSEED_HOST_MAX + 1]; /* without brackets */
    uint16_t port;                    /* 80 when not given */
    char path[HTTPSEED_PATH_MAX + 1]; /* the template's path and query */
} httpseed_endpoint_t;

/** Parse the template `url[0..len)` (need not be NUL-terminated). 0; LS_EINVAL if
 *  malformed; LS_ENOTSUP for another scheme or a template of neither form;
 *  LS_ETOOBIG over the limits. `out` is filled only on success. */
int httpseed_parse(const char *url, size_t len, httpseed_endpoint_t *out);

/** The request path of `ep` for CID text `cid` (and `index` for chunks) into
 *  `out[0..cap)`. 0 or LS_ETOOBIG. */
int httpseed_path(const httpseed_endpoint_t *ep, const char *cid, uint64_t index, char *out,
                  size_t cap);

#endif
