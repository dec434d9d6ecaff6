/* fuzz_peerex — peerex_decode() on arbitrary bytes (the payload of a
 * /lester/peers/1.0.0 answer after its length prefix). Properties: no crash, leak or
 * sanitizer report; only the documented errors, with nothing allocated on error;
 * what decodes stays within the limits, carries no /p2p in its addresses, and
 * re-encodes to a message that decodes to the same entries. */
#include <stdint.h>
#include <stdlib.h>

#include "lib/buf/buf.h"
#include "lib/err/err.h"
#include "net/peerex/peerex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static void
check_same(const peerex_entry_t *a, size_t na, const peerex_entry_t *b, size_t nb)
{
    CHECK(na == nb);
    for (size_t i = 0; i < na; i++) {
        CHECK(peer_id_equal(&a[i].id, &b[i].id));
        CHECK(a[i].n_addrs == b[i].n_addrs);
        for (size_t k = 0; k < a[i].n_addrs; k++)
            CHECK(multiaddr_equal(a[i].addrs[k], b[i].addrs[k]));
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    peerex_entry_t *e;
    size_t n;
    int rc = peerex_decode(data, size, &e, &n);
    if (rc < 0) {
        CHECK(rc == LS_EINVAL || rc == LS_ETOOBIG);
        CHECK(e == NULL && n == 0);
        return 0;
    }
    CHECK(n <= PEEREX_MAX_PEERS);
    for (size_t i = 0; i < n; i++) {
        peer_id_t named;
        CHECK(e[i].n_addrs <= PEEREX_MAX_ADDRS);
        for (size_t k = 0; k < e[i].n_addrs; k++)
            CHECK(!multiaddr_get_peer_id(e[i].addrs[k], &named));
    }
    buf_t msg = BUF_INIT(PEEREX_MAX_MESSAGE);
    CHECK(peerex_encode(e, n, &msg) == 0); /* never larger than what came in */
    peerex_entry_t *again;
    size_t n2;
    CHECK(peerex_decode(msg.data, msg.len, &again, &n2) == 0);
    check_same(e, n, again, n2);
    peerex_entries_free(again, n2);
    peerex_entries_free(e, n);
    buf_free(&msg);
    return 0;
}
