// Presents a CaptureAnalysis: tables for people, JSON for programs, and
// tshark-compatible field lines (`tshark -Y ftp -T fields -e ...`).
//
//   absl::StatusOr<FieldList> fields = ParseFieldList("frame.number,ftp.request.command");
//   ... AnalyzeCapture(reader, options, [&](const FtpFrame& f, const CaptureSummary& s) {
//         out << FormatFieldLine(*fields, f, s) << '\n'; });
//   out << FormatTables(analysis);
//   WriteJson(analysis, out);
#ifndef TPSLAB_ANALYZER_PCAP_CAPTURE_REPORT_H_
#define TPSLAB_ANALYZER_PCAP_CAPTURE_REPORT_H_

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "analyzer/pcap/capture_analysis.h"
#include "analyzer/pcap/ftp_analyzer.h"
#include "nlohmann/json.hpp"

namespace tpslab::analyzer::pcap {

// The tshark fields `--fields` understands.
enum class Field {
  kFrameNumber,        // frame.number
  kFrameTimeEpoch,     // frame.time_epoch
  kFrameTimeRelative,  // frame.time_relative
  kFrameLen,           // frame.len
  kIpSrc,              // ip.src (IPv4 only, as in tshark)
  kIpDst,              // ip.dst
  kIpv6Src,            // ipv6.src
  kIpv6Dst,            // ipv6.dst
  kTcpSrcPort,         // tcp.srcport
  kTcpDstPort,         // tcp.dstport
  kTcpStream,          // tcp.stream
  kTcpLen,             // tcp.len
  kFtpRequest,         // ftp.request (1 or 0)
  kFtpResponse,        // ftp.response (1 or 0)
  kFtpRequestCommand,  // ftp.request.command
  kFtpRequestArg,      // ftp.request.arg
  kFtpResponseCode,    // ftp.response.code
  kFtpResponseArg,     // ftp.response.arg
};
using FieldList = std::vector<Field>;

// Parses a comma-separated list of tshark field names. Fails with
// InvalidArgument naming the first unknown field and listing the known ones.
absl::StatusOr<FieldList> ParseFieldList(std::string_view names);

// Returns one tab-separated line (no newline) of `fields` for `frame`;
// absent fields are empty, as in tshark.
std::string FormatFieldLine(const FieldList& fields, const FtpFrame& frame,
                            const CaptureSummary& summary);

// Returns the human report: capture summary, FTP sessions, transfers,
// response times per command, TCP summary and warnings.
std::string FormatTables(const CaptureAnalysis& analysis);

// Returns the whole analysis as one JSON document (times in nanoseconds
// as the key names say): capture, tcp_tracker, warnings, ftp_sessions,
// tcp_connections. Strings carry bytes from the capture, which may not be
// UTF-8: dump() with nlohmann::json::error_handler_t::replace.
nlohmann::json ToJson(const CaptureAnalysis& analysis);

// Writes the document ToJson() returns to `out` one session or connection
// at a time (one per line), so memory does not grow with a whole DOM;
// invalid UTF-8 becomes U+FFFD.
void WriteJson(const CaptureAnalysis& analysis, std::ostream& out);

// Returns the warnings of the analysis, one sentence each ("3 frames
// skipped: truncated headers"); empty when all went well.
std::vector<std::string> Warnings(const CaptureAnalysis& analysis);

}  // namespace tpslab::analyzer::pcap

#endif  // TPSLAB_ANALYZER_PCAP_CAPTURE_REPORT_H_
