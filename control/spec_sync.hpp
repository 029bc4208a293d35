// compute_ctl's config file must follow every change the hook applies: compute_ctl deletes PGDATA at
// each start and writes postgresql.conf from that file (reference/neon-lifecycle.md §1), so a
// restart after a migration would otherwise start from the old pageserver. This is the update of
// that file (control/compute_spec) that describes what is in effect now: the shard map of
// neon.pageserver_connstring with the node id of each pageserver (from the catalog), the stripe
// size, and on a primary the safekeeper set with its generation.
#pragma once
#include "control/guard.hpp"

#include "control/compute_spec.hpp"
#include "control/hook_plan.hpp"

namespace storcon {

// Throws ComputeSpecError when the settings in effect cannot be described (a connstring entry that
// is not postgres://no_user@host:port, or a pageserver the catalog does not know).
ComputeSpecUpdate spec_update_in_effect(const InEffect& now, const Catalog& catalog);

}  // namespace storcon
