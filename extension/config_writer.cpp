#include "extension/config_writer.hpp"

#include "extension/boundary.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <unistd.h>

extern "C" {
#include "storage/fd.h"
#include "storage/lwlock.h"
}

namespace storcon::pg {

namespace {
const char* const kAutoConf = PG_AUTOCONF_FILENAME;
const char* const kAutoConfTmp = PG_AUTOCONF_FILENAME ".tmp";

std::string os_error(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

bool sync_fd(int fd) { return !enableFsync || fsync(fd) == 0; }  // fsync = off: as pg_fsync does

// The crash-safe replacement (see the header). Returns "" on success, else the error; sets
// *replaced once the rename has happened.
std::string replace_auto_conf(const std::string& contents, bool* replaced) {
  *replaced = false;
  int fd = open(kAutoConfTmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) return os_error("could not create postgresql.auto.conf.tmp");
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;
      std::string e = os_error("could not write postgresql.auto.conf.tmp");
      close(fd);
      unlink(kAutoConfTmp);
      return e;
    }
    done += static_cast<size_t>(n);
  }
  if (!sync_fd(fd)) {
    std::string e = os_error("could not fsync postgresql.auto.conf.tmp");
    close(fd);
    unlink(kAutoConfTmp);
    return e;
  }
  close(fd);
  if (rename(kAutoConfTmp, kAutoConf) != 0) {
    std::string e = os_error("could not rename postgresql.auto.conf.tmp to postgresql.auto.conf");
    unlink(kAutoConfTmp);
    return e;
  }
  *replaced = true;
  int dir = open(".", O_RDONLY | O_CLOEXEC);  // the data directory (the worker's working directory)
  if (dir < 0) return os_error("could not open the data directory to fsync it");
  bool ok = sync_fd(dir);
  std::string e = ok ? "" : os_error("could not fsync the data directory");
  close(dir);
  return e;
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
      std::vector<ConfEntry> set;
      std::vector<std::string> remove;
      std::vector<std::string> kept;
      for (const auto& w : written) {
        auto current = find_setting(now, w.name);
        if (!current || *current != w.value) {  // changed since (ALTER SYSTEM): not ours to undo
          kept.push_back(w.name);
          continue;
        }
        if (auto old = find_setting(before, w.name))
          set.push_back({w.name, *old});
        else
          remove.push_back(w.name);
      }
      std::string what = "postgresql.auto.conf restored";
      if (!kept.empty()) {
        what += " (kept the newer value of";
        for (const auto& k : kept) what += " " + k;
        what += ")";
      }
      if (set.empty() && remove.empty()) return kept.empty() ? what : "postgresql.auto.conf left as changed since";
      bool replaced = false;
      std::string error = replace_auto_conf(render_auto_conf(edit_auto_conf(now, set, remove)), &replaced);
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
