#include "extension/config_writer.hpp"

#include "control/durable_file.hpp"
#include "extension/boundary.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <sys/stat.h>
#include <stdexcept>
#include <unistd.h>

extern "C" {
#include "storage/fd.h"
#include "storage/lwlock.h"
}

namespace storcon::pg {

namespace {
const char* const kAutoConf = PG_AUTOCONF_FILENAME;

// fsync = off: no fsync at all, as pg_fsync() does. Otherwise each fsync is timed (the apply
// breakdown in /status).
int64_t fsync_us_total = 0;
int64_t steady_us() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}
int timed_fsync(int fd) {
  int64_t t0 = steady_us();
  int rc = fsync(fd);
  fsync_us_total += steady_us() - t0;
  return rc;
}
int no_fsync(int) { return 0; }
const FileCalls& file_calls() {
  static const FileCalls with_fsync = {posix_file_calls().write, timed_fsync, posix_file_calls().rename, timed_fsync};
  static const FileCalls without_fsync = {posix_file_calls().write, no_fsync, posix_file_calls().rename, no_fsync};
  return enableFsync ? with_fsync : without_fsync;
}

// The crash-safe replacement (control/durable_file). Returns "" on success, else the error; sets
// *replaced once the new file is in place.
std::string replace_auto_conf(const std::string& contents, bool* replaced) {
  *replaced = false;
  try {
    ReplaceResult r = replace_file_durably(kAutoConf, contents, S_IRUSR | S_IWUSR, std::nullopt, file_calls());
    *replaced = true;
    return r.durable ? "" : r.not_durable_reason;
  } catch (const FileError& e) {
    return e.what();
  }
}

// The current entries, parsed by PostgreSQL's own parser. Call with AutoFileLock held.
std::vector<ConfEntry> read_auto_conf() {
  ConfigVariable* head = nullptr;
  bool parsed = true;
  pg_call([&] {
    ConfigVariable* tail = nullptr;
    FILE* fp = AllocateFile(kAutoConf, "r");
    if (fp == nullptr) {
      if (errno != ENOENT)
        ereport(ERROR, (errcode_for_file_access(), errmsg("could not open file \"%s\": %m", kAutoConf)));
      return;
    }
    parsed = ParseConfigFp(fp, kAutoConf, 0, LOG, &head, &tail);
    FreeFile(fp);
  });
  std::vector<ConfEntry> entries;
  for (ConfigVariable* v = head; v != nullptr; v = v->next) entries.push_back({v->name, v->value});
  pg_call([&] { FreeConfigVariables(head); });
  if (!parsed) throw std::runtime_error("could not parse postgresql.auto.conf (see the server log)");
  return entries;
}

// Runs body with AutoFileLock held; the lock is released however body ends.
template <typename F>
auto with_auto_file_lock(F&& body) -> decltype(body()) {
  pg_call([] { LWLockAcquire(AutoFileLock, LW_EXCLUSIVE); });
  try {
    auto r = body();
    pg_call([] { LWLockRelease(AutoFileLock); });
    return r;
  } catch (...) {
    pg_call([] { LWLockRelease(AutoFileLock); });
    throw;
  }
}
}  // namespace

int64_t fsync_microseconds() { return fsync_us_total; }

ConfWrite edit_auto_conf_file(const std::vector<ConfEntry>& set, const std::vector<std::string>& remove) {
  ConfWrite out;
  // The settings' own checks (range, check hook), without changing anything.
  for (const auto& e : set) {
    if (e.value.find_first_of("\r\n") != std::string::npos || e.value.find('\0') != std::string::npos) {
      out.error = "the value for " + e.name + " contains a line break or NUL";
      return out;
    }
    const char* name = e.name.c_str();
    const char* value = e.value.c_str();
    try {
      pg_call([&] {
        (void)set_config_option(name, value, PGC_SIGHUP, PGC_S_FILE, GUC_ACTION_SET, false, ERROR, false);
      });
    } catch (const PgError& err) {
      out.error = "the value for " + e.name + " is refused: " + err.what();
      return out;
    }
  }
  try {
    return with_auto_file_lock([&] {
      ConfWrite w;
      w.before = read_auto_conf();
      bool replaced = false;
      w.error = replace_auto_conf(render_auto_conf(edit_auto_conf(w.before, set, remove)), &replaced);
      w.ok = w.error.empty();
      w.file_replaced = !w.ok && replaced;
      return w;
    });
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    out.error = e.what();
    return out;
  }
}

std::string undo_auto_conf_edit(const std::vector<ConfEntry>& written, const std::vector<ConfEntry>& before) {
  try {
    return with_auto_file_lock([&]() -> std::string {
      std::vector<ConfEntry> now = read_auto_conf();
      const UndoEdit u = undo_edit(now, written, before);
      std::string what = "postgresql.auto.conf restored";
      if (!u.kept.empty()) {
        what += " (kept the newer value of";
        for (const auto& k : u.kept) what += " " + k;
        what += ")";
      }
      if (u.set.empty() && u.remove.empty())
        return u.kept.empty() ? what : "postgresql.auto.conf left as changed since";
      bool replaced = false;
      std::string error = replace_auto_conf(render_auto_conf(edit_auto_conf(now, u.set, u.remove)), &replaced);
      if (!error.empty())
        return replaced ? "postgresql.auto.conf restored but not durably: " + error
                        : "postgresql.auto.conf could NOT be restored: " + error;
      return what;
    });
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    return std::string("postgresql.auto.conf could NOT be restored: ") + e.what();
  }
}

}  // namespace storcon::pg
