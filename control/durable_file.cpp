#include "control/durable_file.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace storcon {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Closes a descriptor on every path out of a scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports close's error (a deferred write error can surface here).
  int close_checked() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

ssize_t posix_write(int fd, const void* buf, size_t n) { return ::write(fd, buf, n); }
int posix_fsync(int fd) { return ::fsync(fd); }
int posix_rename(const char* from, const char* to) { return ::rename(from, to); }

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// The file a replacement must land on: path itself, or what a symbolic link at path names.
std::string resolve_target(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) {
    int err = errno;
    throw FileError("cannot resolve the symbolic link " + path + ": " + errno_text(err));
  }
  return resolved;
}

}  // namespace

const FileCalls& posix_file_calls() {
  static const FileCalls calls = {posix_write, posix_fsync, posix_rename, posix_fsync};
  return calls;
}

std::string read_small_file(const std::string& path, size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    int err = errno;
    throw FileError("cannot open " + path + ": " + errno_text(err), errno_text(err));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    int err = errno;
    throw FileError("cannot stat " + path + ": " + errno_text(err), errno_text(err));
  }
  if (!S_ISREG(st.st_mode)) throw FileError(path + " is not a regular file", "not a regular file");
  const std::string larger = "larger than " + std::to_string(max_bytes) + " bytes";
  if (static_cast<unsigned long long>(st.st_size) > max_bytes) throw FileError(path + " is " + larger, larger);

  // Read to the end rather than trusting st_size: the file may grow while we read it.
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      throw FileError("cannot read " + path + ": " + errno_text(err), errno_text(err));
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) throw FileError(path + " is " + larger, larger);
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string read_token_file(const std::string& path, size_t max_bytes) {
  std::string token = read_small_file(path, max_bytes);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.find_first_of("\r\n") != std::string::npos)
    throw FileError(path + " must hold one token on one line", "it must hold one token on one line");
  return token;
}

ReplaceResult replace_file_durably(const std::string& path, std::string_view contents, mode_t mode,
                                   const std::optional<FileOwner>& owner, const FileCalls& calls) {
  if (path.empty()) throw FileError("no file name given");
  const std::string target = resolve_target(path);
  const std::string dir = directory_of(target);
  const std::string base = target.substr(target.rfind('/') == std::string::npos ? 0 : target.rfind('/') + 1);

  // A dot file beside the target: same file system (rename is atomic), ignored by most globs.
  std::string temp = dir + "/." + base + ".tmp.XXXXXX";
  int raw = ::mkstemp(temp.data());
  if (raw < 0) {
    int err = errno;
    throw FileError("cannot create a temporary file in " + dir + ": " + errno_text(err) + "; " + target +
                    " was left unchanged");
  }
  Fd fd(raw);
  auto fail = [&](const std::string& what, int err) {
    ::unlink(temp.c_str());
    return FileError(what + " " + temp + " (replacing " + target + "): " + errno_text(err) + "; " + target +
                     " was left unchanged");
  };

  if (::fchmod(fd.get(), mode & 07777) != 0) throw fail("cannot set the mode of", errno);
  if (owner && ::fchown(fd.get(), owner->uid, owner->gid) != 0) throw fail("cannot set the owner of", errno);
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = calls.write(fd.get(), contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw fail("cannot write", errno);
    }
    if (n == 0) throw fail("cannot write", EIO);
    done += static_cast<size_t>(n);
  }
  if (calls.fsync(fd.get()) != 0) throw fail("cannot fsync", errno);
  if (fd.close_checked() != 0) throw fail("cannot close", errno);
  if (calls.rename(temp.c_str(), target.c_str()) != 0) throw fail("cannot rename", errno);

  // From here on the new contents are what every reader sees.
  ReplaceResult result;
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || calls.fsync_dir(dir_fd.get()) != 0) {
    int err = errno;
    result.durable = false;
    result.not_durable_reason = target + " was replaced, but fsync of its directory " + dir + " failed (" +
                                errno_text(err) + "): the change may not survive a crash";
  }
  return result;
}

}  // namespace storcon
