#include "lib/fs/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/crypto/random.h"
#include "lib/err/err.h"
#include "lib/mem/mem.h"

int
fs_write_full(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
fs_pwrite_full(int fd, const void *data, size_t len, uint64_t off)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t
fs_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break; /* the end of the file */
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int
fs_pwritev_full(int fd, struct iovec *iov, int n, uint64_t off)
{
    while (n > 0) {
        ssize_t w = pwritev(fd, iov, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        off += (uint64_t)w;
        for (; n > 0 && (size_t)w >= iov->iov_len; iov++, n--)
            w -= (ssize_t)iov->iov_len;
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

static int
fsync_dir_of(const char *path)
{
    char *copy = ls_strdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int
fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    buf_t tmp = BUF_INIT(BUF_UNLIMITED);
    buf_printf(&tmp, "%s.tmp-%08x", path, (unsigned)random_u64());
    const char *tmp_path = buf_cstr(&tmp);
    int rc = 0;
    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if ((rc = fs_write_full(fd, data, len)) == 0 && fchmod(fd, mode) < 0)
        rc = -errno;
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp_path, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp_path);
    else
        rc = fsync_dir_of(path);
out:
    buf_free(&tmp);
    return rc;
}

int
fs_read_all(const char *path, size_t max, buf_t *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    size_t total = 0;
    for (;;) {
        uint8_t chunk[16384];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        total += (size_t)n;
        if (total > max || buf_append(out, chunk, (size_t)n) < 0) {
            rc = LS_ETOOBIG;
            break;
        }
    }
    close(fd);
    return rc;
}

int
fs_mkdir_p(const char *path, mode_t mode)
{
    char *p = ls_strdup(path);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, mode) < 0 && errno != EEXIST) {
                rc = -errno;
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    return rc;
}

bool
fs_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

char *
fs_join(const char *dir, const char *name)
{
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    size_t n = strlen(dir);
    buf_printf(&b, "%s%s%s", dir, (n && dir[n - 1] == '/') ? "" : "/", name);
    return buf_take_str(&b);
}
