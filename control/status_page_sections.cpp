// The status page's script, second part: the sections (health, this compute, the shard map,
// safekeepers, reconcile, the timeline of notifications) and the page's render and refresh loop.
// The first part (DOM helpers, formatting, reading the data) is in status_page_assets.cpp; the
// rules stated there hold here too: text only through textContent, no inline style, no markup.
#include "control/status_page.hpp"

namespace storcon::detail {

namespace {
constexpr std::string_view kScriptSections = R"js(
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

std::string_view status_page_script_sections() { return kScriptSections; }

}  // namespace storcon::detail
