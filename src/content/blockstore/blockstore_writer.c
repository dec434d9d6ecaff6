/* blockstore_writer — the pack appends of a store run on writer threads, so the
 * event loop hashes the next block while the last ones go to disk.
 *
 * Stages. The loop copies each record into a stage: a large buffer that mirrors a
 * range of the pack, aligned to BS_DIO_ALIGN in memory and in the file. A full stage
 * (or one a drain needs) is queued; the pack thread writes the stages in order
 * (consecutive ones share a page), each with one pwrite on an O_DIRECT descriptor, so the bytes go from the stage to the disk without the
 * kernel copying them into the page cache first. On this project's test machine a
 * buffered write of 1 GiB cost ~1 s of CPU in the kernel (the copy and the page
 * cache's bookkeeping, then the writeback); a direct one ~0.2 s (docs/PERFORMANCE.md,
 * "Content"). A direct write covers whole pages: a stage starts at the page holding
 * its first new byte (the bytes of that page already in the file are carried over
 * from the previous stage, or read back) and its last page is padded; the padding
 * lies past the logical end of the pack, is rewritten by the next stage and cut off
 * by bs_pack_sync(). Hot appends (an import, blockstore_put_hot), or all of them
 * where O_DIRECT is refused (tmpfs on old kernels, some FUSE file systems) or the
 * store is `buffered`, fill stages written through the page cache, the new bytes
 * only, in BUFFERED_PIECE pieces.
 *
 * Tees. A block that `lester get` writes into the user's file is written there from
 * the stage too (bs_writer_tee) by the tee thread, beside the pack thread, in runs
 * of consecutive blocks, directly when offsets, lengths and memory are aligned: the
 * loop neither copies it again nor waits for the write. A stage is free again when
 * both threads are past it.
 *
 * Whoever needs the bytes on disk (a sync, a truncate, a close) drains the writer
 * first, and index rows are only written after a drain, so a row never names bytes
 * still in a stage. Memory: WRITER_STAGES stages of STAGE_BYTES (larger for a record
 * that does not fit); a full queue makes the loop wait (backpressure). */
#include "content/blockstore/blockstore_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/err/err.h"
#include "lib/fs/fs.h"

#define WRITER_STAGES 3
#define TEE_ERRS 16
#define STAGE_BYTES ((size_t)4 << 20)
#define PAGE_DOWN(x) ((x) & ~(uint64_t)(BS_DIO_ALIGN - 1))
#define PAGE_UP(x) PAGE_DOWN((x) + BS_DIO_ALIGN - 1)

/* One more write of bytes already in a stage: to `fd` (or `dfd`, when aligned). */
typedef struct tee_t {
    int fd, dfd;
    uint64_t off;
    size_t pos, len; /* in the stage */
} tee_t;

typedef struct stage_t {
    uint8_t *buf; /* BS_DIO_ALIGN-aligned, `cap` bytes */
    size_t cap;
    int fd, dfd;  /* the pack; dfd: its O_DIRECT descriptor or -1 */
    bool direct;  /* what the appends asked for (dfd may be -1 all the same) */
    uint64_t off; /* the file offset of buf[0] (page-aligned when dfd >= 0) */
    size_t head;  /* buf[0..head): bytes already in the file, re-sent by a direct write */
    size_t used;  /* buf[0..used) mirrors the file */
    tee_t *tees;
    size_t ntees, tees_cap;
} stage_t;

struct bs_writer_t {
    pthread_t pack_thread, tee_thread;
    pthread_mutex_t mu;
    pthread_cond_t work, done; /* work: a stage was queued or stop; done: a step done */
    stage_t stages[WRITER_STAGES];
    /* Stage number q lives in stages[q % WRITER_STAGES]. `queued` stages were handed
     * over; the pack thread has written the first `packed` (in order: consecutive
     * stages share a page), the tee thread the tees of the first `teed` (files other
     * than the pack: in parallel with it). A stage is free when both are past it. */
    uint64_t queued, packed, teed;
    bool stop;
    int err; /* the first pack write error since the last drain */
    /* the first tee write error of each file (its descriptor) since its tee_result:
     * downloads running side by side must not see each other's errors */
    struct {
        int fd, err;
    } tee_errs[TEE_ERRS];
    size_t ntee_errs;
    int tee_err_lost; /* an error for a file the table had no room for: every file's */
    atomic_bool no_direct; /* a direct write was refused: buffered from now on */
    /* the loop's */
    bool filling; /* stage number `queued` is being filled */
    int tail_fd;  /* the last page of the last queued stage, for the next one */
    uint64_t tail_end;
    uint8_t tail[BS_DIO_ALIGN];
    /* the thread's: early writeback of buffered stages */
    int hint_fd;
    uint64_t hint_from;
};

/* ---- the thread ---- */

/* Start the kernel writing a pack out every WRITEBACK_EVERY bytes, so the sync at
 * the end of a batch finds most of it on disk already (buffered stages only; a
 * hint: its failure changes nothing). */
#define WRITEBACK_EVERY ((uint64_t)8 << 20)

static void
hint_writeback(bs_writer_t *w, int fd, uint64_t from, uint64_t end)
{
    if (w->hint_fd != fd || w->hint_from > from) {
        w->hint_fd = fd;
        w->hint_from = from;
    }
    if (end - w->hint_from < WRITEBACK_EVERY)
        return;
    sync_file_range(fd, (off_t)w->hint_from, (off_t)(end - w->hint_from), SYNC_FILE_RANGE_WRITE);
    w->hint_from = end;
}

/* Buffered writes go in pieces of this size: on the test machine's kernel a 2 MiB
 * or larger pwrite into the page cache cost 5x the CPU of 512 KiB ones (1 GiB with
 * dd: 0.48 s of system time at 512 KiB, 2.8 s at 2 MiB, 3.4 s at 4 MiB). */
#define BUFFERED_PIECE ((size_t)512 << 10)

static int
write_buffered(int fd, const uint8_t *p, size_t len, uint64_t off)
{
    int rc = 0;
    for (size_t at = 0, n; rc == 0 && at < len; at += n) {
        n = LS_MIN(BUFFERED_PIECE, len - at);
        rc = fs_pwrite_full(fd, p + at, n, off + at);
    }
    return rc;
}

/* Direct if `dfd` and the memory, offset and length allow; buffered otherwise, or
 * when the file system refuses (EINVAL), which then sticks. */
static int
write_either(bs_writer_t *w, int fd, int dfd, const uint8_t *p, size_t len, uint64_t off)
{
    bool aligned = ((uintptr_t)p | off | len) % BS_DIO_ALIGN == 0;
    if (dfd >= 0 && aligned && !atomic_load(&w->no_direct)) {
        int rc = fs_pwrite_full(dfd, p, len, off);
        if (rc != -EINVAL)
            return rc;
        atomic_store(&w->no_direct, true);
    }
    return write_buffered(fd, p, len, off);
}

static int
write_pack(bs_writer_t *w, stage_t *s)
{
    if (s->dfd >= 0)
        return write_either(w, s->fd, s->dfd, s->buf, PAGE_UP(s->used), s->off);
    int rc = write_buffered(s->fd, s->buf + s->head, s->used - s->head, s->off + s->head);
    if (rc == 0)
        hint_writeback(w, s->fd, s->off + s->head, s->off + s->used);
    return rc;
}

/* Tees in runs: consecutive places of one file, aligned, go in one direct pwritev
 * (a download's blocks mostly arrive in file order; one write per block was four
 * times slower than the pack's 4 MiB writes). */
#define TEE_RUN 64

static bool
tee_aligned(const stage_t *s, const tee_t *t)
{
    return t->dfd >= 0 && ((uintptr_t)(s->buf + t->pos) | t->off | t->len) % BS_DIO_ALIGN == 0;
}

/* Keep the first tee error of file `fd` (the lock held). */
static void
note_tee_err(bs_writer_t *w, int fd, int err)
{
    for (size_t i = 0; i < w->ntee_errs; i++)
        if (w->tee_errs[i].fd == fd)
            return;
    if (w->ntee_errs < TEE_ERRS) {
        w->tee_errs[w->ntee_errs].fd = fd;
        w->tee_errs[w->ntee_errs++].err = err;
    } else if (!w->tee_err_lost) {
        w->tee_err_lost = err;
    }
}

static int
write_tees(bs_writer_t *w, stage_t *s)
{
    for (size_t i = 0, n; i < s->ntees; i += n) {
        const tee_t *t = &s->tees[i];
        struct iovec iov[TEE_RUN] = {{s->buf + t->pos, t->len}};
        uint64_t end = t->off + t->len;
        n = 1;
        while (tee_aligned(s, t) && !atomic_load(&w->no_direct) && n < TEE_RUN &&
               i + n < s->ntees && s->tees[i + n].fd == t->fd && s->tees[i + n].off == end &&
               tee_aligned(s, &s->tees[i + n])) {
            iov[n] = (struct iovec){s->buf + s->tees[i + n].pos, s->tees[i + n].len};
            end += s->tees[i + n++].len;
        }
        int trc = n > 1 ? fs_pwritev_full(t->dfd, iov, (int)n, t->off)
                        : write_either(w, t->fd, t->dfd, iov[0].iov_base, t->len, t->off);
        if (trc == -EINVAL && n > 1) { /* refused: one at a time, buffered */
            atomic_store(&w->no_direct, true);
            n = 0;
            continue;
        }
        if (trc < 0) {
            pthread_mutex_lock(&w->mu);
            note_tee_err(w, t->fd, trc);
            pthread_mutex_unlock(&w->mu);
        }
    }
    return 0; /* errors go to their files (bs_writer_tee_result) */
}

static uint64_t
done_count(const bs_writer_t *w)
{
    return LS_MIN(w->packed, w->teed);
}

/* One thread's loop: the pack thread writes stages, the tee thread their tees,
 * each in stage order, counting them off in *next; errors into *err. */
static void
steps(bs_writer_t *w, uint64_t *next, int *err, int (*fn)(bs_writer_t *, stage_t *))
{
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (*next == w->queued && !w->stop)
            pthread_cond_wait(&w->work, &w->mu);
        if (*next == w->queued)
            break; /* stop, and nothing left */
        stage_t *s = &w->stages[*next % WRITER_STAGES];
        pthread_mutex_unlock(&w->mu);
        int rc = fn(w, s);
        pthread_mutex_lock(&w->mu);
        if (rc < 0 && *err == 0)
            *err = rc;
        (*next)++;
        pthread_cond_broadcast(&w->done);
    }
    pthread_mutex_unlock(&w->mu);
}

static void *
pack_main(void *arg)
{
    bs_writer_t *w = arg;
    steps(w, &w->packed, &w->err, write_pack);
    return NULL;
}

static void *
tee_main(void *arg)
{
    bs_writer_t *w = arg;
    int unused = 0;
    steps(w, &w->teed, &unused, write_tees);
    return NULL;
}

static void flush_all(bs_writer_t *w);

bs_writer_t *
bs_writer_new(void)
{
    bs_writer_t *w = ls_calloc(1, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->done, NULL);
    w->hint_fd = w->tail_fd = -1;
    if (pthread_create(&w->pack_thread, NULL, pack_main, w) != 0 ||
        pthread_create(&w->tee_thread, NULL, tee_main, w) != 0)
        abort(); /* like an allocation failure: no store without its writer */
    return w;
}

void
bs_writer_free_(bs_writer_t *w)
{
    if (!w)
        return;
    flush_all(w);
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->pack_thread, NULL);
    pthread_join(w->tee_thread, NULL);
    for (size_t i = 0; i < WRITER_STAGES; i++) {
        free(w->stages[i].buf);
        free(w->stages[i].tees);
    }
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->done);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* ---- the loop's side ---- */

static stage_t *
filling(bs_writer_t *w)
{
    return w->filling ? &w->stages[w->queued % WRITER_STAGES] : NULL;
}

/* Hand the stage being filled to the thread (or drop it if it holds nothing new). */
static void
queue_filling(bs_writer_t *w)
{
    stage_t *s = filling(w);
    if (!s)
        return;
    w->filling = false;
    if (s->used == s->head && s->ntees == 0)
        return;
    uint64_t end = s->off + s->used;
    size_t part = (size_t)(end % BS_DIO_ALIGN);
    w->tail_fd = s->dfd >= 0 ? s->fd : -1;
    w->tail_end = end;
    if (s->dfd >= 0 && part)
        memcpy(w->tail, s->buf + s->used - part, part);
    pthread_mutex_lock(&w->mu);
    w->queued++;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->mu);
}

static void
wait_queued(bs_writer_t *w, size_t most)
{
    pthread_mutex_lock(&w->mu);
    while (w->queued - done_count(w) > most)
        pthread_cond_wait(&w->done, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

/* The bytes of the page before `off` that are already in the file: from the last
 * stage, or read back once everything queued is written. 0, or -1 to write this
 * stage buffered. */
static int
carry_page(bs_writer_t *w, stage_t *s, int fd, uint64_t off)
{
    size_t part = (size_t)(off % BS_DIO_ALIGN);
    if (part == 0)
        return 0;
    if (w->tail_fd == fd && w->tail_end == off) {
        memcpy(s->buf, w->tail, part);
        return 0;
    }
    wait_queued(w, 0);
    return fs_pread_full(fd, s->buf, part, off - part) == (ssize_t)part ? 0 : -1;
}

static stage_t *
start_stage(bs_writer_t *w, int fd, int dfd, uint64_t off, size_t n)
{
    wait_queued(w, WRITER_STAGES - 1); /* a free stage */
    stage_t *s = &w->stages[w->queued % WRITER_STAGES];
    size_t need = PAGE_UP(n + BS_DIO_ALIGN);
    if (s->cap < need) {
        free(s->buf);
        s->cap = LS_MAX(STAGE_BYTES, need);
        s->buf = ls_aligned_alloc(BS_DIO_ALIGN, s->cap);
    }
    s->fd = fd;
    s->direct = dfd >= 0;
    s->dfd = atomic_load(&w->no_direct) ? -1 : dfd;
    s->off = off;
    s->head = 0;
    s->ntees = 0;
    if (s->dfd >= 0 && carry_page(w, s, fd, off) == 0) {
        s->off = PAGE_DOWN(off);
        s->head = (size_t)(off - s->off);
    } else {
        s->dfd = -1;
    }
    s->used = s->head;
    w->filling = true;
    return s;
}

uint8_t *
bs_writer_reserve(bs_writer_t *w, int fd, int dfd, uint64_t off, size_t n)
{
    stage_t *s = filling(w);
    if (s && s->fd == fd && s->direct == (dfd >= 0) && s->off + s->used == off &&
        s->used + n <= s->cap)
        return s->buf + s->used;
    queue_filling(w);
    s = start_stage(w, fd, dfd, off, n);
    return s->buf + s->used;
}

void
bs_writer_commit(bs_writer_t *w, size_t n)
{
    stage_t *s = filling(w);
    if (s)
        s->used += n;
}

int
bs_writer_tee(bs_writer_t *w, const uint8_t *p, size_t len, int fd, int dfd, uint64_t off)
{
    stage_t *s = filling(w);
    if (!s || len == 0 || p < s->buf + s->head || p + len > s->buf + s->used)
        return LS_ENOENT;
    if (s->ntees == s->tees_cap) {
        s->tees_cap = s->tees_cap ? 2 * s->tees_cap : 64;
        s->tees = ls_realloc(s->tees, s->tees_cap * sizeof *s->tees);
    }
    s->tees[s->ntees++] = (tee_t){fd, dfd, off, (size_t)(p - s->buf), len};
    return 0;
}

const uint8_t *
bs_writer_peek(bs_writer_t *w, int fd, uint64_t off, size_t len)
{
    stage_t *s = filling(w);
    if (s && s->fd == fd && off >= s->off + s->head && off + len <= s->off + s->used)
        return s->buf + (off - s->off);
    return NULL;
}

/* Queue the stage being filled and wait until every stage is written. */
static void
flush_all(bs_writer_t *w)
{
    queue_filling(w);
    wait_queued(w, 0);
}

int
bs_writer_drain(bs_writer_t *w)
{
    flush_all(w);
    pthread_mutex_lock(&w->mu);
    int rc = w->err;
    w->err = 0;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int
bs_writer_tee_result(bs_writer_t *w, int fd)
{
    flush_all(w);
    pthread_mutex_lock(&w->mu);
    int rc = w->tee_err_lost;
    for (size_t i = 0; i < w->ntee_errs; i++)
        if (w->tee_errs[i].fd == fd) {
            rc = w->tee_errs[i].err;
            w->tee_errs[i] = w->tee_errs[--w->ntee_errs];
            break;
        }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

bool
bs_writer_idle(bs_writer_t *w)
{
    stage_t *s = filling(w);
    if (s && (s->used > s->head || s->ntees))
        return false;
    pthread_mutex_lock(&w->mu);
    bool idle = done_count(w) == w->queued;
    pthread_mutex_unlock(&w->mu);
    return idle;
}

bool
bs_writer_direct(bs_writer_t *w)
{
    return !atomic_load(&w->no_direct);
}
