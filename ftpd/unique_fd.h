// UniqueFd: sole owner of a POSIX file descriptor, closed on destruction.
//
// The path jail hands out descriptors (files being transferred, directories
// being listed, parent directories of a rename) as UniqueFd so no error path
// can leak one.
//
//   UniqueFd fd(::open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC));
//   if (!fd.valid()) return ...;
//   ::fstat(fd.get(), &st);   // closed when `fd` goes out of scope
#ifndef TPSLAB_FTPD_UNIQUE_FD_H_
#define TPSLAB_FTPD_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace tpslab::ftpd {

class UniqueFd {
 public:
  // An empty holder (get() == -1).
  UniqueFd() = default;
  // Takes ownership of `fd`; -1 means "none".
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  // The descriptor, or -1. Ownership stays here.
  int get() const { return fd_; }
  // True when a descriptor is held.
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing; returns the descriptor.
  int release() { return std::exchange(fd_, -1); }
  // Closes the held descriptor (if any) and takes `fd` instead. close() errors
  // are ignored: on Linux the descriptor is gone either way, and callers that
  // need write errors reported (uploads) fsync before letting go.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_UNIQUE_FD_H_
