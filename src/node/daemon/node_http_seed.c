/* node_http_seed — HTTP seeders in a download (node_bitswap_internal.h).
 *
 * A provider record may name HTTP endpoints (seed 004's metadata): the trustless
 * gateway's raw-block URL `…/ipfs/{cid}?format=raw`. For each such seeder the
 * download keeps one evhttp client connection with up to SEED_INFLIGHT requests in
 * flight. Each request takes a want from the download's Bitswap session
 * (bitswap_session_claim: blocks no Bitswap peer is fetching), so the seeder and
 * the Bitswap peers work on different blocks at once. A body goes through
 * bitswap_deliver(), which hashes it before anything is stored — exactly the check
 * Bitswap blocks get — and then completes the want everywhere.
 *
 * A seeder that serves bytes that do not hash to the CID asked for is dropped at
 * once and reported to the trust hook (TRUST_INVALID_MESSAGE, as a corrupt Bitswap
 * block is); one that fails SEED_MAX_FAILURES requests in a row (refused, 404,
 * timeout) is dropped quietly. Wants a dropped seeder held go back to the session.
 * Seed 004's chunk URLs address leaves by position, which a breadth-first walk of
 * CIDs does not know, so only raw-block endpoints are used. */
#define LOG_MODULE "httpseed"
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "content/httpseed/httpseed.h"
#include "lib/err/err.h"
#include "lib/log/log.h"
#include "node/daemon/node_bitswap_internal.h"
#include "node/daemon/node_net.h"

#define SEED_INFLIGHT 4
#define SEED_MAX_FAILURES 3
#define SEED_TIMEOUT_S 15
#define MAX_SEEDERS 16

typedef struct seeder_t seeder_t;

/* One request in flight. Slots live inside their seeder, so a request libevent
 * drops without calling back (the connection freed) leaks nothing. */
typedef struct slot_t {
    seeder_t *sd;
    bool busy;
    cid_t cid;
} slot_t;

struct seeder_t {
    http_seeds_t *hs;
    peer_id_t peer;
    httpseed_endpoint_t ep;
    struct evhttp_connection *conn;
    slot_t slots[SEED_INFLIGHT];
    unsigned inflight, failures;
    bool dropped;
    uint64_t blocks, bytes, bad;
};

struct http_seeds_t {
    node_bitswap_t *g;
    bitswap_session_t *session;
    seeder_t *seeders[MAX_SEEDERS];
    size_t n;
};

http_seeds_t *
http_seeds_new(node_bitswap_t *g, bitswap_session_t *session)
{
    http_seeds_t *hs = ls_calloc(1, sizeof *hs);
    hs->g = g;
    hs->session = session;
    return hs;
}

void
http_seeds_free(http_seeds_t *hs)
{
    if (!hs)
        return;
    for (size_t i = 0; i < hs->n; i++) {
        if (hs->seeders[i]->conn)
            evhttp_connection_free(hs->seeders[i]->conn); /* no callbacks after this */
        free(hs->seeders[i]);
    }
    free(hs);
}

/* Give every want the seeder holds back to the session and stop using it. */
static void
drop(seeder_t *sd, const char *why)
{
    char b[PEER_ID_SHORT_LEN];
    sd->dropped = true;
    for (size_t i = 0; i < SEED_INFLIGHT; i++)
        if (sd->slots[i].busy) {
            sd->slots[i].busy = false;
            bitswap_session_unclaim(sd->hs->session, &sd->slots[i].cid);
        }
    sd->inflight = 0;
    peer_id_short(&sd->peer, b);
    log_warn("HTTP seeder %s (%s:%u) dropped: %s", b, sd->ep.host, (unsigned)sd->ep.port, why);
}

static void
report_bad(seeder_t *sd)
{
    node_net_t *net = sd->hs->g->c->node->net;
    if (net)
        trust_hook_report(&net->trust, &sd->peer, TRUST_INVALID_MESSAGE);
}

/* A body arrived for slot `sl`: verify and deliver it. */
static void
got_body(seeder_t *sd, slot_t *sl, struct evbuffer *body)
{
    size_t len = evbuffer_get_length(body);
    const uint8_t *data = len ? evbuffer_pullup(body, -1) : (const uint8_t *)"";
    cid_t cid = sl->cid;
    sl->busy = false;
    sd->inflight--;
    int rc = bitswap_deliver(sd->hs->g->engine, &cid, data, len);
    if (rc == LS_EPROTO || rc == LS_ETOOBIG) {
        sd->bad++;
        report_bad(sd);
        bitswap_session_unclaim(sd->hs->session, &cid);
        drop(sd, "it served bytes that do not match the CID");
        return;
    }
    if (rc < 0) {
        bitswap_session_unclaim(sd->hs->session, &cid);
        return;
    }
    sd->failures = 0;
    if (rc > 0) {
        sd->blocks++;
        sd->bytes += len;
    }
}

static void
on_response(struct evhttp_request *req, void *arg)
{
    slot_t *sl = arg;
    seeder_t *sd = sl->sd;
    if (sd->dropped || !sl->busy)
        return; /* its want went back to the session when it was dropped */
    int code = req ? evhttp_request_get_response_code(req) : 0;
    if (code == 200) {
        got_body(sd, sl, evhttp_request_get_input_buffer(req));
    } else {
        sl->busy = false;
        sd->inflight--;
        bitswap_session_unclaim(sd->hs->session, &sl->cid);
        if (++sd->failures >= SEED_MAX_FAILURES)
            drop(sd, code ? "repeated HTTP errors" : "unreachable");
    }
    http_seeds_pump(sd->hs); /* others take over what a dropped seeder held */
}

/* Request `cid` from `sd` in slot `sl`. */
static int
request(seeder_t *sd, slot_t *sl, const cid_t *cid)
{
    buf_t cs = BUF_INIT(CID_MAX_STRING + 1);
    char path[HTTPSEED_PATH_MAX + CID_MAX_STRING + 32];
    int rc = cid_to_string(cid, &cs);
    if (rc == 0 && buf_append(&cs, "", 1) == 0)
        rc = httpseed_path(&sd->ep, (const char *)cs.data, 0, path, sizeof path);
    buf_free(&cs);
    if (rc < 0)
        return rc;
    sl->cid = *cid;
    sl->busy = true;
    sd->inflight++;
    struct evhttp_request *req = evhttp_request_new(on_response, sl);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", sd->ep.host);
    evhttp_add_header(h, "Accept", "application/vnd.ipld.raw");
    /* A failed connect may already have called on_response (which then handled the
     * slot); libevent frees the request either way. */
    if (evhttp_make_request(sd->conn, req, EVHTTP_REQ_GET, path) < 0 && sl->busy) {
        sl->busy = false;
        sd->inflight--;
        return LS_EIO;
    }
    return 0;
}

static void
fill(seeder_t *sd)
{
    for (size_t i = 0; i < SEED_INFLIGHT && !sd->dropped; i++) {
        cid_t cid;
        if (sd->slots[i].busy)
            continue;
        if (bitswap_session_claim(sd->hs->session, &cid, 1) == 0)
            return;
        if (request(sd, &sd->slots[i], &cid) < 0) {
            bitswap_session_unclaim(sd->hs->session, &cid);
            if (++sd->failures >= SEED_MAX_FAILURES)
                drop(sd, "requests cannot be made");
            return;
        }
    }
}

void
http_seeds_pump(http_seeds_t *hs)
{
    for (size_t i = 0; i < hs->n; i++)
        if (!hs->seeders[i]->dropped)
            fill(hs->seeders[i]);
}

int
http_seeds_add(http_seeds_t *hs, const peer_id_t *peer, const char *endpoint)
{
    httpseed_endpoint_t ep;
    int rc = httpseed_parse(endpoint, strlen(endpoint), &ep);
    if (rc < 0)
        return rc;
    if (ep.kind != HTTPSEED_RAW)
        return LS_ENOTSUP;
    for (size_t i = 0; i < hs->n; i++)
        if (peer_id_equal(&hs->seeders[i]->peer, peer))
            return LS_EEXIST;
    if (hs->n == MAX_SEEDERS)
        return LS_ELIMIT;
    seeder_t *sd = ls_calloc(1, sizeof *sd);
    sd->hs = hs;
    sd->peer = *peer;
    sd->ep = ep;
    for (size_t i = 0; i < SEED_INFLIGHT; i++)
        sd->slots[i].sd = sd;
    sd->conn = evhttp_connection_base_new(hs->g->c->node->base, NULL, ep.host, ep.port);
    if (!sd->conn) {
        free(sd);
        return LS_ENOMEM;
    }
    evhttp_connection_set_timeout(sd->conn, SEED_TIMEOUT_S);
    evhttp_connection_set_retries(sd->conn, 0);
    evhttp_connection_set_max_body_size(sd->conn, (ev_ssize_t)BLOCKSTORE_MAX_BLOCK);
    hs->seeders[hs->n++] = sd;
    char b[PEER_ID_SHORT_LEN];
    peer_id_short(peer, b);
    log_info("HTTP seeder %s at %s:%u joins the download", b, ep.host, (unsigned)ep.port);
    fill(sd);
    return 0;
}

uint32_t
http_seeds_live(const http_seeds_t *hs)
{
    uint32_t n = 0;
    for (size_t i = 0; i < hs->n; i++)
        n += !hs->seeders[i]->dropped;
    return n;
}

void
http_seeds_json(const http_seeds_t *hs, json_t *arr)
{
    for (size_t i = 0; i < hs->n; i++) {
        const seeder_t *sd = hs->seeders[i];
        char *id = peer_id_to_str(&sd->peer);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:b}",
                                             "peer", id, "kind", "http", "host", sd->ep.host,
                                             "port", (int)sd->ep.port, "blocks",
                                             (json_int_t)sd->blocks, "bytes",
                                             (json_int_t)sd->bytes, "bad_blocks",
                                             (json_int_t)sd->bad, "dropped", sd->dropped));
        free(id);
    }
}
