#!/usr/bin/env python3
"""End to end: the hook's hardening, one test per finding of the review.

1. A role with only CREATE on the database cannot become superuser through the worker: objects it
   creates in a schema named "storcon" before the extension exists are never run or written by the
   (superuser) worker, and CREATE EXTENSION refuses the squatted schema.
2. With credentials configured, a request is refused on its headers: no "100 Continue", no body read.
3. No trust by address: POST /reconcile from this machine needs the credentials too; storcon.reconcile()
   reaches the worker through shared memory instead.
4. "\\u0000" in any string of a notification is a 400, and an audit record the table refuses is
   dropped and counted while the others are written.
5. TLS 1.2 or newer only; a private key readable by others is refused; a renewed certificate is
   picked up on reload.
7. An undo after a refused reload keeps a value someone else wrote meanwhile; a request path cannot
   forge log lines; a hook beyond loopback without credentials does not serve unless
   storcon.hook_auth = 'none'.
(6, the dot segments of storcon.api() paths, is SQL-side: test/regress/sql/paths.sql.)"""
import concurrent.futures
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Cluster, Session, Simulator, free_port, http, wait_until  # noqa: E402

TENANT = "4a4d0000000000000000000000000001"
TOKEN = "hardening-token"


def body(nodes, stripe=2048, tenant=TENANT, az=None):
    return {"tenant_id": tenant, "preferred_az": az, "stripe_size": stripe if len(nodes) > 1 else None,
            "shards": [{"node_id": n, "shard_number": i} for i, n in enumerate(nodes)]}


def conn(*nodes):
    return ",".join(f"postgres://no_user@127.0.0.1:{6400 + n}" for n in nodes)


def raw_request(port, data, read_timeout=3.0):
    """Sends raw bytes and returns what came back within read_timeout (bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        s.settimeout(read_timeout)
        out = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
        except socket.timeout:
            pass
        return out


class HardeningTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(args=["--seed-nodes", "4"])
        cls.port = free_port()
        cls.pg = Cluster("hardening", settings={"storcon.url": f"'{cls.sim.url}'", "storcon.hook_port": str(cls.port),
                                                "neon.tenant_id": f"'{TENANT}'", "storcon.sync_interval": "0"})
        cls.token_file = cls.pg.write_file("hook.token", TOKEN + "\n")
        cls.pg.append_conf({"storcon.hook_token_file": f"'{cls.token_file}'"})
        cls.pg.start()
        cls.url = f"http://127.0.0.1:{cls.port}"
        cls.auth = {"Authorization": f"Bearer {TOKEN}"}
        wait_until(lambda: http("GET", cls.url + "/healthz", timeout=2)[0] == 200, 20, what="hook")

    @classmethod
    def tearDownClass(cls):
        cls.pg.destroy()
        cls.sim.stop()

    def put(self, b, path="/notify-attach", headers=None):
        status, text = http("PUT", self.url + path, b, headers=self.auth if headers is None else headers)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def test_1_no_privilege_escalation_through_a_squatted_schema(self):
        pg = self.pg
        pg.psql("CREATE ROLE mallory LOGIN; GRANT CREATE ON DATABASE postgres TO mallory")
        # Before the extension exists, mallory makes what the worker of 0.1 looked up by name.
        trojan = "ALTER ROLE mallory SUPERUSER; SELECT 0"
        pg.psql(f"""
            CREATE SCHEMA storcon;
            CREATE TABLE storcon.nodes (node_id bigint);
            CREATE TABLE storcon.safekeepers (id bigint);
            CREATE TABLE storcon.notifications (id bigint);
            CREATE FUNCTION storcon._mirror_nodes(rows jsonb) RETURNS integer LANGUAGE sql AS $$ {trojan} $$;
            CREATE FUNCTION storcon._mirror_safekeepers(rows jsonb) RETURNS integer LANGUAGE sql AS $$ {trojan} $$;
            CREATE FUNCTION storcon._record_notifications(rows jsonb, n integer) RETURNS void LANGUAGE sql
                AS $$ ALTER ROLE mallory SUPERUSER $$;
        """, user="mallory")
        try:
            # The worker refreshes its catalog (an unknown node) and writes its audit log meanwhile.
            self.sim.call("POST", "/control/v1/node", {
                "node_id": 9, "listen_pg_addr": "127.0.0.9", "listen_pg_port": 6409,
                "listen_http_addr": "127.0.0.9", "listen_http_port": 9809, "availability_zone_id": "az-1"})
            status, reply = self.put(body([1, 9]))
            self.assertEqual(status, 200, reply)
            # A whole reconcile pass too (it writes the mirror before it answers). The audit record of
            # the notification above was written at the worker's first idle moment after answering
            # it, so before this request was even read.
            status, reply = http("POST", self.url + "/reconcile", headers=self.auth)
            self.assertEqual(status, 200, reply)
            self.assertEqual(pg.psql("SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'"), "f")
            # ... and the extension refuses to install into the squatted schema.
            r = pg.psql("CREATE EXTENSION pg_storcon", check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("storcon", r.stderr)
            self.assertEqual(pg.psql("SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'"), "f")
        finally:
            pg.psql("DROP SCHEMA storcon CASCADE; DROP OWNED BY mallory; REVOKE CREATE ON DATABASE postgres FROM mallory;"
                    " DROP ROLE mallory")
        pg.psql("CREATE EXTENSION pg_storcon")

    def test_2_refused_on_the_headers_before_the_body(self):
        payload = json.dumps(body([2])).encode()
        head = (f"PUT /notify-attach HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nExpect: 100-continue\r\n\r\n").encode()
        answer = raw_request(self.port, head)  # the body is never sent
        self.assertTrue(answer.startswith(b"HTTP/1.1 401"), answer[:200])
        self.assertNotIn(b"100 Continue", answer)
        # With the token, the same request gets its 100 Continue and is applied.
        head_ok = head.replace(b"Host: x\r\n", f"Host: x\r\nAuthorization: Bearer {TOKEN}\r\n".encode())
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(head_ok)
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 100"))
            s.sendall(payload)
            self.assertIn(b"200", s.recv(4096).split(b"\r\n")[0])

    def test_3_no_trust_by_address(self):
        status, _ = http("POST", self.url + "/reconcile")  # from 127.0.0.1, no credentials
        self.assertEqual(status, 401)
        status, text = http("POST", self.url + "/reconcile", headers=self.auth)
        self.assertEqual(status, 200, text)
        # storcon.reconcile() needs no HTTP at all (shared memory and the worker's latch).
        self.pg.psql("SELECT count(*) FROM storcon.reconcile()")

    def test_4_nul_is_refused_and_a_bad_audit_record_does_not_wedge_the_log(self):
        raw = json.dumps(body([3], az="az\u0000-1")).encode()
        self.assertIn(b"\\u0000", raw)
        status, text = http("PUT", self.url + "/notify-attach", raw=raw, headers=self.auth)
        self.assertEqual(status, 400, text)
        self.assertIn("u0000", json.loads(text)["msg"])
        # One record the table refuses (a trigger stands in for whatever a table may refuse).
        self.pg.psql("""
            CREATE FUNCTION public.refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.tenant_id = 'bad00000000000000000000000000000' THEN RAISE EXCEPTION 'refused'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_one BEFORE INSERT ON storcon.notifications
                FOR EACH ROW EXECUTE FUNCTION public.refuse_one();""")
        try:
            before = self.dropped()
            self.assertEqual(self.put(body([1], tenant="bad00000000000000000000000000000"))[0], 200)
            self.assertEqual(self.put(body([1], tenant="900d0000000000000000000000000000"))[0], 200)
            wait_until(lambda: self.pg.psql("SELECT count(*) FROM storcon.notifications "
                                            "WHERE tenant_id = '900d0000000000000000000000000000'") == "1",
                       10, what="the good record written")
            wait_until(lambda: self.dropped() == before + 1, 10, what="the bad record dropped and counted")
            self.assertEqual(self.pg.psql("SELECT count(*) FROM storcon.notifications "
                                          "WHERE tenant_id = 'bad00000000000000000000000000000'"), "0")
            # ... and later records still arrive.
            self.assertEqual(self.put(body([2], tenant="900d0000000000000000000000000001"))[0], 200)
            wait_until(lambda: self.pg.psql("SELECT count(*) FROM storcon.notifications "
                                            "WHERE tenant_id = '900d0000000000000000000000000001'") == "1",
                       10, what="the log keeps going")
        finally:
            self.pg.psql("DROP TRIGGER refuse_one ON storcon.notifications; DROP FUNCTION public.refuse_one()")

    def dropped(self):
        text = http("GET", self.url + "/metrics", headers=self.auth)[1]
        line = next(ln for ln in text.splitlines() if ln.startswith("pg_storcon_audit_dropped_total "))
        return int(line.split()[1])

    def test_7a_undo_keeps_what_someone_else_wrote_meanwhile(self):
        self.assertEqual(self.put(body([1]))[0], 200)
        self.pg.psql("ALTER SYSTEM RESET neon.stripe_size")
        self.pg.reload()
        admin = "postgres://no_user@127.0.0.1:6499"
        session = Session(self.pg)
        conf = self.pg.path("postgresql.conf")
        with open(conf, "rb") as f:
            conf_before = f.read()
        postmaster = self.pg.postmaster_pid()
        try:
            with open(conf, "ab") as f:  # every reload from now on applies nothing
                f.write(b"pg_storcon_fault_test = 'unterminated\n")
            os.kill(postmaster, signal.SIGSTOP)  # the reload of our write waits
            try:
                with concurrent.futures.ThreadPoolExecutor(1) as ex:
                    pending = ex.submit(self.put, body([2, 3], stripe=4096))
                    wait_until(lambda: b"postgres://no_user@127.0.0.1:6402" in self.pg.auto_conf(), 5,
                               what="our write")
                    session.run(f"ALTER SYSTEM SET neon.pageserver_connstring = '{admin}'")  # an administrator
                    os.kill(postmaster, signal.SIGCONT)
                    status, reply = pending.result(timeout=15)
            finally:
                os.kill(postmaster, signal.SIGCONT)
            self.assertEqual(status, 503, reply)
            text = self.pg.auto_conf().decode()
            self.assertIn(admin, text)                  # kept: no longer ours
            self.assertNotIn("neon.stripe_size", text)  # undone: still ours
        finally:
            with open(conf, "wb") as f:
                f.write(conf_before)
            session.run("ALTER SYSTEM RESET neon.pageserver_connstring")
            session.close()
            self.pg.reload()

    def test_7b_request_paths_cannot_forge_log_lines(self):
        offset = len(self.pg.log())
        # storcon's paths may carry any prefix, so this one reaches the authentication (and its log line)
        forged = b"PUT /x%0AFATAL:%20forged%20line/notify-attach HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"

        def refused_and_logged():
            answer = raw_request(self.port, forged, 2.0)
            return answer.startswith(b"HTTP/1.1 401") and "refused PUT /x" in self.pg.log()[offset:]
        wait_until(refused_and_logged, 30, interval=0.5, what="the refusal answered and logged")
        lines = self.pg.log()[offset:].splitlines()
        self.assertFalse(any(ln.startswith("FATAL:  forged") or ln.startswith("FATAL: forged") for ln in lines), lines)
        self.assertTrue(any("\\x0aFATAL: forged line" in ln for ln in lines), lines)


class UnauthenticatedBeyondLoopbackTest(unittest.TestCase):
    def test_does_not_serve_unless_chosen(self):
        sim = Simulator(args=["--seed-nodes", "1"])
        port = free_port()
        pg = Cluster("open_hook", settings={"storcon.url": f"'{sim.url}'", "storcon.hook_port": str(port),
                                            "storcon.hook_listen_addr": "'0.0.0.0'", "storcon.sync_interval": "0"})
        try:
            pg.start()
            wait_until(lambda: "does not serve until then" in pg.log(), 20, what="the refusal in the log")
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
            pg.psql("ALTER SYSTEM SET storcon.hook_auth = 'none'")
            pg.reload()
            wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/healthz", timeout=2)[0] == 200, 20,
                       what="served once chosen")
            st = json.loads(http("GET", f"http://127.0.0.1:{port}/status")[1])
            self.assertIn("hook_auth", st["warning"])
        finally:
            pg.destroy()
            sim.stop()


class TlsFloorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pg_storcon_tls_floor_")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def make_cert(self, name, cn):
        key, crt = os.path.join(self.tmp, name + ".key"), os.path.join(self.tmp, name + ".pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", crt, "-days", "1", "-subj", f"/CN={cn}",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        return open(crt).read(), open(key).read()

    def served_cn(self, port):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            with ctx.wrap_socket(s) as t:
                der = t.getpeercert(binary_form=True)
        out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject"], input=der,
                             capture_output=True, check=True).stdout.decode()
        return out.strip()

    def handshake(self, port, version):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = version
        ctx.maximum_version = version
        try:
            ctx.set_ciphers("ALL:@SECLEVEL=0")  # let the client offer old protocols at all
        except ssl.SSLError:
            pass
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            with ctx.wrap_socket(s):
                return True

    def test_tls_floor_key_permissions_and_renewal(self):
        port = free_port()
        pg = Cluster("tls_floor", settings={"storcon.hook_port": str(port), "storcon.sync_interval": "0"})
        cert, key = self.make_cert("one", "first-cert")
        cert_file = pg.write_file("hook.pem", cert, mode=0o644)
        key_file = pg.write_file("hook.key", key, mode=0o644)  # readable by others: refused
        pg.append_conf({"storcon.hook_tls_cert_file": f"'{cert_file}'", "storcon.hook_tls_key_file": f"'{key_file}'"})
        try:
            pg.start()
            wait_until(lambda: "must not be accessible to others" in pg.log(), 20, what="the key refused")
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
            os.chmod(key_file, 0o600)
            pg.restart()
            wait_until(lambda: self.handshake(port, ssl.TLSVersion.TLSv1_2), 20, what="https hook")
            self.assertTrue(self.handshake(port, ssl.TLSVersion.TLSv1_3))
            for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
                with self.assertRaises((ssl.SSLError, OSError)) as refused:
                    self.handshake(port, old)
                # refused by the server, not by this client's own OpenSSL
                self.assertNotIn("NO_PROTOCOLS_AVAILABLE", str(refused.exception).upper())
            self.assertIn("first-cert", self.served_cn(port))
            # A renewed certificate (same file names) is picked up by a reload, no restart.
            cert2, key2 = self.make_cert("two", "renewed-cert")
            pg.write_file("hook.pem", cert2, mode=0o644)
            pg.write_file("hook.key", key2, mode=0o600)
            pg.reload()
            wait_until(lambda: "renewed-cert" in self.served_cn(port), 20, what="the renewed certificate served")
        finally:
            pg.destroy()


if __name__ == "__main__":
    unittest.main(verbosity=2)
