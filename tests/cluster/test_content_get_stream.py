"""`lester get` writes the file while it downloads (node_fetch_out.c), on a real
two-node cluster through the CLI:
- a file fetched from A lands on B byte-identical, without the export pass
  (`get --json` says "streamed"), and no `.lester-part` file is left;
- a file whose leaves are all the same block (zeros: one CID at every offset) and
  a file with a short last leaf come out right;
- 0-byte and 1-byte files (a raw root), and a file already held (no download:
  every leaf read back from the store) are written the same way;
- a directory is not streamed: the export pass writes the tree as before;
- `-o` naming an existing directory fails as it did, and leaves no part file;
- a seeder with content.upload_rate_limit serves no faster than the limit, and
  says how often it paused in /metrics;
- a download that cannot finish (the seeder is killed midway) leaves neither the
  file nor a part file."""
import hashlib
import json
import os
import subprocess
import time

from harness import (LESTER, check, run, run_json, run_tests, setup_nodes, sha256_file as sha,
                     write_file as write)

STATE = {}


def add(path, *flags):
    out = run("add", "-q", *flags, path, home=STATE["a"].home, check_rc=0).stdout.split()
    return out[-1]


def get_json(cid, out, rc=0):
    r = run("get", cid, "-o", out, "--json", "-q", home=STATE["b"].home, check_rc=rc,
            timeout=300)
    return json.loads(r.stdout) if rc == 0 else r


def no_part(out):
    check(not os.path.exists(out + ".lester-part"), "a part file was left: %s" % out)


def test_setup():
    w, (a, b) = setup_nodes(STATE, "getstream", "A", "B")
    addr = run_json("id", home=a.home)["addresses"][0]
    run("swarm", "connect", addr, home=b.home, check_rc=0)


def test_file_streamed():
    w = STATE["w"]
    src = w.sub("random.bin")
    write(src, os.urandom((9 << 20) + 12345))  # a short last leaf
    cid = add(src)
    out = w.sub("random.out")
    res = get_json(cid, out)
    check(res.get("streamed") is True, "get did not stream the file: %s" % res)
    check(res["bytes"] == os.path.getsize(src), "bytes %s" % res["bytes"])
    check(sha(out) == sha(src), "streamed copy differs")
    no_part(out)
    # held now: written from the store, still no export pass
    out2 = w.sub("random2.out")
    res = get_json(cid, out2)
    check(res.get("streamed") is True, "held file not streamed: %s" % res)
    check(sha(out2) == sha(src), "copy of a held file differs")
    no_part(out2)


def test_repeated_leaves():
    w = STATE["w"]
    src = w.sub("zeros.bin")
    write(src, bytes(5 << 20))  # 20 leaves, one CID
    cid = add(src)
    out = w.sub("zeros.out")
    res = get_json(cid, out)
    check(res.get("streamed") is True, "zeros not streamed: %s" % res)
    check(sha(out) == sha(src), "zeros copy differs")
    no_part(out)


def test_tiny_files():
    w = STATE["w"]
    for size in (0, 1):
        src = w.sub("tiny%d.bin" % size)
        write(src, b"x" * size)
        cid = add(src)
        out = w.sub("tiny%d.out" % size)
        res = get_json(cid, out)
        check(res.get("streamed") is True, "%d-byte file not streamed: %s" % (size, res))
        with open(out, "rb") as f:
            check(f.read() == b"x" * size, "%d-byte copy differs" % size)
        no_part(out)


def test_directory_exported():
    w = STATE["w"]
    d = w.sub("tree")
    os.makedirs(os.path.join(d, "sub"))
    write(os.path.join(d, "a.txt"), b"alpha\n")
    write(os.path.join(d, "sub", "b.bin"), os.urandom(700000))
    cid = add(d, "-r")
    out = w.sub("tree.out")
    res = get_json(cid, out)
    check(not res.get("streamed"), "a directory cannot be streamed: %s" % res)
    with open(os.path.join(out, "a.txt"), "rb") as f:
        check(f.read() == b"alpha\n", "a.txt differs")
    check(sha(os.path.join(out, "sub", "b.bin")) == sha(os.path.join(d, "sub", "b.bin")),
          "sub/b.bin differs")
    no_part(out)


def test_output_is_a_directory():
    w = STATE["w"]
    src = w.sub("small.bin")
    write(src, os.urandom(300000))
    cid = add(src)
    out = w.sub("exists")
    os.makedirs(out)
    r = get_json(cid, out, rc=None)
    check(r.returncode != 0, "get onto a directory succeeded")
    check(os.path.isdir(out), "the directory was replaced")
    no_part(out)


def restart_a(limit):
    a, b = STATE["a"], STATE["b"]
    a.stop()
    a.config_set("content.upload_rate_limit", str(limit))
    a.start()
    run("swarm", "connect", run_json("id", home=a.home)["addresses"][0], home=b.home, check_rc=0)
    time.sleep(1.2)  # identify, then the Bitswap peer scan


def test_upload_rate_limit():
    """16 MB/s on A: 24 MiB cannot reach B in less than ~1.4 s (1.57 s at the rate,
    less the bucket's burst of 50 ms of it and one message of at most 1 MiB that may
    go out on the last tokens), and A's /metrics counts the pauses."""
    w, a = STATE["w"], STATE["a"]
    src = w.sub("limited.bin")
    data = os.urandom(24 << 20)
    write(src, data)
    cid = add(src)
    restart_a(16000000)
    out = w.sub("limited.out")
    t0 = time.time()
    get_json(cid, out)
    took = time.time() - t0
    check(took >= 1.4, "24 MiB at 16 MB/s took only %.2f s" % took)
    check(sha(out) == hashlib.sha256(data).hexdigest(), "limited download differs")
    status, text = a.request("GET", "/metrics", token=False, raw=True)
    line = [l for l in text.decode().split("\n")
            if l.startswith("lester_bitswap_upload_throttled ")]
    check(line and float(line[0].split()[1]) > 0, "no pause counted: %s" % line)
    restart_a(0)


def test_unfinished_download():
    """The seeder dies mid-download: the get fails, and neither the file nor its
    part file (created once the root arrived) is left."""
    w, a, b = STATE["w"], STATE["a"], STATE["b"]
    src = w.sub("late.bin")
    write(src, os.urandom(64 << 20))
    cid = add(src)
    out = w.sub("late.out")
    before = run_json("bitswap", "stat", home=b.home)["bytes_recv"]
    p = subprocess.Popen([LESTER, "--home", b.home, "get", "-q", cid, "-o", out,
                          "--timeout", "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    end = time.time() + 60
    while run_json("bitswap", "stat", home=b.home)["bytes_recv"] < before + (2 << 20):
        check(p.poll() is None and time.time() < end, "download ended before the kill point")
        time.sleep(0.02)
    a.kill9()
    check(os.path.exists(out + ".lester-part"), "no part file while downloading")
    rc = p.wait(timeout=120)
    check(rc != 0, "get without a seeder succeeded")
    check(not os.path.exists(out), "a failed get left the output file")
    no_part(out)


if __name__ == "__main__":
    run_tests([test_setup, test_file_streamed, test_repeated_leaves, test_tiny_files,
               test_directory_exported, test_output_is_a_directory, test_upload_rate_limit,
               test_unfinished_download], STATE)
