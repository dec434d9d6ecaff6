"""Trustless gateway interop with helia (issue 6): helia's HTTP-only node (@helia/http
and @helia/trustless-gateway-client, pinned in package-lock.json; js/helia_http.mjs)
fetches a file added on Lester from Lester's gateway alone: its one router answers
findProviders with /ip4/127.0.0.1/tcp/PORT/http, and helia's trustless-gateway block
broker asks GET /ipfs/{cid}?format=raw (Accept: application/vnd.ipld.raw) for every
block and checks each against its CID. The file (50 MiB by default,
GW_HELIA_MIB to change) is 200 chunks of 256 KiB, more than the 174 links of one node,
so its DAG has two levels of dag-pb nodes above the leaves. Bytes compared.

Then CARs with dag-scope=entity and entity-bytes=from:to are read by the harness with
multiformats (each block checked against its CID) and ipfs-unixfs-exporter, which
reads the asked range from the CAR's blocks alone: the CAR holds every block the
range needs. (No @ipld/car is installed; the CARv1 framing is read by hand there.)"""
import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
from harness import Workdir, check, loopback_node, run, run_tests  # noqa: E402

import importlib.util  # noqa: E402

_spec = importlib.util.spec_from_file_location("interop_harness", os.path.join(HERE, "harness.py"))
ih = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ih)

MiB = 1 << 20
SIZE = int(os.environ.get("GW_HELIA_MIB", "50")) * MiB
STATE = {}


def HeliaHttp(workdir):
    """One js/helia_http.mjs process."""
    return ih.JsonLinesProc("helia_http.mjs", workdir)


def make_file(path, size):
    with open(path, "wb") as f:
        for i in range(0, size, 1 << 16):
            chunk = b"".join(hashlib.sha256(b"gw-%d-%d" % (i, j)).digest() for j in range(2048))
            f.write(chunk[:min(1 << 16, size - i)])


def gateway_requests(node):
    """GET|HEAD /ipfs/ answers with 200 in Lester's metrics."""
    text = node.request("GET", "/metrics", token=False, raw=True)[1].decode()
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
               if l.startswith("lester_api_requests_total{") and 'route="/ipfs/"' in l
               and 'code="200"' in l)


def setup():
    w = Workdir("gateway-helia")
    node = loopback_node(w, "lester")
    node.start()
    src = w.sub("file.bin")
    make_file(src, SIZE)
    cid = run("add", "-q", src, home=node.home, check_rc=0, timeout=300).stdout.strip()
    stat = node.post("/api/v0/stat", {"cid": cid})
    check(stat["size"] == SIZE, "stat %r" % stat)
    if SIZE > 174 * 256 * 1024:
        check(stat["links"] == -(-SIZE // (174 * 256 * 1024)), "root of two levels: %r" % stat)
    port = node.api_base().rsplit(":", 1)[1]
    STATE.update(w=w, node=node, src=src, cid=cid, port=port, helia=HeliaHttp(w))


def test_helia_http_fetches_from_lester_gateway():
    w, node, helia, cid = STATE["w"], STATE["node"], STATE["helia"], STATE["cid"]
    before = gateway_requests(node)
    out = w.sub("helia-got.bin")
    r = helia.cmd("get", cid=cid, gateway="/ip4/127.0.0.1/tcp/%s/http" % STATE["port"],
                  out=out, timeoutMs=240000)
    with open(out, "rb") as f, open(STATE["src"], "rb") as g:
        check(r["bytes"] == SIZE and f.read() == g.read(), "helia's copy differs (%d of %d bytes)"
              % (r["bytes"], SIZE))
    blocks = -(-SIZE // (256 * 1024))
    served = gateway_requests(node) - before
    check(r["requests"] >= blocks and served >= blocks,
          "every block over the gateway: helia made %d requests, Lester answered %d, %d leaves"
          % (r["requests"], served, blocks))
    check(r["accept"] == ["application/vnd.ipld.raw"], "helia asked %r" % r["accept"])
    print("  helia (HTTP only) <- lester gateway %d MiB: %.0f ms, %d requests" % (
        SIZE // MiB, r["ms"], r["requests"]))


def test_car_ranges_read_by_helia_exporter():
    helia, cid, base = STATE["helia"], STATE["cid"], STATE["node"].api_base()
    with open(STATE["src"], "rb") as f:
        data = f.read()
    cases = [(0, 1000), (SIZE // 2 - 5, 300000), (SIZE - 4096, 4096), (174 * 262144 - 10, 20)]
    for off, length in cases:
        q = "entity-bytes=%d:%d" % (off, off + length - 1)
        r = helia.cmd("car", url="%s/ipfs/%s?format=car&dag-scope=entity&%s" % (base, cid, q),
                      cid=cid, offset=off, length=length)
        want = hashlib.sha256(data[off:off + length]).hexdigest()
        check(r["bytes"] == length and r["sha256"] == want,
              "%s: the exporter read %d bytes from the CAR's blocks alone" % (q, r["bytes"]))
        check(r["contentType"] == "application/vnd.ipld.car; version=1; order=dfs; dups=n",
              r["contentType"])
        check(r["blocks"][0] == cid and len(r["blocks"]) <= 2 + 2 + length // 262144 + 2,
              "%s: %d blocks, the minimal set" % (q, len(r["blocks"])))
    r = helia.cmd("car", url="%s/ipfs/%s?format=car&entity-bytes=-1024:*" % (base, cid),
                  cid=cid, offset=SIZE - 1024, length=1024)
    check(r["sha256"] == hashlib.sha256(data[-1024:]).hexdigest(), "entity-bytes=-1024:*")
    print("  %d entity-bytes CARs read back by ipfs-unixfs-exporter" % (len(cases) + 1))


def run_all():
    ok, why = ih.js_available()
    have = all(os.path.isdir(os.path.join(HERE, "node_modules", p)) for p in (
        "@helia/http", "@helia/trustless-gateway-client", "ipfs-unixfs-exporter"))
    if not ok or not have:
        print("SKIP: %s" % (why or "@helia/http not installed: run scripts/interop-deps.sh"))
        print("0 passed, 0 failed")
        return
    run_tests([setup, test_helia_http_fetches_from_lester_gateway,
               test_car_ranges_read_by_helia_exporter], STATE)


if __name__ == "__main__":
    run_all()
