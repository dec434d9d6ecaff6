/* blockstore_pack — pack files: record format, appends, reads through cached
 * descriptors, and the committed length that repair scans from (blockstore.h,
 * "Layout" and "Durability"). */
#include "content/blockstore/blockstore_internal.h"

#define LOG_MODULE "blockstore"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/crypto/random.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "lib/log/log.h"

static const uint8_t REC_MAGIC[4] = {'L', 'B', 'K', '1'};

static void
put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

size_t
bs_record_encode(const multihash_t *mh, uint64_t codec, uint32_t len, uint8_t out[BS_REC_MAX_HDR])
{
    buf_t b = BUF_INIT(MULTIHASH_MAX_LEN);
    if (multihash_encode(mh, &b) < 0 || b.len == 0) {
        buf_free(&b);
        return 0;
    }
    memcpy(out, REC_MAGIC, 4);
    put_le(out + 4, len, 4);
    put_le(out + 8, codec, 8);
    out[16] = (uint8_t)b.len;
    memcpy(out + BS_REC_FIXED, b.data, b.len);
    size_t n = BS_REC_FIXED + b.len;
    buf_free(&b);
    return n;
}

int
bs_record_decode(const uint8_t *p, size_t n, size_t max_block, bs_record_t *out)
{
    if (n < BS_REC_FIXED)
        return n > 0 && memcmp(p, REC_MAGIC, LS_MIN(n, 4)) != 0 ? LS_ECORRUPT : 0;
    if (memcmp(p, REC_MAGIC, 4) != 0)
        return LS_ECORRUPT;
    uint64_t len = get_le(p + 4, 4);
    size_t mhlen = p[16];
    if (len > max_block || mhlen == 0 || mhlen > MULTIHASH_MAX_LEN)
        return LS_ECORRUPT;
    if (n < BS_REC_FIXED + mhlen)
        return 0;
    multihash_t mh;
    if (multihash_decode(p + BS_REC_FIXED, mhlen, &mh) != (int)mhlen ||
        multihash_encoded_len(&mh) != mhlen)
        return LS_ECORRUPT; /* the length byte and the (minimal) multihash must agree */
    out->mh = mh;
    out->codec = get_le(p + 8, 8);
    out->len = (uint32_t)len;
    out->hdr_len = BS_REC_FIXED + mhlen;
    return (int)out->hdr_len;
}

static const uint8_t FILLER_MAGIC[4] = {'L', 'B', 'K', 'P'};

int
bs_filler_decode(const uint8_t *p, size_t n)
{
    if (n < BS_FILLER_MIN || memcmp(p, FILLER_MAGIC, 4) != 0)
        return 0;
    uint64_t len = get_le(p + 4, 4);
    return len < BS_FILLER_MIN || len >= BS_FILLER_MIN + BS_DIO_ALIGN ? LS_ECORRUPT : (int)len;
}

/* The filler that puts a large block's bytes on a BS_DIO_ALIGN boundary when its
 * header starts at `at` (none for small blocks). */
static size_t
filler_len(uint64_t at, size_t hlen, size_t len)
{
    if (len < BS_ALIGN_MIN)
        return 0;
    size_t pad = (size_t)((BS_DIO_ALIGN - (at + hlen) % BS_DIO_ALIGN) % BS_DIO_ALIGN);
    return pad == 0 || pad >= BS_FILLER_MIN ? pad : pad + BS_DIO_ALIGN;
}

static void
put_filler(uint8_t *p, size_t pad)
{
    if (pad == 0)
        return;
    memcpy(p, FILLER_MAGIC, 4);
    put_le(p + 4, pad, 4);
    memset(p + BS_FILLER_MIN, 0, pad - BS_FILLER_MIN);
}

int
bs_pack_path(const blockstore_t *bs, int64_t id, char *path)
{
    int w = snprintf(path, PATH_MAX, "%s/packs/%08lld.pack", bs->dir, (long long)id);
    return (w < 0 || w >= PATH_MAX) ? LS_EINVAL : 0;
}

/* ---- descriptors ---- */

static void
close_slot(bs_packfd_t *slot)
{
    if (slot->id == 0)
        return;
    close(slot->fd);
    if (slot->dfd >= 0)
        close(slot->dfd);
    if (slot->map)
        munmap(slot->map, slot->map_len);
    *slot = (bs_packfd_t){.dfd = -1};
}

/* A closed pack is mapped (never touched) so that mincore() can tell which of its
 * pages the page cache holds. */
static void
map_pack(bs_packfd_t *slot)
{
    struct stat st;
    if (fstat(slot->fd, &st) < 0 || st.st_size <= 0)
        return;
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, slot->fd, 0);
    if (m != MAP_FAILED) {
        slot->map = m;
        slot->map_len = (size_t)st.st_size;
    }
}

/* True if the page cache holds every page of [off, off + len) of the pack. */
static bool
in_page_cache(const bs_packfd_t *slot, uint64_t off, size_t len)
{
    static size_t page;
    if (!page)
        page = (size_t)sysconf(_SC_PAGESIZE);
    uint64_t lo = off - off % page;
    if (!slot->map || off + len > slot->map_len || len > BLOCKSTORE_MAX_BLOCK)
        return false;
    unsigned char vec[BLOCKSTORE_MAX_BLOCK / 4096 + 2];
    size_t pages = (size_t)((off + len - lo + page - 1) / page);
    if (pages > sizeof vec || mincore(slot->map + lo, (size_t)(off + len - lo), vec) < 0)
        return false;
    for (size_t i = 0; i < pages; i++)
        if (!(vec[i] & 1))
            return false;
    return true;
}

static bs_packfd_t *
cached_fd(blockstore_t *bs, int64_t id)
{
    for (size_t i = 0; i < BS_PACK_FDS; i++)
        if (bs->fds[i].id == id)
            return &bs->fds[i];
    char path[PATH_MAX];
    if (bs_pack_path(bs, id, path) < 0) {
        errno = EINVAL;
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    bs_packfd_t *slot = &bs->fds[bs->fd_next];
    bs->fd_next = (bs->fd_next + 1) % BS_PACK_FDS;
    close_slot(slot); /* (its pack's extents stay: they are still right) */
    *slot = (bs_packfd_t){.id = id, .fd = fd, .dfd = -1};
    if (bs->reader && id != bs->cur_pack)
        map_pack(slot);
    return slot;
}

/* The O_DIRECT descriptor of a closed pack's slot, opened on first use; -1 if
 * refused (read buffered). */
static int
slot_dfd(blockstore_t *bs, bs_packfd_t *c)
{
    if (c->dfd < 0) {
        char path[PATH_MAX];
        if (bs_pack_path(bs, c->id, path) == 0)
            c->dfd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
    }
    return c->dfd;
}

void
bs_pack_forget(blockstore_t *bs, int64_t id)
{
    if (id == 0)
        return; /* the mark of a free slot */
    bs_reader_forget(bs->reader, id);
    for (size_t i = 0; i < BS_PACK_FDS; i++)
        if (bs->fds[i].id == id)
            close_slot(&bs->fds[i]);
}

/* ---- the pack appended to ---- */

/* A direct write pads the pack's last page; the padding past the logical end goes
 * before each sync, so a committed pack is exactly its records (a crash between
 * leaves it to repair, which cuts it as a torn tail). */
static int
cut_padding(blockstore_t *bs)
{
    struct stat st;
    if (bs->cur_dfd < 0 || fstat(bs->cur_fd, &st) < 0 || (uint64_t)st.st_size <= bs->cur_size)
        return 0;
    return ftruncate(bs->cur_fd, (off_t)bs->cur_size) < 0 ? -errno : 0;
}

static int
close_current(blockstore_t *bs)
{
    int rc = 0;
    if (bs->cur_fd >= 0) {
        rc = bs_pack_sync(bs);
        int rc2 = rc == 0 ? bs_pack_commit_size(bs) : 0;
        rc = rc < 0 ? rc : rc2;
        close(bs->cur_fd);
    }
    if (bs->cur_dfd >= 0)
        close(bs->cur_dfd);
    bs->last_body = NULL;
    bs->cur_fd = bs->cur_dfd = -1;
    bs->cur_pack = 0;
    bs->cur_size = bs->cur_committed = 0;
    return rc;
}

static int
use_pack(blockstore_t *bs, int64_t id, bool create)
{
    char path[PATH_MAX];
    if (bs_pack_path(bs, id, path) < 0)
        return LS_EINVAL;
    int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0644);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    /* a new file's directory entry must be durable before rows name it */
    if (create && bs->cfg.sync != BLOCKSTORE_SYNC_NONE && fsync(bs->packs_dirfd) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    bs_pack_forget(bs, id);
    bs->cur_pack = id;
    bs->cur_fd = fd;
    /* the writer's descriptor: without O_DIRECT support it stays buffered */
    bs->cur_dfd = bs->cfg.buffered ? -1 : open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
    bs->cur_size = bs->cur_committed = (uint64_t)st.st_size;
    return 0;
}

static int
new_pack(blockstore_t *bs)
{
    int rc = db_exec(bs->db, "INSERT INTO packs(size) VALUES (0)");
    if (rc < 0)
        return rc;
    return use_pack(bs, sqlite3_last_insert_rowid(db_handle(bs->db)), true);
}

int
bs_pack_open(blockstore_t *bs)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/packs", bs->dir) >= (int)sizeof path)
        return LS_EINVAL;
    if (!bs->writer)
        bs->writer = bs_writer_new();
    if (!bs->reader && !bs->cfg.buffered)
        bs->reader = bs_reader_new();
    if (mkdir(path, 0755) == 0) {
        if (bs->cfg.sync != BLOCKSTORE_SYNC_NONE && fsync(bs->dirfd) < 0)
            return -errno; /* packs/ itself must survive a power loss */
    } else if (errno != EEXIST) {
        return -errno;
    }
    bs->packs_dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (bs->packs_dirfd < 0)
        return -errno;
    /* go on appending to the newest pack if it has room */
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT id, size + dead * ?1 FROM packs "
                                       "ORDER BY id DESC LIMIT 1");
    if (!st)
        return LS_EIO;
    sqlite3_bind_int64(st, 1, (int64_t)bs->cfg.pack_max); /* a dead pack reads as full */
    int step = sqlite3_step(st);
    int64_t id = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    uint64_t size = step == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 1) : 0;
    int rc = step == SQLITE_ROW ? 0 : db_check(bs->db, step, "packs");
    sqlite3_reset(st);
    /* every pack after the newest is this run's; of the newest, what is appended */
    bs->fresh_pack = id;
    bs->fresh_off = UINT64_MAX;
    if (rc < 0 || id == 0 || size >= bs->cfg.pack_max)
        return rc;
    rc = use_pack(bs, id, false);
    if (rc == 0)
        bs->fresh_off = bs->cur_size;
    return rc == -ENOENT ? 0 : rc; /* gone: the next append starts a new one */
}

void
bs_pack_close(blockstore_t *bs)
{
    if (close_current(bs) < 0)
        log_warn("%s: could not record the current pack's length", bs->dir);
    bs_writer_free(bs->writer);
    for (size_t i = 0; i < BS_PACK_FDS; i++)
        bs_pack_forget(bs, bs->fds[i].id);
    bs_reader_free(bs->reader);
    if (bs->packs_dirfd >= 0)
        close(bs->packs_dirfd);
    bs->packs_dirfd = -1;
}

int
bs_pack_drain(blockstore_t *bs)
{
    int rc = bs->writer ? bs_writer_drain(bs->writer) : 0;
    if (rc < 0 && bs->pack_err == 0)
        bs->pack_err = rc;
    return bs->pack_err;
}

int
bs_pack_sync(blockstore_t *bs)
{
    if (bs_pack_drain(bs) < 0)
        return bs->pack_err;
    if (bs->cur_fd < 0)
        return 0;
    int rc = cut_padding(bs); /* rows are about to name the bytes before it */
    if (rc < 0 || bs->cfg.sync == BLOCKSTORE_SYNC_NONE)
        return rc;
    return fdatasync(bs->cur_fd) < 0 ? -errno : 0;
}

int
bs_pack_commit_size(blockstore_t *bs)
{
    if (bs->cur_pack == 0 || bs->cur_committed == bs->cur_size)
        return 0;
    sqlite3_stmt *st = db_stmt(bs->db, "UPDATE packs SET size = ?2 WHERE id = ?1");
    if (!st)
        return LS_EIO;
    sqlite3_bind_int64(st, 1, bs->cur_pack);
    sqlite3_bind_int64(st, 2, (int64_t)bs->cur_size);
    int rc = db_check(bs->db, sqlite3_step(st), "packs size");
    sqlite3_reset(st);
    if (rc == 0)
        bs->cur_committed = bs->cur_size;
    return rc;
}

void
bs_pack_rewind(blockstore_t *bs)
{
    if (bs->writer)
        bs_writer_drain(bs->writer); /* its error is why we rewind, if any */
    bs->pack_err = 0;
    if (bs->cur_fd < 0 || bs->cur_size == bs->cur_committed)
        return;
    if (ftruncate(bs->cur_fd, (off_t)bs->cur_committed) < 0)
        log_warn("%s: could not cut an aborted batch off its pack; the next repair will", bs->dir);
    bs->cur_size = bs->cur_committed;
}

/* Past BS_PACK_MAX: commit what the batch has in this pack, then start a new one
 * (so a batch's pending records always sit in the current pack). */
static int
roll_over(blockstore_t *bs)
{
    int rc = bs->in_batch ? bs_batch_flush(bs) : 0;
    if (rc == 0)
        rc = close_current(bs);
    return rc;
}

/* Before appending a record of `need` bytes: a new pack if the current one is full
 * (or none is open). */
static int
make_room(blockstore_t *bs, size_t need)
{
    int rc = 0;
    if (bs->cur_fd >= 0 && bs->cur_size + need > bs->cfg.pack_max && bs->cur_size > 0)
        rc = roll_over(bs);
    if (rc == 0 && bs->cur_fd < 0)
        rc = new_pack(bs);
    return rc;
}

int
bs_pack_append(blockstore_t *bs, const multihash_t *mh, uint64_t codec, const uint8_t *data,
               size_t len, bool hot, bs_loc_t *loc)
{
    uint8_t hdr[BS_REC_MAX_HDR];
    size_t hlen = bs_record_encode(mh, codec, (uint32_t)len, hdr);
    if (hlen == 0)
        return LS_EINVAL;
    int rc = make_room(bs, hlen + len + (len >= BS_ALIGN_MIN ? 2 * BS_DIO_ALIGN : 0));
    if (rc < 0)
        return rc;
    size_t pad = filler_len(bs->cur_size, hlen, len);
    uint8_t *p = bs_writer_reserve(bs->writer, bs->cur_fd, hot ? -1 : bs->cur_dfd, bs->cur_size,
                                   pad + hlen + len);
    put_filler(p, pad);
    memcpy(p + pad, hdr, hlen);
    if (len && data != p + pad + hlen) /* else it was read into the lent stage */
        memmove(p + pad + hlen, data, len);
    bs_writer_commit(bs->writer, pad + hlen + len);
    bs->last_body = p + pad + hlen;
    bs->last_mh = *mh;
    bs->last_len = len;
    *loc = (bs_loc_t){bs->cur_pack, bs->cur_size + pad + hlen};
    bs->cur_size += pad + hlen + len;
    return 0;
}

uint8_t *
bs_pack_lend(blockstore_t *bs, size_t len)
{
    size_t hlen = BS_REC_SHA256_HDR; /* the importer's leaves */
    size_t need = hlen + len + (len >= BS_ALIGN_MIN ? 2 * BS_DIO_ALIGN : 0);
    bs->last_body = NULL; /* the reserve may start a new stage */
    if (!bs->writer || len > bs->cfg.max_block || make_room(bs, need) < 0)
        return NULL; /* (a failing new pack fails the put, with its error) */
    size_t pad = filler_len(bs->cur_size, hlen, len);
    uint8_t *p = bs_writer_reserve(bs->writer, bs->cur_fd, -1, bs->cur_size, pad + hlen + len);
    return p + pad + hlen; /* (the importer's: hot, blockstore_put_hot) */
}

/* Bytes of a closed pack (its slot `c`): through the page cache if it holds them
 * all (mincore() asks without reading; a RWF_NOWAIT read would start the kernel's
 * readahead), else through the reader's direct extents (blockstore_reader.c). 1 if
 * read, 0 to read them buffered, or an error. */
static int
read_closed(blockstore_t *bs, bs_packfd_t *c, const bs_loc_t *loc, size_t size, uint8_t *dst)
{
    if (!bs->reader || in_page_cache(c, loc->off, size))
        return 0; /* (written hot, or read by someone else lately) */
    int dfd = slot_dfd(bs, c);
    if (dfd < 0)
        return 0;
    bs->last_disk_read = bs->closed_reads;
    int rc = bs_reader_read(bs->reader, loc->pack, dfd, c->map_len ? c->map_len : UINT64_MAX,
                            loc->off, size, dst);
    return rc == 0 ? 1 : rc == LS_ENOTSUP ? 0 : rc;
}

void
bs_pack_prefetch(blockstore_t *bs, const bs_loc_t *loc, uint64_t size)
{
    if (!bs->reader || loc->pack <= 0 || loc->pack == bs->cur_pack || size == 0 ||
        size > bs->cfg.max_block)
        return;
    bs_packfd_t *c = cached_fd(bs, loc->pack);
    if (!c || in_page_cache(c, loc->off, (size_t)size))
        return; /* (read buffered then, at no disk cost) */
    int dfd = slot_dfd(bs, c);
    if (dfd >= 0)
        bs_reader_prefetch(bs->reader, loc->pack, dfd, loc->off, (size_t)size);
}

int
bs_pack_read(blockstore_t *bs, const bs_loc_t *loc, uint64_t size, buf_t *out)
{
    if (size > bs->cfg.max_block)
        return LS_ECORRUPT; /* checked before allocating */
    if (loc->pack == bs->cur_pack && bs->writer) {
        const uint8_t *m = bs_writer_peek(bs->writer, bs->cur_fd, loc->off, (size_t)size);
        if (m) /* still staged */
            return buf_append(out, m, (size_t)size) < 0 ? LS_ETOOBIG : 0;
        int rc = bs_writer_idle(bs->writer) ? 0 : bs_pack_drain(bs); /* maybe queued */
        if (rc < 0)
            return rc;
    }
    bs_packfd_t *c = NULL; /* a closed pack's cached descriptors */
    int fd = bs->cur_fd;
    if (loc->pack != bs->cur_pack) {
        c = cached_fd(bs, loc->pack);
        fd = c ? c->fd : -errno;
    }
    if (fd < 0)
        return fd == -ENOENT ? LS_ECORRUPT : fd;
    size_t old = out->len;
    uint8_t *dst = size ? buf_extend(out, (size_t)size) : NULL;
    if (size && !dst)
        return LS_ETOOBIG;
    bs->closed_reads += c != NULL;
    int rc = c && size ? read_closed(bs, c, loc, (size_t)size, dst) : 0;
    if (rc == 0 && size) {
        ssize_t n = fs_pread_full(fd, dst, (size_t)size, loc->off);
        rc = n < 0 ? (int)n : (uint64_t)n < size ? LS_ECORRUPT : 1; /* short: the pack ends early */
    }
    if (rc < 0)
        buf_truncate(out, old);
    return rc < 0 ? rc : 0;
}

void
bs_quarantine_bytes(blockstore_t *bs, const multihash_t *mh, const uint8_t *p, size_t n)
{
    char qdir[PATH_MAX], path[PATH_MAX + 64];
    uint8_t raw[MULTIHASH_MAX_LEN];
    buf_t key = BUF_INIT(sizeof raw);
    if (snprintf(qdir, sizeof qdir, "%s/quarantine", bs->dir) >= (int)sizeof qdir ||
        multihash_encode(mh, &key) < 0 || (mkdir(qdir, 0755) < 0 && errno != EEXIST)) {
        buf_free(&key);
        return;
    }
    /* named by the digest's first bytes in hex: enough to tell them apart */
    char hex[17] = {0};
    for (size_t i = 0; i < 8 && i + 2 < key.len; i++)
        snprintf(hex + 2 * i, 3, "%02x", key.data[i + 2]);
    snprintf(path, sizeof path, "%s/%s.%08x", qdir, hex, (unsigned)random_u64());
    buf_free(&key);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (fs_pwrite_full(fd, p, n, 0) < 0)
        log_warn("%s: could not keep a damaged block in quarantine/", bs->dir);
    close(fd);
}
