/* fuzz_pubsub_rpc — pubsub_rpc_decode() on arbitrary bytes, then what a router does
 * with a decoded RPC. Properties: no crash, leak or sanitizer report; an error leaves
 * *out NULL; a decoded RPC re-encodes to bytes that decode again to the same encoding;
 * message verification and IDs accept whatever decodes; pubsub_rpc_count_messages()
 * never crashes and agrees with the decoder on what it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf/buf.h"
#include "lib/err/err.h"
#include "pubsub/rpc/pubsub_msg.h"
#include "pubsub/rpc/pubsub_rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
poke_messages(const PubsubPb__RPC *r)
{
    uint8_t id[PUBSUB_MSGID_MAX];
    peer_id_t author;

    for (size_t i = 0; i < r->n_publish; i++) {
        int rc = pubsub_msg_verify(r->publish[i], &author);
        if (rc != 0 && rc != LS_EINVAL && rc != LS_EBADSIG && rc != LS_ENOTSUP)
            abort();
        rc = pubsub_msgid(r->publish[i], id);
        if (rc > PUBSUB_MSGID_MAX || (rc < 0 && rc != LS_EINVAL))
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    PubsubPb__RPC *r = NULL, *r2 = NULL;

    int count = pubsub_rpc_count_messages(data, size);
    if (pubsub_rpc_decode(data, size, NULL, &r) < 0) {
        if (r)
            abort();
        return 0;
    }
    if (count < 0 || (size_t)count != r->n_publish)
        abort();
    buf_t a = BUF_INIT(BUF_UNLIMITED), b = BUF_INIT(BUF_UNLIMITED);
    if (pubsub_rpc_encode(r, false, &a) != 0)
        abort();
    /* re-encoding can only drop redundancy (repeated optional fields) */
    if (a.len > size || pubsub_rpc_decode(a.data, a.len, NULL, &r2) != 0 ||
        pubsub_rpc_encode(r2, false, &b) != 0 || a.len != b.len ||
        memcmp(a.data, b.data, a.len) != 0)
        abort();
    poke_messages(r);
    buf_free(&a);
    buf_free(&b);
    pubsub_rpc_free(r);
    pubsub_rpc_free(r2);
    return 0;
}
