/* fuzz_identify — identify_decode() on arbitrary bytes (the payload of an identify or
 * identify-push message after its length prefix). Properties: no crash, leak or
 * sanitizer report; only the documented errors, with nothing left to free; what
 * decodes stays within the limits, holds only NUL-free strings, and re-encodes to a
 * message that decodes to the same fields and re-encodes to the same bytes; merging
 * a push into it is safe. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf/buf.h"
#include "lib/err/err.h"
#include "net/identify/identify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)          \
    do {                  \
        if (!(c))         \
            abort();      \
    } while (0)

static bool
str_equal(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void
check_limits(const identify_info_t *in)
{
    CHECK(in->n_protocols <= IDENTIFY_MAX_PROTOCOLS);
    CHECK(in->n_listen_addrs <= IDENTIFY_MAX_ADDRS);
    CHECK(!in->protocol_version || strlen(in->protocol_version) <= IDENTIFY_MAX_STRING);
    CHECK(!in->agent_version || strlen(in->agent_version) <= IDENTIFY_MAX_STRING);
    for (size_t i = 0; i < in->n_protocols; i++)
        CHECK(strlen(in->protocols[i]) <= IDENTIFY_MAX_STRING);
    CHECK(!in->public_key == !in->public_key_len);
}

static void
check_same(const identify_info_t *a, const identify_info_t *b)
{
    CHECK(str_equal(a->protocol_version, b->protocol_version));
    CHECK(str_equal(a->agent_version, b->agent_version));
    CHECK(a->public_key_len == b->public_key_len);
    CHECK(a->public_key_len == 0 || memcmp(a->public_key, b->public_key, a->public_key_len) == 0);
    CHECK(!a->observed_addr == !b->observed_addr);
    CHECK(!a->observed_addr || multiaddr_equal(a->observed_addr, b->observed_addr));
    CHECK(a->n_listen_addrs == b->n_listen_addrs);
    for (size_t i = 0; i < a->n_listen_addrs; i++)
        CHECK(multiaddr_equal(a->listen_addrs[i], b->listen_addrs[i]));
    CHECK(a->n_protocols == b->n_protocols);
    for (size_t i = 0; i < a->n_protocols; i++)
        CHECK(strcmp(a->protocols[i], b->protocols[i]) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    identify_info_t info, back, push;
    buf_t enc = BUF_INIT(BUF_UNLIMITED), again = BUF_INIT(BUF_UNLIMITED);

    int rc = identify_decode(data, size, &info);
    if (rc < 0) {
        CHECK(rc == LS_EINVAL || rc == LS_ETOOBIG);
        CHECK(!info.protocol_version && !info.agent_version && !info.public_key &&
              !info.listen_addrs && !info.observed_addr && !info.protocols);
        return 0;
    }
    check_limits(&info);
    /* Re-encoding drops unknown fields and shortens non-minimal varints: never longer. */
    CHECK(identify_encode(&info, &enc) == 0);
    CHECK(enc.len <= size);
    CHECK(identify_decode(enc.data, enc.len, &back) == 0);
    check_same(&info, &back);
    CHECK(identify_encode(&back, &again) == 0);
    CHECK(again.len == enc.len && (enc.len == 0 || memcmp(again.data, enc.data, enc.len) == 0));
    /* a push of the same message merged into it changes nothing it carries */
    CHECK(identify_decode(data, size, &push) == 0);
    identify_info_merge(&info, &push);
    check_same(&info, &back);
    CHECK(!push.agent_version && !push.protocols && push.n_protocols == 0);
    identify_info_clear(&info);
    identify_info_clear(&back);
    buf_free(&enc);
    buf_free(&again);
    return 0;
}
