#include "lib/buf/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/err/err.h"
#include "lib/mem/mem.h"

void
buf_init(buf_t *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void
buf_free(buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void
buf_wipe(buf_t *b)
{
    if (b->data)
        sodium_memzero(b->data, b->cap);
    buf_free(b);
}

void
buf_clear(buf_t *b)
{
    b->len = 0;
}

int
buf_reserve(buf_t *b, size_t extra)
{
    /* +1 keeps room for the terminator buf_cstr() writes */
    if (extra > b->max || b->len > b->max - extra)
        return LS_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    b->data = ls_realloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int
buf_append(buf_t *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc < 0)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int
buf_append_byte(buf_t *b, uint8_t c)
{
    return buf_append(b, &c, 1);
}

int
buf_append_str(buf_t *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int
buf_vprintf(buf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return LS_EINVAL;
    int rc = buf_reserve(b, (size_t)n);
    if (rc < 0)
        return rc;
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int
buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

uint8_t *
buf_extend(buf_t *b, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return NULL;
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

void
buf_consume(buf_t *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void
buf_truncate(buf_t *b, size_t n)
{
    if (n < b->len)
        b->len = n;
}

const char *
buf_cstr(buf_t *b)
{
    if (!b->data) {
        b->data = ls_malloc(1);
        b->cap = 1;
    } else if (b->len == b->cap) {
        b->data = ls_realloc(b->data, b->cap + 1);
        b->cap++;
    }
    b->data[b->len] = '\0';
    return (const char *)b->data;
}

char *
buf_take_str(buf_t *b)
{
    buf_cstr(b);
    char *s = (char *)b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}
