#include "lib/log/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/err/err.h"
#include "lib/mem/mem.h"

static atomic_int level = LOG_INFO;
static atomic_ulong counts[LOG_TRACE + 1];
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *out;        /* NULL means stderr */
static char *out_path;   /* owned */

static const char *const names[] = { "error", "warn", "info", "debug", "trace" };
static const char *const tags[] = { "ERROR", "WARN ", "INFO ", "DEBUG", "TRACE" };

void log_set_level(log_level_t l) { atomic_store(&level, (int)l); }
log_level_t log_get_level(void) { return (log_level_t)atomic_load(&level); }
bool log_is_enabled(log_level_t l) { return (int)l <= atomic_load(&level); }

int
log_level_parse(const char *name, log_level_t *out_level)
{
    for (size_t i = 0; i < LS_ARRAY_LEN(names); i++) {
        if (strcasecmp(name, names[i]) == 0) {
            *out_level = (log_level_t)i;
            return 0;
        }
    }
    return LS_EINVAL;
}

const char *
log_level_name(log_level_t l)
{
    return (unsigned)l < LS_ARRAY_LEN(names) ? names[l] : "?";
}

static FILE *
open_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "a");
    if (!f) {
        close(fd);
        return NULL;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    return f;
}

int
log_set_file(const char *path)
{
    FILE *f = NULL;
    if (path && !(f = open_log(path)))
        return -errno;
    pthread_mutex_lock(&out_lock);
    if (out)
        fclose(out);
    out = f;
    char *old = out_path;
    out_path = path ? ls_strdup(path) : NULL;
    pthread_mutex_unlock(&out_lock);
    free(old);
    return 0;
}

int
log_reopen(void)
{
    pthread_mutex_lock(&out_lock);
    char *path = out_path ? ls_strdup(out_path) : NULL;
    pthread_mutex_unlock(&out_lock);
    int rc = path ? log_set_file(path) : 0;
    free(path);
    return rc;
}

unsigned long
log_count(log_level_t l)
{
    return (unsigned)l <= LOG_TRACE ? atomic_load(&counts[l]) : 0;
}

void
log_msg(log_level_t l, const char *module, const char *fmt, ...)
{
    if (!log_is_enabled(l))
        return;
    atomic_fetch_add(&counts[l], 1);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&out_lock);
    FILE *f = out ? out : stderr;
    fprintf(f, "%s.%03ldZ %s %s: %s\n", stamp, (long)(tv.tv_usec / 1000), tags[l], module, msg);
    fflush(f);
    pthread_mutex_unlock(&out_lock);
}
