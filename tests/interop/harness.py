"""Helpers for Lester's interop tests: drive a pinned js-libp2p peer (js/peer.mjs).

Python 3 standard library only. Typical use:

    from harness import JsPeer
    with JsPeer(name="js1") as js:
        r = js.cmd("dial", addr=lester_addr)
        js.cmd("ping", peer=r["peer"])

Each JsPeer is a `node js/peer.mjs` child speaking JSON lines (see README.md).
Its stderr goes to a log file (JsPeer.log_path); `JsPeer.log_tail()` returns the end
of it for failure messages. Peers still running at interpreter exit are killed.
"""

import atexit
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_JS = os.path.join(HERE, "js", "peer.mjs")
NODE_MODULES = os.path.join(HERE, "node_modules")
MiB = 1024 * 1024

_live = set()
_live_lock = threading.Lock()


class JsPeerError(Exception):
    """A command answered {"ok": false}, timed out, or the peer died."""

    def __init__(self, message, reply=None, log_tail=""):
        super().__init__(message + (("\n--- peer stderr (tail) ---\n" + log_tail) if log_tail else ""))
        self.reply = reply


def node_binary():
    return os.environ.get("LESTER_NODE") or shutil.which("node") or "node"


def js_available():
    """(True, "") if node and the pinned node_modules are present, else (False, reason)."""
    if shutil.which(node_binary()) is None and not os.path.exists(node_binary()):
        return False, "node not found"
    if not os.path.isdir(os.path.join(NODE_MODULES, "libp2p")):
        return False, "tests/interop/node_modules missing: run scripts/interop-deps.sh"
    return True, ""


_default_log_dir = None


def _log_dir():
    """$LESTER_TEST_TMP/interop-logs, else one temporary folder per Python process."""
    global _default_log_dir
    base = os.environ.get("LESTER_TEST_TMP")
    if base:
        d = os.path.join(base, "interop-logs")
        os.makedirs(d, exist_ok=True)
        return d
    if _default_log_dir is None:
        _default_log_dir = tempfile.mkdtemp(prefix="lester-interop-")
    return _default_log_dir


class JsPeer:
    """One js-libp2p peer process.

    options: dict passed to peer.mjs as JSON (listen, seed, agentVersion, echo, bulk,
    dht, gossipsub, identifyPush, connectionMonitor, ...; see README.md).
    """

    _counter = itertools.count(1)

    def __init__(self, options=None, name=None, log_dir=None, ready_timeout=30.0, env=None):
        self.options = dict(options or {})
        self.name = name or "js%d" % next(JsPeer._counter)
        self.log_dir = log_dir or _log_dir()
        self.log_path = os.path.join(self.log_dir, "%s-%d.stderr.log" % (self.name, os.getpid()))
        self.ready_timeout = ready_timeout
        self.env = env
        self.proc = None
        self.ready = None
        self.peer_id = None
        self.addrs = []
        self.events = []
        self._cond = threading.Condition()
        self._replies = {}
        self._ids = itertools.count(1)
        self._reader = None
        self._stdin_lock = threading.Lock()
        self._eof = False
        self._log_file = None

    # ------------------------------------------------------------ lifecycle

    def start(self):
        ok, why = js_available()
        if not ok:
            raise JsPeerError("cannot start js peer: " + why)
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [node_binary(), PEER_JS, json.dumps(self.options)],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            env=env,
            bufsize=0,
        )
        with _live_lock:
            _live.add(self)
        self._reader = threading.Thread(target=self._read_loop, name="jspeer-" + self.name, daemon=True)
        self._reader.start()
        try:
            ev = self.wait_event(pred=lambda e: e.get("event") in ("ready", "error"), timeout=self.ready_timeout)
        except JsPeerError:
            self.kill()
            raise
        if ev["event"] == "error":
            self.kill()
            raise JsPeerError("%s: failed to start: %s" % (self.name, ev.get("error")), log_tail=self.log_tail())
        self.ready = ev
        self.peer_id = ev["peerId"]
        self.addrs = list(ev["addrs"])
        return self

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def addr(self):
        """First full listen multiaddr (with /p2p/)."""
        return self.addrs[0]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """Ask the peer to stop; kill it if it does not exit in time. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self._send({"id": "stop-%d" % next(self._ids), "cmd": "stop"})
            except OSError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        return self._reap()

    def kill(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return self._reap()

    def _reap(self):
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f:
                    f.close()
            except OSError:
                pass
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        with _live_lock:
            _live.discard(self)
        return self.proc.returncode

    def log_tail(self, nbytes=4000):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - nbytes))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # ------------------------------------------------------------ I/O

    def _read_loop(self):
        out = self.proc.stdout
        try:
            for raw in iter(out.readline, b""):
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                try:
                    msg = json.loads(line)
                except ValueError:
                    sys.stderr.write("[%s] non-JSON stdout line: %r\n" % (self.name, line[:200]))
                    continue
                with self._cond:
                    if isinstance(msg, dict) and "event" in msg and "id" not in msg:
                        msg["_t"] = time.monotonic()
                        self.events.append(msg)
                    elif isinstance(msg, dict):
                        self._replies[msg.get("id")] = msg
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def _send(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        with self._stdin_lock:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def cmd(self, cmd, timeout=60.0, check=True, **args):
        """Send one command and return its reply dict.

        `args` become fields of the JSON command; `timeout` (s) bounds the wait here and
        is passed to peer.mjs as "timeoutMs" (a little shorter) unless given.

        Raises JsPeerError on timeout, on peer exit, and (with check=True) on ok=false.
        """
        if not self.alive():
            raise JsPeerError("%s: peer is not running (exit %r)" % (self.name, self.proc and self.proc.poll()),
                              log_tail=self.log_tail())
        rid = next(self._ids)
        msg = dict(args)
        msg["id"] = rid
        msg["cmd"] = cmd
        # js-side deadline slightly shorter than ours, so a stuck operation comes
        # back as an error reply rather than a Python timeout
        msg.setdefault("timeoutMs", max(1000, int((timeout - 3) * 1000)))
        try:
            self._send(msg)
        except OSError as e:
            raise JsPeerError("%s: cannot send %s: %s" % (self.name, cmd, e), log_tail=self.log_tail())
        deadline = time.monotonic() + timeout
        with self._cond:
            while rid not in self._replies:
                left = deadline - time.monotonic()
                if self._eof:
                    raise JsPeerError("%s: peer exited while waiting for %s" % (self.name, cmd),
                                      log_tail=self.log_tail())
                if left <= 0:
                    raise JsPeerError("%s: %s timed out after %.1fs" % (self.name, cmd, timeout),
                                      log_tail=self.log_tail())
                self._cond.wait(left)
            reply = self._replies.pop(rid)
        if check and not reply.get("ok"):
            raise JsPeerError("%s: %s failed: %s" % (self.name, cmd, reply.get("error")), reply=reply)
        return reply

    def wait_event(self, name=None, timeout=30.0, pred=None, since=0, **match):
        """Wait for an event named `name` whose fields equal `match` (and pred(ev) is true).

        Searches events from index `since` on (already received ones count) and returns
        the first match. Raises JsPeerError on timeout or peer exit.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            i = since
            while True:
                while i < len(self.events):
                    ev = self.events[i]
                    i += 1
                    if name is not None and ev.get("event") != name:
                        continue
                    if any(ev.get(k) != v for k, v in match.items()):
                        continue
                    if pred is not None and not pred(ev):
                        continue
                    return ev
                if self._eof:
                    raise JsPeerError("%s: peer exited while waiting for event %s" % (self.name, name),
                                      log_tail=self.log_tail())
                left = deadline - time.monotonic()
                if left <= 0:
                    raise JsPeerError("%s: no event %s %r within %.1fs" % (self.name, name, match, timeout),
                                      log_tail=self.log_tail())
                self._cond.wait(left)

    def events_named(self, name):
        with self._cond:
            return [e for e in self.events if e.get("event") == name]

    # ------------------------------------------------------------ shorthands

    def dial(self, addr, **kw):
        return self.cmd("dial", addr=addr, **kw)

    def ping(self, peer=None, addr=None, **kw):
        return self.cmd("ping", peer=peer, addr=addr, **kw)["rtt"]

    def identify(self, peer, **kw):
        """js-libp2p identifies a peer by itself when a connection opens, and allows one
        outbound identify stream per connection: asked at that moment it refuses
        (TooManyOutboundProtocolStreams), so wait for its own and ask again."""
        for attempt in range(50):
            try:
                return self.cmd("identify", peer=peer, **kw)
            except JsPeerError as e:
                if "TooManyOutboundProtocolStreams" not in str(e) or attempt == 49:
                    raise
                time.sleep(0.1)

    def peers(self):
        return self.cmd("peers")["peers"]

    def echo(self, peer, streams=1, nbytes=1024, timeout=600.0):
        return self.cmd("echo", timeout=timeout, peer=peer, streams=streams, bytes=nbytes)

    def bulk(self, peer, nbytes, timeout=600.0):
        return self.cmd("bulk", timeout=timeout, peer=peer, bytes=nbytes)

    def hangup(self, peer):
        return self.cmd("hangup", peer=peer)


class JsonLinesProc:
    """A JS harness `js/<script>` (helia.mjs, helia_http.mjs) driven by JSON lines:
    each command {"id", "cmd", ...} is answered by a line with the same "id"; lines
    without one are events kept by name ("ready": `self.ready`). stderr goes to
    `<workdir>/<script name>.stderr.log`."""

    def __init__(self, script, workdir, ready_timeout=60):
        self.name = os.path.splitext(script)[0]
        self.log = open(workdir.sub(self.name + ".stderr.log"), "wb")
        self.proc = subprocess.Popen([node_binary(), os.path.join(HERE, "js", script)],
                                     cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, bufsize=1)
        self.ids = itertools.count(1)
        self.replies = {}
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = self._wait(lambda: self.replies.get("ready"), ready_timeout)

    def _read(self):
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.replies[msg.get("id", msg.get("event"))] = msg
                self.cond.notify_all()

    def _wait(self, pred, timeout):
        end = time.time() + timeout
        with self.cond:
            while time.time() < end:
                v = pred()
                if v:
                    return v
                if self.proc.poll() is not None:
                    break
                self.cond.wait(0.2)
        raise AssertionError("%s did not answer (see %s.stderr.log)" % (self.name, self.name))

    def cmd(self, cmd, timeout=300, **args):
        """Send a command and wait for its answer; an answer without "ok" fails."""
        i = next(self.ids)
        self.proc.stdin.write(json.dumps(dict(args, id=i, cmd=cmd)) + "\n")
        self.proc.stdin.flush()
        r = self._wait(lambda: self.replies.get(i), timeout)
        if not r.get("ok"):
            raise AssertionError("%s %s failed: %s" % (self.name, cmd, r.get("error")))
        return r

    def close(self):
        try:
            self.cmd("stop", timeout=10)
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001  (best effort at teardown)
            self.proc.kill()
        self.log.close()


@atexit.register
def _kill_leftovers():
    with _live_lock:
        peers = list(_live)
    for p in peers:
        try:
            p.kill()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def run_pair_bench(nbytes=256 * MiB, echo_streams=100, echo_bytes=MiB, out=sys.stdout):
    """js <-> js reference figures: bulk of `nbytes` one way, then `echo_streams`
    concurrent echo streams of `echo_bytes` each. Prints MB/s and returns a dict."""
    a = JsPeer(name="bench-a")
    b = JsPeer(name="bench-b")
    try:
        a.start()
        b.start()
        a.dial(b.addr)
        res = {}
        if nbytes:
            bulk = a.bulk(b.peer_id, nbytes)
            served = b.wait_event("bulk_served", timeout=30)
            res["bulk"] = bulk
            out.write("js->js bulk %d MiB: %.1f MB/s (%.1f MiB/s), %.0f ms; receiver counted %d bytes\n"
                      % (nbytes // MiB, bulk["mbps"], bulk["mibps"], bulk["ms"], served["bytes"]))
        if echo_streams:
            echo = a.echo(b.peer_id, streams=echo_streams, nbytes=echo_bytes)
            res["echo"] = echo
            out.write("js->js echo %d streams x %d KiB: %.0f ms, %.1f MB/s both ways (%d/%d streams ok)\n"
                      % (echo_streams, echo_bytes // 1024, echo["ms"], echo["mbps"],
                         echo["okStreams"], echo_streams))
        out.flush()
        return res
    finally:
        a.stop()
        b.stop()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 256 * MiB
    run_pair_bench(n)
