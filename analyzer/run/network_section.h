// The report's "network" section of a captured run: the analysis of the
// run folder's capture.pcap (analyzer/pcap) beside loadgen's step latencies.
// `analyzer run --capture` builds it when the load ends, and `analyzer
// report` builds it again from the same files, so a re-rendered report keeps
// the wire-level figures. The section's schema is in docs/perf-run.md.
//
// The run folder holds everything the section needs:
//   capture.pcap      the packets (`analyzer capture -i lo --write ...`)
//   logs/capture.log  what the capture said when it stopped (packets
//                     written, dropped by the kernel, cut by the size limit)
//   capture.json      how `analyzer run` captured (filter, snap length, size
//                     limit, FTP control port): WriteCaptureSettings()
//
// Example:
//   // At run time, when the capture starts:
//   CaptureSettings settings{.filter = "tcp port 2121", .snaplen = 200, .max_mb = 512,
//                            .control_port = 2121};
//   absl::Status s = WriteCaptureSettings(dir, settings);
//   // When the report is written (run time or `analyzer report`):
//   absl::StatusOr<CaptureSettings> stored = ReadCaptureSettings(dir);
//   report["network"] = NetworkSection(dir, *stored, report);
//   std::fputs(DescribeNetworkSection(report["network"]).c_str(), stdout);
#ifndef TPSLAB_ANALYZER_RUN_NETWORK_SECTION_H_
#define TPSLAB_ANALYZER_RUN_NETWORK_SECTION_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tpslab::analyzer {

// Paths of the capture's files, relative to the run folder.
inline constexpr char kCaptureFile[] = "capture.pcap";
inline constexpr char kCaptureLog[] = "logs/capture.log";
inline constexpr char kCaptureSettingsFile[] = "capture.json";

// How the run captured: what the capture file itself does not say.
struct CaptureSettings {
  // BPF filter of the capture. Default nullopt: unknown (null in the
  // section).
  std::optional<std::string> filter = std::nullopt;
  // Bytes kept of each packet. Default nullopt: unknown (the section then
  // reports the capture file's own snap length).
  std::optional<int> snaplen = std::nullopt;
  // Size limit of capture.pcap in MB (0: none). Default nullopt: unknown
  // (null in the section).
  std::optional<uint64_t> max_mb = std::nullopt;
  // The FTP server's control port. Default 0: unknown (control connections
  // are then found on port 21 and by their content).
  uint16_t control_port = 0;
};

// Writes `settings` to `dir`/capture.json. Errors name the file.
absl::Status WriteCaptureSettings(const std::filesystem::path& dir,
                                  const CaptureSettings& settings);

// Reads `dir`/capture.json. NotFound when the run has none (runs recorded
// before it existed); InvalidArgument, naming the file and the field, when
// it is not what WriteCaptureSettings() writes. Missing fields stay unknown.
absl::StatusOr<CaptureSettings> ReadCaptureSettings(const std::filesystem::path& dir);

// The settings an earlier report of the run says (its network.capture
// filter, snaplen and max_mb, and the port of run.target), for runs without
// capture.json. What the report does not say stays unknown.
CaptureSettings CaptureSettingsFromReport(const nlohmann::json& report);

// Returns the "network" section of the run in `dir` for the analyzed
// `report` (whose transactions' steps are put beside the wire's exchanges):
// NetworkSummaryJson() of `dir`/capture.pcap plus "capture" (the file, its
// size, `settings` and the counts of `dir`/logs/capture.log) and
// "client_vs_wire"; or {capture, error} when capture.pcap cannot be read.
// Everything but capture.analysis_s (the time the analysis took) depends on
// the files, `settings` and `report` alone.
nlohmann::json NetworkSection(const std::filesystem::path& dir, const CaptureSettings& settings,
                              const nlohmann::json& report);

// Returns a few lines for the terminal summing up a NetworkSection():
// packets, kernel drops and analysis time, then each loadgen step's p50/p99
// beside the wire's; or the section's error.
std::string DescribeNetworkSection(const nlohmann::json& network);

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_RUN_NETWORK_SECTION_H_
