#!/usr/bin/env python3
"""js gossipsub beside bench/bench_pubsub.c: signed messages from one pinned js-libp2p
peer (@libp2p/gossipsub) to another over loopback, delivered messages per second.

The publisher signs (StrictSign) and the receiver verifies, validates and delivers each
message, one Node.js process (one thread of JavaScript) each: the figure to put beside
Lester's validated+forwarded messages/s. Publish commands are pipelined (not one round
trip each) so the command channel is not what is measured; the clock runs from the
first publish command to the receiver's last `message` event.

usage: bench_js_gossip.py [messages (5000)] [data_bytes (256)]
Prints `pubsub_js_gossip js=<rate>/s msgs=N data_bytes=B seconds=S`; exit 0, or 77
(skipped) when node or tests/interop/node_modules are missing.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as ih  # noqa: E402

TOPIC = "bench/gossip"


def count_messages(js, start=0, seen=0):
    """Messages on TOPIC among js.events[start:], plus `seen`; and the next index."""
    with js._cond:
        evs = js.events[start:]
    return seen + sum(1 for e in evs if e.get("event") == "message" and e.get("topic") == TOPIC), \
        start + len(evs)


def connect(pub, sub):
    """Dial, subscribe both sides and wait until the publisher sees the subscriber."""
    sub.cmd("subscribe", topic=TOPIC)
    pub.cmd("subscribe", topic=TOPIC)
    pub.dial(sub.addrs[0])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if sub.peer_id in pub.cmd("topic_peers", topic=TOPIC)["subscribers"]:
            time.sleep(1.5)  # a heartbeat: the mesh forms both ways
            return
        time.sleep(0.1)
    raise ih.JsPeerError("publisher never saw the subscription", log_tail=sub.log_tail())


def publish_all(pub, n, size):
    """Queue n publish commands without waiting for each reply; returns their ids."""
    ids = []
    for i in range(n):
        rid = "b%d" % i
        data = ("m%d " % i).ljust(size, "x")[:size]
        pub._send({"id": rid, "cmd": "publish", "topic": TOPIC, "data": data, "timeoutMs": 600000})
        ids.append(rid)
    return ids


def wait_all(sub, n, timeout):
    deadline = time.monotonic() + timeout
    got, idx = count_messages(sub)
    while got < n and time.monotonic() < deadline:
        time.sleep(0.005)
        got, idx = count_messages(sub, idx, got)
    return got


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    ok, why = ih.js_available()
    if not ok:
        print("skip: " + why, file=sys.stderr)
        return 77
    with ih.JsPeer({"gossipsub": {}}, name="js-bench-pub") as pub, \
            ih.JsPeer({"gossipsub": {}}, name="js-bench-sub") as sub:
        connect(pub, sub)
        t0 = time.monotonic()
        publish_all(pub, n, size)
        got = wait_all(sub, n, timeout=max(60.0, n / 100.0))
        secs = time.monotonic() - t0
        if got < n:
            print("js delivered %d of %d messages" % (got, n), file=sys.stderr)
            return 1
        print("pubsub_js_gossip js=%.0f/s msgs=%d data_bytes=%d seconds=%.2f" % (n / secs, n, size, secs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
