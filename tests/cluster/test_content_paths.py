"""Content paths and single blocks from the CLI (issue 6; kubo's `ipfs cat CID/a/b`,
`ipfs get CID/a/b`, `ipfs block get`), on two real daemons: A adds a tree, B reads
it by path over Bitswap.
- `cat <cid>/a.txt`, `cat /ipfs/<cid>/dir/with space.txt` (names literal, not
  percent-decoded), `cat` of a file in a HAMT-sharded directory (1,000 entries with
  240-byte names pass the 256 KiB sharding estimate);
- `get <cid>/sub/big.bin` saves ./big.bin (the path's last name), bytes identical,
  and fetched only the directory blocks on the way and that file's DAG: the other
  files' blocks are not held on B afterwards (`block stat` 404), nor the HAMT's;
- `ls <cid>/sub` and `stat` by path on held blocks;
- errors with exit 1 and a sentence naming the segment: no such entry, a name asked
  of a file, `cat` of a directory (400, says to use ls/get), a path not held for a
  local-only command (404, says to fetch), a malformed path (400);
- `block get` of a block not held fetches that block alone (its bytes equal A's,
  no link followed: its children stay unheld), by CID and by path;
- `pin add <cid>/many` fetches that HAMT directory's whole DAG and pins it (kept by
  gc), `pin add --direct` fetches and pins one block; after `pin rm` gc collects."""
import base64
import hashlib
import os

from harness import check, run, run_json, run_tests, setup_nodes, write_file as write

HAMT_ENTRIES = int(os.environ.get("PATHS_TEST_HAMT_ENTRIES", "1000"))
STATE = {}


def long_name(i):
    return ("entry-%05d-" % i).ljust(240, "x")


def only_hash(path, recursive=False):
    args = ["add", "-q", "--only-hash"] + (["-r"] if recursive else []) + [path]
    return run(*args, home=STATE["a"].home, check_rc=0).stdout.strip()


def raw_cid(data):
    """CIDv1, raw codec, sha2-256, base32: one leaf of a file."""
    b = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(b).decode().lower().rstrip("=")


def cli_bytes(node, *args, cwd=None):
    """The CLI's stdout as bytes (a block, a file), exit code 0 required."""
    return run(*args, home=node.home, cwd=cwd, text=False, check_rc=0).stdout


def held(node, cid):
    return run("block", "stat", cid, home=node.home).returncode == 0


def test_setup():
    w, (a, b) = setup_nodes(STATE, "content-paths", "A", "B")
    d = w.sub("tree")
    files = {"a.txt": b"hello\n", "sub/big.bin": os.urandom(3000000),
             "sub/with space.txt": b"x y\n", "sub/pct%41.txt": b"percent\n",
             "other/big2.bin": os.urandom(1000000)}
    for i in range(HAMT_ENTRIES):
        files["many/" + long_name(i)] = b"entry %d\n" % i
    for rel, blob in files.items():
        write(os.path.join(d, rel), blob)
    root = run_json("add", "-r", d, home=a.home)["cid"]
    STATE.update(tree=d, files=files, root=root)
    run("swarm", "connect", run_json("id", home=a.home)["addresses"][0], home=b.home,
        check_rc=0)


def test_cat_by_path():
    b, root, files = STATE["b"], STATE["root"], STATE["files"]
    for arg, rel in ((root + "/a.txt", "a.txt"), ("/ipfs/%s/sub/with space.txt" % root,
                                                 "sub/with space.txt"),
                     (root + "/sub/pct%41.txt", "sub/pct%41.txt"),
                     (root + "/many/" + long_name(777), "many/" + long_name(777))):
        p = run("cat", "-q", arg, home=b.home, check_rc=0)
        check(p.stdout.encode() == files[rel], "cat %s: %r" % (rel, p.stdout[:40]))


def test_get_by_path_fetches_only_the_path():
    w, a, b, root = STATE["w"], STATE["a"], STATE["b"], STATE["root"]
    out = w.sub("out")
    os.makedirs(out)
    saved = cli_bytes(b, "get", "-q", root + "/sub/big.bin", cwd=out).decode()
    check(saved.strip().endswith(os.path.join(out, "big.bin")), "saved line: %r" % saved)
    with open(os.path.join(out, "big.bin"), "rb") as f:
        check(f.read() == STATE["files"]["sub/big.bin"], "big.bin by path: bytes differ")
    d = STATE["tree"]
    check(not held(b, only_hash(os.path.join(d, "other", "big2.bin"))),
          "a file off the path was fetched too")
    check(not held(b, only_hash(os.path.join(d, "other"), True)),
          "a directory off the path was fetched")
    hamt_files = [only_hash(os.path.join(d, "many", long_name(i))) for i in (1, 500, 999)]
    check(not any(held(b, c) for c in hamt_files), "HAMT entries off the path were fetched")
    check(held(a, hamt_files[0]), "A holds them")


def test_ls_and_stat_by_path():
    b, root = STATE["b"], STATE["root"]
    names = [e["name"] for e in run_json("ls", root + "/sub", home=b.home)["entries"]]
    check(names == ["big.bin", "pct%41.txt", "with space.txt"], "ls by path: %r" % names)
    st = STATE["b"].post("/api/v0/stat", {"cid": root + "/sub/big.bin"})
    check(st["type"] == "file" and st["size"] == 3000000, "stat by path: %r" % st)


def test_errors():
    b, root = STATE["b"], STATE["root"]
    p = run("cat", "-q", root + "/nope", home=b.home)
    check(p.returncode == 1 and "no entry named 'nope'" in p.stderr, "missing: %r" % p.stderr)
    p = run("cat", "-q", root + "/a.txt/x", home=b.home)
    check(p.returncode == 1 and "parent is a file" in p.stderr, "under a file: %r" % p.stderr)
    p = run("cat", "-q", root + "/sub", home=b.home)
    check(p.returncode == 1 and "a directory" in p.stderr and "lester ls" in p.stderr,
          "cat of a directory: %r" % p.stderr)
    p = run("ls", root + "/other", home=b.home)
    check(p.returncode == 1 and "fetch it first" in p.stderr, "not held: %r" % p.stderr)
    for bad in (root + "//a.txt", root + "/../a.txt", root + "/./a.txt", "nocid/a.txt"):
        p = run("cat", "-q", bad, home=b.home)
        check(p.returncode == 1 and "must be a CID" in p.stderr, "%s: %r" % (bad, p.stderr))


def test_block_get_fetches_one_block():
    a, b, d = STATE["a"], STATE["b"], STATE["tree"]
    big2 = only_hash(os.path.join(d, "other", "big2.bin"))
    check(not held(b, big2), "big2.bin's root is not held on B yet")
    got = cli_bytes(b, "block", "get", big2)
    check(got == cli_bytes(a, "block", "get", big2), "the fetched block equals A's")
    check(held(b, big2), "the block is held on B now")
    blob = STATE["files"]["other/big2.bin"]
    leaves = [raw_cid(blob[i:i + 262144]) for i in range(0, len(blob), 262144)]
    check(all(held(a, c) for c in leaves), "A holds big2.bin's leaves")
    check(not any(held(b, c) for c in leaves), "its leaves were not fetched with it")
    got = cli_bytes(b, "block", "get", STATE["root"] + "/other")
    want = cli_bytes(a, "block", "get", only_hash(os.path.join(d, "other"), True))
    check(got == want, "block get by path: the directory's block")


def test_pin_add_fetches():
    b, d, root = STATE["b"], STATE["tree"], STATE["root"]
    many = only_hash(os.path.join(d, "many"), True)
    check(not held(b, only_hash(os.path.join(d, "many", long_name(3)))), "not held before")
    p = run("pin", "add", "-q", root + "/many", home=b.home, check_rc=0)
    check(many in p.stdout, "pin add by path prints the CID pinned: %r" % p.stdout)
    run("repo", "gc", home=b.home, check_rc=0)
    for i in (3, 999):
        blob = run("cat", "-q", "--timeout", "1", root + "/many/" + long_name(i),
                   home=b.home, check_rc=0).stdout
        check(blob == "entry %d\n" % i, "a pinned HAMT entry survives gc")
    leaf = raw_cid(STATE["files"]["sub/pct%41.txt"])
    run("pin", "add", "--direct", "-q", leaf, home=b.home, check_rc=0)
    modes = {x["cid"]: x["mode"] for x in run_json("pin", "ls", home=b.home)["pins"]}
    check(modes.get(many) == "recursive" and modes.get(leaf) == "direct", "pins: %r" % modes)
    run("pin", "rm", many, home=b.home, check_rc=0)
    run("repo", "gc", home=b.home, check_rc=0)
    check(not held(b, only_hash(os.path.join(d, "many", long_name(3)))), "unpinned: collected")
    check(held(b, leaf), "the direct pin kept its block")


if __name__ == "__main__":
    run_tests([test_setup, test_cat_by_path, test_get_by_path_fetches_only_the_path,
               test_ls_and_stat_by_path, test_errors, test_block_get_fetches_one_block,
               test_pin_add_fetches], STATE)
