#include "analyzer/pcap/pcap_writer.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace tpslab::analyzer::pcap {
namespace {

void Put16(std::string& out, uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value & 0xff));
}

void Put32(std::string& out, uint32_t value) {
  Put16(out, static_cast<uint16_t>(value >> 16));
  Put16(out, static_cast<uint16_t>(value & 0xffff));
}

// Little-endian, for the pcap file header and records.
void PutLe32(std::string& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void PutLe16(std::string& out, uint16_t value) {
  out.push_back(static_cast<char>(value & 0xff));
  out.push_back(static_cast<char>(value >> 8));
}

std::string BuildTcp(const TcpSegment& segment) {
  std::string options;
  if (segment.mss > 0) {
    options += "\x02\x04";
    Put16(options, segment.mss);
  }
  if (segment.window_scale >= 0) {
    options += "\x01\x03\x03";
    options.push_back(static_cast<char>(segment.window_scale));
  }
  while (options.size() % 4 != 0) options.push_back('\0');
  std::string tcp;
  Put16(tcp, segment.src_port);
  Put16(tcp, segment.dst_port);
  Put32(tcp, segment.seq);
  Put32(tcp, segment.ack);
  tcp.push_back(static_cast<char>(((20 + options.size()) / 4) << 4));
  tcp.push_back(static_cast<char>(segment.flags));
  Put16(tcp, segment.window);
  Put16(tcp, 0);  // Checksum: not validated by readers.
  Put16(tcp, 0);  // Urgent pointer.
  tcp += options;
  tcp += segment.payload;
  return tcp;
}

std::string BuildIp(const TcpSegment& segment) {
  const std::string tcp = BuildTcp(segment);
  const size_t wire_payload = segment.payload_length > segment.payload.size()
                                  ? segment.payload_length
                                  : segment.payload.size();
  const size_t tcp_length = tcp.size() - segment.payload.size() + wire_payload;
  std::string ip;
  if (segment.src.version == 6) {
    Put32(ip, 0x60000000);
    Put16(ip, static_cast<uint16_t>(tcp_length));
    ip.push_back(6);  // Next header: TCP.
    ip.push_back(64);
    ip.append(reinterpret_cast<const char*>(segment.src.bytes.data()), 16);
    ip.append(reinterpret_cast<const char*>(segment.dst.bytes.data()), 16);
  } else {
    ip.push_back(0x45);
    ip.push_back(0);
    Put16(ip, static_cast<uint16_t>(20 + tcp_length));
    Put16(ip, 0);       // Identification.
    Put16(ip, 0x4000);  // Don't fragment.
    ip.push_back(64);
    ip.push_back(6);
    Put16(ip, 0);  // Checksum: not validated by readers.
    ip.append(reinterpret_cast<const char*>(segment.src.bytes.data()), 4);
    ip.append(reinterpret_cast<const char*>(segment.dst.bytes.data()), 4);
  }
  return ip + tcp;
}

}  // namespace

std::string BuildFrame(int link_type, const TcpSegment& segment, int vlan_tags) {
  const std::string ip = BuildIp(segment);
  const bool v6 = segment.src.version == 6;
  const uint16_t ether_type = v6 ? 0x86dd : 0x0800;
  std::string frame;
  switch (link_type) {
    case kLinkEthernet:
      frame.append("\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
      for (int i = 0; i < vlan_tags; ++i) {
        Put16(frame, 0x8100);
        Put16(frame, static_cast<uint16_t>(100 + i));
      }
      Put16(frame, ether_type);
      break;
    case kLinkNull:
      PutLe32(frame, v6 ? 30 : 2);
      break;
    case kLinkLoop:
      Put32(frame, v6 ? 24 : 2);
      break;
    case kLinkLinuxSll:
      Put16(frame, 0);    // Packet type: to us.
      Put16(frame, 772);  // ARPHRD_LOOPBACK.
      Put16(frame, 6);
      frame.append(8, '\0');
      Put16(frame, ether_type);
      break;
    case kLinkLinuxSll2:
      Put16(frame, ether_type);
      Put16(frame, 0);  // Reserved.
      Put32(frame, 1);  // Interface index.
      Put16(frame, 772);
      frame.push_back(0);  // Packet type.
      frame.push_back(6);  // Address length.
      frame.append(8, '\0');
      break;
    default:  // Raw IP link types.
      break;
  }
  return frame + ip;
}

PcapWriter::PcapWriter(int link_type, bool nanosecond, uint32_t snap_length)
    : nanosecond_(nanosecond), snap_length_(snap_length) {
  PutLe32(bytes_, nanosecond ? 0xa1b23c4d : 0xa1b2c3d4);
  PutLe16(bytes_, 2);
  PutLe16(bytes_, 4);
  PutLe32(bytes_, 0);  // Time zone.
  PutLe32(bytes_, 0);  // Accuracy.
  PutLe32(bytes_, snap_length);
  PutLe32(bytes_, static_cast<uint32_t>(link_type));
}

PcapWriter::~PcapWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status PcapWriter::Stream(const std::string& path) {
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  path_ = path;
  Put("");
  return absl::OkStatus();
}

void PcapWriter::Put(std::string_view data) {
  bytes_ += data;
  if (file_ != nullptr && bytes_.size() >= (1 << 20)) {
    std::fwrite(bytes_.data(), 1, bytes_.size(), file_);
    bytes_.clear();
  }
}

void PcapWriter::Add(int64_t time_ns, std::string_view frame, uint32_t wire_length) {
  const uint32_t captured =
      frame.size() > snap_length_ ? snap_length_ : static_cast<uint32_t>(frame.size());
  std::string header;
  PutLe32(header, static_cast<uint32_t>(time_ns / 1'000'000'000));
  const int64_t fraction = time_ns % 1'000'000'000;
  PutLe32(header, static_cast<uint32_t>(nanosecond_ ? fraction : fraction / 1000));
  PutLe32(header, captured);
  PutLe32(header, wire_length != 0 ? wire_length : static_cast<uint32_t>(frame.size()));
  Put(header);
  Put(frame.substr(0, captured));
}

absl::Status PcapWriter::WriteFile(const std::string& path) {
  if (file_ == nullptr) {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) {
      return absl::InternalError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
    }
    const size_t written = std::fwrite(bytes_.data(), 1, bytes_.size(), file);
    const bool closed = std::fclose(file) == 0;
    if (written != bytes_.size() || !closed) {
      return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  const size_t size = bytes_.size();
  const size_t written = std::fwrite(bytes_.data(), 1, size, file_);
  bytes_.clear();
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (written != size || !closed) {
    return absl::InternalError(absl::StrCat("cannot write ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace tpslab::analyzer::pcap
