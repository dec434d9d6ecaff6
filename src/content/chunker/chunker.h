/* chunker — fixed-size chunking of a byte stream (kubo's `size-N` chunker).
 *
 * The caller feeds bytes in pieces of any size and gets whole chunks of exactly
 * `chunk_size` bytes through a callback, then one shorter final chunk at the end.
 * Chunks are handed out without copying whenever they lie wholly inside one fed
 * piece; only a chunk that straddles two pieces is assembled in an internal
 * buffer. As ipfs-unixfs-importer's fixedSize chunker does, an empty stream
 * yields exactly one empty chunk, so that an empty file still has a block. */
#ifndef LS_CONTENT_CHUNKER_H
#define LS_CONTENT_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/mem/mem.h"

/** Kubo's and Lester's default chunk size. */
#define CHUNKER_DEFAULT_SIZE 262144
/** Largest chunk size accepted: blocks above 2 MiB are not exchanged by Bitswap
 *  peers, and 1 MiB is the largest size kubo and helia let a user pick. */
#define CHUNKER_MAX_SIZE (1024 * 1024)

typedef struct chunker_t chunker_t;

/** Receives one chunk, borrowed for the call (it may point into the caller's fed
 *  bytes or into the chunker). Return 0 to go on, or a negative code that stops
 *  the chunker and is returned by the chunker_feed()/chunker_finish() call. */
typedef int (*chunker_emit_fn)(void *ctx, const uint8_t *chunk, size_t len);

/** A chunker of `chunk_size` bytes (0 means CHUNKER_DEFAULT_SIZE). Returns NULL
 *  only when chunk_size > CHUNKER_MAX_SIZE; never on out-of-memory. */
chunker_t *chunker_new(size_t chunk_size);
void chunker_free_(chunker_t *c); /* NULL is a no-op */
#define chunker_free(c) FREE_AND_NULL(chunker_t, chunker_free_, (c))

/** The chunk size in use. */
size_t chunker_chunk_size(const chunker_t *c);

/** Feed `p[0..len)` (borrowed), calling `emit` for every chunk completed. 0, or
 *  the first negative value `emit` returned; bytes after that chunk are dropped
 *  and the chunker must not be fed again. LS_EINVAL after chunker_finish(). */
int chunker_feed(chunker_t *c, const uint8_t *p, size_t len, chunker_emit_fn emit, void *ctx);

/** End of stream: emit the final partial chunk, or the one empty chunk if nothing
 *  was ever emitted. 0 or emit's error; LS_EINVAL if called twice. */
int chunker_finish(chunker_t *c, chunker_emit_fn emit, void *ctx);

#endif
