// Fuzz target: the whole `analyzer pcap` pipeline on an untrusted capture
// file (pcap or pcapng bytes): libpcap reading, decoding, TCP tracking and
// reassembly, FTP analysis and every output format. Besides "does not crash
// or hang" (ASan/UBSan, the test timeout) it aborts when an invariant
// breaks: frames are numbered 1, 2, ... in order and no more frames are
// reported than the file could hold.
//
// Runs as //analyzer/pcap:capture_fuzz_test through //common/testing:fuzz_main
// (corpus in testdata/capture_corpus/: captures from write_test_captures),
// or under libFuzzer with clang.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "analyzer/pcap/capture_analysis.h"
#include "analyzer/pcap/capture_report.h"
#include "analyzer/pcap/pcap_reader.h"

namespace tpslab::analyzer::pcap {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace
}  // namespace tpslab::analyzer::pcap

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tpslab::analyzer::pcap;
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  std::FILE* file = fmemopen(bytes.data(), bytes.size(), "rb");
  if (file == nullptr) return 0;
  auto reader = PcapReader::OpenFile(file, "fuzz.pcap");
  if (!reader.ok()) return 0;
  static const FieldList kAllFields = *ParseFieldList(
      "frame.number,frame.time_epoch,frame.time_relative,frame.len,ip.src,ip.dst,ipv6.src,"
      "ipv6.dst,tcp.srcport,tcp.dstport,tcp.stream,tcp.len,ftp.request,ftp.response,"
      "ftp.request.command,ftp.request.arg,ftp.response.code,ftp.response.arg");
  uint64_t last_frame = 0;
  AnalyzeOptions options;
  options.tcp.max_buffered_bytes = 512;
  options.tcp.max_connections = 4;
  const CaptureAnalysis analysis =
      AnalyzeCapture(**reader, options, [&](const FtpFrame& frame, const CaptureSummary& summary) {
        Check(frame.frame > last_frame, "frames in order");
        Check(frame.frame <= summary.frames, "frame numbers within the file");
        last_frame = frame.frame;
        Check(!FormatFieldLine(kAllFields, frame, summary).empty(), "field line");
      });
  // pcap: 24-byte header, 16 bytes per record; pcapng blocks are larger.
  Check(analysis.summary.frames <= size / 16, "frames fit in the file");
  Check(!FormatTables(analysis).empty(), "tables");
  std::ostringstream json;
  WriteJson(analysis, json);
  Check(!json.str().empty(), "json");
  return 0;
}
