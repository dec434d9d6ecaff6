#include "lib/mem/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
oom(size_t n)
{
    fprintf(stderr, "lester: out of memory allocating %zu bytes\n", n);
    abort();
}

void *
ls_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *
ls_aligned_alloc(size_t align, size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, align, n ? n : align) != 0)
        oom(n);
    return p;
}

void *
ls_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        oom(count * size);
    return p;
}

void *
ls_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *
ls_strdup(const char *s)
{
    return ls_memdup(s, strlen(s) + 1);
}

char *
ls_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = ls_malloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void *
ls_memdup(const void *p, size_t n)
{
    void *d = ls_malloc(n);
    if (n)
        memcpy(d, p, n);
    return d;
}
