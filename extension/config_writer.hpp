// Writes settings into postgresql.auto.conf with ALTER SYSTEM semantics, but as ONE durable
// replacement of the file: the settings of a batch are validated first, then the file is
// rewritten under AutoFileLock (the lock ALTER SYSTEM takes), fsynced and renamed into place.
// The file is therefore either fully old or fully new, never one setting new and the other old.
#pragma once

#include "control/auto_conf.hpp"

#include <string>
#include <vector>

namespace storcon::pg {

// Throws PgError when a value would be rejected by the setting's own checks (range, check hook).
void validate_settings(const std::vector<ConfEntry>& set);

// Applies the edit (remove + append, in order) and returns the file's entries from before it.
// Runs in the caller's transaction; throws PgError, leaving the old file in place.
std::vector<ConfEntry> edit_auto_conf_file(const std::vector<ConfEntry>& set,
                                           const std::vector<std::string>& remove);

// The edit that undoes `set` given the entries from before it.
void undo_edit(const std::vector<ConfEntry>& before, const std::vector<ConfEntry>& set,
               std::vector<ConfEntry>* undo_set, std::vector<std::string>* undo_remove);

}  // namespace storcon::pg
