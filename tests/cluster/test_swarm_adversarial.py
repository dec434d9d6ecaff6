"""Adversarial input to the libp2p host (issue 3): random bytes, an oversized
multistream message, a truncated Noise handshake, a wrong peer ID on dial, and a
connection flood. Each ends that connection with a logged reason, is counted in
/metrics, and the node keeps serving everyone else (a second node connects,
identifies and echoes after every attack). Raw Python sockets only; and peer
arguments that are not peers, from the CLI."""
import json
import os
import socket
import time

from harness import Workdir, check, loopback_node, main, run

STATE = {}


def addr_port(ma):
    parts = ma.split("/")
    return parts[2], int(parts[4])


def raw_conn():
    host, port = addr_port(STATE["id"]["addresses"][0])
    s = socket.create_connection((host, port), timeout=15)
    return s


def closed_by_node(s, timeout=15):
    """True once the node closes `s` (EOF or reset) within `timeout`."""
    s.settimeout(timeout)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def metric(name_labels):
    body = STATE["a"].request("GET", "/metrics", token=False, raw=True)[1].decode()
    for line in body.splitlines():
        if line.startswith(name_labels + " "):
            return float(line.split()[-1])
    return 0.0


def still_serving():
    b, a_id = STATE["b"], STATE["id"]
    run("swarm", "disconnect", a_id["id"], home=b.home)
    p = run("--json", "swarm", "connect", a_id["addresses"][0], home=b.home, timeout=60)
    check(p.returncode == 0, "node B can still connect: %s %s" % (p.stdout, p.stderr))
    p = run("--json", "diag", "echo", a_id["id"], "--streams", "4", "--bytes", "65536",
            home=b.home, timeout=60)
    check(p.returncode == 0 and json.loads(p.stdout)["ok_streams"] == 4, "echo still works")


def mss_msg(text):
    data = text.encode() + b"\n"
    return bytes([len(data)]) + data


def test_random_bytes():
    s = raw_conn()
    s.sendall(os.urandom(4096))
    check(closed_by_node(s), "garbage closes the connection")
    s.close()
    time.sleep(0.2)
    check("security negotiation failed" in STATE["a"].output(), "reason logged")
    check(metric('lester_swarm_refused_total{reason="handshake"}') >= 1, "counted")
    still_serving()


def test_oversized_multistream_message():
    s = raw_conn()
    s.sendall(mss_msg("/multistream/1.0.0") + b"\xff\xff\x03" + b"x" * 70000)
    check(closed_by_node(s), "an oversized message closes the connection")
    s.close()
    still_serving()


def test_truncated_handshake():
    s = raw_conn()
    # a valid negotiation of /noise, then half of a Noise message 1, then silence
    s.sendall(mss_msg("/multistream/1.0.0") + mss_msg("/noise"))
    s.sendall(b"\x00\x20" + os.urandom(16))
    t0 = time.time()
    check(closed_by_node(s, timeout=20), "a stalled handshake is closed")
    check(time.time() - t0 < 15, "by the handshake timeout")
    s.close()
    time.sleep(0.2)
    check("handshake timeout" in STATE["a"].output(), "reason logged")
    check(metric('lester_swarm_refused_total{reason="handshake_timeout"}') >= 1, "counted")
    still_serving()


def test_bad_noise_message():
    s = raw_conn()
    s.sendall(mss_msg("/multistream/1.0.0") + mss_msg("/noise"))
    s.sendall(b"\x00\x05hello")  # message 1 must be a 32-byte ephemeral key
    check(closed_by_node(s), "a malformed Noise message closes the connection")
    s.close()
    still_serving()


def test_wrong_peer_id_on_dial():
    b, a_id = STATE["b"], STATE["id"]
    other = run("--json", "id", home=STATE["c_home"]).stdout
    wrong = a_id["addresses"][0].rsplit("/p2p/", 1)[0] + "/p2p/" + json.loads(other)["id"]
    run("swarm", "disconnect", a_id["id"], home=b.home)
    p = run("swarm", "connect", wrong, home=b.home, timeout=60)
    check(p.returncode != 0, "a dial to the wrong peer ID fails")
    time.sleep(0.2)
    check("did not prove" in b.output(), "reason logged by the dialler")
    still_serving()


def test_bad_targets_from_the_cli():
    """A peer argument that is neither a peer ID nor a multiaddr is refused with its
    name in the message, and the daemon goes on (it once freed the request body
    before quoting the name from it)."""
    b = STATE["b"]
    for args in (("ping", "nonsense"), ("ping", "1"), ("id", "12D3KooWnotapeer"),
                 ("swarm", "connect", "garbage"), ("diag", "echo", "nonsense")):
        p = run(*args, home=b.home, timeout=30)
        check(p.returncode == 1 and args[-1] in p.stderr, "%s: %d %r" % (args, p.returncode,
                                                                         p.stderr))
        check(b.get("/health")["status"] == "ok", "the daemon survives %s" % (args,))
    still_serving()


def test_connection_flood():
    socks = []
    for _ in range(300):
        try:
            socks.append(raw_conn())
        except OSError:
            break
    time.sleep(0.5)
    # whichever limit bites first: max_conns, or the connection manager's inbound
    # rate (32/s, burst 64), which refuses a burst like this one before max_conns
    refused = (metric('lester_swarm_refused_total{reason="max_conns"}') +
               metric('lester_swarm_refused_total{reason="inbound_denied"}'))
    for s in socks:
        s.close()
    check(refused >= 1, "a connection flood is refused (%s)" % refused)
    time.sleep(0.5)
    still_serving()


def run_all():
    w = Workdir("swarm-adv")
    a = loopback_node(w, "a")
    a.config_set("peers.max", "40")   # max_conns = 4 * 40 + 64 = 224
    b = loopback_node(w, "b")
    c_home = w.sub("c")
    run("init", home=c_home, check_rc=0)
    a.start()
    b.start()
    STATE.update(a=a, b=b, c_home=c_home, id=a.get("/api/v0/id"))
    try:
        main([test_random_bytes, test_oversized_multistream_message, test_truncated_handshake,
              test_bad_noise_message, test_wrong_peer_id_on_dial, test_bad_targets_from_the_cli,
              test_connection_flood])
    finally:
        b.stop()
        a.stop()


if __name__ == "__main__":
    run_all()
