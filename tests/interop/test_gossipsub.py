"""GossipSub interop (issue 5): two Lester daemons and two js-libp2p peers
(@libp2p/gossipsub, pinned in tests/interop) in one mesh on one topic.

Topology: L1 <-> L2; js1 dials L1 and L2; js2 dials L1 only and runs with D = 0, so
it keeps no mesh at all (it prunes whoever grafts it). Messages published on any of
the four reach every subscriber; js2 can then only get others' messages by gossip:
L1 announces them with IHAVE, js2 asks with IWANT and L1 serves them — L1's
lester_pubsub_control_total{kind="iwant_served"} proves the path was taken.
js dials offering /meshsub/1.2.0 first and both speak it: js sends IDONTWANT for
messages over 512 bytes, which Lester honours (counted as
lester_pubsub_control_total{kind="idontwant_received"}, only from v1.2 peers).
js2 has a secp256k1 identity, so its StrictSign signatures are ECDSA ones.
Lester's own subscriptions are `lester pubsub sub --json` streams."""
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
from harness import LESTER, Workdir, check, loopback_node, main, run  # noqa: E402

import importlib.util  # noqa: E402

_spec = importlib.util.spec_from_file_location("interop_harness", os.path.join(HERE, "harness.py"))
ih = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ih)

TOPIC = "interop-chat"
PER_NODE = 3
STATE = {}


class Sub:
    """`lester pubsub sub TOPIC --json` in the background, collecting messages."""

    def __init__(self, node):
        self.msgs = []
        self.proc = subprocess.Popen([LESTER, "--home", node.home, "pubsub", "sub", TOPIC,
                                      "--json"], stdout=subprocess.PIPE, text=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.msgs.append(json.loads(line))
            except ValueError:
                pass

    def datas(self):
        import base64
        return {base64.b64decode(m["data"]).decode() for m in self.msgs}

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def metric(node, name, labels):
    body = node.request("GET", "/metrics", token=False, raw=True)[1].decode()
    for line in body.splitlines():
        if line.startswith(name + "{") and all(l in line for l in labels):
            return float(line.split()[-1])
    return 0.0


def wait_for(what, cond, timeout=30):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        ok, last = cond()
        if ok:
            return
        time.sleep(0.2)
    check(False, "%s: %s" % (what, last))


def setup():
    w = Workdir("interop-gossip")
    l1, l2 = loopback_node(w, "l1"), loopback_node(w, "l2")
    for n in (l1, l2):
        n.config_set("gossip.interval_ms", "700")
        n.start()
    id1, id2 = l1.get("/api/v0/id"), l2.get("/api/v0/id")
    run("swarm", "connect", id1["addresses"][0], home=l2.home, check_rc=0)
    js1 = ih.JsPeer({"gossipsub": {}}, name="js-gossip1")
    # js2 has a secp256k1 identity: its StrictSign signatures are ECDSA, which
    # Lester verifies through sigverify (the key is inlined in its peer ID)
    js2 = ih.JsPeer({"keyType": "secp256k1",
                     "gossipsub": {"D": 0, "Dlo": 0, "Dhi": 0, "Dout": 0, "Dscore": 0,
                                   "Dlazy": 0}}, name="js-gossip2")
    js1.start()
    js2.start()
    js1.dial(id1["addresses"][0])
    js1.dial(id2["addresses"][0])
    js2.dial(id1["addresses"][0])
    STATE.update(w=w, l1=l1, l2=l2, id1=id1["id"], id2=id2["id"], js1=js1, js2=js2)


def teardown():
    for s in STATE.get("subs", []):
        s.stop()
    for js in ("js1", "js2"):
        STATE[js].stop()
    for n in ("l1", "l2"):
        rc = STATE[n].stop()
        check(rc == 0, "daemon %s exited %d" % (n, rc))
    STATE["w"].cleanup()


def test_everyone_subscribes_and_sees_each_other():
    l1, l2, js1, js2 = STATE["l1"], STATE["l2"], STATE["js1"], STATE["js2"]
    STATE["subs"] = [Sub(l1), Sub(l2)]
    js1.cmd("subscribe", topic=TOPIC)
    js2.cmd("subscribe", topic=TOPIC)

    def lester_sees(node, want):
        def cond():
            _, body = node.request("GET", "/api/v0/pubsub/peers?topic=" + TOPIC)
            got = {p["peer"] for p in body["peers"]}
            return want <= got, got
        return cond

    wait_for("L1 sees L2, js1, js2 subscribed",
             lester_sees(l1, {STATE["id2"], js1.peer_id, js2.peer_id}))
    wait_for("L2 sees L1 and js1 subscribed", lester_sees(l2, {STATE["id1"], js1.peer_id}))

    def js_sees(js, want):
        def cond():
            got = set(js.cmd("topic_peers", topic=TOPIC)["subscribers"])
            return want <= got, got
        return cond

    wait_for("js1 sees both Lester nodes", js_sees(js1, {STATE["id1"], STATE["id2"]}))
    wait_for("js2 sees L1", js_sees(js2, {STATE["id1"]}))
    # meshes form across implementations (js2 keeps none, by its D = 0)
    wait_for("js1 meshes with a Lester node", lambda: (
        bool(set(js1.cmd("mesh_peers", topic=TOPIC)["mesh"]) & {STATE["id1"], STATE["id2"]}),
        js1.cmd("mesh_peers", topic=TOPIC)))
    _, body = l1.request("GET", "/api/v0/pubsub/peers?topic=" + TOPIC)
    check(body["mesh_size"] >= 1, "L1 has a mesh: %r" % body)


def test_messages_reach_every_subscriber():
    l1, l2, js1, js2 = STATE["l1"], STATE["l2"], STATE["js1"], STATE["js2"]
    sent = []
    time.sleep(1.5)  # a heartbeat or two: meshes settle
    for k in range(PER_NODE):
        for name, node in (("l1", l1), ("l2", l2)):
            d = "%s-%d" % (name, k)
            run("pubsub", "pub", TOPIC, d, home=node.home, check_rc=0)
            sent.append(d)
        for name, js in (("js1", js1), ("js2", js2)):
            d = "%s-%d" % (name, k)
            js.cmd("publish", topic=TOPIC, data=d)
            sent.append(d)
    want = set(sent)
    subs = STATE["subs"]

    def js_got(js):
        return {e["data"] for e in js.events_named("message") if e.get("topic") == TOPIC}

    def everyone():
        missing = {
            "l1": want - subs[0].datas(), "l2": want - subs[1].datas(),
            "js1": {d for d in want - js_got(js1) if not d.startswith("js1-")},
            "js2": {d for d in want - js_got(js2) if not d.startswith("js2-")},
        }
        return not any(missing.values()), missing

    wait_for("every message at every subscriber", everyone, timeout=30)
    # exactly once at the Lester applications
    for s in subs:
        datas = [m["data"] for m in s.msgs]
        check(len(datas) == len(set(datas)), "duplicates delivered: %r" % datas)
    # StrictSign fields survive both ways
    m = next(x for x in subs[0].msgs if x["from"] == js1.peer_id)
    check(m["seqno"] and len(m["seqno"]) == 16, "seqno from js: %r" % m)
    check(any(x["from"] == js2.peer_id for x in subs[1].msgs),
          "L2 accepted messages signed with js2's secp256k1 key")
    ev = next(e for e in js1.events_named("message") if e["data"].startswith("l2-"))
    check(ev["from"] == STATE["id2"] and ev["signed"], "js sees Lester's signed message: %r" % ev)


def test_iwant_path_serves_the_meshless_js_peer():
    """js2 has no mesh; what it got from others came by IHAVE/IWANT from L1."""
    l1, js2 = STATE["l1"], STATE["js2"]
    check(js2.cmd("mesh_peers", topic=TOPIC)["mesh"] in ([], None), "js2 keeps no mesh")
    # counters reach /metrics at L1's next heartbeat
    wait_for("L1 served IWANT", lambda: (
        metric(l1, "lester_pubsub_control_total", ['kind="iwant_served"']) >= 1,
        metric(l1, "lester_pubsub_control_total", ['kind="ihave_sent"'])), timeout=10)
    served = metric(l1, "lester_pubsub_control_total", ['kind="iwant_served"'])
    ihave = metric(l1, "lester_pubsub_control_total", ['kind="ihave_sent"'])
    got = {e["data"] for e in js2.events_named("message")}
    check(any(d.startswith("l2-") or d.startswith("js1-") for d in got),
          "js2 got others' messages: %r" % got)
    print("  L1: IHAVE IDs sent %d, messages served for IWANT %d" % (ihave, served))


def test_js_speaks_v12_and_its_idontwant_is_honoured():
    """A 2 KiB message from L2: js1 receives it and tells its other mesh peers (v1.2)
    IDONTWANT; the Lester that receives it records it (only a v1.2 peer's counts)."""
    l1, l2, js1 = STATE["l1"], STATE["l2"], STATE["js1"]
    big = "big-" + "x" * 2048
    run("pubsub", "pub", TOPIC, big, home=l2.home, check_rc=0)

    def recorded():
        got = any(e["data"] == big for e in js1.events_named("message"))
        n = sum(metric(n, "lester_pubsub_control_total", ['kind="idontwant_received"'])
                for n in (l1, l2))
        return got and n >= 1, (got, n)
    wait_for("an IDONTWANT from js recorded by a Lester node", recorded, timeout=20)
    wait_for("the big message at L1's application", lambda: (big in STATE["subs"][0].datas(),
                                                             None), timeout=10)


def test_trust_and_metrics_after_traffic():
    l1, js1 = STATE["l1"], STATE["js1"]
    p = run("--json", "trust", "show", js1.peer_id, home=l1.home, check_rc=0)
    t = json.loads(p.stdout)
    check(t["valid_messages"] >= 1 and t["trust"] > 0.5, "js1 earned trust: %r" % t)
    check(any(e["event"] == "valid_message" for e in t["events"]), "events recorded: %r" % t)
    lst = json.loads(run("--json", "trust", "list", home=l1.home, check_rc=0).stdout)
    check(js1.peer_id in {x["peer"] for x in lst}, "trust list has js1")
    wait_for("delivered counted in /metrics", lambda: (
        metric(l1, "lester_pubsub_messages_total", ['kind="delivered"']) >= 1, None), timeout=10)


if __name__ == "__main__":
    if not ih.js_available():
        print("SKIP: node or tests/interop/node_modules missing (scripts/interop-deps.sh)")
        sys.exit(0)
    try:
        setup()
        rc = main([test_everyone_subscribes_and_sees_each_other,
                   test_messages_reach_every_subscriber,
                   test_iwant_path_serves_the_meshless_js_peer,
                   test_js_speaks_v12_and_its_idontwant_is_honoured,
                   test_trust_and_metrics_after_traffic])
    finally:
        if STATE.get("js1"):
            teardown()
    sys.exit(rc)
