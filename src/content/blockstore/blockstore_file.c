/* blockstore_file — block file names (kubo flatfs "next-to-last/2") and the
 * crash-safe write, verified-size read and quarantine of one block file. */
#include "content/blockstore/blockstore_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/crypto/random.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "lib/multibase/multibase.h"

#define DATA_SUFFIX ".data"

/* Upper-case unpadded base32 of the binary multihash, as kubo's flatfs names. */
static int
mh_key(const multihash_t *mh, char key[BS_KEY_MAX])
{
    uint8_t raw[MULTIHASH_MAX_LEN];
    buf_t bin = BUF_INIT(sizeof raw);
    buf_t txt = BUF_INIT(BS_KEY_MAX - sizeof DATA_SUFFIX);
    int rc = multihash_encode(mh, &bin);
    if (rc == 0)
        rc = base32_encode(bin.data, bin.len, &txt);
    if (rc == 0 && txt.len < 3)
        rc = LS_EINVAL;
    if (rc == 0) {
        for (size_t i = 0; i < txt.len; i++)
            key[i] = (char)toupper(txt.data[i]);
        key[txt.len] = '\0';
    }
    buf_free(&bin);
    buf_free(&txt);
    return rc < 0 ? LS_EINVAL : 0;
}

int
bs_path(const blockstore_t *bs, const multihash_t *mh, char *path, char *shard)
{
    char key[BS_KEY_MAX];
    if (mh_key(mh, key) < 0)
        return LS_EINVAL;
    size_t n = strlen(key);
    const char *sh = key + n - 3; /* next-to-last/2 */
    int w = snprintf(path, PATH_MAX, "%s/%.2s/%s%s", bs->dir, sh, key, DATA_SUFFIX);
    if (w < 0 || w >= PATH_MAX)
        return LS_EINVAL;
    if (shard && snprintf(shard, PATH_MAX, "%s/%.2s", bs->dir, sh) < 0)
        return LS_EINVAL;
    return 0;
}

int
bs_name_to_mh(const char *name, multihash_t *out)
{
    size_t n = strlen(name), sl = strlen(DATA_SUFFIX);
    if (n <= sl || n >= BS_KEY_MAX || strcmp(name + n - sl, DATA_SUFFIX) != 0)
        return LS_EINVAL;
    uint8_t raw[MULTIHASH_MAX_LEN + 8];
    buf_t bin = BUF_INIT(sizeof raw);
    int rc = base32_decode(name, n - sl, &bin);
    if (rc == 0) {
        rc = multihash_decode(bin.data, bin.len, out);
        rc = (rc > 0 && (size_t)rc == bin.len) ? 0 : LS_EINVAL;
    }
    buf_free(&bin);
    return rc < 0 ? LS_EINVAL : 0;
}

static int
fsync_path(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* Create the temporary file, making the shard directory on first use. */
static int
open_tmp(blockstore_t *bs, const char *tmp, const char *shard, bool sync)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0 || errno != ENOENT)
        return fd >= 0 ? fd : -errno;
    if (mkdir(shard, 0755) < 0 && errno != EEXIST)
        return -errno;
    if (sync && fsync(bs->dirfd) < 0) /* the new directory's entry */
        return -errno;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    return fd >= 0 ? fd : -errno;
}

int
bs_file_write(blockstore_t *bs, const multihash_t *mh, const uint8_t *data, size_t len, bool sync)
{
    char path[PATH_MAX], shard[PATH_MAX], tmp[PATH_MAX + 32];
    if (bs_path(bs, mh, path, shard) < 0)
        return LS_EINVAL;
    int n = snprintf(tmp, sizeof tmp, "%s.tmp-%08x", path, (unsigned)random_u64());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return LS_EINVAL;
    int fd = open_tmp(bs, tmp, shard, sync);
    if (fd < 0)
        return fd;
    int rc = fs_write_full(fd, data, len);
    if (rc == 0 && sync && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0) {
        unlink(tmp);
        return rc;
    }
    return sync ? fsync_path(shard) : 0;
}

static int
read_full(int fd, uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return LS_ECORRUPT; /* shrank under us */
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
bs_file_read(blockstore_t *bs, const multihash_t *mh, buf_t *out)
{
    char path[PATH_MAX];
    if (bs_path(bs, mh, path, NULL) < 0)
        return LS_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = -errno;
    else if ((uint64_t)st.st_size > bs->cfg.max_block)
        rc = LS_ECORRUPT; /* checked before allocating */
    size_t old = out->len;
    if (rc == 0 && st.st_size > 0) {
        uint8_t *dst = buf_extend(out, (size_t)st.st_size);
        if (!dst)
            rc = LS_ETOOBIG;
        else if ((rc = read_full(fd, dst, (size_t)st.st_size)) < 0)
            buf_truncate(out, old);
    }
    close(fd);
    return rc;
}

int
bs_file_unlink(blockstore_t *bs, const multihash_t *mh)
{
    char path[PATH_MAX];
    if (bs_path(bs, mh, path, NULL) < 0)
        return LS_EINVAL;
    return (unlink(path) < 0 && errno != ENOENT) ? -errno : 0;
}

int
bs_file_quarantine(blockstore_t *bs, const multihash_t *mh)
{
    char path[PATH_MAX], qdir[PATH_MAX], qpath[PATH_MAX + 32];
    if (bs_path(bs, mh, path, NULL) < 0)
        return LS_EINVAL;
    if (snprintf(qdir, sizeof qdir, "%s/quarantine", bs->dir) < 0)
        return LS_EINVAL;
    if (mkdir(qdir, 0755) < 0 && errno != EEXIST)
        return -errno;
    const char *name = strrchr(path, '/') + 1;
    int n = snprintf(qpath, sizeof qpath, "%s/%s.%08x", qdir, name, (unsigned)random_u64());
    if (n < 0 || (size_t)n >= sizeof qpath)
        return LS_EINVAL;
    if (rename(path, qpath) < 0)
        return errno == ENOENT ? 0 : -errno;
    return 0;
}
