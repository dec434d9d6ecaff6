/* mem — allocation that never returns NULL, and the FREE_AND_NULL idiom.
 *
 * Lester treats out-of-memory as fatal: ls_malloc() and friends abort with a message
 * rather than return NULL, so callers never check. Sizes that come from outside must
 * be checked against a limit *before* they reach these functions. */
#ifndef LS_LIB_MEM_H
#define LS_LIB_MEM_H

#include <stddef.h>

void *ls_malloc(size_t n);                 /* never NULL; n == 0 allowed */
/* `n` bytes at a multiple of `align` (a power of two >= sizeof(void *)); free() it */
void *ls_aligned_alloc(size_t align, size_t n);
void *ls_calloc(size_t count, size_t size); /* zeroed; aborts on overflow */
void *ls_realloc(void *p, size_t n);
char *ls_strdup(const char *s);
char *ls_strndup(const char *s, size_t n);
void *ls_memdup(const void *p, size_t n);

/** Call `freefn(p)` and set `p` to NULL. `freefn` must accept NULL. */
#define FREE_AND_NULL(type, freefn, p) \
    do {                               \
        freefn((type *)(p));           \
        (p) = NULL;                    \
    } while (0)

#define ls_free(p) \
    do {           \
        free(p);   \
        (p) = NULL;\
    } while (0)

#define LS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define LS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LS_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
