"""An IPFS node finds Lester's content through the DHT and fetches it (issue 6): helia
(js/helia.mjs with HELIA_DHT: @libp2p/kad-dht 16.4.5 on /ipfs/kad/1.0.0, client mode)
knows only Lester B, a plain DHT peer. Lester A adds and provides a 20 MiB file; helia's
`get` finds A as the provider through B (GET_PROVIDERS on /ipfs/kad/1.0.0, A's
addresses in the answer), dials A itself and fetches over Bitswap. The other way:
helia adds a file and provides it into the DHT (ADD_PROVIDER to B), and Lester C,
which knows only B, gets it with `lester get` (node_fetch's DHT provider lookup).

Every Lester runs dht.mode=server and dht.ipfs_protocol=true. The test never tells
helia about A or C, nor C about helia."""
import importlib.util
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
from harness import Workdir, check, loopback_node, run, run_json, run_tests, sha256_file  # noqa: E402

_spec = importlib.util.spec_from_file_location("interop_harness", os.path.join(HERE, "harness.py"))
ih = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ih)

MiB = 1 << 20
STATE = {}


class HeliaDht(ih.JsonLinesProc):
    """js/helia.mjs with the kad-dht service (env HELIA_DHT, set for its start only)."""

    def __init__(self, workdir):
        os.environ["HELIA_DHT"] = "1"
        try:
            super().__init__("helia.mjs", workdir)
        finally:
            del os.environ["HELIA_DHT"]
        self.peer_id = self.ready["peerId"]

    def connections(self, peer):
        return [c for c in self.cmd("peers")["peers"] if c["peer"] == peer]


def write_random(path, size, seed):
    with open(path, "wb") as f:
        f.write(random.Random(seed).randbytes(size))


def dht_node(w, name):
    n = loopback_node(w, name)
    n.config_set("dht.mode", '"server"')
    n.config_set("dht.ipfs_protocol", "true")
    n.start()
    return n


def findprovs(node, cid):
    p = run("--json", "dht", "findprovs", cid, home=node.home, timeout=30)
    check(p.returncode == 0, "lester dht findprovs: rc %d: %s" % (p.returncode, p.stderr))
    return json.loads(p.stdout)


def provider_ids(reply):
    return [p.get("id", p.get("peer")) for p in reply.get("providers", [])]


def wait_provider(node, cid, peer, timeout=30):
    end = time.time() + timeout
    while True:
        got = findprovs(node, cid)
        if peer in provider_ids(got):
            return got
        check(time.time() < end, "%s never listed %s as provider of %s: %r"
              % (node.home, peer, cid, got))
        time.sleep(0.5)


def setup():
    w = Workdir("helia-dht")
    a, b = dht_node(w, "a"), dht_node(w, "b")
    ids = {k: run_json("id", home=n.home) for k, n in (("a", a), ("b", b))}
    run("swarm", "connect", ids["a"]["addresses"][0], home=b.home, check_rc=0)
    helia = HeliaDht(w)
    STATE.update(w=w, a=a, b=b, ids=ids, helia=helia)
    check(helia.ready["dht"], "helia.mjs started without the DHT")
    helia.cmd("dial", addr=ids["b"]["addresses"][0])


def test_helia_finds_lester_provider_via_dht():
    w, a, b, helia, ids = (STATE[k] for k in ("w", "a", "b", "helia", "ids"))
    a_id = ids["a"]["id"]
    src = w.sub("a-20mib.bin")
    write_random(src, 20 * MiB, 6)
    cid = run("add", "-q", src, home=a.home, check_rc=0, timeout=120).stdout.strip()
    wait_provider(b, cid, a_id)
    check(not helia.connections(a_id), "helia was connected to A before the get")
    out = w.sub("helia-got.bin")
    r = helia.cmd("get", cid=cid, out=out, timeoutMs=50000, timeout=60)
    check(r["bytes"] == 20 * MiB, "helia got %d bytes" % r["bytes"])
    check(sha256_file(out) == sha256_file(src), "helia's copy differs")
    conns = helia.connections(a_id)
    check(any(c["direction"] == "outbound" for c in conns),
          "helia has no connection it opened to A: %r" % conns)
    # What helia's routing says (asked only now: the lookup itself may dial A).
    provs = helia.cmd("findprovs", cid=cid, timeoutMs=20000, timeout=30)["providers"]
    a_prov = [p for p in provs if p["peer"] == a_id]
    check(a_prov and a_prov[0]["router"] == "libp2p-router"
          and ids["a"]["addresses"][0].split("/p2p/")[0] in a_prov[0]["addrs"],
          "helia's DHT lookup does not name A with its address: %r" % provs)
    led = run_json("bitswap", "stat", home=a.home)["ledgers"]
    mine = [l for l in led if l["peer"] == helia.peer_id]
    check(mine and mine[0]["blocks_sent"] > 0, "A's ledger shows no blocks sent to helia: %r" % led)
    print("  helia <- A via the DHT, 20 MiB: %.0f ms, %d blocks" % (r["ms"], mine[0]["blocks_sent"]))


def test_lester_finds_helia_provider_via_dht():
    w, b, helia, ids = (STATE[k] for k in ("w", "b", "helia", "ids"))
    src = w.sub("helia-4mib.bin")
    write_random(src, 4 * MiB, 7)
    cid = helia.cmd("add", path=src)["cid"]
    helia.cmd("provide", cid=cid, timeoutMs=30000, timeout=40)
    wait_provider(b, cid, helia.peer_id)
    c = dht_node(w, "c")
    STATE["c"] = c
    run("swarm", "connect", ids["b"]["addresses"][0], home=c.home, check_rc=0)
    out = w.sub("c-got.bin")
    t0 = time.time()
    run("get", "-q", cid, "-o", out, home=c.home, check_rc=0, timeout=60)
    check(sha256_file(out) == sha256_file(src), "C's copy differs")
    led = run_json("bitswap", "stat", home=c.home)["ledgers"]
    check(any(l["peer"] == helia.peer_id and l["blocks_recv"] > 0 for l in led),
          "C's ledger shows no blocks from helia: %r" % led)
    print("  C <- helia via the DHT, 4 MiB: %.0f ms" % ((time.time() - t0) * 1000))


def run_all():
    ok, why = ih.js_available()
    if not ok or not os.path.isdir(os.path.join(HERE, "node_modules", "helia")):
        print("SKIP: %s" % (why or "helia not installed: run scripts/interop-deps.sh"))
        print("0 passed, 0 failed")
        return
    run_tests([setup, test_helia_finds_lester_provider_via_dht,
               test_lester_finds_helia_provider_via_dht], STATE)


if __name__ == "__main__":
    run_all()
