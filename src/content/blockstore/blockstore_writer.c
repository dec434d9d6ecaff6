/* blockstore_writer — the pack appends of a store run on one writer thread, so the
 * event loop hashes the next block while the kernel copies the last one into the
 * page cache (a third of `lester add`'s time when done inline). The loop assigns
 * every record its offset and copies its bytes into a slot; the thread writes the
 * slots in order. Whoever needs the bytes on disk (a sync, a read of the current
 * pack, a truncate, a close) drains the queue first, and index rows are only
 * written after a drain, so a row never names bytes that are still in a slot.
 *
 * Memory: at most WRITER_SLOTS slots, each as large as the largest record seen
 * (8 MiB for 256 KiB blocks), and one lent buffer; a full queue makes the loop
 * wait (backpressure).
 *
 * Lending (bs_writer_lend): `lester add` reads each chunk straight into a buffer the
 * writer lends; when that buffer comes back as a record's body, the slot takes it
 * as it is (the record header goes into the slot's own small array) and lends its
 * old buffer next, instead of copying 256 KiB per block on the event loop (a sixth
 * of the loop's time in `add`'s profile). */
#include "content/blockstore/blockstore_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/err/err.h"

#define WRITER_SLOTS 32

typedef struct slot_t {
    uint8_t hdr[BS_REC_MAX_HDR]; /* the record header, when the body is a lent buffer */
    size_t hlen;
    uint8_t *buf; /* the body (hlen > 0) or the whole record */
    size_t cap, len;
    int fd;
    uint64_t off;
    bool hint; /* start writeback early (the store syncs) */
} slot_t;

struct bs_writer_t {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work, done; /* work: a slot was queued or stop; done: one written */
    slot_t slots[WRITER_SLOTS];
    size_t head, count; /* queued slots: head .. head + count - 1 (mod WRITER_SLOTS);
                           the thread writes slots[head] until it drops count */
    bool stop;
    int hint_fd; /* early writeback (below): the file and where it starts */
    uint64_t hint_from;
    int err;       /* the first write error, returned by the next drain */
    uint8_t *lent; /* the loop's: see bs_writer_lend() */
    size_t lent_cap;
};

static int
write_slot(const slot_t *s)
{
    struct iovec iov[2] = {{(void *)s->hdr, s->hlen}, {s->buf, s->len}}, *v = iov;
    int n = 2;
    uint64_t off = s->off;
    if (s->hlen == 0)
        v++, n--;
    while (n > 0) {
        ssize_t w = pwritev(s->fd, v, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        off += (uint64_t)w;
        for (; n > 0 && (size_t)w >= v->iov_len; v++, n--)
            w -= (ssize_t)v->iov_len;
        if (n > 0) {
            v->iov_base = (uint8_t *)v->iov_base + w;
            v->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Start the kernel writing a pack out every WRITEBACK_EVERY bytes, so the sync at
 * the end of a batch finds most of it on disk already (the disk works while the
 * importer hashes). A hint: its failure changes nothing. */
#define WRITEBACK_EVERY ((uint64_t)8 << 20)

static void
hint_writeback(bs_writer_t *w, const slot_t *s)
{
    uint64_t end = s->off + s->hlen + s->len;
    if (w->hint_fd != s->fd || w->hint_from > s->off) {
        w->hint_fd = s->fd;
        w->hint_from = s->off;
    }
    if (end - w->hint_from < WRITEBACK_EVERY)
        return;
    sync_file_range(s->fd, (off_t)w->hint_from, (off_t)(end - w->hint_from), SYNC_FILE_RANGE_WRITE);
    w->hint_from = end;
}

static void *
writer_main(void *arg)
{
    bs_writer_t *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->count == 0 && !w->stop)
            pthread_cond_wait(&w->work, &w->mu);
        if (w->count == 0)
            break; /* stop, and nothing left */
        slot_t *s = &w->slots[w->head];
        pthread_mutex_unlock(&w->mu);
        int rc = write_slot(s);
        if (rc == 0 && s->hint)
            hint_writeback(w, s);
        pthread_mutex_lock(&w->mu);
        if (rc < 0 && w->err == 0)
            w->err = rc;
        w->head = (w->head + 1) % WRITER_SLOTS;
        w->count--;
        pthread_cond_broadcast(&w->done);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

bs_writer_t *
bs_writer_new(void)
{
    bs_writer_t *w = ls_calloc(1, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->done, NULL);
    w->hint_fd = -1;
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0)
        abort(); /* like an allocation failure: no store without its writer */
    return w;
}

void
bs_writer_free_(bs_writer_t *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    for (size_t i = 0; i < WRITER_SLOTS; i++)
        free(w->slots[i].buf);
    free(w->lent);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->done);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* The record's bytes, copied into the slot's own buffer. */
static void
submit_copy(slot_t *s, const struct iovec *iov, int n, size_t len)
{
    if (len > s->cap) {
        free(s->buf);
        s->buf = ls_malloc(len);
        s->cap = len;
    }
    s->len = 0;
    for (int i = 0; i < n; i++) {
        if (iov[i].iov_len)
            memcpy(s->buf + s->len, iov[i].iov_base, iov[i].iov_len);
        s->len += iov[i].iov_len;
    }
}

/* The body is the lent buffer: the slot keeps it, and lends its old one next. */
static void
submit_lent(bs_writer_t *w, slot_t *s, const struct iovec *iov, int n)
{
    for (int i = 0; i < n - 1; i++) {
        memcpy(s->hdr + s->hlen, iov[i].iov_base, iov[i].iov_len);
        s->hlen += iov[i].iov_len;
    }
    uint8_t *old = s->buf;
    size_t old_cap = s->cap;
    s->buf = w->lent;
    s->cap = w->lent_cap;
    s->len = iov[n - 1].iov_len;
    w->lent = old;
    w->lent_cap = old_cap;
}

uint8_t *
bs_writer_lend(bs_writer_t *w, size_t len)
{
    if (w->lent_cap < len) {
        free(w->lent);
        w->lent = ls_malloc(len);
        w->lent_cap = len;
    }
    return w->lent;
}

void
bs_writer_submit(bs_writer_t *w, int fd, uint64_t off, const struct iovec *iov, int n, bool hint)
{
    pthread_mutex_lock(&w->mu);
    while (w->count == WRITER_SLOTS)
        pthread_cond_wait(&w->done, &w->mu);
    slot_t *s = &w->slots[(w->head + w->count) % WRITER_SLOTS];
    pthread_mutex_unlock(&w->mu);
    /* a free slot is the loop's alone until it is counted */
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += iov[i].iov_len;
    s->hlen = 0;
    if (n >= 2 && w->lent && iov[n - 1].iov_base == w->lent && iov[n - 1].iov_len <= w->lent_cap &&
        len - iov[n - 1].iov_len <= sizeof s->hdr)
        submit_lent(w, s, iov, n);
    else
        submit_copy(s, iov, n, len);
    s->fd = fd;
    s->off = off;
    s->hint = hint;
    pthread_mutex_lock(&w->mu);
    w->count++;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
}

int
bs_writer_drain(bs_writer_t *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->count > 0)
        pthread_cond_wait(&w->done, &w->mu);
    int rc = w->err;
    w->err = 0;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

bool
bs_writer_idle(bs_writer_t *w)
{
    pthread_mutex_lock(&w->mu);
    bool idle = w->count == 0;
    pthread_mutex_unlock(&w->mu);
    return idle;
}
