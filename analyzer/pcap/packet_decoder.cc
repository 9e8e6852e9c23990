#include "analyzer/pcap/packet_decoder.h"

#include <arpa/inet.h>
#include <sys/socket.h>

namespace tpslab::analyzer::pcap {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint16_t kEtherQinQ = 0x88a8;
constexpr uint16_t kEtherQinQOld = 0x9100;
// Tags looked through before giving up (802.1ad + 802.1Q + slack).
constexpr int kMaxVlanTags = 4;
// IPv6 extension headers looked through before giving up.
constexpr int kMaxIpv6ExtensionHeaders = 16;

uint16_t Read16(std::span<const uint8_t> data, size_t offset) {
  return static_cast<uint16_t>((data[offset] << 8) | data[offset + 1]);
}

uint32_t Read32(std::span<const uint8_t> data, size_t offset) {
  return (uint32_t{data[offset]} << 24) | (uint32_t{data[offset + 1]} << 16) |
         (uint32_t{data[offset + 2]} << 8) | uint32_t{data[offset + 3]};
}

// Parses the TCP header at the start of `data`; `ip_payload_length` is the
// TCP header plus payload length the IP header announces.
DecodeResult DecodeTcp(std::span<const uint8_t> data, uint32_t ip_payload_length,
                       TcpSegment* segment) {
  if (data.size() < 20) return DecodeResult::kTruncated;
  const size_t header_length = size_t{static_cast<uint8_t>(data[12] >> 4)} * 4;
  if (header_length < 20) return DecodeResult::kMalformed;
  if (data.size() < header_length) return DecodeResult::kTruncated;
  if (ip_payload_length < header_length) return DecodeResult::kMalformed;
  segment->src_port = Read16(data, 0);
  segment->dst_port = Read16(data, 2);
  segment->seq = Read32(data, 4);
  segment->ack = Read32(data, 8);
  segment->flags = data[13];
  segment->window = Read16(data, 14);
  segment->window_scale = -1;
  segment->mss = 0;
  // Options: malformed ones end option parsing but not the segment, as in
  // Wireshark.
  size_t offset = 20;
  while (offset < header_length) {
    const uint8_t kind = data[offset];
    if (kind == 0) break;
    if (kind == 1) {
      ++offset;
      continue;
    }
    if (offset + 1 >= header_length) break;
    const uint8_t length = data[offset + 1];
    if (length < 2 || offset + length > header_length) break;
    if (kind == 2 && length == 4) segment->mss = Read16(data, offset + 2);
    if (kind == 3 && length == 3)
      segment->window_scale = data[offset + 2] > 14 ? 14 : data[offset + 2];
    offset += length;
  }
  segment->payload_length = ip_payload_length - static_cast<uint32_t>(header_length);
  const size_t captured = data.size() - header_length;
  const size_t payload_size =
      captured < segment->payload_length ? captured : size_t{segment->payload_length};
  segment->payload =
      std::string_view(reinterpret_cast<const char*>(data.data()) + header_length, payload_size);
  return DecodeResult::kOk;
}

DecodeResult DecodeIpv4(std::span<const uint8_t> data, TcpSegment* segment) {
  if (data.size() < 20) return DecodeResult::kTruncated;
  if ((data[0] >> 4) != 4) return DecodeResult::kMalformed;
  const size_t header_length = size_t{static_cast<uint8_t>(data[0] & 0x0f)} * 4;
  if (header_length < 20) return DecodeResult::kMalformed;
  if (data.size() < header_length) return DecodeResult::kTruncated;
  size_t total_length = Read16(data, 2);
  // Segmentation offload captures report 0; trust the capture then.
  if (total_length == 0) total_length = data.size();
  if (total_length < header_length) return DecodeResult::kMalformed;
  const uint16_t fragment = Read16(data, 6);
  if ((fragment & 0x3fff) != 0) return DecodeResult::kIpFragment;
  if (data[9] != 6) return DecodeResult::kNotTcp;
  segment->src = IpAddress{};
  segment->dst = IpAddress{};
  segment->src.version = 4;
  segment->dst.version = 4;
  for (size_t i = 0; i < 4; ++i) {
    segment->src.bytes[i] = data[12 + i];
    segment->dst.bytes[i] = data[16 + i];
  }
  // Bytes past total_length are link-layer padding.
  const size_t available = data.size() < total_length ? data.size() : total_length;
  return DecodeTcp(data.subspan(header_length, available - header_length),
                   static_cast<uint32_t>(total_length - header_length), segment);
}

DecodeResult DecodeIpv6(std::span<const uint8_t> data, TcpSegment* segment) {
  if (data.size() < 40) return DecodeResult::kTruncated;
  if ((data[0] >> 4) != 6) return DecodeResult::kMalformed;
  size_t payload_length = Read16(data, 4);
  // Jumbograms and offload captures report 0; trust the capture then.
  if (payload_length == 0) payload_length = data.size() - 40;
  segment->src.version = 6;
  segment->dst.version = 6;
  for (size_t i = 0; i < 16; ++i) {
    segment->src.bytes[i] = data[8 + i];
    segment->dst.bytes[i] = data[24 + i];
  }
  uint8_t next = data[6];
  size_t offset = 40;
  const size_t end = 40 + payload_length;
  for (int i = 0; i < kMaxIpv6ExtensionHeaders; ++i) {
    switch (next) {
      case 6: {
        if (offset > end) return DecodeResult::kMalformed;
        const size_t available = data.size() < end ? data.size() : end;
        if (offset > available) return DecodeResult::kTruncated;
        return DecodeTcp(data.subspan(offset, available - offset),
                         static_cast<uint32_t>(end - offset), segment);
      }
      case 0:    // Hop-by-hop options.
      case 43:   // Routing.
      case 60:   // Destination options.
      case 135:  // Mobility.
        if (data.size() < offset + 2) return DecodeResult::kTruncated;
        next = data[offset];
        offset += (size_t{data[offset + 1]} + 1) * 8;
        break;
      case 51:  // Authentication header: length in 4-byte units minus 2.
        if (data.size() < offset + 2) return DecodeResult::kTruncated;
        next = data[offset];
        offset += (size_t{data[offset + 1]} + 2) * 4;
        break;
      case 44: {  // Fragment: only an unfragmented "atomic" one is usable.
        if (data.size() < offset + 8) return DecodeResult::kTruncated;
        const uint16_t fragment = Read16(data, offset + 2);
        if ((fragment & 0xfff9) != 0) return DecodeResult::kIpFragment;
        next = data[offset];
        offset += 8;
        break;
      }
      default:
        return DecodeResult::kNotTcp;
    }
  }
  return DecodeResult::kMalformed;
}

DecodeResult DecodeIp(std::span<const uint8_t> data, TcpSegment* segment) {
  if (data.empty()) return DecodeResult::kTruncated;
  switch (data[0] >> 4) {
    case 4:
      return DecodeIpv4(data, segment);
    case 6:
      return DecodeIpv6(data, segment);
    default:
      return DecodeResult::kNotIp;
  }
}

DecodeResult DecodeEtherType(uint16_t type, std::span<const uint8_t> data, TcpSegment* segment) {
  switch (type) {
    case kEtherIpv4:
      return DecodeIpv4(data, segment);
    case kEtherIpv6:
      return DecodeIpv6(data, segment);
    default:
      return DecodeResult::kNotIp;
  }
}

DecodeResult DecodeEthernet(std::span<const uint8_t> data, TcpSegment* segment) {
  if (data.size() < 14) return DecodeResult::kTruncated;
  size_t offset = 12;
  uint16_t type = Read16(data, offset);
  for (int tags = 0; type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld; ++tags) {
    if (tags == kMaxVlanTags) return DecodeResult::kMalformed;
    offset += 4;
    if (data.size() < offset + 2) return DecodeResult::kTruncated;
    type = Read16(data, offset);
  }
  return DecodeEtherType(type, data.subspan(offset + 2), segment);
}

// BSD address family values for IPv4 and IPv6 (they differ between BSDs).
DecodeResult DecodeNullFamily(uint32_t family, std::span<const uint8_t> data, TcpSegment* segment) {
  switch (family) {
    case 2:  // AF_INET everywhere.
      return DecodeIpv4(data, segment);
    case 10:  // Linux AF_INET6.
    case 24:  // NetBSD, OpenBSD, BSD/OS.
    case 28:  // FreeBSD.
    case 30:  // macOS.
      return DecodeIpv6(data, segment);
    default:
      return DecodeResult::kNotIp;
  }
}

}  // namespace

bool IsSupportedLinkType(int link_type) {
  switch (link_type) {
    case kLinkNull:
    case kLinkEthernet:
    case kLinkRaw:
    case kLinkRawOpenBsd:
    case kLinkRaw101:
    case kLinkLoop:
    case kLinkLinuxSll:
    case kLinkIpv4:
    case kLinkIpv6:
    case kLinkLinuxSll2:
      return true;
    default:
      return false;
  }
}

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(version == 6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof(text));
  return text;
}

IpAddress IpAddress::V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress address;
  address.bytes[0] = a;
  address.bytes[1] = b;
  address.bytes[2] = c;
  address.bytes[3] = d;
  return address;
}

IpAddress IpAddress::V6(const std::array<uint8_t, 16>& bytes) {
  IpAddress address;
  address.version = 6;
  address.bytes = bytes;
  return address;
}

std::string_view DecodeResultName(DecodeResult result) {
  switch (result) {
    case DecodeResult::kOk:
      return "ok";
    case DecodeResult::kUnsupportedLink:
      return "unsupported link type";
    case DecodeResult::kNotIp:
      return "not IP";
    case DecodeResult::kNotTcp:
      return "not TCP";
    case DecodeResult::kIpFragment:
      return "IP fragment";
    case DecodeResult::kTruncated:
      return "truncated headers";
    case DecodeResult::kMalformed:
      return "malformed headers";
  }
  return "unknown";
}

DecodeResult DecodeFrame(int link_type, std::span<const uint8_t> frame, TcpSegment* segment) {
  switch (link_type) {
    case kLinkEthernet:
      return DecodeEthernet(frame, segment);
    case kLinkRaw:
    case kLinkRawOpenBsd:
    case kLinkRaw101:
      return DecodeIp(frame, segment);
    case kLinkIpv4:
      return DecodeIpv4(frame, segment);
    case kLinkIpv6:
      return DecodeIpv6(frame, segment);
    case kLinkNull: {
      if (frame.size() < 4) return DecodeResult::kTruncated;
      // Host byte order of the capturing machine: accept either.
      uint32_t family = Read32(frame, 0);
      if ((family & 0xffff) == 0) family >>= 24;
      return DecodeNullFamily(family, frame.subspan(4), segment);
    }
    case kLinkLoop:
      if (frame.size() < 4) return DecodeResult::kTruncated;
      return DecodeNullFamily(Read32(frame, 0), frame.subspan(4), segment);
    case kLinkLinuxSll:
      if (frame.size() < 16) return DecodeResult::kTruncated;
      return DecodeEtherType(Read16(frame, 14), frame.subspan(16), segment);
    case kLinkLinuxSll2:
      if (frame.size() < 20) return DecodeResult::kTruncated;
      return DecodeEtherType(Read16(frame, 0), frame.subspan(20), segment);
    default:
      return DecodeResult::kUnsupportedLink;
  }
}

}  // namespace tpslab::analyzer::pcap
