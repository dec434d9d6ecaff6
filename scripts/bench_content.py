#!/usr/bin/env python3
"""Content benchmark (issue 6), everything on loopback in the same run:

  lester_add      `lester add` of the file vs `openssl dgst -sha256` over the same file
  lester_get      1 seeder -> 1 downloader, timed from `lester get` to the verified file
                  (Noise + yamux, every block hashed, DAG checked); the steady rate
                  (10 % to 90 % of the bytes, by the daemon's socket reads); peak RSS
                  of the downloading daemon
  lester_get2     2 seeders -> 1 downloader
  lester_get*_capped  1 and 2 seeders each limited to CONTENT_CAP_MBPS (150; 0 skips)
  aria2           aria2 -> aria2 (BitTorrent, no encryption, local opentracker), timed
                  from the leecher's start to its exit; the steady rate (10 % to 90 %
                  of the bytes, by the blocks its sparse file has); the leecher's RSS
  helia           helia -> helia over Bitswap (tests/interop/js/helia.mjs), HELIA_MIB

Usage: bench_content.py BUILD_DIR TMP_DIR   (env CONTENT_MIB=1024, HELIA_MIB=256, CONTENT_CAP_MBPS,
       CONTENT_PARTS="lester aria2 helia" to run only some of them while iterating)
Prints one `key value=...` line per figure (scripts/bench.sh style)."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BUILD, TMP = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
os.environ["LESTER_BIN"] = os.path.join(BUILD, "lester")
os.environ["LESTER_TEST_TMP"] = TMP
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "cluster"))
from harness import Workdir, loopback_node, run, run_json, sha256_file as sha  # noqa: E402

MIB = int(os.environ.get("CONTENT_MIB", "1024"))
HELIA_MIB = int(os.environ.get("HELIA_MIB", "256"))
PARTS = os.environ.get("CONTENT_PARTS", "lester aria2 helia").split()
CAP_MBPS = float(os.environ.get("CONTENT_CAP_MBPS", "150"))  # 0: skip the capped runs
INTEROP = os.path.join(ROOT, "tests", "interop")


def out(key, **kv):
    print(key + " " + " ".join("%s=%s" % (k, (("%.3f" % v) if isinstance(v, float) else v))
                               for k, v in kv.items()), flush=True)


def make_file(path, mib):
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(1 << 20))


def timed(cmd, **kw):
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise SystemExit("%s failed: %s" % (cmd, p.stderr))
    return time.time() - t0, p.stdout


def rchar(pid):
    try:
        with open("/proc/%d/io" % pid) as f:
            for line in f:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def landed(path):
    try:
        return os.stat(path).st_blocks * 512
    except OSError:
        return 0


def watched(cmd, total, io_pid=None, path=None, timeout=900):
    """Run `cmd`, sampling every 20 ms how many bytes have arrived: those read by the
    downloading daemon `io_pid` (rchar of /proc/PID/io: its socket reads), or those
    written to `path` (its allocated blocks: aria2 writes each piece at its offset
    of a sparse file). Returns (seconds, steady MB/s, peak RSS of the command in
    KiB): steady is the rate between 10 % and 90 % of `total` bytes, the start-up
    and the final checks left out."""
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = rchar(io_pid) if io_pid else 0
    marks, rss = {}, 0
    while p.poll() is None:
        rss = max(rss, hwm_kib(p.pid))
        got = landed(path) if path else rchar(io_pid)
        for q in (0.1, 0.9):
            if got is not None and q not in marks and got - (base or 0) >= q * total:
                marks[q] = time.time()
        if time.time() - t0 > timeout:
            p.kill()
        time.sleep(0.02)
    _, err = p.communicate()
    t = time.time() - t0
    if p.returncode != 0:
        raise SystemExit("%s failed: %s" % (cmd, err))
    steady = (0.8 * total / 1e6 / (marks[0.9] - marks[0.1])) if len(marks) == 2 and \
        marks[0.9] > marks[0.1] else 0.0
    return t, steady, rss


def hwm_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def bench_lester(w, src, digest):
    a, b, c = (loopback_node(w, n) for n in "ABC")
    for n in (a, b, c):
        n.start()
    try:
        subprocess.run(["cat", src], stdout=subprocess.DEVNULL, check=True)  # warm cache
        t_ssl, _ = timed(["openssl", "dgst", "-sha256", src])
        t_add, cid = timed([os.environ["LESTER_BIN"], "--home", a.home, "add", "-q", src])
        cid = cid.strip()
        out("lester_add", MiB=MIB, s=t_add, MBps=MIB * 1.048576 / t_add, openssl_s=t_ssl,
            ratio_openssl=t_ssl / t_add)
        run("swarm", "connect", run_json("id", home=a.home)["addresses"][0], home=b.home,
            check_rc=0)
        time.sleep(1.5)  # identify, then the Bitswap peer scan (1 s)
        dst = os.path.join(w.path, "b.out")
        t_get, steady, _ = watched([os.environ["LESTER_BIN"], "--home", b.home, "get", "-q", cid,
                                    "-o", dst], MIB << 20, b.proc.pid)
        ok = sha(dst) == digest
        steady_get = steady
        out("lester_get", MiB=MIB, s=t_get, MBps=MIB * 1.048576 / t_get, steady_MBps=steady,
            verified=ok, downloader_rss_MiB=hwm_kib(b.proc.pid) / 1024.0)
        os.unlink(dst)
        for n in (a, b):
            run("swarm", "connect", run_json("id", home=n.home)["addresses"][0], home=c.home,
                check_rc=0)
        time.sleep(1.5)
        dst = os.path.join(w.path, "c.out")
        t_get2, steady, _ = watched([os.environ["LESTER_BIN"], "--home", c.home, "get", "-q", cid,
                                     "-o", dst], MIB << 20, c.proc.pid)
        led = run_json("bitswap", "stat", home=c.home)["ledgers"]
        out("lester_get2", MiB=MIB, s=t_get2, MBps=MIB * 1.048576 / t_get2, steady_MBps=steady,
            verified=sha(dst) == digest, sources=sum(1 for l in led if l["blocks_recv"] > 0),
            downloader_rss_MiB=hwm_kib(c.proc.pid) / 1024.0)
        os.unlink(dst)
        if CAP_MBPS:
            capped(w, a, b, c, cid, digest)
        return t_get, steady_get
    finally:
        for n in (a, b, c):
            n.stop()


def capped(w, a, b, c, cid, digest):
    """1 and 2 seeders each limited to CAP_MBPS (content.upload_rate_limit), as
    seeders on real links are: what a second seeder adds when the seeders' upload,
    not the shared CPU, is the limit. Only the seeders of a run are up (a download
    uses every peer that has the blocks)."""
    for n in (a, b, c):
        n.stop()
    for n in (a, b):
        n.config_set("content.upload_rate_limit", str(int(CAP_MBPS * 1e6)))
    for name, seeders in (("lester_get_capped", (a,)), ("lester_get2_capped", (a, b))):
        for n in seeders:
            if not n.proc or n.proc.poll() is not None:
                n.start()
        d = loopback_node(w, name)
        d.start()
        try:
            for n in seeders:
                run("swarm", "connect", run_json("id", home=n.home)["addresses"][0],
                    home=d.home, check_rc=0)
            time.sleep(1.5)
            dst = os.path.join(w.path, name + ".out")
            t, steady, _ = watched([os.environ["LESTER_BIN"], "--home", d.home, "get", "-q", cid,
                                    "-o", dst], MIB << 20, d.proc.pid)
            out(name, MiB=MIB, cap_MBps=CAP_MBPS, s=t, MBps=MIB * 1.048576 / t,
                steady_MBps=steady, verified=sha(dst) == digest, seeders=len(seeders))
            os.unlink(dst)
        finally:
            d.stop()


def bench_aria2(w, src, digest):
    if not shutil.which("aria2c") or not shutil.which("mktorrent") or \
            not shutil.which("opentracker"):
        out("aria2", skipped="aria2c/mktorrent/opentracker missing (scripts/deps.sh)")
        return None
    port, p_seed, p_leech = free_port(), free_port(), free_port()
    torrent = os.path.join(w.path, "f.torrent")
    subprocess.run(["mktorrent", "-l", "18", "-a", "http://127.0.0.1:%d/announce" % port,
                    "-o", torrent, src], check=True, capture_output=True)
    info = subprocess.run(["aria2c", "-S", torrent], capture_output=True, text=True).stdout
    ih = [l.split(":", 1)[1].strip() for l in info.splitlines() if "Info Hash" in l][0]
    # opentracker drops to `nobody` before it reads its whitelist: a readable place
    wdir = tempfile.mkdtemp(prefix="ot-", dir=TMP)
    os.chmod(wdir, 0o755)
    wl = os.path.join(wdir, "whitelist")
    with open(wl, "w") as f:
        f.write(ih + "\n")
    os.chmod(wl, 0o644)
    common = ["--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
              "--enable-peer-exchange=false", "--file-allocation=none", "--summary-interval=0",
              "--console-log-level=warn"]
    tracker = subprocess.Popen(["opentracker", "-i", "127.0.0.1", "-p", str(port), "-P",
                                str(port), "-w", wl], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    seeder = subprocess.Popen(["aria2c", "--dir", os.path.dirname(src), "--seed-ratio=0.0",
                               "--check-integrity=true", "--listen-port=%d" % p_seed, torrent]
                              + common, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(4)  # the seeder hashes the file before it announces
        ldir = os.path.join(w.path, "leech")
        os.makedirs(ldir)
        got = os.path.join(ldir, os.path.basename(src))
        t, steady, rss = watched(["aria2c", "--dir", ldir, "--seed-time=0",
                                  "--listen-port=%d" % p_leech, torrent] + common, MIB << 20,
                                 path=got)
        out("aria2", MiB=MIB, s=t, MBps=MIB * 1.048576 / t, steady_MBps=steady,
            verified=os.path.exists(got) and sha(got) == digest, leecher_rss_MiB=rss / 1024.0)
        return t, steady
    finally:
        for p in (seeder, tracker):
            p.terminate()
            p.wait()
        shutil.rmtree(wdir, ignore_errors=True)


class Helia:
    def __init__(self):
        node = os.environ.get("LESTER_NODE") or shutil.which("node") or "node"
        self.p = subprocess.Popen([node, os.path.join(INTEROP, "js", "helia.mjs")], cwd=INTEROP,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.ready = json.loads(self.p.stdout.readline())
        self.n = 0

    def cmd(self, cmd, **kw):
        self.n += 1
        self.p.stdin.write(json.dumps(dict(kw, id=self.n, cmd=cmd)) + "\n")
        r = json.loads(self.p.stdout.readline())
        if not r.get("ok"):
            raise SystemExit("helia %s failed: %s" % (cmd, r))
        return r

    def close(self):
        self.p.kill()
        self.p.wait()


def bench_helia(w):
    if not os.path.isdir(os.path.join(INTEROP, "node_modules", "helia")):
        out("helia", skipped="tests/interop/node_modules missing")
        return
    src = os.path.join(w.path, "helia.bin")
    make_file(src, HELIA_MIB)
    a, b = Helia(), Helia()
    try:
        cid = a.cmd("add", path=src)["cid"]
        b.cmd("dial", addr=a.ready["addrs"][0])
        dst = os.path.join(w.path, "helia.out")
        t0 = time.time()
        b.cmd("get", cid=cid, out=dst, timeoutMs=1800000)
        t = time.time() - t0
        out("helia", MiB=HELIA_MIB, s=t, MBps=HELIA_MIB * 1.048576 / t,
            verified=sha(dst) == sha(src))
    finally:
        a.close()
        b.close()


def main():
    w = Workdir("bench-content")
    try:
        src = os.path.join(w.path, "f%dM.bin" % MIB)
        make_file(src, MIB)
        digest = sha(src)
        t_lester = bench_lester(w, src, digest) if "lester" in PARTS else None
        t_aria = bench_aria2(w, src, digest) if "aria2" in PARTS else None
        if t_aria and t_lester:
            out("lester_vs_aria2", ratio_end_to_end=t_aria[0] / t_lester[0],
                ratio_steady=t_lester[1] / t_aria[1] if t_aria[1] else 0.0)
        if "helia" in PARTS:
            bench_helia(w)
    finally:
        w.cleanup()


if __name__ == "__main__":
    main()
