// postgresql.auto.conf with ALTER SYSTEM semantics, as pure text processing: setting a name removes
// every existing line for it and appends the new one at the end, so the order of a batch of
// settings is the order in the file (neon.stripe_size before neon.pageserver_connstring).
// extension/config_writer.cpp does the locking, reading and durable replacement.
#pragma once
#include "control/guard.hpp"

#include <optional>
#include <string>
#include <vector>

namespace storcon {

struct ConfEntry {
  std::string name;
  std::string value;
  bool operator==(const ConfEntry& o) const { return name == o.name && value == o.value; }
};

// PostgreSQL compares setting names case-insensitively.
bool same_setting_name(const std::string& a, const std::string& b);

// The value of `name` that would win (the last occurrence), if any.
std::optional<std::string> find_setting(const std::vector<ConfEntry>& entries, const std::string& name);

// Removes every entry named in `set` or `remove`, then appends `set` in order.
std::vector<ConfEntry> edit_auto_conf(std::vector<ConfEntry> current, const std::vector<ConfEntry>& set,
                                      const std::vector<std::string>& remove = {});

// Undoing a write of ours: each written setting whose value in `now` is still the one we wrote
// goes back to its value `before` the write (or is removed if it had none); one changed since (an
// ALTER SYSTEM meanwhile) is not ours any more and is kept.
struct UndoEdit {
  std::vector<ConfEntry> set;
  std::vector<std::string> remove;
  std::vector<std::string> kept;  // changed since: left as they are
};
UndoEdit undo_edit(const std::vector<ConfEntry>& now, const std::vector<ConfEntry>& written,
                   const std::vector<ConfEntry>& before);

// File contents exactly as ALTER SYSTEM writes them (header, then name = 'value' lines).
std::string render_auto_conf(const std::vector<ConfEntry>& entries);

// Single quotes and backslashes doubled, as PostgreSQL's escape_single_quotes_ascii does.
std::string quote_conf_value(const std::string& value);

}  // namespace storcon
