// The status page's stylesheet and script, kept apart from the C++ that assembles the page
// (status_page.cpp) so that each can be read on its own. Both are inlined into the page and allowed
// by the Content-Security-Policy through their SHA-256 hashes, so any edit here changes the hashes;
// status_page.cpp computes them, nothing is to be updated by hand.
//
// Rules the script keeps, because the data it shows comes from storcon, the catalog and anyone who
// can send the hook a request: it builds the DOM with createElement / createElementNS and sets text
// with textContent only (never innerHTML, never an attribute from data other than numbers and
// data-* values), and it sets no inline style (the CSP would refuse it): colours are classes.
#include "control/status_page.hpp"

namespace storcon {

namespace {

constexpr std::string_view kStyle = R"css(
:root{--bg:#f3f5f8;--card:#fff;--ink:#18212f;--muted:#5f6b7c;--line:#e1e6ee;
--ok:#0f7b55;--okbg:#e6f5ee;--okline:#b5e2cd;--warn:#8a5a00;--warnbg:#fff3d1;--warnline:#f1d48a;
--bad:#b3261e;--badbg:#fde9e7;--badline:#f3b8b2;--info:#3d4b5f;--infobg:#eef1f5;
--mono:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
.mono{font-family:var(--mono);font-size:12.5px}
.muted{color:var(--muted)}
header.top{background:#111827;color:#f8fafc;padding:12px 24px;display:flex;align-items:center;gap:18px;flex-wrap:wrap}
header.top h1{font-size:17px;margin:0;font-weight:650;letter-spacing:.01em}
header.top h1 .sub{color:#94a3b8;font-weight:400}
header.top .ids{font-family:var(--mono);font-size:12px;color:#cbd5e1}
header.top .live{margin-left:auto;font-size:12.5px;color:#cbd5e1;display:flex;align-items:center;gap:7px}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;background:#22c55e}
.live.stale .dot{background:#f59e0b}
.live.down .dot{background:#ef4444}
main{max-width:1320px;margin:0 auto;padding:18px 24px 48px;display:grid;gap:16px;
grid-template-columns:minmax(0,3fr) minmax(0,2fr);align-items:start}
.col{display:grid;gap:16px;min-width:0}
.full{grid-column:1/-1}
.banner{border-radius:12px;padding:14px 18px;display:flex;gap:14px;align-items:flex-start;border:1px solid}
.banner .icon{font-size:24px;line-height:1.1;font-weight:700;width:28px;text-align:center}
.banner h2{margin:0;font-size:18px;line-height:1.3}
.banner p{margin:4px 0 0}
.banner ul{margin:6px 0 0;padding-left:18px}
.banner.ok{background:var(--okbg);border-color:var(--okline);color:#0a4a34}
.banner.warn{background:var(--warnbg);border-color:var(--warnline);color:#5c3c00}
.banner.bad{background:var(--badbg);border-color:var(--badline);color:#7a1510}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:14px 18px;min-width:0}
.card h3{margin:0 0 12px;font-size:12px;text-transform:uppercase;letter-spacing:.08em;color:var(--muted);
display:flex;align-items:baseline;gap:10px;flex-wrap:wrap}
.card h3 .aside{text-transform:none;letter-spacing:0;font-size:13px;color:var(--ink);font-weight:600}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:10px 22px}
.fact.wide{grid-column:span 2}
.fact .k{color:var(--muted);font-size:12px}
.fact .v{font-weight:600;overflow-wrap:anywhere}
.fact .v.mono{font-weight:500}
.pill{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:600;
border:1px solid transparent;white-space:nowrap}
.pill.ok{background:var(--okbg);color:var(--ok);border-color:var(--okline)}
.pill.warn{background:var(--warnbg);color:var(--warn);border-color:var(--warnline)}
.pill.bad{background:var(--badbg);color:var(--bad);border-color:var(--badline)}
.pill.info{background:var(--infobg);color:var(--info);border-color:var(--line)}
.map svg{display:block;width:100%;height:auto}
.map .caption{display:flex;gap:8px 18px;flex-wrap:wrap;margin-bottom:8px;color:var(--muted)}
.map .caption b{color:var(--ink)}
.empty{padding:18px;border:1px dashed var(--line);border-radius:10px;color:var(--muted);text-align:center}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;fill:#18212f}
svg text.small{font-size:11.5px;fill:#475467}
svg text.mono{font-family:var(--mono);font-size:11.5px;fill:#344054}
svg text.title{font-size:13px;font-weight:700}
svg text.shardlabel{font-size:12.5px;font-weight:600}
svg text.moved{font-size:11px;font-weight:700;fill:#c2410c}
svg .shardbox{stroke-width:1.5}
svg .shardbox.movedbox{stroke:#c2410c;stroke-width:2.5;stroke-dasharray:6 3}
svg .psbox{stroke-width:2}
svg .link{fill:none;stroke-width:2.2;opacity:.85}
svg .colhead{font-size:11px;font-weight:700;fill:#5f6b7c;letter-spacing:.08em}
.c0{fill:#e3efff;stroke:#2563eb}.link.c0{stroke:#2563eb}
.c1{fill:#e4f6ec;stroke:#15803d}.link.c1{stroke:#15803d}
.c2{fill:#f1e8fd;stroke:#7e22ce}.link.c2{stroke:#7e22ce}
.c3{fill:#e0f5f7;stroke:#0e7490}.link.c3{stroke:#0e7490}
.c4{fill:#fde7f0;stroke:#be185d}.link.c4{stroke:#be185d}
.c5{fill:#fbf3d9;stroke:#a16207}.link.c5{stroke:#a16207}
.c6{fill:#e8eafd;stroke:#4338ca}.link.c6{stroke:#4338ca}
.c7{fill:#eef6dc;stroke:#4d7c0f}.link.c7{stroke:#4d7c0f}
.c8{fill:#e2f3f0;stroke:#0f766e}.link.c8{stroke:#0f766e}
.c9{fill:#f3e6f5;stroke:#a21caf}.link.c9{stroke:#a21caf}
.c10{fill:#eceae6;stroke:#78593a}.link.c10{stroke:#78593a}
.c11{fill:#e6edf5;stroke:#334e68}.link.c11{stroke:#334e68}
.cx{fill:#f2f4f7;stroke:#667085}.link.cx{stroke:#98a2b3}
.sks{display:flex;flex-wrap:wrap;gap:10px}
.sk{border:1px solid var(--line);border-left:4px solid #0e7490;border-radius:8px;padding:7px 12px;min-width:150px;max-width:100%}
.sk .name{font-weight:700}
.sk.unknown{border-left-color:#98a2b3}
.gen{font-size:20px;font-weight:700}
.rows{display:grid;grid-template-columns:auto 1fr;gap:6px 16px;align-items:baseline}
.rows .k{color:var(--muted);font-size:12.5px;white-space:nowrap}
.rows .v{overflow-wrap:anywhere}
.said{margin-top:10px;padding:9px 12px;border-radius:8px;background:var(--infobg);overflow-wrap:anywhere}
.said.bad{background:var(--badbg);color:#7a1510}
.counters{display:flex;flex-wrap:wrap;gap:6px;margin-top:10px}
ol.timeline{list-style:none;margin:0;padding:0;position:relative}
ol.timeline::before{content:"";position:absolute;left:88px;top:6px;bottom:6px;width:2px;background:var(--line)}
.ev{display:grid;grid-template-columns:80px 18px minmax(0,1fr);gap:0 8px;padding:6px 0}
.ev .when{text-align:right;line-height:1.25}
.ev .when .t{font-family:var(--mono);font-size:12.5px;font-weight:600}
.ev .when .ago{display:block;font-size:11.5px;color:var(--muted)}
.ev .mark{width:12px;height:12px;border-radius:50%;margin:4px 0 0 3px;border:2px solid #fff;position:relative;
background:#98a2b3;box-shadow:0 0 0 1px #98a2b3}
.ev.ok .mark{background:#12a06d;box-shadow:0 0 0 1px #12a06d}
.ev.warn .mark{background:#e3a008;box-shadow:0 0 0 1px #e3a008}
.ev.bad .mark{background:#d93025;box-shadow:0 0 0 1px #d93025}
.ev .head{display:flex;flex-wrap:wrap;gap:6px 8px;align-items:center}
.ev .kind{font-weight:700}
.ev .meta{color:var(--muted);font-size:12.5px}
.ev .sum{margin-top:2px;overflow-wrap:anywhere}
.ev .sum.setting{font-family:var(--mono);font-size:12px;color:#344054}
.ev .detail{margin-top:2px;color:var(--muted);font-size:12.5px;overflow-wrap:anywhere}
.ev .body{margin-top:3px;font-family:var(--mono);font-size:11.5px;color:#475467;background:var(--infobg);
border-radius:6px;padding:3px 7px;overflow-wrap:anywhere}
.ev ul.fwd{margin:4px 0 0;padding:0;list-style:none}
.ev ul.fwd li{font-size:12.5px;display:flex;gap:6px;flex-wrap:wrap;align-items:center;overflow-wrap:anywhere}
.move{color:#c2410c;font-weight:700}
footer{grid-column:1/-1;color:var(--muted);font-size:12px;text-align:center}
footer a{color:inherit}
@media (max-width:900px){main{grid-template-columns:minmax(0,1fr)}}
)css";

constexpr std::string_view kScript = R"js(
(function () {
  'use strict';
  var REFRESH_MS = 5000;
  var PALETTE = 12;
  var SVGNS = 'http://www.w3.org/2000/svg';
  var app = document.getElementById('app');
  var st = {at: 0, refreshes: 0, errors: 0, fetchError: null, prevMap: null, liveMoves: {}};

  // ---- DOM helpers: text only, never markup ------------------------------------------------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function put(parent, child) { parent.appendChild(child); return child; }
  function sv(tag, attrs, cls, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, String(attrs[k]));
    if (cls) e.setAttribute('class', cls);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function pill(text, level) { return el('span', 'pill ' + (level || 'info'), text); }
  function fact(parent, k, v, mono, wide) {
    var f = put(parent, el('div', wide ? 'fact wide' : 'fact'));
    put(f, el('div', 'k', k));
    var vv = put(f, el('div', 'v' + (mono ? ' mono' : '')));
    if (v instanceof Node) vv.appendChild(v); else vv.textContent = (v === null || v === undefined || v === '') ? '\u2014' : String(v);
    return vv;
  }
  function row(parent, k, v) {
    put(parent, el('div', 'k', k));
    var vv = put(parent, el('div', 'v'));
    if (v instanceof Node) vv.appendChild(v); else vv.textContent = String(v);
    return vv;
  }
  function clip(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + '\u2026' : s; }
  function num(x) { return typeof x === 'number' && isFinite(x); }
  function str(x) { return typeof x === 'string' ? x : ''; }

  // ---- formatting ---------------------------------------------------------------------------
  function ago(seconds) {
    if (!num(seconds)) return 'never';
    var s = Math.max(0, Math.round(seconds));
    if (s < 2) return 'just now';
    if (s < 90) return s + ' s ago';
    var m = Math.round(s / 60);
    if (m < 90) return m + ' min ago';
    var h = Math.floor(m / 60);
    if (h < 48) return h + ' h ' + (m % 60) + ' min ago';
    return Math.floor(h / 24) + ' d ago';
  }
  function span(seconds) {
    var s = Math.max(0, Math.round(seconds));
    if (s < 90) return s + ' s';
    var m = Math.floor(s / 60);
    if (m < 90) return m + ' min';
    var h = Math.floor(m / 60);
    if (h < 48) return h + ' h ' + (m % 60) + ' min';
    return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
  }
  function ms(x) {
    if (!num(x)) return '';
    if (x < 1) return x.toFixed(2) + ' ms';
    if (x < 1000) return x.toFixed(x < 10 ? 1 : 0) + ' ms';
    return (x / 1000).toFixed(1) + ' s';
  }
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function clock(unix) {
    var d = new Date(unix * 1000), now = new Date();
    var t = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    if (d.toDateString() === now.toDateString()) return t;
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + t;
  }
  function stripe(pages) {
    if (!num(pages)) return null;
    var bytes = pages * 8192, unit = ' KiB', v = bytes / 1024;
    if (v >= 1024) { v /= 1024; unit = ' MiB'; }
    if (v >= 1024) { v /= 1024; unit = ' GiB'; }
    return pages + ' pages (' + (Math.round(v * 10) / 10) + unit + ')';
  }
  function shortId(id) { id = str(id); return id.length > 12 ? id.slice(0, 6) + '\u2026' + id.slice(-4) : id; }
  function hostPort(h, p) { h = str(h); return (h.indexOf(':') >= 0 ? '[' + h + ']' : h) + ':' + p; }
  function psName(node) { return num(node) ? 'pageserver ' + node : 'unknown pageserver'; }
  function shortUrl(u) { return str(u).replace(/^[a-z]+:\/\/([^@/]*@)?/i, ''); }

  // ---- what the data says -------------------------------------------------------------------
  function level(rec) {
    var s = rec.http_status, o = str(rec.outcome);
    if (!num(s) || s >= 500 || s === 400) return 'bad';
    if (s >= 400) return 'warn';
    if (o === 'applied' || o === 'forwarded' || o === 'recorded') return 'ok';
    return 'info';
  }
  function transportError(msg) {
    return /connect|resolve|timed? ?out|timeout|refused|unreachable|reset|ssl|tls|certificate/i.test(str(msg));
  }
  function mine(d, rec) { return !rec.tenant_id || !d.tenant_id || rec.tenant_id === d.tenant_id; }
  // A pageserver as a record names it: by node id (a notify-attach body) or by address (a
  // reconcile's connstring). Ids and addresses are matched through the current shard map, which
  // knows both for the pageservers in use; null when a pair cannot be told apart.
  function refIndex(d) {
    var idx = {addrOf: {}, idOf: {}};
    (Array.isArray(d.shard_map) ? d.shard_map : []).forEach(function (s) {
      if (!num(s.node_id)) return;
      idx.addrOf[s.node_id] = hostPort(s.host, s.port);
      idx.idOf[hostPort(s.host, s.port)] = s.node_id;
    });
    return idx;
  }
  function sameRef(a, b, idx) {
    if (num(a.id) && num(b.id)) return a.id === b.id;
    var x = a.addr || (num(a.id) ? idx.addrOf[a.id] : null), y = b.addr || (num(b.id) ? idx.addrOf[b.id] : null);
    return x && y ? x === y : null;
  }
  function refName(ref, idx, short) {
    var id = num(ref.id) ? ref.id : ref.addr ? idx.idOf[ref.addr] : undefined;
    if (num(id)) return (short ? 'ps ' : 'pageserver ') + id;
    return ref.addr ? clip(ref.addr, short ? 18 : 60) : '?';
  }
  function placementOf(rec) {
    var b = rec.body;
    if (!b || typeof b !== 'object' || !Array.isArray(b.shards)) return null;
    var out = [];
    for (var i = 0; i < b.shards.length; i++) {
      var s = b.shards[i];
      if (!s || !num(s.shard_number) || !num(s.node_id) || s.shard_number < 0 || s.shard_number >= b.shards.length) return null;
      out[s.shard_number] = {id: s.node_id};
    }
    for (var j = 0; j < out.length; j++) if (!out[j]) return null;
    return out;
  }
  function connstringChange(rec) {
    if (!Array.isArray(rec.body)) return null;
    for (var i = 0; i < rec.body.length; i++) {
      var c = rec.body[i];
      if (c && c.setting === 'neon.pageserver_connstring') return c;
    }
    return null;
  }
  function addrs(connstring) {
    connstring = str(connstring);
    return connstring ? connstring.split(',').map(function (u) { return {addr: shortUrl(u)}; }) : null;
  }
  function diff(before, after, idx) {
    if (!before || !after || before.length !== after.length) return null;
    var moved = [];
    for (var s = 0; s < after.length; s++)
      if (sameRef(before[s], after[s], idx) === false) moved.push({shard: s, from: before[s], to: after[s]});
    return moved.length ? moved : null;
  }
  // Walks the recent records (oldest first) and tells, for every applied change of this tenant's
  // shard map, which shards it moved from which pageserver; also the newest such move.
  function movesFromRecent(d) {
    var recent = Array.isArray(d.recent) ? d.recent : [], idx = refIndex(d);
    var known = null, byRecord = [], last = null;
    for (var i = 0; i < recent.length; i++) {
      var r = recent[i];
      if (!r || typeof r !== 'object') continue;
      if (!(num(r.http_status) && r.http_status >= 200 && r.http_status < 300)) continue;
      var moved = null, o = str(r.outcome);
      if (r.kind === 'reconcile') {
        var ch = connstringChange(r);
        if (!ch) continue;
        moved = diff(addrs(ch.old_value), addrs(ch.new_value), idx);
        known = addrs(ch.new_value);
      } else if (r.kind === 'notify-attach' && mine(d, r) && (o === 'applied' || o === 'unchanged' || o === 'forwarded')) {
        var p = placementOf(r);
        if (!p) continue;
        if (o === 'applied') moved = diff(known, p, idx);
        known = p;
      } else {
        continue;
      }
      if (moved) { byRecord[i] = moved; last = {at: r.received_at, moved: moved}; }
    }
    return {byRecord: byRecord, last: last, idx: idx};
  }
  function colours(map) {
    // A stable colour per pageserver: its id modulo the palette, the next free one on a clash.
    var ids = [], seen = {}, out = {};
    map.forEach(function (s) { if (num(s.node_id) && !seen[s.node_id]) { seen[s.node_id] = 1; ids.push(s.node_id); } });
    ids.sort(function (a, b) { return a - b; });
    var used = {};
    ids.forEach(function (id) {
      var c = ((id % PALETTE) + PALETTE) % PALETTE, n = 0;
      while (used[c] && n < PALETTE) { c = (c + 1) % PALETTE; n++; }
      used[c] = 1;
      out[id] = 'c' + c;
    });
    return out;
  }
  function psKey(s) { return num(s.node_id) ? 'n' + s.node_id : 'h' + hostPort(s.host, s.port); }

  // ---- sections -----------------------------------------------------------------------------
  function health(d) {
    var bad = [], warn = [], r = d.reconcile || {};
    if (d.problem) bad.push({h: 'The hook is not serving', p: str(d.problem)});
    if (num(r.failures_in_a_row) && r.failures_in_a_row > 0) {
      var n = r.failures_in_a_row + (r.failures_in_a_row === 1 ? ' attempt' : ' attempts in a row');
      bad.push({h: transportError(r.last_error) ? 'storcon is unreachable' : 'Reconciling with storcon fails',
                p: n + ' failed. storcon said: ' + (str(r.last_error) || 'no error text') +
                   '. Last success: ' + (num(r.seconds_since_success) ? ago(r.seconds_since_success) : 'never') +
                   (num(r.next_in_seconds) ? '; next try in ' + span(r.next_in_seconds) + '.' : '.')});
    }
    var recent = Array.isArray(d.recent) ? d.recent : [];
    var lastRec = recent.length ? recent[recent.length - 1] : null;
    if (lastRec && num(lastRec.http_status) && lastRec.http_status >= 500)
      bad.push({h: 'The last notification failed (HTTP ' + lastRec.http_status + ')', p: str(lastRec.detail)});
    if (!num(r.seconds_since_success) && !(num(r.failures_in_a_row) && r.failures_in_a_row > 0))
      warn.push({h: 'Not reconciled with storcon yet', p: r.running ? 'The first pass is running.' : 'No pass has run yet.'});
    if (d.warning) warn.push({h: 'Warning', p: str(d.warning)});
    if (!d.tenant_id) warn.push({h: 'neon.tenant_id is not set', p: 'Every notification is accepted as this compute\'s own.'});
    if (Array.isArray(d.shard_map) && !d.shard_map.length) warn.push({h: 'No pageserver', p: 'neon.pageserver_connstring is empty.'});
    if (d.applying || (num(d.pending) && d.pending > 0))
      warn.push({h: 'Applying a change', p: (d.pending || 0) + ' notification(s) in progress.'});
    var ps = {};
    (d.shard_map || []).forEach(function (s) { ps[psKey(s)] = 1; });
    var summary = (d.shard_map || []).length + ' shard' + ((d.shard_map || []).length === 1 ? '' : 's') + ' on ' +
                  Object.keys(ps).length + ' pageserver' + (Object.keys(ps).length === 1 ? '' : 's');
    var b, items;
    if (bad.length) { b = el('section', 'banner bad full'); items = bad.concat(warn); b.dataset.level = 'bad'; }
    else if (warn.length) { b = el('section', 'banner warn full'); items = warn; b.dataset.level = 'warn'; }
    else {
      b = el('section', 'banner ok full'); b.dataset.level = 'ok';
      items = [{h: 'In step with storcon', p: summary + '. Last reconcile ' +
                (num(r.seconds_since_success) ? ago(r.seconds_since_success) : 'not yet') +
                (lastRec ? '; last notification ' + ago(Date.now() / 1000 - lastRec.received_at) + ' (' + str(lastRec.outcome) + ').' : '.')}];
    }
    b.id = 'health';
    put(b, el('div', 'icon', bad.length ? '!' : warn.length ? '\u25b2' : '\u2713'));
    var text = put(b, el('div'));
    put(text, el('h2', null, items[0].h));
    put(text, el('p', null, items[0].p));
    if (items.length > 1) {
      var ul = put(text, el('ul'));
      items.slice(1).forEach(function (it) { put(ul, el('li', null, it.h + (it.p ? ': ' + it.p : ''))); });
    }
    return b;
  }

  function compute(d) {
    var c = el('section', 'card full');
    put(c, el('h3', null, 'This compute'));
    var f = put(c, el('div', 'facts'));
    fact(f, 'Tenant', d.tenant_id || 'not set', true, true).id = 'tenant';
    fact(f, 'Timeline', d.timeline_id || 'not set', true, true).id = 'timeline';
    fact(f, 'Role', pill(d.primary === false ? 'hot standby' : 'primary', d.primary === false ? 'info' : 'ok'));
    fact(f, 'Hook', d.hook_url || (d.listen ? d.listen : 'not serving'), true);
    var auth = str(d.auth);
    fact(f, 'Authentication', pill(auth === 'none' ? 'none (open)' : auth || 'unknown', auth === 'none' ? 'warn' : 'ok'));
    fact(f, 'Up for', num(d.uptime_seconds) ? span(d.uptime_seconds) : null);
    var cat = d.catalog || {};
    fact(f, 'Catalog', (num(cat.nodes) ? cat.nodes : '?') + ' pageservers, ' + (num(cat.safekeepers) ? cat.safekeepers : '?') + ' safekeepers');
    var outs = d.outcomes || {}, parts = [];
    Object.keys(outs).sort().forEach(function (k) { parts.push(k + ' ' + outs[k]); });
    fact(f, 'Notifications', parts.length ? parts.join(' \u00b7 ') : 'none yet');
    return c;
  }

  function shardMap(d, moves, idx) {
    var c = el('section', 'card map');
    c.id = 'shard-map';
    put(c, el('h3', null, 'Where this compute reads from'));
    var map = Array.isArray(d.shard_map) ? d.shard_map : [];
    var ie = d.in_effect || {};
    var psSet = {};
    map.forEach(function (s) { psSet[psKey(s)] = 1; });
    var cap = put(c, el('div', 'caption'));
    var b1 = put(cap, el('span')); put(b1, el('b', null, map.length)); put(b1, document.createTextNode(map.length === 1 ? ' shard' : ' shards'));
    var b2 = put(cap, el('span')); put(b2, document.createTextNode('stripe '));
    put(b2, el('b', null, map.length > 1 ? (stripe(ie.stripe_size) || 'not set') : 'none (unsharded)')).id = 'stripe';
    var b3 = put(cap, el('span')); put(b3, el('b', null, Object.keys(psSet).length)); put(b3, document.createTextNode(' pageserver' + (Object.keys(psSet).length === 1 ? '' : 's')));
    if (!map.length) {
      put(c, el('div', 'empty', 'neon.pageserver_connstring is empty: no pageserver yet. The first notify-attach or reconcile fills it.'));
      return c;
    }
    var col = colours(map);
    // Pageservers in id order (unknown addresses last): they stay put, the links move.
    var groups = {}, order = [];
    map.forEach(function (s) {
      var k = psKey(s);
      if (!groups[k]) { groups[k] = {key: k, node: s.node_id, host: s.host, port: s.port, az: s.availability_zone_id, shards: []}; order.push(groups[k]); }
      groups[k].shards.push(s.shard);
    });
    order.sort(function (a, b) {
      if (num(a.node) && num(b.node)) return a.node - b.node;
      if (num(a.node)) return -1;
      if (num(b.node)) return 1;
      return a.key < b.key ? -1 : 1;
    });
    var n = map.length;
    var rh = n <= 12 ? 40 : n <= 32 ? 26 : n <= 64 ? 16 : 11;
    var boxH = Math.max(rh - 8, 7);
    var PS_MIN = 74, PS_GAP = 14, TOP = 24;
    // A pageserver is as tall as its shards' rows (at least tall enough for its text).
    order.forEach(function (g) { g.h = Math.max(PS_MIN, g.shards.length * rh - PS_GAP); });
    var shardsH = n * rh;
    var psH = order.reduce(function (a, g) { return a + g.h; }, 0) + (order.length - 1) * PS_GAP;
    var H = TOP + Math.max(shardsH, psH) + 6;
    var W = 720, SX = 4, SW = 200, PX = 440, PW = W - PX - 4;
    var svg = sv('svg', {viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img'});
    put(svg, sv('title', {}, null, 'Shards of this compute and the pageservers they are read from'));
    put(svg, sv('text', {x: SX, y: 13}, 'colhead', 'SHARDS'));
    put(svg, sv('text', {x: PX, y: 13}, 'colhead', 'PAGESERVERS'));
    var sy0 = TOP + (Math.max(shardsH, psH) - shardsH) / 2;
    var py0 = TOP + (Math.max(shardsH, psH) - psH) / 2;
    var psY = {};
    order.reduce(function (y, g) { psY[g.key] = y; return y + g.h + PS_GAP; }, py0);
    var links = put(svg, sv('g', {}));
    var boxes = put(svg, sv('g', {}));
    map.forEach(function (s, i) {
      var k = psKey(s), cls = num(s.node_id) ? col[s.node_id] : 'cx';
      var y = sy0 + i * rh + (rh - boxH) / 2;
      var g = groups[k], pos = g.shards.indexOf(s.shard);
      var ty = psY[k] + 10 + (g.h - 20) * (g.shards.length === 1 ? 0.5 : pos / (g.shards.length - 1));
      var x1 = SX + SW, y1 = y + boxH / 2, x2 = PX, mid = (x1 + x2) / 2;
      put(links, sv('path', {d: 'M' + x1 + ' ' + y1 + ' C' + mid + ' ' + y1 + ' ' + mid + ' ' + ty + ' ' + x2 + ' ' + ty}, 'link ' + cls));
      var mv = moves[s.shard];
      var sg = put(boxes, sv('g', {'data-shard': s.shard, 'data-node': num(s.node_id) ? s.node_id : ''}, 'shard'));
      put(sg, sv('title', {}, null, 'shard ' + s.shard + ' \u2192 ' + psName(s.node_id) + ' at ' + str(s.url) +
                 (mv ? '; moved from ' + refName(mv.from, idx) + ' ' + ago(Date.now() / 1000 - mv.at) : '')));
      put(sg, sv('rect', {x: SX, y: y, width: SW, height: boxH, rx: Math.min(6, boxH / 2)}, 'shardbox ' + cls + (mv ? ' movedbox' : '')));
      if (rh >= 16) {
        put(sg, sv('text', {x: SX + 10, y: y + boxH / 2 + 4.5}, 'shardlabel', 'shard ' + s.shard));
        if (mv && rh >= 26) put(sg, sv('text', {x: SX + SW - 8, y: y + boxH / 2 + 4, 'text-anchor': 'end'}, 'moved', 'moved from ' + refName(mv.from, idx, true)));
        else put(sg, sv('text', {x: SX + SW - 8, y: y + boxH / 2 + 4, 'text-anchor': 'end'}, 'small', num(s.node_id) ? 'ps ' + s.node_id : '?'));
      } else if (s.shard % 8 === 0) {
        put(sg, sv('text', {x: SX + 6, y: y + boxH - 1}, 'small', s.shard));
      }
    });
    order.forEach(function (g) {
      var cls = num(g.node) ? col[g.node] : 'cx', y = psY[g.key];
      var pg = put(boxes, sv('g', {'data-node': num(g.node) ? g.node : '', 'data-address': hostPort(g.host, g.port)}, 'pageserver'));
      put(pg, sv('title', {}, null, psName(g.node) + ' at ' + hostPort(g.host, g.port) +
                 ', availability zone ' + (g.az === null || g.az === undefined ? 'unknown' : str(g.az)) +
                 ', shards ' + g.shards.join(', ')));
      put(pg, sv('rect', {x: PX, y: y, width: PW, height: g.h, rx: 9}, 'psbox ' + cls));
      put(pg, sv('text', {x: PX + 12, y: y + 20}, 'title', psName(g.node)));
      put(pg, sv('text', {x: PX + PW - 10, y: y + 20, 'text-anchor': 'end'}, 'small',
                 g.shards.length + (g.shards.length === 1 ? ' shard' : ' shards')));
      put(pg, sv('text', {x: PX + 12, y: y + 39}, 'mono', clip(hostPort(g.host, g.port), 34)));
      put(pg, sv('text', {x: PX + 12, y: y + 58}, 'small',
                 'AZ ' + (g.az === null || g.az === undefined ? 'unknown' : clip(str(g.az), 32))));
    });
    put(c, el('div', 'mapbox')).appendChild(svg);
    return c;
  }

  function safekeepers(d) {
    var c = el('section', 'card');
    c.id = 'safekeepers';
    var set = d.safekeeper_set || {}, members = Array.isArray(set.members) ? set.members : [];
    var h = put(c, el('h3', null, 'Safekeepers'));
    put(h, el('span', 'aside', num(set.generation) ? 'generation ' + set.generation : members.length ? 'no generation' : ''));
    if (!members.length) {
      put(c, el('div', 'empty', 'neon.safekeepers is not set' + (d.primary === false ? ' (a standby streams from its primary).' : '.')));
      return c;
    }
    var list = put(c, el('div', 'sks'));
    members.forEach(function (m) {
      var known = num(m.id);
      var s = put(list, el('div', 'sk' + (known ? '' : ' unknown')));
      put(s, el('div', 'name', known ? 'safekeeper ' + m.id : 'unknown safekeeper'));
      put(s, el('div', 'mono', hostPort(m.host, m.port)));
      put(s, el('div', 'muted', 'AZ ' + (m.availability_zone_id === null || m.availability_zone_id === undefined ? 'unknown' : str(m.availability_zone_id))));
    });
    return c;
  }

  function reconcile(d) {
    var c = el('section', 'card');
    c.id = 'reconcile';
    var r = d.reconcile || {};
    var h = put(c, el('h3', null, 'Reconcile with storcon'));
    var failing = num(r.failures_in_a_row) && r.failures_in_a_row > 0;
    put(h, pill(r.running ? 'running now' : failing ? 'failing' : num(r.seconds_since_success) ? 'in step' : 'not yet run',
                r.running ? 'info' : failing ? 'bad' : num(r.seconds_since_success) ? 'ok' : 'warn'));
    var rows = put(c, el('div', 'rows'));
    row(rows, 'Last success', num(r.seconds_since_success) ? ago(r.seconds_since_success) : 'never');
    row(rows, 'Next pass', r.running ? 'running now' : num(r.next_in_seconds) ? 'in ' + span(r.next_in_seconds) : 'only on demand (storcon.sync_interval = 0)');
    row(rows, 'Failures in a row', num(r.failures_in_a_row) ? r.failures_in_a_row : 0);
    var said = el('div', failing ? 'said bad' : 'said');
    said.id = 'storcon-said';
    if (failing) said.textContent = 'storcon said: ' + (str(r.last_error) || 'no error text');
    else {
      var recent = Array.isArray(d.recent) ? d.recent : [], last = null;
      for (var i = recent.length - 1; i >= 0; i--) if (recent[i] && recent[i].kind === 'reconcile') { last = recent[i]; break; }
      said.textContent = last ? 'Last change by a reconcile: ' + clock(last.received_at) + ', ' + str(last.outcome) +
                                (last.detail ? ' (' + str(last.detail) + ')' : '')
                              : 'No reconcile has had to change anything recently.';
    }
    put(c, said);
    var ev = d.events || {}, counters = put(c, el('div', 'counters'));
    [['reconcile', 'passes'], ['reconcile_action', 'changes'], ['reconcile_failure', 'failures'],
     ['catalog_refresh', 'catalog refreshes'], ['storcon_error', 'storcon errors']].forEach(function (p) {
      var v = num(ev[p[0]]) ? ev[p[0]] : 0;
      put(counters, pill(p[1] + ' ' + v, (p[0] === 'reconcile_failure' || p[0] === 'storcon_error') && v > 0 ? 'warn' : 'info'));
    });
    return c;
  }

  function summary(d, rec, moved, idx) {
    var b = rec.body, parts = [];
    if (moved) moved.forEach(function (m) { parts.push('shard ' + m.shard + ': ' + refName(m.from, idx) + ' \u2192 ' + refName(m.to, idx)); });
    if (rec.kind === 'notify-attach' && b && typeof b === 'object' && !Array.isArray(b)) {
      if (!mine(d, rec)) parts.push('for tenant ' + shortId(rec.tenant_id) + ', not this compute\'s');
      var p = placementOf(rec);
      if (p && !moved) {
        var uniq = [];
        p.forEach(function (x) { if (uniq.indexOf(x.id) < 0) uniq.push(x.id); });
        parts.push(p.length + (p.length === 1 ? ' shard on ' : ' shards on ') + 'pageserver' + (uniq.length === 1 ? ' ' : 's ') + uniq.join(', '));
      }
      if (num(b.stripe_size)) parts.push('stripe ' + b.stripe_size);
      if (typeof b.preferred_az === 'string') parts.push('preferred AZ ' + clip(b.preferred_az, 200));
    } else if (rec.kind === 'notify-safekeepers' && b && typeof b === 'object' && !Array.isArray(b)) {
      if (num(b.generation)) parts.push('generation ' + b.generation);
      if (Array.isArray(b.safekeepers))
        parts.push('safekeepers ' + b.safekeepers.map(function (s) { return s && num(s.id) ? s.id : '?'; }).join(', '));
    } else if (rec.kind === 'reconcile' && Array.isArray(b)) {
      b.forEach(function (ch) {
        if (!ch || typeof ch !== 'object') return;
        var v = str(ch.new_value);
        if (ch.setting === 'neon.pageserver_connstring') v = v.split(',').map(shortUrl).join(', ');
        parts.push(str(ch.setting) + ' = ' + clip(v || '(empty)', 160));
      });
    }
    return parts;
  }

  function timeline(d, moves) {
    var c = el('section', 'card');
    c.id = 'recent';
    var recent = Array.isArray(d.recent) ? d.recent : [];
    var h = put(c, el('h3', null, 'Last notifications'));
    put(h, el('span', 'aside', recent.length ? 'newest first, ' + recent.length + ' kept' : ''));
    if (!recent.length) { put(c, el('div', 'empty', 'Nothing yet: no notification since the hook started.')); return c; }
    var ol = put(c, el('ol', 'timeline'));
    var now = Date.now() / 1000;
    for (var i = recent.length - 1; i >= 0; i--) {
      var r = recent[i];
      if (!r || typeof r !== 'object') continue;
      var lv = level(r);
      var li = put(ol, el('li', 'ev ' + lv));
      li.dataset.kind = str(r.kind);
      li.dataset.outcome = str(r.outcome);
      var when = put(li, el('div', 'when'));
      put(when, el('span', 't', num(r.received_at) ? clock(r.received_at) : '?'));
      put(when, el('span', 'ago', num(r.received_at) ? ago(now - r.received_at) : ''));
      put(li, el('div', 'mark'));
      var what = put(li, el('div', 'what'));
      var head = put(what, el('div', 'head'));
      put(head, el('span', 'kind', str(r.kind) || '?'));
      put(head, pill(str(r.outcome) || '?', lv));
      put(head, el('span', 'meta', 'HTTP ' + (num(r.http_status) ? r.http_status : '?') + ' \u00b7 ' + ms(r.duration_ms)));
      var moved = moves.byRecord[i], parts = summary(d, r, moved, moves.idx);
      if (moved) put(what, el('div', 'sum move', parts.slice(0, moved.length).join(' \u00b7 ')));
      var rest = parts.slice(moved ? moved.length : 0);
      if (r.kind === 'reconcile') rest.forEach(function (line) { put(what, el('div', 'sum setting', line)); });
      else if (rest.length) put(what, el('div', 'sum', rest.join(' \u00b7 ')));
      if (r.detail) put(what, el('div', 'detail', clip(r.detail, 400)));
      if (lv === 'bad' && r.body !== null && r.body !== undefined && r.kind !== 'reconcile') {
        var text;
        try { text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body); } catch (e) { text = '?'; }
        put(what, el('div', 'body', 'body: ' + clip(text, 300)));
      }
      if (Array.isArray(r.forwarded) && r.forwarded.length) {
        var ul = put(what, el('ul', 'fwd'));
        r.forwarded.forEach(function (f) {
          if (!f || typeof f !== 'object') return;
          var o = str(f.outcome);
          var fl = put(ul, el('li'));
          put(fl, el('span', 'muted', '\u21aa forwarded to'));
          put(fl, el('span', 'mono', clip(str(f.compute_id) || shortUrl(f.url), 60)));
          put(fl, pill(o === 'not_running' ? 'not running' : o || '?', o === 'ok' ? 'ok' : o === 'not_running' ? 'info' : 'bad'));
          if (num(f.status)) put(fl, el('span', 'meta', 'HTTP ' + f.status));
          if (f.error && o !== 'not_running') put(fl, el('span', 'meta', clip(str(f.error), 200)));
        });
      }
    }
    return c;
  }

  // ---- page ---------------------------------------------------------------------------------
  function liveText() {
    var live = document.getElementById('live');
    if (!live) return;
    var s = (Date.now() - st.at) / 1000;
    live.className = 'live' + (st.fetchError ? (s > 3 * REFRESH_MS / 1000 ? ' down' : ' stale') : '');
    var t = live.querySelector('.txt');
    t.textContent = st.fetchError
      ? 'cannot refresh (' + st.fetchError + '): showing data from ' + ago(s)
      : 'live, updated ' + ago(s) + ' \u00b7 every ' + REFRESH_MS / 1000 + ' s';
  }

  function render(d) {
    st.at = Date.now();
    var map = Array.isArray(d.shard_map) ? d.shard_map : [];
    var recentMoves = movesFromRecent(d), idx = recentMoves.idx, moves = {};
    var cur = function (s) { return {id: s.node_id, addr: hostPort(s.host, s.port)}; };
    // Moves seen while this page is open (whatever caused them) ...
    if (st.prevMap && st.prevMap.length === map.length) {
      map.forEach(function (s, i) {
        if (st.prevMap[i] && sameRef(cur(st.prevMap[i]), cur(s), idx) === false)
          st.liveMoves[i] = {from: cur(st.prevMap[i]), to: cur(s), at: Date.now() / 1000};
      });
    } else if (st.prevMap) {
      st.liveMoves = {};
    }
    st.prevMap = map;
    // ... and the newest one the recent records tell of; either shown while the shard stays there.
    if (recentMoves.last) recentMoves.last.moved.forEach(function (m) {
      if (map[m.shard] && sameRef(m.to, cur(map[m.shard]), idx)) moves[m.shard] = {from: m.from, at: recentMoves.last.at};
    });
    Object.keys(st.liveMoves).forEach(function (k) {
      var m = st.liveMoves[k];
      if (map[k] && sameRef(m.to, cur(map[k]), idx)) moves[k] = m; else delete st.liveMoves[k];
    });

    var frag = document.createDocumentFragment();
    var top = put(frag, el('header', 'top'));
    var h1 = put(top, el('h1', null, 'pg_storcon '));
    put(h1, el('span', 'sub', 'compute hook'));
    put(top, el('span', 'ids', d.tenant_id ? 'tenant ' + d.tenant_id + (d.timeline_id ? ' \u00b7 timeline ' + d.timeline_id : '') : 'no tenant set'));
    var live = put(top, el('div', 'live'));
    live.id = 'live';
    put(live, el('span', 'dot'));
    put(live, el('span', 'txt'));
    var main = put(frag, el('main'));
    var hb = put(main, health(d));
    put(main, compute(d));
    var left = put(main, el('div', 'col'));
    put(left, shardMap(d, moves, idx));
    put(left, safekeepers(d));
    put(left, reconcile(d));
    var right = put(main, el('div', 'col'));
    put(right, timeline(d, recentMoves));
    var foot = put(main, el('footer'));
    put(foot, document.createTextNode('Drawn from '));
    var a = put(foot, el('a', null, 'status'));
    a.href = 'status';
    put(foot, document.createTextNode(' (the same JSON, for scripts) \u00b7 metrics at '));
    var m = put(foot, el('a', null, 'metrics'));
    m.href = 'metrics';
    while (app.firstChild) app.removeChild(app.firstChild);
    app.appendChild(frag);
    document.title = (hb.dataset.level === 'ok' ? '\u2713 ' : hb.dataset.level === 'bad' ? '\u2717 ' : '\u25b2 ') +
                     'pg_storcon' + (d.tenant_id ? ' \u00b7 ' + shortId(d.tenant_id) : '');
    document.body.dataset.refreshes = String(st.refreshes);
    document.body.dataset.fetchErrors = String(st.errors);
    document.body.dataset.rendered = 'yes';
    liveText();
  }

  function refresh() {
    var ctl = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = ctl ? setTimeout(function () { ctl.abort(); }, 10000) : 0;
    fetch('status', {cache: 'no-store', credentials: 'same-origin', headers: {'Accept': 'application/json'},
                     signal: ctl ? ctl.signal : undefined})
      .then(function (r) {
        if (!r.ok) throw new Error('the hook answered HTTP ' + r.status + (r.status === 401 || r.status === 403 ? ', credentials needed' : ''));
        return r.json();
      })
      .then(function (d) {
        if (!d || typeof d !== 'object') throw new Error('not a status object');
        st.refreshes++;
        st.fetchError = null;
        render(d);
      })
      .catch(function (e) {
        st.errors++;
        st.fetchError = (e && e.name === 'AbortError') ? 'no answer in 10 s' : String((e && e.message) || e);
        document.body.dataset.fetchErrors = String(st.errors);
        liveText();
      })
      .then(function () { clearTimeout(timer); setTimeout(refresh, REFRESH_MS); });
  }

  try {
    render(JSON.parse(document.getElementById('status-data').textContent));
  } catch (e) {
    app.textContent = 'The status could not be drawn: ' + String((e && e.message) || e);
  }
  setInterval(liveText, 1000);
  setTimeout(refresh, REFRESH_MS);
})();
)js";

}  // namespace

std::string_view status_page_script() { return kScript; }
std::string_view status_page_style() { return kStyle; }

}  // namespace storcon
