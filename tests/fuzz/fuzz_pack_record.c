/* Fuzz the blockstore's pack record header decoder (bytes read back from a pack file
 * by the crash repair, blockstore_pack_repair.c): the input is walked record by
 * record as the repair walks a pack's tail, filler records included. Every header it
 * accepts must lie inside the input, name a data length within the limit, and
 * re-encode to the same bytes (one encoding per header); every filler it accepts
 * must have a length the writer could have chosen. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "content/blockstore/blockstore_internal.h"
#include "lib/err/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_BLOCK ((size_t)1 << 16)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0;
    while (pos < size) {
        bs_record_t r;
        size_t avail = size - pos < BS_REC_MAX_HDR ? size - pos : BS_REC_MAX_HDR;
        int fill = bs_filler_decode(data + pos, avail);
        if (fill < 0)
            break;
        if (fill > 0) {
            if (fill < BS_FILLER_MIN || fill >= BS_FILLER_MIN + BS_DIO_ALIGN)
                abort();
            if ((size_t)fill > size - pos)
                break; /* torn */
            pos += (size_t)fill;
            continue;
        }
        int n = bs_record_decode(data + pos, avail, FUZZ_MAX_BLOCK, &r);
        if (n <= 0)
            break; /* torn or damaged: the repair cuts the pack here */
        if ((size_t)n != r.hdr_len || (size_t)n > avail || r.len > FUZZ_MAX_BLOCK)
            abort();
        uint8_t again[BS_REC_MAX_HDR];
        size_t m = bs_record_encode(&r.mh, r.codec, r.len, again);
        if (m != (size_t)n || memcmp(again, data + pos, m) != 0)
            abort();
        if (r.len > size - pos - (size_t)n)
            break; /* data runs past the end: torn */
        pos += (size_t)n + r.len;
    }
    return 0;
}
