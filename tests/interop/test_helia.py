"""Bitswap interop with helia (issue 6): a helia node (IPFS in JS, pinned in
package.json; js/helia.mjs) fetches files added on Lester over Bitswap, and Lester
fetches files added on helia (`lester get`); bytes identical, CIDs equal (kubo's
parameters on both sides). Sizes: 1 MiB and 20 MiB. helia offers only
/ipfs/bitswap/1.2.0 and opens a stream per message; Lester reuses one stream per peer
for its own messages. A directory helia writes as a HAMT shard (small
shardSplitThresholdBytes) is fetched, listed and written out by Lester intact."""
import hashlib
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
from harness import Workdir, check, loopback_node, run, run_tests, run_json  # noqa: E402

import importlib.util  # noqa: E402

_spec = importlib.util.spec_from_file_location("interop_harness", os.path.join(HERE, "harness.py"))
ih = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ih)

MiB = 1 << 20
SIZES = (1 * MiB, 20 * MiB)
STATE = {}


class Helia(ih.JsonLinesProc):
    """One js/helia.mjs process."""

    def __init__(self, workdir):
        super().__init__("helia.mjs", workdir)
        self.addr = self.ready["addrs"][0]
        self.peer_id = self.ready["peerId"]


def make_file(path, size, seed):
    with open(path, "wb") as f:
        for i in range(0, size, 1 << 16):
            chunk = b"".join(hashlib.sha256(b"%s-%d-%d" % (seed, i, j)).digest()
                             for j in range(2048))
            f.write(chunk[:min(1 << 16, size - i)])


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def setup():
    w = Workdir("helia")
    node = loopback_node(w, "lester")
    node.start()
    helia = Helia(w)
    STATE.update(w=w, node=node, helia=helia)
    check("/ipfs/bitswap/1.2.0" in helia.ready["protocols"], "helia serves Bitswap 1.2.0")
    lester_addr = run_json("id", home=node.home)["addresses"][0]
    helia.cmd("dial", addr=lester_addr)
    end = time.time() + 30
    while run_json("bitswap", "stat", home=node.home)["peers"] < 1:
        check(time.time() < end, "Lester never saw helia as a Bitswap peer")
        time.sleep(0.1)


def test_helia_fetches_from_lester():
    w, node, helia = STATE["w"], STATE["node"], STATE["helia"]
    for size in SIZES:
        src = w.sub("lester-%d.bin" % size)
        make_file(src, size, b"lester")
        cid = run("add", "-q", src, home=node.home, check_rc=0).stdout.strip()
        out = w.sub("helia-got-%d.bin" % size)
        r = helia.cmd("get", cid=cid, out=out, timeoutMs=240000)
        check(r["bytes"] == size, "helia got %d of %d bytes" % (r["bytes"], size))
        check(sha(out) == sha(src), "helia's copy of %d bytes differs" % size)
        print("  helia <- lester %d MiB: %.0f ms" % (size // MiB, r["ms"]))
    sent = run_json("bitswap", "stat", home=node.home)["ledgers"]
    check(any(l["peer"] == helia.peer_id and l["blocks_sent"] > 0 for l in sent),
          "Lester's ledger shows blocks sent to helia")


def test_lester_fetches_from_helia():
    w, node, helia = STATE["w"], STATE["node"], STATE["helia"]
    for size in SIZES:
        src = w.sub("helia-%d.bin" % size)
        make_file(src, size, b"helia")
        cid = helia.cmd("add", path=src)["cid"]
        ours = run("add", "-q", "--only-hash", src, home=node.home, check_rc=0).stdout.strip()
        check(ours == cid, "CIDs differ: helia %s, lester %s" % (cid, ours))
        out = w.sub("lester-got-%d.bin" % size)
        t0 = time.time()
        run("get", "-q", cid, "-o", out, home=node.home, check_rc=0, timeout=300)
        check(sha(out) == sha(src), "Lester's copy of %d bytes differs" % size)
        print("  lester <- helia %d MiB: %.0f ms" % (size // MiB, (time.time() - t0) * 1000))
    led = run_json("bitswap", "stat", home=node.home)["ledgers"]
    check(any(l["peer"] == helia.peer_id and l["blocks_recv"] > 0 for l in led),
          "Lester's ledger shows blocks from helia")


def test_lester_gets_helia_hamt_directory():
    """A directory helia shards (HAMTShard, fanout 256) because its links pass a small
    shardSplitThresholdBytes: Lester lists it and gets every file intact."""
    w, node, helia = STATE["w"], STATE["node"], STATE["helia"]
    top = w.sub("hamt-dir")
    files = {}
    for i in range(60):
        files["file-%02d.txt" % i] = b"entry %d\n" % i * (i + 1)
    for i in range(12):
        files["nested/deep-%d.bin" % i] = hashlib.sha256(b"%d" % i).digest() * 3000
    files["nested/empty"] = b""
    for rel, blob in files.items():
        os.makedirs(os.path.dirname(os.path.join(top, rel)), exist_ok=True)
        with open(os.path.join(top, rel), "wb") as f:
            f.write(blob)
    cid = helia.cmd("adddir", path=top, shardSplitThresholdBytes=200)["cid"]
    out = w.sub("hamt-got")
    run("get", "-q", cid, "-o", out, home=node.home, check_rc=0, timeout=300)
    for rel, blob in files.items():
        with open(os.path.join(out, rel), "rb") as f:
            check(f.read() == blob, "%s differs after get of a HAMT directory" % rel)
    got = sorted(os.listdir(out))
    check(got == sorted(set(r.split("/")[0] for r in files)), "extra or missing entries: %s" % got)
    status, block = node.request("POST", "/api/v0/block/get", {"cid": cid}, raw=True)
    check(status == 200 and re.search(rb"[0-9A-F]{2}file-\d\d", block),
          "helia did not shard the root (no bucket-prefixed link names)")
    entries = node.post("/api/v0/ls", {"cid": cid})["entries"]
    check(sorted(e["name"] for e in entries) == got, "ls of the HAMT root: %s" % entries)


def run_all():
    ok, why = ih.js_available()
    if not ok or not os.path.isdir(os.path.join(HERE, "node_modules", "helia")):
        print("SKIP: %s" % (why or "helia not installed: run scripts/interop-deps.sh"))
        print("0 passed, 0 failed")
        return
    run_tests([setup, test_helia_fetches_from_lester, test_lester_fetches_from_helia,
               test_lester_gets_helia_hamt_directory], STATE)


if __name__ == "__main__":
    run_all()
