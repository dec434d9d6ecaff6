/* node_crypt — decrypting export of held files; see node_crypt.h. */
#include "node/daemon/node_crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "content/crypt/crypt.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"

typedef struct plain_out_t {
    int fd;
    uint64_t bytes;
} plain_out_t;

static int
write_plain(void *ctx, const uint8_t *p, size_t len)
{
    plain_out_t *o = ctx;
    int rc = fs_write_full(o->fd, p, len);
    if (rc == 0)
        o->bytes += len;
    return rc;
}

static int
feed_decoder(void *ctx, const uint8_t *p, size_t len)
{
    return crypt_dec_write(ctx, p, len);
}

int
node_crypt_export_file(node_content_t *c, const cid_t *cid, const char *path,
                       const char *passphrase, crypt_key_t **keys, uint64_t *bytes,
                       const char **why)
{
    buf_t tmp = BUF_INIT(BUF_UNLIMITED);
    buf_printf(&tmp, "%s.lester-", path);
    for (int i = 0; i < 6; i++) /* mkostemp's template: six capital X */
        buf_append_byte(&tmp, 'X');
    char *tmp_path = (char *)buf_cstr(&tmp);
    plain_out_t o = {.fd = mkostemp(tmp_path, O_CLOEXEC)};
    if (o.fd < 0) {
        int rc = -errno;
        buf_free(&tmp);
        return rc;
    }
    crypt_dec_t *d = crypt_dec_new(passphrase, NULL, write_plain, &o);
    crypt_dec_use_cache(d, keys);
    unixfs_source_t src = node_content_source(c);
    int rc = unixfs_cat(cid, 0, UINT64_MAX, &src, feed_decoder, d);
    if (rc == 0)
        rc = crypt_dec_finish(d);
    if (rc < 0 && crypt_dec_error(d)[0])
        *why = crypt_dec_error(d);
    crypt_dec_free(d);
    if (close(o.fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp_path, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp_path);
    else
        *bytes += o.bytes;
    buf_free(&tmp);
    return rc;
}
