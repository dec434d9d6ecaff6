"""Kademlia DHT interop (issue 4): three Lester daemons and two js-libp2p peers
(@libp2p/kad-dht 16.4.5, pinned in tests/interop) in one DHT on /lester/kad/1.0.0.

Topology: L1 - L2 - L3 in a chain; js1 dials L1 and L2, js2 dials L3. Everyone is a
DHT server. js registers a 'lester' namespace validator (accept) and selector (first)
in peer.mjs; Lester validates for real, so what js puts must be a Lester record: js
signs one with its own key (peer.mjs `lester_record`, the canonical MessagePack of
src/dht/kad_validate.h).

Shown: a value put by Lester is read by js and one put by js (signed by js) is read by
Lester; providers announced by either side are found by the other; FIND_NODE answers
agree (both sides return the same peers, nearest first, for a key, matching the
order computed here from SHA-256 and XOR); each side finds the other's peer by ID."""
import base64
import hashlib
import importlib.util
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
from harness import Workdir, check, loopback_node, main, run  # noqa: E402

_spec = importlib.util.spec_from_file_location("interop_harness", os.path.join(HERE, "harness.py"))
ih = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ih)

PROTO = "/lester/kad/1.0.0"
STATE = {}
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(s):
    n = 0
    for c in s:
        n = n * 58 + B58.index(c)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(s) - len(s.lstrip("1"))) + raw


def xor_order(key, peers):
    """`peers` sorted by XOR distance of SHA-256(binary peer ID) to SHA-256(key)."""
    target = int.from_bytes(hashlib.sha256(key).digest(), "big")
    return sorted(peers, key=lambda p: int.from_bytes(hashlib.sha256(b58decode(p)).digest(),
                                                       "big") ^ target)


def lester(node, *args):
    p = run("--json", "dht", *args, home=node.home)
    check(p.returncode == 0, "lester dht %s: rc %d: %s" % (" ".join(args), p.returncode,
                                                           p.stderr.strip()))
    return json.loads(p.stdout)


def wait_for(what, cond, timeout=30):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        ok, last = cond()
        if ok:
            return last
        time.sleep(0.3)
    check(False, "%s: %s" % (what, last))


def setup():
    w = Workdir("interop-kad")
    ls = [loopback_node(w, "l%d" % i) for i in (1, 2, 3)]
    for n in ls:
        n.config_set("dht.mode", '"server"')
        n.start()
    ids = [n.get("/api/v0/id") for n in ls]
    run("swarm", "connect", ids[0]["addresses"][0], home=ls[1].home, check_rc=0)
    run("swarm", "connect", ids[1]["addresses"][0], home=ls[2].home, check_rc=0)
    opts = {"dht": {"protocol": PROTO, "clientMode": False, "namespaces": ["lester"]}}
    js1, js2 = ih.JsPeer(opts, name="js-kad1"), ih.JsPeer(opts, name="js-kad2")
    STATE.update(w=w, ls=ls, ids=[i["id"] for i in ids], addrs=[i["addresses"][0] for i in ids],
                 js1=js1, js2=js2)
    js1.start()
    js2.start()
    js1.dial(STATE["addrs"][0])
    js1.dial(STATE["addrs"][1])
    js2.dial(STATE["addrs"][2])


def teardown():
    for js in ("js1", "js2"):
        if STATE.get(js):
            STATE[js].stop()
    for n in STATE.get("ls", []):
        rc = n.stop()
        check(rc == 0, "daemon exited %d" % rc)
    STATE["w"].cleanup()


def everyone():
    return STATE["ids"] + [STATE["js1"].peer_id, STATE["js2"].peer_id]


def test_tables_fill():
    """Identify lists the kad protocol; each side probes the other into its table."""
    js1, ls = STATE["js1"], STATE["ls"]
    protos = js1.identify(STATE["ids"][0])["protocols"]
    check(PROTO in protos, "identify lists %s: %r" % (PROTO, protos))
    for n in ls:  # a lookup spreads knowledge: every Lester node learns all five
        lester(n, "closest", "/lester/warmup")
    js1.cmd("dht_closest", key="/lester/warmup", timeout=30)
    STATE["js2"].cmd("dht_closest", key="/lester/warmup", timeout=30)

    def full():
        sizes = [lester(n, "routing")["size"] for n in ls]
        return all(s >= 4 for s in sizes), sizes
    sizes = wait_for("Lester tables hold the other four peers", full)
    print("  Lester routing table sizes: %r" % sizes)
    r = lester(ls[0], "routing")
    check(r["mode"] == "server" and r["protocols"] == [PROTO], "routing: %r" % r)


def test_value_lester_to_js():
    l2 = STATE["ls"][1]
    path = os.path.join(STATE["w"].path, "v1.txt")
    with open(path, "wb") as f:
        f.write(b"from lester \x00\xff bytes")
    put = lester(l2, "put", "/lester/interop-a", path)
    check(put["peers_ok"] >= 1, "put reached peers: %r" % put)
    for js in (STATE["js1"], STATE["js2"]):
        got = js.cmd("dht_get", key="/lester/interop-a", timeout=30)
        p = run("--json", "dht", "get", "/lester/interop-a", home=STATE["ls"][0].home)
        rec = json.loads(p.stdout)
        check(got["valueHex"] == base64.b64decode(rec["record"]).hex(),
              "js reads Lester's signed record: %r" % got)
    check(put["publisher"] == STATE["ids"][1], "publisher is L2")


def test_value_js_to_lester():
    js2 = STATE["js2"]
    rec = js2.cmd("lester_record", key="/lester/interop-b", value="signed by js")
    put = js2.cmd("dht_put", key="/lester/interop-b", valueHex=rec["valueHex"], timeout=30)
    check(put["responses"] >= 1, "js put reached peers: %r" % put)
    check(set(put["peers"]) & set(STATE["ids"]), "a Lester node took js's record: %r" % put)
    for n in STATE["ls"]:
        got = lester(n, "get", "/lester/interop-b")
        check(base64.b64decode(got["value"]) == b"signed by js", "value: %r" % got)
        check(got["publisher"] == js2.peer_id, "publisher is js2: %r" % got)
    # the plain CLI prints the bytes as put
    p = run("dht", "get", "/lester/interop-b", home=STATE["ls"][0].home, check_rc=0)
    check(p.stdout == "signed by js", "plain get: %r" % p.stdout)
    # an unsigned value from js is refused by Lester (and so not found there)
    js2.cmd("dht_put", key="/lester/interop-c", value="unsigned", timeout=30, check=False)
    p = run("dht", "get", "/lester/interop-c", home=STATE["ls"][2].home)
    check(p.returncode == 1 and "not found" in p.stderr, "unsigned refused: %r" % p.stderr)


def refused_total():
    """Refused (failed validation) and malformed (did not decode: unsigned bytes,
    oversized) PUT_VALUEs, summed over the Lester nodes."""
    total = 0
    for n in STATE["ls"]:
        c = lester(n, "routing")["counters"]
        total += c["refused"] + c["malformed"]
    return total


def test_bad_records_from_js_are_refused():
    """Forged, unsigned, expired, oversized and replayed-older records, PUT by a real
    peer over real streams: every Lester node refuses them (counted as refused and
    reported to the trust manager); gets on Lester find nothing or the newer value."""
    js1 = STATE["js1"]
    now = int(time.time() * 1000)
    before = refused_total()

    def put(key, hexval):
        b = refused_total()
        js1.cmd("dht_put", key=key, valueHex=hexval, timeout=30, check=False)
        print("  put %s: refused by %d Lester node(s)" % (key, refused_total() - b))

    good = js1.cmd("lester_record", key="/lester/adv-forged", value="genuine")["valueHex"]
    put("/lester/adv-forged", good[:-2] + "%02x" % (int(good[-2:], 16) ^ 1))  # payload changed
    put("/lester/adv-unsigned", b"plain bytes".hex())
    put("/lester/adv-expired", js1.cmd("lester_record", key="/lester/adv-expired", value="old",
                                       tsMs=now - 2 * 86400000, expMs=now - 86400000)["valueHex"])
    put("/lester/adv-big", js1.cmd("lester_record", key="/lester/adv-big",
                                   valueHex="ab" * 20000)["valueHex"])
    put("/lester/adv-replay", js1.cmd("lester_record", key="/lester/adv-replay", value="new",
                                      seq=10)["valueHex"])
    put("/lester/adv-replay", js1.cmd("lester_record", key="/lester/adv-replay", value="old",
                                      seq=5)["valueHex"])
    refused = refused_total() - before
    check(refused >= 5 * 3, "3 Lester nodes refused 5 bad puts each: %d" % refused)
    for key in ("forged", "unsigned", "expired", "big"):
        p = run("dht", "get", "/lester/adv-" + key, home=STATE["ls"][1].home)
        check(p.returncode == 1 and "not found" in p.stderr, "%s: %r %r" % (key, p.stdout, p.stderr))
    got = lester(STATE["ls"][2], "get", "/lester/adv-replay")
    check(base64.b64decode(got["value"]) == b"new" and got["seq"] == 10, "replay: %r" % got)
    print("  %d refusals of forged/unsigned/expired/oversized/replayed puts" % refused)


def test_providers_both_ways():
    js1, js2, ls = STATE["js1"], STATE["js2"], STATE["ls"]
    cid_l = js1.cmd("cid", data="provided by lester")["cid"]
    cid_j = js1.cmd("cid", data="provided by js")["cid"]
    r = lester(ls[2], "provide", cid_l)
    check(r["peers_ok"] >= 1, "provide: %r" % r)
    got = js1.cmd("dht_find_providers", cid=cid_l, timeout=30)
    provs = {p["peer"]: p for p in got["providers"]}
    check(STATE["ids"][2] in provs, "js finds Lester's provider record: %r" % got)
    check(provs[STATE["ids"][2]]["addrs"], "with addresses: %r" % got)
    js1.cmd("dht_provide", cid=cid_j, timeout=30)
    found = lester(ls[0], "findprovs", cid_j)
    peers = {p["peer"]: p for p in found["providers"]}
    check(js1.peer_id in peers and peers[js1.peer_id]["addrs"],
          "Lester finds js's provider record with addresses: %r" % found)


def test_find_node_agrees():
    js1, js2, ls = STATE["js1"], STATE["js2"], STATE["ls"]
    for key in ("/lester/closest-1", "/lester/closest-2"):
        kb = key.encode()
        want = xor_order(kb, everyone())
        lists = {}
        for i, n in enumerate(ls):
            lists["L%d" % (i + 1)] = (STATE["ids"][i], lester(n, "closest", key)["peers"])
        for name, js in (("js1", js1), ("js2", js2)):
            lists[name] = (js.peer_id, js.cmd("dht_closest", key=key, timeout=30)["peers"])
        for name, (self_id, got) in lists.items():
            expect = [p for p in want if p != self_id]
            check(got == expect, "%s: closest to %s %r, expected %r" % (name, key, got, expect))
    print("  5 nodes agree on the order of the closest peers for 2 keys")


def test_find_peer_both_ways():
    js1, js2, ls = STATE["js1"], STATE["js2"], STATE["ls"]
    r = lester(ls[2], "findpeer", js1.peer_id)
    check(any("/tcp/" in a for a in r["addrs"]), "Lester finds js1: %r" % r)
    got = js2.cmd("dht_find_peer", peer=STATE["ids"][0], timeout=30)
    check(got["addrs"], "js2 finds L1: %r" % got)


if __name__ == "__main__":
    ok, why = ih.js_available()
    if not ok:
        print("SKIP: %s" % why)
        sys.exit(0)
    try:
        setup()
        main([test_tables_fill, test_value_lester_to_js, test_value_js_to_lester,
              test_providers_both_ways, test_find_node_agrees, test_find_peer_both_ways,
              test_bad_records_from_js_are_refused])
    finally:
        if STATE.get("w"):
            teardown()
