#include "ftpd/xferlog.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace tpslab::ftpd {

std::string FormatXferLine(const XferRecord& r) {
  struct tm tm;
  gmtime_r(&r.end_time, &tm);
  char when[64];
  strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm);
  std::string path(r.path);
  for (char& c : path) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') c = '_';
  }
  return absl::StrFormat("%s %d %s %d %s %c _ %c %c %s ftp 0 * %c\n", when, r.seconds,
                         std::string(r.remote_host), r.bytes, path, r.ascii ? 'a' : 'b',
                         r.incoming ? 'i' : 'o', r.anonymous ? 'a' : 'r', std::string(r.user),
                         r.complete ? 'c' : 'i');
}

absl::StatusOr<std::unique_ptr<Xferlog>> Xferlog::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd.valid()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot open xferlog %s: %s", path, strerror(errno)));
  }
  return std::unique_ptr<Xferlog>(new Xferlog(std::move(fd)));
}

void Xferlog::Record(const XferRecord& record) {
  const std::string line = FormatXferLine(record);
  [[maybe_unused]] ssize_t n = ::write(fd_.get(), line.data(), line.size());
}

}  // namespace tpslab::ftpd
