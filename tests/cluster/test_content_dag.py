"""`lester dag export|import` (CARv1 files, kubo's `ipfs dag export|import`) on real
daemons:
- A exports a tree (a 3 MB file of 12 chunks, small files, a subdirectory): the CAR
  is parsed here — header version 1 naming the root, then sections whose blocks all
  hash to their CIDs (sha2-256 or identity), each CID once, the root first, and
  exactly the blocks of the DAG (every link of every dag-pb node is in the CAR);
  stdout and -o give the same bytes; `export <cid>/sub` is the CAR of that entry;
- B, never connected to A, imports the file: the root is pinned, `lester get` reads
  the tree back offline, byte for byte, and `repo gc` keeps it;
- refused, exit 1, nothing pinned: a CAR with one byte of a block changed (the
  block no longer matches its CID), a CAR cut short, a file that is not a CAR;
- a CAR holding only the root directory's block (the gateway's dag-scope=block):
  imported, the root reported incomplete with its missing blocks count, not
  pinned, exit 1; `--pin=false` imports without pinning or checking."""
import hashlib
import json
import os
import urllib.request

from harness import (check, loopback_node, run, run_json, run_tests, setup_nodes,
                     write_file as write)

STATE = {}


def uvarint(b, i):
    n = shift = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return n, i


def cid_len(b, i):
    """Length of the binary CIDv0/v1 at b[i:]."""
    if b[i] == 0x12 and b[i + 1] == 0x20:
        return 34
    j = i
    for _ in range(3):  # version, codec, hash code
        _, j = uvarint(b, j)
    dlen, j = uvarint(b, j)
    return j + dlen - i


def read_car(data):
    """(header bytes, [(cid bytes, block bytes)]) of a CARv1."""
    hlen, i = uvarint(data, 0)
    header, i = data[i:i + hlen], i + hlen
    sections = []
    while i < len(data):
        slen, j = uvarint(data, i)
        n = cid_len(data, j)
        sections.append((data[j:j + n], data[j + n:j + slen]))
        i = j + slen
    check(i == len(data), "the last section ends at the end of the file")
    return header, sections


def verify(cid, block):
    """The block hashes to the CID's multihash (sha2-256 or identity)."""
    if cid[:2] == b"\x12\x20":
        return hashlib.sha256(block).digest() == cid[2:]
    j = 0
    for _ in range(2):
        _, j = uvarint(cid, j)
    code, j = uvarint(cid, j)
    dlen, j = uvarint(cid, j)
    if code == 0x00:
        return cid[j:j + dlen] == block
    return code == 0x12 and hashlib.sha256(block).digest() == cid[j:j + dlen]


def pb_links(block):
    """CIDs (bytes) linked from a dag-pb node: field 2 (PBLink), its field 1 (Hash)."""
    links, i = [], 0
    while i < len(block):
        key, i = uvarint(block, i)
        n, i = uvarint(block, i)
        if key == 0x12:
            link, k = block[i:i + n], 0
            while k < len(link):
                lk, k = uvarint(link, k)
                ln, k = uvarint(link, k)
                if lk == 0x0A:
                    links.append(link[k:k + ln])
                k += ln
        i += n
    return links


def test_setup():
    w, (a, b) = setup_nodes(STATE, "content-dag", "A", "B")
    d = w.sub("tree")
    files = {"big.bin": os.urandom(3000000), "a.txt": b"hello\n", "sub/b.txt": b"inner\n",
             "sub/empty": b""}
    for rel, blob in files.items():
        write(os.path.join(d, rel), blob)
    root = run_json("add", "-r", d, home=a.home)["cid"]
    STATE.update(tree=d, files=files, root=root)


def test_export_is_the_dag():
    w, a, root = STATE["w"], STATE["a"], STATE["root"]
    car = w.sub("tree.car")
    run("dag", "export", root, "-o", car, home=a.home, check_rc=0)
    with open(car, "rb") as f:
        data = f.read()
    header, sections = read_car(data)
    check(b"version" in header and header.count(b"roots") == 1, "a CARv1 header")
    check(all(verify(c, blk) for c, blk in sections), "every block matches its CID")
    cids = [c for c, _ in sections]
    check(len(set(cids)) == len(cids), "each block once")
    by_cid = dict(sections)
    for c, blk in sections:  # dag-pb: CIDv1 0x01 0x70 or CIDv0
        if c[:2] == b"\x01\x70" or c[:2] == b"\x12\x20":
            for link in pb_links(blk):
                check(link in by_cid, "every link of the DAG is in the CAR")
    check(len(sections) >= 12 + 3, "the file's 12 chunks and the nodes: %d" % len(sections))
    out = run("dag", "export", root, home=a.home, check_rc=0, text=False).stdout
    check(out == data, "stdout and -o give the same CAR")
    STATE["car"] = car
    sub = run("dag", "export", root + "/sub", home=a.home, check_rc=0, text=False).stdout
    _, sub_sections = read_car(sub)
    check(len(sub_sections) == 3, "the subdirectory's CAR: its node and its two files' "
          "raw leaves (%d)" % len(sub_sections))


def test_import_elsewhere():
    w, b, root, files = STATE["w"], STATE["b"], STATE["root"], STATE["files"]
    check(run_json("swarm", "peers", home=b.home) == [], "B is connected to no peer")
    r = run_json("dag", "import", STATE["car"], home=b.home)
    check([x["cid"] for x in r["roots"]] == [root] and r["roots"][0]["pinned"],
          "the root pinned: %r" % r)
    run("repo", "gc", home=b.home, check_rc=0)
    out = w.sub("back")
    run("get", "-q", root, "-o", out, home=b.home, check_rc=0, timeout=30)
    for rel, blob in files.items():
        with open(os.path.join(out, rel), "rb") as f:
            check(f.read() == blob, "%s read back after import and gc" % rel)


def import_fails(node, data, name, words):
    path = STATE["w"].sub(name)
    with open(path, "wb") as f:
        f.write(data)
    p = run("dag", "import", path, home=node.home)
    check(p.returncode == 1 and words in p.stderr, "%s: %d %r" % (name, p.returncode, p.stderr))
    return p


def fresh_node(name):
    n = loopback_node(STATE["w"], name)
    n.start()
    STATE[name] = n
    return n


def test_refused_cars():
    with open(STATE["car"], "rb") as f:
        data = bytearray(f.read())
    c = fresh_node("C")
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0x01  # inside the big file's chunks
    import_fails(c, bytes(bad), "flipped.car", "does not match its CID")
    import_fails(c, bytes(data[:len(data) - 1000]), "cut.car", "cut short")
    import_fails(c, b"this is not a CAR file at all\n" * 10, "text.car", "not a CAR")
    pins = run_json("pin", "ls", home=c.home)
    check(not pins.get("pins"), "nothing pinned: %r" % pins)


def test_incomplete_car():
    a, root = STATE["a"], STATE["root"]
    url = "%s/ipfs/%s?format=car&dag-scope=block" % (a.api_base(), root)
    with urllib.request.urlopen(url, timeout=30) as r:
        only_root = r.read()
    d = fresh_node("D")
    p = import_fails(d, only_root, "root-only.car", "not pinned")
    r = json.loads(run("dag", "import", "--json", STATE["w"].sub("root-only.car"),
                       home=d.home).stdout)
    check(r["incomplete"] == 1 and r["roots"][0]["missing_blocks"] > 0 and
          not r["roots"][0]["pinned"], "incomplete root: %r" % r)
    p = run("dag", "import", "--pin=false", STATE["w"].sub("root-only.car"), home=d.home,
            check_rc=0)
    check("not pinned" in p.stdout, "--pin=false: %r" % p.stdout)


if __name__ == "__main__":
    run_tests([test_setup, test_export_is_the_dag, test_import_elsewhere, test_refused_cars,
               test_incomplete_car], STATE)
