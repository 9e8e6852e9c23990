#include "analyzer/pcap/pcap_reader.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "analyzer/pcap/packet_decoder.h"
#include "analyzer/pcap/pcap_writer.h"

namespace tpslab::analyzer::pcap {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

TcpSegment Segment(std::string_view payload) {
  TcpSegment segment;
  segment.src = IpAddress::V4(10, 0, 0, 1);
  segment.dst = IpAddress::V4(10, 0, 0, 2);
  segment.src_port = 1234;
  segment.dst_port = 21;
  segment.flags = kTcpAck;
  segment.payload = payload;
  return segment;
}

TEST(PcapReader, ReadsFramesWithNanosecondTimes) {
  PcapWriter writer(kLinkEthernet);
  writer.Add(1'700'000'000'123'456'789, BuildFrame(kLinkEthernet, Segment("a")));
  writer.Add(1'700'000'001'000'000'001, BuildFrame(kLinkEthernet, Segment("bc")));
  const std::string path = TempPath("two.pcap");
  ASSERT_TRUE(writer.WriteFile(path).ok());
  auto reader = PcapReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->link_type(), kLinkEthernet);
  Frame frame;
  ASSERT_TRUE((*reader)->Next(&frame));
  EXPECT_EQ(frame.number, 1u);
  EXPECT_EQ(frame.time_ns, 1'700'000'000'123'456'789);
  ASSERT_TRUE((*reader)->Next(&frame));
  EXPECT_EQ(frame.number, 2u);
  EXPECT_EQ(frame.time_ns, 1'700'000'001'000'000'001);
  EXPECT_EQ(frame.wire_length, frame.data.size());
  EXPECT_FALSE((*reader)->Next(&frame));
  EXPECT_EQ((*reader)->error(), "");
}

TEST(PcapReader, MicrosecondFilesScaleToNanoseconds) {
  PcapWriter writer(kLinkRaw101, /*nanosecond=*/false);
  writer.Add(1'700'000'000'123'456'000, BuildFrame(kLinkRaw101, Segment("a")));
  const std::string path = TempPath("micro.pcap");
  ASSERT_TRUE(writer.WriteFile(path).ok());
  auto reader = PcapReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  Frame frame;
  ASSERT_TRUE((*reader)->Next(&frame));
  EXPECT_EQ(frame.time_ns, 1'700'000'000'123'456'000);
  TcpSegment segment;
  EXPECT_EQ(DecodeFrame((*reader)->link_type(), frame.data, &segment), DecodeResult::kOk);
}

TEST(PcapReader, TruncatedFileKeepsFramesAndSaysWhere) {
  PcapWriter writer(kLinkEthernet);
  writer.Add(1'000'000'000, BuildFrame(kLinkEthernet, Segment("first")));
  writer.Add(2'000'000'000, BuildFrame(kLinkEthernet, Segment("second")));
  const std::string cut = writer.bytes().substr(0, writer.bytes().size() - 5);
  std::FILE* file = fmemopen(const_cast<char*>(cut.data()), cut.size(), "rb");
  ASSERT_NE(file, nullptr);
  auto reader = PcapReader::OpenFile(file, "cut.pcap");
  ASSERT_TRUE(reader.ok()) << reader.status();
  Frame frame;
  ASSERT_TRUE((*reader)->Next(&frame));
  EXPECT_FALSE((*reader)->Next(&frame));
  EXPECT_NE((*reader)->error().find("cut.pcap: after frame 1: truncated"), std::string::npos)
      << (*reader)->error();
}

TEST(PcapReader, RejectsWhatIsNotACapture) {
  const std::string path = TempPath("not_a_capture.txt");
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  std::fputs("hello, this is text and not a capture file at all\n", file);
  std::fclose(file);
  auto reader = PcapReader::Open(path);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(reader.status().message().find("not_a_capture.txt is not a readable pcap"),
            std::string::npos);

  auto missing = PcapReader::Open(TempPath("missing.pcap"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tpslab::analyzer::pcap
