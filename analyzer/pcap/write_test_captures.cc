// Writes hand-made captures of FTP edge cases into a directory, one file
// per case, for tshark_compat_test.sh (which compares `analyzer pcap
// --fields` with tshark on each) and for manual study:
//
//   write_test_captures OUT_DIR
//
// Every control connection uses server port 2121 (tshark: -d tcp.port==2121,ftp).
#include <cstdio>
#include <string>
#include <utility>

#include "analyzer/pcap/capture_builder.h"
#include "analyzer/pcap/packet_decoder.h"
#include "analyzer/pcap/pcap_writer.h"

namespace tpslab::analyzer::pcap {
namespace {

using Side = CaptureBuilder::Side;
constexpr Side kC = CaptureBuilder::kClient;
constexpr Side kS = CaptureBuilder::kServer;

Endpoint V4(uint8_t last, uint16_t port) { return Endpoint{IpAddress::V4(10, 0, 0, last), port}; }

Endpoint V6(uint8_t last, uint16_t port) {
  std::array<uint8_t, 16> bytes{0x20, 0x01, 0x0d, 0xb8};
  bytes[15] = last;
  return Endpoint{IpAddress::V6(bytes), port};
}

// A passive session with a listing, a download and an upload.
void Session(CaptureBuilder& capture, bool v6, uint16_t client_port) {
  const Endpoint client = v6 ? V6(1, client_port) : V4(1, client_port);
  const Endpoint server = v6 ? V6(2, 2121) : V4(2, 2121);
  const int control = capture.Connect(client, server);
  capture.Send(control, kS, "220 edge-case server\r\n");
  capture.Send(control, kC, "USER anonymous\r\n");
  capture.Send(control, kS, "331 Guest login ok.\r\n");
  capture.Send(control, kC, "PASS a@b\r\n");
  capture.Send(control, kS, "230 Logged in.\r\n");
  capture.Send(control, kC, "PWD\r\n");
  capture.Send(control, kS, "257 \"/\" is the current directory\r\n");
  capture.Send(control, kC, v6 ? "EPSV\r\n" : "PASV\r\n");
  const uint16_t data_port = static_cast<uint16_t>(client_port + 10000);
  capture.Send(control, kS,
               v6 ? "229 Entering Extended Passive Mode (|||" + std::to_string(data_port) + "|)\r\n"
                  : "227 Entering Passive Mode (10,0,0,2," + std::to_string(data_port / 256) + "," +
                        std::to_string(data_port % 256) + ").\r\n");
  const int data = capture.Connect(v6 ? V6(1, client_port + 1) : V4(1, client_port + 1),
                                   v6 ? V6(2, data_port) : V4(2, data_port));
  capture.Send(control, kC, "RETR file.bin\r\n");
  capture.Send(control, kS, "150 Opening BINARY mode data connection.\r\n");
  capture.Send(data, kS, std::string(4000, 'd'), 1400);
  capture.Ack(data, kC);
  capture.Close(data);
  capture.Send(control, kS, "226 Transfer complete.\r\n");
  capture.Send(control, kC, "QUIT\r\n");
  capture.Send(control, kS, "221 Goodbye.\r\n");
  capture.Close(control);
}

bool Write(CaptureBuilder& capture, const std::string& dir, const std::string& name) {
  const absl::Status status = capture.writer().WriteFile(dir + "/" + name);
  if (!status.ok()) std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
  return status.ok();
}

int Main(const std::string& dir) {
  bool ok = true;
  const std::pair<const char*, int> links[] = {
      {"link_null", kLinkNull}, {"link_ethernet", kLinkEthernet}, {"link_raw", kLinkRaw101},
      {"link_loop", kLinkLoop}, {"link_sll", kLinkLinuxSll},      {"link_sll2", kLinkLinuxSll2},
  };
  for (const auto& [name, link] : links) {
    for (const bool v6 : {false, true}) {
      CaptureBuilder capture(link);
      Session(capture, v6, 40000);
      ok &= Write(capture, dir, std::string(name) + (v6 ? "_v6" : "_v4") + ".pcap");
    }
  }
  {
    // 802.1Q tagged Ethernet.
    CaptureBuilder capture(kLinkEthernet);
    PcapWriter& writer = capture.writer();
    TcpSegment segment;
    segment.src = IpAddress::V4(10, 0, 0, 2);
    segment.dst = IpAddress::V4(10, 0, 0, 1);
    segment.src_port = 2121;
    segment.dst_port = 40000;
    segment.flags = kTcpAck | kTcpPsh;
    segment.seq = 1;
    segment.payload = "220 tagged\r\n";
    writer.Add(capture.now_ns(), BuildFrame(kLinkEthernet, segment, 1));
    segment.payload = "230 double tagged\r\n";
    segment.seq = 13;
    writer.Add(capture.now_ns() + 1000, BuildFrame(kLinkEthernet, segment, 2));
    std::swap(segment.src, segment.dst);
    std::swap(segment.src_port, segment.dst_port);
    segment.seq = 1;
    segment.payload = "QUIT\r\n";
    writer.Add(capture.now_ns() + 2000, BuildFrame(kLinkEthernet, segment, 1));
    ok &= Write(capture, dir, "vlan.pcap");
  }
  {
    // Reordering, retransmission, overlap and loss on the control channel.
    CaptureBuilder capture(kLinkEthernet);
    const int control = capture.Connect(V4(1, 40000), V4(2, 2121));
    capture.Send(control, kS, "220 ready\r\n");
    capture.Send(control, kC, "USER x\r\n");
    capture.SendAt(control, kS, 10, "230 two\r\n");
    capture.SendAt(control, kS, 0, "331 one\r\n");
    capture.Skip(control, kS, 19);
    capture.Wait(300'000'000);
    capture.SendAt(control, kS, -19, "331 one\r\n");   // Retransmission.
    capture.SendAt(control, kS, -14, "one\r\n230 t");  // Overlapping.
    capture.Send(control, kC, "SYST\r\n");
    capture.Skip(control, kS, 20);  // Lost: "215 UNIX Type: L8\r\n"
    capture.Send(control, kC, "NOOP\r\n");
    capture.Send(control, kS, "200 ok\r\n");
    capture.Close(control);
    ok &= Write(capture, dir, "reorder.pcap");
  }
  {
    // Line layouts: several commands or lines per segment, multi-line
    // replies in one or many segments, odd spacing, no line end.
    CaptureBuilder capture(kLinkEthernet);
    const int control = capture.Connect(V4(1, 40000), V4(2, 2121));
    capture.Send(control, kS, "220-Welcome\r\n220-to the\r\n220 server\r\n");
    capture.Send(control, kC, "USER a\r\nPASS b\r\n");
    capture.Send(control, kS, "331 pass\r\n230 in\r\n");
    capture.Send(control, kC, "HELP\r\n");
    capture.Send(control, kS, "214-Commands:\r\n");
    capture.Send(control, kS, " USER PASS QUIT\r\n");
    capture.Send(control, kS, "   \r\n");
    capture.Send(control, kS, "214 Help OK.\r\n");
    capture.Send(control, kC, "STOR  two spaces.txt \r\n");
    capture.Send(control, kS, "553\r\n");
    capture.Send(control, kC, "retr lower\r\n");
    capture.Send(control, kS, "550 No\n");
    capture.Send(control, kC, " leading space\r\n");
    capture.Send(control, kS, "500 ?\r\n");
    capture.Send(control, kC, "\r\n");
    capture.Send(control, kS, "5000 odd\r\n");
    capture.Send(control, kC, "NOOP");
    capture.Send(control, kC, "\r\n");
    capture.Send(control, kS, "20");
    capture.Send(control, kS, "0 ok\r\n");
    capture.Send(control, kC, "SITE a\tb\r\n");
    capture.Send(control, kS, "200 x\ry\r\n");
    capture.Close(control);
    ok &= Write(capture, dir, "lines.pcap");
  }
  {
    // AUTH TLS: FTP ends at the 234 reply.
    CaptureBuilder capture(kLinkEthernet);
    const int control = capture.Connect(V4(1, 40000), V4(2, 2121));
    capture.Send(control, kS, "220 FTPS\r\n");
    capture.Send(control, kC, "AUTH TLS\r\n");
    capture.Send(control, kS, "234 Proceed.\r\n");
    capture.Send(control, kC, std::string("\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", 10));
    capture.Send(control, kS, std::string("\x16\x03\x03\x00\x02\x02\x00", 7));
    capture.Close(control);
    ok &= Write(capture, dir, "auth_tls.pcap");
  }
  {
    // The 4-tuple reused with a new SYN: a new tcp.stream.
    CaptureBuilder capture(kLinkEthernet);
    for (int i = 0; i < 2; ++i) {
      const int control = capture.Connect(V4(1, 40000), V4(2, 2121));
      capture.Send(control, kS, "220 again\r\n");
      capture.Send(control, kC, "QUIT\r\n");
      capture.Send(control, kS, "221 bye\r\n");
      capture.Close(control);
    }
    ok &= Write(capture, dir, "port_reuse.pcap");
  }
  {
    // A snap length of 70 bytes cuts most payloads.
    CaptureBuilder full(kLinkEthernet);
    Session(full, false, 40000);
    const std::string& bytes = full.writer().bytes();
    PcapWriter cut(kLinkEthernet, true, 70);
    size_t offset = 24;
    while (offset + 16 <= bytes.size()) {
      auto le32 = [&](size_t at) {
        return static_cast<uint32_t>(static_cast<uint8_t>(bytes[at])) |
               static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 1])) << 8 |
               static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 2])) << 16 |
               static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 3])) << 24;
      };
      const int64_t time = int64_t{le32(offset)} * 1'000'000'000 + le32(offset + 4);
      const uint32_t length = le32(offset + 8);
      cut.Add(time, std::string_view(bytes).substr(offset + 16, length));
      offset += 16 + length;
    }
    const absl::Status status = cut.WriteFile(dir + "/snaplen.pcap");
    ok &= status.ok();
    // The same session with its last record cut in half.
    const std::string truncated = bytes.substr(0, bytes.size() - 30);
    std::FILE* file = std::fopen((dir + "/truncated.pcap").c_str(), "wb");
    ok &= file != nullptr &&
          std::fwrite(truncated.data(), 1, truncated.size(), file) == truncated.size();
    if (file != nullptr) std::fclose(file);
  }
  {
    // An unknown link type: nothing decodes, a warning says so.
    CaptureBuilder capture(147);
    Session(capture, false, 40000);
    ok &= Write(capture, dir, "unknown_link.pcap");
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace tpslab::analyzer::pcap

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_test_captures OUT_DIR\n");
    return 2;
  }
  return tpslab::analyzer::pcap::Main(argv[1]);
}
