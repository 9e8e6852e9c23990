#include "ftpd/path_jail.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tpslab::ftpd {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// Lexical resolution.

std::string ResolveOk(std::string_view cwd, std::string_view arg) {
  std::string out;
  absl::Status s = PathJail::Resolve(cwd, arg, &out);
  EXPECT_TRUE(s.ok()) << "cwd=" << cwd << " arg=" << arg << ": " << s;
  EXPECT_TRUE(PathJail::IsVirtualPath(out)) << out;
  return out;
}

absl::Status ResolveError(std::string_view cwd, std::string_view arg) {
  std::string out;
  absl::Status s = PathJail::Resolve(cwd, arg, &out);
  EXPECT_FALSE(s.ok()) << "cwd=" << cwd << " arg=" << arg << " gave " << out;
  return s;
}

TEST(ResolveTest, NormalForms) {
  struct Case {
    const char* cwd;
    const char* arg;
    const char* want;
  };
  for (const Case& c : std::vector<Case>{
           {"/", "", "/"},
           {"/a/b", "", "/a/b"},
           {"/", "a", "/a"},
           {"/a", "b/c", "/a/b/c"},
           {"/a", "/x", "/x"},
           {"/a/b", "..", "/a"},
           {"/a/b", "../..", "/"},
           {"/", "a//b///c/", "/a/b/c"},
           {"/", "./a/./b/.", "/a/b"},
           {"/", ".hidden", "/.hidden"},
           {"/", "...", "/..."},
           {"/x", "my file .txt", "/x/my file .txt"},
           {"/", " ", "/ "},
           {"/a", "~", "/a/~"},
           {"/", "\xC3\xBC/\xE6\x97\xA5\xE6\x9C\xAC", "/\xC3\xBC/\xE6\x97\xA5\xE6\x9C\xAC"},
           // The cwd is normalized too.
           {"//a/../b/", "c", "/b/c"},
           {"", "c", "/c"},
       }) {
    EXPECT_EQ(ResolveOk(c.cwd, c.arg), c.want) << "cwd=" << c.cwd << " arg=" << c.arg;
  }
}

TEST(ResolveTest, TraversalNeverLeavesVirtualRoot) {
  struct Case {
    const char* cwd;
    const char* arg;
    const char* want;
  };
  for (const Case& c : std::vector<Case>{
           {"/", "../../etc/passwd", "/etc/passwd"},
           {"/pub", "../../../etc/passwd", "/etc/passwd"},
           {"/", "/../..", "/"},
           {"/", "..", "/"},
           {"/a/b", "../../..", "/"},
           {"/", "a/../../..", "/"},
           {"/a", "b/../../../../c", "/c"},
           {"/", "/./../.././../x", "/x"},
           // No decoding of any kind: these are literal names.
           {"/", "%2e%2e", "/%2e%2e"},
           {"/", "%2e%2e/%2e%2e/etc/passwd", "/%2e%2e/%2e%2e/etc/passwd"},
           {"/", "..%2f..%2fetc", "/..%2f..%2fetc"},
           {"/", "..\\..\\etc", "/..\\..\\etc"},
           {"/", "....//....//etc", "/..../..../etc"},
       }) {
    EXPECT_EQ(ResolveOk(c.cwd, c.arg), c.want) << "cwd=" << c.cwd << " arg=" << c.arg;
  }
}

TEST(ResolveTest, RejectsNul) {
  absl::Status s = ResolveError("/", std::string("a\0b", 3));
  EXPECT_EQ(GetPathError(s), PathError::kInvalidName);
  EXPECT_THAT(s.message(), HasSubstr("NUL byte at offset 1"));
  EXPECT_EQ(FtpReplyCode(GetPathError(s)), 553);
  EXPECT_EQ(GetPathError(ResolveError(std::string("/\0", 2), "x")), PathError::kInvalidName);
}

TEST(ResolveTest, RejectsCrLf) {
  absl::Status s = ResolveError("/", "evil\r\n226 done");
  EXPECT_EQ(GetPathError(s), PathError::kInvalidName);
  EXPECT_THAT(s.message(), HasSubstr("CR or LF byte at offset 4"));
  EXPECT_EQ(GetPathError(ResolveError("/", "a\nb")), PathError::kInvalidName);
}

TEST(ResolveTest, ComponentLengthLimit) {
  EXPECT_EQ(ResolveOk("/", std::string(NAME_MAX, 'n')), "/" + std::string(NAME_MAX, 'n'));
  absl::Status s = ResolveError("/", "dir/" + std::string(NAME_MAX + 1, 'n'));
  EXPECT_EQ(GetPathError(s), PathError::kNameTooLong);
  EXPECT_THAT(s.message(), HasSubstr("a component of 256 bytes, NAME_MAX is 255"));
  EXPECT_EQ(FtpReplyCode(PathError::kNameTooLong), 553);
}

TEST(ResolveTest, PathLengthLimit) {
  // An argument of PATH_MAX bytes is refused before any work is done.
  absl::Status s = ResolveError("/", std::string(PATH_MAX, '/'));
  EXPECT_EQ(GetPathError(s), PathError::kPathTooLong);
  EXPECT_THAT(s.message(), HasSubstr("4096 bytes, PATH_MAX is 4096"));

  // A result that reaches PATH_MAX: cwd and argument are each short enough.
  std::string deep;
  for (int i = 0; i < 15; ++i) deep += "/" + std::string(250, 'd');  // 3765 bytes
  std::string more;
  for (int i = 0; i < 2; ++i) more += std::string(250, 'm') + "/";
  s = ResolveError(deep, more);
  EXPECT_EQ(GetPathError(s), PathError::kPathTooLong);
  EXPECT_THAT(s.message(), HasSubstr("PATH_MAX is 4096"));

  // The longest acceptable result is PATH_MAX - 1 bytes.
  std::string longest;
  while (longest.size() + 256 < PATH_MAX) longest += "/" + std::string(255, 'x');
  longest += "/" + std::string(PATH_MAX - 1 - longest.size() - 1, 'y');
  ASSERT_EQ(longest.size(), static_cast<size_t>(PATH_MAX - 1));
  EXPECT_EQ(ResolveOk("/", longest), longest);
}

TEST(IsVirtualPathTest, Forms) {
  EXPECT_TRUE(PathJail::IsVirtualPath("/"));
  EXPECT_TRUE(PathJail::IsVirtualPath("/a"));
  EXPECT_TRUE(PathJail::IsVirtualPath("/a/b c/...d"));
  for (std::string_view bad :
       {"", "a", "a/b", "//", "/a/", "/a//b", "/.", "/..", "/a/./b", "/a/../b", "/a\nb", "/a\rb"}) {
    EXPECT_FALSE(PathJail::IsVirtualPath(bad)) << bad;
  }
  EXPECT_FALSE(PathJail::IsVirtualPath(std::string("/a\0b", 4)));
  EXPECT_FALSE(PathJail::IsVirtualPath("/" + std::string(NAME_MAX + 1, 'x')));
}

// ---------------------------------------------------------------------------
// File system operations.

std::string ReadAll(int fd) {
  std::string data;
  char buf[4096];
  ::lseek(fd, 0, SEEK_SET);
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

std::string ReadHostFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteHostFile(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

void WriteAll(int fd, std::string_view data) {
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
}

std::vector<std::string> HostNames(const fs::path& dir) {
  std::vector<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Layout (in $TEST_TMPDIR/<test>/):
//   root/file.txt            "inside"
//   root/sub/nested.txt      "nested"
//   root/etc        -> /etc                       (absolute, out)
//   root/out        -> ../outside                 (relative, out)
//   root/abs_secret -> <tmp>/outside/secret       (absolute, out)
//   root/dangling_out -> ../outside/newfile       (out, target missing)
//   root/in         -> sub/nested.txt             (inside)
//   root/sub/up     -> ../file.txt                (inside, via ..)
//   outside/secret           "secret"
class PathJailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    ASSERT_NE(tmp, nullptr);
    base_ = fs::path(tmp) / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(base_);
    root_ = base_ / "root";
    outside_ = base_ / "outside";
    fs::create_directories(root_ / "sub");
    fs::create_directories(outside_);
    WriteHostFile(root_ / "file.txt", "inside");
    WriteHostFile(root_ / "sub" / "nested.txt", "nested");
    WriteHostFile(outside_ / "secret", "secret");
    fs::create_symlink("/etc", root_ / "etc");
    fs::create_symlink("../outside", root_ / "out");
    fs::create_symlink(outside_ / "secret", root_ / "abs_secret");
    fs::create_symlink("../outside/newfile", root_ / "dangling_out");
    fs::create_symlink("sub/nested.txt", root_ / "in");
    fs::create_symlink("../file.txt", root_ / "sub" / "up");
    absl::StatusOr<PathJail> jail = PathJail::Open(root_.string());
    ASSERT_TRUE(jail.ok()) << jail.status();
    jail_ = std::make_unique<PathJail>(std::move(*jail));
  }

  static void ExpectError(const absl::Status& s, PathError want, std::string_view what) {
    ASSERT_FALSE(s.ok()) << what;
    EXPECT_EQ(GetPathError(s), want) << what << ": " << s;
  }
  static void ExpectEscape(const absl::Status& s, std::string_view what) {
    ExpectError(s, PathError::kEscapesRoot, what);
    EXPECT_THAT(s.message(), HasSubstr("path escapes root")) << what;
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << what;
  }

  fs::path base_, root_, outside_;
  std::unique_ptr<PathJail> jail_;
};

TEST_F(PathJailTest, OpenRootErrors) {
  absl::StatusOr<PathJail> missing = PathJail::Open((base_ / "missing").string());
  ExpectError(missing.status(), PathError::kNotFound, "missing root");
  EXPECT_THAT(missing.status().message(), HasSubstr("open root"));
  absl::StatusOr<PathJail> file = PathJail::Open((root_ / "file.txt").string());
  ExpectError(file.status(), PathError::kNotADirectory, "file as root");
}

TEST_F(PathJailTest, LexicalTraversalEndsInsideRoot) {
  std::string path;
  ASSERT_TRUE(PathJail::Resolve("/sub", "../../outside/secret", &path).ok());
  EXPECT_EQ(path, "/outside/secret");
  ExpectError(jail_->OpenForRead(path).status(), PathError::kNotFound, path);
}

TEST_F(PathJailTest, NonNormalizedPathsRefused) {
  for (std::string_view bad : {"", "file.txt", "/../outside/secret", "/sub/../file.txt",
                               "/sub//nested.txt", "/./file.txt", "/file.txt/"}) {
    ExpectError(jail_->OpenForRead(bad).status(), PathError::kInvalidName, bad);
    ExpectError(jail_->Stat(bad).status(), PathError::kInvalidName, bad);
    ExpectError(jail_->Unlink(bad), PathError::kInvalidName, bad);
  }
  absl::Status s = jail_->OpenForRead("/../outside/secret").status();
  EXPECT_THAT(s.message(), HasSubstr("not a normalized virtual path"));
  EXPECT_EQ(FtpReplyCode(GetPathError(s)), 553);
}

TEST_F(PathJailTest, AbsoluteSymlinkOutRefused) {
  ExpectEscape(jail_->OpenForRead("/etc/passwd").status(), "read /etc/passwd");
  ExpectEscape(jail_->Stat("/etc/passwd").status(), "stat /etc/passwd");
  ExpectEscape(jail_->Stat("/etc").status(), "stat /etc");
  ExpectEscape(jail_->OpenDirectory("/etc").status(), "list /etc");
  ExpectEscape(jail_->OpenForRead("/abs_secret").status(), "read /abs_secret");
  ExpectEscape(jail_->Stat("/abs_secret").status(), "stat /abs_secret");
  ExpectEscape(jail_->MakeDirectory("/etc/tpslab_jail_test"), "mkdir through /etc");
  EXPECT_FALSE(fs::exists("/etc/tpslab_jail_test"));
  ExpectEscape(jail_->OpenForWrite("/abs_secret", PathJail::WriteMode::kAppend).status(),
               "append /abs_secret");
  EXPECT_EQ(ReadHostFile(outside_ / "secret"), "secret");
  EXPECT_EQ(FtpReplyCode(PathError::kEscapesRoot), 550);
}

TEST_F(PathJailTest, RelativeSymlinkOutRefusedForEveryOperation) {
  ExpectEscape(jail_->OpenForRead("/out/secret").status(), "read");
  ExpectEscape(jail_->Stat("/out").status(), "stat link");
  ExpectEscape(jail_->Stat("/out/secret").status(), "stat through");
  ExpectEscape(jail_->Lstat("/out/secret").status(), "lstat through");
  ExpectEscape(jail_->OpenDirectory("/out").status(), "list");
  ExpectEscape(jail_->OpenSubJail("/out").status(), "subjail");

  ExpectEscape(jail_->MakeDirectory("/out/newdir"), "mkdir through");
  EXPECT_FALSE(fs::exists(outside_ / "newdir"));

  ExpectEscape(jail_->RemoveDirectory("/out/x"), "rmdir through");

  ExpectEscape(jail_->Unlink("/out/secret"), "unlink through");
  EXPECT_TRUE(fs::exists(outside_ / "secret"));

  ExpectEscape(jail_->Rename("/file.txt", "/out/stolen"), "rename into");
  EXPECT_FALSE(fs::exists(outside_ / "stolen"));
  EXPECT_TRUE(fs::exists(root_ / "file.txt"));

  ExpectEscape(jail_->Rename("/out/secret", "/got"), "rename out of");
  EXPECT_TRUE(fs::exists(outside_ / "secret"));
  EXPECT_FALSE(fs::exists(root_ / "got"));

  ExpectEscape(jail_->BeginAtomicUpload("/out/upload.txt").status(), "upload into");
  EXPECT_EQ(HostNames(outside_), std::vector<std::string>{"secret"});

  ExpectEscape(jail_->OpenForWrite("/out/secret", PathJail::WriteMode::kAppend).status(),
               "append through");
  ExpectEscape(jail_->OpenForWrite("/out/secret", PathJail::WriteMode::kResume).status(),
               "resume through");
  EXPECT_EQ(ReadHostFile(outside_ / "secret"), "secret");

  const struct timespec t = {1000000000, 0};
  const fs::file_time_type before = fs::last_write_time(outside_ / "secret");
  ExpectEscape(jail_->SetModificationTime("/out/secret", t), "mfmt through");
  EXPECT_EQ(fs::last_write_time(outside_ / "secret"), before);
}

TEST_F(PathJailTest, DanglingSymlinkOutCannotCreate) {
  ExpectEscape(jail_->OpenForWrite("/dangling_out", PathJail::WriteMode::kAppend).status(),
               "create through dangling");
  EXPECT_FALSE(fs::exists(outside_ / "newfile"));
}

TEST_F(PathJailTest, SymlinkItselfIsAnObjectInsideRoot) {
  // Reading a link's own attributes, deleting or renaming the link is fine:
  // none of these follows it.
  absl::StatusOr<struct stat> st = jail_->Lstat("/out");
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_TRUE(S_ISLNK(st->st_mode));
  ASSERT_TRUE(jail_->Rename("/out", "/moved_link").ok());
  ASSERT_TRUE(jail_->Unlink("/moved_link").ok());
  EXPECT_TRUE(fs::exists(outside_ / "secret"));
  EXPECT_FALSE(fs::is_symlink(root_ / "moved_link"));
}

TEST_F(PathJailTest, InRootSymlinksAreFollowed) {
  absl::StatusOr<PathJail::OpenFile> in = jail_->OpenForRead("/in");
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(ReadAll(in->fd.get()), "nested");
  absl::StatusOr<PathJail::OpenFile> up = jail_->OpenForRead("/sub/up");
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(ReadAll(up->fd.get()), "inside");
  absl::StatusOr<struct stat> st = jail_->Stat("/in");
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(S_ISREG(st->st_mode));
  EXPECT_EQ(st->st_size, 6);
}

TEST_F(PathJailTest, SymlinksRefusedWhenDisabled) {
  absl::StatusOr<PathJail> strict =
      PathJail::Open(root_.string(), JailOptions{.follow_symlinks = false});
  ASSERT_TRUE(strict.ok());
  ExpectError(strict->OpenForRead("/in").status(), PathError::kSymlinkRefused, "in");
  ExpectError(strict->Stat("/sub/up").status(), PathError::kSymlinkRefused, "up");
  ExpectError(strict->OpenForRead("/out/secret").status(), PathError::kSymlinkRefused, "out");
  EXPECT_TRUE(strict->OpenForRead("/file.txt").ok());
  EXPECT_TRUE(strict->Lstat("/in").ok());  // the link itself is still visible
}

TEST_F(PathJailTest, SubJailCannotReachItsParent) {
  absl::StatusOr<PathJail> sub = jail_->OpenSubJail("/sub");
  ASSERT_TRUE(sub.ok()) << sub.status();
  absl::StatusOr<PathJail::OpenFile> nested = sub->OpenForRead("/nested.txt");
  ASSERT_TRUE(nested.ok()) << nested.status();
  EXPECT_EQ(ReadAll(nested->fd.get()), "nested");
  // "up" -> ../file.txt is inside the server root but outside this user's.
  ExpectEscape(sub->OpenForRead("/up").status(), "up from subjail");
}

TEST_F(PathJailTest, SpecialFilesRefusedWithoutBlocking) {
  ASSERT_EQ(::mkfifo((root_ / "fifo").c_str(), 0644), 0);
  // A plain open(2) of a FIFO without a writer would block forever.
  ExpectError(jail_->OpenForRead("/fifo").status(), PathError::kNotARegularFile, "read fifo");
  ExpectError(jail_->OpenForWrite("/fifo", PathJail::WriteMode::kAppend).status(),
              PathError::kNotARegularFile, "write fifo");
  ExpectError(jail_->OpenForRead("/sub").status(), PathError::kIsADirectory, "read dir");
  ExpectError(jail_->OpenForWrite("/sub", PathJail::WriteMode::kAppend).status(),
              PathError::kIsADirectory, "write dir");
}

TEST_F(PathJailTest, OpenForReadGivesAttributes) {
  absl::StatusOr<PathJail::OpenFile> file = jail_->OpenForRead("/file.txt");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->st.st_size, 6);
  EXPECT_EQ(ReadAll(file->fd.get()), "inside");
  EXPECT_NE(::fcntl(file->fd.get(), F_GETFD) & FD_CLOEXEC, 0);
  ExpectError(jail_->OpenForRead("/missing").status(), PathError::kNotFound, "missing");
  ExpectError(jail_->OpenForRead("/file.txt/x").status(), PathError::kNotADirectory, "file/x");
}

TEST_F(PathJailTest, WriteModes) {
  {
    absl::StatusOr<PathJail::OpenFile> f =
        jail_->OpenForWrite("/file.txt", PathJail::WriteMode::kAppend);
    ASSERT_TRUE(f.ok()) << f.status();
    WriteAll(f->fd.get(), "+more");
  }
  EXPECT_EQ(ReadHostFile(root_ / "file.txt"), "inside+more");
  {
    absl::StatusOr<PathJail::OpenFile> f =
        jail_->OpenForWrite("/file.txt", PathJail::WriteMode::kResume);
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->st.st_size, 11);  // not truncated
    ASSERT_EQ(::pwrite(f->fd.get(), "SIDE", 4, 2), 4);
  }
  EXPECT_EQ(ReadHostFile(root_ / "file.txt"), "inSIDE+more");
  {
    absl::StatusOr<PathJail::OpenFile> f =
        jail_->OpenForWrite("/sub/new.txt", PathJail::WriteMode::kAppend);
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->st.st_size, 0);
  }
  EXPECT_TRUE(fs::exists(root_ / "sub" / "new.txt"));
}

TEST_F(PathJailTest, AtomicUploadReplacesOnlyOnCommit) {
  // A reader that opened the old file keeps seeing it in full.
  absl::StatusOr<PathJail::OpenFile> old_reader = jail_->OpenForRead("/file.txt");
  ASSERT_TRUE(old_reader.ok());

  absl::StatusOr<AtomicUpload> upload = jail_->BeginAtomicUpload("/file.txt");
  ASSERT_TRUE(upload.ok()) << upload.status();
  const std::string temp(upload->temp_name());
  EXPECT_THAT(temp, ::testing::StartsWith(".file.txt."));
  EXPECT_THAT(temp, ::testing::EndsWith(".part"));
  EXPECT_EQ(temp.size(), std::string(".file.txt.XXXXXX.part").size());
  WriteAll(upload->fd(), "new content");

  // Mid-upload the target is untouched and the temporary sits beside it.
  EXPECT_EQ(ReadHostFile(root_ / "file.txt"), "inside");
  EXPECT_EQ(ReadHostFile(root_ / temp), "new content");

  ASSERT_TRUE(upload->Commit().ok());
  EXPECT_EQ(ReadHostFile(root_ / "file.txt"), "new content");
  EXPECT_FALSE(fs::exists(root_ / temp));
  EXPECT_EQ(ReadAll(old_reader->fd.get()), "inside");
}

TEST_F(PathJailTest, AtomicUploadLeavesNothingOnFailure) {
  const std::vector<std::string> before = HostNames(root_);
  {
    absl::StatusOr<AtomicUpload> upload = jail_->BeginAtomicUpload("/file.txt");
    ASSERT_TRUE(upload.ok());
    WriteAll(upload->fd(), "half an upl");
    // The transfer dies: the upload is dropped without Commit.
  }
  EXPECT_EQ(ReadHostFile(root_ / "file.txt"), "inside");
  EXPECT_EQ(HostNames(root_), before);

  absl::StatusOr<AtomicUpload> upload = jail_->BeginAtomicUpload("/fresh.txt");
  ASSERT_TRUE(upload.ok());
  WriteAll(upload->fd(), "partial");
  upload->Abort();
  upload->Abort();  // idempotent
  EXPECT_EQ(HostNames(root_), before);
}

TEST_F(PathJailTest, AtomicUploadMoveKeepsOwnership) {
  const std::vector<std::string> before = HostNames(root_);
  absl::StatusOr<AtomicUpload> upload = jail_->BeginAtomicUpload("/moved.txt");
  ASSERT_TRUE(upload.ok());
  AtomicUpload moved = std::move(*upload);
  WriteAll(moved.fd(), "data");
  ASSERT_TRUE(moved.Commit(/*sync=*/true).ok());
  EXPECT_EQ(ReadHostFile(root_ / "moved.txt"), "data");
  fs::remove(root_ / "moved.txt");
  EXPECT_EQ(HostNames(root_), before);
}

TEST_F(PathJailTest, AtomicUploadReplacesSymlinkNotItsTarget) {
  absl::StatusOr<AtomicUpload> upload = jail_->BeginAtomicUpload("/in");
  ASSERT_TRUE(upload.ok());
  WriteAll(upload->fd(), "replaced");
  ASSERT_TRUE(upload->Commit().ok());
  EXPECT_FALSE(fs::is_symlink(root_ / "in"));
  EXPECT_EQ(ReadHostFile(root_ / "in"), "replaced");
  EXPECT_EQ(ReadHostFile(root_ / "sub" / "nested.txt"), "nested");
}

TEST_F(PathJailTest, AtomicUploadErrors) {
  ExpectError(jail_->BeginAtomicUpload("/sub").status(), PathError::kIsADirectory, "dir");
  ExpectError(jail_->BeginAtomicUpload("/missing/x").status(), PathError::kNotFound, "no dir");
  ExpectError(jail_->BeginAtomicUpload("/").status(), PathError::kPermissionDenied, "root");
}

TEST_F(PathJailTest, AtomicUploadLongNameFits) {
  const std::string name(NAME_MAX, 'L');
  absl::StatusOr<AtomicUpload> upload = jail_->BeginAtomicUpload("/" + name);
  ASSERT_TRUE(upload.ok()) << upload.status();
  EXPECT_EQ(upload->temp_name().size(), static_cast<size_t>(NAME_MAX));
  WriteAll(upload->fd(), "x");
  ASSERT_TRUE(upload->Commit().ok());
  EXPECT_EQ(ReadHostFile(root_ / name), "x");
}

TEST_F(PathJailTest, CommitUniqueNeverReplaces) {
  for (const char* want : {"file.txt.1", "file.txt.2"}) {
    absl::StatusOr<AtomicUpload> upload = jail_->BeginAtomicUpload("/file.txt");
    ASSERT_TRUE(upload.ok());
    WriteAll(upload->fd(), want);
    absl::StatusOr<std::string> name = upload->CommitUnique();
    ASSERT_TRUE(name.ok()) << name.status();
    EXPECT_EQ(*name, want);
    EXPECT_EQ(ReadHostFile(root_ / want), want);
  }
  EXPECT_EQ(ReadHostFile(root_ / "file.txt"), "inside");
  absl::StatusOr<AtomicUpload> upload = jail_->BeginAtomicUpload("/unique.txt");
  ASSERT_TRUE(upload.ok());
  EXPECT_EQ(*upload->CommitUnique(/*sync=*/true), "unique.txt");
}

TEST_F(PathJailTest, StatAndLstat) {
  absl::StatusOr<struct stat> root = jail_->Stat("/");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_TRUE(S_ISDIR(root->st_mode));
  ASSERT_TRUE(jail_->Lstat("/").ok());
  absl::StatusOr<struct stat> link = jail_->Lstat("/in");
  ASSERT_TRUE(link.ok());
  EXPECT_TRUE(S_ISLNK(link->st_mode));
  ExpectError(jail_->Stat("/nope").status(), PathError::kNotFound, "stat missing");
  ExpectError(jail_->Lstat("/nope").status(), PathError::kNotFound, "lstat missing");
  absl::Status s = jail_->Lstat("/nope/deeper").status();
  ExpectError(s, PathError::kNotFound, "lstat missing parent");
  EXPECT_THAT(s.message(), HasSubstr("resolving the parent of /nope/deeper"));
}

TEST_F(PathJailTest, DirectoryOperations) {
  ASSERT_TRUE(jail_->MakeDirectory("/newdir").ok());
  EXPECT_TRUE(fs::is_directory(root_ / "newdir"));
  ExpectError(jail_->MakeDirectory("/newdir"), PathError::kAlreadyExists, "mkdir twice");
  ExpectError(jail_->MakeDirectory("/in"), PathError::kAlreadyExists, "mkdir over link");
  ExpectError(jail_->MakeDirectory("/"), PathError::kAlreadyExists, "mkdir root");
  ExpectError(jail_->MakeDirectory("/missing/x"), PathError::kNotFound, "mkdir deep");
  ExpectError(jail_->RemoveDirectory("/sub"), PathError::kNotEmpty, "rmdir full");
  ExpectError(jail_->RemoveDirectory("/file.txt"), PathError::kNotADirectory, "rmdir file");
  ExpectError(jail_->RemoveDirectory("/"), PathError::kPermissionDenied, "rmdir root");
  ExpectError(jail_->RemoveDirectory("/missing"), PathError::kNotFound, "rmdir missing");
  ASSERT_TRUE(jail_->RemoveDirectory("/newdir").ok());
  EXPECT_FALSE(fs::exists(root_ / "newdir"));
}

TEST_F(PathJailTest, UnlinkOperations) {
  ExpectError(jail_->Unlink("/sub"), PathError::kIsADirectory, "unlink dir");
  ExpectError(jail_->Unlink("/"), PathError::kPermissionDenied, "unlink root");
  ExpectError(jail_->Unlink("/missing"), PathError::kNotFound, "unlink missing");
  ASSERT_TRUE(jail_->Unlink("/file.txt").ok());
  EXPECT_FALSE(fs::exists(root_ / "file.txt"));
  // Deleting an in-root symlink removes the link, not its target.
  ASSERT_TRUE(jail_->Unlink("/in").ok());
  EXPECT_TRUE(fs::exists(root_ / "sub" / "nested.txt"));
}

TEST_F(PathJailTest, RenameOperations) {
  ASSERT_TRUE(jail_->Rename("/file.txt", "/sub/renamed.txt").ok());
  EXPECT_EQ(ReadHostFile(root_ / "sub" / "renamed.txt"), "inside");
  WriteHostFile(root_ / "other.txt", "other");
  ExpectError(jail_->Rename("/other.txt", "/sub/renamed.txt", PathJail::RenameMode::kNoReplace),
              PathError::kAlreadyExists, "no replace");
  ASSERT_TRUE(jail_->Rename("/other.txt", "/sub/renamed.txt").ok());
  EXPECT_EQ(ReadHostFile(root_ / "sub" / "renamed.txt"), "other");
  ExpectError(jail_->Rename("/sub", "/sub/inner"), PathError::kInvalidName, "into itself");
  ExpectError(jail_->Rename("/", "/x"), PathError::kPermissionDenied, "rename root");
  ExpectError(jail_->Rename("/sub", "/"), PathError::kPermissionDenied, "rename to root");
  ExpectError(jail_->Rename("/missing", "/x"), PathError::kNotFound, "rename missing");
}

TEST_F(PathJailTest, DirectoryReaderListsEverything) {
  // Enough long names to need several getdents64 calls.
  constexpr int kFiles = 600;
  fs::create_directory(root_ / "many");
  for (int i = 0; i < kFiles; ++i) {
    WriteHostFile(root_ / "many" / (std::string(100, 'f') + std::to_string(i)), "");
  }
  absl::StatusOr<DirectoryReader> dir = jail_->OpenDirectory("/many");
  ASSERT_TRUE(dir.ok()) << dir.status();
  int count = 0;
  DirectoryReader::Entry entry;
  while (true) {
    absl::StatusOr<bool> more = dir->Next(&entry);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) break;
    EXPECT_EQ(entry.name.substr(0, 100), std::string(100, 'f'));
    ++count;
  }
  EXPECT_EQ(count, kFiles);
}

TEST_F(PathJailTest, DirectoryReaderEntriesAndLstat) {
  absl::StatusOr<DirectoryReader> dir = jail_->OpenDirectory("/");
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::vector<std::string> names;
  DirectoryReader::Entry entry;
  while (*dir->Next(&entry)) {
    names.emplace_back(entry.name);
    absl::StatusOr<struct stat> st = dir->Lstat(entry);
    ASSERT_TRUE(st.ok()) << st.status();
    EXPECT_EQ(st->st_ino, entry.inode);
    if (entry.name == "out") {
      EXPECT_TRUE(S_ISLNK(st->st_mode));
    }
    if (entry.name == "sub") {
      EXPECT_TRUE(S_ISDIR(st->st_mode));
    }
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"abs_secret", "dangling_out", "etc", "file.txt", "in",
                                             "out", "sub"}));
  ExpectError(jail_->OpenDirectory("/file.txt").status(), PathError::kNotADirectory, "list file");
}

TEST_F(PathJailTest, SetModificationTime) {
  const struct timespec t = {1000000000, 500};
  ASSERT_TRUE(jail_->SetModificationTime("/file.txt", t).ok());
  absl::StatusOr<struct stat> st = jail_->Stat("/file.txt");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->st_mtim.tv_sec, 1000000000);
  EXPECT_EQ(st->st_mtim.tv_nsec, 500);
  // Through an in-root symlink, the target's time changes.
  ASSERT_TRUE(jail_->SetModificationTime("/in", {1100000000, 0}).ok());
  EXPECT_EQ(jail_->Stat("/sub/nested.txt")->st_mtim.tv_sec, 1100000000);
  ExpectError(jail_->SetModificationTime("/missing", t), PathError::kNotFound, "missing");
}

TEST(PathErrorTest, ReplyCodesAndTexts) {
  EXPECT_EQ(FtpReplyCode(PathError::kNotFound), 550);
  EXPECT_EQ(FtpReplyCode(PathError::kPermissionDenied), 550);
  EXPECT_EQ(FtpReplyCode(PathError::kInvalidName), 553);
  EXPECT_EQ(FtpReplyCode(PathError::kPathTooLong), 553);
  EXPECT_EQ(FtpReplyCode(PathError::kBusy), 450);
  EXPECT_EQ(FtpReplyCode(PathError::kIoError), 451);
  EXPECT_EQ(FtpReplyCode(PathError::kResourceLimit), 451);
  EXPECT_EQ(FtpReplyCode(PathError::kNoSpace), 452);
  EXPECT_EQ(FtpReplyCode(PathError::kQuotaExceeded), 552);
  EXPECT_EQ(PathErrorText(PathError::kEscapesRoot), "Path escapes root");
  EXPECT_EQ(GetPathError(absl::InternalError("elsewhere")), PathError::kIoError);
}

}  // namespace
}  // namespace tpslab::ftpd
