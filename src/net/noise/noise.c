/* noise — libp2p Noise handshake and transport (libp2p/specs noise/README.md). The Noise
 * framework itself is in noise_hs.c, the payload protobuf in noise_payload.c. */
#define LOG_MODULE "noise"

#include "net/noise/noise.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/crypto/aead.h"
#include "lib/crypto/sigverify.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "lib/mem/mem.h"
#include "net/noise/noise_internal.h"

/* "noise-libp2p-static-key:" || static key is what identity_sig signs (spec,
 * "The libp2p Handshake Payload"). */
#define SIG_PREFIX "noise-libp2p-static-key:"
#define SIG_PREFIX_LEN (sizeof SIG_PREFIX - 1)

static void
sig_message(uint8_t out[static SIG_PREFIX_LEN + 32], const uint8_t static_key[static 32])
{
    memcpy(out, SIG_PREFIX, SIG_PREFIX_LEN);
    memcpy(out + SIG_PREFIX_LEN, static_key, 32);
}

noise_t *
noise_new(bool initiator, const ed25519_keypair_t *identity, const peer_id_t *expected_remote)
{
    noise_t *n = ls_calloc(1, sizeof *n);
    x25519_keypair_t s;
    uint8_t msg[SIG_PREFIX_LEN + 32];

    x25519_keypair_generate(&s);
    noise_xx_init(&n->hs, initiator, NULL, 0, &s); /* libp2p: empty prologue */
    sig_message(msg, s.pk);
    ed25519_sign(n->sig, msg, sizeof msg, identity);
    n->sig_len = ED25519_SIG_LEN;
    x25519_keypair_wipe(&s);

    buf_init(&n->pending, 2 * NOISE_MAX_FRAME);
    buf_init(&n->scratch, NOISE_MAX_FRAME);
    buf_init(&n->key_proto, PUBKEY_PROTO_MAX_DATA);
    if (pubkey_proto_encode(PEER_KEY_ED25519, identity->pk, 32, &n->key_proto) < 0)
        abort(); /* a 32-byte Ed25519 key always encodes */
    if (expected_remote) {
        n->expected = *expected_remote;
        n->has_expected = true;
    }
    return n;
}

static void
free_names(char **names, size_t *count)
{
    for (size_t i = 0; i < *count; i++)
        ls_free(names[i]);
    *count = 0;
}

void
noise_free_(noise_t *n)
{
    if (!n)
        return;
    noise_xx_wipe(&n->hs);
    noise_cipher_clear(&n->tx);
    noise_cipher_clear(&n->rx);
    buf_wipe(&n->pending);
    buf_wipe(&n->scratch);
    buf_free(&n->key_proto);
    free_names(n->muxers, &n->n_muxers);
    free_names(n->remote_muxers, &n->n_remote_muxers);
    sodium_memzero(n, sizeof *n);
    free(n);
}

int
noise_set_muxers(noise_t *n, const char *const *muxers, size_t count)
{
    if (n->started)
        return LS_EINVAL;
    if (count > NOISE_PAYLOAD_MAX_MUXERS)
        return LS_ELIMIT;
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(muxers[i]);
        if (len == 0 || len > NOISE_PAYLOAD_MAX_MUXER_LEN)
            return LS_EINVAL;
    }
    free_names(n->muxers, &n->n_muxers);
    for (size_t i = 0; i < count; i++)
        n->muxers[n->n_muxers++] = ls_strdup(muxers[i]);
    return 0;
}

/* Record a fatal error: it is returned by every later call, and the handshake
 * secrets are wiped now rather than at free time. */
static int
fail(noise_t *n, int rc)
{
    if (!n->err) {
        n->err = rc;
        log_debug("handshake or transport failed: %s", ls_strerror(rc));
    }
    noise_xx_wipe(&n->hs);
    buf_wipe(&n->pending);
    return rc;
}

/* The handshake is over: derive the transport ciphers and forget the rest. */
static void
finish(noise_t *n)
{
    noise_xx_split(&n->hs, &n->tx, &n->rx);
    noise_xx_wipe(&n->hs);
    buf_wipe(&n->scratch);
    n->done = true;
}

/* If it is our turn, write the next handshake message, framed, into n->pending.
 * Message 0 carries no payload (the spec forbids one before secrecy); messages 1
 * and 2 carry our NoiseHandshakePayload. */
static int
produce(noise_t *n)
{
    if (!noise_xx_is_my_turn(&n->hs))
        return 0;
    n->started = true;
    buf_clear(&n->scratch);
    if (n->hs.next > 0) {
        int rc = noise_payload_encode(&n->scratch, n->key_proto.data, n->key_proto.len, n->sig,
                                      n->sig_len, (const char *const *)n->muxers, n->n_muxers);
        if (rc < 0)
            return rc;
    }
    size_t start = n->pending.len;
    uint8_t *hdr = buf_extend(&n->pending, 2);
    if (!hdr)
        return LS_ETOOBIG;
    int rc = noise_xx_write(&n->hs, n->scratch.data, n->scratch.len, &n->pending);
    if (rc < 0) {
        buf_truncate(&n->pending, start);
        return rc;
    }
    size_t mlen = n->pending.len - start - 2;
    n->pending.data[start] = (uint8_t)(mlen >> 8);
    n->pending.data[start + 1] = (uint8_t)mlen;
    if (n->hs.initiator && n->hs.next == 3)
        finish(n);
    return 0;
}

int
noise_output(noise_t *n, buf_t *out)
{
    if (n->err)
        return n->err;
    int rc = produce(n);
    if (rc < 0)
        return fail(n, rc);
    size_t len = n->pending.len;
    if (len == 0)
        return 0;
    if (len > (size_t)INT32_MAX || buf_append(out, n->pending.data, len) < 0)
        return LS_ETOOBIG;
    buf_clear(&n->pending);
    return (int)len;
}

static void
keep_remote_muxers(noise_t *n, const noise_payload_t *pl)
{
    for (size_t i = 0; i < pl->n_muxers; i++)
        n->remote_muxers[n->n_remote_muxers++] =
            ls_strndup((const char *)pl->muxers[i].p, pl->muxers[i].len);
}

/* Check the identity key (any of libp2p's four key types) and its signature over
 * our view of the peer's static key. */
static int
verify_identity(noise_t *n, const noise_payload_t *pl)
{
    const uint8_t *key;
    size_t keylen;
    int type;
    uint8_t msg[SIG_PREFIX_LEN + 32];

    if (!pl->has_identity_key || !pl->has_identity_sig)
        return LS_EPROTO;
    int rc = pubkey_proto_decode(pl->identity_key.p, pl->identity_key.len, &type, &key, &keylen);
    if (rc == LS_ENOTSUP) {
        log_info("peer's identity key type is unknown");
        return LS_ENOTSUP;
    }
    if (rc < 0)
        return LS_EPROTO;
    sig_message(msg, n->hs.rs);
    rc = sigverify(type, key, keylen, msg, sizeof msg, pl->identity_sig.p, pl->identity_sig.len);
    if (rc == LS_EINVAL || rc == LS_ENOTSUP)
        log_info("peer's identity key (type %d) is invalid or unsupported: %s", type,
                 ls_strerror(rc));
    if (rc < 0)
        return rc == LS_EINVAL ? LS_EPROTO : rc;
    n->remote_key_type = type;
    if (type == PEER_KEY_ED25519)
        memcpy(n->remote_pk, key, 32);
    return 0;
}

/* Messages 1 and 2 carry the peer's payload: authenticate it before going on. */
static int
check_payload(noise_t *n, const uint8_t *p, size_t len)
{
    noise_payload_t pl;

    if (noise_payload_decode(&pl, p, len) < 0)
        return LS_EPROTO;
    int rc = verify_identity(n, &pl);
    if (rc < 0)
        return rc;
    if (peer_id_from_pubkey_proto(&n->remote, pl.identity_key.p, pl.identity_key.len) < 0)
        return LS_EPROTO;
    if (n->has_expected && !peer_id_equal(&n->remote, &n->expected)) {
        char want[PEER_ID_SHORT_LEN], got[PEER_ID_SHORT_LEN];
        peer_id_short(&n->expected, want);
        peer_id_short(&n->remote, got);
        log_info("expected peer %s but the remote proved %s", want, got);
        return LS_EPEERID;
    }
    keep_remote_muxers(n, &pl);
    return 0;
}

static int
read_message(noise_t *n, const uint8_t *msg, size_t len)
{
    int index = n->hs.next;

    n->started = true;
    buf_clear(&n->scratch);
    int rc = noise_xx_read(&n->hs, msg, len, &n->scratch);
    if (rc < 0)
        return rc;
    /* Message 0's payload is plaintext and must be empty per the spec; it is in the
     * transcript hash either way, so a non-empty one is ignored, as go-libp2p does. */
    if (index > 0 && (rc = check_payload(n, n->scratch.data, n->scratch.len)) < 0)
        return rc;
    if (!n->hs.initiator && n->hs.next == 3)
        finish(n);
    return 0;
}

int
noise_input(noise_t *n, const uint8_t *p, size_t len, size_t *consumed)
{
    *consumed = 0;
    if (n->err)
        return n->err;
    if (n->done)
        return LS_EINVAL;
    int rc = produce(n); /* the initiator's first message, if still unwritten */
    if (rc < 0)
        return fail(n, rc);
    if (len < 2)
        return LS_EAGAIN;
    size_t mlen = (size_t)p[0] << 8 | p[1];
    if (len - 2 < mlen)
        return LS_EAGAIN;
    if ((rc = read_message(n, p + 2, mlen)) < 0 || (rc = produce(n)) < 0)
        return fail(n, rc);
    *consumed = 2 + mlen;
    return 0;
}

bool
noise_is_done(const noise_t *n)
{
    return n->done && !n->err;
}

const peer_id_t *
noise_remote_peer(const noise_t *n)
{
    return noise_is_done(n) ? &n->remote : NULL;
}

const uint8_t *
noise_remote_identity(const noise_t *n)
{
    return noise_is_done(n) && n->remote_key_type == PEER_KEY_ED25519 ? n->remote_pk : NULL;
}

int
noise_remote_key_type(const noise_t *n)
{
    return noise_is_done(n) ? n->remote_key_type : -1;
}

size_t
noise_remote_muxers(const noise_t *n, const char *const **names)
{
    *names = (const char *const *)n->remote_muxers;
    return noise_is_done(n) ? n->n_remote_muxers : 0;
}

/* A write longer than one frame is cut into frames of SPLIT_PLAINTEXT bytes and a
 * last one of at most NOISE_MAX_PLAINTEXT. 63 KiB rather than the maximum 65519:
 * OpenSSL's ChaCha20 runs 1 KiB at a time and a tail of any other length costs
 * ~2 us, about 5% of a 64 KiB write (bench/bench_noise.c). Any size is valid on the
 * wire; receivers accept up to 65535-byte frames either way. */
#define SPLIT_PLAINTEXT (63 * 1024)

static size_t
frame_count(size_t len)
{
    if (len <= NOISE_MAX_PLAINTEXT)
        return 1;
    return (len - NOISE_MAX_PLAINTEXT + SPLIT_PLAINTEXT - 1) / SPLIT_PLAINTEXT + 1;
}

int
noise_encrypt(noise_t *n, const uint8_t *p, size_t len, buf_t *out)
{
    if (n->err)
        return n->err;
    if (!n->done)
        return LS_EINVAL;
    size_t frames = frame_count(len);
    if (len > SIZE_MAX / 2 || frames > (SIZE_MAX / 2 - len) / (2 + NOISE_TAGLEN))
        return LS_ETOOBIG;
    size_t total = n->pending.len + len + frames * (2 + NOISE_TAGLEN);
    size_t start = out->len;
    uint8_t *dst = buf_extend(out, total);
    if (!dst)
        return LS_ETOOBIG;
    memcpy(dst, n->pending.data, n->pending.len); /* the handshake goes first */
    dst += n->pending.len;
    do {
        size_t chunk = len <= NOISE_MAX_PLAINTEXT ? len : SPLIT_PLAINTEXT;
        size_t mlen = chunk + NOISE_TAGLEN;
        dst[0] = (uint8_t)(mlen >> 8);
        dst[1] = (uint8_t)mlen;
        int rc = noise_cipher_encrypt(&n->tx, NULL, 0, p, chunk, dst + 2);
        if (rc < 0) {
            buf_truncate(out, start);
            return fail(n, rc);
        }
        dst += 2 + mlen;
        p += chunk;
        len -= chunk;
    } while (len > 0);
    buf_clear(&n->pending);
    return 0;
}

int
noise_encrypt_parts(noise_t *n, const uint8_t *head, size_t head_len, const uint8_t *p, size_t len,
                    buf_t *out)
{
    if (n->err)
        return n->err;
    if (!n->done)
        return LS_EINVAL;
    if (head_len > NOISE_MAX_PLAINTEXT || len > NOISE_MAX_PLAINTEXT - head_len)
        return LS_ETOOBIG;
    if (n->tx.n == NOISE_NONCE_MAX)
        return fail(n, LS_ELIMIT);
    size_t mlen = head_len + len + NOISE_TAGLEN;
    size_t start = out->len;
    uint8_t *dst = buf_extend(out, n->pending.len + 2 + mlen);
    if (!dst)
        return LS_ETOOBIG;
    memcpy(dst, n->pending.data, n->pending.len); /* the handshake goes first */
    dst += n->pending.len;
    dst[0] = (uint8_t)(mlen >> 8);
    dst[1] = (uint8_t)mlen;
    int rc = aead_seal_parts(n->tx.aead, n->tx.n, head, head_len, p, len, dst + 2);
    if (rc < 0) {
        buf_truncate(out, start);
        return fail(n, rc);
    }
    n->tx.n++;
    buf_clear(&n->pending);
    return 0;
}

int
noise_decrypt(noise_t *n, const uint8_t *in, size_t len, size_t *consumed, buf_t *plaintext)
{
    size_t off = 0;
    bool any = false;

    *consumed = 0;
    if (n->err)
        return n->err;
    if (!n->done)
        return LS_EINVAL;
    while (len - off >= 2) {
        size_t mlen = (size_t)in[off] << 8 | in[off + 1];
        if (len - off - 2 < mlen)
            break;
        if (mlen < NOISE_TAGLEN)
            return fail(n, LS_EPROTO);
        size_t start = plaintext->len;
        uint8_t *dst = buf_extend(plaintext, mlen - NOISE_TAGLEN);
        if (!dst) {
            if (!any)
                return LS_ETOOBIG;
            break;
        }
        int rc = noise_cipher_decrypt(&n->rx, NULL, 0, in + off + 2, mlen, dst);
        if (rc < 0) {
            buf_truncate(plaintext, start);
            *consumed = off;
            return fail(n, rc);
        }
        off += 2 + mlen;
        any = true;
    }
    *consumed = off;
    return any ? 0 : LS_EAGAIN;
}

int
noise_decrypt_frame(noise_t *n, uint8_t *in, size_t len, size_t *consumed, uint8_t **plain,
                    size_t *plain_len)
{
    *consumed = 0;
    *plain = NULL;
    *plain_len = 0;
    if (n->err)
        return n->err;
    if (!n->done)
        return LS_EINVAL;
    if (len < 2)
        return LS_EAGAIN;
    size_t mlen = (size_t)in[0] << 8 | in[1];
    if (len - 2 < mlen)
        return LS_EAGAIN;
    if (mlen < NOISE_TAGLEN)
        return fail(n, LS_EPROTO);
    /* Both AEAD back ends accept out == in (lib/crypto/aead.c). */
    int rc = noise_cipher_decrypt(&n->rx, NULL, 0, in + 2, mlen, in + 2);
    if (rc < 0)
        return fail(n, rc);
    *consumed = 2 + mlen;
    *plain = in + 2;
    *plain_len = mlen - NOISE_TAGLEN;
    return 0;
}
