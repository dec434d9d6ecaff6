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
Trustless gateway (ipfs/specs trustless-gateway), with 1 KiB chunks so that a 200 KB
file is a two-level DAG (196 leaves under 2 nodes):
- CARs are parsed here (CARv1: varint header, then varint-length sections), every
  block checked against its CID, the leaves against the file's own 1 KiB chunks
  hashed here; dag-scope=block|entity|all and entity-bytes=from:to (negative, *)
  give exactly the blocks of the pruned depth-first walk computed here, after the
  blocks of the path; dups=n sends a repeated block once, dups=y at every occurrence;
- headers: Etag per format, Cache-Control immutable, Content-Disposition, nosniff,
  Vary, X-Ipfs-Path/Roots, Content-Location; If-None-Match gives 304; HEAD gives the
  same status and headers and no body (checked on a raw socket); Cache-Control:
  only-if-cached gives 412 for a root not held;
- negotiation: ?format= over Accept, q-values and lists, CAR parameters; 406 for what
  is not served (CARv2, dag-json), 400 for malformed parameters; the bafkqaaa probes.
Raw paths go over http.client so that nothing on the client side normalises them."""
import base64
import hashlib
import http.client
import json
import os
import socket
import urllib.parse

from harness import Workdir, check, loopback_node, run, run_json, run_tests, write_file as write

HAMT_ENTRIES = int(os.environ.get("GW_TEST_HAMT_ENTRIES", "1000"))
CHUNK = 1024
SEQ_SIZE = 200000
ODD_NAME = "with space ü €.txt"
STATE = {}


def long_name(i):
    return ("entry-%05d-" % i).ljust(240, "x")


def get(path, headers=None, method="GET"):
    """(status, headers, body) of a GET sent with `path` exactly as given."""
    a = STATE["a"]
    host, port = a.api_base()[len("http://"):].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request(method, path, headers=headers or {})
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
    a.config_set("content.chunk_size", str(CHUNK))
    a.start()
    d = w.sub("site")
    files = {
        "docs/guide/intro.txt": b"welcome to the guide\n",
        "docs/big.bin": os.urandom(700000),
        "docs/" + ODD_NAME: b"odd name\n",
        "readme.md": b"# site\n",
        "data/seq.bin": os.urandom(SEQ_SIZE),
        "data/zeros.bin": bytes(10 * CHUNK),
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
    STATE["data_cid"] = only_hash(os.path.join(d, "data"))
    for name in ("seq", "zeros"):
        STATE[name + "_cid"] = only_hash(os.path.join(d, "data", name + ".bin"), False)
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
    roots, blocks = read_car(body)
    roots2, want_blocks = read_car(want)
    check(st2 == 200 and roots == [root] and roots2 == [docs], "CAR roots %r %r" % (
        roots, roots2))
    check([c for c, _ in blocks] == [root] + [c for c, _ in want_blocks],
          "CAR by path: the root directory's block, then the CAR of the resolved CID")
    st, _, body = get("/ipfs/%s/docs/" % root, {"Accept": "application/vnd.ipld.car"})
    check(st == 200 and read_car(body)[1] == blocks, "CAR by Accept and trailing slash: %d" % st)


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
    # the path through the HAMT is its hash path: the root, then one shard per level
    # (at most 2 for 1,000 entries in buckets of 256), then the file's one block
    st, _, all_shards = get("/ipfs/%s?format=car&dag-scope=entity" % STATE["hamt_cid"])
    n_shards = len(read_car(all_shards)[1])
    for i in (0, 537, HAMT_ENTRIES - 1):
        st, _, body = get("/ipfs/%s/hamt/%s?format=car&dag-scope=block" % (root, long_name(i)))
        blocks = read_car(body)[1]
        check(st == 200 and 3 <= len(blocks) <= 4 and len(blocks) - 2 < n_shards,
              "CAR by a HAMT path: %d blocks (the HAMT has %d shards)" % (len(blocks), n_shards))


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


# ---- CAR reading (CARv1) and the expected walks, computed here ----

def uvarint(b, i):
    n = shift = 0
    while True:
        check(i < len(b), "varint runs past the end")
        n |= (b[i] & 0x7f) << shift
        i += 1
        if b[i - 1] < 0x80:
            return n, i
        shift += 7


def cid_str(raw):
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def raw_leaf_cid(chunk):
    return cid_str(b"\x01\x55\x12\x20" + hashlib.sha256(chunk).digest())


def read_car(body):
    """(roots, [(cid, block)]) of a CARv1; every block checked against its CID."""
    n, i = uvarint(body, 0)
    header, i = body[i:i + n], i + n
    check(b"version\x01" in header, "CARv1 header %r" % header)
    roots, j = [], header.index(b"roots") + 5
    count = header[j] & 0x1f
    j += 1
    for _ in range(count):
        check(header[j:j + 2] == b"\xd8\x2a", "root is a tag-42 CID")
        ln = header[j + 3] if header[j + 2] == 0x58 else header[j + 2] & 0x1f
        start = j + (4 if header[j + 2] == 0x58 else 3)
        roots.append(cid_str(header[start + 1:start + ln]))
        j = start + ln
    blocks = []
    while i < len(body):
        n, i = uvarint(body, i)
        sec, i = body[i:i + n], i + n
        _, k = uvarint(sec, 0)          # version 1
        codec, k = uvarint(sec, k)
        code, k = uvarint(sec, k)
        dlen, k = uvarint(sec, k)
        digest, block = sec[k:k + dlen], sec[k + dlen:]
        check(code == 0x12 and hashlib.sha256(block).digest() == digest,
              "a CAR block matches its CID")
        blocks.append((cid_str(sec[:k + dlen]), block))
    return roots, blocks


def pb_links(block):
    """The link CIDs of a dag-pb node, in order."""
    links, i = [], 0
    while i < len(block):
        key, i = uvarint(block, i)
        n, i = uvarint(block, i)
        field, val, i = key >> 3, block[i:i + n], i + n
        if field != 2:
            continue
        j = 0
        while j < len(val):
            k2, j = uvarint(val, j)
            if k2 & 7 == 0:
                _, j = uvarint(val, j)
                continue
            m, j = uvarint(val, j)
            if k2 >> 3 == 1:
                links.append(cid_str(val[j:j + m]))
            j += m
    return links


def car(path, headers=None):
    st, h, body = get(path, headers)
    check(st == 200, "%s: %d %r" % (path, st, body[:200]))
    return h, read_car(body)


def dag_of(cid):
    """{cid: links} of the whole DAG under `cid`, from its full CAR."""
    _, (_, blocks) = car("/ipfs/%s?format=car" % cid)
    return {c: (pb_links(b) if c.startswith("bafy") else []) for c, b in blocks}


def pruned_walk(dag, cid, lo, hi, leaf_size=CHUNK):
    """Depth-first CIDs holding bytes [lo, hi] of the file at `cid` (fixed chunks)."""
    out, leaf = [], [0]

    def visit(c):
        if not dag[c]:
            first = leaf[0] * leaf_size
            leaf[0] += 1
            return [c] if first <= hi and first + leaf_size - 1 >= lo else []
        below = [x for child in dag[c] for x in visit(child)]
        return [c] + below if below else []
    out = visit(cid)
    return out


def test_car_scopes():
    seq, cid = STATE["files"]["data/seq.bin"], STATE["seq_cid"]
    h, (roots, blocks) = car("/ipfs/%s?format=car" % cid)
    check(h["Content-Type"] == "application/vnd.ipld.car; version=1; order=dfs; dups=n",
          "CAR type %r" % h["Content-Type"])
    dag = {c: (pb_links(b) if c.startswith("bafy") else []) for c, b in blocks}
    leaves = [c for c, _ in blocks if not dag[c]]
    want = [raw_leaf_cid(seq[i:i + CHUNK]) for i in range(0, len(seq), CHUNK)]
    check(roots == [cid] and leaves == want, "all: the %d leaves are the file's chunks" % len(want))
    check(len(blocks) == 1 + 2 + len(want) and len(dag[cid]) == 2, "two levels: %d blocks" % len(
        blocks))
    full = [c for c, _ in blocks]
    for q in ("dag-scope=entity", "dag-scope=all", "entity-bytes=0:*", "entity-bytes=-999999:*"):
        _, (_, got) = car("/ipfs/%s?format=car&%s" % (cid, q))
        check([c for c, _ in got] == full, "%s: the whole file" % q)
    _, (_, got) = car("/ipfs/%s?format=car&dag-scope=block" % cid)
    check([c for c, _ in got] == [cid], "dag-scope=block: the root only")
    n = len(seq)
    cases = {"1000:3000": (1000, 3000), "-1024:*": (n - 1024, n - 1),
             "199999:*": (n - 1, n - 1), "180000:-10000": (180000, n - 10000),
             "100000:100000": (100000, 100000), "178175:178177": (178175, 178177),
             "0:9999999": (0, n - 1)}
    for q, (lo, hi) in cases.items():
        _, (_, got) = car("/ipfs/%s?format=car&entity-bytes=%s" % (cid, q))
        exp = pruned_walk(dag, cid, lo, hi)
        check([c for c, _ in got] == exp, "entity-bytes=%s: %d blocks, want %d" % (
            q, len(got), len(exp)))
    _, (_, got) = car("/ipfs/%s?format=car&entity-bytes=10:-199995" % cid)
    check([c for c, _ in got] == [cid], "an empty range answers as dag-scope=block")
    for q in ("entity-bytes=200000:*", "entity-bytes=5:2", "entity-bytes=abc",
              "entity-bytes=1:", "entity-bytes=:5", "dag-scope=foo", "car-dups=x"):
        st, _, body = get("/ipfs/%s?format=car&%s" % (cid, q))
        check(st == 400 and json.loads(body)["error"]["code"] == "bad_request",
              "%s: %d %r" % (q, st, body))
    print("  entity-bytes: %d cases match the pruned walk computed here" % len(cases))


def test_car_path_and_dups():
    root, data, seq = STATE["root"], STATE["data_cid"], STATE["seq_cid"]
    h, (roots, got) = car("/ipfs/%s/data/seq.bin?format=car&dag-scope=block" % root)
    check(roots == [root] and [c for c, _ in got] == [root, data, seq],
          "dag-scope=block by path: the path's blocks, then the file's root: %r" % roots)
    check(h["X-Ipfs-Roots"] == "%s,%s,%s" % (root, data, seq), h["X-Ipfs-Roots"])
    check(h["X-Ipfs-Path"] == "/ipfs/%s/data/seq.bin" % root, h["X-Ipfs-Path"])
    dag = dag_of(seq)
    _, (_, got) = car("/ipfs/%s/data/seq.bin?format=car&entity-bytes=5000:6000" % root)
    check([c for c, _ in got] == [root, data] + pruned_walk(dag, seq, 5000, 6000),
          "entity-bytes by path")
    _, (_, got) = car("/ipfs/%s?format=car&dag-scope=entity" % STATE["docs_cid"])
    check([c for c, _ in got] == [STATE["docs_cid"]], "entity of a directory: its block")
    _, (_, got) = car("/ipfs/%s?format=car&dag-scope=entity" % STATE["hamt_cid"])
    check(len(got) > 1 and all(c.startswith("bafy") for c, _ in got),
          "entity of a HAMT directory: its %d shards, no entry" % len(got))
    zeros = STATE["zeros_cid"]
    h, (_, got) = car("/ipfs/%s?format=car" % zeros)
    check(len(got) == 2 and h["Content-Type"].endswith("dups=n"), "dups=n: %d blocks" % len(got))
    for hdr, q in ((
            {"Accept": "application/vnd.ipld.car; version=1; order=dfs; dups=y"}, ""),
            ({}, "&car-dups=y")):
        h, (_, got) = car("/ipfs/%s?format=car%s" % (zeros, q), hdr)
        check(len(got) == 11 and h["Content-Type"].endswith("dups=y"),
              "dups=y: every occurrence, %d blocks, %r" % (len(got), h["Content-Type"]))
    h, (_, got) = car("/ipfs/%s?format=car&car-dups=n" % zeros,
                      {"Accept": "application/vnd.ipld.car; dups=y"})
    check(len(got) == 2, "car-dups in the query wins over Accept's dups")


def head_raw(path):
    """(status line, header lines, bytes after the headers) of a HEAD on a raw socket."""
    host, port = STATE["a"].api_base()[len("http://"):].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(b"HEAD %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode())
        data = b""
        while True:
            more = s.recv(65536)
            if not more:
                break
            data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    return lines[0], lines[1:], rest


def test_headers_head_304():
    root, seq, cid = STATE["root"], STATE["seq_cid"], STATE["seq_cid"]
    imm = "public, max-age=29030400, immutable"
    etags = {}
    for fmt, ext in (("raw", "bin"), ("car", "car")):
        st, h, _ = get("/ipfs/%s?format=%s" % (cid, fmt))
        check(st == 200 and h["Content-Disposition"] == 'attachment; filename="%s.%s"' % (cid, ext),
              "%s: Content-Disposition %r" % (fmt, h["Content-Disposition"]))
        check(h["X-Content-Type-Options"] == "nosniff" and h["Cache-Control"] == imm and
              h["Vary"] == "Accept" and h["X-Ipfs-Path"] == "/ipfs/" + cid and
              h["X-Ipfs-Roots"] == cid and "Content-Location" not in h, "%s headers" % fmt)
        etags[fmt] = h["Etag"]
    st, h, _ = get("/ipfs/%s" % cid)
    etags["file"] = h["Etag"]
    check(etags["raw"] == '"%s.raw"' % cid and etags["file"] == '"%s"' % cid and
          etags["car"].startswith('"%s.car.all.' % cid), "Etags %r" % etags)
    _, h2, _ = get("/ipfs/%s?format=car&dag-scope=entity" % cid)
    _, h3, _ = get("/ipfs/%s?format=car&entity-bytes=0:99" % cid)
    check(len({etags["car"], h2["Etag"], h3["Etag"]}) == 3, "a CAR Etag per scope and range")
    _, h, _ = get("/ipfs/%s" % cid, {"Accept": "application/vnd.ipld.raw"})
    check(h["Content-Location"] == "/ipfs/%s?format=raw" % cid, "Content-Location by Accept")
    _, h, _ = get("/ipfs/%s?dag-scope=entity" % cid, {"Accept": "application/vnd.ipld.car;dups=y"})
    check(h["Content-Location"] == "/ipfs/%s?format=car&car-dups=y&dag-scope=entity" % cid,
          "Content-Location of a CAR by Accept: %r" % h["Content-Location"])
    unheld = raw_leaf_cid(b"never stored here")
    st, _, body = get("/ipfs/%s?format=raw" % unheld, {"Cache-Control": "only-if-cached"})
    check(st == 412 and body == b"", "only-if-cached, root not held: %d %r" % (st, body))
    st, _, _ = get("/ipfs/%s?format=raw" % cid, {"Cache-Control": "only-if-cached"})
    check(st == 200, "only-if-cached, root held: %d" % st)
    for fmt, tag in (("raw", etags["raw"]), ("car", etags["car"]), ("", etags["file"])):
        path = "/ipfs/%s%s" % (cid, "?format=" + fmt if fmt else "")
        for inm in (tag, "W/" + tag, '"nope", ' + tag, "*"):
            st, h, body = get(path, {"If-None-Match": inm})
            check(st == 304 and body == b"" and h["Etag"] == tag, "%s If-None-Match %s: %d" % (
                fmt or "file", inm, st))
        st, _, _ = get(path, {"If-None-Match": '"other"'})
        check(st == 200, "a different Etag: 200")
    paths = ["/ipfs/%s?format=raw" % cid, "/ipfs/%s?format=car" % cid, "/ipfs/%s" % cid,
             "/ipfs/%s/data" % root, "/ipfs/%s/nope" % root, "/ipfs/%s?format=dag-json" % cid,
             "/file/%s/chunk/3" % cid, "/health"]
    for p in paths:
        st, h, body = get(p)
        status, lines, rest = head_raw(p)
        hh = {k.lower(): v for k, v in (x.split(": ", 1) for x in lines)}
        check(status.split(" ")[1] == str(st) and rest == b"", "HEAD %s: %r, %d bytes of body" % (
            p, status, len(rest)))
        for k in ("Content-Type", "Etag", "Cache-Control", "X-Ipfs-Roots", "Content-Disposition"):
            check(hh.get(k.lower()) == h.get(k), "HEAD %s: %s %r vs %r" % (p, k, hh.get(k.lower()),
                                                                          h.get(k)))
        if "content-length" in hh and h.get("Transfer-Encoding") != "chunked":
            check(int(hh["content-length"]) == len(body), "HEAD %s: Content-Length" % p)
    _, lines, _ = head_raw("/ipfs/%s" % seq)
    check("Content-Length: %d" % SEQ_SIZE in lines, "HEAD of a file: its size %r" % lines)
    st, h, body = get("/ipfs/%s" % cid, {"Range": "bytes=10-19"})
    check(st == 206 and h["Etag"] == '"%s.10-19"' % cid and body == STATE["files"][
        "data/seq.bin"][10:20], "range Etag %r" % h["Etag"])
    print("  Etags %s" % sorted(etags.values()))


def test_negotiation():
    cid = STATE["seq_cid"]
    raw = STATE["files"]["data/seq.bin"]
    car_t = "application/vnd.ipld.car; version=1; order=dfs; dups="
    cases = [
        ({"Accept": "application/vnd.ipld.car"}, "raw", "application/vnd.ipld.raw"),
        ({"Accept": "application/vnd.ipld.raw, */*;q=0.5"}, "", "application/vnd.ipld.raw"),
        ({"Accept": "*/*;q=0.5, application/vnd.ipld.raw;q=0.4"}, "", "application/octet-stream"),
        ({"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, "", "application/octet-stream"),
        ({"Accept": "application/vnd.ipld.car;order=foo, "
                    "application/vnd.ipld.car;order=dfs;dups=y;q=0.5"}, "", car_t + "y"),
        ({"Accept": "application/vnd.ipld.car; version=2, application/vnd.ipld.raw;q=0.1"}, "",
         "application/vnd.ipld.raw"),
        ({"Accept": 'application/vnd.ipld.car; version="1"; order=unk'}, "", car_t + "n"),
        ({"Accept": "application/vnd.ipld.raw;q=0, application/vnd.ipld.car;q=0.9"}, "",
         car_t + "n"),
        ({}, "car", car_t + "n"),
    ]
    for hdr, fmt, want in cases:
        st, h, body = get("/ipfs/%s%s" % (cid, "?format=" + fmt if fmt else ""), hdr)
        check(st == 200 and h["Content-Type"] == want, "%r format=%s: %d %r, want %r" % (
            hdr, fmt, st, h["Content-Type"], want))
        if want == "application/octet-stream":
            check(body == raw, "the file's bytes")
    refused = [({"Accept": "application/vnd.ipld.car; version=2"}, "", 406),
               ({"Accept": "application/vnd.ipld.dag-json"}, "", 406),
               ({"Accept": "application/vnd.ipld.raw;q=0"}, "", 406),
               ({}, "dag-json", 406), ({}, "tar", 406), ({}, "bogus", 400),
               ({"Accept": "application/vnd.ipld.raw"}, "car&car-version=2", 406),
               ({}, "car&car-order=foo", 406), ({}, "car&car-version=x", 400)]
    for hdr, fmt, code in refused:
        st, h, body = get("/ipfs/%s%s" % (cid, "?format=" + fmt if fmt else ""), hdr)
        err = json.loads(body)["error"]
        check(st == code and err["message"] and h["Vary"] == "Accept",
              "%r format=%s: %d %r, want %d" % (hdr, fmt, st, err, code))
    st, _, body = get("/ipfs/bafkqaaa?format=raw", {"Accept": "application/vnd.ipld.raw"})
    check(st == 200 and body == b"", "probe bafkqaaa raw: %d %r" % (st, body))
    st, _, body = get("/ipfs/bafkqaaa?format=car", {"Accept": "application/vnd.ipld.car"})
    check(st == 200 and read_car(body) == (["bafkqaaa"], []), "probe bafkqaaa CAR: %d" % st)
    print("  %d accepted and %d refused negotiations" % (len(cases), len(refused)))


def test_shutdown():
    check(STATE["a"].stop() == 0, "daemon exits 0")


if __name__ == "__main__":
    run_tests([test_setup, test_nested_file, test_range_on_path, test_car_on_path,
               test_hamt_file, test_percent_encoded, test_directory_path, test_not_found,
               test_bad_paths, test_car_scopes, test_car_path_and_dups, test_headers_head_304,
               test_negotiation, test_shutdown], STATE)
