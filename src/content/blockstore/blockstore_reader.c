/* blockstore_reader — pack reads that bypass the page cache (blockstore_internal.h).
 *
 * A seeder reads each block once and sends it; the page cache only costs it. On the
 * test machine a buffered read of bytes not cached cost ~1.5 s of CPU per GiB (the
 * kernel filling fresh pages, then copying them), an O_DIRECT read ~0.1 s
 * (docs/PERFORMANCE.md, "Content"). But a direct read waits for the disk every
 * time, and 256 KiB at a time it is latency-bound, so reads go through a few
 * extents: aligned EXT_BYTES pieces of a pack, read whole with O_DIRECT, kept in
 * memory (the least recently used goes first) and read ahead by a thread while
 * the loop sends what it has. A seeder names the blocks it will serve next
 * (bs_reader_prefetch, from the peers' queues): their extents are loaded ahead and
 * nothing else, so a seeder asked for every other run of a file (two seeders share
 * it) reads half of it, not all. Readers that give no hints get the extents that
 * follow their reads.
 *
 * Extents of the pack being appended to may be short (its end then); a read past
 * what an extent holds loads it again. bs_reader_forget() drops a pack's extents
 * before it is truncated or unlinked. */
#include "content/blockstore/blockstore_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err/err.h"

#define EXT_BYTES ((size_t)1 << 20)
#define NEXT 16 /* extents in memory */
#define AHEAD 8  /* extents read ahead of a reader */
#define HINTS_FRESH 64 /* reads after the last hint that still count as hinted */

typedef enum { EXT_EMPTY, EXT_QUEUED, EXT_LOADING, EXT_READY } ext_state_t;

typedef struct ext_t {
    int64_t id;
    uint64_t k; /* holds bytes [k * EXT_BYTES, + n) of pack `id` */
    ext_state_t state;
    int fd; /* QUEUED / LOADING by the thread: a dup of the pack's, the thread closes it */
    uint8_t *buf;
    size_t n;
    uint64_t tick; /* last use, for eviction; QUEUED: the order the thread takes them in */
} ext_t;

struct bs_reader_t {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work, done; /* work: an extent was queued or stop; done: one loaded */
    ext_t ext[NEXT];
    bool stop;
    uint64_t tick;
    uint64_t loads; /* extents read from the disk, by the loop or the thread */
    uint64_t hint_tick; /* r->tick at the last bs_reader_prefetch(), 0: never */
    atomic_bool refused; /* a direct read failed with EINVAL: callers read buffered */
};

/* Read extent `e` from `fd` into its buffer. Returns the bytes read (short at the
 * pack's end) or -errno. */
static ssize_t
load(bs_reader_t *r, const ext_t *e, int fd)
{
    size_t got = 0;
    while (got < EXT_BYTES) {
        ssize_t n = pread(fd, e->buf + got, EXT_BYTES - got, (off_t)(e->k * EXT_BYTES + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (errno == EINVAL)
                atomic_store(&r->refused, true);
            return -errno;
        }
        got += (size_t)n;
        if (n == 0 || (size_t)n % BS_DIO_ALIGN)
            break; /* the end of the file: a direct read stops there */
    }
    return (ssize_t)got;
}

static void *
reader_main(void *arg)
{
    bs_reader_t *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        ext_t *e = NULL; /* the oldest queued: a reader waits for them in that order */
        for (size_t i = 0; i < NEXT; i++)
            if (r->ext[i].state == EXT_QUEUED && (!e || r->ext[i].tick < e->tick))
                e = &r->ext[i];
        if (!e && r->stop)
            break;
        if (!e) {
            pthread_cond_wait(&r->work, &r->mu);
            continue;
        }
        e->state = EXT_LOADING;
        int fd = e->fd;
        pthread_mutex_unlock(&r->mu);
        ssize_t n = load(r, e, fd);
        close(fd);
        pthread_mutex_lock(&r->mu);
        e->fd = -1;
        r->loads++;
        e->n = n > 0 ? (size_t)n : 0;
        e->state = n > 0 ? EXT_READY : EXT_EMPTY;
        pthread_cond_broadcast(&r->done);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

bs_reader_t *
bs_reader_new(void)
{
    bs_reader_t *r = ls_calloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->work, NULL);
    pthread_cond_init(&r->done, NULL);
    for (size_t i = 0; i < NEXT; i++)
        r->ext[i].fd = -1;
    if (pthread_create(&r->thread, NULL, reader_main, r) != 0)
        abort(); /* like an allocation failure */
    return r;
}

void
bs_reader_free_(bs_reader_t *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < NEXT; i++)
        if (r->ext[i].state == EXT_QUEUED) { /* not started: drop it */
            close(r->ext[i].fd);
            r->ext[i].state = EXT_EMPTY;
        }
    r->stop = true;
    pthread_cond_signal(&r->work);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    for (size_t i = 0; i < NEXT; i++)
        free(r->ext[i].buf);
    pthread_cond_destroy(&r->work);
    pthread_cond_destroy(&r->done);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* ---- the loop's side (r->mu held) ---- */

static ext_t *
find(bs_reader_t *r, int64_t id, uint64_t k)
{
    for (size_t i = 0; i < NEXT; i++)
        if (r->ext[i].state != EXT_EMPTY && r->ext[i].id == id && r->ext[i].k == k)
            return &r->ext[i];
    return NULL;
}

/* The least recently used extent the thread is not working on; NULL if all are,
 * or if the oldest was used after `newer_than` (by the read that reads ahead). */
static ext_t *
victim(bs_reader_t *r, uint64_t newer_than)
{
    ext_t *v = NULL;
    for (size_t i = 0; i < NEXT; i++) {
        ext_t *e = &r->ext[i];
        if ((e->state == EXT_EMPTY || e->state == EXT_READY) && (!v || e->tick < v->tick))
            v = e;
    }
    if (v && v->state == EXT_READY && v->tick > newer_than)
        return NULL;
    if (v && !v->buf)
        v->buf = ls_aligned_alloc(BS_DIO_ALIGN, EXT_BYTES);
    return v;
}

static void
wait_idle(bs_reader_t *r, const ext_t *e)
{
    while (e->state == EXT_QUEUED || e->state == EXT_LOADING)
        pthread_cond_wait(&r->done, &r->mu);
}

/* Extent k of pack `id`, holding at least `need` bytes, loaded here if it must be.
 * NULL with *rc set on failure (LS_ECORRUPT: the pack is shorter than `need`). */
static ext_t *
acquire(bs_reader_t *r, int64_t id, int dfd, uint64_t k, size_t need, int *rc)
{
    ext_t *e = find(r, id, k);
    if (e)
        wait_idle(r, e);
    if (e && e->state == EXT_READY && e->n >= need)
        return e;
    if (!e || e->state != EXT_READY)
        e = victim(r, UINT64_MAX);
    if (!e) {
        *rc = LS_EAGAIN; /* every extent is being loaded: read buffered */
        return NULL;
    }
    e->state = EXT_LOADING; /* by the loop, the lock dropped meanwhile */
    e->id = id;
    e->k = k;
    pthread_mutex_unlock(&r->mu);
    ssize_t n = load(r, e, dfd);
    pthread_mutex_lock(&r->mu);
    r->loads++;
    e->n = n > 0 ? (size_t)n : 0;
    e->state = n > 0 ? EXT_READY : EXT_EMPTY;
    pthread_cond_broadcast(&r->done);
    if (n >= 0 && (size_t)n >= need)
        return e;
    *rc = n < 0 ? (int)n : LS_ECORRUPT;
    return NULL;
}

/* Queue extent `k` of pack `id` for the thread, unless it is in memory or queued.
 * False if no extent may be taken for it (all newer than `tick`) or dup() failed. */
static bool
queue_extent(bs_reader_t *r, int64_t id, int dfd, uint64_t k, uint64_t tick)
{
    if (find(r, id, k))
        return true;
    ext_t *e = victim(r, tick);
    int fd = e ? dup(dfd) : -1;
    if (fd < 0)
        return false;
    *e = (ext_t){.id = id, .k = k, .state = EXT_QUEUED, .fd = fd, .buf = e->buf,
                 .tick = ++r->tick};
    pthread_cond_signal(&r->work);
    return true;
}

static void
read_ahead(bs_reader_t *r, int64_t id, int dfd, uint64_t pack_len, uint64_t k, uint64_t tick)
{
    for (uint64_t j = k + 1; j <= k + AHEAD && j * EXT_BYTES < pack_len; j++)
        if (!queue_extent(r, id, dfd, j, tick - 1))
            return;
}

void
bs_reader_prefetch(bs_reader_t *r, int64_t id, int dfd, uint64_t off, size_t len)
{
    if (!r || len == 0 || atomic_load(&r->refused))
        return;
    pthread_mutex_lock(&r->mu);
    r->hint_tick = ++r->tick;
    for (uint64_t k = off / EXT_BYTES; k * EXT_BYTES < off + len; k++)
        if (!queue_extent(r, id, dfd, k, r->hint_tick - 1))
            break;
    pthread_mutex_unlock(&r->mu);
}

int
bs_reader_read(bs_reader_t *r, int64_t id, int dfd, uint64_t pack_len, uint64_t off, size_t len,
               uint8_t *dst)
{
    if (atomic_load(&r->refused))
        return LS_ENOTSUP;
    int rc = 0;
    uint64_t k = off / EXT_BYTES, end = off + len;
    pthread_mutex_lock(&r->mu);
    uint64_t tick = ++r->tick;
    for (; rc == 0 && k * EXT_BYTES < end; k++) {
        uint64_t base = k * EXT_BYTES;
        size_t need = (size_t)(LS_MIN(end, base + EXT_BYTES) - base);
        ext_t *e = acquire(r, id, dfd, k, need, &rc);
        if (!e)
            break;
        e->tick = tick;
        uint64_t from = LS_MAX(off, base);
        memcpy(dst + (from - off), e->buf + (from - base), (size_t)(base + need - from));
    }
    /* blind read-ahead only for readers that give no hints (cat, export): a seeder's
       hints name exactly what it will read, which need not be what follows */
    if (rc == 0 && (!r->hint_tick || r->tick - r->hint_tick > HINTS_FRESH))
        read_ahead(r, id, dfd, pack_len, k - 1, tick);
    pthread_mutex_unlock(&r->mu);
    if (rc == -EINVAL || rc == LS_EAGAIN)
        return LS_ENOTSUP;
    return rc;
}

void
bs_reader_forget(bs_reader_t *r, int64_t id)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < NEXT; i++) {
        ext_t *e = &r->ext[i];
        if (e->state == EXT_EMPTY || e->id != id)
            continue;
        if (e->state == EXT_QUEUED) { /* the thread has not taken it: drop it */
            close(e->fd);
            e->fd = -1;
        }
        if (e->state == EXT_LOADING)
            wait_idle(r, e);
        e->state = EXT_EMPTY;
    }
    pthread_mutex_unlock(&r->mu);
}

uint64_t
bs_reader_loads(bs_reader_t *r)
{
    pthread_mutex_lock(&r->mu);
    uint64_t n = r->loads;
    pthread_mutex_unlock(&r->mu);
    return n;
}
