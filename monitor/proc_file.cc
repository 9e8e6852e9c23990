#include "monitor/proc_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <utility>

#include "absl/status/status.h"
#include "monitor/text_fields.h"

namespace tpslab::monitor {
namespace {

absl::Status ErrnoStatus(int error, std::string_view what, const std::string& path) {
  std::string message = Cat("cannot ", what, " ", path, ": ", strerror(error));
  switch (error) {
    case ENOENT:
    case ESRCH:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace

ProcFile::ProcFile(std::string path, std::size_t initial_capacity)
    : path_(std::move(path)), buffer_(initial_capacity > 0 ? initial_capacity : 4096, '\0') {}

ProcFile::~ProcFile() { Close(); }

ProcFile::ProcFile(ProcFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)) {}

ProcFile& ProcFile::operator=(ProcFile&& other) noexcept {
  if (this != &other) {
    Close();
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

void ProcFile::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::StatusOr<std::string_view> ProcFile::Read() {
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return ErrnoStatus(errno, "open", path_);
  }
  std::size_t size = 0;
  for (;;) {
    if (size == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    ssize_t n =
        ::pread(fd_, buffer_.data() + size, buffer_.size() - size, static_cast<off_t>(size));
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      Close();
      return ErrnoStatus(error, "read", path_);
    }
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  return std::string_view(buffer_.data(), size);
}

absl::StatusOr<std::string> ReadFileOnce(const std::string& path) {
  ProcFile file(path, 4096);
  absl::StatusOr<std::string_view> text = file.Read();
  if (!text.ok()) return text.status();
  return std::string(*text);
}

}  // namespace tpslab::monitor
