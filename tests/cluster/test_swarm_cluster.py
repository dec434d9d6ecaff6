"""Peer management on a real cluster (issue 3): 20 daemons on loopback join through
one bootstrap node and find each other (/lester/peers/1.0.0); peers.max holds (a
node pushed over it evicts down to it); SIGKILL half of them, the rest stay within
their limits and reconnect among themselves; the killed nodes restart with no
bootstrap address at all and reconnect from the peers cached in their database.

Everything is polled with deadlines, never slept on, so a loaded 2-core machine with
ASan builds only makes it slower."""
import json
import os
import sqlite3
import time

from harness import Workdir, check, fail, loopback_node, main, run, run_json

N = 20
SMALL = range(15, 20)        # nodes with peers.max = 8, to exercise the limit
SMALL_MAX, SMALL_MIN = 8, 4
BIG_MAX, BIG_MIN = 50, 8
GRACE_S = 3                  # peers.grace_ms below
STATE = {}


def set_config(home, values):
    """Edit config.json of a stopped node: {"peers.max": 8, ...}."""
    path = os.path.join(home, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    for key, value in values.items():
        section, name = key.split(".", 1)
        cfg.setdefault(section, {})[name] = value
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)


def limits(i):
    return (SMALL_MIN, SMALL_MAX) if i in SMALL else (BIG_MIN, BIG_MAX)


def peer_ids(node):
    """Connected peers through the API (cheap enough to poll)."""
    status, body = node.request("GET", "/api/v0/swarm/peers")
    if status != 200:
        raise ValueError("swarm/peers -> %d" % status)
    return {p["peer"] for p in body["peers"]}


def metric(node, name):
    body = node.request("GET", "/metrics", token=False, raw=True)[1].decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def wait_for(what, cond, timeout):
    """Poll `cond()` (returns (ok, detail)) until ok; fail with the last detail."""
    end = time.time() + timeout
    detail = None
    while time.time() < end:
        ok, detail = cond()
        if ok:
            return
        time.sleep(0.3)
    fail("%s not reached in %ss: %s" % (what, timeout, detail))


def hard_limit(i):
    """peers.max plus the headroom the connection manager accepts while it waits for
    a newcomer's grace period to end before evicting."""
    return limits(i)[1] + max(2, limits(i)[1] // 8)


def watch_limits(indices, strict=True):
    """A sample of connected counts. Unless we dialled past the limit ourselves
    (not `strict`), a count over max + headroom is a bug at once."""
    counts = {}
    for i in indices:
        count = len(peer_ids(STATE["nodes"][i]))
        check(not strict or count <= hard_limit(i),
              "node%d has %d peers, over max + headroom (%d)" % (i, count, hard_limit(i)))
        counts[i] = count
    return counts


def wait_connected(indices, targets, timeout):
    def cond():
        counts = watch_limits(indices)
        short = {i: c for i, c in counts.items() if c < targets[i]}
        return not short, "short of peers: %s" % short
    wait_for("every node connected", cond, timeout)


def wait_within_max(indices, timeout, strict=True):
    def cond():
        counts = watch_limits(indices, strict)
        over = {i: c for i, c in counts.items() if c > limits(i)[1]}
        return not over, "over peers.max: %s" % over
    wait_for("peers.max honoured", cond, timeout)


def cached_peers(home):
    """Peers with an address in the node's database (what a restart dials)."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(home, "lester.db"), uri=True,
                         timeout=5)
    try:
        return db.execute("SELECT COUNT(DISTINCT node_id) FROM peer_addrs").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        db.close()


def test_join_through_one_bootstrap_node():
    w = Workdir("swarm-cluster")
    STATE["w"] = w
    nodes = []
    common = {"peers.grace_ms": GRACE_S * 1000, "peers.discovery_interval_ms": 1000,
              "peers.flush_interval_ms": 500, "log.file": ""}
    for i in range(N):
        n = loopback_node(w, "node%d" % i)
        lo, hi = limits(i)
        set_config(n.home, dict(common, **{"peers.min": lo, "peers.max": hi}))
        nodes.append(n)
    STATE["nodes"] = nodes
    nodes[0].start()
    boot = nodes[0].get("/api/v0/id")["addresses"][0]
    STATE["boot_id"] = boot.rsplit("/p2p/", 1)[1]
    for n in nodes[1:]:
        set_config(n.home, {"swarm.bootstrap": [boot]})
        n.start(wait=False)
    for n in nodes[1:]:
        n.wait_ready(timeout=60)
    targets = {i: min(limits(i)[0], N - 1) for i in range(N)}
    wait_connected(range(N), targets, 90)
    for i in range(1, N):  # discovery, not only the bootstrap node
        check(len(peer_ids(nodes[i]) - {STATE["boot_id"]}) >= 1,
              "node%d knows peers besides the bootstrap node" % i)
    check(metric(nodes[1], "lester_peers_known") >= 3, "the peer store filled up")


def test_peers_max_evicts_down_to_the_limit():
    nodes = STATE["nodes"]
    small = nodes[SMALL[0]]
    addrs = [n.get("/api/v0/id")["addresses"][0] for n in nodes if n is not small]
    for a in addrs:  # push it far over peers.max by dialling everyone ourselves
        run("swarm", "connect", a, home=small.home, timeout=60)
    check(len(peer_ids(small)) > SMALL_MAX, "dialled past peers.max")
    wait_within_max(range(N), 60, strict=False)
    check(metric(small, "lester_peers_evictions") >= 1, "the overfull node evicted peers")
    for i in range(N):  # what a user sees, through the CLI
        count = len(run_json("swarm", "peers", home=nodes[i].home))
        check(count <= hard_limit(i), "node%d: %d peers, peers.max %d" % (i, count,
                                                                          limits(i)[1]))


def test_sigkill_half_the_rest_keep_their_limits():
    nodes = STATE["nodes"]
    killed = list(range(N // 2, N))
    survivors = list(range(N // 2))

    def flushed():
        counts = {i: cached_peers(nodes[i].home) for i in killed}
        return all(c >= 3 for c in counts.values()), "cached peers: %s" % counts
    wait_for("peer stores flushed", flushed, 30)
    for i in killed:
        nodes[i].kill9()
    STATE["killed"] = killed
    targets = {i: min(limits(i)[0], len(survivors) - 1) for i in survivors}
    wait_connected(survivors, targets, 90)
    wait_within_max(survivors, 30)


def test_restarted_nodes_reconnect_from_their_cache():
    nodes = STATE["nodes"]
    killed = STATE["killed"]
    for i in killed:
        set_config(nodes[i].home, {"swarm.bootstrap": []})
        nodes[i].start(wait=False)
    for i in killed:
        nodes[i].wait_ready(timeout=60)
        cfg = json.loads(run("config", "show", home=nodes[i].home, check_rc=0).stdout)
        check(cfg["swarm"]["bootstrap"] == [], "node%d restarts without bootstrap" % i)
    targets = {i: 3 for i in killed}
    wait_connected(killed, targets, 90)
    wait_within_max(range(N), 60)
    survivors = {nodes[0].get("/api/v0/id")["id"]} | {
        nodes[i].get("/api/v0/id")["id"] for i in range(N // 2)}
    for i in killed:
        check(peer_ids(nodes[i]) & survivors, "node%d reached a survivor" % i)


def run_all():
    code = 1
    try:
        main([test_join_through_one_bootstrap_node, test_peers_max_evicts_down_to_the_limit,
              test_sigkill_half_the_rest_keep_their_limits,
              test_restarted_nodes_reconnect_from_their_cache])
    except SystemExit as e:
        code = e.code
    finally:
        for n in STATE.get("nodes", []):
            rc = n.stop(timeout=30) if n.proc else 0
            out = n.output()
            if rc != 0 or "Sanitizer" in out or "runtime error:" in out:
                print("FAIL: daemon in %s exited %d:\n%s" % (n.home, rc, out), flush=True)
                code = 1
    if code == 0 and "w" in STATE:
        STATE["w"].cleanup()  # kept on failure, for the logs
    raise SystemExit(code)


if __name__ == "__main__":
    run_all()
