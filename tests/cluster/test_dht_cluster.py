"""Kademlia DHT on a real cluster (issue 4): 50 daemons on loopback (`lester devnet up
-n 50`, all bootstrapping from node0), every node a DHT server.

  - every node finds a few others by peer ID (`dht findpeer` through the API) and
    every node is found by someone;
  - 1,000 signed values are put (spread over all nodes) and read back by other
    nodes, all byte-exact; get latency p50/p99 is printed;
  - 30% of the nodes are SIGKILLed: every value is still found by the survivors.

The work runs through the API in parallel threads; everything waits with deadlines,
so a loaded 2-core machine with an ASan build is only slower (the p50 goal, < 10 ms,
is for release builds and is printed, not asserted). LESTER_DHT_N / _VALUES shrink it."""
import base64
import json
import os
import random
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from harness import Node, Workdir, check, fail, main, run

N = int(os.environ.get("LESTER_DHT_N", "50"))
VALUES = int(os.environ.get("LESTER_DHT_VALUES", "1000"))
FIND_EACH = 3
THREADS = 8
KILL_SHARE = 0.3
STATE = {}


def api(node, method, path, body=None, timeout=60):
    status, out = node.request(method, path, body, timeout=timeout)
    return status, out


def wait_for(what, cond, timeout):
    end = time.time() + timeout
    detail = None
    while time.time() < end:
        ok, detail = cond()
        if ok:
            return
        time.sleep(0.5)
    fail("%s not reached in %ss: %s" % (what, timeout, detail))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def setup():
    w = Workdir("dht-cluster")
    d = os.path.join(w.path, "devnet")
    t0 = time.time()
    run("devnet", "up", "-n", str(N), "--dir", d, "--log-level", "warn", check_rc=0, timeout=600)
    st = json.loads(run("devnet", "status", "--dir", d, "--json", check_rc=0).stdout)
    nodes = []
    for s in st:
        n = Node(s["home"])
        n.id, n.pid = s["id"], s["pid"]
        nodes.append(n)
    STATE.update(w=w, dir=d, nodes=nodes, alive=list(range(N)))
    print("  %d daemons up in %.1fs" % (N, time.time() - t0))


def teardown():
    if STATE.get("dir"):
        run("devnet", "down", "--dir", STATE["dir"], timeout=120)
    STATE["w"].cleanup()


def test_routing_tables_fill():
    nodes = STATE["nodes"]
    want = min(10, N - 1)

    def sizes():
        s = [api(n, "GET", "/api/v0/dht/routing")[1]["size"] for n in nodes]
        return min(s) >= want, "min %d, sizes %s" % (min(s), s)
    wait_for("every routing table holds %d peers" % want, sizes, timeout=120)


def test_every_node_finds_others():
    nodes = STATE["nodes"]
    steps = [1, 7, 23][:FIND_EACH]
    jobs = [(i, (i + s) % N) for i in range(N) for s in steps]

    def find(job):
        i, j = job
        st, body = api(nodes[i], "POST", "/api/v0/dht/findpeer", {"peer": nodes[j].id})
        ok = st == 200 and any("/tcp/" in a for a in body.get("addrs", []))
        return job, ok, body
    with ThreadPoolExecutor(THREADS) as ex:
        res = list(ex.map(find, jobs))
    bad = [(job, body) for job, ok, body in res if not ok]
    check(not bad, "%d/%d findpeer failed: %r" % (len(bad), len(jobs), bad[:3]))
    found = {j for (_, j), ok, _ in res if ok}
    check(found == set(range(N)), "every node is found by someone: missing %s" %
          (set(range(N)) - found))
    print("  %d findpeer lookups ok; every node found" % len(jobs))


def test_values_put_and_read_back():
    nodes = STATE["nodes"]
    rng = random.Random(4)
    values = {}
    for k in range(VALUES):
        values["/lester/cluster-%04d" % k] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
    STATE["values"] = values
    keys = sorted(values)

    def put(idx):
        key = keys[idx]
        st, body = api(nodes[idx % N], "POST", "/api/v0/dht/put",
                       {"key": key, "value": base64.b64encode(values[key]).decode()})
        return key, st == 200 and body.get("peers_ok", 0) >= 1, body
    t0 = time.time()
    with ThreadPoolExecutor(THREADS) as ex:
        res = list(ex.map(put, range(len(keys))))
    bad = [(k, b) for k, ok, b in res if not ok]
    check(not bad, "%d puts failed: %r" % (len(bad), bad[:3]))
    print("  %d puts in %.1fs" % (len(keys), time.time() - t0))
    lat = read_all(list(range(N)), "after puts")
    print("  get: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms (daemon-side lookup time; "
          "client round trip p50 %.2f ms)" % (pct(lat[0], .5), pct(lat[0], .9), pct(lat[0], .99),
                                              pct(lat[1], .5)))


def read_all(readers, what):
    """Every value, read from a reader other than its writer; returns latencies."""
    nodes, values = STATE["nodes"], STATE["values"]
    keys = sorted(values)

    def get(idx):
        key = keys[idx]
        r = readers[(idx * 7 + 13) % len(readers)]
        if r == idx % N:
            r = readers[(idx * 7 + 14) % len(readers)]
        t = time.perf_counter()
        st, body = api(nodes[r], "POST", "/api/v0/dht/get", {"key": key})
        rtt = (time.perf_counter() - t) * 1000
        ok = st == 200 and base64.b64decode(body.get("value", "")) == values[key]
        return key, ok, body, (body.get("ms", 0.0), body.get("hops", 0)) if ok else None, rtt
    t0 = time.time()
    with ThreadPoolExecutor(THREADS) as ex:
        res = list(ex.map(get, range(len(keys))))
    bad = [(k, b) for k, ok, b, _, _ in res if not ok]
    check(not bad, "%s: %d/%d gets failed: %r" % (what, len(bad), len(keys), bad[:3]))
    print("  %s: %d gets ok in %.1fs" % (what, len(keys), time.time() - t0))
    remote = [m[0] for *_, m, _ in res if m is not None and m[1] > 0]
    print("  %d of them over the network (the reader did not hold the value): p50 %.2f ms, "
          "p99 %.2f ms" % (len(remote), pct(remote, .5), pct(remote, .99)))
    return [m[0] for *_, m, _ in res if m is not None], [rtt for *_, rtt in res]


def test_values_survive_killing_30_percent():
    nodes = STATE["nodes"]
    rng = random.Random(30)
    victims = rng.sample(range(1, N), int(N * KILL_SHARE))
    for i in victims:
        os.kill(nodes[i].pid, signal.SIGKILL)
    alive = [i for i in range(N) if i not in victims]
    STATE["alive"] = alive
    time.sleep(1)
    lat = read_all(alive, "after SIGKILL of %d nodes" % len(victims))
    print("  get after kills: p50 %.2f ms, p99 %.2f ms" % (pct(lat[0], .5), pct(lat[0], .99)))


if __name__ == "__main__":
    try:
        setup()
        main([test_routing_tables_fill, test_every_node_finds_others,
              test_values_put_and_read_back, test_values_survive_killing_30_percent])
    finally:
        if STATE.get("w"):
            teardown()
