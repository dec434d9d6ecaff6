/* Fuzz the CARv1 reader: the input is fed whole and again in pieces of a size
 * taken from its first byte; both runs must agree on the outcome and the blocks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "content/car/car.h"
#include "lib/err/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct tally_t {
    size_t n, bytes;
} tally_t;

static int
count(void *ctx, const cid_t *cid, const uint8_t *block, size_t len)
{
    tally_t *t = ctx;
    if (!multihash_verify(&cid->hash, len ? block : (const uint8_t *)"", len))
        abort(); /* the reader promised verified blocks */
    t->n++;
    t->bytes += len;
    return 0;
}

static int
run(const uint8_t *p, size_t len, size_t piece, tally_t *t)
{
    car_reader_t *r = car_reader_new(64 * 1024);
    int rc = 0;

    for (size_t off = 0; off < len && rc == 0; off += piece)
        rc = car_reader_feed(r, p + off, len - off < piece ? len - off : piece, count, t);
    if (rc == 0)
        rc = car_reader_finish(r);
    car_reader_free(r);
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tally_t a = {0}, b = {0};
    size_t piece = size ? (size_t)data[0] % 17 + 1 : 1;
    int ra = run(data, size, size ? size : 1, &a), rb = run(data, size, piece, &b);

    if (ra != rb || a.n != b.n || a.bytes != b.bytes)
        abort();
    return 0;
}
