#include "ftpd/stats.h"

#include <string>

namespace tpslab::ftpd {

std::string_view RejectionName(Rejection reason) {
  switch (reason) {
    case Rejection::kMaxSessions:
      return "max_sessions";
    case Rejection::kMaxSessionsPerIp:
      return "max_sessions_per_ip";
    case Rejection::kLockout:
      return "lockout";
    case Rejection::kTooManyFailures:
      return "too_many_failures";
    case Rejection::kLineTooLong:
      return "line_too_long";
    case Rejection::kTimeout:
      return "timeout";
    case Rejection::kBounce:
      return "bounce";
    case Rejection::kDataPeerMismatch:
      return "data_peer_mismatch";
    case Rejection::kPathEscape:
      return "path_escape";
    case Rejection::kPermission:
      return "permission";
    case Rejection::kTlsReuse:
      return "tls_session_not_reused";
    case Rejection::kDataStray:
      return "data_stray";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<Stats>> Stats::Create(metrics::Registry& registry) {
  std::unique_ptr<Stats> stats(new Stats());
  auto counter = [&](std::string_view name, std::string_view help, metrics::Labels labels,
                     metrics::Counter** out) -> absl::Status {
    absl::StatusOr<metrics::Counter*> c = registry.GetCounter(name, help, labels);
    if (!c.ok()) return c.status();
    *out = *c;
    return absl::OkStatus();
  };
  absl::Status s;
  s.Update(counter("ftpd_sessions_total", "Control connections accepted as sessions.", {},
                   &stats->sessions_total_));
  absl::StatusOr<metrics::IntGauge*> gauge =
      registry.GetIntGauge("ftpd_sessions", "Sessions open now.");
  if (!gauge.ok()) return gauge.status();
  stats->sessions_ = *gauge;
  s.Update(counter("ftpd_logins_total", "Login attempts by result.", {{"result", "ok"}},
                   &stats->logins_ok_));
  s.Update(counter("ftpd_logins_total", "Login attempts by result.", {{"result", "failed"}},
                   &stats->logins_failed_));
  const char* directions[2] = {"download", "upload"};
  const char* results[2] = {"failed", "ok"};
  for (int d = 0; d < 2; ++d) {
    for (int ok = 0; ok < 2; ++ok) {
      s.Update(counter("ftpd_transfers_total", "Data transfers by direction and result.",
                       {{"direction", directions[d]}, {"result", results[ok]}},
                       &stats->transfers_[d][ok]));
    }
    s.Update(counter("ftpd_transfer_bytes_total", "Data bytes transferred by direction.",
                     {{"direction", directions[d]}}, &stats->bytes_[d]));
  }
  for (int c = 0; c < 5; ++c) {
    s.Update(counter("ftpd_replies_total", "Replies sent by code class.",
                     {{"class", std::to_string(c + 1) + "xx"}}, &stats->replies_[c]));
  }
  for (int r = 0; r < kRejectionCount; ++r) {
    s.Update(counter("ftpd_rejections_total", "Requests refused, by reason.",
                     {{"reason", std::string(RejectionName(static_cast<Rejection>(r)))}},
                     &stats->rejections_[r]));
  }
  if (!s.ok()) return s;
  return stats;
}

void Stats::Transfer(Direction direction, bool ok, uint64_t bytes) {
  const size_t d = static_cast<size_t>(direction);
  transfers_[d][ok ? 1 : 0]->Inc();
  bytes_[d]->Inc(bytes);
}

}  // namespace tpslab::ftpd
