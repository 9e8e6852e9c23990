// FTP analysis of a capture, as a TcpSink behind TcpTracker. Finds control
// channels by their content (a server's 220 greeting followed by a client
// command) on any port, or by port (FtpOptions::control_ports); follows
// commands and replies (multi-line included) on the reassembled streams;
// measures every command's response time; builds sessions (user, working
// directory, commands, transfers); ties data connections to their session
// through 227/229 replies and PORT/EPRT commands; and stops parsing a
// session once AUTH TLS is accepted (234).
//
// Separately it reports, per TCP segment of a control channel and in frame
// order, the fields tshark's FTP dissector shows (FtpFrame), for `--fields`.
//
//   FtpAnalyzer ftp(FtpOptions{});
//   ftp.set_frame_callback([](const FtpFrame& f) { Print(f); });
//   TcpTracker tracker(TrackerOptions{}, ftp);
//   ... tracker.Process(frame, segment) for each frame ...
//   tracker.Finish();
//   ftp.Finish();
//   for (const FtpSession& session : ftp.sessions()) Show(session);
#ifndef TPSLAB_ANALYZER_PCAP_FTP_ANALYZER_H_
#define TPSLAB_ANALYZER_PCAP_FTP_ANALYZER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analyzer/pcap/ftp_parser.h"
#include "analyzer/pcap/tcp_tracker.h"

namespace tpslab::analyzer::pcap {

struct FtpOptions {
  // Ports whose connections are control channels whatever their content;
  // requests are the segments sent to such a port (as in tshark, which
  // decodes port 21 as FTP). Default {21}.
  std::vector<uint16_t> control_ports = {21};
  // Commands kept per session for the report; all are counted. Default 1000.
  size_t max_commands_per_session = 1000;
  // Longest control line kept; longer ones are cut and counted. Default 8192.
  size_t max_line_length = 8192;
};

// How a data transfer ended.
enum class TransferOutcome {
  kComplete,    // A 2xx final reply.
  kAborted,     // 426 reply or ABOR.
  kReset,       // The data connection was reset; then no reply, 426 or 451.
  kFailed,      // Another 4xx/5xx final reply (e.g. 550: no such file).
  kIncomplete,  // No final reply in the capture.
};

// Returns "complete", "aborted", "reset", "failed" or "incomplete".
std::string_view TransferOutcomeName(TransferOutcome outcome);

// One command and its reply.
struct FtpCommandRecord {
  uint64_t frame = 0;  // Frame completing the command line.
  int64_t time_ns = 0;
  std::string verb;
  std::string arg;             // "****" for PASS.
  int reply_code = 0;          // Final reply code; 0 when none was captured.
  std::string reply_text;      // First line of the final reply, after the code.
  int64_t response_ns = -1;    // Command to first reply line (1xx included), or -1.
  int64_t completion_ns = -1;  // Command to final reply, or -1.
};

// One data transfer.
struct FtpTransfer {
  std::string command;  // RETR, STOR, LIST, ...; empty when none was seen.
  std::string arg;
  bool passive = true;  // PASV/EPSV, else PORT/EPRT.
  Endpoint announced;   // Endpoint announced by 227/229/PORT/EPRT.
  bool has_data_connection = false;
  uint64_t data_stream = 0;  // tcp.stream of the data connection.
  uint64_t bytes = 0;        // Distinct payload bytes on the data connection.
  int64_t start_ns = -1;     // Data connection's first packet.
  int64_t end_ns = -1;       // Its last packet with data or FIN.
  bool data_reset = false;   // The data connection saw a RST.
  bool abort_requested = false;
  int final_code = 0;
  TransferOutcome outcome = TransferOutcome::kIncomplete;

  // end - start, or 0.
  int64_t DurationNs() const { return start_ns >= 0 && end_ns > start_ns ? end_ns - start_ns : 0; }
  // bytes / duration, or 0.
  double BytesPerSecond() const {
    const int64_t ns = DurationNs();
    return ns > 0 ? static_cast<double>(bytes) * 1e9 / static_cast<double>(ns) : 0.0;
  }
};

// One control connection.
struct FtpSession {
  uint64_t stream = 0;  // tcp.stream of the control connection.
  Endpoint client;
  Endpoint server;
  bool detected_by_port = false;
  std::string greeting;      // Text of the 220 reply's first line.
  int64_t greeting_ns = -1;  // Time of the greeting's frame, or -1.
  std::string user;
  bool logged_in = false;  // A 230 reply was seen.
  std::string cwd;         // From PWD replies and successful CWD/CDUP.
  bool tls = false;        // AUTH TLS accepted: the rest is encrypted.
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  uint64_t command_count = 0;
  std::vector<FtpCommandRecord> commands;  // The first max_commands_per_session.
  std::vector<FtpTransfer> transfers;
  RttHistogram response_times;  // Of every command with a reply.
};

// tshark's view of one control-channel segment (see ExtractFrameFields).
struct FtpFrame {
  uint64_t frame = 0;
  int64_t time_ns = 0;
  uint32_t frame_length = 0;  // frame.len
  uint64_t stream = 0;
  Endpoint src;
  Endpoint dst;
  uint32_t tcp_length = 0;
  FtpFrameFields fields;
};

// Anomalies met while parsing; the report lists them as warnings.
struct FtpWarnings {
  uint64_t long_lines = 0;           // Lines cut at max_line_length.
  uint64_t unsolicited_replies = 0;  // Replies with no command waiting.
  uint64_t stray_lines = 0;          // Server lines that are not replies.
  uint64_t control_gaps = 0;         // Bytes of control streams not captured.
};

class FtpAnalyzer : public TcpSink {
 public:
  explicit FtpAnalyzer(const FtpOptions& options);
  ~FtpAnalyzer() override;

  // Receives control-channel frames in frame order (some are delayed until
  // their connection is known to be FTP). Set before the first frame.
  void set_frame_callback(std::function<void(const FtpFrame&)> callback);

  bool OnData(Connection& connection, int direction, std::string_view bytes,
              const Frame& frame) override;
  void OnGap(Connection& connection, int direction, uint64_t bytes) override;
  void OnSegment(Connection& connection, int direction, const Frame& frame,
                 const TcpSegment& segment, uint32_t analysis) override;
  void OnClose(Connection& connection) override;

  // Settles transfer outcomes and delivers the last frames. Call after
  // TcpTracker::Finish().
  void Finish();

  // Sessions in order of their control connection's stream.
  const std::deque<FtpSession>& sessions() const { return sessions_; }
  // Every connection of the capture once closed, in order of closing.
  const std::vector<Connection>& connections() const { return connections_; }
  const FtpWarnings& warnings() const { return warnings_; }
  // Move the results out (after Finish()), leaving them empty.
  std::deque<FtpSession> ReleaseSessions() { return std::move(sessions_); }
  std::vector<Connection> ReleaseConnections() { return std::move(connections_); }

 private:
  struct Flow;
  struct PendingCommand;
  enum class Decision : uint8_t { kUnknown, kFtp, kNotFtp };

  Flow& FlowFor(Connection& connection);
  void Classify(Connection& connection, Flow& flow);
  bool IsControlPort(uint16_t port) const;
  void Confirm(Flow& flow);
  void Reject(Connection& connection, Flow& flow);
  void HandleLine(Flow& flow, int direction, std::string_view line, const Frame& frame);
  void HandleCommand(Flow& flow, std::string_view line, const Frame& frame);
  void HandleReply(Flow& flow, int code, const std::string& text, const Frame& frame);
  FtpTransfer& NewTransfer(Flow& flow, bool passive, const Endpoint& announced);
  void Expect(const Endpoint& endpoint, Flow& flow, size_t transfer);
  void SetDecision(uint64_t stream, Decision decision);
  void FlushFrames();

  FtpOptions options_;
  std::function<void(const FtpFrame&)> frame_callback_;
  std::unordered_map<uint64_t, std::unique_ptr<Flow>> flows_;
  // Confirmed sessions (candidates live in their Flow until then).
  std::deque<FtpSession> sessions_;
  // Announced data endpoints -> (session index, transfer index).
  std::map<Endpoint, std::pair<size_t, size_t>> expected_;
  std::vector<Connection> connections_;
  std::vector<Decision> decisions_;  // By stream.
  std::deque<FtpFrame> frames_;      // Waiting for their stream's decision.
  FtpWarnings warnings_;
};

}  // namespace tpslab::analyzer::pcap

#endif  // TPSLAB_ANALYZER_PCAP_FTP_ANALYZER_H_
