"""`GET /ipfs/{cid}/{path...}` on a real daemon (ipfs/specs path-gateway):
- a path through nested directories serves the file it names, as /ipfs/{file-cid} would:
  whole, with Range (206 + Content-Range), ?format=raw (the block) and ?format=car
  (byte-identical to the CAR of /ipfs/{resolved});
- a file inside a HAMT-sharded directory (1,000 entries with 240-byte names pass
  the 256 KiB sharding estimate without writing 6,000 files);
- names with spaces and non-ASCII characters, percent-encoded (upper and lower hex);
- a directory path answers exactly as /ipfs/{dir-cid} does: a JSON listing (plain
  and HAMT);
- 404 for a missing entry, a name asked of a file, a root not held here;
- 400 for an empty segment, ".", "..", escapes that are malformed or decode to NUL
  or '/', a bad CID.
Raw paths go over http.client so that nothing on the client side normalises them."""
import http.client
import json
import os
import urllib.parse

from harness import Workdir, check, loopback_node, run, run_json, run_tests, write_file as write

HAMT_ENTRIES = int(os.environ.get("GW_TEST_HAMT_ENTRIES", "1000"))
ODD_NAME = "with space ü €.txt"
STATE = {}


def long_name(i):
    return ("entry-%05d-" % i).ljust(240, "x")


def get(path, headers=None):
    """(status, headers, body) of a GET sent with `path` exactly as given."""
    a = STATE["a"]
    host, port = a.api_base()[len("http://"):].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


def only_hash(path, recursive=True):
    args = ["add", "-q", "--only-hash"] + (["-r"] if recursive else []) + [path]
    return run(*args, home=STATE["a"].home, check_rc=0).stdout.strip()


def test_setup():
    w = Workdir("gateway-paths")
    STATE["w"] = w
    a = loopback_node(w, "A")
    STATE["a"] = a
    a.start()
    d = w.sub("site")
    files = {
        "docs/guide/intro.txt": b"welcome to the guide\n",
        "docs/big.bin": os.urandom(700000),
        "docs/" + ODD_NAME: b"odd name\n",
        "readme.md": b"# site\n",
    }
    for i in range(HAMT_ENTRIES):
        files["hamt/" + long_name(i)] = b"hamt entry %d\n" % i
    for rel, blob in files.items():
        write(os.path.join(d, rel), blob)
    root = run_json("add", "-r", d, home=a.home)["cid"]
    STATE.update(site=d, files=files, root=root)
    STATE["docs_cid"] = only_hash(os.path.join(d, "docs"))
    STATE["hamt_cid"] = only_hash(os.path.join(d, "hamt"))
    STATE["big_cid"] = only_hash(os.path.join(d, "docs", "big.bin"), recursive=False)
    stat = a.post("/api/v0/stat", {"cid": STATE["hamt_cid"]})
    check(stat["type"] == "directory" and stat["links"] <= 256,
          "the %d-entry directory is a HAMT: %r" % (HAMT_ENTRIES, stat))
    print("  added %s (%d files), hamt root shard %d links" % (root, len(files), stat["links"]))


def test_nested_file():
    root, files = STATE["root"], STATE["files"]
    for rel in ("docs/guide/intro.txt", "readme.md", "docs/big.bin"):
        st, _, body = get("/ipfs/%s/%s" % (root, rel))
        check(st == 200 and body == files[rel], "%s: %d, %d bytes" % (rel, st, len(body)))
    st, _, body = get("/ipfs/%s/docs/guide/intro.txt?format=raw" % root)
    check(st == 200 and body == files["docs/guide/intro.txt"], "raw leaf by path: %d" % st)
    st, h, body = get("/ipfs/%s/docs/big.bin?format=raw" % root)
    st2, _, want = get("/ipfs/%s?format=raw" % STATE["big_cid"])
    check(st == 200 and st2 == 200 and body == want, "raw root block of big.bin by path")
    check(h["Content-Type"] == "application/vnd.ipld.raw", "raw type %r" % h["Content-Type"])


def test_range_on_path():
    root, big = STATE["root"], STATE["files"]["docs/big.bin"]
    st, h, body = get("/ipfs/%s/docs/big.bin" % root, {"Range": "bytes=300000-300099"})
    check(st == 206 and body == big[300000:300100], "range by path: %d, %d bytes" % (
        st, len(body)))
    check(h["Content-Range"] == "bytes 300000-300099/%d" % len(big), h["Content-Range"])
    st, h, body = get("/ipfs/%s/docs/big.bin" % root, {"Range": "bytes=-10"})
    check(st == 206 and body == big[-10:], "suffix range by path: %d" % st)
    st, h, _ = get("/ipfs/%s/docs/big.bin" % root, {"Range": "bytes=900000-"})
    check(st == 416 and h["Content-Range"] == "bytes */%d" % len(big), "416 by path: %d" % st)


def test_car_on_path():
    root, docs = STATE["root"], STATE["docs_cid"]
    st, h, body = get("/ipfs/%s/docs?format=car" % root)
    st2, _, want = get("/ipfs/%s?format=car" % docs)
    check(st == 200 and h["Content-Type"].startswith("application/vnd.ipld.car"),
          "CAR by path: %d %r" % (st, h["Content-Type"]))
    check(st2 == 200 and body == want, "CAR by path == CAR of the resolved CID (%d vs %d B)" % (
        len(body), len(want)))
    st, _, body = get("/ipfs/%s/docs/" % root, {"Accept": "application/vnd.ipld.car"})
    check(st == 200 and body == want, "CAR by Accept and trailing slash: %d" % st)


def test_hamt_file():
    root, files = STATE["root"], STATE["files"]
    for i in (0, 537, HAMT_ENTRIES - 1):
        st, _, body = get("/ipfs/%s/hamt/%s" % (root, long_name(i)))
        check(st == 200 and body == files["hamt/" + long_name(i)], "hamt %d: %d" % (i, st))
    st, _, body = get("/ipfs/%s/%s" % (STATE["hamt_cid"], long_name(42)))
    check(st == 200 and body == b"hamt entry 42\n", "from the HAMT's own CID: %d" % st)
    st, _, body = get("/ipfs/%s/hamt/%s" % (root, long_name(HAMT_ENTRIES)))
    check(st == 404 and json.loads(body)["error"]["code"] == "not_found",
          "a name the HAMT lacks: %d %r" % (st, body))


def test_percent_encoded():
    root = STATE["root"]
    want = STATE["files"]["docs/" + ODD_NAME]
    quoted = urllib.parse.quote(ODD_NAME)
    check("%20" in quoted and "%C3%BC" in quoted, quoted)
    st, _, body = get("/ipfs/%s/docs/%s" % (root, quoted))
    check(st == 200 and body == want, "percent-encoded name: %d %r" % (st, body[:80]))
    st, _, body = get("/ipfs/%s/docs/%s" % (root, quoted.lower()))
    check(st == 200 and body == want, "lower-case escapes: %d" % st)
    st, _, body = get("/ipfs/%s/%s/%s" % (root, "%64ocs", "%67uide/intro.txt"))
    check(st == 200 and body == STATE["files"]["docs/guide/intro.txt"], "escaped ASCII: %d" % st)


def test_directory_path():
    root, docs = STATE["root"], STATE["docs_cid"]
    want = get("/ipfs/%s" % docs)
    check(want[0] == 200 and want[1]["Content-Type"].startswith("application/json"),
          "/ipfs/<dir-cid>: %d %r" % (want[0], want[2][:120]))
    for p in ("/ipfs/%s/docs" % root, "/ipfs/%s/docs/" % root):
        st, _, body = get(p)
        check((st, body) == (want[0], want[2]), "%s: %d %r, /ipfs/<dir> gives %d %r" % (
            p, st, body[:120], want[0], want[2][:120]))
    listing = json.loads(want[2])
    names = [e["name"] for e in listing["entries"]]
    check(listing["cid"] == docs and names == sorted([ODD_NAME, "big.bin", "guide"],
                                                     key=lambda n: n.encode())
          and listing["unlisted"] == 0, "docs listing: %r" % listing)
    big = [e for e in listing["entries"] if e["name"] == "big.bin"][0]
    check(big["cid"] == STATE["big_cid"] and big["tsize"] > 700000, "big.bin entry %r" % big)
    st, _, body = get("/ipfs/%s/hamt" % root)
    listing = json.loads(body)
    check(st == 200 and len(listing["entries"]) == HAMT_ENTRIES, "HAMT listing: %d, %d" % (
        st, len(listing.get("entries", []))))
    print("  a directory path answers the JSON listing /ipfs/<dir-cid> gives")


def test_not_found():
    root = STATE["root"]
    for p in ("/ipfs/%s/nope" % root, "/ipfs/%s/docs/missing/deeper" % root,
              "/ipfs/%s/docs/guide/intro.txt/more" % root, "/ipfs/%s/readme.md/x" % root,
              "/ipfs/%s/docs/big.bin/x" % root):
        st, _, body = get(p)
        check(st == 404 and json.loads(body)["error"]["code"] == "not_found",
              "%s: %d %r" % (p, st, body))
    d = STATE["w"].sub("elsewhere")
    write(os.path.join(d, "sub", "f.txt"), b"never added\n")
    unheld = only_hash(d)
    for p in ("/ipfs/%s" % unheld, "/ipfs/%s/sub/f.txt" % unheld):
        st, _, body = get(p)
        check(st == 404, "root not held here, %s: %d %r" % (p, st, body))


def test_bad_paths():
    root = STATE["root"]
    bad = ["docs//guide", "/docs", "..", "docs/..", "docs/.", "docs/%2E%2E", "docs/%2e",
           "a%00b", "docs%2Fguide", "docs%2fguide", "%zz", "docs/%4", "docs/%", "docs/a%G1"]
    for tail in bad:
        st, _, body = get("/ipfs/%s/%s" % (root, tail))
        check(st == 400 and json.loads(body)["error"]["code"] == "bad_request",
              "%r: %d %r" % (tail, st, body))
    for p in ("/ipfs/not-a-cid/readme.md", "/ipfs//readme.md", "/ipfs/"):
        st, _, body = get(p)
        check(st == 400, "%s: %d %r" % (p, st, body))
    st, _, body = get("/ipfs/%s/%s" % (root, "/".join(["d"] * 40)))
    check(st == 400, "40 segments: %d" % st)


def test_shutdown():
    check(STATE["a"].stop() == 0, "daemon exits 0")


if __name__ == "__main__":
    run_tests([test_setup, test_nested_file, test_range_on_path, test_car_on_path,
               test_hamt_file, test_percent_encoded, test_directory_path, test_not_found,
               test_bad_paths, test_shutdown], STATE)
