#include "analyzer/pcap/ftp_analyzer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "analyzer/pcap/capture_analysis.h"
#include "analyzer/pcap/capture_builder.h"
#include "analyzer/pcap/pcap_reader.h"

namespace tpslab::analyzer::pcap {
namespace {

using Side = CaptureBuilder::Side;
constexpr Side kC = CaptureBuilder::kClient;
constexpr Side kS = CaptureBuilder::kServer;

const Endpoint kClient{IpAddress::V4(10, 0, 0, 1), 40000};
const Endpoint kServer{IpAddress::V4(10, 0, 0, 2), 2121};

struct Result {
  CaptureAnalysis analysis;
  std::vector<FtpFrame> frames;
};

Result Analyze(CaptureBuilder& capture, AnalyzeOptions options = {}) {
  std::string bytes = capture.writer().bytes();
  std::FILE* file = fmemopen(bytes.data(), bytes.size(), "rb");
  auto reader = PcapReader::OpenFile(file, "test.pcap");
  EXPECT_TRUE(reader.ok()) << reader.status();
  Result result;
  result.analysis = AnalyzeCapture(
      **reader, options,
      [&](const FtpFrame& frame, const CaptureSummary&) { result.frames.push_back(frame); });
  return result;
}

// Writes "220" greeting and a login on `control`.
void Login(CaptureBuilder& capture, int control) {
  capture.Send(control, kS, "220 tpslab test server\r\n");
  capture.Send(control, kC, "USER alice\r\n");
  capture.Send(control, kS, "331 Password please.\r\n");
  capture.Send(control, kC, "PASS secret\r\n");
  capture.Send(control, kS, "230 Logged in.\r\n");
}

TEST(FtpAnalyzer, FollowsAPassiveSessionOnAnyPort) {
  CaptureBuilder capture(kLinkEthernet);
  const int control = capture.Connect(kClient, kServer);
  Login(capture, control);
  capture.Send(control, kC, "FEAT\r\n");
  capture.Send(control, kS, "211-Features:\r\n EPSV\r\n MDTM\r\n");
  capture.Wait(3'000'000);
  capture.Send(control, kS, "211 End\r\n");
  capture.Send(control, kC, "CWD pub\r\n");
  capture.Wait(1'000'000);
  capture.Send(control, kS, "250 OK.\r\n");
  capture.Send(control, kC, "PASV\r\n");
  capture.Send(control, kS, "227 Entering Passive Mode (10,0,0,2,195,80).\r\n");
  const int data =
      capture.Connect(Endpoint{kClient.address, 40001}, Endpoint{kServer.address, 50000});
  capture.Send(control, kC, "RETR big.bin\r\n");
  capture.Send(control, kS, "150 Opening data connection.\r\n");
  capture.Send(data, kS, std::string(5000, 'x'), 1000);
  capture.Ack(data, kC);
  capture.Close(data);
  capture.Send(control, kS, "226 Transfer complete.\r\n");
  capture.Send(control, kC, "QUIT\r\n");
  capture.Send(control, kS, "221 Bye.\r\n");
  capture.Close(control);

  Result result = Analyze(capture);
  ASSERT_EQ(result.analysis.sessions.size(), 1u);
  const FtpSession& session = result.analysis.sessions[0];
  EXPECT_FALSE(session.detected_by_port);
  EXPECT_EQ(session.stream, 0u);
  EXPECT_EQ(session.server.ToString(), "10.0.0.2:2121");
  EXPECT_EQ(session.greeting, "tpslab test server");
  EXPECT_EQ(session.user, "alice");
  EXPECT_TRUE(session.logged_in);
  EXPECT_EQ(session.cwd, "/pub");
  EXPECT_EQ(session.command_count, 7u);
  ASSERT_EQ(session.commands.size(), 7u);
  EXPECT_EQ(session.commands[1].arg, "****");
  EXPECT_EQ(session.commands[2].verb, "FEAT");
  EXPECT_EQ(session.commands[2].reply_code, 211);
  EXPECT_EQ(session.commands[2].reply_text, "Features:");
  // First reply line one packet (50 us) after the command; the end 3 ms later.
  EXPECT_EQ(session.commands[2].response_ns, 50'000);
  EXPECT_EQ(session.commands[2].completion_ns, 3'100'000);
  EXPECT_EQ(session.commands[3].response_ns, 1'050'000);
  EXPECT_EQ(session.response_times.count(), 7u);

  ASSERT_EQ(session.transfers.size(), 1u);
  const FtpTransfer& transfer = session.transfers[0];
  EXPECT_TRUE(transfer.passive);
  EXPECT_EQ(transfer.command, "RETR");
  EXPECT_EQ(transfer.arg, "big.bin");
  EXPECT_EQ(transfer.announced.ToString(), "10.0.0.2:50000");
  EXPECT_TRUE(transfer.has_data_connection);
  EXPECT_EQ(transfer.data_stream, 1u);
  EXPECT_EQ(transfer.bytes, 5000u);
  EXPECT_EQ(transfer.final_code, 226);
  EXPECT_EQ(transfer.outcome, TransferOutcome::kComplete);
  // From the SYN to the server's FIN: 12 packets later (RETR and 150
  // included).
  EXPECT_EQ(transfer.DurationNs(), 12 * 50'000);
  EXPECT_NEAR(transfer.BytesPerSecond(), 5000 / 600e-6, 1);

  // tshark's view: one line per control segment with payload.
  ASSERT_EQ(result.frames.size(), 17u);
  EXPECT_EQ(result.frames[0].fields.response_code, 220);
  EXPECT_EQ(result.frames[1].fields.command, "USER");
  EXPECT_EQ(result.frames[1].fields.request_arg, "alice");
  EXPECT_EQ(result.frames[6].fields.response_arg, "Features:");
  EXPECT_EQ(result.analysis.connections.size(), 2u);
}

TEST(FtpAnalyzer, TiesActiveModeDataConnections) {
  CaptureBuilder capture(kLinkLinuxSll2);
  std::array<uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8};
  v6[15] = 1;
  const Endpoint client{IpAddress::V6(v6), 40000};
  v6[15] = 2;
  const Endpoint server{IpAddress::V6(v6), 21};
  const int control = capture.Connect(client, server);
  Login(capture, control);
  capture.Send(control, kC, "EPRT |2|2001:db8::1|45000|\r\n");
  capture.Send(control, kS, "200 EPRT OK.\r\n");
  capture.Send(control, kC, "STOR up.bin\r\n");
  const int data = capture.Connect(Endpoint{server.address, 20}, Endpoint{client.address, 45000});
  capture.Send(control, kS, "150 Ok to send data.\r\n");
  capture.Send(data, kS, std::string(3000, 'u'), 1000);
  capture.Reset(data, kC);
  capture.Send(control, kS, "426 Connection closed; transfer aborted.\r\n");
  Result result = Analyze(capture);
  ASSERT_EQ(result.analysis.sessions.size(), 1u);
  const FtpSession& session = result.analysis.sessions[0];
  EXPECT_TRUE(session.detected_by_port);
  ASSERT_EQ(session.transfers.size(), 1u);
  const FtpTransfer& transfer = session.transfers[0];
  EXPECT_FALSE(transfer.passive);
  EXPECT_EQ(transfer.command, "STOR");
  EXPECT_EQ(transfer.announced.ToString(), "[2001:db8::1]:45000");
  EXPECT_TRUE(transfer.data_reset);
  EXPECT_EQ(transfer.bytes, 3000u);
  EXPECT_EQ(transfer.outcome, TransferOutcome::kReset);
}

TEST(FtpAnalyzer, IgnoresWhatIsNotFtp) {
  CaptureBuilder capture(kLinkRaw);
  const int http = capture.Connect(kClient, Endpoint{kServer.address, 8080});
  capture.Send(http, kC, "GET / HTTP/1.1\r\n\r\n");
  capture.Send(http, kS, "HTTP/1.1 200 OK\r\n\r\n");
  const int smtp_like = capture.Connect(Endpoint{kClient.address, 40001}, kServer);
  capture.Send(smtp_like, kS, "220 mail ESMTP\r\n");
  capture.Send(smtp_like, kC, "\x16\x03\x01 binary");
  Result result = Analyze(capture);
  EXPECT_TRUE(result.analysis.sessions.empty());
  EXPECT_TRUE(result.frames.empty());
  EXPECT_EQ(result.analysis.connections.size(), 2u);
}

TEST(FtpAnalyzer, StopsAtAuthTls) {
  CaptureBuilder capture(kLinkEthernet);
  const int control = capture.Connect(kClient, kServer);
  capture.Send(control, kS, "220 ready\r\n");
  capture.Send(control, kC, "AUTH TLS\r\n");
  capture.Send(control, kS, "234 Proceed with negotiation.\r\n");
  capture.Send(control, kC, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  capture.Send(control, kS, std::string("\x16\x03\x03\x00\x7a\x02\x00\x00\x76", 9));
  Result result = Analyze(capture);
  ASSERT_EQ(result.analysis.sessions.size(), 1u);
  EXPECT_TRUE(result.analysis.sessions[0].tls);
  EXPECT_EQ(result.analysis.sessions[0].command_count, 1u);
  EXPECT_EQ(result.frames.size(), 3u);
  EXPECT_EQ(result.analysis.summary.ftp.stray_lines, 0u);
}

TEST(FtpAnalyzer, ReassemblesControlLinesButReportsSegmentsAsTsharkDoes) {
  CaptureBuilder capture(kLinkEthernet);
  const int control = capture.Connect(kClient, kServer);
  capture.Send(control, kS, "220 ready\r\n");
  capture.Send(control, kC, "USER bo");
  capture.Send(control, kC, "b\r\nPASS x\r\n");
  // The reply arrives out of order and one segment is retransmitted.
  capture.SendAt(control, kS, 10, "230 ok\r\n");
  capture.SendAt(control, kS, 0, "331 pass\r\n");
  capture.Skip(control, kS, 18);
  capture.Wait(500'000'000);
  capture.SendAt(control, kS, -8, "230 ok\r\n");
  Result result = Analyze(capture);
  ASSERT_EQ(result.analysis.sessions.size(), 1u);
  const FtpSession& session = result.analysis.sessions[0];
  EXPECT_EQ(session.user, "bob");
  ASSERT_EQ(session.commands.size(), 2u);
  EXPECT_EQ(session.commands[0].reply_code, 331);
  EXPECT_EQ(session.commands[1].reply_code, 230);
  EXPECT_TRUE(session.logged_in);
  // tshark leaves out the out-of-order 331 and the retransmitted 230.
  ASSERT_EQ(result.frames.size(), 4u);
  EXPECT_EQ(result.frames[1].fields.command, "USER");
  EXPECT_EQ(result.frames[1].fields.request_arg, "bo");
  EXPECT_EQ(result.frames[2].fields.command, "b");
  EXPECT_EQ(result.frames[3].fields.response_code, 230);
  ASSERT_EQ(result.analysis.connections.size(), 1u);
  EXPECT_EQ(result.analysis.connections[0].directions[1].out_of_order, 1u);
  EXPECT_EQ(result.analysis.connections[0].directions[1].retransmissions, 1u);
}

TEST(FtpAnalyzer, ForcedPortFindsSessionsWithoutGreeting) {
  CaptureBuilder capture(kLinkNull);
  const int control = capture.Connect(kClient, kServer);
  capture.Send(control, kC, "NOOP\r\n");
  capture.Send(control, kS, "200 ok\r\n");
  EXPECT_TRUE(Analyze(capture).analysis.sessions.empty());
  AnalyzeOptions options;
  options.ftp.control_ports = {2121};
  Result result = Analyze(capture, options);
  ASSERT_EQ(result.analysis.sessions.size(), 1u);
  EXPECT_EQ(result.analysis.sessions[0].commands.at(0).reply_code, 200);
  ASSERT_EQ(result.frames.size(), 2u);
  EXPECT_TRUE(result.frames[0].fields.is_request);
}

}  // namespace
}  // namespace tpslab::analyzer::pcap
