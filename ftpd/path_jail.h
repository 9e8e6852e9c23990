// PathJail: every file system access of an FTP session, confined beneath the
// user's root directory by the kernel.
//
// Two steps, and nothing else touches the file system:
//
//  1. PathJail::Resolve(cwd, argument) turns what the client typed into a
//     *virtual path*: absolute, normalized, "/" meaning the user's root. It is
//     purely lexical: ".", ".." and repeated slashes are folded, ".." stops at
//     "/", and names the server will not handle (NUL, CR, LF, a component
//     longer than NAME_MAX, a path of PATH_MAX bytes or more) are refused.
//     "%2e%2e", "..\" and the like stay literal names: there is no decoding.
//
//  2. The operations (OpenForRead, Stat, MakeDirectory, Rename, ...) take a
//     virtual path and reach the file through openat2(2) relative to the
//     root's O_PATH descriptor with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS.
//     The kernel then refuses any resolution that would leave the root: an
//     absolute symlink, a symlink whose ".." climbs out, a /proc magic link.
//     Those fail with PathError::kEscapesRoot. (When a concurrent rename
//     keeps the kernel from proving that a ".." stays inside, openat2 says
//     EAGAIN; that is retried a few times, then reported as kBusy.)
//     Operations on a name (mkdir, rmdir, unlink, rename, lstat, the upload
//     temporary) first open the *parent* directory that way and then act on
//     the last component alone with the *at(2) call, which never follows a
//     symlink in that last component. So the lexical step is a convenience
//     for users and logs; the guarantee comes from the kernel, and holds even
//     when the tree changes under the server (a user replacing a directory by
//     a symlink between two commands gains nothing).
//
// Symlinks that stay inside the root are followed (that is what
// RESOLVE_BENEATH allows); set JailOptions::follow_symlinks = false to refuse
// every symlink in every component instead (RESOLVE_NO_SYMLINKS). A symlink
// that leads out is refused whichever way it is reached. The paths that
// operations see are relative to the root fd, so the process's working
// directory, chroot and the root's own host path play no part after Open().
//
// Not covered, by design: the server process's own Unix permissions still
// apply beneath the root (run it as an unprivileged user that owns the tree);
// a hard link or bind mount that someone with shell access placed inside the
// root is part of the root (fs.protected_hardlinks limits who can link to
// files they do not own); and names are bytes, so two Unicode spellings of
// one name are two names.
//
// Blocking: every operation is a few file system system calls and can block
// on slow storage (NFS, a spun-down disk) like any file I/O. None blocks on
// another party: files are opened with O_NONBLOCK, so a FIFO, a device or a
// file under a lease fails at once instead of waiting (a FIFO or device is
// then refused with kNotARegularFile; a lease gives kBusy). Callers that must
// never stall an event loop run these calls on a worker thread.
//
// Thread safety: a PathJail is immutable after Open(); every method is const
// and may be called from any number of threads at once.
//
// Example:
//
//   absl::StatusOr<PathJail> jail = PathJail::Open("/srv/ftp/alice");
//   std::string path;
//   absl::Status s = PathJail::Resolve(session.cwd, command.argument, &path);
//   if (!s.ok()) return Reply(FtpReplyCode(GetPathError(s)), ...);   // 553
//   absl::StatusOr<PathJail::OpenFile> file = jail->OpenForRead(path);
//   if (!file.ok()) return Reply(FtpReplyCode(GetPathError(file.status())), ...);
//   sendfile(data_socket, file->fd.get(), nullptr, file->st.st_size);
#ifndef TPSLAB_FTPD_PATH_JAIL_H_
#define TPSLAB_FTPD_PATH_JAIL_H_

#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ftpd/unique_fd.h"

namespace tpslab::ftpd {

// Why a path operation failed. Every error status returned by this file
// carries one (see GetPathError); the comment gives the errno values it
// stands for and the FTP reply FtpReplyCode() picks.
enum class PathError : uint8_t {
  // A name the server will not use: NUL, CR or LF in it, "/" where a name is
  // needed, an argument that is not a normalized virtual path, EINVAL.
  // Reply 553 (file name not allowed).
  kInvalidName,
  // A component longer than NAME_MAX (255) bytes; ENAMETOOLONG. Reply 553.
  kNameTooLong,
  // A path of PATH_MAX (4096) bytes or more. Reply 553.
  kPathTooLong,
  // Resolution would leave the root (EXDEV from openat2): an absolute
  // symlink, a symlink climbing out with "..", a magic link. Reply 550.
  kEscapesRoot,
  // ENOENT. Reply 550.
  kNotFound,
  // EACCES, EPERM; also the root directory itself as the object of rmdir,
  // unlink or rename. Reply 550.
  kPermissionDenied,
  // EEXIST (mkdir of an existing name, rename without replace). Reply 550.
  kAlreadyExists,
  // ENOTDIR: a component or the object is not a directory. Reply 550.
  kNotADirectory,
  // EISDIR: a directory where a file is needed. Reply 550.
  kIsADirectory,
  // ENOTEMPTY: rmdir of a non-empty directory. Reply 550.
  kNotEmpty,
  // A FIFO, socket or device where a regular file is needed (ENXIO,
  // ENODEV). Reply 550.
  kNotARegularFile,
  // ELOOP: a symlink loop, or a symlink while follow_symlinks is false.
  // Reply 550.
  kSymlinkRefused,
  // EXDEV from rename: source and target on different file systems (a mount
  // inside the root). Reply 550.
  kCrossDevice,
  // EROFS. Reply 550.
  kReadOnly,
  // EBUSY, ETXTBSY, EAGAIN/EWOULDBLOCK (a lease, a retried rename race).
  // Reply 450 (file unavailable, try again).
  kBusy,
  // ENOSPC. Reply 452 (insufficient storage).
  kNoSpace,
  // EDQUOT, EFBIG. Reply 552 (exceeded storage allocation).
  kQuotaExceeded,
  // EMFILE, ENFILE, ENOMEM, EMLINK: a local resource limit. Reply 451.
  kResourceLimit,
  // EIO and anything not listed above. Reply 451 (local error).
  kIoError,
};

// The FTP reply code for `error` (550, 553, 450, 451, 452 or 552).
int FtpReplyCode(PathError error);

// A short reply text for the client that names no host path, e.g.
// "No such file or directory", "Path escapes root".
std::string_view PathErrorText(PathError error);

// The PathError carried by an error status from this file; kIoError for a
// status from elsewhere. `status` must not be OK (asserted).
PathError GetPathError(const absl::Status& status);

// What a jail allows beyond confinement.
struct JailOptions {
  // Follow symlinks that resolve inside the root. Default true. When false,
  // any symlink in any component is refused with kSymlinkRefused.
  bool follow_symlinks = true;
  // Mode of created files, before the process umask. Default 0644.
  mode_t file_mode = 0644;
  // Mode of created directories, before the process umask. Default 0755.
  mode_t directory_mode = 0755;
};

class AtomicUpload;
class DirectoryReader;

class PathJail {
 public:
  // Opens `root_dir` (a host path, the only one this class ever sees) as the
  // jail's root and checks that the kernel supports openat2 with
  // RESOLVE_BENEATH (Linux 5.6+). Fails (kIoError, message naming the
  // directory and the reason) rather than serve files without that check.
  static absl::StatusOr<PathJail> Open(const std::string& root_dir, JailOptions options = {});

  // Normalizes `argument` (absolute, or relative to `cwd`) into a virtual
  // path written to `*out` (cleared first; reuses its capacity). `cwd` is the
  // session's virtual working directory and is normalized too, so it need not
  // be. An empty argument gives `cwd`. Purely lexical; touches nothing.
  // Errors: kInvalidName (NUL, CR or LF anywhere), kNameTooLong (a component
  // over NAME_MAX bytes), kPathTooLong (result, or input, of PATH_MAX bytes or
  // more). `out` must not alias `cwd` or `argument`.
  static absl::Status Resolve(std::string_view cwd, std::string_view argument, std::string* out);

  // True when `path` is what Resolve produces: "/" or "/name(/name)*" with no
  // "." or ".." component, no NUL/CR/LF, and within the length limits. Every
  // operation below checks this first (kInvalidName otherwise).
  static bool IsVirtualPath(std::string_view path);

  // A jail rooted at directory `path` of this one (a user's home inside the
  // server root), with the same options. The new root is reached beneath this
  // one, so it cannot be outside it either.
  absl::StatusOr<PathJail> OpenSubJail(std::string_view path) const;

  // An open regular file and its attributes at open time.
  struct OpenFile {
    UniqueFd fd;
    struct stat st;
  };

  // Opens a regular file for reading (RETR). The descriptor has O_NONBLOCK
  // set, which regular-file reads and sendfile ignore. kIsADirectory for a
  // directory, kNotARegularFile for anything else that is not a regular file.
  absl::StatusOr<OpenFile> OpenForRead(std::string_view path) const;

  // How OpenForWrite treats an existing file.
  enum class WriteMode : uint8_t {
    kAppend,  // APPE: O_APPEND, every write goes to the end
    kResume,  // REST n + STOR: nothing truncated; the caller writes from n
  };
  // Opens (creating with JailOptions::file_mode if missing) a regular file
  // for writing in place, following a final symlink inside the root like
  // OpenForRead; O_NONBLOCK is set, as there. Plain STOR should use
  // BeginAtomicUpload instead.
  absl::StatusOr<OpenFile> OpenForWrite(std::string_view path, WriteMode mode) const;

  // Starts an upload that replaces `path` only when complete: creates
  // ".<name>.XXXXXX.part" (O_EXCL, random suffix) in the target's directory.
  // The caller writes to AtomicUpload::fd() and calls Commit(); if it does
  // not (error, abort, disconnect), the temporary is removed and `path` is
  // untouched. A symlink at `path` is replaced, not written through.
  absl::StatusOr<AtomicUpload> BeginAtomicUpload(std::string_view path) const;

  // Attributes of `path`, following a final symlink that resolves inside
  // the root (kEscapesRoot for one that does not).
  absl::StatusOr<struct stat> Stat(std::string_view path) const;

  // Attributes of `path` itself: a final symlink is not followed.
  absl::StatusOr<struct stat> Lstat(std::string_view path) const;

  // Creates directory `path` with JailOptions::directory_mode (MKD).
  absl::Status MakeDirectory(std::string_view path) const;

  // Removes the empty directory `path` (RMD). The root itself: kPermissionDenied.
  absl::Status RemoveDirectory(std::string_view path) const;

  // Removes the non-directory `path` (DELE); a symlink is removed itself.
  // A directory gives kIsADirectory; the root, kPermissionDenied.
  absl::Status Unlink(std::string_view path) const;

  // Whether Rename may replace an existing target.
  enum class RenameMode : uint8_t {
    kReplace,    // rename(2) semantics: an existing target is replaced atomically
    kNoReplace,  // fail with kAlreadyExists if the target exists
  };
  // Renames `from` to `to` (RNFR/RNTO). Both parents are opened beneath the
  // root; the last components are moved as they are (a symlink moves as a
  // symlink). Renaming the root, or to the root: kPermissionDenied.
  absl::Status Rename(std::string_view from, std::string_view to,
                      RenameMode mode = RenameMode::kReplace) const;

  // Opens directory `path` for listing (LIST, NLST, MLSD).
  absl::StatusOr<DirectoryReader> OpenDirectory(std::string_view path) const;

  // Sets the modification time of `path` (MFMT), following a final symlink
  // inside the root; the access time is left alone.
  absl::Status SetModificationTime(std::string_view path, const struct timespec& mtime) const;

  // The root's O_PATH descriptor, for callers that need fstat of the root.
  int root_fd() const { return root_.get(); }
  const JailOptions& options() const { return options_; }

 private:
  PathJail(UniqueFd root, JailOptions options) : root_(std::move(root)), options_(options) {}

  // openat2(root, relative path of `path`, flags, mode) beneath the root.
  absl::StatusOr<UniqueFd> OpenBeneath(std::string_view op, std::string_view path, uint64_t flags,
                                       mode_t mode) const;
  // Opens the parent directory of `path` (O_PATH) and copies the last
  // component into `name`. The root itself has no parent: kPermissionDenied.
  absl::StatusOr<UniqueFd> OpenParent(std::string_view op, std::string_view path,
                                      std::array<char, NAME_MAX + 1>* name) const;
  absl::StatusOr<OpenFile> OpenRegular(std::string_view op, std::string_view path,
                                       uint64_t flags) const;

  UniqueFd root_;
  JailOptions options_;
};

// An upload in progress under a temporary name (see
// PathJail::BeginAtomicUpload). Move-only; destroying it without a
// successful Commit removes the temporary file.
class AtomicUpload {
 public:
  AtomicUpload(AtomicUpload&& other) noexcept;
  AtomicUpload& operator=(AtomicUpload&& other) noexcept;
  ~AtomicUpload();

  // The temporary file, open for writing (O_WRONLY, O_NONBLOCK is not set).
  int fd() const { return file_.get(); }
  // The temporary's name in the target directory, for logs.
  std::string_view temp_name() const { return temp_name_.data(); }
  // True when something (not a directory) was at the target path when the
  // upload began: Commit will replace it.
  bool target_exists() const { return target_exists_; }

  // Moves the temporary into place, replacing any file at the target path
  // atomically: readers see the old content or the new, never a mix. With
  // `sync`, the data is fsync'ed before the rename and the directory after
  // it, so the new file survives a crash once Commit returns. On error the
  // temporary is removed and the target is untouched, except when only that
  // last directory fsync fails: the new file is then in place and the error
  // says so ("fsync directory of ..."). Call Commit or CommitUnique at most
  // once; close errors (which NFS and quotas may report late) count as
  // failures.
  absl::Status Commit(bool sync = false);

  // For STOU: like Commit, but never replaces anything; the first free name
  // of "<name>", "<name>.1", ... "<name>.999" is taken and returned.
  absl::StatusOr<std::string> CommitUnique(bool sync = false);

  // Removes the temporary (if still there) and closes it. Idempotent.
  void Abort();

 private:
  friend class PathJail;
  AtomicUpload() = default;
  absl::Status Sync(bool data);

  UniqueFd dir_;
  UniqueFd file_;
  std::array<char, NAME_MAX + 1> temp_name_{};
  std::array<char, NAME_MAX + 1> final_name_{};
  std::string virtual_path_;  // for error messages
  bool pending_ = false;      // temporary exists and is ours to remove
  bool target_exists_ = false;
};

// Reads a directory's entries with getdents64(2) into one 32 KiB buffer.
//
//   absl::StatusOr<DirectoryReader> dir = jail.OpenDirectory("/pub");
//   DirectoryReader::Entry entry;
//   while (true) {
//     absl::StatusOr<bool> more = dir->Next(&entry);
//     if (!more.ok() || !*more) break;
//     absl::StatusOr<struct stat> st = dir->Lstat(entry);
//   }
class DirectoryReader {
 public:
  struct Entry {
    // The name, NUL-terminated in the reader's buffer; valid until the next
    // call of Next().
    std::string_view name;
    unsigned char type = 0;  // DT_REG, DT_DIR, DT_LNK, ... or DT_UNKNOWN
    ino_t inode = 0;
  };

  DirectoryReader(DirectoryReader&&) noexcept = default;
  DirectoryReader& operator=(DirectoryReader&&) noexcept = default;

  // Reads the next entry, skipping "." and "..". Returns false at the end.
  absl::StatusOr<bool> Next(Entry* entry);

  // Attributes of `entry` itself (fstatat with AT_SYMLINK_NOFOLLOW relative
  // to this directory; `entry` is one component, so nothing is resolved).
  // To show what an in-root symlink points to, Stat() its virtual path.
  absl::StatusOr<struct stat> Lstat(const Entry& entry) const;

  // The directory's descriptor (O_RDONLY | O_DIRECTORY), e.g. for fstat.
  int fd() const { return dir_.get(); }

 private:
  friend class PathJail;
  static constexpr size_t kBufferSize = 32 * 1024;
  explicit DirectoryReader(UniqueFd dir);

  UniqueFd dir_;
  std::unique_ptr<char[]> buffer_;
  size_t filled_ = 0;
  size_t offset_ = 0;
};

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_PATH_JAIL_H_
