// Writes settings into postgresql.auto.conf with ALTER SYSTEM semantics, as ONE durable
// replacement of the file under AutoFileLock (the lock ALTER SYSTEM takes): the values are
// validated first with the settings' own checks, the new contents rendered by control/auto_conf,
// and the file replaced with the minimal crash-safe protocol of control/durable_file (write a
// temporary file, fsync it, rename it over postgresql.auto.conf, fsync the directory: two fsyncs).
// The temporary file is durable before the rename and the rename is atomic, so after a crash at
// any point the file is either fully old or fully new; the directory fsync makes the rename
// itself durable.
#pragma once

#include "control/auto_conf.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace storcon::pg {

struct ConfWrite {
  bool ok = false;
  std::string error;               // !ok: why
  bool file_replaced = false;      // !ok although the new file is in place (the directory fsync failed)
  std::vector<ConfEntry> before;   // the file's entries before the write
};

// Sets `set` (each replacing every entry of its name, appended in order) and removes `remove`.
// Never throws for a refused value or an I/O failure (they are reported); throws only for
// out-of-memory. Runs outside any transaction.
ConfWrite edit_auto_conf_file(const std::vector<ConfEntry>& set, const std::vector<std::string>& remove = {});

// Puts back `before` for each entry of `written` whose value in the file is still the written one
// (an ALTER SYSTEM of the same setting since then is kept). Returns one sentence saying what was
// done.
std::string undo_auto_conf_edit(const std::vector<ConfEntry>& written, const std::vector<ConfEntry>& before);

// Microseconds spent in fsync by this process's writes so far (for the apply breakdown).
int64_t fsync_microseconds();

}  // namespace storcon::pg
