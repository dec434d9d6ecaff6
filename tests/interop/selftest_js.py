#!/usr/bin/env python3
"""Self-check of the interop tooling: two js-libp2p peers (js/peer.mjs) driven by
harness.JsPeer. Not a ctest test (its name does not start with test_); run it by hand:

    scripts/interop-deps.sh && python3 tests/interop/selftest_js.py [--quick]

Checks dial, ping, identify, echo (100 streams x 1 MiB), bulk (256 MiB), the served
echo/bulk events, hangup and clean stop, and prints the js<->js figures.
--quick uses 10 x 64 KiB echo and a 16 MiB bulk.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import MiB, JsPeer, js_available  # noqa: E402

SEED_A = "11" * 32


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("  ok  " + what)


def main():
    quick = "--quick" in sys.argv
    echo_streams, echo_bytes = (10, 64 * 1024) if quick else (100, MiB)
    bulk_bytes = 16 * MiB if quick else 256 * MiB

    ok, why = js_available()
    if not ok:
        print("selftest_js: " + why)
        return 1

    a = JsPeer({"seed": SEED_A, "agentVersion": "lester-selftest-a/0.0.1"}, name="self-a")
    b = JsPeer({"dht": {"protocol": "/lester/kad/1.0.0"}, "gossipsub": True}, name="self-b")
    passed = failed = 0
    try:
        t0 = time.monotonic()
        a.start()
        b.start()
        print("started 2 js peers in %.2fs (logs: %s, %s)" % (time.monotonic() - t0, a.log_path, b.log_path))
        check(a.peer_id.startswith("12D3KooW"), "ready: Ed25519 peer id %s" % a.peer_id)
        check(all("/p2p/" + a.peer_id in x for x in a.addrs), "ready: addrs carry /p2p/ (%s)" % a.addr)
        again = JsPeer({"seed": SEED_A}, name="self-a2").start()
        same = again.peer_id == a.peer_id
        again.stop()
        check(same, "fixed seed gives the same peer id")

        r = a.dial(b.addr)
        check(r["peer"] == b.peer_id, "dial -> %s (%s, %s)" % (r["peer"], r["encryption"], r["multiplexer"]))
        a.wait_event("connect", peer=b.peer_id, timeout=10)
        b.wait_event("connect", peer=a.peer_id, timeout=10)
        check(True, "connect events on both sides")

        rtt = a.ping(peer=b.peer_id)
        check(rtt >= 0, "ping by peer id: rtt %s ms" % rtt)
        rtt2 = b.ping(addr=a.addr)
        check(rtt2 >= 0, "ping by addr: rtt %s ms" % rtt2)

        idb = a.identify(b.peer_id)
        check("/lester/kad/1.0.0" in idb["protocols"] and "/meshsub/1.2.0" in idb["protocols"],
              "identify b: protocols %s" % idb["protocols"])
        check(idb["protocolVersion"] == "ipfs/0.1.0" and "libp2p/" in idb["agentVersion"],
              "identify b: %s / %s" % (idb["protocolVersion"], idb["agentVersion"]))
        check(idb["listenAddrs"] and idb["observedAddr"] and idb["observedAddr"].startswith("/ip4/127.0.0.1/tcp/"),
              "identify b: listenAddrs %s, observedAddr %s" % (idb["listenAddrs"], idb["observedAddr"]))
        ida = b.identify(a.peer_id, refresh=True)
        check(ida["agentVersion"] == "lester-selftest-a/0.0.1" and ida["source"] == "request",
              "identify a (fresh request): agentVersion %s" % ida["agentVersion"])

        peers = a.peers()
        check(len(peers) == 1 and peers[0]["peer"] == b.peer_id, "peers: %s" % peers[0]["addrs"])

        e = a.echo(b.peer_id, streams=echo_streams, nbytes=echo_bytes)
        check(e["okStreams"] == echo_streams and e["receivedBytes"] == echo_streams * echo_bytes,
              "echo %d x %d KiB: %.0f ms, %.1f MB/s both ways" % (echo_streams, echo_bytes // 1024, e["ms"], e["mbps"]))
        served = [x for x in b.events_named("echo_served")]
        deadline = time.monotonic() + 10
        while len(served) < echo_streams and time.monotonic() < deadline:
            time.sleep(0.05)
            served = b.events_named("echo_served")
        check(len(served) == echo_streams and all(x["ok"] for x in served), "echo_served events: %d" % len(served))

        bl = a.bulk(b.peer_id, bulk_bytes)
        sv = b.wait_event("bulk_served", timeout=30)
        check(sv["bytes"] == bulk_bytes and sv["ok"],
              "bulk %d MiB a->b: %.1f MB/s (%.1f MiB/s), %.0f ms; receiver counted %d"
              % (bulk_bytes // MiB, bl["mbps"], bl["mibps"], bl["ms"], sv["bytes"]))
        bl2 = b.bulk(a.peer_id, bulk_bytes)
        check(a.wait_event("bulk_served", timeout=30)["bytes"] == bulk_bytes,
              "bulk %d MiB b->a: %.1f MB/s" % (bulk_bytes // MiB, bl2["mbps"]))

        bad = a.cmd("echo", check=False, peer="not-a-peer-id")
        check(bad["ok"] is False and bad["error"], "bad command -> error reply (%s)" % bad["error"][:60])
        check(a.alive(), "peer survives bad commands")

        a.hangup(b.peer_id)
        b.wait_event("disconnect", peer=a.peer_id, timeout=10)
        check(a.peers() == [], "hangup -> disconnect")
        passed += 1
    except Exception as exc:  # noqa: BLE001
        failed += 1
        print("FAILED: %s" % exc)
        for p in (a, b):
            print("--- %s stderr tail (%s) ---\n%s" % (p.name, p.log_path, p.log_tail()))
    finally:
        rc = [a.stop(), b.stop()]
    print("peer exit codes: %s" % rc)
    if rc != [0, 0]:
        failed += 1
        passed = 0
    print("selftest_js: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
