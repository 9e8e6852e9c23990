// Synthesises large FTP captures for benchmarks (benchmarks/pcap_vs_tshark.sh):
//
//   make_capture --out FILE [--packets N]       sequential FTP sessions on port
//                                               2121 (login, PWD, CWD, passive
//                                               listings and downloads, QUIT)
//                                               until at least N packets
//                                               (default 1000000)
//   make_capture --out FILE --concurrent N      N connections open at once:
//                                               all handshakes, then a command
//                                               and reply on each, then all
//                                               closes (tracker memory bound)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "analyzer/pcap/capture_builder.h"
#include "analyzer/pcap/packet_decoder.h"

namespace tpslab::analyzer::pcap {
namespace {

constexpr CaptureBuilder::Side kC = CaptureBuilder::kClient;
constexpr CaptureBuilder::Side kS = CaptureBuilder::kServer;

// Client endpoint number `i`: ports 10000..59999 on 10.1.x.y (never the
// server's port 2121: tshark would take both directions for requests).
Endpoint Client(uint64_t i) {
  const uint64_t host = i / 50000;
  return Endpoint{
      IpAddress::V4(10, 1, static_cast<uint8_t>(host / 250), static_cast<uint8_t>(host % 250 + 1)),
      static_cast<uint16_t>(10000 + i % 50000)};
}

void Session(CaptureBuilder& capture, uint64_t i) {
  const Endpoint server{IpAddress::V4(10, 2, 0, 1), 2121};
  const Endpoint client = Client(i);
  const int control = capture.Connect(client, server);
  capture.Send(control, kS, "220 benchmark FTP server ready\r\n");
  capture.Send(control, kC, "USER user" + std::to_string(i % 1000) + "\r\n");
  capture.Send(control, kS, "331 Password required\r\n");
  capture.Send(control, kC, "PASS secret\r\n");
  capture.Send(control, kS, "230 User logged in\r\n");
  capture.Send(control, kC, "PWD\r\n");
  capture.Send(control, kS, "257 \"/\" is the current directory\r\n");
  capture.Send(control, kC, "CWD /pub/data\r\n");
  capture.Send(control, kS, "250 Directory changed\r\n");
  capture.Send(control, kC, "TYPE I\r\n");
  capture.Send(control, kS, "200 Type set to I\r\n");
  for (int transfer = 0; transfer < 3; ++transfer) {
    const uint16_t data_port = static_cast<uint16_t>(30000 + (i * 3 + transfer) % 30000);
    capture.Send(control, kC, "PASV\r\n");
    capture.Send(control, kS,
                 "227 Entering Passive Mode (10,2,0,1," + std::to_string(data_port / 256) + "," +
                     std::to_string(data_port % 256) + ")\r\n");
    // The data connection's client port: the control port's upper-half twin.
    const Endpoint data_client{client.address, static_cast<uint16_t>(client.port | 0x8000)};
    const int data = capture.Connect(data_client, Endpoint{server.address, data_port});
    capture.Send(control, kC,
                 transfer == 0 ? "LIST\r\n" : "RETR file" + std::to_string(transfer) + ".bin\r\n");
    capture.Send(control, kS, "150 Opening BINARY mode data connection\r\n");
    capture.Send(data, kS, std::string(transfer == 0 ? 600 : 8000, 'x'), 1448);
    capture.Ack(data, kC);
    capture.Close(data);
    capture.Send(control, kS, "226 Transfer complete\r\n");
  }
  capture.Send(control, kC, "NOOP\r\n");
  capture.Send(control, kS, "200 NOOP ok\r\n");
  capture.Send(control, kC, "QUIT\r\n");
  capture.Send(control, kS, "221 Goodbye\r\n");
  capture.Close(control);
}

int Main(int argc, char** argv) {
  std::string out;
  uint64_t packets = 1'000'000;
  uint64_t concurrent = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--out") == 0) {
      out = argv[i + 1];
    } else if (std::strcmp(argv[i], "--packets") == 0) {
      packets = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (std::strcmp(argv[i], "--concurrent") == 0) {
      concurrent = std::strtoull(argv[i + 1], nullptr, 10);
    } else {
      std::fprintf(stderr, "make_capture: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (out.empty()) {
    std::fprintf(stderr, "usage: make_capture --out FILE [--packets N | --concurrent N]\n");
    return 2;
  }
  CaptureBuilder capture(kLinkEthernet, 1'767'225'600'000'000'000, 20'000);
  if (absl::Status status = capture.writer().Stream(out); !status.ok()) {
    std::fprintf(stderr, "make_capture: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  uint64_t sessions = 0;
  if (concurrent > 0) {
    const Endpoint server{IpAddress::V4(10, 2, 0, 1), 2121};
    for (uint64_t i = 0; i < concurrent; ++i) capture.Connect(Client(i), server);
    for (uint64_t i = 0; i < concurrent; ++i) {
      capture.Send(static_cast<int>(i), kS, "220 ready\r\n");
      capture.Send(static_cast<int>(i), kC, "NOOP\r\n");
      capture.Send(static_cast<int>(i), kS, "200 ok\r\n");
    }
    for (uint64_t i = 0; i < concurrent; ++i) capture.Close(static_cast<int>(i));
    sessions = concurrent;
  } else {
    while (capture.frames() < packets) Session(capture, sessions++);
  }
  if (absl::Status status = capture.writer().WriteFile(out); !status.ok()) {
    std::fprintf(stderr, "make_capture: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  std::printf("%llu packets, %llu sessions -> %s\n",
              static_cast<unsigned long long>(capture.frames()),
              static_cast<unsigned long long>(sessions), out.c_str());
  return 0;
}

}  // namespace
}  // namespace tpslab::analyzer::pcap

int main(int argc, char** argv) { return tpslab::analyzer::pcap::Main(argc, argv); }
