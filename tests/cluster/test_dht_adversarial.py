"""DHT abuse on real daemons (issue 4), through the real stream glue:

  - one peer flooding FIND_NODE at node A is rate-limited (dht.requests_per_sec) and
    reported to the trust manager, while another peer is served by A at the same time;
  - with dht.sybil_limit_private on, node A admits at most 2 peers of one /24 per bucket
    and 10 in its table, although all 11 others (one /24: 127.0.0.1) answer it; nodes
    with the default (loopback exempt) take all 11.

Records refused by a serving node (forged, unsigned, expired, oversized, replayed
older) are sent by a js-libp2p peer in tests/interop/test_kad_dht.py; the validator
rules themselves are unit-tested in tests/unit/dht/test_records.c, and 200 Sybils
against one table in tests/unit/dht/test_routing.c."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness import Workdir, check, fail, loopback_node, main, run

N = 12
STATE = {}


def wait_for(what, cond, timeout):
    end = time.time() + timeout
    detail = None
    while time.time() < end:
        ok, detail = cond()
        if ok:
            return detail
        time.sleep(0.3)
    fail("%s not reached in %ss: %s" % (what, timeout, detail))


def metric(node, name, label=""):
    body = node.request("GET", "/metrics", token=False, raw=True)[1].decode()
    for line in body.splitlines():
        if line.startswith(name) and label in line:
            return float(line.split()[-1])
    return 0.0


def routing(node):
    return node.request("GET", "/api/v0/dht/routing")[1]


def closest(node, key):
    st, body = node.request("POST", "/api/v0/dht/closest", {"key": key})
    return body.get("peers", []) if st == 200 else []


def setup():
    w = Workdir("dht-adv")
    nodes = [loopback_node(w, "n%02d" % i) for i in range(N)]
    a = nodes[0]
    a.config_set("dht.requests_per_sec", "5")
    a.config_set("dht.request_burst", "10")
    a.config_set("dht.sybil_limit_private", "true")
    for n in nodes:
        n.config_set("dht.mode", '"server"')
        n.start()
    ids = [n.get("/api/v0/id") for n in nodes]
    for n in nodes[1:]:
        run("swarm", "connect", ids[0]["addresses"][0], home=n.home, check_rc=0)
    for i, n in enumerate(nodes):
        n.id = ids[i]["id"]
    client = loopback_node(w, "client")
    client.config_set("dht.mode", '"client"')
    client.start()
    client.id = client.get("/api/v0/id")["id"]
    run("swarm", "connect", ids[0]["addresses"][0], home=client.home, check_rc=0)
    STATE.update(w=w, nodes=nodes, client=client)


def teardown():
    for n in STATE.get("nodes", []) + ([STATE["client"]] if STATE.get("client") else []):
        n.stop()
    STATE["w"].cleanup()


def test_tables_and_sybil_limit():
    nodes = STATE["nodes"]
    a = nodes[0]

    def full():
        for n in nodes:
            closest(n, "/lester/warm-%s" % n.id[-6:])
        sizes = [routing(n)["size"] for n in nodes]
        return all(s >= N - 1 for s in sizes[1:]), sizes
    sizes = wait_for("tables of the exempt nodes hold all %d others" % (N - 1), full, 90)
    r = routing(a)
    per_bucket = {b["cpl"]: b["peers"] for b in r["buckets"]}
    check(r["size"] <= 10, "A (limit on) holds at most 10 of one /24: %r" % sizes)
    check(all(v <= 2 for v in per_bucket.values()), "at most 2 per bucket: %r" % per_bucket)
    check(sum(b["replacements"] for b in r["buckets"]) == 0 or r["size"] < N - 1,
          "the rest are kept out: %r" % r)
    print("  table sizes %r; A (sybil limit on private ranges): %d peers, per bucket %r" %
          (sizes, r["size"], per_bucket))


def test_client_mode_is_not_advertised_nor_tabled():
    """A client-mode node queries but does not serve: identify does not list the kad
    protocol, so no server probes it or keeps it in its table."""
    client, nodes = STATE["client"], STATE["nodes"]
    p = run("--json", "id", client.id, home=nodes[0].home, check_rc=0)
    check("/lester/kad/1.0.0" not in p.stdout, "client's identify lists no kad: %s" % p.stdout)
    p = run("--json", "id", nodes[0].id, home=nodes[1].home, check_rc=0)
    check("/lester/kad/1.0.0" in p.stdout, "a server's identify lists kad")
    check(len(closest(client, "/lester/from-client")) >= 5, "the client can look up")
    r = client.request("GET", "/api/v0/dht/routing")[1]
    check(r["mode"] == "client" and r["size"] >= 1, "client routing: %r" % r)
    for n in nodes:
        entries = {e["peer"] for b in routing(n)["buckets"] for e in b["entries"]}
        check(client.id not in entries, "no server tables the client")


def test_find_node_flood_is_rate_limited_while_others_are_served():
    nodes = STATE["nodes"]
    a, flooder, honest = nodes[0], nodes[1], nodes[2]
    before = metric(a, "lester_dht_requests_rate_limited_total")
    trust_before = metric(a, "lester_trust_events_total", 'event="rate_limited"')
    stop = threading.Event()
    served = []

    def honest_loop():
        k = 0
        while not stop.is_set():
            served.append(a.id in closest(honest, "/lester/honest-%d" % k))
            k += 1
            time.sleep(0.3)
    t = threading.Thread(target=honest_loop)
    t.start()
    try:
        with ThreadPoolExecutor(32) as ex:  # ~10 s of lookups, each asks A
            list(ex.map(lambda k: closest(flooder, "/lester/flood-%d" % k), range(600)))
    finally:
        stop.set()
        t.join()
    limited = metric(a, "lester_dht_requests_rate_limited_total") - before
    check(limited >= 10, "A refused the flooder's requests (%d)" % limited)
    check(metric(a, "lester_trust_events_total", 'event="rate_limited"') > trust_before,
          "the flood was reported to the trust manager")
    check(served and sum(served) >= len(served) * 0.8,
          "A kept answering the honest peer: %d of %d lookups" % (sum(served), len(served)))
    print("  A refused %d FIND_NODE from the flooder; answered the honest peer in %d/%d "
          "lookups" % (limited, sum(served), len(served)))


if __name__ == "__main__":
    try:
        setup()
        main([test_tables_and_sybil_limit, test_client_mode_is_not_advertised_nor_tabled,
              test_find_node_flood_is_rate_limited_while_others_are_served])
    finally:
        if STATE.get("w"):
            teardown()
