// compute_ctl's config file, read and rewritten in the form it is written in.
//
// Why: a Neon compute is started by compute_ctl, which deletes PGDATA at every start, restores a
// basebackup (from the pageserver its config file names for shard 0) and writes postgresql.conf
// from that file. What the hook wrote into postgresql.auto.conf is gone after a restart, so the
// config file itself must say where storage is now (reference/neon-lifecycle.md §1). This file
// reads the tenant, timeline and neon.safekeeper_proto_version out of the config file and rewrites
// its storage settings, keeping everything else.
//
// The forms compute_ctl reads (neondatabase/neon):
// - the file: a ComputeConfig {"spec": {...}, "compute_ctl_config": {...}}
//   (libs/compute_api/src/responses.rs, ComputeConfig; compute_tools/src/bin/compute_ctl.rs,
//   get_config), or a bare ComputeSpec as older setups pass it;
// - the pageserver (compute_tools/src/compute.rs, ParsedSpec::try_from): spec
//   `pageserver_connection_info` {shard_count, stripe_size, shards: {"<ShardIndex NNCC hex>":
//   {pageservers: [{id, libpq_url, grpc_url}]}}, prefer_protocol} (libs/compute_api/src/spec.rs),
//   else spec `pageserver_connstring` + `shard_stripe_size`, else the `neon.pageserver_connstring`
//   and `neon.stripe_size` entries of `spec.cluster.settings` (the first entry of each name:
//   compute_tools/src/pg_helpers.rs, GenericOptionsSearch::find);
// - safekeepers: spec `safekeeper_connstrings` (+ `safekeepers_generation`), else the
//   `neon.safekeepers` settings entry split at ',' (a "g#N:" prefix there would become part of the
//   first host for compute_ctl's own use);
// - postgresql.conf (compute_tools/src/config.rs, write_postgres_conf): spec.cluster.postgresql_conf,
//   then the storage lines from the spec fields (stripe before connstring, then neon.safekeepers
//   with "g#<safekeepers_generation>:" when that field is set), then every settings entry in order.
//   The last line of a name wins, and settings take effect in the order of the winning lines.
//
// The rewrite updates every place of the file that carries the storage setting in question, so that
// compute_ctl's basebackup source, its own safekeeper list and Postgres' winning values all equal the
// update, with neon.stripe_size winning before neon.pageserver_connstring. An unchanged file comes
// back byte-identical (the caller can skip the write).
#pragma once
#include "control/guard.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace storcon {

// Bounds on a config file we read: its size and the nesting of its JSON.
constexpr size_t kMaxComputeConfigBytes = 8u << 20;
constexpr int kMaxComputeConfigDepth = 64;

// The config file cannot be understood or cannot be rewritten safely; the message names the
// problem and the place in the file.
struct ComputeSpecError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ComputeIdentity {
  std::string tenant_id;    // lower-case 32 hex
  std::string timeline_id;  // lower-case 32 hex
  // The winning neon.safekeeper_proto_version of the config (spec.cluster.postgresql_conf, then
  // settings entries), when it sets one.
  std::optional<int64_t> safekeeper_proto_version;
  bool primary =
      true;  // spec.mode is Primary (the default); replicas and static computes take no safekeepers
};

// Throws ComputeSpecError: not JSON / too large / no spec, no or contradictory tenant or timeline
// (the spec field and the settings entries, or two settings entries, disagree), bad ids.
ComputeIdentity read_compute_identity(std::string_view text);

struct PageserverTarget {
  int64_t node_id = 0;
  std::string libpq_url;                // postgres://no_user@host:port (as render_attach renders it)
  std::optional<std::string> grpc_url;  // grpc://no_user@host:port when the node has a gRPC listener
};

struct ShardMapUpdate {
  std::vector<PageserverTarget> shards;  // index = shard number; 1..kMaxShards entries
  std::optional<uint32_t> stripe_size;   // pages of 8 KiB; required with more than one shard
  // storcon's literal ShardCount when known (0 = legacy unsharded, 1 = one shard), which names
  // the keys of pageserver_connection_info.shards. Unknown (a notify-attach does not say): one
  // shard keeps the count the file has (0 or 1), else 0, as storcon's own neon_local hook does.
  std::optional<int> shard_count;
};

struct SafekeeperSetUpdate {
  uint32_t generation = 0;           // storcon's membership generation (0: none)
  std::vector<std::string> entries;  // host:port, in order; 1..kMaxSafekeepers
};

struct ComputeSpecUpdate {
  std::optional<ShardMapUpdate> shard_map;
  std::optional<SafekeeperSetUpdate> safekeepers;
  // neon.safekeepers gets "g#<generation>:" (needs safekeeper protocol 3; false for older neon).
  bool generation_prefix = true;
};

struct RewriteResult {
  std::string text;  // the new file; the input byte for byte when !changed
  bool changed = false;
  std::vector<std::string> changes;  // one readable line per place changed: `where: old -> new`
  std::vector<std::string> notes;    // what was deliberately left alone, and why
};

// Throws ComputeSpecError (nothing is returned then): the errors of read_compute_identity, a
// storage place of the wrong shape, an update compute_ctl or neon could not use (too many shards
// or safekeepers, an entry too long, a sharded map without stripe size, a gRPC-preferring file
// without gRPC addresses).
RewriteResult rewrite_compute_spec(std::string_view text, const ComputeSpecUpdate& update);

// The values Postgres ends up with for an update, as the rewrite writes them.
std::string render_pageserver_connstring(const ShardMapUpdate& map);
std::string render_neon_safekeepers(const SafekeeperSetUpdate& sks, bool generation_prefix);

}  // namespace storcon
