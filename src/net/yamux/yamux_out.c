/* yamux_out — the session's output queue: a ring of frame bytes.
 *
 * A bulk writer keeps the queue near full (it is refilled from on_writable each time
 * some is sent), so a flat buffer drained from the front had to be compacted: one
 * extra copy of every byte sent. The ring drains without moving anything, and lets
 * the owner encrypt straight from it (yamux_output_peek()). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem/mem.h"
#include "net/yamux/yamux_internal.h"

/* Past this, an emptied queue gives its memory back (idle sessions stay small). */
#define OUT_KEEP_CAP (64u * 1024)
#define OUT_MIN_CAP 256u

static size_t
ring_tail(const out_ring_t *r)
{
    size_t t = r->head + r->len;
    return t >= r->cap ? t - r->cap : t;
}

/* Room for `n` more bytes: a bigger block holds the pending bytes from its start. */
static void
ring_make_room(out_ring_t *r, size_t n)
{
    if (r->cap - r->len >= n)
        return;
    size_t cap = r->cap ? r->cap : OUT_MIN_CAP;
    while (cap - r->len < n) {
        assert(cap <= SIZE_MAX / 2);
        cap *= 2;
    }
    uint8_t *d = ls_malloc(cap);
    size_t first = LS_MIN(r->len, r->cap - r->head);
    if (first)
        memcpy(d, r->data + r->head, first);
    if (r->len > first)
        memcpy(d + first, r->data, r->len - first);
    free(r->data);
    r->data = d;
    r->cap = cap;
    r->head = 0;
}

void
yamux_out_reserve(out_ring_t *r, size_t n)
{
    ring_make_room(r, n);
}

void
yamux_out_append(out_ring_t *r, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    ring_make_room(r, n);
    size_t t = ring_tail(r);
    size_t first = LS_MIN(n, r->cap - t);
    memcpy(r->data + t, p, first);
    if (n > first)
        memcpy(r->data, p + first, n - first);
    r->len += n;
}

size_t
yamux_out_peek(const out_ring_t *r, const uint8_t **p)
{
    *p = r->len ? r->data + r->head : NULL;
    return LS_MIN(r->len, r->cap - r->head);
}

void
yamux_out_advance(out_ring_t *r, size_t n)
{
    assert(n <= r->len);
    r->len -= n;
    r->head += n;
    if (r->head >= r->cap)
        r->head -= r->cap;
    if (r->len == 0) {
        r->head = 0;
        if (r->cap > OUT_KEEP_CAP)
            yamux_out_free(r);
    }
}

void
yamux_out_free(out_ring_t *r)
{
    free(r->data);
    memset(r, 0, sizeof *r);
}
