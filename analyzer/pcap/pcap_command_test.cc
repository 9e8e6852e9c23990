#include "analyzer/pcap/pcap_command.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include "analyzer/pcap/capture_builder.h"
#include "analyzer/pcap/packet_decoder.h"
#include "common/app/cli.h"
#include "nlohmann/json.hpp"

namespace tpslab::analyzer::pcap {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

// A short passive session on port 2121 written to a file.
std::string WriteSession(const std::string& name) {
  CaptureBuilder capture(kLinkEthernet);
  const Endpoint client{IpAddress::V4(10, 0, 0, 1), 40000};
  const Endpoint server{IpAddress::V4(10, 0, 0, 2), 2121};
  const int control = capture.Connect(client, server);
  capture.Send(control, CaptureBuilder::kServer, "220 hi\r\n");
  capture.Send(control, CaptureBuilder::kClient, "USER anonymous\r\n");
  capture.Send(control, CaptureBuilder::kServer, "230 ok\r\n");
  capture.Send(control, CaptureBuilder::kClient, "EPSV\r\n");
  capture.Send(control, CaptureBuilder::kServer, "229 Extended (|||50000|)\r\n");
  const int data =
      capture.Connect(Endpoint{client.address, 40001}, Endpoint{server.address, 50000});
  capture.Send(control, CaptureBuilder::kClient, "LIST\r\n");
  capture.Send(control, CaptureBuilder::kServer, "150 here\r\n");
  capture.Send(data, CaptureBuilder::kServer, "-rw-r--r-- 1 ftp ftp 6 f.txt\r\n");
  capture.Close(data);
  capture.Send(control, CaptureBuilder::kServer, "226 done\r\n");
  capture.Close(control);
  const std::string path = TempPath(name);
  EXPECT_TRUE(capture.writer().WriteFile(path).ok());
  return path;
}

TEST(PcapCommand, PrintsTables) {
  PcapCommandOptions options;
  options.file = WriteSession("tables.pcap");
  std::ostringstream out, err;
  ASSERT_EQ(RunPcapCommand(options, out, err), app::kExitOk) << err.str();
  const std::string text = out.str();
  EXPECT_NE(text.find("FTP sessions: 1"), std::string::npos) << text;
  EXPECT_NE(text.find("anonymous"), std::string::npos);
  EXPECT_NE(text.find("FTP transfers: 1"), std::string::npos);
  EXPECT_NE(text.find("LIST"), std::string::npos);
  EXPECT_NE(text.find("complete"), std::string::npos);
  EXPECT_NE(text.find("TCP: 2 connections"), std::string::npos);
  EXPECT_NE(text.find("Warnings: none"), std::string::npos);
}

TEST(PcapCommand, PrintsJson) {
  PcapCommandOptions options;
  options.file = WriteSession("json.pcap");
  options.json = true;
  std::ostringstream out, err;
  ASSERT_EQ(RunPcapCommand(options, out, err), app::kExitOk) << err.str();
  const nlohmann::json json = nlohmann::json::parse(out.str());
  ASSERT_EQ(json["ftp_sessions"].size(), 1u);
  EXPECT_EQ(json["ftp_sessions"][0]["user"], "anonymous");
  EXPECT_EQ(json["ftp_sessions"][0]["transfers"][0]["outcome"], "complete");
  EXPECT_EQ(json["ftp_sessions"][0]["transfers"][0]["bytes"], 30);
  EXPECT_EQ(json["ftp_sessions"][0]["transfers"][0]["data_stream"], 1);
  EXPECT_EQ(json["tcp_connections"].size(), 2u);
  EXPECT_EQ(json["capture"]["frames"], 21);
}

TEST(PcapCommand, PrintsTsharkFields) {
  PcapCommandOptions options;
  options.file = WriteSession("fields.pcap");
  options.fields =
      "frame.number,tcp.stream,ftp.request.command,ftp.request.arg,ftp.response.code,"
      "ftp.response.arg";
  std::ostringstream out, err;
  ASSERT_EQ(RunPcapCommand(options, out, err), app::kExitOk) << err.str();
  EXPECT_EQ(out.str(),
            "4\t0\t\t\t220\thi\n"
            "5\t0\tUSER\tanonymous\t\t\n"
            "6\t0\t\t\t230\tok\n"
            "7\t0\tEPSV\t\t\t\n"
            "8\t0\t\t\t229\tExtended (|||50000|)\n"
            "12\t0\tLIST\t\t\t\n"
            "13\t0\t\t\t150\there\n"
            "18\t0\t\t\t226\tdone\n");
}

TEST(PcapCommand, ReportsBadInput) {
  PcapCommandOptions options;
  options.file = TempPath("missing.pcap");
  std::ostringstream out, err;
  EXPECT_EQ(RunPcapCommand(options, out, err), app::kExitFailure);
  EXPECT_NE(err.str().find("cannot open capture"), std::string::npos) << err.str();

  options.file = WriteSession("bad_field.pcap");
  options.fields = "frame.number,ftp.bogus";
  err.str("");
  EXPECT_EQ(RunPcapCommand(options, out, err), app::kExitUsage);
  EXPECT_NE(err.str().find("unknown field 'ftp.bogus'"), std::string::npos) << err.str();

  options.fields = "frame.number";
  options.json = true;
  EXPECT_EQ(RunPcapCommand(options, out, err), app::kExitUsage);
}

TEST(PcapCommand, RegistersTheSubcommand) {
  app::App app("analyzer", "test", "0.1.0");
  app.set_init_logging(false);
  AddPcapCommand(app);
  std::ostringstream out, err;
  EXPECT_EQ(app.Run({"pcap", "--help"}, out, err), app::kExitOk);
  EXPECT_NE(out.str().find("--fields"), std::string::npos);
  EXPECT_EQ(app.Run({"pcap"}, out, err), app::kExitUsage);
}

}  // namespace
}  // namespace tpslab::analyzer::pcap
