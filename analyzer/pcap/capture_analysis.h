// Runs the whole analysis of one capture: reads frames, decodes them,
// tracks TCP and analyses FTP, counting everything it had to skip.
//
//   auto reader = PcapReader::Open("ftp.pcapng");
//   CaptureAnalysis analysis = AnalyzeCapture(**reader, AnalyzeOptions{}, nullptr);
//   for (const FtpSession& session : analysis.sessions) ...
//   for (const auto& [what, count] : analysis.summary.decode_warnings) ...
#ifndef TPSLAB_ANALYZER_PCAP_CAPTURE_ANALYSIS_H_
#define TPSLAB_ANALYZER_PCAP_CAPTURE_ANALYSIS_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "analyzer/pcap/ftp_analyzer.h"
#include "analyzer/pcap/pcap_reader.h"
#include "analyzer/pcap/tcp_tracker.h"

namespace tpslab::analyzer::pcap {

struct AnalyzeOptions {
  // FTP detection and limits; defaults in FtpOptions.
  FtpOptions ftp;
  // TCP tracking limits; defaults in TrackerOptions.
  TrackerOptions tcp;
};

// Counts and facts about the capture as a whole.
struct CaptureSummary {
  std::string file;
  int link_type = 0;
  bool link_type_supported = true;
  uint64_t frames = 0;
  uint64_t tcp_segments = 0;
  uint64_t snapped_segments = 0;  // TCP payload cut by the snap length.
  int64_t first_ns = 0;           // Time of frame 1.
  int64_t last_ns = 0;
  // Frames the decoder skipped, by DecodeResultName().
  std::map<std::string, uint64_t> decode_warnings;
  // Why the file ended early (truncated, corrupt record), or empty.
  std::string read_error;
  TrackerStats tcp;
  FtpWarnings ftp;
};

// Everything AnalyzeCapture() found.
struct CaptureAnalysis {
  CaptureSummary summary;
  std::deque<FtpSession> sessions;
  std::vector<Connection> connections;
};

// Called for each control-channel frame in frame order (tshark's view).
using FtpFrameCallback = std::function<void(const FtpFrame&, const CaptureSummary&)>;

// Analyses every frame of `reader`. `on_frame` may be empty.
CaptureAnalysis AnalyzeCapture(PcapReader& reader, const AnalyzeOptions& options,
                               const FtpFrameCallback& on_frame);

}  // namespace tpslab::analyzer::pcap

#endif  // TPSLAB_ANALYZER_PCAP_CAPTURE_ANALYSIS_H_
