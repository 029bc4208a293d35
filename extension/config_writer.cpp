#include "extension/config_writer.hpp"

#include "extension/boundary.hpp"

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
}  // namespace

void validate_settings(const std::vector<ConfEntry>& set) {
  for (const auto& e : set) {
    const char* name = e.name.c_str();
    const char* value = e.value.c_str();
    if (e.value.find_first_of("\r\n") != std::string::npos)
      throw std::invalid_argument("value for " + e.name + " must not contain a newline");
    // changeVal = false: runs the parser, range and check hook without changing anything.
    pg_call([&] {
      (void)set_config_option(name, value, PGC_SIGHUP, PGC_S_FILE, GUC_ACTION_SET, false, ERROR, false);
    });
  }
}

std::vector<ConfEntry> edit_auto_conf_file(const std::vector<ConfEntry>& set,
                                           const std::vector<std::string>& remove) {
  // 1. Under AutoFileLock, read the current entries (PostgreSQL's own parser).
  ConfigVariable* head = nullptr;
  pg_call([&] {
    LWLockAcquire(AutoFileLock, LW_EXCLUSIVE);
    ConfigVariable* tail = nullptr;
    FILE* fp = AllocateFile(kAutoConf, "r");
    if (fp == nullptr) {
      if (errno != ENOENT)
        ereport(ERROR, (errcode_for_file_access(), errmsg("could not open file \"%s\": %m", kAutoConf)));
    } else {
      bool ok = ParseConfigFp(fp, kAutoConf, 0, LOG, &head, &tail);
      FreeFile(fp);
      if (!ok)
        ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR),
                        errmsg("could not parse contents of file \"%s\"", kAutoConf)));
    }
  });
  std::vector<ConfEntry> before;
  for (ConfigVariable* v = head; v != nullptr; v = v->next) before.push_back({v->name, v->value});
  pg_call([&] { FreeConfigVariables(head); });

  // 2. The new contents (pure C++).
  const std::string contents = render_auto_conf(edit_auto_conf(before, set, remove));
  const char* data = contents.data();
  const size_t size = contents.size();

  // 3. Write a temporary file, fsync it, rename it over the old one (durable_rename fsyncs the
  // directory too), and release the lock. On any error the old file stays untouched.
  pg_call([&] {
    volatile int fd = OpenTransientFile(kAutoConfTmp, O_CREAT | O_TRUNC | O_WRONLY | PG_BINARY);
    if (fd < 0)
      ereport(ERROR, (errcode_for_file_access(), errmsg("could not open file \"%s\": %m", kAutoConfTmp)));
    PG_TRY();
    {
      errno = 0;
      if (write(fd, data, size) != static_cast<ssize_t>(size)) {
        if (errno == 0) errno = ENOSPC;
        ereport(ERROR, (errcode_for_file_access(), errmsg("could not write file \"%s\": %m", kAutoConfTmp)));
      }
      if (pg_fsync(fd) != 0)
        ereport(ERROR, (errcode_for_file_access(), errmsg("could not fsync file \"%s\": %m", kAutoConfTmp)));
      if (CloseTransientFile(fd) != 0)
        ereport(ERROR, (errcode_for_file_access(), errmsg("could not close file \"%s\": %m", kAutoConfTmp)));
      fd = -1;
      durable_rename(kAutoConfTmp, kAutoConf, ERROR);
    }
    PG_CATCH();
    {
      if (fd >= 0) CloseTransientFile(fd);
      unlink(kAutoConfTmp);
      PG_RE_THROW();
    }
    PG_END_TRY();
    LWLockRelease(AutoFileLock);
  });
  return before;
}

void undo_edit(const std::vector<ConfEntry>& before, const std::vector<ConfEntry>& set,
               std::vector<ConfEntry>* undo_set, std::vector<std::string>* undo_remove) {
  for (const auto& e : set) {
    if (auto old = find_setting(before, e.name))
      undo_set->push_back({e.name, *old});
    else
      undo_remove->push_back(e.name);
  }
}

}  // namespace storcon::pg
