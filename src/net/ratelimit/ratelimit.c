#include "net/ratelimit/ratelimit.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err/err.h"
#include "net/peermap/peermap.h"

/* Tokens are counted in thousandths: a rate of r per second is r thousandths per
 * millisecond, so refills are exact integers. */
#define MILLI 1000u

typedef struct bucket_t {
    peer_id_t id; /* the map key */
    uint64_t msg_milli;
    uint64_t byte_milli;
    uint64_t last_ms;
    uint64_t last_report_ms;
    bool reported;
    struct bucket_t *prev, *next; /* LRU list, most recently used first */
} bucket_t;

struct ratelimit_t {
    ratelimit_config_t cfg;
    trust_hook_t hook;
    peermap_t *buckets;
    bucket_t *head, *tail;
    ratelimit_stats_t stats;
};

void
ratelimit_config_default(ratelimit_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->msgs_per_sec = 1000;
    cfg->msg_burst = 2000;
    cfg->bytes_per_sec = 4u << 20;
    cfg->byte_burst = 8u << 20;
    cfg->max_peers = 4096;
    cfg->report_interval_ms = 1000;
}

static uint64_t
clamp_rate(uint64_t v)
{
    return LS_MIN(v, RATELIMIT_MAX_RATE);
}

static void
scale(ratelimit_config_t *cfg, uint64_t num, uint64_t den)
{
    cfg->msgs_per_sec = clamp_rate(cfg->msgs_per_sec);
    cfg->msg_burst = clamp_rate(cfg->msg_burst);
    cfg->bytes_per_sec = clamp_rate(cfg->bytes_per_sec);
    cfg->byte_burst = clamp_rate(cfg->byte_burst);
    cfg->msgs_per_sec = LS_MAX(cfg->msgs_per_sec * num / den, cfg->msgs_per_sec ? 1 : 0);
    cfg->msg_burst = LS_MAX(cfg->msg_burst * num / den, 1);
    cfg->bytes_per_sec = LS_MAX(cfg->bytes_per_sec * num / den, cfg->bytes_per_sec ? 1 : 0);
    cfg->byte_burst = LS_MAX(cfg->byte_burst * num / den, 1);
}

int
ratelimit_config_profile(ratelimit_config_t *cfg, const char *profile)
{
    if (strcmp(profile, "default") == 0)
        return 0;
    if (strcmp(profile, "high-throughput") == 0) {
        scale(cfg, 2, 1);
    } else if (strcmp(profile, "low-resource") == 0) {
        scale(cfg, 1, 4);
        cfg->max_peers = 1024;
    } else if (strcmp(profile, "high-security") == 0) {
        scale(cfg, 1, 2);
    } else {
        return LS_EINVAL;
    }
    return 0;
}

int
ratelimit_config_from(ratelimit_config_t *out, const config_t *cfg, buf_t *err)
{
    ratelimit_config_default(out);
    if (!config_has_key(cfg, "profile"))
        return 0;
    const char *profile = config_get_str(cfg, "profile");
    if (ratelimit_config_profile(out, profile) < 0) {
        if (err)
            buf_printf(err, "unknown profile '%s'", profile);
        return LS_ECONFIG;
    }
    return 0;
}

ratelimit_t *
ratelimit_new(const ratelimit_config_t *cfg, const trust_hook_t *hook)
{
    ratelimit_t *rl = ls_calloc(1, sizeof *rl);
    rl->cfg = *cfg;
    rl->cfg.msgs_per_sec = clamp_rate(rl->cfg.msgs_per_sec);
    rl->cfg.bytes_per_sec = clamp_rate(rl->cfg.bytes_per_sec);
    rl->cfg.msg_burst = LS_MAX(clamp_rate(rl->cfg.msg_burst), 1);
    rl->cfg.byte_burst = LS_MAX(clamp_rate(rl->cfg.byte_burst), 1);
    rl->cfg.max_peers = LS_MAX(rl->cfg.max_peers, 1);
    rl->hook = hook ? *hook : trust_hook_none;
    rl->buckets = peermap_new(offsetof(bucket_t, id));
    return rl;
}

void
ratelimit_free_(ratelimit_t *rl)
{
    if (!rl)
        return;
    for (bucket_t *b = rl->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    peermap_free(rl->buckets);
    free(rl);
}

/* ---- LRU list ---- */

static void
unlink_bucket(ratelimit_t *rl, bucket_t *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        rl->head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        rl->tail = b->prev;
    b->prev = b->next = NULL;
}

static void
push_front(ratelimit_t *rl, bucket_t *b)
{
    b->next = rl->head;
    if (rl->head)
        rl->head->prev = b;
    rl->head = b;
    if (!rl->tail)
        rl->tail = b;
}

static void
drop_bucket(ratelimit_t *rl, bucket_t *b)
{
    unlink_bucket(rl, b);
    peermap_remove(rl->buckets, &b->id);
    free(b);
}

/* The bucket of `peer`, made most recently used; a new full one if it had none. */
static bucket_t *
bucket_for(ratelimit_t *rl, const peer_id_t *peer, uint64_t now_ms)
{
    bucket_t *b = peermap_get(rl->buckets, peer);
    if (b) {
        unlink_bucket(rl, b);
        push_front(rl, b);
        return b;
    }
    if (peermap_count(rl->buckets) >= rl->cfg.max_peers) {
        drop_bucket(rl, rl->tail);
        rl->stats.evicted++;
    }
    b = ls_calloc(1, sizeof *b);
    b->id = *peer;
    b->msg_milli = rl->cfg.msg_burst * MILLI;
    b->byte_milli = rl->cfg.byte_burst * MILLI;
    b->last_ms = now_ms;
    peermap_put(rl->buckets, b);
    push_front(rl, b);
    return b;
}

/* ---- token arithmetic ---- */

/* `tokens` after `elapsed` ms at `rate` per second, capped at `burst`. */
static uint64_t
refill(uint64_t tokens, uint64_t burst, uint64_t rate, uint64_t elapsed)
{
    uint64_t cap = burst * MILLI;
    if (tokens >= cap)
        return cap;
    uint64_t room = cap - tokens;
    if (elapsed > room / rate) /* rate is thousandths per ms */
        return cap;
    return tokens + elapsed * rate;
}

static void
refill_bucket(const ratelimit_t *rl, bucket_t *b, uint64_t now_ms)
{
    if (now_ms <= b->last_ms)
        return; /* the same millisecond, or a clock that went back */
    uint64_t elapsed = now_ms - b->last_ms;
    if (rl->cfg.msgs_per_sec)
        b->msg_milli = refill(b->msg_milli, rl->cfg.msg_burst, rl->cfg.msgs_per_sec, elapsed);
    if (rl->cfg.bytes_per_sec)
        b->byte_milli = refill(b->byte_milli, rl->cfg.byte_burst, rl->cfg.bytes_per_sec, elapsed);
    b->last_ms = now_ms;
}

static bool
refuse(ratelimit_t *rl, bucket_t *b, size_t bytes, uint64_t now_ms)
{
    rl->stats.refused++;
    rl->stats.refused_bytes += bytes;
    if (b->reported && now_ms < b->last_report_ms + rl->cfg.report_interval_ms)
        return false;
    b->reported = true;
    b->last_report_ms = now_ms;
    rl->stats.reported++;
    trust_hook_report(&rl->hook, &b->id, TRUST_RATE_LIMITED);
    return false;
}

bool
ratelimit_allow(ratelimit_t *rl, const peer_id_t *peer, size_t bytes, uint64_t now_ms)
{
    bucket_t *b = bucket_for(rl, peer, now_ms);
    refill_bucket(rl, b, now_ms);

    bool msg_ok = !rl->cfg.msgs_per_sec || b->msg_milli >= MILLI;
    bool bytes_ok = !rl->cfg.bytes_per_sec ||
                    (bytes <= rl->cfg.byte_burst && b->byte_milli >= (uint64_t)bytes * MILLI);
    if (!msg_ok || !bytes_ok)
        return refuse(rl, b, bytes, now_ms);
    if (rl->cfg.msgs_per_sec)
        b->msg_milli -= MILLI;
    if (rl->cfg.bytes_per_sec)
        b->byte_milli -= (uint64_t)bytes * MILLI;
    rl->stats.allowed++;
    return true;
}

void
ratelimit_forget(ratelimit_t *rl, const peer_id_t *peer)
{
    bucket_t *b = peermap_get(rl->buckets, peer);
    if (b)
        drop_bucket(rl, b);
}

void
ratelimit_stats(const ratelimit_t *rl, ratelimit_stats_t *out)
{
    *out = rl->stats;
    out->peers = peermap_count(rl->buckets);
}
