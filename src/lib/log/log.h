/* log — leveled logging to stderr or a file.
 *
 * A .c file may define LOG_MODULE ("yamux", "api", ...) before including this header;
 * each line reads `2026-11-25T21:45:47.123Z INFO  yamux: message`. The level and the
 * output can change at run time (SIGHUP reopens the file); both are safe to call from
 * worker threads. */
#ifndef LS_LIB_LOG_H
#define LS_LIB_LOG_H

#include <stdbool.h>

typedef enum {
    LOG_ERROR = 0,
    LOG_WARN,
    LOG_INFO,
    LOG_DEBUG,
    LOG_TRACE
} log_level_t;

#ifndef LOG_MODULE
#define LOG_MODULE "lester"
#endif

void log_set_level(log_level_t level);
log_level_t log_get_level(void);
bool log_is_enabled(log_level_t level);
/** Parse "error|warn|info|debug|trace". 0 or LS_EINVAL. */
int log_level_parse(const char *name, log_level_t *out);
const char *log_level_name(log_level_t level);
/** Send output to `path` (appended, created 0600), or to stderr when NULL.
 *  Calling it again with the same path reopens the file (log rotation). 0 or -errno. */
int log_set_file(const char *path);
/** Reopen the current log file, if any (on SIGHUP). */
int log_reopen(void);
/** Counts of lines written per level since start (for /metrics). */
unsigned long log_count(log_level_t level);

void log_msg(log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LOG_ERROR, LOG_MODULE, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, LOG_MODULE, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, LOG_MODULE, __VA_ARGS__)
#define log_debug(...) \
    do { if (log_is_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, LOG_MODULE, __VA_ARGS__); } while (0)
#define log_trace(...) \
    do { if (log_is_enabled(LOG_TRACE)) log_msg(LOG_TRACE, LOG_MODULE, __VA_ARGS__); } while (0)

#endif
