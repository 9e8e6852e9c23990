// A /proc or /sys file kept open and re-read with pread(2) from offset 0
// into a reusable buffer, so a collector reading it every interval does no
// open/close and, once the buffer has grown to fit, no allocation.
//
//   ProcFile stat("/proc/stat");
//   absl::StatusOr<std::string_view> text = stat.Read();  // valid until the next Read()
//   if (!text.ok()) ...;  // "cannot open /proc/stat: No such file or directory"
//
// Files of a process (/proc/PID/...) fail with NotFound once it has exited
// (the kernel answers ESRCH on the old descriptor), which is what callers
// need to notice a vanished process even if the pid is reused.
#ifndef TPSLAB_MONITOR_PROC_FILE_H_
#define TPSLAB_MONITOR_PROC_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tpslab::monitor {

class ProcFile {
 public:
  // Does not open yet; the first Read() does. `initial_capacity` is the
  // buffer's first size in bytes (it doubles while a read fills it).
  explicit ProcFile(std::string path, std::size_t initial_capacity = 4096);
  ~ProcFile();
  ProcFile(ProcFile&& other) noexcept;
  ProcFile& operator=(ProcFile&& other) noexcept;
  ProcFile(const ProcFile&) = delete;
  ProcFile& operator=(const ProcFile&) = delete;

  // Reads the whole file. The view stays valid until the next Read() or the
  // object's destruction. Errors: NotFound (ENOENT, ESRCH: the file or its
  // process is gone), PermissionDenied, Internal for other errno values; the
  // message names the path. After an error the file is closed and the next
  // Read() reopens it.
  absl::StatusOr<std::string_view> Read();

  const std::string& path() const { return path_; }

 private:
  void Close();

  std::string path_;
  int fd_ = -1;
  std::string buffer_;
};

// Reads a whole file once (open, read, close), for files read rarely such as
// /proc/PID/cmdline. Same errors as ProcFile::Read().
absl::StatusOr<std::string> ReadFileOnce(const std::string& path);

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_PROC_FILE_H_
