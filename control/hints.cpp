#include "control/hints.hpp"

namespace storcon {

namespace {
bool has(const std::string& text, const char* needle) { return text.find(needle) != std::string::npos; }
}  // namespace

std::string hint_for(const StorconError& e) {
  const std::string msg = e.what();
  switch (e.kind()) {
    case FailureKind::Transport:
      return "Check storcon.url (it must include http:// or https://) and that storcon is listening there.";
    case FailureKind::BadResponse:
      return "storcon.url may point at something other than the storage controller.";
    case FailureKind::Aborted:
      return "";
    case FailureKind::Http:
      break;
  }
  if (has(msg, "worse-scoring node"))
    return "Pass override_scheduler => true, and pin the tenant with storcon.tenant_policy(tenant_id, "
           "scheduling => 'Essential') or align availability zones, or the optimizer moves the shard back.";
  if (has(msg, "safekeepers in different AZs") || has(msg, "active safekeeper"))
    return "Register safekeepers with storcon.safekeeper_register(...) and make them schedulable with "
           "storcon.safekeeper_set_policy(id, 'Active'); they must be in distinct availability zones.";
  if (has(msg, "notify cplane about safekeeper membership change"))
    return "storcon could not tell the compute hook (its --control-plane-url) about the new safekeeper set, so the "
           "migration stopped half way; once the hook answers, repeat storcon.safekeeper_migrate(...) with the same set "
           "to finish it, or undo it with storcon.safekeeper_migrate_abort(...).";
  if (has(msg, "secondary isn't ready"))
    return "The destination's secondary location is still warming up; retry, or migrate with prewarm => false.";
  if (has(msg, "Timeout waiting for shard") || e.status() == 408)
    return "storcon goes on in the background; watch it with storcon.tenant_shards(tenant_id).";
  if (has(msg, "not registered"))
    return "SELECT * FROM storcon.sync_catalog(); then SELECT * FROM storcon.nodes lists the registered nodes.";
  if (has(msg, "is unavailable"))
    return "The node is not Active in storcon; check the pageserver, or pass override_scheduler => true.";
  if (has(msg, "already registered with different address") || has(msg, "is already exists"))
    return "A node id is registered once; reusing one needs storcon.node_delete(node_id) first.";
  if (has(msg, "not attached"))
    return "Attach the tenant first: storcon.tenant_policy(tenant_id, placement => 'Attached(1)').";
  if (has(msg, "Detached"))
    return "Give the tenant an attached placement first: storcon.tenant_policy(tenant_id, placement => 'Attached(1)').";
  if (e.status() == 401 || e.status() == 403)
    return "Set storcon.jwt_token_file to a file holding an admin-scope token signed with storcon's key.";
  if (e.status() == 503)
    return "storcon is busy or not ready; retry.";
  return "";
}

}  // namespace storcon
