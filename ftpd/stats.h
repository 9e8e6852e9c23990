// Stats: the ftpd counters, registered once in a metrics::Registry (served
// as Prometheus text on the admin address) and kept as plain pointers, so
// that counting on the session path is one relaxed atomic add.
//
//   metrics::Registry registry;
//   absl::StatusOr<std::unique_ptr<Stats>> stats = Stats::Create(registry);
//   (*stats)->CountReply(226);
//   (*stats)->Reject(Rejection::kBounce);
#ifndef TPSLAB_FTPD_STATS_H_
#define TPSLAB_FTPD_STATS_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/metrics/registry.h"

namespace tpslab::ftpd {

// Why the server refused something (label "reason" of ftpd_rejections_total).
enum class Rejection : uint8_t {
  kMaxSessions,       // connection over max_sessions
  kMaxSessionsPerIp,  // connection over max_sessions_per_ip
  kLockout,           // login from a locked-out address
  kTooManyFailures,   // session closed after max_failed_logins
  kLineTooLong,       // control line over max_line
  kTimeout,           // pre-login or idle timeout
  kBounce,            // PORT/EPRT to another host or a privileged port
  kDataPeerMismatch,  // passive data connection from another address
  kPathEscape,        // path leaving the root or an invalid name
  kPermission,        // command denied by the account's permissions
  kTlsReuse,          // PROT P data connection without TLS session reuse
  kDataStray,         // passive data connection before its port was announced
};
inline constexpr int kRejectionCount = 12;

// Direction of a transfer (label "direction").
enum class Direction : uint8_t { kDownload, kUpload };

class Stats {
 public:
  // Registers every ftpd_ metric in `registry`, which must outlive the Stats.
  static absl::StatusOr<std::unique_ptr<Stats>> Create(metrics::Registry& registry);

  // A session started / ended.
  void SessionStarted() {
    sessions_total_->Inc();
    sessions_->Add(1);
  }
  void SessionEnded() { sessions_->Add(-1); }
  // A login succeeded / failed.
  void LoginOk() { logins_ok_->Inc(); }
  void LoginFailed() { logins_failed_->Inc(); }
  // A transfer completed (`ok`) or failed, having moved `bytes`.
  void Transfer(Direction direction, bool ok, uint64_t bytes);
  // A reply with `code` (100-599) was sent.
  void CountReply(int code) { replies_[static_cast<size_t>(code / 100 - 1) % 5]->Inc(); }
  // Something was refused.
  void Reject(Rejection reason) { rejections_[static_cast<size_t>(reason)]->Inc(); }

  // Current open sessions.
  int64_t sessions() const { return sessions_->Value(); }

 private:
  Stats() = default;
  metrics::Counter* sessions_total_ = nullptr;
  metrics::IntGauge* sessions_ = nullptr;
  metrics::Counter* logins_ok_ = nullptr;
  metrics::Counter* logins_failed_ = nullptr;
  // [direction][ok]
  std::array<std::array<metrics::Counter*, 2>, 2> transfers_{};
  std::array<metrics::Counter*, 2> bytes_{};
  std::array<metrics::Counter*, 5> replies_{};
  std::array<metrics::Counter*, kRejectionCount> rejections_{};
};

// The label value of `reason`, e.g. "bounce".
std::string_view RejectionName(Rejection reason);

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_STATS_H_
