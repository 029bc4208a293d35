// Bounded reads and durable replacement of small files (control/durable_file.hpp): the target is
// either the old file or the new one, a failure before the rename leaves no temporary file, and a
// failure after it is reported as "replaced, not yet durable".
#include <gtest/gtest.h>

#include "control/durable_file.hpp"

#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace storcon;

namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pg_storcon_durable_XXXXXX";
    char* d = ::mkdtemp(tmpl);
    if (d == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = d;
  }
  ~TempDir() {
    for (const auto& n : names()) ::unlink((path_ + "/" + n).c_str());
    ::rmdir(path_.c_str());
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    DIR* d = ::opendir(path_.c_str());
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.push_back(e->d_name);
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::string path_;
};

void write_plain(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

mode_t mode_of(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

// Failure injection: each counter says how many calls succeed before one fails with EIO.
int g_writes_ok, g_fsyncs_ok, g_renames_ok, g_dir_fsyncs_ok;
ssize_t flaky_write(int fd, const void* buf, size_t n) {
  if (g_writes_ok-- <= 0) return errno = EIO, -1;
  return ::write(fd, buf, n < 3 ? n : 3);  // short writes, too
}
int flaky_fsync(int fd) { return g_fsyncs_ok-- <= 0 ? (errno = EIO, -1) : ::fsync(fd); }
int flaky_rename(const char* a, const char* b) {
  return g_renames_ok-- <= 0 ? (errno = EXDEV, -1) : ::rename(a, b);
}
int flaky_dir_fsync(int fd) { return g_dir_fsyncs_ok-- <= 0 ? (errno = EIO, -1) : ::fsync(fd); }
const FileCalls kFlaky = {flaky_write, flaky_fsync, flaky_rename, flaky_dir_fsync};
void allow(int writes, int fsyncs, int renames, int dir_fsyncs) {
  g_writes_ok = writes, g_fsyncs_ok = fsyncs, g_renames_ok = renames, g_dir_fsyncs_ok = dir_fsyncs;
}

}  // namespace

TEST(DurableFile, ReadSmallFileIsBounded) {
  TempDir dir;
  write_plain(dir.file("a"), "hello");
  EXPECT_EQ(read_small_file(dir.file("a"), 5), "hello");
  try {
    read_small_file(dir.file("a"), 4);
    FAIL() << "a file over the limit was read";
  } catch (const FileError& e) {
    EXPECT_EQ(std::string(e.what()), dir.file("a") + " is larger than 4 bytes");
  }
  EXPECT_THROW(read_small_file(dir.file("missing"), 10), FileError);
  EXPECT_THROW(read_small_file("/tmp", 10), FileError);  // not a regular file
  write_plain(dir.file("empty"), "");
  EXPECT_EQ(read_small_file(dir.file("empty"), 0), "");
}

TEST(DurableFile, ReplacesContentsAndMode) {
  TempDir dir;
  write_plain(dir.file("conf.json"), "old");
  ::chmod(dir.file("conf.json").c_str(), 0644);
  ReplaceResult r = replace_file_durably(dir.file("conf.json"), "new contents", 0640);
  EXPECT_TRUE(r.durable);
  EXPECT_EQ(read_small_file(dir.file("conf.json"), 100), "new contents");
  EXPECT_EQ(mode_of(dir.file("conf.json")), 0640u);
  EXPECT_EQ(dir.names(), std::vector<std::string>{"conf.json"});  // no temporary file left

  // A new file, and a relative path.
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(::chdir(dir.file("").c_str()), 0);
  EXPECT_TRUE(replace_file_durably("fresh", "x", 0600).durable);
  ASSERT_EQ(::chdir(cwd), 0);
  EXPECT_EQ(read_small_file(dir.file("fresh"), 10), "x");
}

TEST(DurableFile, FollowsASymbolicLink) {
  TempDir dir;
  write_plain(dir.file("real.json"), "old");
  ASSERT_EQ(::symlink(dir.file("real.json").c_str(), dir.file("link.json").c_str()), 0);
  replace_file_durably(dir.file("link.json"), "new", 0644);
  struct stat st;
  ASSERT_EQ(::lstat(dir.file("link.json").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(read_small_file(dir.file("real.json"), 10), "new");
}

TEST(DurableFile, FailureBeforeTheRenameChangesNothing) {
  TempDir dir;
  write_plain(dir.file("conf.json"), "old");
  const std::string contents(100, 'n');
  struct Case {
    const char* what;
    int writes, fsyncs, renames;
  } cases[] = {{"cannot write", 5, 1, 1}, {"cannot fsync", 1000, 0, 1}, {"cannot rename", 1000, 1, 0}};
  for (const auto& c : cases) {
    allow(c.writes, c.fsyncs, c.renames, 1);
    try {
      replace_file_durably(dir.file("conf.json"), contents, 0644, std::nullopt, kFlaky);
      FAIL() << c.what << ": no error";
    } catch (const FileError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(c.what), std::string::npos) << msg;
      EXPECT_NE(msg.find("was left unchanged"), std::string::npos) << msg;
    }
    EXPECT_EQ(read_small_file(dir.file("conf.json"), 1000), "old") << c.what;
    EXPECT_EQ(dir.names(), std::vector<std::string>{"conf.json"}) << c.what;
  }
  // A directory that does not exist: nothing to create the temporary file in.
  EXPECT_THROW(replace_file_durably(dir.file("nope/conf.json"), "x", 0644), FileError);
}

TEST(DurableFile, DirectoryFsyncFailureIsReportedAsReplacedNotDurable) {
  TempDir dir;
  write_plain(dir.file("conf.json"), "old");
  allow(1000, 1, 1, 0);
  ReplaceResult r = replace_file_durably(dir.file("conf.json"), "new", 0644, std::nullopt, kFlaky);
  EXPECT_FALSE(r.durable);
  EXPECT_NE(r.not_durable_reason.find("was replaced"), std::string::npos) << r.not_durable_reason;
  EXPECT_EQ(read_small_file(dir.file("conf.json"), 10), "new");
  EXPECT_EQ(dir.names(), std::vector<std::string>{"conf.json"});
}

TEST(DurableFile, OwnerIsSetWhenAsked) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  TempDir dir;
  ReplaceResult r = replace_file_durably(dir.file("owned"), "x", 0600, FileOwner{12345, 23456});
  EXPECT_TRUE(r.durable);
  struct stat st;
  ASSERT_EQ(::stat(dir.file("owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 12345u);
  EXPECT_EQ(st.st_gid, 23456u);
}
