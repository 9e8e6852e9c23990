#include "analyzer/pcap/capture_command.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <sys/stat.h>

#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "analyzer/pcap/pcap_reader.h"

namespace tpslab::analyzer::pcap {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

uint64_t FramesIn(const std::string& path) {
  auto reader = PcapReader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return 0;
  Frame frame;
  uint64_t frames = 0;
  while ((*reader)->Next(&frame)) ++frames;
  EXPECT_EQ((*reader)->error(), "");
  return frames;
}

// Writes `packets` 1000-byte packets through a RingDumper.
std::vector<std::string> Dump(const std::string& path, size_t ring, uint64_t max_bytes,
                              int packets) {
  std::unique_ptr<::pcap, void (*)(::pcap*)> handle(pcap_open_dead(DLT_EN10MB, 65535), pcap_close);
  RingDumper dumper(handle.get(), path, ring, max_bytes);
  const std::vector<uint8_t> data(1000, 0xab);
  for (int i = 0; i < packets; ++i) {
    pcap_pkthdr header = {};
    header.ts.tv_sec = 1'700'000'000 + i;
    header.caplen = header.len = 1000;
    EXPECT_TRUE(dumper.Write(&header, data.data()).ok());
  }
  dumper.Close();
  return dumper.files();
}

TEST(RingDumper, KeepsTheNewestFilesOfBoundedSize) {
  const std::string path = TempPath("ring.pcap");
  // 24-byte file header + 1016 bytes per record: a file reaches 2500 bytes
  // after its third record.
  const std::vector<std::string> files = Dump(path, 2, 2500, 10);
  EXPECT_EQ(files, (std::vector<std::string>{path + ".000003", path + ".000004"}));
  EXPECT_FALSE(Exists(path + ".000001"));
  EXPECT_FALSE(Exists(path + ".000002"));
  EXPECT_EQ(FramesIn(path + ".000003"), 3u);
  EXPECT_EQ(FramesIn(path + ".000004"), 1u);
}

TEST(RingDumper, WithoutRingWritesOneFile) {
  const std::string path = TempPath("single.pcap");
  EXPECT_EQ(Dump(path, 0, 2500, 10), std::vector<std::string>{path});
  EXPECT_EQ(FramesIn(path), 10u);
}

TEST(RingDumper, SaysWhichFileCannotBeCreated) {
  std::unique_ptr<::pcap, void (*)(::pcap*)> handle(pcap_open_dead(DLT_EN10MB, 65535), pcap_close);
  RingDumper dumper(handle.get(), "/nonexistent-dir/x.pcap", 0, 1000);
  pcap_pkthdr header = {};
  const uint8_t byte = 0;
  header.caplen = header.len = 1;
  const absl::Status status = dumper.Write(&header, &byte);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(status.message().find("cannot create /nonexistent-dir/x.pcap"), std::string::npos)
      << status;
}

TEST(CaptureCommand, ReportsAMissingInterface) {
  CaptureCommandOptions options;
  options.interface = "tpslab-no-such0";
  options.write = TempPath("never.pcap");
  std::ostringstream out, err;
  EXPECT_EQ(RunCaptureCommand(options, out, err), app::kExitFailure);
  EXPECT_NE(err.str().find("tpslab-no-such0"), std::string::npos) << err.str();
  EXPECT_FALSE(Exists(options.write));
}

TEST(CaptureCommand, RegistersTheSubcommand) {
  app::App app("analyzer", "test", "0.1.0");
  app.set_init_logging(false);
  AddCaptureCommand(app);
  std::ostringstream out, err;
  EXPECT_EQ(app.Run({"capture", "--help"}, out, err), app::kExitOk);
  EXPECT_NE(out.str().find("--ring"), std::string::npos);
  EXPECT_EQ(app.Run({"capture"}, out, err), app::kExitUsage);  // -i is required.
}

}  // namespace
}  // namespace tpslab::analyzer::pcap
