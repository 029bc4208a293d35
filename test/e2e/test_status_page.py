#!/usr/bin/env python3
"""End to end in a real browser: headless Chromium (Debian's `chromium`, installed by scripts/setup)
loads the hook's status page (GET /) before and after storcon moves a shard to another pageserver.
The rendered DOM shows the shard on its new pageserver and the move in the timeline with the
forwarded compute's result; hostile values (a pageserver's availability zone, a notification
body) appear as text and inject nothing; the page's own script and style run under its CSP, which
refuses nothing of them; the page refreshes itself from /status, and says plainly when storcon is
unreachable. Screenshots are kept under $PG_STORCON_ARTIFACTS (default /tmp/pg_storcon_artifacts)
and their paths printed. Without chromium the test fails: it is not optional."""
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Cluster, Simulator, free_port, http, wait_until  # noqa: E402

TENANT = "5a9e0000000000000000000000000001"
TIMELINE = "5a9e0000000000000000000000000002"
OTHER = "00000000000000000000000000000077"
# Would set the title, add an element or an attribute if it ever became markup or code.
HOSTILE = "</script><script>document.title='pwned'</script><img src=x onerror=document.body.dataset.pwned=1><!--"
HOSTILE_AZ = "az-<b id=\"pwned\">9</b><svg onload=\"document.title='pwned'\">"
ARTIFACTS = os.environ.get("PG_STORCON_ARTIFACTS", "/tmp/pg_storcon_artifacts")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def all(self, pred=lambda n: True):
        for c in self.children:
            if isinstance(c, Node):
                if pred(c):
                    yield c
                yield from c.all(pred)

    def first(self, pred):
        return next(self.all(pred), None)

    def classes(self):
        return (self.attrs.get("class") or "").split()


class DomParser(html.parser.HTMLParser):
    """The serialized DOM Chromium dumps, as a tree (Chromium writes it well-formed)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse_dom(text):
    p = DomParser()
    p.feed(text)
    p.close()
    return p.root


class StatusPageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.chromium = shutil.which("chromium")
        if cls.chromium is None:
            raise AssertionError("chromium is not installed: scripts/setup installs Debian's chromium package")
        os.makedirs(ARTIFACTS, exist_ok=True)
        cls.sim = Simulator(args=["--seed-nodes", "3", "--seed-safekeepers", "3"])
        # A pageserver whose availability zone is markup: the page must show it as text.
        status, answer = cls.sim.call("POST", "/control/v1/node", {
            "node_id": 9, "listen_pg_addr": "127.0.0.1", "listen_pg_port": 6409, "listen_http_addr": "127.0.0.1",
            "listen_http_port": 9809, "availability_zone_id": HOSTILE_AZ})
        assert status == 200, answer
        status, answer = cls.sim.call("POST", "/v1/tenant", {"new_tenant_id": TENANT,
                                                             "shard_parameters": {"count": 2, "stripe_size": 4096}})
        assert status == 201, answer
        assert cls.sim.call("POST", f"/v1/tenant/{TENANT}/timeline", {"new_timeline_id": TIMELINE})[0] == 201
        cls.port = free_port()
        cls.dead = free_port()  # a second compute of the tenant that is not running
        cls.pg = Cluster("status_page", settings={
            "storcon.url": f"'{cls.sim.url}'", "storcon.hook_port": str(cls.port),
            "storcon.hook_forward_to": f"'http://127.0.0.1:{cls.dead}/'",
            "neon.tenant_id": f"'{TENANT}'", "neon.timeline_id": f"'{TIMELINE}'",
        })
        cls.pg.start()
        cls.pg.psql("CREATE EXTENSION neon_stub; CREATE EXTENSION pg_storcon")
        cls.url = f"http://127.0.0.1:{cls.port}"
        wait_until(lambda: http("GET", cls.url + "/healthz", timeout=2)[0] == 200, 20, what="hook")
        cls.sim.call("POST", "/__sim/config", {"control_plane_url": cls.url})
        cls.pg.poll("SHOW neon.pageserver_connstring", cls.expected(), timeout=20)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "pg", None):
            cls.pg.destroy()
        if getattr(cls, "sim", None):
            cls.sim.stop()

    @classmethod
    def placement(cls):
        """{shard number: node id} as storcon has it."""
        shards = cls.sim.call("GET", f"/control/v1/tenant/{TENANT}")[1]["shards"]
        return {int(s["tenant_shard_id"][33:35], 16): s["node_attached"] for s in shards}

    @classmethod
    def expected(cls):
        return ",".join(f"postgres://no_user@127.0.0.1:{6400 + n}" for _, n in sorted(cls.placement().items()))

    def settled(self):
        """Waits until the hook has answered everything it received (nothing pending or applying)."""
        def idle():
            st = json.loads(http("GET", self.url + "/status")[1])
            return st["pending"] == 0 and not st["applying"] and not st["reconcile"]["running"]
        wait_until(idle, 15, what="the hook idle")

    # ---- the browser ------------------------------------------------------------------------
    def browse(self, *, screenshot=None, budget_ms=3000):
        """Loads the page in a fresh headless Chromium; the parsed DOM, or None for a screenshot."""
        profile = tempfile.mkdtemp(prefix="pg_storcon_chromium_")
        try:
            cmd = [self.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--window-size=1400,1500",
                   "--enable-logging=stderr", "--v=0",
                   f"--screenshot={screenshot}" if screenshot else "--dump-dom", self.url + "/"]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=profile)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        # The page's console: the CSP refused nothing (its own script and style are exactly what
        # its hashes allow, and nothing else tried to run) and no script error was thrown.
        console = [line for line in r.stderr.splitlines() if ":CONSOLE" in line]
        self.assertEqual([line for line in console if "Content Security Policy" in line or "Uncaught" in line], [])
        if screenshot:
            self.assertGreater(os.path.getsize(screenshot), 10000)
            print(f"\nstatus page screenshot: {screenshot}", flush=True)
            return None
        dom = parse_dom(r.stdout)
        body = dom.first(lambda n: n.tag == "body")
        self.assertIsNotNone(body, r.stdout[:2000])
        self.assertEqual(body.attrs.get("data-rendered"), "yes", r.stdout[:3000])
        self.assert_no_injection(dom, r.stdout)
        return dom

    def assert_no_injection(self, dom, raw):
        title = dom.first(lambda n: n.tag == "title")
        self.assertNotIn("pwned", title.text() if title else "")
        self.assertIsNone(dom.first(lambda n: n.tag == "img"))
        self.assertIsNone(dom.first(lambda n: n.attrs.get("id") == "pwned"))
        self.assertIsNone(dom.first(lambda n: "data-pwned" in n.attrs))
        self.assertIsNone(dom.first(lambda n: any(k.startswith("on") for k in n.attrs)))
        scripts = list(dom.all(lambda n: n.tag == "script"))
        self.assertEqual([s.attrs.get("type") for s in scripts], ["application/json", None], raw[:3000])

    @staticmethod
    def shards(dom):
        return {int(g.attrs["data-shard"]): g for g in dom.all(lambda n: n.tag == "g" and "shard" in n.classes())}

    @staticmethod
    def pageservers(dom):
        return {g.attrs["data-node"]: g for g in dom.all(lambda n: n.tag == "g" and "pageserver" in n.classes())}

    @staticmethod
    def timeline(dom):
        return list(dom.all(lambda n: n.tag == "li" and "ev" in n.classes()))

    # ---- tests ------------------------------------------------------------------------------
    def test_1_headers(self):
        with urllib.request.urlopen(self.url + "/", timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertEqual(r.headers["Content-Type"], "text/html; charset=utf-8")
            self.assertEqual(r.headers["X-Content-Type-Options"], "nosniff")
            csp = r.headers["Content-Security-Policy"]
            page = r.read().decode()
        self.assertIn("default-src 'none'", csp)
        self.assertIn("connect-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertNotIn("unsafe-inline", csp)
        # The page embeds what /status says (one source of truth).
        data = page.split('<script type="application/json" id="status-data">', 1)[1].split("</script>", 1)[0]
        self.assertEqual(json.loads(data)["shard_map"], json.loads(http("GET", self.url + "/status")[1])["shard_map"])

    def test_2_a_migration_changes_the_picture(self):
        before = self.placement()
        dom = self.browse()
        shards = self.shards(dom)
        self.assertEqual({k: int(g.attrs["data-node"]) for k, g in shards.items()}, before)
        ps = self.pageservers(dom)
        self.assertEqual(set(ps), {str(n) for n in before.values()})
        for node in before.values():
            self.assertIn(f"127.0.0.1:{6400 + node}", ps[str(node)].text())
        self.assertIn("4096 pages", dom.first(lambda n: n.attrs.get("id") == "stripe").text())
        self.assertIn("generation 1", dom.first(lambda n: n.attrs.get("id") == "safekeepers").text())
        self.assertIsNone(ps.get("9"))
        self.browse(screenshot=os.path.join(ARTIFACTS, "status_page_before.png"))

        # storcon moves shard 1 to pageserver 9 and tells the hook (notify-attach)
        old = before[1]
        status, answer = self.sim.call("PUT", f"/control/v1/tenant/{TENANT}-0102/migrate", {
            "node_id": 9, "migration_config": {"override_scheduler": True, "prewarm": False}})
        self.assertEqual(status, 200, answer)
        self.pg.poll("SHOW neon.pageserver_connstring", self.expected(), timeout=30)
        self.assertEqual(self.placement()[1], 9)
        self.settled()

        dom = self.browse()
        shards = self.shards(dom)
        self.assertEqual(shards[1].attrs["data-node"], "9")
        self.assertEqual(shards[0].attrs["data-node"], str(before[0]))
        self.assertIn(f"moved from ps {old}", shards[1].text())
        ps = self.pageservers(dom)
        self.assertIn("9", ps)
        self.assertIn("127.0.0.1:6409", ps["9"].text())
        # the hostile zone is shown as text, in full in the tooltip
        self.assertIn(HOSTILE_AZ, ps["9"].first(lambda n: n.tag == "title").text())
        self.assertEqual(str(old) in ps, before[0] == old)  # drawn only while it serves a shard
        newest = next(li for li in self.timeline(dom)
                      if (li.attrs["data-kind"], li.attrs["data-outcome"]) == ("notify-attach", "applied"))
        text = newest.text()
        self.assertIn(f"shard 1: pageserver {old} \u2192 pageserver 9", text)
        self.assertIn("HTTP 200", text)
        self.assertIn("forwarded to", text)
        self.assertIn(f"127.0.0.1:{self.dead}", text)
        self.assertIn("not running", text)
        health = dom.first(lambda n: n.attrs.get("id") == "health")
        self.assertEqual(health.attrs["data-level"], "ok", health.text())

    def test_3_hostile_notifications_are_text(self):
        status, _ = http("PUT", self.url + "/notify-attach", {
            "tenant_id": OTHER, "preferred_az": HOSTILE, "stripe_size": None,
            "shards": [{"node_id": 1, "shard_number": 0}]})
        self.assertEqual(status, 200)
        status, _ = http("PUT", self.url + "/notify-attach", raw=json.dumps({"tenant_id": HOSTILE}).encode())
        self.assertEqual(status, 400)
        dom = self.browse()
        rejected = next(li for li in self.timeline(dom) if li.attrs["data-outcome"] == "rejected")
        foreign = next(li for li in self.timeline(dom) if li.attrs["data-outcome"] == "not_hosted")
        self.assertIn("HTTP 400", rejected.text())
        self.assertIn(HOSTILE, rejected.text())  # the body, as text
        self.assertIn("preferred AZ " + HOSTILE, foreign.text())
        self.browse(screenshot=os.path.join(ARTIFACTS, "status_page.png"))

    def test_4_refreshes_itself_from_status(self):
        # Chromium's virtual clock runs the page's timers: it fetches /status again and redraws.
        dom = self.browse(budget_ms=12000)
        body = dom.first(lambda n: n.tag == "body")
        self.assertGreaterEqual(int(body.attrs.get("data-refreshes", "0")), 1)
        self.assertEqual(body.attrs.get("data-fetch-errors"), "0")
        self.assertIn("live, updated", dom.first(lambda n: n.attrs.get("id") == "live").text())

    def test_5_says_when_storcon_is_unreachable(self):
        self.sim.stop()
        status, text = http("POST", self.url + "/reconcile", timeout=30)
        self.assertEqual(status, 503, text)
        st = json.loads(http("GET", self.url + "/status")[1])["reconcile"]
        self.assertGreaterEqual(st["failures_in_a_row"], 1)
        dom = self.browse()
        health = dom.first(lambda n: n.attrs.get("id") == "health")
        self.assertEqual(health.attrs["data-level"], "bad")
        self.assertEqual(health.first(lambda n: n.tag == "h2").text(), "storcon is unreachable")
        self.assertIn(st["last_error"], health.text())
        self.assertIn("failed", health.text())
        reconcile = dom.first(lambda n: n.attrs.get("id") == "reconcile")
        self.assertIn("failing", reconcile.text())
        self.assertIn(st["last_error"], dom.first(lambda n: n.attrs.get("id") == "storcon-said").text())
        self.browse(screenshot=os.path.join(ARTIFACTS, "status_page_storcon_unreachable.png"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
