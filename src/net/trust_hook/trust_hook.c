#define LOG_MODULE "trust"
#include "net/trust_hook/trust_hook.h"

#include "lib/log/log.h"

const trust_hook_t trust_hook_none = {NULL, NULL};

static const char *const names[TRUST_EVENT_COUNT] = {
    [TRUST_VALID_MESSAGE] = "valid_message",
    [TRUST_INVALID_MESSAGE] = "invalid_message",
    [TRUST_TIMEOUT] = "timeout",
    [TRUST_PROTOCOL_VIOLATION] = "protocol_violation",
    [TRUST_RATE_LIMITED] = "rate_limited",
};

const char *
trust_event_name(trust_event_t ev)
{
    if ((unsigned)ev >= TRUST_EVENT_COUNT)
        return "unknown";
    return names[ev];
}

void
trust_hook_report(const trust_hook_t *hook, const peer_id_t *peer, trust_event_t ev)
{
    if ((unsigned)ev >= TRUST_EVENT_COUNT) {
        log_error("trust event %d out of range", (int)ev);
        return;
    }
    if (hook && hook->report)
        hook->report(hook->ctx, peer, ev);
}
