/* blockstore_pack_repair — reconcile pack files and index after an unclean
 * shutdown (blockstore.h, "Durability"). Everything before a pack's committed
 * length (packs.size) is indexed or garbage; past it lie the records of a batch
 * that never committed, which are verified and indexed one by one up to the first
 * torn or damaged record, where the pack is cut. Runs inside blockstore_repair()'s
 * transaction. */
#include "content/blockstore/blockstore_internal.h"

#define LOG_MODULE "blockstore"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "lib/log/log.h"

typedef struct pack_file_t {
    int64_t id;
    uint64_t size; /* on disk */
} pack_file_t;

typedef struct pack_list_t {
    pack_file_t *items;
    size_t n, cap;
} pack_list_t;

/* "<digits>.pack" → id; 0 for anything else. */
static int64_t
pack_name_id(const char *name)
{
    int64_t id = 0;
    size_t i = 0;
    for (; name[i] >= '0' && name[i] <= '9' && i < 18; i++)
        id = id * 10 + (name[i] - '0');
    return (i > 0 && strcmp(name + i, ".pack") == 0) ? id : 0;
}

static int
cmp_pack(const void *a, const void *b)
{
    int64_t x = ((const pack_file_t *)a)->id, y = ((const pack_file_t *)b)->id;
    return (x > y) - (x < y);
}

static int
list_packs(blockstore_t *bs, pack_list_t *l)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/packs", bs->dir) >= (int)sizeof path)
        return LS_EINVAL;
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int64_t id = pack_name_id(e->d_name);
        struct stat st;
        if (id <= 0 || fstatat(dirfd(d), e->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (l->n == l->cap)
            l->items = ls_realloc(l->items, (l->cap = l->cap ? l->cap * 2 : 16) * sizeof *l->items);
        l->items[l->n++] = (pack_file_t){id, (uint64_t)st.st_size};
    }
    closedir(d);
    if (l->n > 1)
        qsort(l->items, l->n, sizeof *l->items, cmp_pack);
    return 0;
}

static pack_file_t *
find_pack(const pack_list_t *l, int64_t id)
{
    pack_file_t key = {id, 0};
    return l->n ? bsearch(&key, l->items, l->n, sizeof key, cmp_pack) : NULL;
}

/* The committed length of pack `id`: >= 0, -1 if it has no row, -2 if dead. */
static int64_t
pack_row(blockstore_t *bs, int64_t id, int *err)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT size, dead FROM packs WHERE id = ?");
    if (!st) {
        *err = LS_EIO;
        return -1;
    }
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    int64_t v = -1;
    if (step == SQLITE_ROW)
        v = sqlite3_column_int(st, 1) ? -2 : sqlite3_column_int64(st, 0);
    else
        *err = db_check(bs->db, step, "packs lookup");
    sqlite3_reset(st);
    return v;
}

static int
exec_pack(blockstore_t *bs, const char *sql, int64_t id, int64_t v)
{
    sqlite3_stmt *st = db_stmt(bs->db, sql);
    if (!st)
        return LS_EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, v);
    int rc = db_check(bs->db, sqlite3_step(st), "packs update");
    sqlite3_reset(st);
    return rc;
}

typedef struct lost_t {
    int64_t id;
    uint64_t size;
} lost_t;

/* Rows whose bytes lie past the end of their pack (or whose pack is gone). */
static int
check_rows(blockstore_t *bs, const pack_list_t *packs, blockstore_repair_t *rep)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT id, pack, off, size FROM blocks "
                                       "WHERE present = 1 AND pack IS NOT NULL");
    if (!st)
        return LS_EIO;
    lost_t *lost = NULL;
    size_t n = 0, cap = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const pack_file_t *p = find_pack(packs, sqlite3_column_int64(st, 1));
        uint64_t off = (uint64_t)sqlite3_column_int64(st, 2);
        uint64_t size = (uint64_t)sqlite3_column_int64(st, 3);
        if (p && off <= p->size && size <= p->size - off)
            continue;
        if (n == cap)
            lost = ls_realloc(lost, (cap = cap ? cap * 2 : 64) * sizeof *lost);
        lost[n++] = (lost_t){sqlite3_column_int64(st, 0), size};
    }
    int rc = db_check(bs->db, step, "repair pack rows");
    sqlite3_reset(st);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = bs_row_lost(bs, lost[i].id, lost[i].size);
        rep->rows_dropped++;
    }
    free(lost);
    return rc;
}

int
bs_pack_check_rows(blockstore_t *bs, blockstore_repair_t *rep)
{
    pack_list_t l = {0};
    int rc = list_packs(bs, &l);
    if (rc == 0)
        rc = check_rows(bs, &l, rep);
    free(l.items);
    return rc;
}

/* Index one verified record found past the committed length. */
static int
adopt_record(blockstore_t *bs, const bs_record_t *r, int64_t pack, uint64_t off,
             blockstore_repair_t *rep)
{
    int64_t id = 0;
    bool present = false;
    int rc = bs_row_find(bs, &r->mh, &id, NULL, &present);
    if (rc < 0 || (rc == 1 && present))
        return rc < 0 ? rc : 0; /* held already (a duplicate, or indexed) */
    bs_pending_t p = {r->mh, r->codec, r->len, rc == 1 ? id : 0, {pack, off}};
    if ((rc = bs_row_store(bs, &p, clock_wall_ms())) == 0) {
        bs->blocks++;
        bs->bytes += r->len;
        rep->files_indexed++;
    }
    return rc;
}

/* Walk the records of `fd` from `pos`; returns the end of the last good one (>= 0)
 * or an error. */
static int64_t
scan_tail(blockstore_t *bs, int fd, int64_t pack, uint64_t pos, uint64_t fsize,
          blockstore_repair_t *rep)
{
    uint8_t hdr[BS_REC_MAX_HDR];
    buf_t data = BUF_INIT(bs->cfg.max_block);
    int rc = 0;
    while (pos < fsize) {
        bs_record_t r;
        ssize_t n = fs_pread_full(fd, hdr, sizeof hdr, pos);
        if (n < 0) {
            rc = (int)n;
            break;
        }
        int fill = bs_filler_decode(hdr, (size_t)n);
        if (fill != 0) {
            if (fill < 0 || (uint64_t)fill > fsize - pos)
                break; /* torn or damaged */
            pos += (uint64_t)fill;
            continue;
        }
        if (bs_record_decode(hdr, (size_t)n, bs->cfg.max_block, &r) <= 0 ||
            !bs_hash_supported(&r.mh) || r.len > fsize - pos - r.hdr_len)
            break; /* torn or damaged: the tail ends here */
        buf_clear(&data);
        uint8_t *dst = r.len ? buf_extend(&data, r.len) : NULL;
        if (r.len && (!dst || fs_pread_full(fd, dst, r.len, pos + r.hdr_len) != (ssize_t)r.len))
            break;
        if (!multihash_verify(&r.mh, data.data, r.len))
            break;
        if ((rc = adopt_record(bs, &r, pack, pos + r.hdr_len, rep)) < 0)
            break;
        pos += r.hdr_len + r.len;
    }
    buf_free(&data);
    return rc < 0 ? rc : (int64_t)pos;
}

/* One pack file: index its uncommitted records, cut what follows them. */
static int
repair_pack(blockstore_t *bs, const pack_file_t *p, int64_t committed, blockstore_repair_t *rep)
{
    char path[PATH_MAX];
    if (bs_pack_path(bs, p->id, path) < 0)
        return LS_EINVAL;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    uint64_t from = LS_MIN((uint64_t)committed, p->size);
    int64_t end = scan_tail(bs, fd, p->id, from, p->size, rep);
    int rc = end < 0 ? (int)end : 0;
    if (rc == 0 && (uint64_t)end < p->size) {
        log_warn("%s: pack %lld: cut %llu torn bytes at %lld", bs->dir, (long long)p->id,
                 (unsigned long long)(p->size - (uint64_t)end), (long long)end);
        rep->bytes_cut += p->size - (uint64_t)end;
        if (ftruncate(fd, (off_t)end) < 0)
            rc = -errno;
    }
    /* the adopted records must be durable before their rows commit */
    if (rc == 0 && (uint64_t)end > from && bs->cfg.sync != BLOCKSTORE_SYNC_NONE &&
        fdatasync(fd) < 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && (uint64_t)end != (uint64_t)committed)
        rc = exec_pack(bs, "UPDATE packs SET size = ?2 WHERE id = ?1", p->id, end);
    return rc;
}

/* A pack file without a row (its creation's insert was lost) or a dead one. */
static int
settle_pack(blockstore_t *bs, const pack_file_t *p, blockstore_repair_t *rep)
{
    int err = 0;
    int64_t committed = pack_row(bs, p->id, &err);
    if (err < 0)
        return err;
    if (committed == -2) { /* a compaction moved its rows out: finish it */
        char path[PATH_MAX];
        bs_pack_forget(bs, p->id);
        if (bs_pack_path(bs, p->id, path) == 0 && unlink(path) < 0 && errno != ENOENT)
            return -errno;
        rep->files_removed++;
        return exec_pack(bs, "DELETE FROM packs WHERE id = ?1", p->id, 0);
    }
    if (committed == -1) {
        int rc = exec_pack(bs, "INSERT INTO packs(id, size) VALUES (?1, ?2)", p->id, 0);
        if (rc < 0)
            return rc;
        committed = 0;
    }
    return repair_pack(bs, p, committed, rep);
}

/* Rows of packs whose file is gone (their blocks were dropped by check_rows). */
static int
forget_missing(blockstore_t *bs, const pack_list_t *l)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT id FROM packs");
    if (!st)
        return LS_EIO;
    int64_t *gone = NULL;
    size_t n = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (find_pack(l, id))
            continue;
        gone = ls_realloc(gone, (n + 1) * sizeof *gone);
        gone[n++] = id;
    }
    int rc = db_check(bs->db, step, "packs scan");
    sqlite3_reset(st);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = exec_pack(bs, "DELETE FROM packs WHERE id = ?1", gone[i], 0);
    free(gone);
    return rc;
}

int
bs_pack_repair(blockstore_t *bs, blockstore_repair_t *rep)
{
    pack_list_t l = {0};
    bs_pack_drain(bs); /* a failed append stays an error; the scan below cuts it */
    int rc = list_packs(bs, &l);
    for (size_t i = 0; i < l.n && rc == 0; i++)
        rc = settle_pack(bs, &l.items[i], rep);
    free(l.items);
    l = (pack_list_t){0};
    /* after the cuts: rows past the end of their pack, then rows of packs whose
     * file is gone */
    if (rc == 0 && (rc = list_packs(bs, &l)) == 0)
        rc = check_rows(bs, &l, rep);
    if (rc == 0)
        rc = forget_missing(bs, &l);
    free(l.items);
    return rc;
}
