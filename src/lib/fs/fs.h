/* fs — whole-file reads with a size limit and crash-safe writes.
 *
 * fs_write_atomic() writes a temporary file beside `path`, fsyncs it, renames it over
 * `path` and fsyncs the directory: after a kill -9 or power loss the file holds either
 * the old or the new content, never a mix. */
#ifndef LS_LIB_FS_H
#define LS_LIB_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/buf/buf.h"

/** Write all `len` bytes to `fd`, retrying short writes and EINTR. 0 or -errno. */
int fs_write_full(int fd, const void *data, size_t len);
/** pwrite all `len` bytes at `off` of `fd`, retrying short writes and EINTR. 0 or
 *  -errno (-EIO if the kernel wrote nothing). */
int fs_pwrite_full(int fd, const void *data, size_t len, uint64_t off);
/** pread up to `len` bytes at `off`, retrying short reads and EINTR until the end
 *  of the file. Returns the bytes read (fewer than `len` only at the end) or -errno. */
ssize_t fs_pread_full(int fd, void *buf, size_t len, uint64_t off);
struct iovec;
/** pwritev all of `iov[0..n)` at `off`, retrying short writes and EINTR (the array
 *  is modified: it tracks what is left). 0 or -errno. */
int fs_pwritev_full(int fd, struct iovec *iov, int n, uint64_t off);
/** Replace `path` with `len` bytes, created with `mode`. 0 or -errno. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/** Read all of `path` into `out` (appended). LS_ETOOBIG if larger than `max`;
 *  -errno on I/O errors. */
int fs_read_all(const char *path, size_t max, buf_t *out);
/** mkdir -p with `mode` for the directories it creates. 0 or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);
bool fs_exists(const char *path);
/** Join two path parts into a new string (caller frees). */
char *fs_join(const char *dir, const char *name);

#endif
