/* trust_hook — how the net layer tells the trust manager what a peer did.
 *
 * Seed 001's trust model ("Trust Module": +0.001 for a valid message, -0.1 for an
 * invalid one, -0.05 for a timeout, decay toward the initial value) is implemented
 * by the trust manager of the gossip issue. The net layer only *observes* events and
 * reports them through this hook; it never changes a peer's trust itself. Until the
 * trust manager lands the hook is trust_hook_none, which drops every event.
 *
 * The loop closes through the peer store: the trust manager applies its arithmetic
 * and writes the result with peerstore_set_trust(); the connection manager reads
 * trust from the peer store to choose whom to dial, whom to evict at capacity, and
 * whom to disconnect below the minimum threshold. So plugging the trust manager in
 * is one assignment: build a trust_hook_t whose ctx is the manager and pass it to
 * connmgr_set_trust_hook() and ratelimit_new(). Upper layers (gossip validation,
 * DHT) report their own events through the same hook.
 *
 * Reporting modules call the hook synchronously, after their own state is updated.
 * The hook may call peerstore_set_trust() and other peer-store setters; it must not
 * free the module that called it. */
#ifndef LS_NET_TRUST_HOOK_H
#define LS_NET_TRUST_HOOK_H

#include "lib/peerid/peerid.h"

/** What a peer did. Values are stable (they may be stored); add new ones before
 *  TRUST_EVENT_COUNT. */
typedef enum trust_event_t {
    TRUST_VALID_MESSAGE = 0,  /* a message passed validation (seed 001: +0.001) */
    TRUST_INVALID_MESSAGE,    /* a message failed validation, e.g. a bad signature
                                 (seed 001: -0.1) */
    TRUST_TIMEOUT,            /* a request or keepalive ping went unanswered
                                 (seed 001: -0.05) */
    TRUST_PROTOCOL_VIOLATION, /* malformed frames, oversized messages, stream floods:
                                 the connection was closed for it */
    TRUST_RATE_LIMITED,       /* the peer exceeded its inbound rate limit (reported
                                 at most once per peer per ratelimit interval) */
    TRUST_EVENT_COUNT
} trust_event_t;

/** The trust manager's side. `ctx` is passed back and never freed; `report` may be
 *  NULL (events are dropped). `peer` is borrowed for the call. */
typedef struct trust_hook_t {
    void *ctx;
    void (*report)(void *ctx, const peer_id_t *peer, trust_event_t ev);
} trust_hook_t;

/** The default hook: drops every event. */
extern const trust_hook_t trust_hook_none;

/** Report `ev` about `peer` through `hook`; a NULL hook or a NULL `report` does
 *  nothing, as does an event out of range (a caller's bug, logged). */
void trust_hook_report(const trust_hook_t *hook, const peer_id_t *peer, trust_event_t ev);

/** A stable lower-case name for `ev` ("valid_message", "timeout", ...), as stored in
 *  the trust_events table; "unknown" out of range. Never NULL. */
const char *trust_event_name(trust_event_t ev);

#endif
