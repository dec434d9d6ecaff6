/* blockstore_repair — reconcile block files, packs and index rows after an unclean
 * shutdown (blockstore.h, "Durability"). Three passes: rows whose file is missing
 * or has the wrong size (stat only, no reads), packs (blockstore_pack_repair.c),
 * then files without a row (each read and verified before it is indexed; at most
 * a batch's worth after a crash). */
#include "content/blockstore/blockstore_internal.h"

#define LOG_MODULE "blockstore"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/log/log.h"

typedef struct lost_row_t {
    int64_t id;
    uint64_t size;
    multihash_t mh;
    bool exists; /* a file of the wrong size: quarantine it */
} lost_row_t;

/* Pass 1: collect rows whose file is gone or has the wrong size, then drop them
 * (collected first: the rows are not changed under the running SELECT). */
static int
check_rows(blockstore_t *bs, blockstore_repair_t *rep)
{
    sqlite3_stmt *st = db_stmt(bs->db, "SELECT id, mh, size FROM blocks "
                                       "WHERE present = 1 AND pack IS NULL");
    if (!st)
        return LS_EIO;
    lost_row_t *lost = NULL;
    size_t n = 0, cap = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        lost_row_t r = {
            sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 2), {0}, false};
        char path[PATH_MAX];
        struct stat sb;
        int len = sqlite3_column_bytes(st, 1);
        if (multihash_decode(sqlite3_column_blob(st, 1), (size_t)len, &r.mh) != len ||
            bs_path(bs, &r.mh, path, NULL) < 0)
            continue;
        int missing = stat(path, &sb) < 0 ? errno : 0;
        if (missing == 0 && (uint64_t)sb.st_size == r.size)
            continue;
        r.exists = missing != ENOENT;
        if (n == cap)
            lost = ls_realloc(lost, (cap = cap ? cap * 2 : 64) * sizeof *lost);
        lost[n++] = r;
    }
    int rc = db_check(bs->db, step, "repair scan");
    sqlite3_reset(st);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (lost[i].exists)
            bs_file_quarantine(bs, &lost[i].mh);
        rc = bs_row_lost(bs, lost[i].id, lost[i].size);
        rep->rows_dropped++;
    }
    free(lost);
    return rc;
}

/* A file with no present row: index it if it verifies, else quarantine it. */
static int
adopt_file(blockstore_t *bs, const char *name, blockstore_repair_t *rep)
{
    multihash_t mh;
    if (bs_name_to_mh(name, &mh) < 0)
        return 0; /* not a block file: leave it alone */
    int64_t id = 0;
    bool present = false;
    int rc = bs_row_find(bs, &mh, &id, NULL, &present);
    if (rc != 0 && (rc < 0 || present))
        return rc < 0 ? rc : 0;
    buf_t data = BUF_INIT(bs->cfg.max_block);
    rc = bs_file_read(bs, &mh, &data);
    if (rc == 0 && !multihash_verify(&mh, data.data, data.len))
        rc = LS_ECORRUPT;
    if (rc == LS_ECORRUPT || rc == LS_ETOOBIG) {
        rep->files_removed++;
        rc = bs_file_quarantine(bs, &mh);
    } else if (rc == 0) {
        /* the codec is not in the file: recovered blocks are listed as raw */
        bs_pending_t p = {mh, CID_CODEC_RAW, data.len, id};
        if ((rc = bs_row_store(bs, &p, clock_wall_ms())) == 0) {
            bs->blocks++;
            bs->bytes += data.len;
            rep->files_indexed++;
        }
    }
    buf_free(&data);
    return rc;
}

static int
scan_shard(blockstore_t *bs, const char *shard, blockstore_repair_t *rep)
{
    int fd = openat(bs->dirfd, shard, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return errno == ENOTDIR ? 0 : -errno;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (strstr(e->d_name, ".tmp-")) {
            unlinkat(dirfd(d), e->d_name, 0);
            rep->files_removed++;
            continue;
        }
        rc = adopt_file(bs, e->d_name, rep);
    }
    closedir(d);
    return rc;
}

/* Pass 2: every two-character directory is a shard. */
static int
check_files(blockstore_t *bs, blockstore_repair_t *rep)
{
    int fd = dup(bs->dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -errno;
    }
    rewinddir(d);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strlen(e->d_name) == 2 && e->d_name[0] != '.')
            rc = scan_shard(bs, e->d_name, rep);
    }
    closedir(d);
    return rc;
}

int
blockstore_repair(blockstore_t *bs, blockstore_repair_t *report)
{
    blockstore_repair_t rep = {0};
    if (bs->in_batch)
        return LS_ELOCKED;
    int rc = db_begin(bs->db);
    if (rc < 0)
        return rc;
    if ((rc = check_rows(bs, &rep)) == 0 && (rc = bs_pack_repair(bs, &rep)) == 0 &&
        (rc = check_files(bs, &rep)) == 0)
        rc = db_commit(bs->db);
    if (rc < 0)
        db_rollback(bs->db);
    int rc2 = bs_load_counters(bs); /* the passes adjusted them; a rollback did not */
    if (rc < 0 || rc2 < 0)
        return rc < 0 ? rc : rc2;
    if (report)
        *report = rep;
    return 0;
}
