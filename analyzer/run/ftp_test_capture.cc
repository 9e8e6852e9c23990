#include "analyzer/run/ftp_test_capture.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "analyzer/pcap/capture_builder.h"
#include "analyzer/pcap/packet_decoder.h"
#include "analyzer/pcap/tcp_tracker.h"

namespace tpslab::analyzer {
namespace {

using pcap::CaptureBuilder;
using pcap::Endpoint;
using pcap::IpAddress;

constexpr int64_t kStartNs = int64_t{1'767'225'600} * 1'000'000'000;  // 2026-01-01.
constexpr int64_t kStepNs = 100'000;                                  // 100 us per packet.

Endpoint Loopback(uint16_t port) { return Endpoint{IpAddress::V4(127, 0, 0, 1), port}; }

// One session of the built-in scenario's transaction, STOR or RETR.
void Session(CaptureBuilder& pcap, const FtpTestCapture& capture, int number, bool upload) {
  using Side = CaptureBuilder::Side;
  const auto client_port = static_cast<uint16_t>(40000 + number);
  const auto passive_port = static_cast<uint16_t>(20000 + number);
  const int control = pcap.Connect(Loopback(client_port), Loopback(capture.control_port));
  pcap.Send(control, Side::kServer, "220 tpslab ftpd ready\r\n");
  pcap.Send(control, Side::kClient, "USER perf\r\n");
  pcap.Send(control, Side::kServer, "331 Password required\r\n");
  pcap.Send(control, Side::kClient, "PASS secret\r\n");
  pcap.Send(control, Side::kServer, "230 Logged in\r\n");
  pcap.Send(control, Side::kClient, "EPSV\r\n");
  pcap.Send(control, Side::kServer,
            absl::StrCat("229 Entering Extended Passive Mode (|||", passive_port, "|)\r\n"));
  const int data =
      pcap.Connect(Loopback(static_cast<uint16_t>(50000 + number)), Loopback(passive_port));
  pcap.Send(control, Side::kClient,
            upload ? absl::StrCat("STOR upload/", number, ".bin\r\n") : "RETR pub/file-1k.bin\r\n");
  pcap.Send(control, Side::kServer, "150 Opening data connection\r\n");
  const Side sender = upload ? Side::kClient : Side::kServer;
  pcap.Send(data, sender, std::string(capture.transfer_bytes, 'x'));
  pcap.Close(data, sender);
  pcap.Send(control, Side::kServer, "226 Transfer complete\r\n");
  pcap.Send(control, Side::kClient, "QUIT\r\n");
  pcap.Send(control, Side::kServer, "221 Goodbye\r\n");
  pcap.Close(control, Side::kServer);
}

}  // namespace

absl::StatusOr<uint64_t> WriteFtpTestCapture(const FtpTestCapture& capture,
                                             const std::string& path) {
  CaptureBuilder pcap(pcap::kLinkEthernet, kStartNs, kStepNs, capture.snaplen);
  int number = 0;
  for (int i = 0; i < capture.uploads; ++i) Session(pcap, capture, ++number, /*upload=*/true);
  for (int i = 0; i < capture.downloads; ++i) Session(pcap, capture, ++number, /*upload=*/false);
  if (absl::Status written = pcap.writer().WriteFile(path); !written.ok()) return written;
  return pcap.frames();
}

}  // namespace tpslab::analyzer
