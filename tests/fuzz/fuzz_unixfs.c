/* Fuzz the UnixFS Data decoder, and the reader on a one-block DAG: whatever the
 * decoder accepts must survive encode -> decode unchanged; unixfs_stat/cat/ls on
 * the input as a dag-pb root block must fail cleanly or succeed, never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "content/unixfs/unixfs.h"
#include "lib/err/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
same(const unixfs_data_t *a, const unixfs_data_t *b)
{
    return a->type == b->type && a->has_data == b->has_data && a->data_len == b->data_len &&
           (!a->data_len || memcmp(a->data, b->data, a->data_len) == 0) &&
           a->has_filesize == b->has_filesize && a->filesize == b->filesize &&
           a->n_blocksizes == b->n_blocksizes &&
           (!a->n_blocksizes ||
            memcmp(a->blocksizes, b->blocksizes, a->n_blocksizes * sizeof(uint64_t)) == 0) &&
           a->has_hash_type == b->has_hash_type && a->hash_type == b->hash_type &&
           a->has_fanout == b->has_fanout && a->fanout == b->fanout && a->has_mode == b->has_mode &&
           a->mode == b->mode && a->has_mtime == b->has_mtime && a->mtime_secs == b->mtime_secs &&
           a->has_mtime_nsecs == b->has_mtime_nsecs && a->mtime_nsecs == b->mtime_nsecs;
}

typedef struct one_block_t {
    const uint8_t *p;
    size_t len;
} one_block_t;

/* The only block there is: the input itself, whatever CID is asked for (the
 * reader's hash check must then refuse every child). */
static int
get_one(void *ctx, const cid_t *cid, buf_t *out)
{
    one_block_t *b = ctx;
    (void)cid;
    return buf_append(out, b->p, b->len);
}

static int
sink(void *ctx, const uint8_t *p, size_t len)
{
    (void)ctx;
    (void)p;
    (void)len;
    return 0;
}

static int
dirent(void *ctx, const char *name, const cid_t *cid, uint64_t tsize)
{
    (void)ctx;
    (void)cid;
    (void)tsize;
    return strlen(name) == 0 || strchr(name, '/') ? (abort(), 0) : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unixfs_data_t d, again;
    buf_t out = BUF_INIT(BUF_UNLIMITED);
    one_block_t blk = {data, size};
    unixfs_source_t src = {get_one, &blk};
    unixfs_stat_t st;
    cid_t root;

    if (unixfs_data_decode(data, size, &d) == 0) {
        if (unixfs_data_encode(&d, &out) != 0 ||
            unixfs_data_decode(out.data, out.len, &again) != 0 || !same(&d, &again))
            abort();
        unixfs_data_clear(&again);
        unixfs_data_clear(&d);
    }
    buf_free(&out);
    cid_v1_sha256(&root, CID_CODEC_DAG_PB, data, size);
    unixfs_stat(&root, &src, &st);
    unixfs_cat(&root, size % 7, UINT64_MAX, &src, sink, NULL);
    unixfs_ls(&root, &src, dirent, NULL);
    return 0;
}
