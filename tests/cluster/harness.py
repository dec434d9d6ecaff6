"""Cluster-test harness: real `lester` processes on loopback, driven through the
CLI and the HTTP API exactly as a user drives them. Standard library only."""
import json
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

LESTER = os.environ.get("LESTER_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "release", "lester")
TMP_ROOT = os.environ.get("LESTER_TEST_TMP") or tempfile.gettempdir()


def fail(msg):
    print("FAIL: " + msg, flush=True)
    raise AssertionError(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def run(*args, home=None, env=None, check_rc=None, timeout=60, stdin=None, text=True, cwd=None):
    """Run the CLI (in `cwd` if given); returns CompletedProcess (text, or bytes with
    text=False)."""
    cmd = [os.path.abspath(LESTER)] + (["--home", home] if home else []) + list(args)
    e = dict(os.environ)
    e.pop("LESTER_PASSPHRASE", None)
    if env:
        e.update(env)
    p = subprocess.run(cmd, capture_output=True, text=text, env=e, timeout=timeout,
                       input=stdin, cwd=cwd)
    if check_rc is not None and p.returncode != check_rc:
        fail("%s exited %d (wanted %d)\nstdout: %s\nstderr: %s" % (
            " ".join(cmd), p.returncode, check_rc, p.stdout, p.stderr))
    return p


def run_json(*args, home=None, env=None):
    p = run(*args, "--json", home=home, env=env, check_rc=0)
    return json.loads(p.stdout)


class Workdir:
    """A fresh directory for one test, removed on success."""

    def __init__(self, name):
        os.makedirs(TMP_ROOT, exist_ok=True)
        self.path = tempfile.mkdtemp(prefix=name + "-", dir=TMP_ROOT)

    def sub(self, name):
        return os.path.join(self.path, name)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


class Node:
    """One daemon with its own home."""

    def __init__(self, home, env=None):
        self.home = home
        self.env = env or {}
        self.proc = None

    def init(self, *extra):
        return run("init", *extra, home=self.home, env=self.env, check_rc=0)

    def config_set(self, key, value):
        run("config", "set", key, value, home=self.home, check_rc=0)

    def start(self, *extra, wait=True):
        e = dict(os.environ)
        e.pop("LESTER_PASSPHRASE", None)
        e.update(self.env)
        log = open(os.path.join(self.home, "test-daemon.out"), "ab")
        self.proc = subprocess.Popen(
            [LESTER, "--home", self.home, "daemon", "--log-level", "debug"] + list(extra),
            stdout=log, stderr=subprocess.STDOUT, env=e, start_new_session=True)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc and self.proc.poll() is not None:
                fail("daemon in %s exited with %d:\n%s" % (
                    self.home, self.proc.returncode, self.output()))
            try:
                if self.get("/health")["status"] == "ok":
                    return
            except (OSError, ValueError, KeyError, urllib.error.URLError):
                pass
            time.sleep(0.05)
        fail("daemon in %s not ready after %ss:\n%s" % (self.home, timeout, self.output()))

    def output(self):
        try:
            with open(os.path.join(self.home, "test-daemon.out"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def api_base(self):
        with open(os.path.join(self.home, "api")) as f:
            ma = f.read().strip()          # /ip4/127.0.0.1/tcp/PORT
        parts = ma.split("/")
        host = parts[2] if parts[1] == "ip4" else "[%s]" % parts[2]
        return "http://%s:%s" % (host, parts[4])

    def token(self):
        with open(os.path.join(self.home, "api.cookie")) as f:
            return f.read().strip()

    def request(self, method, path, body=None, token=True, timeout=30, raw=False):
        """Returns (status, parsed JSON or bytes)."""
        data = None if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        req = urllib.request.Request(self.api_base() + path, data=data, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + self.token())
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, payload = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, payload = e.code, e.read()
        if raw:
            return status, payload
        try:
            return status, json.loads(payload) if payload else None
        except ValueError:
            return status, payload

    def get(self, path):
        status, body = self.request("GET", path, token=False)
        if status != 200:
            raise ValueError("GET %s -> %d %s" % (path, status, body))
        return body

    def post(self, path, body=None):
        status, out = self.request("POST", path, body if body is not None else {})
        if status != 200:
            fail("POST %s -> %d %s" % (path, status, out))
        return out

    def stop(self, timeout=15):
        """SIGTERM and wait: a clean shutdown must finish in time and exit 0."""
        if not self.proc:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            fail("daemon in %s did not stop within %ss" % (self.home, timeout))
        self.proc = None
        return rc

    def kill9(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def loopback_node(workdir, name, env=None, init_args=()):
    """A node initialised for loopback tests: free API port, swarm on 127.0.0.1."""
    n = Node(workdir.sub(name), env)
    n.init(*init_args)
    n.config_set("api.port", "0")
    n.config_set("swarm.listen", '["/ip4/127.0.0.1/tcp/0"]')
    return n


def setup_nodes(state, workdir_name, *names):
    """A Workdir (state["w"]) and a started loopback node per name, kept in `state`
    under the name in lower case. Returns (workdir, [nodes])."""
    w = Workdir(workdir_name)
    state["w"] = w
    nodes = [loopback_node(w, name) for name in names]
    for name, n in zip(names, nodes):
        state[name.lower()] = n
        n.start()
    return w, nodes


def sha256_file(path):
    """Hex SHA-256 of a file, read 1 MiB at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_file(path, data):
    """Write `data` to `path`, creating its directory."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def run_tests(tests, state):
    """main(tests), then close every Node (or anything with close()) left in `state`
    and, if all passed, remove its Workdir `state["w"]` (a failed run keeps it for a
    look). Exits like main."""
    code = 1
    try:
        main(tests)
    except SystemExit as e:
        code = e.code
    finally:
        for v in state.values():
            if not isinstance(v, Workdir) and callable(getattr(v, "close", None)):
                v.close()  # nodes, JS peers: whatever is still running
        if code == 0 and "w" in state:
            state["w"].cleanup()
    raise SystemExit(code)


def main(tests):
    """Run test functions in order; print a closing 'N passed, N failed' line."""
    passed = failed = 0
    for t in tests:
        name = t.__name__
        start = time.time()
        try:
            t()
            passed += 1
            print("ok   %s (%.1fs)" % (name, time.time() - start), flush=True)
        except Exception as e:  # report and go on
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
