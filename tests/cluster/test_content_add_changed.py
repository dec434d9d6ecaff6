"""`lester add` of a file that changes while it is read fails with a clear error,
never a CID of bytes the file did not hold at one moment (routes_content.c's add
job compares the size and mtime from before and after the read, and the bytes
read, with the size it started from; unixfs_tree.c does the same for `add -r`):
- a file that grows (one byte appended every millisecond) during `add`;
- a file that shrinks (one byte cut every millisecond) during `add`;
- a file rewritten in place (same size) in a directory during `add -r`;
- after each failure the daemon still adds the same file, once it is left alone,
  with the CID `add --only-hash` gives for it;
- `add -r` of a 256 MiB tree goes in a slice per loop turn: GET /health keeps
  answering meanwhile (many polls, 90% under 200 ms; on the loop in one piece the
  import held every poll until it ended), progress events count files, and the CID
  is the one `--only-hash` gives."""
import json
import os
import threading
import time

from harness import Workdir, check, loopback_node, main, run

STATE = {}
MIB = 32
MESSAGE = "the file changed while it was being added"


def write(path, n):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(os.urandom(n))


class Changer(threading.Thread):
    """Changes `path` every millisecond until stopped: 'grow', 'shrink' or
    'rewrite' (one byte at offset 0, the size unchanged)."""

    def __init__(self, path, how):
        super().__init__(daemon=True)
        self.path, self.how = path, how
        self.stop = threading.Event()
        self.changes = 0

    def run(self):
        fd = os.open(self.path, os.O_WRONLY)
        try:
            while not self.stop.is_set():
                if self.how == "grow":
                    os.pwrite(fd, b"x", os.fstat(fd).st_size)
                elif self.how == "shrink":
                    os.ftruncate(fd, os.fstat(fd).st_size - 1)
                else:
                    os.pwrite(fd, bytes([self.changes & 0xFF]), 0)
                self.changes += 1
                time.sleep(0.001)
        finally:
            os.close(fd)


def add_while_changing(target, path, how, *flags):
    ch = Changer(path, how)
    ch.start()
    time.sleep(0.01)  # a few changes before the add: and it keeps going
    try:
        r = run("add", "-q", *flags, target, home=STATE["a"].home, timeout=300)
    finally:
        ch.stop.set()
        ch.join()
    check(r.returncode != 0, "%s during add: succeeded with %r" % (how, r.stdout))
    check(MESSAGE in r.stderr, "%s during add: unexpected error %r" % (how, r.stderr))
    check(ch.changes > 0, "the file was never changed")


def add_ok(target, *flags):
    want = run("add", "-q", "--only-hash", *flags, target, home=STATE["a"].home,
               check_rc=0).stdout.split()[-1]
    got = run("add", "-q", *flags, target, home=STATE["a"].home,
              check_rc=0).stdout.split()[-1]
    check(got == want, "add gave %s, --only-hash %s" % (got, want))


def test_setup():
    w = Workdir("addchanged")
    STATE["w"] = w
    a = loopback_node(w, "A")
    a.start()
    STATE["a"] = a


def test_grows_during_add():
    path = STATE["w"].sub("grow.bin")
    write(path, MIB << 20)
    add_while_changing(path, path, "grow")
    add_ok(path)


def test_shrinks_during_add():
    path = STATE["w"].sub("shrink.bin")
    write(path, MIB << 20)
    add_while_changing(path, path, "shrink")
    add_ok(path)


def test_rewritten_in_directory_during_add():
    d = STATE["w"].sub("tree")
    os.makedirs(d)
    write(os.path.join(d, "small"), 1000)
    path = os.path.join(d, "big.bin")
    write(path, MIB << 20)
    add_while_changing(d, path, "rewrite", "-r")
    add_ok(d, "-r")


def test_directory_add_keeps_node_responsive():
    a, d = STATE["a"], STATE["w"].sub("big-tree")
    for i in range(8):
        write(os.path.join(d, "part%d" % (i % 3), "f%d.bin" % i), MIB << 20)
    want = run("add", "-q", "-r", "--only-hash", d, home=a.home, check_rc=0).stdout.strip()
    out = {}

    def add():
        out["lines"] = a.request("POST", "/api/v0/add", {"path": d, "recursive": True},
                                 timeout=300, raw=True)
    t = threading.Thread(target=add)
    start = time.monotonic()
    t.start()
    lat = []
    while t.is_alive():
        t0 = time.monotonic()
        a.get("/health")
        lat.append((time.monotonic() - t0) * 1000)
        time.sleep(0.005)
    t.join()
    took = time.monotonic() - start
    status, body = out["lines"]
    events = [json.loads(x) for x in body.decode().splitlines() if x.strip()]
    check(status == 200 and events[-1].get("cid") == want, "add -r: %r" % events[-1:])
    files = [e.get("files", 0) for e in events if e.get("event") == "progress"]
    check(files == sorted(files), "progress counts files: %r" % files)
    lat.sort()
    p90 = lat[(len(lat) * 9) // 10] if lat else 0
    print("   /health during add -r of 256 MiB (%.2f s): %d polls, 90%% %.1f ms, max %.1f ms" % (
        took, len(lat), p90, lat[-1] if lat else 0))
    check(len(lat) >= 8, "only %d /health polls answered during add -r" % len(lat))
    check(p90 < 200.0, "/health 90th percentile %.1f ms during add -r" % p90)


def test_teardown():
    STATE["a"].stop()
    STATE["w"].cleanup()


if __name__ == "__main__":
    main([test_setup, test_grows_during_add, test_shrinks_during_add,
          test_rewritten_in_directory_during_add, test_directory_add_keeps_node_responsive,
          test_teardown])
