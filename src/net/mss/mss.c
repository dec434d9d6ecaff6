/* mss — multistream-select 1.0; see mss.h and libp2p/specs connections/README.md. */
#include "net/mss/mss.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "lib/varint/varint.h"

struct mss_t {
    bool initiator;
    bool header_seen; /* the peer's `/multistream/1.0.0` arrived */
    bool done;
    bool answers_ls;  /* responder built from a list */
    int err;          /* sticky error, 0 while healthy */
    char **protocols; /* initiator: proposals; list responder: supported */
    size_t n_protocols;
    size_t next; /* initiator: index of the outstanding proposal */
    mss_supported_fn supported;
    void *ctx;
    char *agreed;   /* owned copy of the agreed id */
    buf_t rx;       /* the incoming message so far, prefix included */
    size_t rx_need; /* its full size once the prefix is known, else 0 */
    buf_t tx;       /* bytes waiting for mss_output() */
};

/* A message: varint prefix (at most 2 bytes for 1024) + body. */
#define RX_MAX (VARINT_MAX_LEN + MSS_MAX_MESSAGE)

static mss_t *
mss_alloc(bool initiator)
{
    mss_t *m = ls_calloc(1, sizeof *m);

    m->initiator = initiator;
    buf_init(&m->rx, RX_MAX);
    buf_init(&m->tx, BUF_UNLIMITED);
    return m;
}

static void
copy_protocols(mss_t *m, const char *const *protocols, size_t n)
{
    m->protocols = n ? ls_calloc(n, sizeof *m->protocols) : NULL;
    m->n_protocols = n;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(protocols[i]);
        assert(len >= 1 && len <= MSS_MAX_PROTOCOL && !memchr(protocols[i], '\n', len));
        (void)len;
        m->protocols[i] = ls_strdup(protocols[i]);
    }
}

/* Queue one message: varint(len + 1), the text, '\n'. Cannot fail: tx is unlimited. */
static void
queue_line(buf_t *b, const char *text, size_t len)
{
    int rc = varint_append(b, len + 1);

    if (rc == 0)
        rc = buf_append(b, text, len);
    if (rc == 0)
        rc = buf_append_byte(b, '\n');
    assert(rc == 0);
    (void)rc;
}

static void
queue_str(mss_t *m, const char *s)
{
    queue_line(&m->tx, s, strlen(s));
}

mss_t *
mss_new_initiator(const char *const *protocols, size_t n)
{
    mss_t *m = mss_alloc(true);

    assert(n >= 1);
    copy_protocols(m, protocols, n);
    /* Pipelined: header and first proposal leave in one write. */
    queue_str(m, MSS_PROTOCOL_ID);
    queue_str(m, m->protocols[0]);
    return m;
}

mss_t *
mss_new_responder(mss_supported_fn supported, void *ctx)
{
    mss_t *m = mss_alloc(false);

    assert(supported != NULL);
    m->supported = supported;
    m->ctx = ctx;
    queue_str(m, MSS_PROTOCOL_ID);
    return m;
}

mss_t *
mss_new_responder_list(const char *const *protocols, size_t n)
{
    mss_t *m = mss_alloc(false);

    copy_protocols(m, protocols, n);
    m->answers_ls = true;
    queue_str(m, MSS_PROTOCOL_ID);
    return m;
}

void
mss_free_(mss_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_protocols; i++)
        free(m->protocols[i]);
    free(m->protocols);
    free(m->agreed);
    buf_free(&m->rx);
    buf_free(&m->tx);
    free(m);
}

/* Strict UTF-8 (no overlongs, surrogates or values past U+10FFFF) without NUL. */
static bool
is_clean_utf8(const uint8_t *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint8_t c = s[i];
        size_t extra;
        uint32_t cp, min;

        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            extra = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i - 1 < extra)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += extra + 1;
    }
    return true;
}

/* Move bytes of the next message into m->rx. Returns 1 once it is complete, 0 when
 * `p` ran out first, or an error; `*used` counts the bytes taken either way. */
static int
read_message(mss_t *m, const uint8_t *p, size_t len, size_t *used)
{
    *used = 0;
    while (m->rx_need == 0) {
        uint64_t v;
        int rc;

        if (*used == len)
            return 0;
        rc = buf_append_byte(&m->rx, p[(*used)++]);
        assert(rc == 0);
        rc = varint_decode(m->rx.data, m->rx.len, &v);
        if (rc == LS_EAGAIN) {
            /* Two continuation bytes already mean a length of 16384 or more. */
            if (m->rx.len >= varint_len(MSS_MAX_MESSAGE))
                return LS_ETOOBIG;
            continue;
        }
        if (rc < 0)
            return LS_EPROTO;
        if (v > MSS_MAX_MESSAGE)
            return LS_ETOOBIG;
        if (v == 0)
            return LS_EPROTO; /* no room for the newline */
        m->rx_need = (size_t)rc + (size_t)v;
    }
    size_t take = LS_MIN(len - *used, m->rx_need - m->rx.len);
    int rc = buf_append(&m->rx, p + *used, take);
    assert(rc == 0);
    (void)rc;
    *used += take;
    return m->rx.len == m->rx_need ? 1 : 0;
}

/* The body of the complete message in m->rx as a C string, newline replaced by NUL;
 * NULL if it does not end in '\n' or is not clean UTF-8. */
static char *
message_text(mss_t *m)
{
    uint64_t v;
    int prefix = varint_decode(m->rx.data, m->rx.len, &v);
    uint8_t *body = m->rx.data + prefix;
    size_t body_len = m->rx.len - (size_t)prefix;

    if (body[body_len - 1] != '\n' || !is_clean_utf8(body, body_len - 1))
        return NULL;
    body[body_len - 1] = '\0';
    return (char *)body;
}

static void
queue_ls_answer(mss_t *m)
{
    buf_t inner = BUF_INIT(BUF_UNLIMITED);

    for (size_t i = 0; i < m->n_protocols; i++)
        queue_line(&inner, m->protocols[i], strlen(m->protocols[i]));
    queue_line(&m->tx, (const char *)inner.data, inner.len);
    buf_free(&inner);
}

static bool
responder_supports(mss_t *m, const char *proto)
{
    if (proto[0] == '\0')
        return false;
    if (m->supported)
        return m->supported(m->ctx, proto);
    for (size_t i = 0; i < m->n_protocols; i++)
        if (strcmp(m->protocols[i], proto) == 0)
            return true;
    return false;
}

static int
responder_handle(mss_t *m, const char *text)
{
    if (strcmp(text, "ls") == 0) {
        if (m->answers_ls)
            queue_ls_answer(m);
        else
            queue_str(m, "na");
    } else if (responder_supports(m, text)) {
        queue_str(m, text);
        m->agreed = ls_strdup(text);
        m->done = true;
    } else {
        queue_str(m, "na");
    }
    return 0;
}

static int
initiator_handle(mss_t *m, const char *text)
{
    if (strcmp(text, m->protocols[m->next]) == 0) {
        m->agreed = ls_strdup(text);
        m->done = true;
        return 0;
    }
    if (strcmp(text, "na") != 0)
        return LS_EPROTO;
    if (++m->next == m->n_protocols)
        return LS_ENOTSUP;
    queue_str(m, m->protocols[m->next]);
    return 0;
}

static int
handle_message(mss_t *m)
{
    char *text = message_text(m);

    if (!text)
        return LS_EPROTO;
    if (!m->header_seen) {
        /* The first message must be the header, from either side (spec). */
        if (strcmp(text, MSS_PROTOCOL_ID) != 0)
            return LS_EPROTO;
        m->header_seen = true;
        return 0;
    }
    return m->initiator ? initiator_handle(m, text) : responder_handle(m, text);
}

int
mss_input(mss_t *m, const uint8_t *p, size_t len, size_t *consumed)
{
    size_t off = 0;
    int rc = 0;

    while (!m->err && !m->done && off < len) {
        size_t used;

        rc = read_message(m, p + off, len - off, &used);
        off += used;
        if (rc == 1) {
            rc = handle_message(m);
            buf_clear(&m->rx);
            m->rx_need = 0;
        }
        if (rc < 0)
            m->err = rc;
    }
    if (m->done)
        buf_free(&m->rx);
    *consumed = off;
    return m->err;
}

int
mss_output(mss_t *m, buf_t *out)
{
    size_t n = m->tx.len;

    if (n == 0)
        return 0;
    if (n > (size_t)INT_MAX || buf_append(out, m->tx.data, n) < 0)
        return LS_ETOOBIG;
    buf_free(&m->tx);
    return (int)n;
}

bool
mss_is_done(const mss_t *m)
{
    return m->done;
}

const char *
mss_protocol(const mss_t *m)
{
    return m->done ? m->agreed : NULL;
}
