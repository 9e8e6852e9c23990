#include "ftpd/stats.h"

#include <string>

#include "common/metrics/registry.h"
#include "gtest/gtest.h"

namespace tpslab::ftpd {
namespace {

TEST(StatsTest, RendersCountersWithLabels) {
  metrics::Registry registry;
  absl::StatusOr<std::unique_ptr<Stats>> stats = Stats::Create(registry);
  ASSERT_TRUE(stats.ok()) << stats.status();
  (*stats)->SessionStarted();
  (*stats)->SessionStarted();
  (*stats)->SessionEnded();
  (*stats)->LoginOk();
  (*stats)->LoginFailed();
  (*stats)->CountReply(226);
  (*stats)->CountReply(550);
  (*stats)->Transfer(Direction::kUpload, true, 1024);
  (*stats)->Reject(Rejection::kBounce);
  EXPECT_EQ((*stats)->sessions(), 1);
  const std::string text = registry.Render();
  for (const char* line : {
           "ftpd_sessions 1\n",
           "ftpd_sessions_total 2\n",
           "ftpd_logins_total{result=\"ok\"} 1\n",
           "ftpd_logins_total{result=\"failed\"} 1\n",
           "ftpd_replies_total{class=\"2xx\"} 1\n",
           "ftpd_replies_total{class=\"5xx\"} 1\n",
           "ftpd_transfers_total{direction=\"upload\",result=\"ok\"} 1\n",
           "ftpd_transfer_bytes_total{direction=\"upload\"} 1024\n",
           "ftpd_rejections_total{reason=\"bounce\"} 1\n",
           "ftpd_rejections_total{reason=\"tls_session_not_reused\"} 0\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " not in\n" << text;
  }
}

TEST(StatsTest, SecondStatsOnOneRegistrySharesCounters) {
  metrics::Registry registry;
  auto a = Stats::Create(registry);
  auto b = Stats::Create(registry);
  ASSERT_TRUE(a.ok() && b.ok());
  (*a)->LoginOk();
  (*b)->LoginOk();
  EXPECT_NE(registry.Render().find("ftpd_logins_total{result=\"ok\"} 2\n"), std::string::npos);
}

}  // namespace
}  // namespace tpslab::ftpd
