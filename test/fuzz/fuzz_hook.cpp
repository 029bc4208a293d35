// Why this file exists: every byte of a PUT to the hook reaches the notification state machine
// (parse, validate, resolve, render, decide, write, verify), and what it renders ends in
// postgresql.auto.conf.
// libFuzzer drives that path with arbitrary input under ASan and UBSan and checks the properties
// every plan must have, not only "no crash". The same input is also used as a value in effect
// (neon.safekeepers as the walproposer reads it), as a node's host (what valid_host lets into the
// connstring) and as a setting value (auto.conf quoting). Built and run by test/fuzz/run_smoke.sh
// (CTest: fuzz.hook_smoke), which also shows the command of a long run.
#include "control/auto_conf.hpp"
#include "control/hook_engine.hpp"
#include "control/notify_attach.hpp"
#include "control/notify_safekeepers.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace storcon;

namespace {

[[noreturn]] void violated(const char* what, int line) {
  std::fprintf(stderr, "fuzz_hook.cpp:%d: property violated: %s\n", line, what);
  std::abort();
}
#define PROPERTY(cond) ((cond) ? (void)0 : violated(#cond, __LINE__))

const char* const kTenant = "1f359dd625e519a1a4e8d7509690f6fc";
const char* const kTimeline = "de200bd42b49cc1814412c7e592dd6e9";
// The contract's joint configuration (§1.3), for the lane that fuzzes the value in effect.
const char* const kJointBody =
    R"({"tenant_id":"1f359dd625e519a1a4e8d7509690f6fc","timeline_id":"de200bd42b49cc1814412c7e592dd6e9","generation":2,"safekeepers":[{"id":1,"hostname":"sk1.example"},{"id":2,"hostname":"sk2.example"},{"id":3,"hostname":"sk3.example"},{"id":4,"hostname":"sk4.example"}]})";

NodeRecord node(int64_t id, const std::string& host, int32_t port = 6400) {
  NodeRecord n;
  n.node_id = id;
  n.listen_pg_addr = host;
  n.listen_pg_port = port;
  return n;
}

SafekeeperRecord safekeeper(int64_t id, const std::string& host, int32_t port = 5454) {
  SafekeeperRecord s;
  s.id = id;
  s.host = host;
  s.port = port;
  return s;
}

// Four dotted labels: a valid hostname whose connstring entry is over 255 bytes.
std::string long_host() {
  std::string label(59, 'a');
  return label + "." + label + "." + label + "." + label;
}

// Ids 1-4 are known at once; a refresh adds 5-8, of which 6-8 must be refused when rendered.
std::vector<NodeRecord> known_nodes() {
  return {node(1, "ps1"), node(2, "ps2.example"), node(3, "10.0.0.3"), node(4, "fd00::4")};
}
std::vector<NodeRecord> storcon_nodes() {
  auto v = known_nodes();
  v.push_back(node(5, "ps5"));
  v.push_back(node(6, "bad,host"));
  v.push_back(node(7, "ps7", 0));
  v.push_back(node(8, long_host()));
  return v;
}
std::vector<SafekeeperRecord> known_safekeepers() {
  return {safekeeper(1, "sk1.example"), safekeeper(2, "sk2.example"), safekeeper(3, "sk3.example"),
          safekeeper(4, "10.0.0.4")};
}
std::vector<SafekeeperRecord> storcon_safekeepers() {
  auto v = known_safekeepers();
  v.push_back(safekeeper(5, "sk5"));
  v.push_back(safekeeper(6, "fd00::6"));  // neon.safekeepers cannot carry IPv6
  v.push_back(safekeeper(7, "sk7", 70000));
  return v;
}

// The situations a compute can be in: serving nothing (a hub), serving the contract's tenant and
// timeline with a shard map and safekeepers in effect, a replica, and one with a neon that does not
// understand the safekeeper generation prefix.
constexpr int kEnvKinds = 4;
InEffect make_env(int kind) {
  InEffect now;
  now.safekeeper_proto_version = "3";
  if (kind >= 1) {
    now.tenant_id = kTenant;
    now.timeline_id = kTimeline;
    now.pageserver_connstring = "postgres://no_user@ps1:6400,postgres://no_user@ps2.example:6400";
    now.stripe_size = 2048;
    now.safekeepers = "g#2:sk1.example:5454,sk2.example:5454,sk3.example:5454";
  }
  if (kind == 2) now.primary = false;
  if (kind == 3) {
    now.safekeeper_proto_version = "";
    now.safekeepers = "sk1.example:5454,sk2.example:5454,sk3.example:5454";
  }
  return now;
}

// The worker's effects as a test double: a write lands in `file`, a refresh and a forward only
// start (the fuzzer finishes them, as the worker's loop does), every answer is checked.
class FuzzEffects : public HookEffects {
 public:
  std::vector<ConfEntry> file;
  std::vector<std::vector<ConfEntry>> writes;
  int refreshes = 0;
  int answers = 0;
  HookReply last;

  WriteResult write_settings(const std::vector<ConfEntry>& settings) override {
    writes.push_back(settings);
    WriteResult r;
    r.ok = true;
    r.before = file;
    file = edit_auto_conf(file, settings);
    return r;
  }
  std::string undo_settings(const std::vector<ConfEntry>&, const std::vector<ConfEntry>& before) override {
    file = before;
    return "restored";
  }
  void start_catalog_refresh(int64_t) override { refreshes++; }
  void start_forward(uint64_t, const ForwardRequest&) override {}
  std::vector<ForwardTarget> forward_targets(const ParsedNotification&, bool) override { return {}; }
  void answer(RequestId, const HookReply& reply) override {
    answers++;
    last = reply;
  }
  uint64_t record(const NotificationRecord& r) override {
    (void)outcome_word(r.outcome);
    return static_cast<uint64_t>(answers + 1);
  }
  void reconcile_done(uint64_t, const HookReply&) override {}
};

class FuzzClock : public Clock {
 public:
  int64_t now_us() const override { return 1'000'000; }
};

InEffect view_of(const std::vector<ConfEntry>& file, InEffect base) {
  if (auto v = find_setting(file, kConnstringGuc)) base.pageserver_connstring = *v;
  if (auto v = find_setting(file, kStripeSizeGuc)) base.stripe_size = std::stoll(*v);
  if (auto v = find_setting(file, kSafekeepersGuc)) base.safekeepers = *v;
  return base;
}

// A setting value we may write: printable ASCII, nothing that needs quoting beyond the quotes.
bool plain_value(const std::string& v) {
  for (char c : v)
    if (c <= ' ' || c > '~' || c == '\'' || c == '\\' || c == '"') return false;
  return !v.empty();
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? at : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

// A quoted value as PostgreSQL's configuration lexer reads it back (guc-file.l: a STRING cannot
// hold a raw newline; '' is a quote; backslash escapes as in GUC_scanstr). nullopt = syntax error.
std::optional<std::string> unquote_conf_value(const std::string& q) {
  if (q.size() < 2 || q.front() != '\'' || q.back() != '\'') return std::nullopt;
  std::string out;
  for (size_t i = 1; i + 1 < q.size(); i++) {
    char c = q[i];
    if (c == '\n') return std::nullopt;
    if (c == '\'') {
      if (i + 2 >= q.size() || q[i + 1] != '\'') return std::nullopt;
      out += '\'';
      i++;
    } else if (c == '\\') {
      if (i + 2 >= q.size()) return std::nullopt;
      char e = q[++i];
      switch (e) {
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case '\n': return std::nullopt;
        default:
          if (e >= '0' && e <= '7') return std::nullopt;  // never produced by quote_conf_value
          out += e;
      }
    } else {
      out += c;
    }
  }
  return out;
}

void check_settings_file(const std::vector<ConfEntry>& settings) {
  const std::string file = render_auto_conf(settings);
  auto lines = split(file, '\n');
  PROPERTY(lines.size() == settings.size() + 3);  // two header lines, one per setting, final ""
  for (size_t i = 0; i < settings.size(); i++) {
    const std::string prefix = settings[i].name + " = ";
    PROPERTY(lines[i + 2].compare(0, prefix.size(), prefix) == 0);
    PROPERTY(unquote_conf_value(lines[i + 2].substr(prefix.size())) == settings[i].value);
  }
}

// What every answer must satisfy.
void check_reply(const HookReply& reply) {
  PROPERTY(reply.status == 200 || reply.status == 400 || reply.status == 503);
  PROPERTY(reply.body.is_object());
  if (reply.status != 200) {
    PROPERTY(reply.body.contains("msg") && reply.body["msg"].is_string());
    PROPERTY(!reply.body["msg"].get<std::string>().empty());
  }
  // bgworker/http_server.cpp dumps replies with replacement of bad UTF-8: it must not throw.
  (void)reply.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// What every write must satisfy, and what the values mean once in effect.
void check_write(const std::vector<ConfEntry>& settings, Endpoint endpoint, const InEffect& now) {
  PROPERTY(!settings.empty());
  for (const auto& s : settings) PROPERTY(plain_value(s.value));
  check_settings_file(settings);
  if (endpoint == Endpoint::NotifyAttach) {
    // [neon.stripe_size], neon.pageserver_connstring: one entry per shard, each under 256 bytes.
    const auto& conn = settings.back();
    PROPERTY(conn.name == kConnstringGuc);
    auto entries = split(conn.value, ',');
    PROPERTY(entries.size() <= kMaxShards);
    for (const auto& e : entries) {
      PROPERTY(e.compare(0, 19, "postgres://no_user@") == 0);
      PROPERTY(e.size() < kMaxConnstringEntry);
    }
    PROPERTY((settings.size() == 2) == (entries.size() > 1));
    if (settings.size() == 2) {
      PROPERTY(settings[0].name == kStripeSizeGuc);
      long long stripe = std::stoll(settings[0].value);
      PROPERTY(stripe >= 1 && stripe <= INT32_MAX);
    }
  } else {
    PROPERTY(settings.size() == 1 && settings[0].name == kSafekeepersGuc);
    auto read = parse_safekeepers_setting(settings[0].value);
    PROPERTY(read.has_value());
    PROPERTY(!read->entries.empty() && read->entries.size() <= kMaxSafekeepers);
    // Only a neon that speaks protocol 3 gets the generation prefix (else its walproposer stops).
    PROPERTY((read->generation >= 1) == generation_prefix_supported(now.safekeeper_proto_version));
  }
}

// Lane A: the bytes as a body of both endpoints, in each situation, through the state machine.
void fuzz_bodies(std::string_view body) {
  for (int kind = 0; kind < kEnvKinds; kind++) {
    for (Endpoint endpoint : {Endpoint::NotifyAttach, Endpoint::NotifySafekeepers}) {
      FuzzEffects fx;
      FuzzClock clock;
      HookEngine engine(fx, clock);
      engine.catalog().nodes.replace(known_nodes());
      engine.catalog().safekeepers.replace(known_safekeepers());
      const InEffect now = make_env(kind);
      engine.on_reload(now);
      engine.receive(Notification{1, endpoint, std::string(body), std::nullopt, false, 0});
      if (fx.refreshes > 0) {  // a refresh was started: storcon answers with more nodes
        PROPERTY(fx.answers == 0);
        engine.catalog().nodes.replace(storcon_nodes());
        engine.catalog().safekeepers.replace(storcon_safekeepers());
        engine.on_catalog_refreshed(true, "");
      }
      if (!fx.writes.empty()) {
        PROPERTY(fx.writes.size() == 1 && fx.answers == 0);  // not answered before it is in effect
        check_write(fx.writes[0], endpoint, now);
        engine.on_reload(view_of(fx.file, now));
        PROPERTY(fx.answers == 1 && fx.last.status == 200 && fx.last.body["status"] == "applied");
        // Once in effect, the same notification changes nothing (storcon re-sends).
        engine.receive(Notification{2, endpoint, std::string(body), std::nullopt, false, 0});
        PROPERTY(fx.writes.size() == 1 && fx.answers == 2);
        PROPERTY(fx.last.status == 200 && fx.last.body["status"] == "unchanged");
      }
      PROPERTY(fx.answers >= 1);
      check_reply(fx.last);
      PROPERTY(engine.idle());
    }
  }
}

// Lane B: the bytes as the neon.safekeepers value in effect.
void fuzz_in_effect(const std::string& value) {
  auto read = parse_safekeepers_setting(value);
  if (read) {
    PROPERTY(read->entries.size() <= kMaxSafekeepers);
    for (const auto& e : read->entries) {
      size_t colon = e.find(':');
      PROPERTY(colon != std::string::npos && colon > 0 && colon + 1 < e.size());
      PROPERTY(e.find(',') == std::string::npos);
    }
  }
  Catalog catalog;
  catalog.safekeepers.replace(known_safekeepers());
  InEffect now = make_env(1);
  now.safekeepers = value;
  LocalPlan plan = plan_local(parse_notification(Endpoint::NotifySafekeepers, kJointBody), now, catalog, true);
  if (plan.kind == LocalPlan::Decided) {
    PROPERTY(plan.reply.status == 200 || plan.reply.status == 503);
    // The reply echoes the value in effect, which PostgreSQL does not require to be UTF-8: dumped
    // with replacement, as bgworker/http_server.cpp does.
    (void)plan.reply.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    PROPERTY(plan.kind == LocalPlan::Write);
    PROPERTY(plan.settings.size() == 1 && plain_value(plan.settings[0].value));
    // Stale (lower generation in effect) is answered before anything is planned.
    PROPERTY(!read || read->generation <= 2);
  }
}

// Lane C: the bytes as a pageserver's and a safekeeper's host from storcon's catalog.
void fuzz_host(const std::string& host) {
  if (host.size() > 300) return;
  const bool valid = valid_host(host);
  if (valid)
    for (char c : host)
      PROPERTY((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '.' || c == '_' || c == ':');

  NodeDirectory dir;
  dir.replace({node(1, host)});
  AttachRequest attach;
  attach.tenant_id = kTenant;
  attach.node_by_shard = {1};
  try {
    ShardMapSettings s = render_attach(attach, dir);
    PROPERTY(valid);
    PROPERTY(plain_value(s.pageserver_connstring));
    PROPERTY(s.pageserver_connstring.find(',') == std::string::npos);
    PROPERTY(s.pageserver_connstring.size() < kMaxConnstringEntry);
  } catch (const HookError& e) {
    PROPERTY(e.status == 503);
  }

  SafekeeperDirectory sks;
  sks.replace({safekeeper(1, host)});
  SafekeepersRequest sk;
  sk.tenant_id = kTenant;
  sk.timeline_id = kTimeline;
  sk.generation = 7;
  sk.ids = {1};
  try {
    std::string value = render_safekeepers(sk, sks);
    PROPERTY(valid && plain_value(value));
    // The walproposer must read back exactly this host and port.
    auto read = parse_safekeepers_setting(value);
    PROPERTY(read && read->generation == 7);
    PROPERTY(read->entries == std::vector<std::string>{host + ":5454"});
    PROPERTY(read->entries[0].find(':') == host.size());
  } catch (const HookError& e) {
    PROPERTY(e.status == 503);
  }
}

// Lane D: the bytes as a setting value in postgresql.auto.conf.
void fuzz_conf_value(const std::string& value) {
  // PostgreSQL itself refuses newlines in ALTER SYSTEM values, and a C string ends at NUL; every
  // other value must survive the file.
  if (value.find('\n') != std::string::npos || value.find('\0') != std::string::npos) return;
  PROPERTY(unquote_conf_value(quote_conf_value(value)) == value);
  check_settings_file({{"neon.safekeepers", value}, {"neon.pageserver_connstring", value}});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  fuzz_bodies(bytes);
  fuzz_in_effect(bytes);
  fuzz_host(bytes);
  fuzz_conf_value(bytes);
  return 0;
}
