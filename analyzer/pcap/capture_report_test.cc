#include "analyzer/pcap/capture_report.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "nlohmann/json.hpp"

namespace tpslab::analyzer::pcap {
namespace {

FtpFrame Request(std::string command, std::string arg) {
  FtpFrame frame;
  frame.frame = 7;
  frame.time_ns = 1'700'000'001'000'000'005;
  frame.frame_length = 80;
  frame.stream = 3;
  frame.src = Endpoint{IpAddress::V4(10, 0, 0, 1), 40000};
  frame.dst = Endpoint{IpAddress::V4(10, 0, 0, 2), 21};
  frame.tcp_length = 14;
  frame.fields.is_request = true;
  frame.fields.command = std::move(command);
  frame.fields.request_arg = std::move(arg);
  return frame;
}

TEST(ParseFieldList, AcceptsTsharkNamesAndNamesTheUnknown) {
  absl::StatusOr<FieldList> fields = ParseFieldList("frame.number, tcp.stream,ftp.response.code");
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_EQ(*fields, (FieldList{Field::kFrameNumber, Field::kTcpStream, Field::kFtpResponseCode}));
  absl::StatusOr<FieldList> bad = ParseFieldList("frame.number,http.host");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("unknown field 'http.host'; supported: frame.number,"),
            std::string::npos);
  EXPECT_EQ(ParseFieldList(" , ").status().message(), "no fields given");
}

TEST(FormatFieldLine, PrintsLikeTshark) {
  CaptureSummary summary;
  summary.first_ns = 1'700'000'000'500'000'000;
  const FieldList fields = *ParseFieldList(
      "frame.number,frame.time_epoch,frame.time_relative,ip.src,ipv6.src,tcp.dstport,"
      "ftp.request,ftp.response,ftp.request.command,ftp.request.arg,ftp.response.code");
  EXPECT_EQ(FormatFieldLine(fields, Request("RETR", "a b"), summary),
            "7\t1700000001.000000005\t0.500000005\t10.0.0.1\t\t21\t1\t0\tRETR\ta b\t");
}

TEST(FormatFieldLine, EscapesAsTsharkDoes) {
  CaptureSummary summary;
  const FieldList fields = *ParseFieldList("ftp.request.arg");
  EXPECT_EQ(FormatFieldLine(fields, Request("SITE", "a\tb\\c\fd\x01\xc3\xa9"), summary),
            "a\\tb\\c\\fd\x01\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(FormatFieldLine(fields, Request("SITE", std::string("cut\0here", 8)), summary), "cut");
}

TEST(WriteJson, StreamsTheDocumentToJsonBuilds) {
  CaptureAnalysis analysis;
  analysis.summary.frames = 3;
  FtpSession session;
  session.user = "bad\xff utf8";
  analysis.sessions.push_back(session);
  analysis.connections.emplace_back();
  std::ostringstream out;
  WriteJson(analysis, out);
  const nlohmann::json streamed = nlohmann::json::parse(out.str());
  EXPECT_EQ(streamed["capture"]["frames"], 3);
  EXPECT_EQ(streamed["ftp_sessions"][0]["user"], "bad\xef\xbf\xbd utf8");
  EXPECT_EQ(streamed["tcp_connections"].size(), 1u);
  const nlohmann::json built = ToJson(analysis);
  EXPECT_EQ(built["tcp_connections"], streamed["tcp_connections"]);
  EXPECT_EQ(built["capture"], streamed["capture"]);
}

TEST(FormatTables, ListsWarnings) {
  CaptureAnalysis analysis;
  analysis.summary.link_type = 147;
  analysis.summary.link_type_supported = false;
  analysis.summary.read_error = "x.pcap: after frame 2: truncated dump file";
  analysis.summary.decode_warnings["truncated headers"] = 4;
  const std::string text = FormatTables(analysis);
  EXPECT_NE(text.find("link type 147 is not supported"), std::string::npos) << text;
  EXPECT_NE(text.find("capture ends early: x.pcap: after frame 2"), std::string::npos);
  EXPECT_NE(text.find("4 frames skipped: truncated headers"), std::string::npos);
  EXPECT_NE(text.find("FTP sessions: 0"), std::string::npos);
}

}  // namespace
}  // namespace tpslab::analyzer::pcap
