/* buf — a growable byte buffer with a hard maximum size.
 *
 * Every buffer that grows with outside input has a maximum (STYLE.md, as curl does):
 * appends past it fail with LS_ETOOBIG and leave the buffer unchanged. The struct is
 * public so buffers can live on the stack or inside other structs; treat the fields
 * as read-only outside this module. `data` is owned by the buffer. */
#ifndef LS_LIB_BUF_H
#define LS_LIB_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct buf_t {
    uint8_t *data; /* NULL until the first append */
    size_t len;    /* bytes in use */
    size_t cap;    /* bytes allocated */
    size_t max;    /* len never exceeds this */
} buf_t;

#define BUF_UNLIMITED ((size_t)1 << 40)
#define BUF_INIT(maxlen) { NULL, 0, 0, (maxlen) }

void buf_init(buf_t *b, size_t max);
/** Release memory; the buffer is empty and reusable afterwards. */
void buf_free(buf_t *b);
/** Like buf_free, but zero the bytes first (for secrets). */
void buf_wipe(buf_t *b);
/** Keep the allocation, set len to 0. */
void buf_clear(buf_t *b);

/** Make room for `extra` more bytes. 0 or LS_ETOOBIG. */
int buf_reserve(buf_t *b, size_t extra);
int buf_append(buf_t *b, const void *p, size_t n);
int buf_append_byte(buf_t *b, uint8_t c);
int buf_append_str(buf_t *b, const char *s);
int buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf_t *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/** Append `n` bytes and return a pointer to them for the caller to fill, or NULL
 *  past the maximum. The pointer is valid until the next call that grows `b`. */
uint8_t *buf_extend(buf_t *b, size_t n);
/** Drop the first `n` bytes (n <= len). */
void buf_consume(buf_t *b, size_t n);
/** Shorten to `n` bytes (n <= len). */
void buf_truncate(buf_t *b, size_t n);
/** Return the bytes as a NUL-terminated string owned by the caller (buffer emptied). */
char *buf_take_str(buf_t *b);
/** NUL-terminate in place without changing len; returns data as char * (never NULL). */
const char *buf_cstr(buf_t *b);

#endif
