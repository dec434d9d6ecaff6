/* Fuzz the endpoint templates of HTTP seeders (provider metadata from other peers):
 * a template that parses has a host, one {cid}, a kind, and expands within bounds to
 * a path that starts with '/' and contains the CID given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "content/httpseed/httpseed.h"
#include "lib/err/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    httpseed_endpoint_t ep;
    char path[HTTPSEED_PATH_MAX + 128];
    if (httpseed_parse((const char *)data, size, &ep) != 0)
        return 0;
    if (!ep.host[0] || ep.port == 0 || (ep.kind != HTTPSEED_RAW && ep.kind != HTTPSEED_CHUNK))
        abort();
    if (strlen(ep.path) > HTTPSEED_PATH_MAX || ep.path[0] != '/')
        abort();
    if (httpseed_path(&ep, "bafkqaaa", 18446744073709551615ull, path, sizeof path) != 0)
        abort();
    if (path[0] != '/' || !strstr(path, "bafkqaaa") || strchr(path, '{'))
        abort();
    return 0;
}
