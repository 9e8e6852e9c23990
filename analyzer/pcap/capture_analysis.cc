#include "analyzer/pcap/capture_analysis.h"

#include <string>
#include <utility>

#include "analyzer/pcap/packet_decoder.h"

namespace tpslab::analyzer::pcap {

CaptureAnalysis AnalyzeCapture(PcapReader& reader, const AnalyzeOptions& options,
                               const FtpFrameCallback& on_frame) {
  CaptureAnalysis analysis;
  CaptureSummary& summary = analysis.summary;
  summary.link_type = reader.link_type();
  summary.link_type_supported = IsSupportedLinkType(reader.link_type());
  FtpAnalyzer ftp(options.ftp);
  if (on_frame) {
    ftp.set_frame_callback([&](const FtpFrame& frame) { on_frame(frame, summary); });
  }
  TcpTracker tracker(options.tcp, ftp);
  Frame frame;
  TcpSegment segment;
  std::map<DecodeResult, uint64_t> skipped;
  while (reader.Next(&frame)) {
    if (summary.frames == 0) summary.first_ns = frame.time_ns;
    summary.last_ns = frame.time_ns;
    ++summary.frames;
    const DecodeResult result = DecodeFrame(summary.link_type, frame.data, &segment);
    if (result != DecodeResult::kOk) {
      ++skipped[result];
      continue;
    }
    ++summary.tcp_segments;
    if (segment.payload.size() < segment.payload_length) ++summary.snapped_segments;
    tracker.Process(frame, segment);
  }
  tracker.Finish();
  ftp.Finish();
  for (const auto& [result, count] : skipped) {
    std::string name(DecodeResultName(result));
    if (result == DecodeResult::kUnsupportedLink) {
      name += " " + std::to_string(summary.link_type);
    }
    summary.decode_warnings[name] = count;
  }
  summary.read_error = reader.error();
  summary.tcp = tracker.stats();
  summary.ftp = ftp.warnings();
  analysis.sessions = ftp.ReleaseSessions();
  analysis.connections = ftp.ReleaseConnections();
  return analysis;
}

}  // namespace tpslab::analyzer::pcap
