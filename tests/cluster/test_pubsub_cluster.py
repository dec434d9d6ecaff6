"""GossipSub on a real cluster (issue 5): 50 daemons on loopback join through one
bootstrap node (peers.min keeps the overlay connected), every node subscribes to one
topic through the API's chunked stream (as `lester pubsub sub` does), and 1,000
messages are published from random nodes. Every message must reach every
subscriber's application exactly once; propagation p50/p99 (publish call to the
subscriber's received_ms) are printed.

ASan daemons on 2 cores are heavy, so per-node work is lowered (gossip.fanout 4, a
500 ms heartbeat) and messages are published at a steady pace; everything is polled
with deadlines, never slept on."""
import base64
import http.client
import json
import os
import random
import threading
import time

from harness import Workdir, check, loopback_node, main, run

N = int(os.environ.get("PUBSUB_CLUSTER_N", "50"))
MESSAGES = int(os.environ.get("PUBSUB_CLUSTER_MESSAGES", "1000"))
RATE = float(os.environ.get("PUBSUB_CLUSTER_RATE", "150"))  # publishes per second
TOPIC = "cluster-topic"
STATE = {}


def set_config(home, values):
    path = os.path.join(home, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    for key, value in values.items():
        section, name = key.split(".", 1)
        cfg.setdefault(section, {})[name] = value
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)


class Stream:
    """POST /api/v0/pubsub/sub on one node, collecting (data, received_ms)."""

    def __init__(self, node):
        base = node.api_base().split("//")[1]
        host, port = base.rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=600)
        self.conn.request("POST", "/api/v0/pubsub/sub", body=json.dumps({"topic": TOPIC}),
                          headers={"Authorization": "Bearer " + node.token(),
                                   "Content-Type": "application/json"})
        self.resp = self.conn.getresponse()
        check(self.resp.status == 200, "sub stream: HTTP %d" % self.resp.status)
        self.got = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for line in self.resp:
                m = json.loads(line)
                self.got.append((base64.b64decode(m["data"]).decode(), m["received_ms"]))
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass

    def close(self):
        try:
            self.conn.sock.shutdown(2)
        except OSError:
            pass
        self.conn.close()


def wait_for(what, cond, timeout):
    end = time.time() + timeout
    detail = None
    while time.time() < end:
        ok, detail = cond()
        if ok:
            return
        time.sleep(0.5)
    check(False, "%s after %ss: %s" % (what, timeout, detail))


def setup():
    w = Workdir("pubsub-cluster")
    nodes = [loopback_node(w, "n%d" % i) for i in range(N)]
    for n in nodes:
        set_config(n.home, {"peers.min": 6, "peers.max": 30, "gossip.fanout": 4,
                            "gossip.interval_ms": 500, "peers.discovery_interval_ms": 1000,
                            "log.level": "info"})
    # five seeds, each node after them bootstraps from two of them; a seed at
    # peers.max accepts a newcomer and evicts its lowest-trust peer, so late nodes
    # still get in
    seeds = nodes[:5]
    for i, n in enumerate(seeds):
        if i:
            set_config(n.home, {"swarm.bootstrap": [STATE["boot"][0]]})
        n.start()
        STATE.setdefault("boot", []).append(n.get("/api/v0/id")["addresses"][0])
    rng = random.Random(7)
    for n in nodes[5:]:
        set_config(n.home, {"swarm.bootstrap": rng.sample(STATE["boot"], 2)})
        n.start(wait=False)
    for n in nodes[5:]:
        n.wait_ready(timeout=120)
    STATE.update(w=w, nodes=nodes)


def teardown():
    for s in STATE.get("streams", []):
        s.close()
    bad = []
    for i, n in enumerate(STATE["nodes"]):
        rc = n.stop(timeout=60)
        if rc != 0:
            bad.append((i, rc, n.output()[-1500:]))
    check(not bad, "daemons exited badly: %r" % bad[:2])
    STATE["w"].cleanup()


def test_overlay_connects_and_meshes_form():
    nodes = STATE["nodes"]
    STATE["streams"] = [Stream(n) for n in nodes]

    def meshes():
        small = []
        for i, n in enumerate(nodes):
            _, body = n.request("GET", "/api/v0/pubsub/peers?topic=" + TOPIC)
            if body["mesh_size"] < 2:
                small.append((i, body["mesh_size"], len(body["peers"])))
        return not small, small

    wait_for("every node has a mesh of at least 2", meshes, timeout=300)


def test_thousand_messages_exactly_once():
    nodes, streams = STATE["nodes"], STATE["streams"]
    rng = random.Random(5)
    sent = {}
    t0 = time.time()
    for k in range(MESSAGES):
        i = rng.randrange(len(nodes))
        data = "m%d" % k
        body = {"topic": TOPIC, "data": base64.b64encode(data.encode()).decode()}
        sent[data] = time.time() * 1000.0
        st, out = nodes[i].request("POST", "/api/v0/pubsub/pub", body)
        check(st == 200, "publish on n%d: %d %r" % (i, st, out))
        lag = (k + 1) / RATE - (time.time() - t0)
        if lag > 0:
            time.sleep(lag)
    pub_s = time.time() - t0

    def all_in():
        short = [(i, len(s.got)) for i, s in enumerate(streams) if len(s.got) < MESSAGES]
        return not short, short[:5]

    wait_for("every subscriber has every message", all_in, timeout=300)
    time.sleep(2)  # a straggling duplicate would show now
    lat = []
    for i, s in enumerate(streams):
        datas = [d for d, _ in s.got]
        check(len(datas) == MESSAGES and set(datas) == set(sent),
              "node %d: %d deliveries, %d distinct" % (i, len(datas), len(set(datas))))
        lat.extend(max(0.0, ms - sent[d]) for d, ms in s.got)
    lat.sort()
    p50, p99 = lat[len(lat) // 2], lat[int(len(lat) * 0.99)]
    print("  %d nodes, %d messages published in %.1fs: %d deliveries, all exactly once; "
          "propagation p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
              len(nodes), MESSAGES, pub_s, len(lat), p50, p99, lat[-1]), flush=True)
    STATE["p99"] = p99


def test_cli_views():
    n = STATE["nodes"][1]
    ls = json.loads(run("--json", "pubsub", "ls", home=n.home, check_rc=0).stdout)
    check(TOPIC in ls, "pubsub ls: %r" % ls)
    peers = json.loads(run("--json", "pubsub", "peers", TOPIC, home=n.home, check_rc=0).stdout)
    check(any(p["mesh"] for p in peers), "pubsub peers shows the mesh: %r" % peers)
    trust = json.loads(run("--json", "trust", "list", home=n.home, check_rc=0).stdout)
    check(any(t["trust"] > 0.5 for t in trust), "honest peers earned trust")


if __name__ == "__main__":
    try:
        setup()
        main([test_overlay_connects_and_meshes_form, test_thousand_messages_exactly_once,
              test_cli_views])
    finally:
        if STATE.get("nodes"):
            teardown()
