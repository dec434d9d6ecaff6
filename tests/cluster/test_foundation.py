"""Foundation (issue 2): data directory, identity, daemon, API, CLI, devnet,
crash consistency. Real processes, real sockets, real SQLite."""
import base64
import json
import os
import signal
import socket
import sqlite3
import stat
import threading
import time

from harness import (Node, Workdir, check, fail, loopback_node, main, run, run_json)

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(b):
    n = int.from_bytes(b, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(b) - len(b.lstrip(b"\0"))) + out


def peer_id_of(public_key_b64):
    """libp2p peer ID of a base64 protobuf PublicKey (identity multihash, <= 42 bytes)."""
    proto = base64.b64decode(public_key_b64)
    check(proto[:4] == b"\x08\x01\x12\x20" and len(proto) == 36, "Ed25519 PublicKey protobuf")
    return b58encode(bytes([0x00, len(proto)]) + proto)


def test_init_identity_and_offline_id():
    w = Workdir("init")
    home = w.sub("h")
    p = run("init", home=home, check_rc=0)
    check("peer ID: 12D3KooW" in p.stdout, "init prints the peer ID: " + p.stdout)
    for name in ("config.json", "identity.key", "lester.db"):
        check(os.path.exists(os.path.join(home, name)), name + " created")
    check(stat.S_IMODE(os.stat(os.path.join(home, "identity.key")).st_mode) == 0o600,
          "identity.key is 0600")
    ident = run_json("id", home=home)
    check(ident["id"].startswith("12D3KooW"), "peer ID form")
    check(peer_id_of(ident["public_key"]) == ident["id"], "public key matches peer ID")
    p = run("init", home=home, check_rc=1)
    check("--force" in p.stderr, "refusal names --force: " + p.stderr)
    check(run_json("id", home=home)["id"] == ident["id"], "identity kept after refusal")
    run("init", "--force", home=home, check_rc=0)
    check(run_json("id", home=home)["id"] != ident["id"], "--force makes a new identity")
    cfg = json.loads(run("config", "show", home=home, check_rc=0).stdout)
    check(cfg["api"]["port"] == 5001 and cfg["profile"] == "default", "documented defaults")
    w.cleanup()


def test_foreign_directory_and_profiles():
    w = Workdir("foreign")
    home = w.sub("h")
    os.makedirs(home)
    with open(os.path.join(home, "thesis.txt"), "w") as f:
        f.write("not ours")
    p = run("init", home=home, check_rc=1)
    check("not a Lester data directory" in p.stderr, "foreign dir refused: " + p.stderr)
    home2 = w.sub("h2")
    run("init", "--profile", "high-security", home=home2, check_rc=0)
    check(run("config", "get", "trust.min_threshold", home=home2).stdout.strip() == "0.5",
          "high-security profile applied")
    p = run("init", "--profile", "bogus", home=w.sub("h3"), check_rc=1)
    check("unknown profile" in p.stderr, p.stderr)
    w.cleanup()


def test_encrypted_identity():
    w = Workdir("enc")
    n = Node(w.sub("h"), env={"LESTER_PASSPHRASE": "correct horse"})
    n.init()
    with open(os.path.join(n.home, "identity.key"), "rb") as f:
        raw = f.read()
    ident = run_json("id", home=n.home, env={"LESTER_PASSPHRASE": "correct horse"})
    check(ident["id"].encode() not in raw, "identity file does not hold the key in clear")
    p = run("daemon", home=n.home, check_rc=1)
    check("encrypted" in p.stderr and "LESTER_PASSPHRASE" in p.stderr, p.stderr)
    p = run("daemon", home=n.home, env={"LESTER_PASSPHRASE": "wrong"}, check_rc=1)
    check("wrong passphrase" in p.stderr, p.stderr)
    pf = w.sub("pass.txt")
    with open(pf, "w") as f:
        f.write("correct horse\n")
    n2 = Node(n.home)
    n2.config_set("api.port", "0")
    n2.start("--passphrase-file", pf)
    check(n2.get("/api/v0/id")["id"] == ident["id"], "daemon runs with the right passphrase")
    check(n2.stop() == 0, "clean exit")
    w.cleanup()


def test_invalid_config_names_key_and_line():
    w = Workdir("badcfg")
    n = Node(w.sub("h"))
    n.init()
    path = os.path.join(n.home, "config.json")
    with open(path) as f:
        lines = f.read().split("\n")
    idx = next(i for i, l in enumerate(lines) if '"port"' in l)
    comma = "," if lines[idx].rstrip().endswith(",") else ""
    lines[idx] = lines[idx].split(":")[0] + ': "abc"' + comma
    with open(path, "w") as f:
        f.write("\n".join(lines))
    p = run("daemon", home=n.home, check_rc=1)
    check("api.port" in p.stderr and (":%d" % (idx + 1)) in p.stderr,
          "error names key and line %d: %s" % (idx + 1, p.stderr))
    p = run("config", "set", "api.port", "70000", home=n.home, check_rc=1)
    check("api.port" in p.stderr, p.stderr)
    with open(path, "w") as f:
        f.write('{"api": {"port": 5001,}\n')
    p = run("daemon", home=n.home, check_rc=1)
    check("line 1" in p.stderr or ":1" in p.stderr, "syntax error has a line: " + p.stderr)
    w.cleanup()


def oversized_status(node):
    """Announce a 2 MiB body: the daemon must refuse it from the headers alone (a
    client streaming the body would get EPIPE once the daemon closes, so read first)."""
    host, port = node.api_base()[len("http://"):].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(("POST /api/v0/diag/state/set HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
                   % (node.token(), 2 << 20)).encode())
        line = s.makefile("rb").readline().decode()
    return int(line.split()[1])


def test_two_daemons_api_and_token():
    w = Workdir("api")
    a, b = loopback_node(w, "a"), loopback_node(w, "b")
    try:
        a.start()
        b.start()
        ia, ib = a.get("/api/v0/id"), b.get("/api/v0/id")
        check(ia["id"] != ib["id"], "distinct identities")
        for n, i in ((a, ia), (b, ib)):
            check(i["agent_version"].startswith("lester/"), "agent version")
            check(peer_id_of(i["public_key"]) == i["id"], "key matches id")
            check(i["addresses"] and all(x.endswith("/p2p/" + i["id"]) for x in i["addresses"]),
                  "addresses are full multiaddrs: %s" % i["addresses"])
            cli = run_json("id", home=n.home)
            check(cli["id"] == i["id"] and cli["addresses"] == i["addresses"], "CLI id = API id")
        check(a.get("/api/v0/version")["version"], "version")
        # the token: any POST under /api/v0/ needs it, known route or not
        for path in ("/api/v0/diag/state/set", "/api/v0/shutdown", "/api/v0/no/such/route"):
            status, body = a.request("POST", path, {"key": "k", "value": "v"}, token=False)
            check(status == 401 and body["error"]["code"] == "unauthorized",
                  "POST %s without token -> %s %s" % (path, status, body))
        req_tok = a.token()
        check(req_tok != b.token(), "each daemon has its own token")
        a_tok = a.token
        a.token = b.token  # the other daemon's token is wrong here
        status, _ = a.request("POST", "/api/v0/diag/state/set", {"key": "k", "value": "v"})
        a.token = a_tok
        check(status == 401, "wrong token refused")
        check(a.post("/api/v0/diag/state/set", {"key": "k", "value": "v"})["stored"], "with token")
        status, body = a.request("POST", "/api/v0/diag/state/set", b"{not json")
        check(status == 400 and "error" in body, "malformed JSON is a 400: %s" % body)
        check(oversized_status(a) == 413, "oversized body refused before it is read")
        status, body = a.request("GET", "/api/v0/nope", token=False)
        check(status == 404 and body["error"]["code"] == "not_found", "unknown route 404")
        status, m = a.request("GET", "/metrics", token=False, raw=True)
        m = m.decode()
        for series in ("lester_uptime_seconds", "lester_db_size_bytes",
                       'lester_api_requests_total{route="/api/v0/id",method="GET",code="200"}',
                       'code="401"'):
            check(series in m, "metrics has %s" % series)
        check(a.get("/health")["status"] == "ok", "health")
        # the daemon survived all of the above
        check(a.stop() == 0 and b.stop() == 0, "clean exits")
        check(not os.path.exists(os.path.join(a.home, "api")), "api file removed at exit")
    finally:
        a.close()
        b.close()
    w.cleanup()


def test_lock_status_shutdown_sighup():
    w = Workdir("lock")
    n = loopback_node(w, "n")
    try:
        p = run("status", home=n.home, check_rc=3)
        check("not running" in p.stderr and "lester daemon" in p.stderr, p.stderr)
        n.start()
        p = run("daemon", home=n.home, check_rc=1)
        check("another lester daemon" in p.stderr, "second daemon refused: " + p.stderr)
        st = run_json("status", home=n.home)
        check(st["running"] and st["pid"] == n.proc.pid, "status: %s" % st)
        # SIGHUP re-reads log.level
        n.config_set("log.level", "warn")
        n.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        check("log level is now warn" in n.output(), "SIGHUP applied the level")
        run("shutdown", home=n.home, check_rc=0)
        check(n.proc.wait(timeout=10) == 0, "shutdown through the API exits 0")
        n.proc = None
        run("status", home=n.home, check_rc=3)
    finally:
        n.close()
    w.cleanup()


def test_kill9_during_writes_loses_nothing_committed():
    w = Workdir("kill9")
    n = loopback_node(w, "n")
    acked = []
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            try:
                status, _ = n.request("POST", "/api/v0/diag/state/set",
                                      {"key": "k%06d" % i, "value": "v%06d" % i * 20}, timeout=5)
            except OSError:
                return
            if status == 200:
                acked.append(i)
            i += 1

    try:
        n.start()
        t = threading.Thread(target=writer)
        t.start()
        time.sleep(1.5)
        n.kill9()
        stop.set()
        t.join()
        check(len(acked) > 50, "the write loop ran (%d writes)" % len(acked))
        db = sqlite3.connect(os.path.join(n.home, "lester.db"))
        check(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check")
        db.close()
        n.start()   # restart on the same home: the stale lock and api files do not matter
        for i in acked[:: max(1, len(acked) // 200)] + acked[-5:]:
            got = n.get("/api/v0/diag/state/get?key=k%06d" % i)
            check(got["value"] == "v%06d" % i * 20, "acknowledged write %d survived" % i)
        check(n.stop() == 0, "clean exit after restart")
        db = sqlite3.connect(os.path.join(n.home, "lester.db"))
        check(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check")
        count = db.execute("SELECT count(*) FROM network_state").fetchone()[0]
        check(count >= len(acked), "%d rows for %d acknowledged writes" % (count, len(acked)))
        db.close()
    finally:
        stop.set()
        n.close()
    w.cleanup()


def test_devnet_up_status_down():
    w = Workdir("devnet")
    d = w.sub("net")
    try:
        p = run("devnet", "up", "-n", "3", "--dir", d, check_rc=0, timeout=120)
        st = run_json("devnet", "status", "--dir", d)
        check(len(st) == 3 and all(x["running"] for x in st), "3 running: %s" % st)
        check(len({x["id"] for x in st}) == 3, "distinct peer IDs")
        boot = st[0]["addresses"][0]
        for x in st[1:]:
            cfg = json.loads(run("config", "show", home=x["home"], check_rc=0).stdout)
            check(cfg["swarm"]["bootstrap"] == [boot], "node bootstraps from node0")
        run("devnet", "down", "--dir", d, check_rc=0, timeout=60)
        st = run_json("devnet", "status", "--dir", d)
        check(not any(x["running"] for x in st), "all stopped")
    finally:
        run("devnet", "down", "--dir", d, timeout=60)
    w.cleanup()


if __name__ == "__main__":
    main([test_init_identity_and_offline_id, test_foreign_directory_and_profiles,
          test_encrypted_identity, test_invalid_config_names_key_and_line,
          test_two_daemons_api_and_token, test_lock_status_shutdown_sighup,
          test_kill9_during_writes_loses_nothing_committed, test_devnet_up_status_down])
