// bench/client.cpp - the measuring client of bench/run (C++17, libcurl + libpq + nlohmann/json).
//
//   client <mode> <config.json>      prints one JSON object on stdout
//
// Modes (the config keys each one reads are listed at its function):
//   apply    hook PUT notify-attach vs (a0) ALTER SYSTEM x2 + pg_reload_conf() over an open session,
//            no verification, vs (a) the same polled until a new session sees the value, vs (b) a
//            sidecar's connection per notification; interleaved in rounds, alternating two
//            placements; optionally GET /status after each hook apply (untimed) for the worker's
//            own breakdown of that apply
//   timeline hook applies and (a0) applies, spaced, with absolute CLOCK_MONOTONIC timestamps (the
//            clock of `perf record -k CLOCK_MONOTONIC`), to be joined with kernel tracepoints
//   latency  one kind of request repeated (no-op re-send, not-hosted tenant, GET /healthz, or
//            applies when given two bodies), back to back or spaced (gap_us), on one keep-alive
//            connection or a new connection per request (fresh_connection)
//   mix      a long run of mixed requests (memory), with per-kind summaries
//   load     N concurrent senders for T seconds (keep-alive connections, like storcon's client)
//   sql      one SQL statement repeated over an open session (storcon.sync_catalog())
//   get      GET a list of URLs repeatedly (transfer floor of the simulator)
//
// Every loop is bounded in count and in time. Latencies are wall-clock microseconds measured
// around one complete request (steady_clock). Only loopback addresses are used by bench/run.
#include <curl/curl.h>
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

size_t write_cb(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

// One keep-alive HTTP client (one TCP connection reused, as reqwest does for storcon).
class Http {
 public:
  explicit Http(bool fresh = false) {
    h_ = curl_easy_init();
    if (!h_) throw std::runtime_error("curl_easy_init failed");
    hdrs_ = curl_slist_append(nullptr, "Content-Type: application/json");
    hdrs_ = curl_slist_append(hdrs_, "Expect:");
    if (fresh) {  // a new TCP connection for every request (no keep-alive)
      curl_easy_setopt(h_, CURLOPT_FRESH_CONNECT, 1L);
      curl_easy_setopt(h_, CURLOPT_FORBID_REUSE, 1L);
    }
  }
  ~Http() {
    curl_slist_free_all(hdrs_);
    curl_easy_cleanup(h_);
  }
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  // Returns the HTTP status (0 on a transport error, with err set).
  long request(const std::string& method, const std::string& url, const std::string* body, std::string* out,
               std::string* err = nullptr, long timeout_ms = 30000) {
    out->clear();
    curl_easy_setopt(h_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h_, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h_, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h_, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h_, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h_, CURLOPT_HTTPHEADER, hdrs_);
    if (body) {
      curl_easy_setopt(h_, CURLOPT_CUSTOMREQUEST, method.c_str());
      curl_easy_setopt(h_, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(h_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
    } else {
      curl_easy_setopt(h_, CURLOPT_CUSTOMREQUEST, nullptr);
      curl_easy_setopt(h_, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(h_);
    if (rc != CURLE_OK) {
      if (err) *err = curl_easy_strerror(rc);
      return 0;
    }
    long status = 0;
    curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &status);
    return status;
  }

 private:
  CURL* h_;
  curl_slist* hdrs_;
};

json read_json(const char* path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error(std::string("cannot read ") + path);
  return json::parse(f);
}

// ---------------------------------------------------------------------------------------------
// libpq helpers

PGconn* connect_or_throw(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("connect: " + msg);
  }
  return c;
}

std::string exec_one(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    throw std::runtime_error(sql + ": " + msg);
  }
  std::string v;
  if (st == PGRES_TUPLES_OK && PQntuples(r) > 0) {
    for (int i = 0; i < PQnfields(r); i++) v += (i ? "|" : "") + std::string(PQgetvalue(r, 0, i));
  }
  PQclear(r);
  return v;
}

std::string quote_literal(const std::string& s) {
  std::string out = "'";
  for (char ch : s) {
    if (ch == '\'') out += '\'';
    out += ch;
  }
  return out + "'";
}

// Baseline (a0), the honest floor of the SQL way: over an open session, ALTER SYSTEM (stripe
// first), ALTER SYSTEM, SELECT pg_reload_conf(); no verification at all. Fills the end time of
// each statement (steady_clock), so the caller can split the apply by statement.
void sql_floor_apply(PGconn* c, const std::string& connstring, long long stripe, Clock::time_point ends[3]) {
  exec_one(c, "ALTER SYSTEM SET neon.stripe_size = " + std::to_string(stripe));
  ends[0] = Clock::now();
  exec_one(c, "ALTER SYSTEM SET neon.pageserver_connstring = " + quote_literal(connstring));
  ends[1] = Clock::now();
  exec_one(c, "SELECT pg_reload_conf()");
  ends[2] = Clock::now();
}

// Baseline (a): (a0), then poll until a NEW session sees the connstring. Returns the number of new
// sessions the poll needed.
int sql_apply(PGconn* c, const std::string& conninfo, const std::string& connstring, long long stripe,
              double poll_timeout_s, Clock::time_point ends[3]) {
  sql_floor_apply(c, connstring, stripe, ends);
  auto deadline = Clock::now() + std::chrono::duration<double>(poll_timeout_s);
  for (int polls = 1; polls <= 100000; polls++) {
    PGconn* p = connect_or_throw(conninfo);
    std::string v;
    try {
      v = exec_one(p, "SHOW neon.pageserver_connstring");
    } catch (...) {
      PQfinish(p);
      throw;
    }
    PQfinish(p);
    if (v == connstring) return polls;
    if (Clock::now() > deadline) break;
  }
  throw std::runtime_error("new sessions did not see the value within the poll timeout");
}

// ---------------------------------------------------------------------------------------------
// Hook replies

struct Reply {
  long http = 0;
  std::string status;  // "applied", "unchanged", "not_hosted", ...
  long long seq = -1;
  std::string connstring;
  json stripe;
  std::string raw;
};

Reply put_json(Http& http, const std::string& url, const std::string& body) {
  Reply r;
  std::string err;
  r.http = http.request("PUT", url, &body, &r.raw, &err);
  if (r.http == 0) {
    r.status = "transport: " + err;
    return r;
  }
  auto j = json::parse(r.raw, nullptr, false);
  if (j.is_object()) {
    if (j.contains("status") && j["status"].is_string()) r.status = j["status"].get<std::string>();
    if (j.contains("seq") && j["seq"].is_number_integer()) r.seq = j["seq"].get<long long>();
    if (j.contains("pageserver_connstring") && j["pageserver_connstring"].is_string())
      r.connstring = j["pageserver_connstring"].get<std::string>();
    if (j.contains("stripe_size")) r.stripe = j["stripe_size"];
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// mode apply
// config: url, conninfo, bodies[2], connstrings[2], stripe, rounds, per_round, poll_timeout_s,
//         modes (subset of ["hook","sql0","sql","sidecar"]), status_url (optional: GET it after
//         each hook apply, outside the timed part, and keep the worker's breakdown of that apply),
//         gap_us (optional: quiet time before each apply, so that it starts on idle CPUs)
//
// Per mode: lat_us (client round trips); for sql0/sql/sidecar also steps_us: per apply
// [connect, ALTER stripe, ALTER connstring, pg_reload_conf(), verification poll] (connect only for
// the sidecar, poll only for sql/sidecar); for hook with status_url: server[i] = the worker's
// "apply_breakdown.last" for apply i, or null when it cannot be attributed to that apply (the
// worker's "applied" counter did not move by exactly one).

json mode_apply(const json& cfg) {
  const std::string url = cfg["url"];
  const std::string conninfo = cfg["conninfo"];
  const std::vector<std::string> bodies = cfg["bodies"];
  const std::vector<std::string> conns = cfg["connstrings"];
  const long long stripe = cfg["stripe"];
  const int rounds = cfg["rounds"], per_round = cfg["per_round"];
  const double poll_timeout = cfg.value("poll_timeout_s", 5.0);
  const double max_seconds = cfg.value("max_seconds", 240.0);
  const std::string status_url = cfg.value("status_url", "");
  const long gap_us = cfg.value("gap_us", 0L);  // quiet time before each apply (not timed)
  std::vector<std::string> modes = cfg.value("modes", std::vector<std::string>{"hook", "sql0", "sql", "sidecar"});

  Http http;
  PGconn* session = connect_or_throw(conninfo);
  auto t_start = Clock::now();

  // Start from placement 0 (applied or already in effect), so each step below is a real change.
  Reply w = put_json(http, url, bodies[0]);
  if (w.http != 200) throw std::runtime_error("warm-up PUT failed: " + w.raw);
  int cur = 0;

  // The worker's counter of applied notifications, read from GET /status (-1: unknown).
  auto status_now = [&](json* breakdown) -> long long {
    std::string raw, err;
    if (http.request("GET", status_url, nullptr, &raw, &err) != 200) return -1;
    auto j = json::parse(raw, nullptr, false);
    if (!j.is_object()) return -1;
    if (breakdown && j.contains("apply_breakdown")) *breakdown = j["apply_breakdown"].value("last", json());
    if (j.contains("outcomes") && j["outcomes"].is_object()) return j["outcomes"].value("applied", 0LL);
    return 0;
  };
  long long applied_seen = status_url.empty() ? -1 : status_now(nullptr);

  json out;
  std::map<std::string, std::vector<double>> lat;
  std::map<std::string, std::vector<int>> polls;
  std::map<std::string, std::vector<std::vector<double>>> steps;
  std::map<std::string, long> errors;
  std::map<std::string, std::map<std::string, long>> statuses;
  json server = json::array();
  for (const auto& m : modes) errors[m] = 0;

  for (int r = 0; r < rounds; r++) {
    // rotate the order of the modes per round so no mode always follows the same one
    std::vector<std::string> order = modes;
    std::rotate(order.begin(), order.begin() + (r % order.size()), order.end());
    for (const auto& m : order) {
      for (int i = 0; i < per_round; i++) {
        int next = 1 - cur;
        if (gap_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(gap_us));
        auto t0 = Clock::now();
        if (m == "hook") {
          Reply rep = put_json(http, url, bodies[next]);
          double us = us_since(t0);
          statuses[m][rep.status]++;
          if (rep.http != 200 || rep.status != "applied") {
            errors[m]++;
          } else {
            lat[m].push_back(us);
            if (!status_url.empty()) {
              json last;
              long long applied = status_now(&last);
              server.push_back(applied >= 0 && applied_seen >= 0 && applied == applied_seen + 1 ? last : json());
              applied_seen = applied;
            }
          }
        } else {
          Clock::time_point ends[3];
          try {
            int n = 0;
            Clock::time_point t_conn = t0;
            if (m == "sql0") {
              sql_floor_apply(session, conns[next], stripe, ends);
            } else if (m == "sql") {
              n = sql_apply(session, conninfo, conns[next], stripe, poll_timeout, ends);
            } else {  // sidecar: a new connection per notification
              PGconn* c = connect_or_throw(conninfo);
              t_conn = Clock::now();
              try {
                n = sql_apply(c, conninfo, conns[next], stripe, poll_timeout, ends);
              } catch (...) {
                PQfinish(c);
                throw;
              }
              PQfinish(c);
            }
            auto t1 = Clock::now();
            auto d = [](Clock::time_point a, Clock::time_point b) {
              return std::chrono::duration<double, std::micro>(b - a).count();
            };
            lat[m].push_back(d(t0, t1));
            steps[m].push_back({d(t0, t_conn), d(t_conn, ends[0]), d(ends[0], ends[1]), d(ends[1], ends[2]),
                                d(ends[2], t1)});
            if (m != "sql0") polls[m].push_back(n);
          } catch (const std::exception& e) {
            errors[m]++;
            statuses[m][e.what()]++;
          }
        }
        cur = next;
      }
      if (us_since(t_start) > max_seconds * 1e6) break;
    }
    if (us_since(t_start) > max_seconds * 1e6) {
      out["stopped_early"] = true;
      break;
    }
  }
  PQfinish(session);
  for (const auto& m : modes) {
    out[m]["lat_us"] = lat[m];
    out[m]["errors"] = errors[m];
    out[m]["statuses"] = statuses[m];
    if (polls.count(m)) out[m]["polls"] = polls[m];
    if (steps.count(m)) out[m]["steps_us"] = steps[m];
    if (m == "hook" && !status_url.empty()) out[m]["server"] = server;
  }
  out["elapsed_s"] = us_since(t_start) / 1e6;
  return out;
}

// ---------------------------------------------------------------------------------------------
// mode timeline
// config: url, conninfo, bodies[2], connstrings[2], stripe, n, gap_us
// n hook applies, then n (a0) applies, each followed by gap_us of quiet (so that the postmaster's
// reload after an (a0) apply is over before the next apply starts). Times are absolute
// CLOCK_MONOTONIC microseconds: hook [start, end]; (a0) [start, ALTER 1 end, ALTER 2 end, reload
// end]. Also the (a0) session's backend pid, to find its system calls in the trace.

json mode_timeline(const json& cfg) {
  const std::string url = cfg["url"];
  const std::string conninfo = cfg["conninfo"];
  const std::vector<std::string> bodies = cfg["bodies"];
  const std::vector<std::string> conns = cfg["connstrings"];
  const long long stripe = cfg["stripe"];
  const int n = cfg["n"];
  const long gap_us = cfg.value("gap_us", 20000L);
  Http http;
  PGconn* session = connect_or_throw(conninfo);
  Reply w = put_json(http, url, bodies[0]);
  if (w.http != 200) throw std::runtime_error("warm-up PUT failed: " + w.raw);
  int cur = 0;
  // steady_clock is CLOCK_MONOTONIC on Linux: comparable with `perf record -k CLOCK_MONOTONIC`
  auto abs_us = [](Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  };
  json hook = json::array(), floor = json::array();
  long errors = 0;
  for (int i = 0; i < n; i++) {
    std::this_thread::sleep_for(std::chrono::microseconds(gap_us));
    int next = 1 - cur;
    auto t0 = Clock::now();
    Reply rep = put_json(http, url, bodies[next]);
    auto t1 = Clock::now();
    if (rep.http == 200 && rep.status == "applied")
      hook.push_back({abs_us(t0), abs_us(t1)});
    else
      errors++;
    cur = next;
  }
  for (int i = 0; i < n; i++) {
    std::this_thread::sleep_for(std::chrono::microseconds(gap_us));
    int next = 1 - cur;
    Clock::time_point ends[3];
    auto t0 = Clock::now();
    sql_floor_apply(session, conns[next], stripe, ends);
    floor.push_back({abs_us(t0), abs_us(ends[0]), abs_us(ends[1]), abs_us(ends[2])});
    cur = next;
  }
  // Leave placement 0 in effect through the hook, so the worker knows what is in effect.
  std::this_thread::sleep_for(std::chrono::microseconds(gap_us));
  if (cur != 0) put_json(http, url, bodies[0]);
  json out = {{"hook", hook}, {"sql0", floor}, {"errors", errors}, {"backend_pid", PQbackendPID(session)}};
  PQfinish(session);
  return out;
}

// ---------------------------------------------------------------------------------------------
// mode latency
// config: url, method ("PUT"/"GET"), bodies (cycled; empty for GET), n, warmup, expect (reply
//         "status" word, or "" to accept any 200), max_seconds, gap_us, fresh_connection

json mode_latency(const json& cfg) {
  const std::string url = cfg["url"];
  const std::string method = cfg.value("method", "PUT");
  const std::vector<std::string> bodies = cfg.value("bodies", std::vector<std::string>{});
  const int n = cfg["n"], warmup = cfg.value("warmup", 20);
  const std::string expect = cfg.value("expect", "");
  const double max_seconds = cfg.value("max_seconds", 120.0);
  const long gap_us = cfg.value("gap_us", 0L);  // pause between requests (request spacing)
  const bool fresh = cfg.value("fresh_connection", false);
  Http http(fresh);
  std::vector<double> lat;
  lat.reserve(n);
  long errors = 0;
  std::map<std::string, long> statuses;
  auto t_start = Clock::now();
  for (int i = 0; i < warmup + n; i++) {
    if (gap_us > 0 && i > 0) std::this_thread::sleep_for(std::chrono::microseconds(gap_us));
    auto t0 = Clock::now();
    Reply rep;
    if (method == "GET") {
      std::string err;
      rep.http = http.request("GET", url, nullptr, &rep.raw, &err);
      rep.status = rep.http == 200 ? "ok" : err;
    } else {
      rep = put_json(http, url, bodies[i % bodies.size()]);
    }
    double us = us_since(t0);
    if (i < warmup) continue;
    statuses[rep.status]++;
    if (rep.http != 200 || (!expect.empty() && rep.status != expect))
      errors++;
    else
      lat.push_back(us);
    if (us_since(t_start) > max_seconds * 1e6) break;
  }
  return {{"lat_us", lat}, {"errors", errors}, {"statuses", statuses}, {"elapsed_s", us_since(t_start) / 1e6}};
}

// ---------------------------------------------------------------------------------------------
// mode mix
// config: url, apply_bodies[k >= 2], not_hosted_body, n (total), senders, per100 {apply, unchanged,
//         not_hosted}, max_seconds
// Each sender repeats blocks of 100 requests (sender s shifted by s * 100 / senders slots):
// `apply` slots send the placement after the one in effect (a real change), `unchanged` slots
// re-send the placement in effect, `not_hosted` slots send another tenant's notification. An apply
// holds a writer lock for its whole round trip and a re-send a reader lock, so a re-send never
// races with a change and every outcome is known in advance: any other answer is an error.

json mode_mix(const json& cfg) {
  const std::string url = cfg["url"];
  const std::vector<std::string> ab = cfg["apply_bodies"];
  const std::string nh = cfg["not_hosted_body"];
  const long n = cfg["n"];
  const int senders = cfg.value("senders", 1);
  const int k_apply = cfg["per100"]["apply"], k_unch = cfg["per100"]["unchanged"],
            k_nh = cfg["per100"]["not_hosted"];
  if (k_apply + k_unch + k_nh != 100) throw std::runtime_error("per100 must sum to 100");
  const double max_seconds = cfg.value("max_seconds", 300.0);
  const int k = static_cast<int>(ab.size());
  struct Shared {
    std::shared_mutex m;
    int idx = 0;  // the placement in effect
  } shared;
  {
    Http http;  // make placement 0 the one in effect
    Reply w = put_json(http, url, ab[0]);
    if (w.http != 200) throw std::runtime_error("warm-up PUT failed: " + w.raw);
  }
  struct Result {
    std::map<std::string, std::vector<double>> lat;  // by request kind
    std::map<std::string, long> count, errors;
    std::map<std::string, std::map<std::string, long>> statuses;
    long sent = 0, slow = 0;
  };
  std::vector<Result> results(senders);
  const auto t_start = Clock::now();
  const auto t_end = t_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(max_seconds));
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; s++) {
    threads.emplace_back([&, s] {
      Http http;
      Result& res = results[s];
      const long mine = n / senders + (s < n % senders ? 1 : 0);
      const long shift = static_cast<long>(s) * 100 / senders;
      for (long i = 0; i < mine && Clock::now() < t_end; i++) {
        int slot = static_cast<int>((i + shift) % 100);
        std::string kind, want;
        std::unique_lock<std::shared_mutex> writer(shared.m, std::defer_lock);
        std::shared_lock<std::shared_mutex> reader(shared.m, std::defer_lock);
        int idx = -1;
        if (slot < k_apply) {
          writer.lock();
          idx = (shared.idx + 1) % k;
          kind = "apply", want = "applied";
        } else if (slot < k_apply + k_unch) {
          reader.lock();
          idx = shared.idx;
          kind = "unchanged", want = "unchanged";
        } else {
          kind = "not_hosted", want = "not_hosted";
        }
        const std::string& body = idx >= 0 ? ab[idx] : nh;
        auto t0 = Clock::now();
        Reply rep = put_json(http, url, body);
        double us = us_since(t0);
        if (writer.owns_lock() && rep.http == 200 && rep.status == "applied") shared.idx = idx;
        res.sent++;
        res.count[kind]++;
        res.statuses[kind][rep.status]++;
        if (us > 500000) res.slow++;
        bool bad = rep.http != 200 || rep.status != want;
        if (bad)
          res.errors[kind]++;
        else
          res.lat[kind].push_back(us);
      }
    });
  }
  for (auto& t : threads) t.join();
  Result all;
  for (auto& r : results) {
    all.sent += r.sent;
    all.slow += r.slow;
    for (auto& [k, v] : r.lat) all.lat[k].insert(all.lat[k].end(), v.begin(), v.end());
    for (auto& [k, v] : r.count) all.count[k] += v;
    for (auto& [k, v] : r.errors) all.errors[k] += v;
    for (auto& [k, m] : r.statuses)
      for (auto& [st, v] : m) all.statuses[k][st] += v;
  }
  json out = {{"sent", all.sent}, {"slow_over_500ms", all.slow}, {"senders", senders},
              {"elapsed_s", us_since(t_start) / 1e6}};
  for (const auto& [k, c] : all.count) {
    auto& v = all.lat[k];
    std::sort(v.begin(), v.end());
    out["kinds"][k] = {{"count", c},
                       {"errors", all.errors[k]},
                       {"statuses", all.statuses[k]},
                       {"p50_us", v.empty() ? 0.0 : v[v.size() / 2]},
                       {"p99_us", v.empty() ? 0.0 : v[std::min(v.size() - 1, v.size() * 99 / 100)]}};
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// mode load
// config: url, bodies (sender s sends bodies[(s + i) % len] at its i-th request), senders,
//         seconds, max_per_sender
// An answer is good when it is 200 with status applied, unchanged or superseded (a newer
// notification's configuration is in effect: contract "last writer wins"); anything else is an
// error. last_ack: of the answers that say their body is in effect (applied, unchanged), the one
// with the highest "seq", and the body it answered (index into bodies); last_answer: the highest
// "seq" of any good answer, with its status.

json mode_load(const json& cfg) {
  const std::string url = cfg["url"];
  const std::vector<std::string> bodies = cfg["bodies"];
  const int senders = cfg["senders"];
  const double seconds = cfg["seconds"];
  const long max_per_sender = cfg.value("max_per_sender", 200000L);

  struct Ack {
    long long seq = -1;
    std::string status, connstring;
    json stripe;
    size_t body = 0;
  };
  struct Result {
    std::vector<double> lat;
    long count = 0, errors = 0;
    std::map<std::string, long> statuses;
    Ack best_in_effect, best_any;
    std::vector<std::string> error_samples;
  };
  std::vector<Result> results(senders);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  Clock::time_point t_start, t_end;
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; s++) {
    threads.emplace_back([&, s] {
      Http http;
      Result& res = results[s];
      res.lat.reserve(4096);
      ready++;
      while (!go.load()) std::this_thread::yield();
      const auto end = t_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
      for (long i = 0; i < max_per_sender && Clock::now() < end; i++) {
        const size_t bi = (s + i) % bodies.size();
        auto t0 = Clock::now();
        Reply rep = put_json(http, url, bodies[bi]);
        double us = us_since(t0);
        res.count++;
        res.statuses[std::to_string(rep.http) + " " + rep.status]++;
        const bool in_effect = rep.status == "applied" || rep.status == "unchanged";
        if (rep.http != 200 || (!in_effect && rep.status != "superseded") || rep.seq < 0) {
          res.errors++;
          if (res.error_samples.size() < 3) res.error_samples.push_back(rep.raw.substr(0, 300));
          continue;
        }
        res.lat.push_back(us);
        Ack a{rep.seq, rep.status, rep.connstring, rep.stripe, bi};
        if (in_effect && rep.seq > res.best_in_effect.seq) res.best_in_effect = a;
        if (rep.seq > res.best_any.seq) res.best_any = a;
      }
    });
  }
  while (ready.load() < senders) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  t_start = Clock::now();
  go = true;
  for (auto& t : threads) t.join();
  t_end = Clock::now();
  double elapsed = std::chrono::duration<double>(t_end - t_start).count();
  long count = 0, errors = 0;
  std::map<std::string, long> statuses;
  std::vector<double> lat;
  std::vector<std::string> samples;
  Ack best, any;
  for (const auto& r : results) {
    count += r.count;
    errors += r.errors;
    for (const auto& [k, v] : r.statuses) statuses[k] += v;
    lat.insert(lat.end(), r.lat.begin(), r.lat.end());
    for (const auto& e : r.error_samples)
      if (samples.size() < 5) samples.push_back(e);
    if (r.best_in_effect.seq > best.seq) best = r.best_in_effect;
    if (r.best_any.seq > any.seq) any = r.best_any;
  }
  json out = {{"requests", count},
              {"errors", errors},
              {"statuses", statuses},
              {"elapsed_s", elapsed},
              {"lat_us", lat},
              {"error_samples", samples}};
  if (best.seq >= 0)
    out["last_ack"] = {{"seq", best.seq},
                       {"status", best.status},
                       {"body", best.body},
                       {"pageserver_connstring", best.connstring},
                       {"stripe_size", best.stripe}};
  if (any.seq >= 0) out["last_answer"] = {{"seq", any.seq}, {"status", any.status}, {"body", any.body}};
  return out;
}

// ---------------------------------------------------------------------------------------------
// mode sql
// config: conninfo, sql, n, warmup, max_seconds

json mode_sql(const json& cfg) {
  const std::string conninfo = cfg["conninfo"];
  const std::string sql = cfg["sql"];
  const int n = cfg["n"], warmup = cfg.value("warmup", 1);
  const double max_seconds = cfg.value("max_seconds", 120.0);
  PGconn* c = connect_or_throw(conninfo);
  std::vector<double> lat;
  std::string last;
  auto t_start = Clock::now();
  for (int i = 0; i < warmup + n; i++) {
    auto t0 = Clock::now();
    last = exec_one(c, sql);
    double us = us_since(t0);
    if (i >= warmup) lat.push_back(us);
    if (us_since(t_start) > max_seconds * 1e6) break;
  }
  PQfinish(c);
  return {{"lat_us", lat}, {"result", last}};
}

// ---------------------------------------------------------------------------------------------
// mode get
// config: urls, n, warmup; one sample = all urls fetched in sequence over one connection

json mode_get(const json& cfg) {
  const std::vector<std::string> urls = cfg["urls"];
  const int n = cfg["n"], warmup = cfg.value("warmup", 1);
  Http http;
  std::vector<double> lat;
  size_t bytes = 0;
  long errors = 0;
  for (int i = 0; i < warmup + n; i++) {
    auto t0 = Clock::now();
    size_t b = 0;
    for (const auto& u : urls) {
      std::string out;
      if (http.request("GET", u, nullptr, &out) != 200) errors++;
      b += out.size();
    }
    double us = us_since(t0);
    if (i >= warmup) lat.push_back(us);
    bytes = b;
  }
  return {{"lat_us", lat}, {"bytes", bytes}, {"errors", errors}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s apply|timeline|latency|mix|load|sql|get CONFIG.json\n", argv[0]);
    return 2;
  }
  curl_global_init(CURL_GLOBAL_ALL);
  try {
    json cfg = read_json(argv[2]);
    std::string mode = argv[1];
    json out;
    if (mode == "apply") out = mode_apply(cfg);
    else if (mode == "timeline") out = mode_timeline(cfg);
    else if (mode == "latency") out = mode_latency(cfg);
    else if (mode == "mix") out = mode_mix(cfg);
    else if (mode == "load") out = mode_load(cfg);
    else if (mode == "sql") out = mode_sql(cfg);
    else if (mode == "get") out = mode_get(cfg);
    else throw std::runtime_error("unknown mode " + mode);
    std::cout << out.dump() << std::endl;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "client: %s\n", e.what());
    return 1;
  }
  curl_global_cleanup();
  return 0;
}
