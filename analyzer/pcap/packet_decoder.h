// Decodes one captured frame down to its TCP segment: link layer (Ethernet
// with VLAN tags, Linux cooked SLL and SLL2, BSD NULL/loopback, raw IP),
// IPv4 or IPv6 (extension headers skipped) and TCP with its options. Never
// reads outside the frame; anything it cannot decode is a DecodeResult other
// than kOk, which callers count.
//
//   TcpSegment segment;
//   DecodeResult result = DecodeFrame(kLinkEthernet, frame_bytes, &segment);
//   if (result == DecodeResult::kOk) Use(segment.src, segment.payload);
//   else ++warnings[DecodeResultName(result)];
#ifndef TPSLAB_ANALYZER_PCAP_PACKET_DECODER_H_
#define TPSLAB_ANALYZER_PCAP_PACKET_DECODER_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tpslab::analyzer::pcap {

// libpcap DLT_* link types the decoder understands.
inline constexpr int kLinkNull = 0;         // BSD loopback, host-order family.
inline constexpr int kLinkEthernet = 1;     // Ethernet II, 802.1Q/802.1ad tags.
inline constexpr int kLinkRaw = 12;         // Raw IP (DLT_RAW on Linux).
inline constexpr int kLinkRawOpenBsd = 14;  // Raw IP (DLT_RAW on OpenBSD).
inline constexpr int kLinkRaw101 = 101;     // LINKTYPE_RAW as stored in files.
inline constexpr int kLinkLoop = 108;       // OpenBSD loopback, network-order family.
inline constexpr int kLinkLinuxSll = 113;   // Linux cooked capture v1.
inline constexpr int kLinkIpv4 = 228;       // Raw IPv4.
inline constexpr int kLinkIpv6 = 229;       // Raw IPv6.
inline constexpr int kLinkLinuxSll2 = 276;  // Linux cooked capture v2.

// Returns whether DecodeFrame() understands `link_type`.
bool IsSupportedLinkType(int link_type);

// An IPv4 or IPv6 address; IPv4 uses the first 4 bytes.
struct IpAddress {
  // 4 or 6. Default 4.
  uint8_t version = 4;
  // Network byte order; unused bytes are zero. Default all zero.
  std::array<uint8_t, 16> bytes{};

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
  // Returns "192.0.2.1" or "2001:db8::1" (RFC 5952, as Wireshark prints).
  std::string ToString() const;
  // Returns the IPv4 address 192.0.2.1 for V4(192, 0, 2, 1).
  static IpAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
  // Returns an IPv6 address from its 16 bytes.
  static IpAddress V6(const std::array<uint8_t, 16>& bytes);
};

// TCP header flags.
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

// A decoded TCP segment. `payload` points into the frame it came from.
struct TcpSegment {
  IpAddress src;
  IpAddress dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  // kTcp* bits.
  uint8_t flags = 0;
  // Advertised window as sent (not scaled).
  uint16_t window = 0;
  // Window scale option (SYN only); -1 when absent.
  int window_scale = -1;
  // MSS option; 0 when absent.
  uint16_t mss = 0;
  // The payload bytes that were captured.
  std::string_view payload;
  // Payload length on the wire (from the IP length); larger than
  // payload.size() when the snap length cut the frame.
  uint32_t payload_length = 0;
};

// What DecodeFrame() made of a frame.
enum class DecodeResult {
  kOk,               // A TCP segment; *segment is filled in.
  kUnsupportedLink,  // Link type not handled.
  kNotIp,            // Link layer carries neither IPv4 nor IPv6 (ARP, ...).
  kNotTcp,           // IP carries another protocol (UDP, ICMP, ESP, ...).
  kIpFragment,       // An IP fragment: not reassembled.
  kTruncated,        // Headers cut short by the snap length or a bad length.
  kMalformed,        // A header field is impossible (bad IP version, TCP offset < 5, ...).
};

// Returns a short lowercase name ("truncated") for `result`.
std::string_view DecodeResultName(DecodeResult result);

// Decodes `frame`, captured on a `link_type` interface, into *segment.
// Returns kOk only for a TCP segment whose headers are complete; the payload
// may still be cut by the snap length (see TcpSegment::payload_length).
DecodeResult DecodeFrame(int link_type, std::span<const uint8_t> frame, TcpSegment* segment);

}  // namespace tpslab::analyzer::pcap

#endif  // TPSLAB_ANALYZER_PCAP_PACKET_DECODER_H_
