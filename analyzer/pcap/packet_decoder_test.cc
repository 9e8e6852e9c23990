#include "analyzer/pcap/packet_decoder.h"

#include <gtest/gtest.h>

#include <string>

#include "analyzer/pcap/pcap_writer.h"

namespace tpslab::analyzer::pcap {
namespace {

std::span<const uint8_t> Bytes(const std::string& frame) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(frame.data()), frame.size());
}

TcpSegment Sample(bool v6) {
  TcpSegment segment;
  if (v6) {
    std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8};
    std::array<uint8_t, 16> b = a;
    a[15] = 1;
    b[15] = 2;
    segment.src = IpAddress::V6(a);
    segment.dst = IpAddress::V6(b);
  } else {
    segment.src = IpAddress::V4(192, 0, 2, 1);
    segment.dst = IpAddress::V4(192, 0, 2, 2);
  }
  segment.src_port = 40000;
  segment.dst_port = 21;
  segment.seq = 0xfffffff0;
  segment.ack = 77;
  segment.flags = kTcpAck | kTcpPsh;
  segment.window = 512;
  segment.payload = "USER anonymous\r\n";
  return segment;
}

class DecodeEveryLinkType : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(DecodeEveryLinkType, RoundTripsSegment) {
  const auto [link_type, v6] = GetParam();
  const TcpSegment sent = Sample(v6);
  const std::string frame = BuildFrame(link_type, sent);
  TcpSegment got;
  ASSERT_EQ(DecodeFrame(link_type, Bytes(frame), &got), DecodeResult::kOk);
  EXPECT_EQ(got.src, sent.src);
  EXPECT_EQ(got.dst, sent.dst);
  EXPECT_EQ(got.src_port, 40000);
  EXPECT_EQ(got.dst_port, 21);
  EXPECT_EQ(got.seq, 0xfffffff0u);
  EXPECT_EQ(got.ack, 77u);
  EXPECT_EQ(got.flags, kTcpAck | kTcpPsh);
  EXPECT_EQ(got.window, 512);
  EXPECT_EQ(got.payload, "USER anonymous\r\n");
  EXPECT_EQ(got.payload_length, 16u);
}

INSTANTIATE_TEST_SUITE_P(AllLinks, DecodeEveryLinkType,
                         ::testing::Combine(::testing::Values(kLinkNull, kLinkEthernet, kLinkRaw,
                                                              kLinkRaw101, kLinkLoop, kLinkLinuxSll,
                                                              kLinkLinuxSll2),
                                            ::testing::Bool()));

TEST(DecodeFrame, RawIpv4AndIpv6LinkTypes) {
  TcpSegment got;
  EXPECT_EQ(DecodeFrame(kLinkIpv4, Bytes(BuildFrame(kLinkRaw, Sample(false))), &got),
            DecodeResult::kOk);
  EXPECT_EQ(DecodeFrame(kLinkIpv6, Bytes(BuildFrame(kLinkRaw, Sample(true))), &got),
            DecodeResult::kOk);
  EXPECT_EQ(got.src.ToString(), "2001:db8::1");
}

TEST(DecodeFrame, LooksThroughVlanTags) {
  TcpSegment got;
  const std::string frame = BuildFrame(kLinkEthernet, Sample(false), 2);
  ASSERT_EQ(DecodeFrame(kLinkEthernet, Bytes(frame), &got), DecodeResult::kOk);
  EXPECT_EQ(got.src.ToString(), "192.0.2.1");
  EXPECT_EQ(got.payload, "USER anonymous\r\n");
}

TEST(DecodeFrame, ParsesOptions) {
  TcpSegment syn = Sample(false);
  syn.flags = kTcpSyn;
  syn.payload = "";
  syn.mss = 1460;
  syn.window_scale = 7;
  TcpSegment got;
  ASSERT_EQ(DecodeFrame(kLinkRaw, Bytes(BuildFrame(kLinkRaw, syn)), &got), DecodeResult::kOk);
  EXPECT_EQ(got.mss, 1460);
  EXPECT_EQ(got.window_scale, 7);
  EXPECT_TRUE(got.payload.empty());
}

TEST(DecodeFrame, SkipsIpv6ExtensionHeaders) {
  std::string frame = BuildFrame(kLinkRaw, Sample(true));
  // Insert an 8-byte hop-by-hop header (next header TCP) after the fixed
  // header and a destination options header after it.
  const std::string hop_by_hop("\x3c\x00\x01\x04\x00\x00\x00\x00", 8);  // next: dest opts
  const std::string dest_opts("\x06\x00\x01\x04\x00\x00\x00\x00", 8);   // next: TCP
  frame.insert(40, hop_by_hop + dest_opts);
  frame[6] = 0;  // Next header: hop-by-hop.
  const uint16_t length = static_cast<uint16_t>(frame.size() - 40);
  frame[4] = static_cast<char>(length >> 8);
  frame[5] = static_cast<char>(length & 0xff);
  TcpSegment got;
  ASSERT_EQ(DecodeFrame(kLinkRaw, Bytes(frame), &got), DecodeResult::kOk);
  EXPECT_EQ(got.dst_port, 21);
  EXPECT_EQ(got.payload, "USER anonymous\r\n");
}

TEST(DecodeFrame, PayloadCutBySnapLength) {
  const std::string frame = BuildFrame(kLinkEthernet, Sample(false));
  const std::string cut = frame.substr(0, frame.size() - 6);
  TcpSegment got;
  ASSERT_EQ(DecodeFrame(kLinkEthernet, Bytes(cut), &got), DecodeResult::kOk);
  EXPECT_EQ(got.payload, "USER anony");
  EXPECT_EQ(got.payload_length, 16u);
}

TEST(DecodeFrame, EveryPrefixIsTruncatedOrOk) {
  for (const bool v6 : {false, true}) {
    for (const int link : {kLinkNull, kLinkEthernet, kLinkLinuxSll, kLinkLinuxSll2}) {
      const std::string frame = BuildFrame(link, Sample(v6));
      const size_t headers = frame.size() - 16;
      for (size_t n = 0; n < headers; ++n) {
        TcpSegment got;
        const std::string prefix = frame.substr(0, n);
        EXPECT_EQ(DecodeFrame(link, Bytes(prefix), &got), DecodeResult::kTruncated)
            << "link " << link << " length " << n;
      }
    }
  }
}

TEST(DecodeFrame, ReportsWhatItCannotUse) {
  TcpSegment got;
  const std::string frame = BuildFrame(kLinkRaw, Sample(false));
  EXPECT_EQ(DecodeFrame(147, Bytes(frame), &got), DecodeResult::kUnsupportedLink);
  EXPECT_FALSE(IsSupportedLinkType(147));

  std::string udp = frame;
  udp[9] = 17;
  EXPECT_EQ(DecodeFrame(kLinkRaw, Bytes(udp), &got), DecodeResult::kNotTcp);

  std::string fragment = frame;
  fragment[6] = 0x20;  // More fragments.
  EXPECT_EQ(DecodeFrame(kLinkRaw, Bytes(fragment), &got), DecodeResult::kIpFragment);

  std::string bad_offset = frame;
  bad_offset[20 + 12] = 0x30;  // TCP data offset 3 words.
  EXPECT_EQ(DecodeFrame(kLinkRaw, Bytes(bad_offset), &got), DecodeResult::kMalformed);

  std::string arp = BuildFrame(kLinkEthernet, Sample(false));
  arp[12] = 0x08;
  arp[13] = 0x06;
  EXPECT_EQ(DecodeFrame(kLinkEthernet, Bytes(arp), &got), DecodeResult::kNotIp);
  EXPECT_EQ(DecodeResultName(DecodeResult::kNotIp), "not IP");
}

}  // namespace
}  // namespace tpslab::analyzer::pcap
