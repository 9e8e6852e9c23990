#include "ftpd/path_jail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cassert>
#include <cstddef>
#include <cstring>
#include <random>

#include "absl/strings/cord.h"
#include "absl/strings/str_format.h"

namespace tpslab::ftpd {
namespace {

constexpr char kPayloadUrl[] = "type.tpslab/ftpd.PathError";

// How often openat2 is retried when RESOLVE_BENEATH reports a concurrent
// rename or mount (EAGAIN) before the operation gives up with kBusy.
constexpr int kMaxRaceRetries = 8;

// How many random temporary names BeginAtomicUpload tries.
constexpr int kMaxTempNameAttempts = 16;

// ".<name>.XXXXXX.part": the characters around the name.
constexpr size_t kTempNameOverhead = 1 + 1 + 6 + 5;

absl::StatusCode StatusCodeFor(PathError error) {
  switch (error) {
    case PathError::kInvalidName:
    case PathError::kNameTooLong:
    case PathError::kPathTooLong:
      return absl::StatusCode::kInvalidArgument;
    case PathError::kEscapesRoot:
    case PathError::kPermissionDenied:
    case PathError::kReadOnly:
      return absl::StatusCode::kPermissionDenied;
    case PathError::kNotFound:
      return absl::StatusCode::kNotFound;
    case PathError::kAlreadyExists:
      return absl::StatusCode::kAlreadyExists;
    case PathError::kNotADirectory:
    case PathError::kIsADirectory:
    case PathError::kNotEmpty:
    case PathError::kNotARegularFile:
    case PathError::kSymlinkRefused:
    case PathError::kCrossDevice:
      return absl::StatusCode::kFailedPrecondition;
    case PathError::kBusy:
      return absl::StatusCode::kUnavailable;
    case PathError::kNoSpace:
    case PathError::kQuotaExceeded:
    case PathError::kResourceLimit:
      return absl::StatusCode::kResourceExhausted;
    case PathError::kIoError:
      return absl::StatusCode::kInternal;
  }
  return absl::StatusCode::kInternal;
}

// `path` for a log message: control bytes as \xHH, at most 256 bytes shown.
std::string ForMessage(std::string_view path) {
  constexpr size_t kMaxShown = 256;
  std::string result;
  for (size_t i = 0; i < path.size() && i < kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(path[i]);
    if (c < 0x20 || c == 0x7F) {
      result += absl::StrFormat("\\x%02X", c);
    } else {
      result.push_back(static_cast<char>(c));
    }
  }
  if (path.size() > kMaxShown) result += absl::StrFormat("... (%d bytes)", path.size());
  return result;
}

// An error status "<op> <path>: <reason>" carrying `error` as its payload.
absl::Status MakeError(PathError error, std::string_view op, std::string_view path,
                       std::string_view reason) {
  absl::Status status(StatusCodeFor(error),
                      absl::StrFormat("%s %s: %s", op, ForMessage(path), reason));
  status.SetPayload(kPayloadUrl, absl::Cord(std::string(1, static_cast<char>(error))));
  return status;
}

PathError FromErrno(int err, bool exdev_means_escape) {
  switch (err) {
    case ENOENT:
      return PathError::kNotFound;
    case EACCES:
    case EPERM:
      return PathError::kPermissionDenied;
    case EEXIST:
      return PathError::kAlreadyExists;
    case ENOTDIR:
      return PathError::kNotADirectory;
    case EISDIR:
      return PathError::kIsADirectory;
    case ENOTEMPTY:
      return PathError::kNotEmpty;
    case ENXIO:
    case ENODEV:
      return PathError::kNotARegularFile;
    case ELOOP:
      return PathError::kSymlinkRefused;
    case EXDEV:
      return exdev_means_escape ? PathError::kEscapesRoot : PathError::kCrossDevice;
    case EROFS:
      return PathError::kReadOnly;
    case EBUSY:
    case ETXTBSY:
    case EAGAIN:
      return PathError::kBusy;
    case ENOSPC:
      return PathError::kNoSpace;
    case EDQUOT:
    case EFBIG:
      return PathError::kQuotaExceeded;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EMLINK:
      return PathError::kResourceLimit;
    case ENAMETOOLONG:
      return PathError::kNameTooLong;
    case EINVAL:
      return PathError::kInvalidName;
    default:
      return PathError::kIoError;
  }
}

// An error status for a failed system call. EXDEV means "escapes root" when
// it comes from openat2's RESOLVE_BENEATH and "cross-device" from rename.
absl::Status ErrnoError(int err, std::string_view op, std::string_view path,
                        bool exdev_means_escape) {
  const PathError error = FromErrno(err, exdev_means_escape);
  if (error == PathError::kEscapesRoot) return MakeError(error, op, path, "path escapes root");
  const char* description = strerrordesc_np(err);
  return MakeError(error, op, path,
                   absl::StrFormat("%s (%s)", description != nullptr ? description : "error",
                                   strerrorname_np(err) != nullptr ? strerrorname_np(err) : "?"));
}

// openat2(dirfd, path, flags, mode) confined beneath dirfd. Returns the new
// descriptor or -1 with errno set.
int Openat2(int dirfd, const char* path, uint64_t flags, mode_t mode, bool follow_symlinks) {
  struct open_how how;
  std::memset(&how, 0, sizeof(how));
  how.flags = flags | O_CLOEXEC;
  how.mode = (flags & O_CREAT) != 0 ? mode : 0;  // openat2 rejects a mode without O_CREAT
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  if (!follow_symlinks) how.resolve |= RESOLVE_NO_SYMLINKS;
  for (int attempt = 0;; ++attempt) {
    const long fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    if (fd >= 0) return static_cast<int>(fd);
    if (errno == EINTR) continue;
    if (errno == EAGAIN && attempt < kMaxRaceRetries) continue;
    return -1;
  }
}

// Copies the root-relative form of virtual path `path` ("/" -> ".",
// "/a/b" -> "a/b") NUL-terminated into `buf`.
absl::Status ToRelative(std::string_view op, std::string_view path,
                        std::array<char, PATH_MAX>* buf) {
  if (!PathJail::IsVirtualPath(path)) {
    return MakeError(PathError::kInvalidName, op, path, "not a normalized virtual path");
  }
  if (path.size() == 1) {
    (*buf)[0] = '.';
    (*buf)[1] = '\0';
  } else {
    std::memcpy(buf->data(), path.data() + 1, path.size() - 1);
    (*buf)[path.size() - 1] = '\0';
  }
  return absl::OkStatus();
}

// Writes ".<name>.XXXXXX.part" with six random alphanumerics into `out`,
// shortening `name` so the result fits NAME_MAX.
void MakeTempName(const char* name, std::array<char, NAME_MAX + 1>* out) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  // Names need only be unlikely to collide (O_EXCL settles collisions), so
  // a per-thread generator seeded once from the kernel spares a getrandom(2)
  // per upload.
  thread_local std::mt19937_64 generator = [] {
    std::array<std::uint32_t, 4> seed;
    arc4random_buf(seed.data(), sizeof(seed));
    std::seed_seq sequence(seed.begin(), seed.end());
    return std::mt19937_64(sequence);
  }();
  uint64_t random = generator();
  char suffix[7];
  for (int i = 0; i < 6; ++i, random >>= 8) {
    suffix[i] = kAlphabet[(random & 0xFF) % (sizeof(kAlphabet) - 1)];
  }
  suffix[6] = '\0';
  const size_t name_length = std::min(std::strlen(name), NAME_MAX - kTempNameOverhead);
  std::snprintf(out->data(), out->size(), ".%.*s.%s.part", static_cast<int>(name_length), name,
                suffix);
}

}  // namespace

int FtpReplyCode(PathError error) {
  switch (error) {
    case PathError::kInvalidName:
    case PathError::kNameTooLong:
    case PathError::kPathTooLong:
      return 553;
    case PathError::kBusy:
      return 450;
    case PathError::kNoSpace:
      return 452;
    case PathError::kQuotaExceeded:
      return 552;
    case PathError::kResourceLimit:
    case PathError::kIoError:
      return 451;
    default:
      return 550;
  }
}

std::string_view PathErrorText(PathError error) {
  switch (error) {
    case PathError::kInvalidName:
      return "File name not allowed";
    case PathError::kNameTooLong:
      return "File name too long";
    case PathError::kPathTooLong:
      return "Path too long";
    case PathError::kEscapesRoot:
      return "Path escapes root";
    case PathError::kNotFound:
      return "No such file or directory";
    case PathError::kPermissionDenied:
      return "Permission denied";
    case PathError::kAlreadyExists:
      return "File exists";
    case PathError::kNotADirectory:
      return "Not a directory";
    case PathError::kIsADirectory:
      return "Is a directory";
    case PathError::kNotEmpty:
      return "Directory not empty";
    case PathError::kNotARegularFile:
      return "Not a regular file";
    case PathError::kSymlinkRefused:
      return "Symbolic link refused";
    case PathError::kCrossDevice:
      return "Cannot rename across file systems";
    case PathError::kReadOnly:
      return "Read-only file system";
    case PathError::kBusy:
      return "File busy, try again";
    case PathError::kNoSpace:
      return "Insufficient storage space";
    case PathError::kQuotaExceeded:
      return "Exceeded storage allocation";
    case PathError::kResourceLimit:
      return "Local resource limit reached";
    case PathError::kIoError:
      return "Local error in processing";
  }
  return "Local error in processing";
}

PathError GetPathError(const absl::Status& status) {
  assert(!status.ok());
  const absl::optional<absl::Cord> payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value() || payload->size() != 1) return PathError::kIoError;
  const auto value = static_cast<unsigned char>((*payload)[0]);
  if (value > static_cast<unsigned char>(PathError::kIoError)) return PathError::kIoError;
  return static_cast<PathError>(value);
}

// ---------------------------------------------------------------------------
// Lexical resolution.

bool PathJail::IsVirtualPath(std::string_view path) {
  if (path.empty() || path.front() != '/' || path.size() >= PATH_MAX) return false;
  if (path.size() == 1) return true;
  size_t start = 1;
  while (true) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view component = path.substr(start, end - start);
    if (component.empty() || component == "." || component == ".." || component.size() > NAME_MAX) {
      return false;
    }
    for (char c : component) {
      if (c == '\0' || c == '\r' || c == '\n') return false;
    }
    if (end == path.size()) return true;
    start = end + 1;
  }
}

absl::Status PathJail::Resolve(std::string_view cwd, std::string_view argument, std::string* out) {
  out->clear();
  for (std::string_view text : {cwd, argument}) {
    if (text.size() >= PATH_MAX) {
      return MakeError(PathError::kPathTooLong, "resolve", text,
                       absl::StrFormat("%d bytes, PATH_MAX is %d", text.size(), PATH_MAX));
    }
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\0') {
        return MakeError(PathError::kInvalidName, "resolve", text,
                         absl::StrFormat("NUL byte at offset %d", i));
      }
      if (text[i] == '\r' || text[i] == '\n') {
        return MakeError(PathError::kInvalidName, "resolve", text,
                         absl::StrFormat("CR or LF byte at offset %d", i));
      }
    }
  }

  // Invariant: *out is "/" or "/a/b" (no trailing slash).
  out->push_back('/');
  const bool absolute = !argument.empty() && argument.front() == '/';
  for (std::string_view text : {absolute ? std::string_view() : cwd, argument}) {
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('/', start);
      if (end == std::string_view::npos) end = text.size();
      const std::string_view component = text.substr(start, end - start);
      start = end + 1;
      if (component.empty() || component == ".") continue;
      if (component == "..") {
        if (out->size() > 1) {
          const size_t slash = out->rfind('/');
          out->resize(slash == 0 ? 1 : slash);
        }
        continue;
      }
      if (component.size() > NAME_MAX) {
        return MakeError(
            PathError::kNameTooLong, "resolve", text,
            absl::StrFormat("a component of %d bytes, NAME_MAX is %d", component.size(), NAME_MAX));
      }
      if (out->size() > 1) out->push_back('/');
      out->append(component);
      if (out->size() >= PATH_MAX) {
        return MakeError(
            PathError::kPathTooLong, "resolve", text,
            absl::StrFormat("resolves to %d bytes or more, PATH_MAX is %d", out->size(), PATH_MAX));
      }
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Opening.

absl::StatusOr<PathJail> PathJail::Open(const std::string& root_dir, JailOptions options) {
  const int fd = ::open(root_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open root", root_dir, /*exdev_means_escape=*/false);
  UniqueFd root(fd);
  // Prove openat2 with RESOLVE_BENEATH works here (Linux 5.6+, not blocked
  // by a seccomp filter) before serving a single file.
  const int probe = Openat2(root.get(), ".", O_PATH | O_DIRECTORY, 0, true);
  if (probe < 0) {
    const int err = errno;
    return MakeError(PathError::kIoError, "open root", root_dir,
                     absl::StrFormat("openat2 with RESOLVE_BENEATH is unavailable (%s); the path "
                                     "jail needs Linux 5.6 or newer",
                                     strerrordesc_np(err) != nullptr ? strerrordesc_np(err) : "?"));
  }
  ::close(probe);
  return PathJail(std::move(root), options);
}

absl::StatusOr<UniqueFd> PathJail::OpenBeneath(std::string_view op, std::string_view path,
                                               uint64_t flags, mode_t mode) const {
  std::array<char, PATH_MAX> relative;
  if (absl::Status s = ToRelative(op, path, &relative); !s.ok()) return s;
  const int fd = Openat2(root_.get(), relative.data(), flags, mode, options_.follow_symlinks);
  if (fd < 0) return ErrnoError(errno, op, path, /*exdev_means_escape=*/true);
  return UniqueFd(fd);
}

absl::StatusOr<UniqueFd> PathJail::OpenParent(std::string_view op, std::string_view path,
                                              std::array<char, NAME_MAX + 1>* name) const {
  if (!IsVirtualPath(path)) {
    return MakeError(PathError::kInvalidName, op, path, "not a normalized virtual path");
  }
  if (path.size() == 1) {
    return MakeError(PathError::kPermissionDenied, op, path, "not permitted on the root directory");
  }
  const size_t slash = path.rfind('/');
  const std::string_view last = path.substr(slash + 1);
  std::memcpy(name->data(), last.data(), last.size());
  (*name)[last.size()] = '\0';
  absl::StatusOr<UniqueFd> parent = OpenBeneath(
      op, slash == 0 ? std::string_view("/") : path.substr(0, slash), O_PATH | O_DIRECTORY, 0);
  if (!parent.ok()) {
    // Name the path the client asked about next to the parent's failure.
    absl::Status status(parent.status().code(),
                        absl::StrFormat("%s (resolving the parent of %s)",
                                        std::string(parent.status().message()), ForMessage(path)));
    if (absl::optional<absl::Cord> payload = parent.status().GetPayload(kPayloadUrl)) {
      status.SetPayload(kPayloadUrl, *std::move(payload));
    }
    return status;
  }
  return parent;
}

absl::StatusOr<PathJail> PathJail::OpenSubJail(std::string_view path) const {
  absl::StatusOr<UniqueFd> fd = OpenBeneath("open root", path, O_PATH | O_DIRECTORY, 0);
  if (!fd.ok()) return fd.status();
  return PathJail(std::move(*fd), options_);
}

absl::StatusOr<PathJail::OpenFile> PathJail::OpenRegular(std::string_view op, std::string_view path,
                                                         uint64_t flags) const {
  absl::StatusOr<UniqueFd> fd =
      OpenBeneath(op, path, flags | O_NONBLOCK | O_NOCTTY, options_.file_mode);
  if (!fd.ok()) return fd.status();
  OpenFile file;
  if (::fstat(fd->get(), &file.st) != 0) return ErrnoError(errno, op, path, false);
  if (S_ISDIR(file.st.st_mode)) {
    return MakeError(PathError::kIsADirectory, op, path, "is a directory");
  }
  if (!S_ISREG(file.st.st_mode)) {
    return MakeError(PathError::kNotARegularFile, op, path, "not a regular file");
  }
  file.fd = std::move(*fd);
  return file;
}

absl::StatusOr<PathJail::OpenFile> PathJail::OpenForRead(std::string_view path) const {
  return OpenRegular("open", path, O_RDONLY);
}

absl::StatusOr<PathJail::OpenFile> PathJail::OpenForWrite(std::string_view path,
                                                          WriteMode mode) const {
  const uint64_t append = mode == WriteMode::kAppend ? O_APPEND : 0;
  return OpenRegular(mode == WriteMode::kAppend ? "append" : "resume", path,
                     O_WRONLY | O_CREAT | append);
}

// ---------------------------------------------------------------------------
// Names.

absl::StatusOr<struct stat> PathJail::Stat(std::string_view path) const {
  absl::StatusOr<UniqueFd> fd = OpenBeneath("stat", path, O_PATH, 0);
  if (!fd.ok()) return fd.status();
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return ErrnoError(errno, "stat", path, false);
  return st;
}

absl::StatusOr<struct stat> PathJail::Lstat(std::string_view path) const {
  struct stat st;
  if (path == "/") {
    if (::fstat(root_.get(), &st) != 0) return ErrnoError(errno, "lstat", path, false);
    return st;
  }
  std::array<char, NAME_MAX + 1> name;
  absl::StatusOr<UniqueFd> parent = OpenParent("lstat", path, &name);
  if (!parent.ok()) return parent.status();
  if (::fstatat(parent->get(), name.data(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(errno, "lstat", path, false);
  }
  return st;
}

absl::Status PathJail::MakeDirectory(std::string_view path) const {
  if (path == "/") return MakeError(PathError::kAlreadyExists, "mkdir", path, "the root exists");
  std::array<char, NAME_MAX + 1> name;
  absl::StatusOr<UniqueFd> parent = OpenParent("mkdir", path, &name);
  if (!parent.ok()) return parent.status();
  if (::mkdirat(parent->get(), name.data(), options_.directory_mode) != 0) {
    return ErrnoError(errno, "mkdir", path, false);
  }
  return absl::OkStatus();
}

absl::Status PathJail::RemoveDirectory(std::string_view path) const {
  std::array<char, NAME_MAX + 1> name;
  absl::StatusOr<UniqueFd> parent = OpenParent("rmdir", path, &name);
  if (!parent.ok()) return parent.status();
  if (::unlinkat(parent->get(), name.data(), AT_REMOVEDIR) != 0) {
    // Some file systems report a non-empty directory as EEXIST.
    const int err = errno == EEXIST ? ENOTEMPTY : errno;
    return ErrnoError(err, "rmdir", path, false);
  }
  return absl::OkStatus();
}

absl::Status PathJail::Unlink(std::string_view path) const {
  std::array<char, NAME_MAX + 1> name;
  absl::StatusOr<UniqueFd> parent = OpenParent("delete", path, &name);
  if (!parent.ok()) return parent.status();
  if (::unlinkat(parent->get(), name.data(), 0) != 0) {
    return ErrnoError(errno, "delete", path, false);
  }
  return absl::OkStatus();
}

absl::Status PathJail::Rename(std::string_view from, std::string_view to, RenameMode mode) const {
  std::array<char, NAME_MAX + 1> from_name;
  std::array<char, NAME_MAX + 1> to_name;
  absl::StatusOr<UniqueFd> from_parent = OpenParent("rename", from, &from_name);
  if (!from_parent.ok()) return from_parent.status();
  absl::StatusOr<UniqueFd> to_parent = OpenParent("rename to", to, &to_name);
  if (!to_parent.ok()) return to_parent.status();
  const unsigned flags = mode == RenameMode::kNoReplace ? RENAME_NOREPLACE : 0;
  if (::renameat2(from_parent->get(), from_name.data(), to_parent->get(), to_name.data(), flags) !=
      0) {
    return ErrnoError(errno, "rename", from, /*exdev_means_escape=*/false);
  }
  return absl::OkStatus();
}

absl::Status PathJail::SetModificationTime(std::string_view path,
                                           const struct timespec& mtime) const {
  absl::StatusOr<UniqueFd> fd = OpenBeneath("set time of", path, O_PATH, 0);
  if (!fd.ok()) return fd.status();
  const struct timespec times[2] = {{0, UTIME_OMIT}, mtime};
  if (::utimensat(fd->get(), "", times, AT_EMPTY_PATH) != 0) {
    return ErrnoError(errno, "set time of", path, false);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Uploads.

absl::StatusOr<AtomicUpload> PathJail::BeginAtomicUpload(std::string_view path) const {
  AtomicUpload upload;
  absl::StatusOr<UniqueFd> dir = OpenParent("upload", path, &upload.final_name_);
  if (!dir.ok()) return dir.status();
  // Refuse a directory target now rather than after receiving the data.
  struct stat st;
  if (::fstatat(dir->get(), upload.final_name_.data(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return MakeError(PathError::kIsADirectory, "upload", path, "is a directory");
    }
    upload.target_exists_ = true;
  }
  for (int attempt = 0; attempt < kMaxTempNameAttempts; ++attempt) {
    MakeTempName(upload.final_name_.data(), &upload.temp_name_);
    const int fd =
        Openat2(dir->get(), upload.temp_name_.data(), O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY,
                options_.file_mode, options_.follow_symlinks);
    if (fd >= 0) {
      upload.file_.reset(fd);
      upload.dir_ = std::move(*dir);
      upload.virtual_path_ = std::string(path);
      upload.pending_ = true;
      return upload;
    }
    if (errno != EEXIST) return ErrnoError(errno, "upload", path, /*exdev_means_escape=*/true);
  }
  return MakeError(PathError::kBusy, "upload", path, "no free temporary name");
}

AtomicUpload::AtomicUpload(AtomicUpload&& other) noexcept
    : dir_(std::move(other.dir_)),
      file_(std::move(other.file_)),
      temp_name_(other.temp_name_),
      final_name_(other.final_name_),
      virtual_path_(std::move(other.virtual_path_)),
      pending_(std::exchange(other.pending_, false)),
      target_exists_(other.target_exists_) {}

AtomicUpload& AtomicUpload::operator=(AtomicUpload&& other) noexcept {
  if (this != &other) {
    Abort();
    dir_ = std::move(other.dir_);
    file_ = std::move(other.file_);
    temp_name_ = other.temp_name_;
    final_name_ = other.final_name_;
    virtual_path_ = std::move(other.virtual_path_);
    pending_ = std::exchange(other.pending_, false);
    target_exists_ = other.target_exists_;
  }
  return *this;
}

AtomicUpload::~AtomicUpload() { Abort(); }

void AtomicUpload::Abort() {
  file_.reset();
  if (pending_) {
    ::unlinkat(dir_.get(), temp_name_.data(), 0);
    pending_ = false;
  }
}

// Flushes and closes the temporary (fsync first if `data`). Close errors
// count: on NFS and with quotas, a failed write may only show up there.
absl::Status AtomicUpload::Sync(bool data) {
  if (data && ::fsync(file_.get()) != 0) {
    const int err = errno;
    Abort();
    return ErrnoError(err, "fsync upload", virtual_path_, false);
  }
  if (::close(file_.release()) != 0) {
    const int err = errno;
    Abort();
    return ErrnoError(err, "close upload", virtual_path_, false);
  }
  return absl::OkStatus();
}

absl::Status AtomicUpload::Commit(bool sync) {
  assert(pending_);
  if (!pending_) {
    return MakeError(PathError::kIoError, "commit", virtual_path_, "no upload in progress");
  }
  if (absl::Status s = Sync(sync); !s.ok()) return s;
  if (::renameat(dir_.get(), temp_name_.data(), dir_.get(), final_name_.data()) != 0) {
    const int err = errno;
    Abort();
    return ErrnoError(err, "commit", virtual_path_, false);
  }
  pending_ = false;
  if (sync) {
    // dir_ is O_PATH, which fsync refuses; reopen it for reading.
    UniqueFd dir(::openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid() || ::fsync(dir.get()) != 0) {
      return ErrnoError(errno, "fsync directory of", virtual_path_, false);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AtomicUpload::CommitUnique(bool sync) {
  assert(pending_);
  if (!pending_) {
    return MakeError(PathError::kIoError, "commit", virtual_path_, "no upload in progress");
  }
  if (absl::Status s = Sync(sync); !s.ok()) return s;
  constexpr int kMaxSuffix = 999;
  std::array<char, NAME_MAX + 1> candidate;
  for (int suffix = 0; suffix <= kMaxSuffix; ++suffix) {
    int length = suffix == 0
                     ? std::snprintf(candidate.data(), candidate.size(), "%s", final_name_.data())
                     : std::snprintf(candidate.data(), candidate.size(), "%s.%d",
                                     final_name_.data(), suffix);
    if (length < 0 || static_cast<size_t>(length) > NAME_MAX) {
      Abort();
      return MakeError(PathError::kNameTooLong, "commit", virtual_path_,
                       "no room for a unique suffix");
    }
    int result =
        ::renameat2(dir_.get(), temp_name_.data(), dir_.get(), candidate.data(), RENAME_NOREPLACE);
    if (result != 0 && errno == EINVAL) {
      // The file system lacks RENAME_NOREPLACE: link(2) also never replaces.
      result = ::linkat(dir_.get(), temp_name_.data(), dir_.get(), candidate.data(), 0);
      if (result == 0) ::unlinkat(dir_.get(), temp_name_.data(), 0);
    }
    if (result == 0) {
      pending_ = false;
      if (sync) {
        UniqueFd dir(::openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir.valid() || ::fsync(dir.get()) != 0) {
          return ErrnoError(errno, "fsync directory of", virtual_path_, false);
        }
      }
      return std::string(candidate.data(), static_cast<size_t>(length));
    }
    if (errno != EEXIST) {
      const int err = errno;
      Abort();
      return ErrnoError(err, "commit", virtual_path_, false);
    }
  }
  Abort();
  return MakeError(PathError::kAlreadyExists, "commit", virtual_path_, "no free unique name");
}

// ---------------------------------------------------------------------------
// Directories.

absl::StatusOr<DirectoryReader> PathJail::OpenDirectory(std::string_view path) const {
  absl::StatusOr<UniqueFd> fd = OpenBeneath("list", path, O_RDONLY | O_DIRECTORY | O_NONBLOCK, 0);
  if (!fd.ok()) return fd.status();
  return DirectoryReader(std::move(*fd));
}

DirectoryReader::DirectoryReader(UniqueFd dir)
    : dir_(std::move(dir)), buffer_(std::make_unique_for_overwrite<char[]>(kBufferSize)) {}

absl::StatusOr<bool> DirectoryReader::Next(Entry* entry) {
  while (true) {
    if (offset_ >= filled_) {
      const ssize_t n = ::getdents64(dir_.get(), buffer_.get(), kBufferSize);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(errno, "read", "directory", false);
      }
      if (n == 0) return false;
      filled_ = static_cast<size_t>(n);
      offset_ = 0;
    }
    // Fields are copied out rather than read through a dirent64 pointer.
    const char* record = buffer_.get() + offset_;
    unsigned short record_length;
    std::memcpy(&record_length, record + offsetof(struct dirent64, d_reclen),
                sizeof(record_length));
    if (record_length == 0 || offset_ + record_length > filled_) {
      return MakeError(PathError::kIoError, "read", "directory", "malformed getdents64 record");
    }
    offset_ += record_length;
    const char* name = record + offsetof(struct dirent64, d_name);
    const size_t name_length = strnlen(name, record_length - offsetof(struct dirent64, d_name));
    const std::string_view name_view(name, name_length);
    if (name_view == "." || name_view == "..") continue;
    entry->name = name_view;
    std::memcpy(&entry->type, record + offsetof(struct dirent64, d_type), sizeof(entry->type));
    uint64_t inode;
    std::memcpy(&inode, record + offsetof(struct dirent64, d_ino), sizeof(inode));
    entry->inode = static_cast<ino_t>(inode);
    return true;
  }
}

absl::StatusOr<struct stat> DirectoryReader::Lstat(const Entry& entry) const {
  struct stat st;
  // entry.name points at a NUL-terminated d_name inside buffer_.
  if (::fstatat(dir_.get(), entry.name.data(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(errno, "lstat", entry.name, false);
  }
  return st;
}

}  // namespace tpslab::ftpd
