"""`lester add` of a file that changes while it is read fails with a clear error,
never a CID of bytes the file did not hold at one moment (routes_content.c's add
job compares the size and mtime from before and after the read, and the bytes
read, with the size it started from; unixfs_dir.c does the same for `add -r`):
- a file that grows (one byte appended every millisecond) during `add`;
- a file that shrinks (one byte cut every millisecond) during `add`;
- a file rewritten in place (same size) in a directory during `add -r`;
- after each failure the daemon still adds the same file, once it is left alone,
  with the CID `add --only-hash` gives for it."""
import os
import threading
import time

from harness import Workdir, check, loopback_node, main, run

STATE = {}
MIB = 32
MESSAGE = "the file changed while it was being added"


def write(path, n):
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


def test_teardown():
    STATE["a"].stop()
    STATE["w"].cleanup()


if __name__ == "__main__":
    main([test_setup, test_grows_during_add, test_shrinks_during_add,
          test_rewritten_in_directory_during_add, test_teardown])
