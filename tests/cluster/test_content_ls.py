"""`lester ls` on a real cluster (issues 4 and 6):
- a directory added with `add -r` on A: every entry's name, type, size and CID as
  the importer gives them (each file's CID from `add --only-hash` of that file, the
  subdirectory's from `add -r --only-hash`), in the human table and in --json;
- a directory past the sharding threshold (UNIXFS_SHARD_THRESHOLD, 256 KiB of
  name + CID bytes: 6,000 entries here) is a HAMT (its root block has at most 256
  links) and is listed whole;
- errors: a CID not held on B (message names `lester get` and --fetch, exit 1), a
  file CID (the file as its one entry and a note), a bad CID, no CID; then
  `ls --fetch` on B fetches the directory from A over Bitswap and lists it."""
import base64
import hashlib
import json
import os

from harness import check, run, run_json, run_tests, setup_nodes, write_file as write

HAMT_ENTRIES = int(os.environ.get("LS_TEST_HAMT_ENTRIES", "6000"))
STATE = {}


def raw_cid(data):
    """CIDv1, raw codec, sha2-256, base32: a file of one chunk."""
    b = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(b).decode().lower().rstrip("=")


def table(stdout):
    """The human output: {name: (type, size, cid)}; name is the rest of the line."""
    rows = {}
    for line in stdout.splitlines():
        typ, size, cid, name = line.split(None, 3)
        rows[name] = (typ, size, cid)
    return rows


def test_setup():
    setup_nodes(STATE, "content-ls", "A", "B")


def test_ls_directory():
    w, a = STATE["w"], STATE["a"]
    d = w.sub("tree")
    files = {"big.bin": os.urandom(700000), "note.txt": b"hello\n", "with space.txt": b"x",
             "empty": b""}
    for name, blob in files.items():
        write(os.path.join(d, name), blob)
    write(os.path.join(d, "sub", "inner.txt"), b"inner")
    root = run_json("add", "-r", d, home=a.home)["cid"]
    STATE.update(tree=d, tree_cid=root)
    want = {}
    for name, blob in files.items():
        cid = run("add", "-q", "--only-hash", os.path.join(d, name), home=a.home,
                  check_rc=0).stdout.strip()
        want[name] = ("file", len(blob), cid)
    sub = run("add", "-q", "-r", "--only-hash", os.path.join(d, "sub"), home=a.home,
              check_rc=0).stdout.strip()
    want["sub"] = ("directory", 0, sub)
    check(want["note.txt"][2] == raw_cid(files["note.txt"]), "one-chunk file is a raw leaf")
    got = run_json("ls", root, home=a.home)["entries"]
    check([e["name"] for e in got] == sorted(want), "entries in link (name) order: %r" % got)
    for e in got:
        check((e["type"], e["size"], e["cid"]) == want[e["name"]],
              "%s: %r, wanted %r" % (e["name"], e, want[e["name"]]))
    rows = table(run("ls", root, home=a.home, check_rc=0).stdout)
    for name, (typ, size, cid) in want.items():
        human = ("dir", "-", cid) if typ == "directory" else ("file", str(size), cid)
        check(rows.get(name) == human, "%s: %r, wanted %r" % (name, rows.get(name), human))
    STATE["want"] = want
    print("  ls of an add -r directory: %d entries match" % len(got))


def test_ls_hamt():
    w, a = STATE["w"], STATE["a"]
    d = w.sub("many")
    blobs = {"entry-%05d" % i: b"entry %d\n" % i for i in range(HAMT_ENTRIES)}
    for name, blob in blobs.items():
        write(os.path.join(d, name), blob)
    root = run_json("add", "-r", d, home=a.home)["cid"]
    st = run_json("ls", root, home=a.home)
    got = st["entries"]
    stat = a.post("/api/v0/stat", {"cid": root})
    check(stat["type"] == "directory" and stat["links"] <= 256,
          "%d entries make a HAMT (root links %r)" % (HAMT_ENTRIES, stat.get("links")))
    check(len(got) == HAMT_ENTRIES, "ls lists all %d entries, got %d" % (HAMT_ENTRIES, len(got)))
    check({e["name"] for e in got} == set(blobs), "the names are those added")
    for e in got:
        blob = blobs[e["name"]]
        check(e["type"] == "file" and e["size"] == len(blob) and e["cid"] == raw_cid(blob),
              "%s: %r" % (e["name"], e))
    rows = table(run("ls", root, home=a.home, check_rc=0).stdout)
    check(len(rows) == HAMT_ENTRIES and rows["entry-00042"][2] == raw_cid(blobs["entry-00042"]),
          "the human table lists them too")
    print("  ls of a HAMT directory: %d entries, root shard %d links" % (
        len(got), stat["links"]))


def test_ls_errors():
    a, b, root = STATE["a"], STATE["b"], STATE["tree_cid"]
    p = run("ls", root, home=b.home)
    check(p.returncode == 1 and "not held" in p.stderr and "lester get" in p.stderr
          and "--fetch" in p.stderr, "not held on B: rc %d, %r" % (p.returncode, p.stderr))
    big = STATE["want"]["big.bin"][2]
    p = run("ls", big, home=a.home, check_rc=0)
    check(p.stdout.split() == ["file", "700000", big], "a file is its one entry: %r" % p.stdout)
    check("is a file" in p.stderr, "and ls says it is a file: %r" % p.stderr)
    j = json.loads(run("ls", big, "--json", home=a.home, check_rc=0).stdout)
    check(j.get("file") is True and [e["cid"] for e in j["entries"]] == [big], "json: %r" % j)
    p = run("ls", "not-a-cid", home=a.home)
    check(p.returncode == 1 and "CID" in p.stderr, "bad CID: %d %r" % (p.returncode, p.stderr))
    check(run("ls", home=a.home).returncode == 2, "no CID is a usage error")
    p = run("ls", "--help", home=a.home, check_rc=0)
    check("--fetch" in p.stdout, "--help explains ls")
    check(" ls " in run("--help", check_rc=0).stdout, "ls is in lester --help")


def test_ls_fetch():
    a, b, root = STATE["a"], STATE["b"], STATE["tree_cid"]
    run("swarm", "connect", run_json("id", home=a.home)["addresses"][0], home=b.home,
        check_rc=0)
    got = run_json("ls", "--fetch", "-q", "--timeout", "30", root, home=b.home)["entries"]
    want = STATE["want"]
    check({e["name"]: (e["type"], e["size"], e["cid"]) for e in got} == want,
          "B lists what A added after --fetch: %r" % got)
    print("  ls --fetch on B: %d entries" % len(got))


def test_shutdown():
    for k in ("a", "b"):
        check(STATE[k].stop() == 0, "%s stops cleanly" % k)


if __name__ == "__main__":
    run_tests([test_setup, test_ls_directory, test_ls_hamt, test_ls_errors, test_ls_fetch,
               test_shutdown], STATE)
