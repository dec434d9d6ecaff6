/* bytes — big-endian (network order) integers in byte arrays, as wire and file
 * formats lay them out (yamux headers, LSENC and keyfile headers). Header-only:
 * the compiler folds these into single loads and stores. */
#ifndef LS_LIB_BYTES_H
#define LS_LIB_BYTES_H

#include <stddef.h>
#include <stdint.h>

/** Store the low `n` bytes (1..8) of `v` at `p`, most significant first. */
static inline void
be_put(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/** Load `n` bytes (1..8) at `p` as a big-endian integer. */
static inline uint64_t
be_get(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

#endif
