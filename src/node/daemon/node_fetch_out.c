/* node_fetch_out — `lester get` writes the file while it downloads
 * (node_bitswap_internal.h).
 *
 * Exporting after the download read every block back from the packs and wrote the
 * file in a second pass, an eighth of `get`'s time. Here each block of a UnixFS
 * file is written at its offset as the walk takes it: the root is at 0, and a
 * dag-pb file node places its own Data at its offset and its children at the
 * offsets its blocksizes give, so leaves arriving in any order land where they
 * belong. Every block reaching this file was verified against its CID (Bitswap's
 * check, or the blockstore's read), and each node's size must equal what its
 * parent's blocksizes promised, the same checks unixfs_cat makes.
 *
 * The bytes go to `<path>.lester-part`, renamed to `<path>` only when the DAG check
 * passed and every byte of the file was written exactly once. Anything unexpected
 * (a directory, a size mismatch, an I/O error) drops the part file and leaves the
 * export to /api/v0/get, which reports the error the user should see. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "content/dagpb/dagpb.h"
#include "content/unixfs/unixfs_data.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "node/daemon/node_bitswap_internal.h"

#define SIZE_UNKNOWN UINT64_MAX
#define NONE (-1)

/* One place a block goes: its offset in the file and the size its parent gave. */
typedef struct out_ent_t {
    uint64_t off, size;
    int32_t next;
} out_ent_t;

struct fetch_out_t {
    char *path, *part;
    blockstore_t *bs; /* borrowed: leaves it has just stored are written from its stage */
    bool direct;      /* open an O_DIRECT descriptor for those writes */
    int fd;           /* -1 until the root is known to be a file */
    int dfd;          /* the part file with O_DIRECT, or -1 */
    bool disabled; /* give up: the export pass writes the file */
    uint64_t filesize, written;
    /* open addressing by multihash: keys[i] has the entries from heads[i] on */
    cid_t *keys;
    int32_t *heads;
    bool *used;
    size_t cap, n;
    out_ent_t *ents;
    size_t nents, ents_cap;
    int32_t free_ent;
};

static size_t
slot_of(const fetch_out_t *o, const cid_t *cid)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < cid->hash.len && i < 16; i++)
        h = (h ^ cid->hash.digest[i]) * 1099511628211ull;
    return (size_t)(h & (o->cap - 1));
}

static bool
same_hash(const cid_t *a, const cid_t *b)
{
    return a->hash.code == b->hash.code && a->hash.len == b->hash.len &&
           memcmp(a->hash.digest, b->hash.digest, a->hash.len) == 0;
}

static size_t
find_slot(const fetch_out_t *o, const cid_t *cid)
{
    size_t i = slot_of(o, cid);
    while (o->used[i] && !same_hash(&o->keys[i], cid))
        i = (i + 1) & (o->cap - 1);
    return i;
}

static void
grow(fetch_out_t *o)
{
    fetch_out_t old = *o;
    o->cap = old.cap ? old.cap * 2 : 64;
    o->keys = ls_calloc(o->cap, sizeof *o->keys);
    o->heads = ls_calloc(o->cap, sizeof *o->heads);
    o->used = ls_calloc(o->cap, sizeof *o->used);
    for (size_t i = 0; i < old.cap; i++)
        if (old.used[i]) {
            size_t j = find_slot(o, &old.keys[i]);
            o->used[j] = true;
            o->keys[j] = old.keys[i];
            o->heads[j] = old.heads[i];
        }
    free(old.keys);
    free(old.heads);
    free(old.used);
}

/* Remove the key at slot i (backward-shift deletion, as node_fetch's cidset). */
static void
remove_slot(fetch_out_t *o, size_t i)
{
    size_t mask = o->cap - 1;
    o->used[i] = false;
    o->n--;
    for (size_t j = (i + 1) & mask; o->used[j]; j = (j + 1) & mask) {
        size_t home = slot_of(o, &o->keys[j]);
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        o->keys[i] = o->keys[j];
        o->heads[i] = o->heads[j];
        o->used[i] = true;
        o->used[j] = false;
        i = j;
    }
}

static void
expect_at(fetch_out_t *o, const cid_t *cid, uint64_t off, uint64_t size)
{
    int32_t e = o->free_ent;
    if (e != NONE) {
        o->free_ent = o->ents[e].next;
    } else {
        if (o->nents == o->ents_cap) {
            o->ents_cap = o->ents_cap ? o->ents_cap * 2 : 256;
            o->ents = ls_realloc(o->ents, o->ents_cap * sizeof *o->ents);
        }
        e = (int32_t)o->nents++;
    }
    if ((o->n + 1) * 2 > o->cap)
        grow(o);
    size_t i = find_slot(o, cid);
    if (!o->used[i]) {
        o->used[i] = true;
        o->keys[i] = *cid;
        o->heads[i] = NONE;
        o->n++;
    }
    o->ents[e] = (out_ent_t){off, size, o->heads[i]};
    o->heads[i] = e;
}

fetch_out_t *
fetch_out_new(const char *path, const cid_t *root, blockstore_t *bs, bool direct)
{
    fetch_out_t *o = ls_calloc(1, sizeof *o);
    o->bs = bs;
    o->direct = direct;
    o->dfd = -1;
    o->path = ls_strdup(path);
    size_t n = strlen(path) + sizeof ".lester-part";
    o->part = ls_malloc(n);
    snprintf(o->part, n, "%s.lester-part", path);
    o->fd = -1;
    o->free_ent = NONE;
    expect_at(o, root, 0, SIZE_UNKNOWN);
    return o;
}

/* Wait for the writes the store's writer makes for us, fdatasync if `sync`, close
 * both descriptors. 0 or the first error (-errno). */
static int
close_part(fetch_out_t *o, bool sync)
{
    int rc = o->bs && o->fd >= 0 ? blockstore_tee_wait(o->bs, o->fd) : 0;
    if (rc == 0 && sync && fdatasync(o->fd) < 0)
        rc = -errno;
    if (o->dfd >= 0)
        close(o->dfd);
    if (o->fd >= 0 && close(o->fd) < 0 && rc == 0)
        rc = -errno;
    o->fd = o->dfd = -1;
    return rc;
}

static void
disable(fetch_out_t *o)
{
    if (o->fd >= 0) {
        close_part(o, false);
        unlink(o->part);
    }
    o->disabled = true;
}

static int
write_at(fetch_out_t *o, const uint8_t *p, size_t len, uint64_t off)
{
    int rc = fs_pwrite_full(o->fd, p, len, off);
    if (rc == 0)
        o->written += len;
    return rc;
}

/* A leaf the store has just appended is written from the store's stage by its
 * writer thread (directly, when aligned); any other, here. */
static int
write_leaf(fetch_out_t *o, const cid_t *cid, const uint8_t *p, size_t len, uint64_t off)
{
    if (!o->bs || blockstore_tee_last(o->bs, cid, len, o->fd, o->dfd, off) < 0)
        return write_at(o, p, len, off);
    o->written += len;
    return 0;
}

/* The root's size is known: create the part file. */
static int
open_part(fetch_out_t *o, uint64_t filesize)
{
    o->filesize = filesize;
    o->fd = open(o->part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o->fd < 0)
        return -errno;
    /* the whole file's space at once: a full disk fails now, not at 90 %, and direct
     * writes into it do not extend the file one block at a time (a third slower) */
    if (filesize && fallocate(o->fd, 0, 0, (off_t)filesize) < 0 && errno == ENOSPC)
        return -ENOSPC;
    if (o->direct) /* refused (tmpfs, FUSE): the buffered descriptor does it all */
        o->dfd = open(o->part, O_WRONLY | O_DIRECT | O_CLOEXEC);
    return 0;
}

/* A dag-pb file node at `off`: its Data, then its children after it. */
static int
place_node(fetch_out_t *o, const uint8_t *data, size_t len, uint64_t off, uint64_t size)
{
    dagpb_node_t pb;
    unixfs_data_t ud;
    if (dagpb_decode(data, len, &pb) < 0)
        return LS_EPROTO;
    int rc = pb.has_data ? unixfs_data_decode(pb.data, pb.data_len, &ud) : LS_EPROTO;
    if (rc < 0) {
        dagpb_node_clear(&pb);
        return LS_EPROTO;
    }
    uint64_t total = ud.data_len;
    if ((ud.type != UNIXFS_FILE && ud.type != UNIXFS_RAW) || ud.n_blocksizes != pb.n_links)
        rc = LS_EPROTO; /* a directory, or a node that does not say its children's sizes */
    for (size_t i = 0; rc == 0 && i < ud.n_blocksizes; i++) {
        if (ud.blocksizes[i] > UINT64_MAX / 2 - total)
            rc = LS_EPROTO;
        total += ud.blocksizes[i];
    }
    if (rc == 0 &&
        ((ud.has_filesize && ud.filesize != total) || (size != SIZE_UNKNOWN && size != total)))
        rc = LS_EPROTO;
    if (rc == 0 && size == SIZE_UNKNOWN)
        rc = open_part(o, total);
    if (rc == 0)
        rc = write_at(o, ud.data, ud.data_len, off);
    uint64_t at = off + ud.data_len;
    for (size_t i = 0; rc == 0 && i < pb.n_links; i++) {
        const cid_t *c = &pb.links[i].cid;
        if (c->codec != CID_CODEC_RAW && c->codec != CID_CODEC_DAG_PB)
            rc = LS_ENOTSUP;
        else
            expect_at(o, c, at, ud.blocksizes[i]);
        at += ud.blocksizes[i];
    }
    unixfs_data_clear(&ud);
    dagpb_node_clear(&pb);
    return rc;
}

static int
place(fetch_out_t *o, const cid_t *cid, const uint8_t *data, size_t len, uint64_t off,
      uint64_t size)
{
    if (cid->codec == CID_CODEC_DAG_PB)
        return place_node(o, data, len, off, size);
    if (cid->codec != CID_CODEC_RAW)
        return LS_ENOTSUP;
    if (size != SIZE_UNKNOWN && size != len)
        return LS_EPROTO;
    int rc = size == SIZE_UNKNOWN ? open_part(o, len) : 0;
    return rc < 0 ? rc : write_leaf(o, cid, data, len, off);
}

bool
fetch_out_wants(const fetch_out_t *o, const cid_t *cid)
{
    return o && !o->disabled && o->n && o->used[find_slot(o, cid)];
}

void
fetch_out_block(fetch_out_t *o, const cid_t *cid, const uint8_t *data, size_t len)
{
    if (!fetch_out_wants(o, cid))
        return;
    size_t i = find_slot(o, cid);
    int32_t e = o->heads[i];
    remove_slot(o, i);
    int rc = 0;
    while (e != NONE) {
        out_ent_t ent = o->ents[e];
        o->ents[e].next = o->free_ent;
        o->free_ent = e;
        e = ent.next;
        if (rc == 0)
            rc = place(o, cid, data, len, ent.off, ent.size);
    }
    if (rc < 0)
        disable(o);
}

bool
fetch_out_finish(fetch_out_t *o, int err)
{
    if (!o || o->disabled || o->fd < 0)
        return false;
    bool complete = err == 0 && o->n == 0 && o->written == o->filesize;
    /* durable before it takes its name, the writer's tees included: a crash never
     * leaves a short file there */
    int rc = close_part(o, complete);
    if (complete && rc == 0 && rename(o->part, o->path) == 0)
        return true;
    unlink(o->part);
    o->disabled = true;
    return false;
}

void
fetch_out_free(fetch_out_t *o)
{
    if (!o)
        return;
    disable(o);
    free(o->keys);
    free(o->heads);
    free(o->used);
    free(o->ents);
    free(o->path);
    free(o->part);
    free(o);
}
