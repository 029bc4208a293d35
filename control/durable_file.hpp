// Reading and replacing small files safely, with plain POSIX calls (no PostgreSQL), for every
// writer and reader of files outside PostgreSQL's own: the pg_storcon_spec tool and the hook worker
// rewriting compute_ctl's config file, and the readers of token, key and config files.
//
// replace_file_durably writes a temporary file in the target's directory, fsyncs it, renames it
// over the target and fsyncs the directory. Before the rename nothing is visible: any failure there
// removes the temporary file and leaves the target as it was (FileError). After the rename the new
// contents are in place whatever happens; a failing directory fsync is then reported as
// "replaced, not yet durable", never as "unchanged".
#pragma once
#include "control/guard.hpp"

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace storcon {

// The file was not read, or (replace_file_durably) the target was left exactly as it was.
struct FileError : std::runtime_error {
  explicit FileError(const std::string& message, std::string reason = "")
      : std::runtime_error(message), reason_(std::move(reason)) {}
  // The message without the file's name ("No such file or directory", "is larger than N bytes"),
  // for callers whose setting names a file that must not appear in a message; "" if not known.
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

// The whole file, refused with FileError when it cannot be opened, is not a regular file, or holds
// more than max_bytes ("<path> is larger than <max_bytes> bytes"): a bounded read of a file whose
// size someone else controls.
std::string read_small_file(const std::string& path, size_t max_bytes);

// The token a token file holds: its one line without the line end and trailing spaces ("" for an
// empty file). FileError as read_small_file, or with reason "it must hold one token on one line".
// Never puts the contents into a message.
std::string read_token_file(const std::string& path, size_t max_bytes);

struct FileOwner {
  uid_t uid;
  gid_t gid;
};

struct ReplaceResult {
  // true: the new contents are in place and on disk. false: they are in place (every reader sees
  // them) but the directory fsync failed, so a crash could still bring the old file back;
  // not_durable_reason says why. The caller should report it and may retry the whole write.
  bool durable = true;
  std::string not_durable_reason;
};

// The system calls replace_file_durably makes, replaceable by tests to inject failures.
struct FileCalls {
  ssize_t (*write)(int fd, const void* buf, size_t n);
  int (*fsync)(int fd);
  int (*rename)(const char* from, const char* to);
  int (*fsync_dir)(int dir_fd);
};
const FileCalls& posix_file_calls();

// Replaces path (a symbolic link is followed: the file it names is replaced, in its own directory)
// with contents, permission bits mode, and owner when given (fchown of the temporary file; needs
// the privilege to do so). Throws FileError before the rename (target untouched, temporary file
// removed); returns durable = false when only the directory fsync failed.
ReplaceResult replace_file_durably(const std::string& path, std::string_view contents, mode_t mode,
                                   const std::optional<FileOwner>& owner = std::nullopt,
                                   const FileCalls& calls = posix_file_calls());

}  // namespace storcon
