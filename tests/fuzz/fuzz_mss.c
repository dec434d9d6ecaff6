/* libFuzzer harness for net/mss: arbitrary bytes into either role, checking that the
 * result does not depend on how the input is split (one read versus many). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf/buf.h"
#include "lib/err/err.h"
#include "net/mss/mss.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
supports_some(void *ctx, const char *proto)
{
    (void)ctx;
    return strlen(proto) % 3 == 0;
}

static mss_t *
make(uint8_t role)
{
    static const char *const protos[] = {"/yamux/1.0.0", "/noise", "/a"};

    switch (role % 3) {
    case 0:
        return mss_new_initiator(protos, 1 + role / 3 % 3);
    case 1:
        return mss_new_responder_list(protos, role / 3 % 4);
    default:
        return mss_new_responder(supports_some, NULL);
    }
}

typedef struct run_t {
    int rc;
    size_t consumed;
    buf_t out;
    bool done;
} run_t;

/* Feed `p` in chunks whose sizes come from `sched` (one byte each, cycled). */
static void
run(uint8_t role, const uint8_t *p, size_t len, const uint8_t *sched, size_t nsched, run_t *r)
{
    mss_t *m = make(role);
    size_t off = 0, k = 0;

    buf_init(&r->out, BUF_UNLIMITED);
    r->rc = 0;
    r->consumed = 0;
    while (off < len) {
        size_t n = nsched ? (size_t)sched[k++ % nsched] % 64 + 1 : len;
        size_t used = 0;
        n = n > len - off ? len - off : n;
        r->rc = mss_input(m, p + off, n, &used);
        if (used > n)
            abort();
        r->consumed += used;
        if (mss_output(m, &r->out) < 0)
            abort();
        off += n;
        if (r->rc < 0 && r->rc != LS_EPROTO && r->rc != LS_ETOOBIG && r->rc != LS_ENOTSUP)
            abort();
    }
    r->done = mss_is_done(m);
    if (r->done != (mss_protocol(m) != NULL))
        abort();
    mss_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run_t whole, split;

    if (size < 2)
        return 0;
    uint8_t role = data[0];
    size_t nsched = data[1] % 8;
    if (size < 2 + nsched)
        return 0;
    const uint8_t *sched = data + 2;
    const uint8_t *p = sched + nsched;
    size_t len = size - 2 - nsched;

    run(role, p, len, NULL, 0, &whole);
    run(role, p, len, sched, nsched, &split);
    if (whole.rc != split.rc || whole.consumed != split.consumed || whole.done != split.done ||
        whole.out.len != split.out.len ||
        (whole.out.len && memcmp(whole.out.data, split.out.data, whole.out.len) != 0))
        abort();
    buf_free(&whole.out);
    buf_free(&split.out);
    return 0;
}
