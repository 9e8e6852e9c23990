#include "analyzer/pcap/network_summary.h"

#include <gtest/gtest.h>

#include "analyzer/pcap/capture_analysis.h"
#include "analyzer/pcap/ftp_analyzer.h"
#include "analyzer/pcap/tcp_tracker.h"

namespace tpslab::analyzer::pcap {
namespace {

constexpr int64_t kMs = 1'000'000;

FtpCommandRecord Command(const char* verb, int64_t at_ms, int64_t response_ms, int code,
                         int64_t completion_ms = -1) {
  FtpCommandRecord record;
  record.verb = verb;
  record.time_ns = at_ms * kMs;
  record.reply_code = code;
  record.response_ns = code == 0 ? -1 : response_ms * kMs;
  record.completion_ns = code == 0 ? -1 : (completion_ms < 0 ? response_ms : completion_ms) * kMs;
  return record;
}

// One upload session as loadgen runs it: USER, PASS, EPSV, STOR (150 then
// 226), QUIT.
FtpSession UploadSession(int64_t start_ms) {
  FtpSession session;
  session.start_ns = (start_ms - 2) * kMs;
  session.greeting_ns = (start_ms - 1) * kMs;
  session.commands = {
      Command("USER", start_ms, 1, 331),      Command("PASS", start_ms + 2, 3, 230),
      Command("EPSV", start_ms + 6, 1, 229),  Command("STOR", start_ms + 8, 1, 226, 4),
      Command("QUIT", start_ms + 13, 1, 221),
  };
  FtpTransfer transfer;
  transfer.command = "STOR";
  transfer.bytes = 1024;
  transfer.outcome = TransferOutcome::kComplete;
  session.transfers.push_back(transfer);
  return session;
}

TEST(DistributionJson, NearestRankPercentiles) {
  std::vector<int64_t> samples;
  for (int64_t i = 100; i >= 1; --i) samples.push_back(i * kMs);
  const nlohmann::json out = DistributionJson(samples);
  EXPECT_EQ(out["count"], 100);
  EXPECT_DOUBLE_EQ(out["p50_ms"].get<double>(), 50);
  EXPECT_DOUBLE_EQ(out["p90_ms"].get<double>(), 90);
  EXPECT_DOUBLE_EQ(out["p99_ms"].get<double>(), 99);
  EXPECT_DOUBLE_EQ(out["max_ms"].get<double>(), 100);
  EXPECT_DOUBLE_EQ(out["mean_ms"].get<double>(), 50.5);
}

TEST(DistributionJson, EmptyHasOnlyACount) {
  std::vector<int64_t> samples;
  EXPECT_EQ(DistributionJson(samples), nlohmann::json({{"count", 0}}));
}

TEST(NetworkSummaryJson, CommandsOperationsTransfersAndTcp) {
  CaptureAnalysis analysis;
  analysis.summary.frames = 42;
  analysis.summary.first_ns = 0;
  analysis.summary.last_ns = 2000 * kMs;
  analysis.summary.tcp.connections = 5;
  analysis.sessions.push_back(UploadSession(0));
  analysis.sessions.push_back(UploadSession(100));
  // A download whose RETR failed, and a USER never answered.
  FtpSession failed;
  failed.commands = {Command("USER", 200, 1, 331), Command("PASS", 202, 1, 230),
                     Command("RETR", 204, 2, 550), Command("USER", 210, 0, 0)};
  FtpTransfer transfer;
  transfer.command = "RETR";
  transfer.outcome = TransferOutcome::kFailed;
  failed.transfers.push_back(transfer);
  analysis.sessions.push_back(failed);

  Connection handshaken;
  handshaken.syn_ns = 0;
  handshaken.handshake_ack_ns = kMs / 10;
  handshaken.directions[0].retransmissions = 2;
  handshaken.directions[1].duplicate_acks = 3;
  handshaken.directions[1].zero_windows = 1;
  handshaken.directions[1].rst = true;
  Connection midstream;  // Its SYN was not captured.
  analysis.connections = {handshaken, midstream};

  const nlohmann::json out = NetworkSummaryJson(analysis);
  EXPECT_EQ(out["packets"], 42);
  EXPECT_DOUBLE_EQ(out["duration_s"].get<double>(), 2);
  EXPECT_EQ(out["sessions"], 3);
  EXPECT_EQ(out["connections"], 5);

  const nlohmann::json& commands = out["commands"];
  ASSERT_EQ(commands.size(), 6u);
  EXPECT_EQ(commands[0]["command"], "USER");
  EXPECT_EQ(commands[0]["count"], 4);
  EXPECT_EQ(commands[0]["unanswered"], 1);
  EXPECT_EQ(commands[1]["command"], "PASS");
  EXPECT_DOUBLE_EQ(commands[1]["p99_ms"].get<double>(), 3);
  EXPECT_EQ(commands[3]["command"], "STOR");
  EXPECT_EQ(commands[3]["count"], 2);
  // Response time is to the first reply (150), not the final 226.
  EXPECT_DOUBLE_EQ(commands[3]["max_ms"].get<double>(), 1);
  EXPECT_EQ(commands[5]["command"], "RETR");
  EXPECT_EQ(commands[5]["errors"], 1);

  const nlohmann::json& operations = out["operations"];
  ASSERT_EQ(operations.size(), 5u);
  // SYN 2 ms before USER, greeting 1 ms before; the failed session has no
  // greeting time.
  EXPECT_EQ(operations[0]["name"], "connect");
  EXPECT_EQ(operations[0]["count"], 2);
  EXPECT_DOUBLE_EQ(operations[0]["max_ms"].get<double>(), 1);
  EXPECT_EQ(operations[1]["name"], "login");
  EXPECT_EQ(operations[1]["count"], 3);
  // USER at 0 ms, PASS at 2 ms answered after 3 ms: 5 ms.
  EXPECT_DOUBLE_EQ(operations[1]["max_ms"].get<double>(), 5);
  EXPECT_EQ(operations[2]["name"], "stor");
  EXPECT_EQ(operations[2]["commands"], "EPSV .. STOR final reply");
  // EPSV at 6 ms, STOR at 8 ms completed after 4 ms: 6 ms.
  EXPECT_DOUBLE_EQ(operations[2]["p50_ms"].get<double>(), 6);
  EXPECT_EQ(operations[3]["name"], "quit");
  EXPECT_EQ(operations[4]["name"], "retr");
  EXPECT_EQ(operations[4]["commands"], "RETR .. final reply");

  EXPECT_EQ(out["handshake"]["count"], 1);
  EXPECT_DOUBLE_EQ(out["handshake"]["p50_ms"].get<double>(), 0.1);
  EXPECT_EQ(out["transfers"]["count"], 3);
  EXPECT_EQ(out["transfers"]["complete"], 2);
  EXPECT_EQ(out["transfers"]["failed"], 1);
  EXPECT_EQ(out["transfers"]["bytes"], 2048);
  EXPECT_EQ(out["transfers"]["by_command"]["STOR"], 2);
  EXPECT_EQ(out["tcp"]["retransmissions"], 2);
  EXPECT_EQ(out["tcp"]["duplicate_acks"], 3);
  EXPECT_EQ(out["tcp"]["zero_windows"], 1);
  EXPECT_EQ(out["tcp"]["resets"], 1);
  EXPECT_TRUE(out["warnings"].empty());
}

}  // namespace
}  // namespace tpslab::analyzer::pcap
