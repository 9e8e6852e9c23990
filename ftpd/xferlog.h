// Xferlog: the transfer log in the wu-ftpd/vsftpd "xferlog" format that log
// analyzers read, one line per completed or failed transfer:
//
//   Sat Nov 28 02:41:09 2026 1 127.0.0.1 1024 /alice/f.bin b _ o r alice ftp 0 * c
//
// (current time, seconds taken, remote host, bytes, file, a|b type, special
// action "_", o(utgoing)/i(ncoming), a(nonymous)/r(eal) user, user name,
// service, authentication method 0, user id "*", c(omplete)/i(ncomplete)).
//
//   absl::StatusOr<std::unique_ptr<Xferlog>> log = Xferlog::Open("/var/log/xferlog");
//   (*log)->Record({.seconds = 1, .remote_host = "127.0.0.1", ...});
#ifndef TPSLAB_FTPD_XFERLOG_H_
#define TPSLAB_FTPD_XFERLOG_H_

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ftpd/unique_fd.h"

namespace tpslab::ftpd {

// One transfer, as logged.
struct XferRecord {
  std::time_t end_time = 0;  // when the transfer ended (seconds since epoch)
  int64_t seconds = 0;       // how long it took, rounded
  std::string_view remote_host;
  uint64_t bytes = 0;
  std::string_view path;  // virtual path; spaces are written as '_'
  bool ascii = false;     // TYPE A
  bool incoming = false;  // upload
  bool anonymous = false;
  std::string_view user;
  bool complete = true;
};

// Formats `record` as one xferlog line, with its newline.
std::string FormatXferLine(const XferRecord& record);

class Xferlog {
 public:
  // Opens (creating, mode 0640) `path` for appending.
  static absl::StatusOr<std::unique_ptr<Xferlog>> Open(const std::string& path);

  // Appends one line with a single write(2) to an O_APPEND file, so lines
  // from concurrent sessions never interleave. Thread-safe. Errors are
  // dropped (a full disk must not stop transfers).
  void Record(const XferRecord& record);

 private:
  explicit Xferlog(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_XFERLOG_H_
