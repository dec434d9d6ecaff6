"""CID compatibility (issue 6): for the same bytes and kubo's parameters (CIDv1, raw
leaves, 262144-byte chunks, balanced layout of at most 174 links), Lester's root CID
equals the one helia's importer (ipfs-unixfs-importer, pinned in package.json)
computes at test time through js/cid.mjs. Files of 0 B, 1 B, 256 KiB, 256 KiB + 1,
10 MiB and 50 MiB (a two-level tree), a nested directory, and small-parameter
trees that hit every layout edge (full levels, one leaf over, three levels), and
HAMT-sharded directories at small shardSplitThresholdBytes and around the threshold.

Lester's side is bench_unixfs_import --cid (built next to LESTER_BIN) until
`lester add` exists; LESTER_CID_TOOL overrides the path."""
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
from harness import main  # noqa: E402  (cluster harness: "N passed, N failed")

KiB = 1024
MiB = 1024 * KiB
TMP = None


def cid_tool():
    tool = os.environ.get("LESTER_CID_TOOL")
    if tool:
        return tool
    lester = os.environ.get("LESTER_BIN", "")
    candidates = [os.path.join(os.path.dirname(lester), "bench_unixfs_import")] if lester else []
    candidates += [os.path.join(HERE, "..", "..", d, "bench_unixfs_import")
                   for d in ("build", "build/release", "build-ufs")]
    for c in candidates:
        if os.access(c, os.X_OK):
            return c
    raise RuntimeError("bench_unixfs_import not found (set LESTER_BIN or LESTER_CID_TOOL)")


def lester_cid(path, *params):
    p = subprocess.run([cid_tool(), "--cid", path] + [str(x) for x in params],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise AssertionError("lester cid failed: %s" % p.stderr.strip())
    return p.stdout.strip()


def helia_cid(path, *params):
    node = os.environ.get("LESTER_NODE") or shutil.which("node") or "node"
    p = subprocess.run([node, os.path.join(HERE, "js", "cid.mjs"), path] + [str(x) for x in params],
                       capture_output=True, text=True, timeout=600, cwd=HERE)
    if p.returncode != 0:
        raise AssertionError("cid.mjs failed: %s" % p.stderr.strip()[-2000:])
    return p.stdout.strip()


def same_cid(path, *params):
    ours, theirs = lester_cid(path, *params), helia_cid(path, *params)
    if ours != theirs or not ours.startswith("baf"):
        raise AssertionError("%s %s: lester %s, helia %s" % (os.path.basename(path), params, ours, theirs))


def make_file(name, size, seed=None):
    path = os.path.join(TMP, name)
    rng = random.Random(seed if seed is not None else size)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MiB)
            f.write(rng.randbytes(n))
            left -= n
    return path


def file_case(size):
    def t():
        same_cid(make_file("f%d" % size, size))
    t.__name__ = "test_file_%d_bytes" % size
    return t


def test_nested_directory():
    root = os.path.join(TMP, "tree")
    os.makedirs(os.path.join(root, "sub", "deeper"))
    os.makedirs(os.path.join(root, "empty-dir"))
    files = {"a": 1, "a.txt": 300, "B": 5, "\u00e4-umlaut": 7, "zero": 0,
             "sub/big": 600 * KiB, "sub/deeper/x": 262144, "sub/deeper/y": 262145}
    for rel, size in files.items():
        with open(os.path.join(root, rel), "wb") as f:
            f.write(random.Random(rel).randbytes(size))
    same_cid(root)


def test_directory_of_many_entries():
    root = os.path.join(TMP, "many")
    os.makedirs(root)
    for i in range(300):
        with open(os.path.join(root, "entry-%03d" % (299 - i)), "wb") as f:
            f.write(b"%d" % i)
    same_cid(root)


def test_layout_edges_small_parameters():
    # chunk 1000, at most 4 links: leaf counts at and around every level boundary
    for leaves in (2, 4, 5, 16, 17, 20, 64, 65, 70):
        for extra in (0, 1):
            size = leaves * 1000 - (1000 - extra if extra else 0)
            same_cid(make_file("s%d" % size, size, seed=leaves), 1000, 4)


def test_chunk_size_1mib():
    same_cid(make_file("m3", 3 * MiB + 17), 1048576, 174)


def write_tree(root, files, dirs=()):
    for d in dirs:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for rel, blob in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
        with open(os.path.join(root, rel), "wb") as f:
            f.write(blob)
    return root


def test_hamt_sharded_directories():
    # helia's shardSplitThresholdBytes: sharded directories (fanout 256, sub-shards where
    # names collide), a nested sharded one, flat ones beside them, an empty directory
    files = {"entry-%03d" % i: b"%d" % i for i in range(300)}
    files.update({"nested/n-%02d" % i: b"x" * i for i in range(40)})
    files.update({"small/a": b"a", "small/b": b"b", "nested/deeper/z": b"z" * 1000})
    root = write_tree(os.path.join(TMP, "hamt"), files, dirs=("empty",))
    for threshold in (200, 1000, 262144):
        same_cid(root, 262144, 174, threshold)
    # the default threshold: 5000 entries of 67 links-bytes each (335,000 > 262,144)
    big = {"a-file-with-a-longer-name-%05d" % i: b"%d" % i for i in range(5000)}
    same_cid(write_tree(os.path.join(TMP, "big"), big))


def test_hamt_threshold_edges():
    # 25 files of 4-byte names and 36-byte CIDs: an estimate of exactly 1000 bytes stays
    # flat, one byte over shards; subdirectories with entries do not count, empty ones do
    root = write_tree(os.path.join(TMP, "edge"), {"e%03d" % i: b"%d" % i for i in range(25)})
    for threshold in (999, 1000):
        same_cid(root, 262144, 174, threshold)
    files = {"f%03d" % i: b"%d" % i for i in range(10)}
    files.update({"d%03d/x" % i: b"x" for i in range(10)})
    root = write_tree(os.path.join(TMP, "subdirs"), files, dirs=("e00", "e01"))
    for threshold in (399, 400, 479, 480, 481):
        same_cid(root, 262144, 174, threshold)


def setup():
    global TMP
    base = os.environ.get("LESTER_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    TMP = tempfile.mkdtemp(prefix="cid-compat-", dir=base)


if __name__ == "__main__":
    setup()
    try:
        main([file_case(0), file_case(1), file_case(256 * KiB), file_case(256 * KiB + 1),
              file_case(10 * MiB), file_case(50 * MiB), test_nested_directory,
              test_directory_of_many_entries, test_layout_edges_small_parameters,
              test_chunk_size_1mib, test_hamt_sharded_directories, test_hamt_threshold_edges])
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
