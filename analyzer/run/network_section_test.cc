// NetworkSection() on run folders in $TEST_TMPDIR holding a synthetic
// capture (ftp_test_capture.h) of 3 upload and 2 download sessions, the
// capture's log and capture.json; capture.json read and written;
// CaptureSettingsFromReport() on older reports; DescribeNetworkSection().
#include "analyzer/run/network_section.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "analyzer/run/ftp_test_capture.h"

namespace tpslab::analyzer {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr uint16_t kControlPort = 2121;
constexpr int kUploads = 3;
constexpr int kDownloads = 2;

// A fresh folder under $TEST_TMPDIR named after the running test.
fs::path FreshDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const fs::path dir = fs::path(tmp != nullptr ? tmp : "/tmp") /
                       ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::remove_all(dir);
  fs::create_directories(dir / "logs");
  return dir;
}

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// What `analyzer capture` logs when it stops after `packets` packets.
std::string StoppedLog(uint64_t packets) {
  return "capturing on lo\n" + std::to_string(packets) +
         " packets written, 0 dropped by the kernel, 1 file\n";
}

// The part of an analyzed report the section reads: the transactions'
// steps, as loadgen's built-in scenario names them ("think" has no wire
// counterpart).
json Report() {
  auto step = [](const std::string& name, int count, double p50_ms) {
    return json{{"name", name},     {"count", count},       {"errors", 0},
                {"p50_ms", p50_ms}, {"p99_ms", 2 * p50_ms}, {"mean_ms", p50_ms}};
  };
  return {
      {"transactions",
       {{{"name", "upload"},
         {"steps",
          {step("upload/connect", kUploads, 0.2), step("upload/login", kUploads, 0.3),
           step("upload/upload", kUploads, 0.5), step("upload/think", kUploads, 9.0),
           step("upload/quit", kUploads, 0.1)}}},
        {{"name", "download"},
         {"steps",
          {step("download/connect", kDownloads, 0.2), step("download/login", kDownloads, 0.3),
           step("download/download", kDownloads, 0.6), step("download/quit", kDownloads, 0.1)}}}}}};
}

// The section without the one figure that depends on the clock.
json WithoutTiming(json network) {
  network["capture"].erase("analysis_s");
  return network;
}

class NetworkSectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir();
    absl::StatusOr<uint64_t> packets = WriteFtpTestCapture(
        {.uploads = kUploads, .downloads = kDownloads, .control_port = kControlPort},
        (dir_ / kCaptureFile).string());
    ASSERT_TRUE(packets.ok()) << packets.status();
    packets_ = *packets;
    WriteText(dir_ / kCaptureLog, StoppedLog(packets_));
  }

  const CaptureSettings settings_{.filter = "tcp port 2121 or tcp portrange 20000-20999",
                                  .snaplen = 200,
                                  .max_mb = 512,
                                  .control_port = kControlPort};
  fs::path dir_;
  uint64_t packets_ = 0;
};

TEST_F(NetworkSectionTest, CaptureBlockSaysWhatTheRunCapturedAndTheLogCounted) {
  const json network = NetworkSection(dir_, settings_, Report());
  ASSERT_FALSE(network.contains("error")) << network.dump(2);
  const json& capture = network["capture"];
  EXPECT_EQ(capture["file"], "capture.pcap");
  EXPECT_EQ(capture["bytes"], fs::file_size(dir_ / kCaptureFile));
  EXPECT_EQ(capture["filter"], "tcp port 2121 or tcp portrange 20000-20999");
  EXPECT_EQ(capture["snaplen"], 200);
  EXPECT_EQ(capture["max_mb"], 512);
  EXPECT_EQ(capture["packets_written"], packets_);
  EXPECT_EQ(capture["kernel_drops"], 0);
  EXPECT_EQ(capture["not_written"], 0);
  EXPECT_EQ(capture["cut"], false);
  EXPECT_EQ(capture["stopped_cleanly"], true);
  ASSERT_TRUE(capture["analysis_s"].is_number());
  EXPECT_GE(capture["analysis_s"].get<double>(), 0.0);
}

TEST_F(NetworkSectionTest, WireFiguresComeFromTheCapture) {
  const json network = NetworkSection(dir_, settings_, Report());
  EXPECT_EQ(network["packets"], packets_);
  EXPECT_EQ(network["sessions"], kUploads + kDownloads);
  EXPECT_EQ(network["connections"], 2 * (kUploads + kDownloads));  // Control and data.
  json commands;
  for (const json& c : network["commands"]) commands[c["command"].get<std::string>()] = c;
  for (const char* verb : {"USER", "PASS", "EPSV", "QUIT"}) {
    EXPECT_EQ(commands[verb]["count"], kUploads + kDownloads) << verb;
    EXPECT_EQ(commands[verb]["errors"], 0) << verb;
  }
  EXPECT_EQ(commands["STOR"]["count"], kUploads);
  EXPECT_EQ(commands["RETR"]["count"], kDownloads);
  // Every reply follows its command by one packet: 100 us.
  EXPECT_DOUBLE_EQ(commands["USER"]["p99_ms"].get<double>(), 0.1);
  const json& transfers = network["transfers"];
  EXPECT_EQ(transfers["count"], kUploads + kDownloads);
  EXPECT_EQ(transfers["complete"], kUploads + kDownloads);
  // From sequence numbers: the 200-byte snap length cut every payload.
  EXPECT_EQ(transfers["bytes"], 1024 * (kUploads + kDownloads));
  EXPECT_EQ(transfers["by_command"]["STOR"], kUploads);
  EXPECT_EQ(network["handshake"]["count"], 2 * (kUploads + kDownloads));
  EXPECT_EQ(network["tcp"]["retransmissions"], 0);
}

TEST_F(NetworkSectionTest, ClientStepsBesideTheirWireExchanges) {
  const json network = NetworkSection(dir_, settings_, Report());
  json wires;
  for (const json& row : network["client_vs_wire"]) wires[row["step"].get<std::string>()] = row;
  EXPECT_EQ(wires.size(), 8u) << network["client_vs_wire"].dump(2);  // Not upload/think.
  EXPECT_FALSE(wires.contains("upload/think"));
  EXPECT_EQ(wires["upload/connect"]["wire"], "connect");
  EXPECT_EQ(wires["upload/login"]["wire"], "login");
  EXPECT_EQ(wires["upload/quit"]["wire"], "quit");
  const json& upload = wires["upload/upload"];
  EXPECT_EQ(upload["wire"], "stor");
  EXPECT_EQ(upload["client_ms"],
            json({{"count", kUploads}, {"p50_ms", 0.5}, {"p99_ms", 1.0}, {"mean_ms", 0.5}}));
  EXPECT_EQ(upload["wire_ms"]["count"], kUploads);
  EXPECT_FALSE(upload["wire_ms"].contains("name"));
  EXPECT_EQ(wires["download/download"]["wire"], "retr");
  EXPECT_EQ(wires["download/download"]["wire_ms"]["count"], kDownloads);
  // Wire figures are over every session, client figures per transaction.
  EXPECT_EQ(wires["download/login"]["wire_ms"]["count"], kUploads + kDownloads);
  EXPECT_EQ(wires["download/login"]["client_ms"]["count"], kDownloads);
}

TEST_F(NetworkSectionTest, SameFolderSameSection) {
  // What `analyzer report` rebuilds is what `analyzer run` built.
  EXPECT_EQ(WithoutTiming(NetworkSection(dir_, settings_, Report())),
            WithoutTiming(NetworkSection(dir_, settings_, Report())));
}

TEST_F(NetworkSectionTest, UnknownSettingsAreNullButTheSnapLengthIsTheFiles) {
  const json network = NetworkSection(dir_, CaptureSettings{}, Report());
  ASSERT_FALSE(network.contains("error")) << network.dump(2);
  EXPECT_TRUE(network["capture"]["filter"].is_null());
  EXPECT_TRUE(network["capture"]["max_mb"].is_null());
  EXPECT_EQ(network["capture"]["snaplen"], 200);
  // Control connections on another port than 21 are found by their content.
  EXPECT_EQ(WithoutTiming(network)["commands"],
            WithoutTiming(NetworkSection(dir_, settings_, Report()))["commands"]);
}

TEST_F(NetworkSectionTest, SizeLimitAndAnUnfinishedLog) {
  WriteText(dir_ / kCaptureLog,
            "capturing on lo\nsize limit of 1 MB reached: 17 packets not written\n");
  const json capture = NetworkSection(dir_, settings_, Report())["capture"];
  EXPECT_EQ(capture["not_written"], 17);
  EXPECT_EQ(capture["cut"], true);
  EXPECT_EQ(capture["stopped_cleanly"], false);
  EXPECT_EQ(capture["packets_written"], 0);
}

TEST_F(NetworkSectionTest, UnreadableCaptureIsAnErrorNamingTheFile) {
  WriteText(dir_ / kCaptureFile, "not a capture at all");
  const json network = NetworkSection(dir_, settings_, Report());
  ASSERT_TRUE(network["error"].is_string()) << network.dump(2);
  EXPECT_NE(network["error"].get<std::string>().find("capture.pcap"), std::string::npos)
      << network["error"];
  EXPECT_EQ(network["capture"]["filter"], *settings_.filter);
  EXPECT_FALSE(network.contains("commands"));
  EXPECT_FALSE(network.contains("client_vs_wire"));
}

TEST(CaptureSettings, WrittenAndReadBack) {
  const fs::path dir = FreshDir();
  const CaptureSettings written{
      .filter = "tcp port 21", .snaplen = 96, .max_mb = 0, .control_port = 21};
  ASSERT_TRUE(WriteCaptureSettings(dir, written).ok());
  absl::StatusOr<CaptureSettings> read = ReadCaptureSettings(dir);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->filter, written.filter);
  EXPECT_EQ(read->snaplen, written.snaplen);
  EXPECT_EQ(read->max_mb, uint64_t{0});  // No limit, which is known.
  EXPECT_EQ(read->control_port, 21);
}

TEST(CaptureSettings, MissingFieldsStayUnknown) {
  const fs::path dir = FreshDir();
  WriteText(dir / kCaptureSettingsFile, R"({"filter": "tcp port 2121", "max_mb": null})");
  absl::StatusOr<CaptureSettings> read = ReadCaptureSettings(dir);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->filter, "tcp port 2121");
  EXPECT_FALSE(read->snaplen.has_value());
  EXPECT_FALSE(read->max_mb.has_value());
  EXPECT_EQ(read->control_port, 0);
}

TEST(CaptureSettings, MissingFileIsNotFound) {
  absl::StatusOr<CaptureSettings> read = ReadCaptureSettings(FreshDir());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(read.status().message().find("capture.json"), std::string::npos) << read.status();
}

TEST(CaptureSettings, MalformedFileNamesTheFileAndField) {
  const fs::path dir = FreshDir();
  WriteText(dir / kCaptureSettingsFile, "{\"filter\": ");
  absl::StatusOr<CaptureSettings> read = ReadCaptureSettings(dir);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(read.status().message().find((dir / "capture.json").string() + ": not a JSON object"),
            std::string::npos)
      << read.status();

  WriteText(dir / kCaptureSettingsFile, R"({"snaplen": "200"})");
  read = ReadCaptureSettings(dir);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(read.status().message().find(R"("snaplen" is "200", expected a positive byte count)"),
            std::string::npos)
      << read.status();

  WriteText(dir / kCaptureSettingsFile, R"({"control_port": 70000})");
  read = ReadCaptureSettings(dir);
  EXPECT_NE(read.status().message().find(R"("control_port" is 70000, expected a port 0-65535)"),
            std::string::npos)
      << read.status();
}

TEST(CaptureSettingsFromReport, OlderReportsNetworkCaptureAndTargetPort) {
  const json report = {
      {"run", {{"target", "ftp://perf@127.0.0.1:2121/"}}},
      {"network", {{"capture", {{"filter", "tcp port 2121"}, {"snaplen", 200}, {"max_mb", 512}}}}}};
  const CaptureSettings settings = CaptureSettingsFromReport(report);
  EXPECT_EQ(settings.filter, "tcp port 2121");
  EXPECT_EQ(settings.snaplen, 200);
  EXPECT_EQ(settings.max_mb, uint64_t{512});
  EXPECT_EQ(settings.control_port, 2121);
}

TEST(CaptureSettingsFromReport, ReportWithoutThemLeavesThemUnknown) {
  for (const json& report :
       {json(nullptr), json::object(), json({{"run", {{"target", nullptr}}}, {"network", 3}})}) {
    const CaptureSettings settings = CaptureSettingsFromReport(report);
    EXPECT_FALSE(settings.filter.has_value()) << report;
    EXPECT_FALSE(settings.snaplen.has_value()) << report;
    EXPECT_FALSE(settings.max_mb.has_value()) << report;
    EXPECT_EQ(settings.control_port, 0) << report;
  }
}

TEST(DescribeNetworkSection, PacketsThenOneLinePerStep) {
  const json network = {{"capture",
                         {{"packets_written", 1234},
                          {"bytes", 2500000},
                          {"kernel_drops", 0},
                          {"cut", true},
                          {"analysis_s", 0.25}}},
                        {"client_vs_wire",
                         {{{"step", "upload/upload"},
                           {"wire", "stor"},
                           {"client_ms", {{"count", 3}, {"p50_ms", 0.5}, {"p99_ms", 1.0}}},
                           {"wire_ms", {{"count", 3}, {"p50_ms", 0.25}, {"p99_ms", nullptr}}}}}}};
  EXPECT_EQ(DescribeNetworkSection(network),
            "network: 1234 packets captured (2.5 MB, cut at the size limit), 0 dropped by the "
            "kernel, analyzed in 0.25 s\n"
            "  upload/upload        client p50    0.50 ms p99    1.00 ms | wire (stor) p50    "
            "0.25 ms p99    0.00 ms\n");
}

TEST(DescribeNetworkSection, Error) {
  EXPECT_EQ(DescribeNetworkSection({{"capture", json::object()}, {"error", "cannot open x"}}),
            "network: cannot open x\n");
}

}  // namespace
}  // namespace tpslab::analyzer
