/* chunker — fixed-size chunking; see chunker.h. */
#include "content/chunker/chunker.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"

struct chunker_t {
    size_t size;     /* chunk size */
    uint8_t *pend;   /* a chunk being assembled across fed pieces, `size` bytes */
    size_t pend_len; /* bytes in pend, always < size */
    bool emitted;    /* at least one chunk went out */
    bool finished;
};

chunker_t *
chunker_new(size_t chunk_size)
{
    chunker_t *c;

    if (chunk_size == 0)
        chunk_size = CHUNKER_DEFAULT_SIZE;
    if (chunk_size > CHUNKER_MAX_SIZE)
        return NULL;
    c = ls_calloc(1, sizeof *c);
    c->size = chunk_size;
    return c;
}

void
chunker_free_(chunker_t *c)
{
    if (!c)
        return;
    free(c->pend);
    free(c);
}

size_t
chunker_chunk_size(const chunker_t *c)
{
    return c->size;
}

static int
emit_chunk(chunker_t *c, const uint8_t *p, size_t len, chunker_emit_fn emit, void *ctx)
{
    c->emitted = true;
    return emit(ctx, p, len);
}

int
chunker_feed(chunker_t *c, const uint8_t *p, size_t len, chunker_emit_fn emit, void *ctx)
{
    int rc;

    if (c->finished)
        return LS_EINVAL;
    /* first complete the chunk left over from earlier pieces */
    if (c->pend_len > 0) {
        size_t take = LS_MIN(len, c->size - c->pend_len);
        memcpy(c->pend + c->pend_len, p, take);
        c->pend_len += take;
        p += take;
        len -= take;
        if (c->pend_len < c->size)
            return 0;
        c->pend_len = 0;
        if ((rc = emit_chunk(c, c->pend, c->size, emit, ctx)) < 0)
            return rc;
    }
    /* whole chunks straight from the caller's bytes: no copy */
    while (len >= c->size) {
        if ((rc = emit_chunk(c, p, c->size, emit, ctx)) < 0)
            return rc;
        p += c->size;
        len -= c->size;
    }
    if (len > 0) {
        if (!c->pend)
            c->pend = ls_malloc(c->size);
        memcpy(c->pend, p, len);
        c->pend_len = len;
    }
    return 0;
}

int
chunker_finish(chunker_t *c, chunker_emit_fn emit, void *ctx)
{
    static const uint8_t empty[1];
    size_t n = c->pend_len;

    if (c->finished)
        return LS_EINVAL;
    c->finished = true;
    c->pend_len = 0;
    if (n > 0)
        return emit_chunk(c, c->pend, n, emit, ctx);
    if (!c->emitted)
        return emit_chunk(c, empty, 0, emit, ctx);
    return 0;
}
