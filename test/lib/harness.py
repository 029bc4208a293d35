"""Test harness: a throw-away PostgreSQL 15 cluster run as the `postgres` user (initdb refuses
root), with pg_storcon and the neon GUC stand-in preloaded, and the bundled storcon simulator.

Used by the pg_regress runner and the end-to-end tests. Standard library only.
"""
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM = os.path.join(REPO, "test", "sim", "storcon_sim.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"


def pg_bindir():
    return subprocess.check_output(["pg_config", "--bindir"], text=True).strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_user():
    """The server runs as postgres when we are root, else as ourselves."""
    return "postgres" if os.geteuid() == 0 else None


def as_server_user(cmd):
    user = server_user()
    return ["runuser", "-u", user, "--"] + cmd if user else cmd


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - retry until the deadline
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class Cluster:
    """One PostgreSQL data directory under /tmp, owned by the server user."""

    def __init__(self, name, port=None, settings=None, preload="neon_stub,pg_storcon", primary=None):
        """A new cluster, or with primary=<Cluster> a hot standby cloned from it (pg_basebackup -R)."""
        self.base = tempfile.mkdtemp(prefix=f"pg_storcon_{name}_", dir="/tmp")
        os.chmod(self.base, 0o755)
        self.datadir = os.path.join(self.base, "data")
        self.logfile = os.path.join(self.base, "server.log")
        self.port = port or free_port()
        self.bindir = pg_bindir()
        user = server_user()
        if user:
            pw = pwd.getpwnam(user)
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.base}'",
        }
        if primary is None:
            self._run([os.path.join(self.bindir, "initdb"), "-D", self.datadir, "-A", "trust", "-U", "postgres",
                       "--no-sync", "-E", "UTF8", "--locale=C"])
            conf.update({
                "shared_preload_libraries": f"'{preload}'",
                "fsync": "off",
                "log_line_prefix": "'%m [%p] %b '",
                "max_wal_senders": "4",
                "wal_level": "replica",
            })
        else:
            self._run([os.path.join(self.bindir, "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                       "-U", "postgres", "-D", self.datadir, "-R", "-X", "stream"])
        conf.update(settings or {})
        self.hook_port = int(conf.get("storcon.hook_port", "3000"))
        self.append_conf(conf)

    def _run(self, cmd, check=True, **kw):
        return subprocess.run(as_server_user(cmd), check=check, capture_output=True, text=True, **kw)

    def path(self, *parts):
        return os.path.join(self.datadir, *parts)

    def write_file(self, name, contents, mode=0o600):
        """A file in the base directory, readable by the server user only."""
        p = os.path.join(self.base, name)
        with open(p, "w") as f:
            f.write(contents)
        os.chmod(p, mode)
        user = server_user()
        if user:
            pw = pwd.getpwnam(user)
            os.chown(p, pw.pw_uid, pw.pw_gid)
        return p

    def append_conf(self, settings):
        with open(self.path("postgresql.conf"), "a") as f:
            for k, v in settings.items():
                f.write(f"{k} = {v}\n")

    def start(self):
        r = self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-l", self.logfile, "-w",
                       "-t", "60", "start"], check=False)
        if r.returncode != 0:
            raise AssertionError(f"server did not start: {r.stdout}{r.stderr}\n{self.log()}")

    def stop(self, mode="fast"):
        self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-m", mode, "-w", "stop"],
                  check=False)

    def restart(self):
        self.stop()
        self.start()

    def reload(self):
        self.psql("SELECT pg_reload_conf()")

    def destroy(self):
        self.stop("immediate")
        if os.environ.get("PG_STORCON_KEEP_TMP"):
            print(f"kept {self.base}")
            return
        shutil.rmtree(self.base, ignore_errors=True)

    def log(self):
        try:
            with open(self.logfile) as f:
                return f.read()
        except OSError:
            return ""

    def psql(self, sql, db="postgres", check=True, user="postgres"):
        """Runs sql in a NEW session; returns stdout (unaligned, tuples only)."""
        r = subprocess.run([os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-h", "127.0.0.1", "-p", str(self.port), "-U", user, "-d", db, "-c", sql],
                           capture_output=True, text=True)
        if check and r.returncode != 0:
            raise AssertionError(f"psql failed: {sql}\n{r.stderr}")
        return r.stdout.strip() if check else r

    def poll(self, sql, expected, timeout=15.0, db="postgres"):
        return wait_until(lambda: self.psql(sql, db=db) == expected, timeout, what=f"{sql!r} = {expected!r}")

    def auto_conf(self):
        with open(self.path("postgresql.auto.conf"), "rb") as f:
            return f.read()

    def postmaster_pid(self):
        with open(self.path("postmaster.pid")) as f:
            return int(f.readline())

    def hook_worker_pid(self):
        out = self.psql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_storcon hook'")
        return int(out) if out else None


class Session:
    """A psql session kept open across the test: a crash-restart of the server would end it, so a
    test that still gets answers from it proves the postmaster never reinitialized."""

    def __init__(self, pg):
        self.p = subprocess.Popen(as_server_user([os.path.join(pg.bindir, "psql"), "-X", "-q", "-A", "-t", "-h",
                                                  "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-d", "postgres"]),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.pid = self.run("SELECT pg_backend_pid()")

    def run(self, sql):
        marker = f"done-{time.monotonic_ns()}"
        self.p.stdin.write(sql.rstrip(";") + f";\n\\echo {marker}\n")
        self.p.stdin.flush()
        lines = []
        for line in self.p.stdout:
            if line.strip() == marker:
                return "\n".join(lines)
            lines.append(line.rstrip("\n"))
        raise AssertionError("the session opened at the start was disconnected")

    def close(self):
        self.p.stdin.close()
        self.p.wait(10)
        self.p.stdout.close()


class SilentPeer:
    """A hook that accepts connections and never answers (a compute that hangs); `url` is its base
    URL. close() (or leaving a with block) ends it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._hold)
        self.thread.start()

    def _hold(self):
        while not self.stop.is_set():
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.stop.set()
        self.thread.join()
        for c in self.held:
            c.close()
        self.sock.close()


class Simulator:
    """The bundled storcon simulator, on a port of its own."""

    def __init__(self, port=None, args=()):
        self.dir = tempfile.mkdtemp(prefix="pg_storcon_sim_")
        port_file = os.path.join(self.dir, "port")
        self.stderr = open(os.path.join(self.dir, "stderr"), "w")
        self.proc = subprocess.Popen([PYTHON, SIM, "--port", str(port or 0), "--port-file", port_file, *args],
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        wait_until(lambda: os.path.exists(port_file), timeout=15, what="simulator start")
        with open(port_file) as f:
            self.port = int(f.read().strip())
        self.url = f"http://127.0.0.1:{self.port}"
        self.context = None
        if "--tls-cert" in args:  # test knobs over HTTPS, trusting the simulator's own certificate
            import ssl
            self.context = ssl.create_default_context()
            self.context.check_hostname = False
            self.context.verify_mode = ssl.CERT_NONE
            self.url = f"https://127.0.0.1:{self.port}"

    def call(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.context) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode(errors="replace")

    def requests(self):
        return self.call("GET", "/__sim/requests")[1]

    def clear_requests(self):
        self.call("DELETE", "/__sim/requests")

    def fault(self, **kw):
        self.call("POST", "/__sim/fault", kw)

    def clear_faults(self):
        self.call("DELETE", "/__sim/fault")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def http(method, url, body=None, timeout=15, raw=None, headers=None):
    """(status, text) of one HTTP request; body is JSON-encoded, raw is sent as is."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if data is not None and "Content-Type" not in (headers or {}):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
