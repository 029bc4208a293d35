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

// The script, first part: helpers, formatting and what the data says. The sections and the page
// are in status_page_sections.cpp; status_page_script() joins the two.
constexpr std::string_view kScriptStart = R"js(
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

)js";

}  // namespace

std::string_view status_page_script() {
  // One string, built once: the CSP hash and the page use exactly these bytes.
  static const std::string script =
      std::string(kScriptStart) + std::string(detail::status_page_script_sections());
  return script;
}
std::string_view status_page_style() { return kStyle; }

}  // namespace storcon
