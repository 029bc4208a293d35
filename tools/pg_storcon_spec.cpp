// pg_storcon_spec: brings compute_ctl's config file up to date with storcon before compute_ctl
// starts the compute.
//
// Why: compute_ctl deletes PGDATA at every start, takes the basebackup from the pageserver its
// config file names and writes postgresql.conf from that file (reference/neon-lifecycle.md §1).
// A compute that was down while storcon moved its tenant, split it or migrated its safekeepers
// would start from stale storage. Run this right before compute_ctl (e.g. in compute.sh): it reads
// the tenant and timeline from the config file, asks storcon where they live now (tenant describe
// + node list; timeline locate + safekeeper list), waits until storcon has settled, and rewrites
// the file durably, in its own form, only when something changed.
//
// Links control/ only: no PostgreSQL at run time.
#include "control/catalog.hpp"
#include "control/compute_spec.hpp"
#include "control/durable_file.hpp"
#include "control/json_fields.hpp"
#include "control/notify_attach.hpp"
#include "control/notify_safekeepers.hpp"
#include "control/placement.hpp"
#include "control/storcon_client.hpp"

#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

using namespace storcon;

namespace {

constexpr int kExitStorcon = 1;  // storcon could not answer, or not with something we can use
constexpr int kExitConfig = 2;   // usage, or the config file cannot be read, understood or written
constexpr long kDefaultWaitSeconds = 30;
constexpr size_t kMaxTokenBytes = 64 * 1024;

const char* kUsage =
    "Usage: pg_storcon_spec --storcon-url URL [--token-file PATH] [--ca-file PATH] [--wait SECONDS]\n"
    "                       [--safekeeper-proto-version N | --no-generation-prefix] CONFIG_JSON\n"
    "\n"
    "Rewrites compute_ctl's config file CONFIG_JSON so that the compute starts from the pageservers\n"
    "and safekeepers storcon has for its tenant and timeline now. Run it before compute_ctl.\n"
    "\n"
    "  --storcon-url URL        storcon's HTTP API, e.g. http://storcon:1234\n"
    "  --token-file PATH        a JWT for storcon (scope admin) in this file\n"
    "  --ca-file PATH           CA bundle for an https:// storcon\n"
    "  --wait SECONDS           how long to wait for storcon to answer and the tenant to settle\n"
    "                           (no migration, split or compute notification in progress); default 30\n"
    "  --safekeeper-proto-version N\n"
    "                           the compute's neon.safekeeper_proto_version when the config file does\n"
    "                           not say; below 3 neon.safekeepers is written without the g#N: prefix\n"
    "  --no-generation-prefix   never write the g#N: prefix (a neon without safekeeper generations)\n"
    "\n"
    "Exit status: 0 the file is right (changed or not); 1 storcon could not answer in time or not with\n"
    "a placement to start from; 2 bad usage, or the config file cannot be read, understood or written.\n"
    "On any failure the file is left as it was.\n";

struct Options {
  std::string storcon_url, token_file, ca_file, config_path;
  long wait_seconds = kDefaultWaitSeconds;
  std::optional<long> proto_version;
  bool no_prefix = false;
};

[[noreturn]] void fail(int code, const std::string& message) {
  std::cerr << "pg_storcon_spec: " << message << std::endl;
  std::exit(code);
}

long parse_number(const char* text, const char* option, long min, long max) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
    fail(kExitConfig, std::string(option) + " wants a whole number from " + std::to_string(min) + " to " +
                          std::to_string(max) + ", not \"" + text + "\"");
  return v;
}

Options parse_args(int argc, char** argv) {
  enum { kUrl = 1000, kToken, kCa, kWait, kProto, kNoPrefix, kHelp, kVersion };
  static const struct option longopts[] = {
      {"storcon-url", required_argument, nullptr, kUrl},
      {"token-file", required_argument, nullptr, kToken},
      {"ca-file", required_argument, nullptr, kCa},
      {"wait", required_argument, nullptr, kWait},
      {"safekeeper-proto-version", required_argument, nullptr, kProto},
      {"no-generation-prefix", no_argument, nullptr, kNoPrefix},
      {"help", no_argument, nullptr, kHelp},
      {"version", no_argument, nullptr, kVersion},
      {nullptr, 0, nullptr, 0},
  };
  Options o;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
    switch (c) {
      case kUrl: o.storcon_url = optarg; break;
      case kToken: o.token_file = optarg; break;
      case kCa: o.ca_file = optarg; break;
      case kWait: o.wait_seconds = parse_number(optarg, "--wait", 0, 86400); break;
      case kProto: o.proto_version = parse_number(optarg, "--safekeeper-proto-version", 1, 1000); break;
      case kNoPrefix: o.no_prefix = true; break;
      case kHelp: std::cout << kUsage; std::exit(0);
      case kVersion: std::cout << "pg_storcon_spec " << PG_STORCON_VERSION << "\n"; std::exit(0);
      default:
        fail(kExitConfig,
             std::string("unknown or incomplete option \"") + argv[optind - 1] + "\"\n" + kUsage);
    }
  }
  if (optind + 1 != argc) fail(kExitConfig, std::string("give exactly one CONFIG_JSON\n") + kUsage);
  o.config_path = argv[optind];
  if (o.storcon_url.empty()) fail(kExitConfig, std::string("--storcon-url is required\n") + kUsage);
  if (o.proto_version && o.no_prefix)
    fail(kExitConfig, "give --safekeeper-proto-version or --no-generation-prefix, not both");
  return o;
}

std::string read_token(const std::string& path) {
  std::string token = read_token_file(path, kMaxTokenBytes);
  if (token.empty()) throw FileError(path + " holds no token");
  return token;
}

// Worth asking again until --wait runs out: storcon is moving things, or not answering now.
struct NotYet : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// GETs to storcon through the project's one client (timeouts, protocols, the answer-size cap),
// with its answers parsed strictly (duplicate keys, depth).
class StorconGet {
 public:
  explicit StorconGet(ClientOptions options) { client_.set_options(std::move(options)); }
  nlohmann::json get(const std::string& path) { return *fetch(path, false); }
  // A 404 answer is nullopt (a resource storcon does not have).
  std::optional<nlohmann::json> get_or_404(const std::string& path) { return fetch(path, true); }

 private:
  std::optional<nlohmann::json> fetch(const std::string& path, bool missing_ok) {
    const std::string url = join_url(client_.options().base_url, path);
    HttpResponse r = client_.send("GET", path, nullptr);
    if (r.status == 404 && missing_ok) return std::nullopt;
    if (r.status < 200 || r.status > 299)
      throw StorconError(FailureKind::Http, message_from_error_body(r.status, r.body), r.status, "GET", path, url);
    try {
      return parse_strict(r.body, 64);
    } catch (const DecodeError& e) {
      std::string why = e.what();
      if (why == "request body is not valid JSON") why = "not JSON";
      throw StorconError(FailureKind::BadResponse, "storcon's answer to GET " + path + " is " + why, r.status, "GET",
                         path, url);
    }
  }

  StorconClient client_;
};

struct StorconView {
  TenantPlacement placement;
  ShardMapUpdate shard_map;
  std::optional<SafekeeperSetUpdate> safekeepers;  // nullopt: storcon does not manage them
};

bool same_placement(const TenantPlacement& a, const TenantPlacement& b) {
  return a.settled == b.settled && a.shard_count == b.shard_count && a.stripe_size == b.stripe_size &&
         a.node_by_shard == b.node_by_shard && a.policy == b.policy;
}

TenantPlacement settled_placement(StorconGet& storcon, const std::string& tenant) {
  TenantPlacement p = decode_tenant_placement(storcon.get("/control/v1/tenant/" + tenant));
  if (p.tenant_id != tenant)
    throw DecodeError("storcon described tenant " + p.tenant_id + " instead of " + tenant);
  if (p.policy != PlacementPolicy::Attached)
    throw std::runtime_error("tenant " + tenant + " has placement policy " + policy_text(p) +
                             ": no pageserver is attached to start a compute from");
  if (!p.settled) throw NotYet("tenant " + tenant + " is not settled: " + p.unsettled_reason);
  return p;
}

// One consistent read: the placement, the addresses, the safekeepers, and the placement again
// (a migration that started meanwhile sends us round once more).
StorconView ask_storcon(StorconGet& storcon, const ComputeIdentity& id) {
  StorconView view;
  view.placement = settled_placement(storcon, id.tenant_id);
  NodeDirectory nodes;
  nodes.replace(decode_node_list(storcon.get("/control/v1/node")));
  view.shard_map = shard_map_update(view.placement, nodes);
  if (id.primary) {
    auto locate =
        storcon.get_or_404("/debug/v1/tenant/" + id.tenant_id + "/timeline/" + id.timeline_id + "/locate");
    if (locate) {
      SafekeeperDirectory sks;
      sks.replace(decode_safekeeper_list(storcon.get("/control/v1/safekeeper")));
      view.safekeepers = safekeeper_set_update(*locate, sks);
    }
  }
  if (!same_placement(settled_placement(storcon, id.tenant_id), view.placement))
    throw NotYet("tenant " + id.tenant_id + " moved while it was being read");
  return view;
}

bool retryable_status(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

StorconView ask_until_settled(StorconGet& storcon, const ComputeIdentity& id, long wait_seconds) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(wait_seconds);
  std::string last;
  for (;;) {
    std::string why;
    try {
      return ask_storcon(storcon, id);
    } catch (const NotYet& e) {
      why = e.what();
    } catch (const HookError& e) {  // an address storcon named cannot be used (yet)
      why = e.what();
    } catch (const StorconError& e) {
      if (e.kind() == FailureKind::Transport ||
          (e.kind() == FailureKind::Http && retryable_status(e.status())))
        why = std::string(e.what()) + " (" + e.detail() + ")";
      else if (e.kind() == FailureKind::Http)
        fail(kExitStorcon, "storcon refused: " + std::string(e.what()) + " (" + e.detail() + ")");
      else
        fail(kExitStorcon, e.what());
    } catch (const DecodeError& e) {
      fail(kExitStorcon, std::string("storcon's answer is not what it should be: ") + e.what());
    } catch (const std::exception& e) {
      fail(kExitStorcon, e.what());
    }
    if (Clock::now() >= deadline)
      fail(kExitStorcon, "gave up after " + std::to_string(wait_seconds) + " s: " + why);
    if (why != last) std::cerr << "pg_storcon_spec: waiting: " << why << std::endl;
    last = why;
    auto left = deadline - Clock::now();
    std::this_thread::sleep_for(std::min<Clock::duration>(left, std::chrono::seconds(1)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse_args(argc, argv);

  std::string original;
  ComputeIdentity id;
  ClientOptions client;
  try {
    original = read_small_file(opt.config_path, kMaxComputeConfigBytes);
    id = read_compute_identity(original);
    client.base_url = opt.storcon_url;
    validate_base_url(client.base_url);
    if (!opt.token_file.empty()) client.token = read_token(opt.token_file);
    client.ca_file = opt.ca_file;
    client.connect_timeout_ms = 5000;
    client.request_timeout_ms = 10000;
  } catch (const ComputeSpecError& e) {
    fail(kExitConfig, opt.config_path + ": " + e.what());
  } catch (const std::exception& e) {
    fail(kExitConfig, e.what());
  }

  // neon.safekeepers' "g#N:" needs safekeeper protocol 3 (pgxn/neon/walproposer.c); the config
  // file's own neon.safekeeper_proto_version says best, then the flags, then neon's default (3).
  bool prefix = true;
  if (opt.no_prefix)
    prefix = false;
  else if (id.safekeeper_proto_version)
    prefix = *id.safekeeper_proto_version >= 3;
  else if (opt.proto_version)
    prefix = *opt.proto_version >= 3;

  std::optional<StorconGet> storcon;
  try {
    storcon.emplace(client);
  } catch (const std::exception& e) {
    fail(kExitConfig, e.what());
  }
  StorconView view = ask_until_settled(*storcon, id, opt.wait_seconds);

  ComputeSpecUpdate update;
  update.shard_map = view.shard_map;
  update.safekeepers = view.safekeepers;
  update.generation_prefix = prefix;
  RewriteResult r;
  try {
    r = rewrite_compute_spec(original, update);
  } catch (const ComputeSpecError& e) {
    fail(kExitConfig, opt.config_path + ": " + e.what());
  }

  std::cout << "pg_storcon_spec: " << opt.config_path << (r.changed ? " updated" : " unchanged")
            << " (tenant " << id.tenant_id << ", timeline " << id.timeline_id << ")\n";
  const size_t n = view.shard_map.shards.size();
  std::cout << "  pageservers: " << n << (n == 1 ? " shard" : " shards");
  if (n > 1) std::cout << ", stripe size " << *view.shard_map.stripe_size;
  std::cout << ": " << render_pageserver_connstring(view.shard_map) << "\n";
  if (!id.primary)
    std::cout << "  safekeepers: left as they are (not a primary)\n";
  else if (view.safekeepers)
    std::cout << "  safekeepers: " << render_neon_safekeepers(*view.safekeepers, prefix) << "\n";
  else
    std::cout << "  safekeepers: left as they are (storcon does not manage this timeline's safekeepers)\n";
  for (const auto& note : r.notes) std::cout << "  note: " << note << "\n";
  for (const auto& change : r.changes) std::cout << "  changed " << change << "\n";
  if (!r.changed) return 0;

  try {
    // Nothing may have rewritten the file while we asked storcon (we would undo its change).
    if (read_small_file(opt.config_path, kMaxComputeConfigBytes) != original)
      throw FileError(opt.config_path + " changed while storcon was asked; run again");
    struct stat st;
    if (::stat(opt.config_path.c_str(), &st) != 0) throw FileError("cannot stat " + opt.config_path);
    // Run as root (a container's entrypoint), keep the file's owner: compute_ctl may run as another user.
    std::optional<FileOwner> owner;
    if (::geteuid() == 0) owner = FileOwner{st.st_uid, st.st_gid};
    ReplaceResult written = replace_file_durably(opt.config_path, r.text, st.st_mode & 07777, owner);
    if (!written.durable)
      std::cerr << "pg_storcon_spec: warning: " << written.not_durable_reason << std::endl;
  } catch (const std::exception& e) {
    fail(kExitConfig, e.what());
  }
  return 0;
}
