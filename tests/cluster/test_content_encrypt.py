"""Encrypted files on a real cluster (issue 6, seed 004), driven through the CLI:
- A adds a file with --encrypt; B fetches it over Bitswap and `get --decrypt` with the
  right passphrase writes identical bytes (mode 0600); `cat --decrypt` prints them;
- a wrong passphrase: a clear error, a non-zero exit code, no output file (nor temp
  file) and nothing on stdout;
- without --decrypt B gets the ciphertext: it starts with the LSENC magic and is
  exactly header + plaintext + 17 bytes per 64 KiB message long;
- ciphertext that was tampered with (one byte) or cut short, stored as an ordinary
  file, is refused by get/cat --decrypt, leaving no file;
- `add -r --encrypt`: names stay visible, every file decrypts."""
import hashlib
import os
import subprocess

from harness import LESTER, Workdir, check, fail, loopback_node, main, run, run_json

STATE = {}
MAGIC = b"LSENC\x01"
CHUNK, ABYTES, HEADER = 65536, 17, 64


def make_bytes(n, salt):
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"%s-%d" % (salt, i)).digest()
        i += 1
    return bytes(out[:n])


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def ciphertext_len(n):
    return HEADER + n + ABYTES * max(1, (n + CHUNK - 1) // CHUNK)


def connect(a, b):
    addr = run_json("id", home=b.home)["addresses"][0]
    run("swarm", "connect", addr, home=a.home, check_rc=0)


def leftovers(directory, stem):
    return [n for n in os.listdir(directory) if n.startswith(stem)]


def test_setup_and_add():
    w = Workdir("encrypt")
    STATE["w"] = w
    a, b = loopback_node(w, "A"), loopback_node(w, "B")
    a.start()
    b.start()
    STATE.update(a=a, b=b)
    data = make_bytes(3 * 262144 + 12345, b"enc")  # several UnixFS and crypt chunks
    src, pf, wrong = w.sub("secret.bin"), w.sub("pass.txt"), w.sub("wrong.txt")
    write(src, data)
    write(pf, b"correct horse battery staple\n")
    write(wrong, b"incorrect horse\n")
    STATE.update(data=data, src=src, pf=pf, wrong=wrong)
    cid = run("add", "-q", "--encrypt", "--passphrase-file", pf, src, home=a.home,
              check_rc=0).stdout.strip()
    plain = run("add", "-q", "--only-hash", src, home=a.home, check_rc=0).stdout.strip()
    check(cid.startswith("bafy") and cid != plain, "encrypted CID %r vs plain %r" % (cid, plain))
    again = run("add", "-q", "--encrypt", src, home=a.home, check_rc=0,
                env={"LESTER_PASSPHRASE": "correct horse battery staple"}).stdout.strip()
    check(again != cid, "two encryptions of one file share a CID (salt not fresh)")
    STATE["cid"] = cid
    connect(b, a)


def test_get_decrypt_right_passphrase():
    b, w = STATE["b"], STATE["w"]
    out = w.sub("b-plain.bin")
    run("get", "-q", STATE["cid"], "--decrypt", "--passphrase-file", STATE["pf"], "-o", out,
        home=b.home, check_rc=0, timeout=300)
    check(read(out) == STATE["data"], "decrypted bytes differ")
    check(os.stat(out).st_mode & 0o777 == 0o600, "decrypted file is not 0600")


def test_cat_decrypt_bytes():
    b = STATE["b"]
    env = dict(os.environ, LESTER_PASSPHRASE="correct horse battery staple")
    p = subprocess.run([LESTER, "--home", b.home, "cat", "-q", STATE["cid"], "--decrypt"],
                       capture_output=True, env=env, timeout=120)
    check(p.returncode == 0 and p.stdout == STATE["data"], "cat --decrypt bytes differ")
    env["LESTER_PASSPHRASE"] = "wrong"
    p = subprocess.run([LESTER, "--home", b.home, "cat", "-q", STATE["cid"], "--decrypt"],
                       capture_output=True, env=env, timeout=120)
    check(p.returncode == 1, "cat --decrypt with a wrong passphrase exited %d" % p.returncode)
    check(p.stdout == b"", "cat --decrypt printed %d bytes with a wrong passphrase"
          % len(p.stdout))
    check(b"passphrase" in p.stderr, "no clear error: %r" % p.stderr)
    p = subprocess.run([LESTER, "--home", b.home, "cat", "-q", STATE["cid"], "--decrypt"],
                       capture_output=True, env={k: v for k, v in env.items()
                                                 if k != "LESTER_PASSPHRASE"},
                       stdin=subprocess.DEVNULL, timeout=60)
    check(p.returncode == 2 and b"passphrase" in p.stderr,
          "no passphrase and no terminal: %d %r" % (p.returncode, p.stderr))


def test_get_decrypt_wrong_passphrase():
    b, w = STATE["b"], STATE["w"]
    out = w.sub("b-wrong.bin")
    p = run("get", "-q", STATE["cid"], "--decrypt", "--passphrase-file", STATE["wrong"],
            "-o", out, home=b.home, timeout=120)
    check(p.returncode != 0, "get --decrypt with a wrong passphrase succeeded")
    check("wrong passphrase" in p.stderr, "no clear error: %r" % p.stderr)
    check(not os.path.exists(out), "an output file was left behind")
    check(not leftovers(w.path, "b-wrong.bin"), "a temp file was left behind")


def test_get_without_decrypt_is_ciphertext():
    b, w = STATE["b"], STATE["w"]
    out = w.sub("b-cipher.bin")
    run("get", "-q", STATE["cid"], "-o", out, home=b.home, check_rc=0, timeout=120)
    ct = read(out)
    check(ct.startswith(MAGIC), "ciphertext starts with %r" % ct[:8])
    check(len(ct) == ciphertext_len(len(STATE["data"])), "ciphertext length %d" % len(ct))
    check(STATE["data"][:64] not in ct, "plaintext visible in the ciphertext")
    STATE["ct"] = ct


def refused(node, cid, name):
    w = STATE["w"]
    out = w.sub(name)
    p = run("get", "-q", cid, "--decrypt", "--passphrase-file", STATE["pf"], "-o", out,
            home=node.home, timeout=120)
    check(p.returncode != 0, "%s: get --decrypt succeeded" % name)
    check("damaged" in p.stderr or "truncated" in p.stderr or "passphrase" in p.stderr,
          "%s: unclear error %r" % (name, p.stderr))
    check(not os.path.exists(out) and not leftovers(w.path, name), "%s: file left" % name)
    c = subprocess.run([LESTER, "--home", node.home, "cat", "-q", cid, "--decrypt",
                        "--passphrase-file", STATE["pf"]], capture_output=True, timeout=120)
    check(c.returncode == 1, "%s: cat --decrypt exited %d" % (name, c.returncode))
    check(STATE["data"].startswith(c.stdout), "%s: cat printed bytes that are not a prefix"
          % name)


def test_tampered_and_truncated():
    b, w = STATE["b"], STATE["w"]
    ct = bytearray(STATE["ct"])
    ct[len(ct) // 2] ^= 0x40
    cut = STATE["ct"][:-CHUNK // 2]  # lose the end: the FINAL message
    for name, blob in (("tampered.bin", bytes(ct)), ("cut.bin", cut)):
        path = w.sub("src-" + name)
        write(path, blob)
        cid = run("add", "-q", path, home=b.home, check_rc=0).stdout.strip()
        refused(b, cid, name)


def test_directory():
    a, b, w = STATE["a"], STATE["b"], STATE["w"]
    d = w.sub("tree")
    os.makedirs(os.path.join(d, "sub"))
    files = {"one.txt": b"first file\n", "empty": b"",
             "sub/two.bin": make_bytes(200000, b"two")}
    for rel, blob in files.items():
        write(os.path.join(d, rel), blob)
    cid = run("add", "-q", "-r", "--encrypt", "--passphrase-file", STATE["pf"], d,
              home=a.home, check_rc=0).stdout.strip()
    out = w.sub("tree-plain")
    run("get", "-q", cid, "--decrypt", "--passphrase-file", STATE["pf"], "-o", out,
        home=b.home, check_rc=0, timeout=120)
    for rel, blob in files.items():
        check(read(os.path.join(out, rel)) == blob, "%s differs after decrypt" % rel)
    raw = w.sub("tree-raw")
    run("get", "-q", cid, "-o", raw, home=b.home, check_rc=0, timeout=120)
    for rel in files:  # names visible, contents encrypted
        check(read(os.path.join(raw, rel)).startswith(MAGIC), "%s not encrypted" % rel)


if __name__ == "__main__":
    code = 1
    try:
        main([test_setup_and_add, test_get_decrypt_right_passphrase, test_cat_decrypt_bytes,
              test_get_decrypt_wrong_passphrase, test_get_without_decrypt_is_ciphertext,
              test_tampered_and_truncated, test_directory])
    except SystemExit as e:
        code = e.code
    finally:
        for k in "ab":
            if k in STATE:
                STATE[k].close()
        if code == 0 and "w" in STATE:
            STATE["w"].cleanup()
    raise SystemExit(code)
