// The registry of computes (storcon.computes) as the hook worker keeps it: read at start and
// whenever an administrator changed it, written when a compute registers or leaves. Through
// ExtensionObjects only (by OID, members of the extension).
#pragma once

#include "control/compute_registry.hpp"
#include "extension/ext_objects.hpp"

#include <vector>

namespace storcon::pg {

// Every entry of storcon.computes, in the caller's transaction (empty when it is absent).
std::vector<ComputeEntry> load_registry(const ExtensionObjects& ext);

// A compute registered itself (e) or left (e.tenant_id empty), in the caller's transaction.
// False when the table is absent (an 0.1 install): the registry is kept in memory only.
bool store_registration(const ExtensionObjects& ext, const ComputeEntry& e);

}  // namespace storcon::pg
