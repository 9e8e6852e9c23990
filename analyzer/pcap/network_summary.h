// A compact summary of a capture's FTP and TCP behaviour as JSON, for
// reports that put the wire's view beside the client's (`analyzer run
// --capture` merges it into summary.json as "network"). Unlike ToJson() in
// capture_report.h it holds distributions and totals, not every session.
//
//   CaptureAnalysis analysis = AnalyzeCapture(**reader, AnalyzeOptions{}, nullptr);
//   nlohmann::json network = NetworkSummaryJson(analysis);
//   network["commands"][0]["p99_ms"] ...
//
// The document (times in milliseconds; percentiles by nearest rank over
// every sample; a distribution without samples has count 0 and no times):
//   packets            frames in the capture
//   duration_s         first to last frame
//   snapped_segments   TCP segments cut by the snap length (expected with a
//                      small snap length: data payloads are not needed)
//   sessions           FTP control connections
//   connections        TCP connections (control and data)
//   commands: [{command, count, errors (4xx/5xx final reply),
//               unanswered (no reply captured), p50_ms, p90_ms, p99_ms,
//               max_ms, mean_ms}]
//       server response time per command: the frame completing the command
//       line to the first reply line; in order of first appearance
//   operations: [{name, commands, count, p50_ms, p90_ms, p99_ms, max_ms,
//                 mean_ms}]
//       multi-command exchanges as a client times them, on the wire:
//       "connect" the connection's first packet (its SYN) to the 220
//       greeting; "login" USER to PASS's final reply; "stor", "retr", "list", ...
//       the PASV/EPSV/PORT/EPRT before the transfer command (or the
//       command itself without one) to its final reply (226); "quit" QUIT
//       to its reply
//   handshake: {count, p50_ms, p90_ms, p99_ms, max_ms, mean_ms}
//       TCP setup: SYN to the handshake's final ACK (Wireshark's
//       initial RTT), every connection whose handshake was captured
//   transfers: {count, complete, failed (any other outcome), bytes,
//               by_command: {STOR: n, RETR: n, ...}}
//       bytes from TCP sequence numbers, so they are right with a snap
//       length that cuts the payload
//   tcp: {retransmissions, fast_retransmissions, spurious_retransmissions,
//         out_of_order, duplicate_acks, zero_windows, lost_segments, resets}
//       summed over both directions of every connection
//   warnings: [sentence, ...]   what the analysis had to skip (Warnings())
#ifndef TPSLAB_ANALYZER_PCAP_NETWORK_SUMMARY_H_
#define TPSLAB_ANALYZER_PCAP_NETWORK_SUMMARY_H_

#include <cstdint>
#include <vector>

#include "analyzer/pcap/capture_analysis.h"
#include "nlohmann/json.hpp"

namespace tpslab::analyzer::pcap {

// Returns {count, p50_ms, p90_ms, p99_ms, max_ms, mean_ms} of `samples_ns`
// (nearest-rank percentiles; reorders the vector); only {count: 0} when
// empty.
nlohmann::json DistributionJson(std::vector<int64_t>& samples_ns);

// Returns the summary documented above.
nlohmann::json NetworkSummaryJson(const CaptureAnalysis& analysis);

}  // namespace tpslab::analyzer::pcap

#endif  // TPSLAB_ANALYZER_PCAP_NETWORK_SUMMARY_H_
