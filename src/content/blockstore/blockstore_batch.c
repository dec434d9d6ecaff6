/* blockstore_batch — bulk puts: files written without fsync, index rows kept in
 * memory and written in groups, each group made durable by one syncfs() first. */
#include "content/blockstore/blockstore_internal.h"

#define LOG_MODULE "blockstore"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock/clock.h"
#include "lib/err/err.h"
#include "lib/log/log.h"

/* Digests are uniform: their first bytes are a good hash. */
static size_t
mh_hash(const multihash_t *mh)
{
    uint64_t h = mh->code * 0x9e3779b97f4a7c15ull;
    uint64_t w = 0;
    memcpy(&w, mh->digest, LS_MIN(mh->len, sizeof w));
    return (size_t)((h ^ w ^ mh->len) * 0xff51afd7ed558ccdull >> 17);
}

const bs_pending_t *
bs_pending_find(const blockstore_t *bs, const multihash_t *mh)
{
    if (bs->nslots == 0)
        return NULL;
    for (size_t i = mh_hash(mh) & (bs->nslots - 1);; i = (i + 1) & (bs->nslots - 1)) {
        uint32_t s = bs->slots[i];
        if (s == 0)
            return NULL;
        if (multihash_equal(&bs->pending[s - 1].mh, mh))
            return &bs->pending[s - 1];
    }
}

static void
slots_insert(blockstore_t *bs, size_t idx)
{
    size_t i = mh_hash(&bs->pending[idx].mh) & (bs->nslots - 1);
    while (bs->slots[i] != 0)
        i = (i + 1) & (bs->nslots - 1);
    bs->slots[i] = (uint32_t)idx + 1;
}

/* Grow the array and rebuild the slot table at most half full. */
static void
pending_grow(blockstore_t *bs)
{
    bs->pending_cap = bs->pending_cap ? bs->pending_cap * 2 : 256;
    bs->pending = ls_realloc(bs->pending, bs->pending_cap * sizeof *bs->pending);
    free(bs->slots);
    bs->nslots = bs->pending_cap * 2;
    bs->slots = ls_calloc(bs->nslots, sizeof *bs->slots);
    for (size_t i = 0; i < bs->npending; i++)
        slots_insert(bs, i);
}

static void
pending_reset(blockstore_t *bs)
{
    bs->npending = 0;
    if (bs->slots)
        memset(bs->slots, 0, bs->nslots * sizeof *bs->slots);
}

void
bs_pending_free(blockstore_t *bs)
{
    ls_free(bs->pending);
    ls_free(bs->slots);
    bs->npending = bs->pending_cap = bs->nslots = 0;
}

int
bs_pending_add(blockstore_t *bs, const bs_pending_t *p)
{
    if (bs->npending == bs->pending_cap)
        pending_grow(bs);
    bs->pending[bs->npending] = *p;
    slots_insert(bs, bs->npending++);
    return bs->npending >= bs->cfg.batch_flush ? bs_batch_flush(bs) : 0;
}

/* Bytes before rows: after this, every pending record (or file and its directory
 * entry) is on disk, so a committed row never names bytes a power loss can take
 * away. A batch's records all sit in the current pack (bs_pack_append() flushes
 * before it rolls over), so one fdatasync covers them. */
static int
sync_files(blockstore_t *bs)
{
    if (bs->cfg.layout == BLOCKSTORE_LAYOUT_PACK)
        return bs_pack_sync(bs); /* waits for the writer thread in every mode */
    if (bs->cfg.sync != BLOCKSTORE_SYNC_BATCH)
        return 0; /* EACH synced every put already; NONE never does */
    return syncfs(bs->dirfd) < 0 ? -errno : 0;
}

int
bs_batch_flush(blockstore_t *bs)
{
    if (bs->npending == 0)
        return 0;
    int rc = sync_files(bs);
    if (rc == 0)
        rc = db_begin(bs->db);
    if (rc < 0)
        return rc;
    uint64_t now = clock_wall_ms();
    for (size_t i = 0; i < bs->npending && rc == 0; i++)
        rc = bs_row_store(bs, &bs->pending[i], now);
    uint64_t committed = bs->cur_committed;
    rc = rc == 0 ? bs_pack_commit_size(bs) : rc;
    rc = rc == 0 ? db_commit(bs->db) : rc;
    if (rc < 0) {
        db_rollback(bs->db);
        bs->cur_committed = committed;
        return rc; /* still pending: commit again or abort */
    }
    pending_reset(bs);
    return 0;
}

int
blockstore_batch_begin(blockstore_t *bs)
{
    if (bs->in_batch)
        return LS_EINVAL;
    bs->in_batch = true;
    return 0;
}

int
blockstore_batch_commit(blockstore_t *bs)
{
    if (!bs->in_batch)
        return LS_EINVAL;
    int rc = bs_batch_flush(bs);
    if (rc == 0)
        bs->in_batch = false;
    return rc;
}

void
blockstore_batch_abort(blockstore_t *bs)
{
    if (!bs->in_batch)
        return;
    for (size_t i = 0; i < bs->npending; i++) {
        const bs_pending_t *p = &bs->pending[i];
        if (p->loc.pack == 0 && bs_file_unlink(bs, &p->mh) < 0)
            log_warn("%s: could not remove an aborted block; the next repair will", bs->dir);
        bs->blocks -= bs->blocks > 0;
        bs->bytes -= LS_MIN(bs->bytes, p->size);
    }
    bs_pack_rewind(bs); /* the pending records are the pack's uncommitted tail */
    pending_reset(bs);
    bs->in_batch = false;
}

bool
blockstore_in_batch(const blockstore_t *bs)
{
    return bs->in_batch;
}
