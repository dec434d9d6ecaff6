"""Providing and multi-source downloads on a real cluster (issue 6):
- A adds a file; its root is announced in the DHT (add --json says "provided");
  C, connected only to the DHT bootstrap node B (not to A), finds A through the
  provider record (`dht findprovs` lists A, with the Bitswap protocols A signed
  into its metadata), dials it and gets the file, bytes identical;
- a file held by A (Bitswap) and by H, an HTTP-only seeder (test.bitswap_off; its
  provider record names its gateway: findprovs shows the endpoints), is fetched by
  C from both at once: the download's per-source counts show blocks from each;
- X, an HTTP seeder serving corrupt bytes (test.corrupt_blocks), is dropped by the
  hash check and its trust falls; the download completes from the honest H;
- the only provider of a file's root (P) dies after C got the root: starved, C looks
  up the providers of a block it still wants and finds D, which holds the leaves as
  part of another file (content.provide = all), and completes from it.

B is the only DHT server; the others are DHT clients with peer exchange off, so a
connection from C to a seeder can only come from a provider record."""
import base64
import hashlib
import json
import os
import subprocess
import time

from harness import (LESTER, Workdir, check, fail, loopback_node, run, run_json, run_tests,
                     sha256_file as sha)

MIB = int(os.environ.get("PROVIDE_TEST_MIB", "32"))
STATE = {}


def make_file(path, mib, tag):
    with open(path, "wb") as f:
        for i in range(mib * 4):
            seed = hashlib.sha256(b"%s-%d" % (tag, i)).digest()
            f.write(seed * (262144 // 32))


def raw_cid(data):
    """CIDv1, raw codec, sha2-256, base32: how a leaf chunk is addressed."""
    b = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(b).decode().lower().rstrip("=")


def ident(node):
    j = run_json("id", home=node.home)
    return j["id"], j["addresses"][0]


def connected(node):
    return {p["peer"] for p in run_json("swarm", "peers", home=node.home)}


def start_node(w, name, boot=None, server=False, extra=()):
    n = loopback_node(w, name)
    n.config_set("dht.mode", "server" if server else "client")
    n.config_set("peers.min", "1")
    n.config_set("peers.discovery_interval_ms", "0")
    if boot:
        n.config_set("swarm.bootstrap", '["%s"]' % boot)
    for k, v in extra:
        n.config_set(k, v)
    n.start()
    return n


def add(node, path):
    return run_json("add", path, home=node.home)


def wait_providers(node, cid, want, timeout=60):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        p = run("dht", "findprovs", cid, home=node.home)
        last = p.stdout + p.stderr
        if p.returncode == 0 and all(w in p.stdout for w in want):
            return p.stdout
        time.sleep(0.5)
    fail("findprovs %s never listed %s: %s" % (cid, want, last))


BITSWAP_IDS = ["/ipfs/bitswap/1.2.0", "/ipfs/bitswap/1.1.0", "/ipfs/bitswap/1.0.0"]


def provider_meta(node, cid, peer):
    """The signed metadata `dht findprovs --json` shows for `peer`, and the human text."""
    j = run_json("dht", "findprovs", cid, home=node.home)
    provs = {p["peer"]: p for p in j["providers"]}
    check(peer in provs and "metadata" in provs[peer], "findprovs --json has %s's metadata: %r"
          % (peer, j))
    return provs[peer]["metadata"], run("dht", "findprovs", cid, home=node.home,
                                        check_rc=0).stdout


def get(node, cid, out):
    res = run("get", cid, "-o", out, "--json", home=node.home, check_rc=0, timeout=300)
    return json.loads(res.stdout)


def sources(res):
    dl = res.get("download") or {}
    return {s["peer"]: s for s in dl.get("sources", [])}


def test_found_through_the_dht():
    w = Workdir("providing")
    STATE["w"] = w
    b = start_node(w, "B", server=True)
    b_id, b_addr = ident(b)
    a = start_node(w, "A", boot=b_addr, extra=[("content.reprovide_interval_s", "2")])
    c = start_node(w, "C", boot=b_addr)
    STATE.update(a=a, b=b, c=c, b_addr=b_addr)
    a_id, _ = ident(a)
    STATE["a_id"] = a_id
    src = w.sub("one.bin")
    make_file(src, MIB, b"one")
    done = add(a, src)
    cid = done["cid"]
    check(done.get("provided") is True, "add --json says provided: %r" % done)
    out = wait_providers(c, cid, [a_id])
    print("  findprovs on C lists A")
    meta, human = provider_meta(c, cid, a_id)
    check(meta["protocols"] == BITSWAP_IDS and meta["endpoints"] == [],
          "A announces its Bitswap protocols and no HTTP endpoint: %r" % meta)
    check(meta["exp_ms"] > meta["ts_ms"] > 0, "signed with a lifetime: %r" % meta)
    check("protocols " + ", ".join(BITSWAP_IDS) in human,
          "findprovs prints A's protocols: %r" % human)
    print("  findprovs shows A's signed metadata: %s" % ", ".join(meta["protocols"]))
    check(a_id not in connected(c), "C is not connected to A before the download")
    t0 = time.time()
    res = get(c, cid, w.sub("one.out"))
    print("  C get (through the DHT) %d MiB: %.2fs" % (MIB, time.time() - t0))
    check(sha(w.sub("one.out")) == sha(src), "C's copy differs")
    src_a = sources(res).get(a_id)
    check(src_a and src_a["kind"] == "bitswap" and src_a["blocks"] > 0,
          "blocks came from A over Bitswap: %r" % res.get("download"))
    check(a_id in connected(c), "C dialled A from the provider record")
    # C holds it now and says so, as IPFS nodes do
    c_id, _ = ident(c)
    wait_providers(a, cid, [a_id, c_id])  # A asks B, which holds both records
    print("  C provides it after the download")
    del out


def metric(node, name):
    status, text = node.request("GET", "/metrics", token=False, raw=True)
    for line in text.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def test_reprovide():
    """A reprovides everything pinned every 2 s (content.reprovide_interval_s)."""
    a = STATE["a"]
    end = time.time() + 30
    while time.time() < end:
        runs, ok = metric(a, "lester_content_reprovide_runs"), metric(a, "lester_content_provides")
        if runs >= 2 and ok >= 3:
            print("  A: %d reprovide runs, %d announcements stored" % (runs, ok))
            return
        time.sleep(0.5)
    fail("A did not reprovide: runs %s, provides %s" % (
        metric(a, "lester_content_reprovide_runs"), metric(a, "lester_content_provides")))


def test_http_seeder_and_bitswap_peer():
    w, a, c, b_addr = STATE["w"], STATE["a"], STATE["c"], STATE["b_addr"]
    http = [("test.bitswap_off", "true"), ("content.provide_http", "true")]
    h = start_node(w, "H", boot=b_addr, extra=http)
    STATE["h"] = h
    h_id, _ = ident(h)
    STATE["h_id"] = h_id
    src = w.sub("two.bin")
    make_file(src, MIB, b"two")
    cid = add(h, src)["cid"]
    check(add(a, src)["cid"] == cid, "same bytes, same CID on A and H")
    wait_providers(c, cid, [STATE["a_id"], h_id])
    meta, human = provider_meta(c, cid, h_id)
    base = h.api_base()
    check(meta["protocols"] == ["/http/trustless-gateway"],
          "H (no Bitswap) announces only its gateway: %r" % meta)
    check(meta["endpoints"] == [base + "/ipfs/{cid}?format=raw",
                                base + "/file/{cid}/chunk/{index}"],
          "H's HTTP endpoints (content.provide_http) at %s: %r" % (base, meta))
    check(("http      " + meta["endpoints"][0]) in human, "findprovs prints them: %r" % human)
    print("  findprovs shows H's HTTP endpoints: %s" % meta["endpoints"][0])
    t0 = time.time()
    res = get(c, cid, w.sub("two.out"))
    print("  C get from A (Bitswap) + H (HTTP) %d MiB: %.2fs" % (MIB, time.time() - t0))
    check(sha(w.sub("two.out")) == sha(src), "C's copy differs")
    srcs = sources(res)
    print("  sources: %s" % {k[-6:]: (v["kind"], v["blocks"]) for k, v in srcs.items()})
    check(srcs.get(h_id, {}).get("kind") == "http" and srcs[h_id]["blocks"] > 0,
          "blocks came from H over HTTP: %r" % srcs)
    check(srcs.get(STATE["a_id"], {}).get("blocks", 0) > 0,
          "blocks came from A over Bitswap: %r" % srcs)
    check(res["download"]["fetched_blocks"] ==
          srcs[h_id]["blocks"] + srcs[STATE["a_id"]]["blocks"],
          "every fetched block is counted against one source")


def test_corrupt_http_seeder_dropped():
    w, c, h, b_addr = STATE["w"], STATE["c"], STATE["h"], STATE["b_addr"]
    bad = [("test.bitswap_off", "true"), ("content.provide_http", "true"),
           ("test.corrupt_blocks", "true"), ("content.provide", "all")]
    x = start_node(w, "X", boot=b_addr, extra=bad)
    STATE["x"] = x
    x_id, _ = ident(x)
    src = w.sub("three.bin")
    make_file(src, MIB // 2 or 1, b"three")
    cid = add(x, src)["cid"]
    check(add(h, src)["cid"] == cid, "same CID on H and X")
    wait_providers(c, cid, [STATE["h_id"], x_id])
    t0 = time.time()
    res = get(c, cid, w.sub("three.out"))
    print("  C get from H + X (HTTP) %d MiB: %.2fs" % (MIB // 2 or 1, time.time() - t0))
    check(sha(w.sub("three.out")) == sha(src), "C's copy differs")
    srcs = sources(res)
    print("  sources: %s" % {k[-6:]: (v["kind"], v["blocks"], v.get("dropped"))
                             for k, v in srcs.items()})
    check(x_id in srcs and srcs[x_id]["dropped"] and srcs[x_id]["bad_blocks"] >= 1
          and srcs[x_id]["blocks"] == 0, "X was caught and dropped: %r" % srcs)
    check(srcs.get(STATE["h_id"], {}).get("blocks", 0) > 0, "H served the file: %r" % srcs)
    # X provides every block (content.provide "all"): a leaf's providers list X
    leaf = raw_cid(open(src, "rb").read(262144))
    wait_providers(c, leaf, [x_id])
    print("  a leaf of X's file is provided too (content.provide all)")
    t = run_json("trust", "show", x_id, home=c.home)
    check(t["trust"] < 0.5, "X's trust fell: %r" % t["trust"])
    print("  X dropped, trust %.3f" % t["trust"])


def test_block_providers_when_root_gone():
    w, c, b_addr = STATE["w"], STATE["c"], STATE["b_addr"]
    d = start_node(w, "D", boot=b_addr, extra=[("content.provide", '"all"')])
    p = start_node(w, "P", boot=b_addr, extra=[("content.upload_rate_limit", "150000")])
    STATE.update(d=d, p=p)
    d_id, _ = ident(d)
    part, whole = w.sub("part.bin"), w.sub("whole.bin")
    make_file(part, 2, b"part")  # 8 leaves
    with open(part, "rb") as f:
        data = f.read()
    with open(whole, "wb") as f:  # the same 8 leaves and one more: another root
        f.write(data + b"x" * 262144)
    add(d, whole)
    wait_providers(c, raw_cid(data[262144 * 7:]), [d_id])  # D announced every block
    cid = add(p, part)["cid"]
    p_id, _ = ident(p)
    wait_providers(c, cid, [p_id])
    check(d_id not in connected(c), "C is not connected to D before the download")
    before = run_json("bitswap", "stat", home=c.home)["blocks_recv"]
    out = w.sub("part.out")
    proc = subprocess.Popen([LESTER, "--home", c.home, "get", cid, "-o", out, "--json", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.time() + 60
    while run_json("bitswap", "stat", home=c.home)["blocks_recv"] <= before:
        check(proc.poll() is None and time.time() < end, "C got nothing from P")
        time.sleep(0.05)
    p.kill9()  # the root's only provider is gone; P served 150 KB/s: few leaves came
    so, se = proc.communicate(timeout=120)
    check(proc.returncode == 0, "get after P died failed: %s" % se)
    check(sha(out) == sha(part), "C's copy differs")
    res = json.loads(so)
    src_d = sources(res).get(d_id)
    check(src_d and src_d["blocks"] > 0, "blocks came from D: %r" % res.get("download"))
    log = open(os.path.join(c.home, "test-daemon.out"), errors="replace").read()
    check("looking up the providers of block" in log, "C never searched a block's providers")
    print("  P died after %d block(s); C found D by a leaf's provider record: %d blocks" % (
        run_json("bitswap", "stat", home=c.home)["blocks_recv"] - before - src_d["blocks"],
        src_d["blocks"]))


def test_shutdown():
    for k in ("d", "x", "h", "c", "a", "b"):
        n = STATE.get(k)
        if n:
            check(n.stop() == 0, "%s stops cleanly" % k)


if __name__ == "__main__":
    run_tests([test_found_through_the_dht, test_reprovide, test_http_seeder_and_bitswap_peer,
               test_corrupt_http_seeder_dropped, test_block_providers_when_root_gone,
               test_shutdown], STATE)
