// `analyzer report RUN` on run folders in $TEST_TMPDIR: a RunStore with a
// few seconds of loadgen intervals (the built-in scenario's transactions and
// steps) and, for a captured run, the files `analyzer run --capture` leaves
// (capture.pcap from ftp_test_capture.h, logs/capture.log, capture.json).
// The rewritten summary.json must hold the network section the run built,
// and a run without a capture none, with a note and no error.
#include "analyzer/run/report_command.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "analyzer/load_series.h"
#include "analyzer/run/ftp_test_capture.h"
#include "analyzer/run/network_section.h"
#include "analyzer/run_store.h"
#include "common/metrics/hdr_codec.h"
#include "common/proto/coordinator.pb.h"

namespace tpslab::analyzer {
namespace {

namespace fs = std::filesystem;
using google::protobuf::util::TimeUtil;
using json = nlohmann::json;
using ::testing::HasSubstr;

constexpr char kRunId[] = "20260101-000000-ftpd";
constexpr int64_t kStartS = 1'767'225'600;
constexpr int kSeconds = 4;
constexpr uint16_t kControlPort = 2121;
constexpr char kFilter[] = "tcp port 2121 or tcp portrange 20000-20999";

v1::OperationStats Op(const std::string& name, uint64_t count, int64_t latency_us) {
  v1::OperationStats op;
  op.set_name(name);
  op.set_count(count);
  metrics::HdrHistogram h = EmptyLatencyHistogram();
  h.Record(latency_us, static_cast<int64_t>(count));
  *op.mutable_latency() = metrics::ToProto(h, "us");
  return op;
}

// Loadgen's interval i (1..kSeconds) of a one-user run of the built-in
// scenario: 10 uploads and 10 downloads a second.
v1::AgentMessage LoadMessage(int i) {
  v1::AgentMessage m;
  m.set_source_id("loadgen-1");
  m.set_sequence(i);
  v1::LoadInterval* load = m.mutable_load();
  *load->mutable_start() = TimeUtil::SecondsToTimestamp(kStartS + i - 1);
  *load->mutable_end() = TimeUtil::SecondsToTimestamp(kStartS + i);
  load->set_stage(0);
  load->set_active_users(1);
  for (const char* transaction : {"upload", "download"}) {
    *load->add_transactions() = Op(transaction, 10, 2000);
    const std::string prefix = std::string(transaction) + "/";
    *load->add_steps() = Op(prefix + "connect", 10, 300);
    *load->add_steps() = Op(prefix + "login", 10, 400);
    *load->add_steps() = Op(prefix + transaction, 10, 800);
    *load->add_steps() = Op(prefix + "quit", 10, 200);
  }
  return m;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

json ReadSummary(const fs::path& dir) {
  return json::parse(ReadText(dir / "summary.json"), nullptr, /*allow_exceptions=*/false);
}

json WithoutTiming(json network) {
  network["capture"].erase("analysis_s");
  return network;
}

// What one ReportCommand() call returned and printed.
struct Reported {
  int status = -1;
  std::string out;
  std::string err;
};

Reported Report(const fs::path& dir) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  Reported reported;
  reported.status = ReportCommand({.run = dir.string()});
  std::cout.flush();
  std::cerr.flush();
  reported.out = ::testing::internal::GetCapturedStdout();
  reported.err = ::testing::internal::GetCapturedStderr();
  return reported;
}

class ReportCommandTest : public ::testing::Test {
 protected:
  // A run folder named after the run, holding its run.db.
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = fs::path(tmp != nullptr ? tmp : "/tmp") /
           ::testing::UnitTest::GetInstance()->current_test_info()->name() / kRunId;
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "logs");
    absl::StatusOr<std::unique_ptr<RunStore>> store = RunStore::Open((dir_ / "run.db").string());
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE(
        (*store)
            ->UpsertAgent(
                {.source_id = "loadgen-1", .kind = v1::AGENT_KIND_LOADGEN, .hostname = "box"})
            .ok());
    ASSERT_TRUE((*store)
                    ->CreateRun({.run_id = kRunId,
                                 .name = "default",
                                 .state = v1::RUN_STATE_COMPLETED,
                                 .created_ns = kStartS * 1'000'000'000,
                                 .started_ns = kStartS * 1'000'000'000,
                                 .ended_ns = (kStartS + kSeconds) * 1'000'000'000})
                    .ok());
    ASSERT_TRUE((*store)
                    ->InTransaction([&](RunStore::Writer& w) -> absl::Status {
                      for (int i = 1; i <= kSeconds; ++i) {
                        absl::StatusOr<bool> inserted = w.InsertSample(LoadMessage(i), kRunId, 0);
                        if (!inserted.ok()) return inserted.status();
                      }
                      return absl::OkStatus();
                    })
                    .ok());
  }

  // The files `analyzer run --capture` leaves beside run.db.
  void AddCapture(bool with_settings) {
    absl::StatusOr<uint64_t> packets =
        WriteFtpTestCapture({.uploads = 3, .downloads = 2, .control_port = kControlPort},
                            (dir_ / kCaptureFile).string());
    ASSERT_TRUE(packets.ok()) << packets.status();
    packets_ = *packets;
    WriteText(dir_ / kCaptureLog, "capturing on lo\n" + std::to_string(packets_) +
                                      " packets written, 0 dropped by the kernel, 1 file\n");
    if (with_settings) {
      ASSERT_TRUE(WriteCaptureSettings(dir_, settings_).ok());
    }
  }

  const CaptureSettings settings_{
      .filter = kFilter, .snaplen = 200, .max_mb = 512, .control_port = kControlPort};
  fs::path dir_;
  uint64_t packets_ = 0;
};

TEST_F(ReportCommandTest, CapturedRunGetsTheNetworkSectionTheRunBuilt) {
  AddCapture(/*with_settings=*/true);
  const Reported reported = Report(dir_);
  ASSERT_EQ(reported.status, 0) << reported.out << reported.err;
  EXPECT_EQ(reported.err, "");
  const json summary = ReadSummary(dir_);
  ASSERT_TRUE(summary.contains("network")) << reported.out;
  // What `analyzer run --capture` puts in the report: NetworkSection() of
  // the folder with the run's settings and the analyzed report.
  EXPECT_EQ(WithoutTiming(summary["network"]),
            WithoutTiming(NetworkSection(dir_, settings_, summary)));
  const json& network = summary["network"];
  EXPECT_EQ(network["capture"]["filter"], kFilter);
  EXPECT_EQ(network["capture"]["max_mb"], 512);
  EXPECT_EQ(network["capture"]["packets_written"], packets_);
  EXPECT_EQ(network["packets"], packets_);
  EXPECT_EQ(network["client_vs_wire"].size(), 8u) << network["client_vs_wire"].dump(2);
  EXPECT_THAT(ReadText(dir_ / "report.html"), HasSubstr("\"client_vs_wire\""));
  EXPECT_THAT(reported.out,
              HasSubstr("network: " + std::to_string(packets_) + " packets captured"));
  EXPECT_THAT(reported.out, HasSubstr("  upload/upload        client p50"));
  EXPECT_THAT(reported.out, HasSubstr("results: " + dir_.string() + "\n"));
}

TEST_F(ReportCommandTest, ReportingAgainKeepsTheSection) {
  AddCapture(/*with_settings=*/true);
  ASSERT_EQ(Report(dir_).status, 0);
  const json first = ReadSummary(dir_);
  ASSERT_EQ(Report(dir_).status, 0);
  const json second = ReadSummary(dir_);
  ASSERT_TRUE(second.contains("network"));
  EXPECT_EQ(WithoutTiming(first["network"]), WithoutTiming(second["network"]));
}

TEST_F(ReportCommandTest, RunWithoutCaptureHasNoSectionAndSaysWhy) {
  const Reported reported = Report(dir_);
  ASSERT_EQ(reported.status, 0) << reported.out << reported.err;
  EXPECT_EQ(reported.err, "");
  const json summary = ReadSummary(dir_);
  ASSERT_TRUE(summary.is_object());
  EXPECT_FALSE(summary.contains("network"));
  EXPECT_THAT(reported.out,
              HasSubstr("network: no section: the run has no capture.pcap (record one with "
                        "`analyzer run --capture`)\n"));
}

TEST_F(ReportCommandTest, DeletedCaptureFileIsNamed) {
  AddCapture(/*with_settings=*/true);
  fs::remove(dir_ / kCaptureFile);
  const Reported reported = Report(dir_);
  ASSERT_EQ(reported.status, 0) << reported.out << reported.err;
  EXPECT_FALSE(ReadSummary(dir_).contains("network"));
  EXPECT_THAT(reported.out,
              HasSubstr("network: no section: capture.pcap is missing from " + dir_.string()));
}

TEST_F(ReportCommandTest, OlderRunTakesTheSettingsFromItsPreviousSummary) {
  // Recorded before capture.json: the previous summary.json has the target
  // and the network section's capture block.
  AddCapture(/*with_settings=*/false);
  WriteText(
      dir_ / "summary.json",
      json({{"schema", "tpslab.report/1"},
            {"run", {{"target", "ftp://perf@127.0.0.1:2121/"}, {"server", "ftpd"}}},
            {"network", {{"capture", {{"filter", kFilter}, {"snaplen", 200}, {"max_mb", 512}}}}}})
          .dump());
  const Reported reported = Report(dir_);
  ASSERT_EQ(reported.status, 0) << reported.out << reported.err;
  EXPECT_EQ(reported.err, "");
  const json summary = ReadSummary(dir_);
  EXPECT_EQ(summary["run"]["target"], "ftp://perf@127.0.0.1:2121/");
  ASSERT_TRUE(summary.contains("network"));
  EXPECT_EQ(WithoutTiming(summary["network"]),
            WithoutTiming(NetworkSection(dir_, settings_, summary)));
}

TEST_F(ReportCommandTest, OlderRunWithNothingButTheCaptureStillGetsItsFigures) {
  AddCapture(/*with_settings=*/false);
  const Reported reported = Report(dir_);
  ASSERT_EQ(reported.status, 0) << reported.out << reported.err;
  const json network = ReadSummary(dir_)["network"];
  EXPECT_TRUE(network["capture"]["filter"].is_null());
  EXPECT_TRUE(network["capture"]["max_mb"].is_null());
  EXPECT_EQ(network["capture"]["snaplen"], 200);  // The file's own.
  const json full = NetworkSection(dir_, settings_, ReadSummary(dir_));
  for (const char* key :
       {"packets", "sessions", "commands", "operations", "transfers", "tcp", "client_vs_wire"}) {
    EXPECT_EQ(network[key], full[key]) << key;
  }
}

TEST_F(ReportCommandTest, MalformedCaptureSettingsWarnAndFallBack) {
  AddCapture(/*with_settings=*/false);
  WriteText(dir_ / kCaptureSettingsFile, "{");
  const Reported reported = Report(dir_);
  ASSERT_EQ(reported.status, 0) << reported.out << reported.err;
  EXPECT_THAT(reported.err,
              HasSubstr("analyzer report: warning: " + (dir_ / "capture.json").string() +
                        ": not a JSON object; the capture's settings come from the previous "
                        "summary.json"));
  EXPECT_EQ(ReadSummary(dir_)["network"]["packets"], packets_);
}

TEST(ReportCommand, MissingRunDatabaseIsAnError) {
  ::testing::internal::CaptureStderr();
  const int status = ReportCommand({.run = "/nonexistent/run"});
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(status, 1);
  EXPECT_THAT(err,
              HasSubstr("no run database at /nonexistent/run (give a results/<run-id> folder"));
}

}  // namespace
}  // namespace tpslab::analyzer
