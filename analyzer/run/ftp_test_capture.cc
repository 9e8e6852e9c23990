#include "analyzer/run/ftp_test_capture.h"

#include <algorithm>
#include <fstream>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"

namespace tpslab::analyzer {
namespace {

constexpr uint8_t kFin = 0x01;
constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kPsh = 0x08;
constexpr uint8_t kAck = 0x10;

constexpr int64_t kStartUs = int64_t{1'767'225'600} * 1'000'000;  // 2026-01-01.
constexpr int64_t kStepUs = 100;

void PutLittle(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void PutBig(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// The internet checksum of the IPv4 header at `header`.
uint16_t Ipv4Checksum(std::string_view header) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < header.size(); i += 2) {
    sum += (static_cast<uint8_t>(header[i]) << 8) | static_cast<uint8_t>(header[i + 1]);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// A pcap file being built, and the TCP conversations in it.
class PcapBuilder {
 public:
  enum Side { kClient = 0, kServer = 1 };

  explicit PcapBuilder(uint32_t snaplen) : snaplen_(snaplen) {
    PutLittle(file_, 0xa1b2c3d4, 4);  // Microsecond timestamps.
    PutLittle(file_, 2, 2);
    PutLittle(file_, 4, 2);
    PutLittle(file_, 0, 4);  // thiszone
    PutLittle(file_, 0, 4);  // sigfigs
    PutLittle(file_, snaplen, 4);
    PutLittle(file_, 1, 4);  // LINKTYPE_ETHERNET
  }

  // The three-way handshake from `client_port` to `server_port`; returns
  // the connection.
  int Connect(uint16_t client_port, uint16_t server_port) {
    const uint32_t id = static_cast<uint32_t>(conversations_.size());
    conversations_.push_back(
        {{client_port, server_port}, {1000 + id * 7919, 500000 + id * 104729}});
    Conversation& c = conversations_.back();
    Segment(c, kClient, kSyn, "");
    ++c.next_seq[kClient];
    Segment(c, kServer, kSyn | kAck, "");
    ++c.next_seq[kServer];
    Segment(c, kClient, kAck, "");
    return static_cast<int>(id);
  }

  // `data` from `from` in one segment.
  void Send(int id, Side from, std::string_view data) {
    Conversation& c = conversations_[static_cast<size_t>(id)];
    Segment(c, from, kPsh | kAck, data);
    c.next_seq[from] += static_cast<uint32_t>(data.size());
  }

  // FIN from `first`, FIN/ACK from the other side, the last ACK.
  void Close(int id, Side first) {
    Conversation& c = conversations_[static_cast<size_t>(id)];
    const Side second = first == kClient ? kServer : kClient;
    Segment(c, first, kFin | kAck, "");
    ++c.next_seq[first];
    Segment(c, second, kFin | kAck, "");
    ++c.next_seq[second];
    Segment(c, first, kAck, "");
  }

  uint64_t packets() const { return packets_; }
  const std::string& file() const { return file_; }

 private:
  struct Conversation {
    uint16_t port[2];
    uint32_t next_seq[2];
  };

  void Segment(const Conversation& c, Side from, uint8_t flags, std::string_view payload) {
    const Side to = from == kClient ? kServer : kClient;
    std::string frame;
    frame.append(12, '\0');  // Destination and source MAC, as on lo.
    PutBig(frame, 0x0800, 2);
    std::string ip;
    ip.push_back(0x45);
    ip.push_back(0);
    PutBig(ip, 20 + 20 + payload.size(), 2);
    PutBig(ip, packets_ & 0xffff, 2);  // Identification.
    PutBig(ip, 0x4000, 2);             // Don't fragment.
    ip.push_back(64);                  // TTL.
    ip.push_back(6);                   // TCP.
    PutBig(ip, 0, 2);
    PutBig(ip, 0x7f000001, 4);
    PutBig(ip, 0x7f000001, 4);
    const uint16_t checksum = Ipv4Checksum(ip);
    ip[10] = static_cast<char>(checksum >> 8);
    ip[11] = static_cast<char>(checksum & 0xff);
    frame += ip;
    PutBig(frame, c.port[from], 2);
    PutBig(frame, c.port[to], 2);
    PutBig(frame, c.next_seq[from], 4);
    PutBig(frame, (flags & kAck) ? c.next_seq[to] : 0, 4);
    frame.push_back(0x50);  // Data offset: 5 words, no options.
    frame.push_back(static_cast<char>(flags));
    PutBig(frame, 65535, 2);  // Window.
    PutBig(frame, 0, 2);      // Checksum (offloaded on lo).
    PutBig(frame, 0, 2);      // Urgent pointer.
    frame.append(payload);

    const int64_t time_us = kStartUs + static_cast<int64_t>(packets_) * kStepUs;
    const size_t kept = std::min<size_t>(frame.size(), snaplen_);
    PutLittle(file_, static_cast<uint64_t>(time_us / 1'000'000), 4);
    PutLittle(file_, static_cast<uint64_t>(time_us % 1'000'000), 4);
    PutLittle(file_, kept, 4);
    PutLittle(file_, frame.size(), 4);
    file_.append(frame, 0, kept);
    ++packets_;
  }

  uint32_t snaplen_;
  std::string file_;
  std::vector<Conversation> conversations_;
  uint64_t packets_ = 0;
};

// One session of the built-in scenario's transaction, STOR or RETR.
void Session(PcapBuilder& pcap, const FtpTestCapture& capture, int number, bool upload) {
  using Side = PcapBuilder::Side;
  const uint16_t client_port = static_cast<uint16_t>(40000 + number);
  const uint16_t passive_port = static_cast<uint16_t>(20000 + number);
  const int control = pcap.Connect(client_port, capture.control_port);
  pcap.Send(control, Side::kServer, "220 tpslab ftpd ready\r\n");
  pcap.Send(control, Side::kClient, "USER perf\r\n");
  pcap.Send(control, Side::kServer, "331 Password required\r\n");
  pcap.Send(control, Side::kClient, "PASS secret\r\n");
  pcap.Send(control, Side::kServer, "230 Logged in\r\n");
  pcap.Send(control, Side::kClient, "EPSV\r\n");
  pcap.Send(control, Side::kServer,
            absl::StrCat("229 Entering Extended Passive Mode (|||", passive_port, "|)\r\n"));
  const int data = pcap.Connect(static_cast<uint16_t>(50000 + number), passive_port);
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
  PcapBuilder pcap(capture.snaplen);
  int number = 0;
  for (int i = 0; i < capture.uploads; ++i) Session(pcap, capture, ++number, /*upload=*/true);
  for (int i = 0; i < capture.downloads; ++i) Session(pcap, capture, ++number, /*upload=*/false);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(pcap.file().data(), static_cast<std::streamsize>(pcap.file().size()));
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return pcap.packets();
}

}  // namespace tpslab::analyzer
