#include "analyzer/pcap/capture_report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <ostream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tpslab::analyzer::pcap {
namespace {

constexpr std::pair<std::string_view, Field> kFieldNames[] = {
    {"frame.number", Field::kFrameNumber},
    {"frame.time_epoch", Field::kFrameTimeEpoch},
    {"frame.time_relative", Field::kFrameTimeRelative},
    {"frame.len", Field::kFrameLen},
    {"ip.src", Field::kIpSrc},
    {"ip.dst", Field::kIpDst},
    {"ipv6.src", Field::kIpv6Src},
    {"ipv6.dst", Field::kIpv6Dst},
    {"tcp.srcport", Field::kTcpSrcPort},
    {"tcp.dstport", Field::kTcpDstPort},
    {"tcp.stream", Field::kTcpStream},
    {"tcp.len", Field::kTcpLen},
    {"ftp.request", Field::kFtpRequest},
    {"ftp.response", Field::kFtpResponse},
    {"ftp.request.command", Field::kFtpRequestCommand},
    {"ftp.request.arg", Field::kFtpRequestArg},
    {"ftp.response.code", Field::kFtpResponseCode},
    {"ftp.response.arg", Field::kFtpResponseArg},
};

// Seconds with nine decimals, as tshark prints times.
std::string Seconds(int64_t ns) {
  const char* sign = ns < 0 ? "-" : "";
  const uint64_t magnitude = ns < 0 ? static_cast<uint64_t>(-ns) : static_cast<uint64_t>(ns);
  return absl::StrFormat("%s%d.%09d", sign, magnitude / 1'000'000'000, magnitude % 1'000'000'000);
}

// A string field as tshark 4.0 prints it: up to a NUL; \b \f \n \r \t
// escaped; each byte >= 0x80 (the FTP dissector decodes ASCII) as U+FFFD.
void AppendTsharkString(std::string& line, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '\0':
        return;
      case '\b':
        line += "\\b";
        break;
      case '\f':
        line += "\\f";
        break;
      case '\n':
        line += "\\n";
        break;
      case '\r':
        line += "\\r";
        break;
      case '\t':
        line += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) >= 0x80) {
          line += "\xef\xbf\xbd";
        } else {
          line.push_back(c);
        }
    }
  }
}

std::string Duration(int64_t ns) {
  if (ns < 0) return "-";
  if (ns < 1'000'000) return absl::StrFormat("%.1f us", static_cast<double>(ns) / 1e3);
  if (ns < 1'000'000'000) return absl::StrFormat("%.2f ms", static_cast<double>(ns) / 1e6);
  return absl::StrFormat("%.3f s", static_cast<double>(ns) / 1e9);
}

std::string Bytes(double bytes) {
  if (bytes < 1024) return absl::StrFormat("%.0f B", bytes);
  if (bytes < 1024 * 1024) return absl::StrFormat("%.1f KiB", bytes / 1024);
  if (bytes < 1024.0 * 1024 * 1024) return absl::StrFormat("%.1f MiB", bytes / (1024 * 1024));
  return absl::StrFormat("%.2f GiB", bytes / (1024.0 * 1024 * 1024));
}

// A left-aligned text table.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const {
    std::vector<size_t> widths;
    for (const auto& row : rows_) {
      widths.resize(std::max(widths.size(), row.size()));
      for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    }
    std::string out;
    for (const auto& row : rows_) {
      std::string line = "  ";
      for (size_t i = 0; i < row.size(); ++i) {
        line += row[i];
        if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
      }
      out += line + "\n";
    }
    return out;
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string Cut(std::string_view text, size_t width) {
  if (text.size() <= width) return std::string(text);
  return std::string(text.substr(0, width - 3)) + "...";
}

nlohmann::json RttJson(const RttHistogram& rtt) {
  return {{"count", rtt.count()},        {"min_ns", rtt.min_ns()},
          {"mean_ns", rtt.mean_ns()},    {"p50_ns", rtt.Quantile(0.5)},
          {"p90_ns", rtt.Quantile(0.9)}, {"p99_ns", rtt.Quantile(0.99)},
          {"max_ns", rtt.max_ns()}};
}

nlohmann::json DirectionJson(const DirectionStats& d) {
  return {{"segments", d.segments},
          {"payload_bytes", d.payload_bytes},
          {"stream_bytes", d.stream_bytes},
          {"retransmissions", d.retransmissions},
          {"fast_retransmissions", d.fast_retransmissions},
          {"spurious_retransmissions", d.spurious_retransmissions},
          {"out_of_order", d.out_of_order},
          {"duplicate_acks", d.duplicate_acks},
          {"zero_windows", d.zero_windows},
          {"zero_window_probes", d.zero_window_probes},
          {"keep_alives", d.keep_alives},
          {"lost_segments", d.lost_segments},
          {"window_updates", d.window_updates},
          {"fin", d.fin},
          {"rst", d.rst}};
}

uint64_t Retransmitted(const DirectionStats& d) {
  return d.retransmissions + d.fast_retransmissions + d.spurious_retransmissions;
}

}  // namespace

absl::StatusOr<FieldList> ParseFieldList(std::string_view names) {
  FieldList fields;
  size_t start = 0;
  while (start <= names.size()) {
    size_t comma = names.find(',', start);
    if (comma == std::string_view::npos) comma = names.size();
    std::string_view name = names.substr(start, comma - start);
    start = comma + 1;
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name.empty()) continue;
    auto known = std::find_if(std::begin(kFieldNames), std::end(kFieldNames),
                              [name](const auto& entry) { return entry.first == name; });
    if (known == std::end(kFieldNames)) {
      std::string all;
      for (const auto& entry : kFieldNames) {
        if (!all.empty()) all += ",";
        all += entry.first;
      }
      return absl::InvalidArgumentError(
          absl::StrCat("unknown field '", std::string(name), "'; supported: ", all));
    }
    fields.push_back(known->second);
  }
  if (fields.empty()) return absl::InvalidArgumentError("no fields given");
  return fields;
}

std::string FormatFieldLine(const FieldList& fields, const FtpFrame& frame,
                            const CaptureSummary& summary) {
  std::string line;
  bool first = true;
  for (Field field : fields) {
    if (!first) line.push_back('\t');
    first = false;
    const FtpFrameFields& ftp = frame.fields;
    switch (field) {
      case Field::kFrameNumber:
        absl::StrAppend(&line, frame.frame);
        break;
      case Field::kFrameTimeEpoch:
        line += Seconds(frame.time_ns);
        break;
      case Field::kFrameTimeRelative:
        line += Seconds(frame.time_ns - summary.first_ns);
        break;
      case Field::kFrameLen:
        absl::StrAppend(&line, frame.frame_length);
        break;
      case Field::kIpSrc:
        if (frame.src.address.version == 4) line += frame.src.address.ToString();
        break;
      case Field::kIpDst:
        if (frame.dst.address.version == 4) line += frame.dst.address.ToString();
        break;
      case Field::kIpv6Src:
        if (frame.src.address.version == 6) line += frame.src.address.ToString();
        break;
      case Field::kIpv6Dst:
        if (frame.dst.address.version == 6) line += frame.dst.address.ToString();
        break;
      case Field::kTcpSrcPort:
        absl::StrAppend(&line, frame.src.port);
        break;
      case Field::kTcpDstPort:
        absl::StrAppend(&line, frame.dst.port);
        break;
      case Field::kTcpStream:
        absl::StrAppend(&line, frame.stream);
        break;
      case Field::kTcpLen:
        absl::StrAppend(&line, frame.tcp_length);
        break;
      case Field::kFtpRequest:
        line += ftp.is_request ? "1" : "0";
        break;
      case Field::kFtpResponse:
        line += ftp.is_request ? "0" : "1";
        break;
      case Field::kFtpRequestCommand:
        if (ftp.command) AppendTsharkString(line, *ftp.command);
        break;
      case Field::kFtpRequestArg:
        if (ftp.request_arg) AppendTsharkString(line, *ftp.request_arg);
        break;
      case Field::kFtpResponseCode:
        if (ftp.response_code) absl::StrAppend(&line, *ftp.response_code);
        break;
      case Field::kFtpResponseArg:
        if (ftp.response_arg) AppendTsharkString(line, *ftp.response_arg);
        break;
    }
  }
  return line;
}

std::vector<std::string> Warnings(const CaptureAnalysis& analysis) {
  const CaptureSummary& s = analysis.summary;
  std::vector<std::string> out;
  if (!s.link_type_supported) {
    out.push_back(
        absl::StrCat("link type ", s.link_type, " is not supported: no frame could be decoded"));
  }
  if (!s.read_error.empty()) out.push_back(absl::StrCat("capture ends early: ", s.read_error));
  for (const auto& [what, count] : s.decode_warnings) {
    if (what.rfind("not TCP", 0) == 0 || what.rfind("not IP", 0) == 0) continue;  // Just traffic.
    out.push_back(absl::StrCat(count, " frames skipped: ", what));
  }
  if (s.snapped_segments > 0) {
    out.push_back(absl::StrCat(s.snapped_segments, " TCP segments cut by the snap length"));
  }
  if (s.tcp.gap_bytes > 0) {
    out.push_back(absl::StrCat(s.tcp.gap_bytes, " stream bytes missing from the capture"));
  }
  if (s.tcp.buffer_overflows > 0) {
    out.push_back(
        absl::StrCat(s.tcp.buffer_overflows, " times the out-of-order buffer limit forced a gap"));
  }
  if (s.tcp.evicted_capacity > 0) {
    out.push_back(absl::StrCat(s.tcp.evicted_capacity,
                               " connections forgotten to stay under the connection limit"));
  }
  if (s.ftp.long_lines > 0)
    out.push_back(absl::StrCat(s.ftp.long_lines, " FTP lines too long, cut"));
  if (s.ftp.unsolicited_replies > 0) {
    out.push_back(absl::StrCat(s.ftp.unsolicited_replies, " FTP replies without a command"));
  }
  if (s.ftp.stray_lines > 0) {
    out.push_back(absl::StrCat(s.ftp.stray_lines, " FTP server lines that are not replies"));
  }
  return out;
}

std::string FormatTables(const CaptureAnalysis& analysis) {
  const CaptureSummary& s = analysis.summary;
  std::string out;
  absl::StrAppend(&out, "Capture: ", s.frames, " frames, ", s.tcp_segments, " TCP segments, ",
                  s.tcp.connections, " TCP connections, ", Duration(s.last_ns - s.first_ns),
                  " (link type ", s.link_type, ")\n\n");

  absl::StrAppend(&out, "FTP sessions: ", analysis.sessions.size(), "\n");
  if (!analysis.sessions.empty()) {
    Table table({"stream", "client", "server", "user", "cwd", "commands", "transfers", "resp p50",
                 "resp max", "found by", "tls"});
    for (const FtpSession& session : analysis.sessions) {
      table.Add(
          {absl::StrCat(session.stream), session.client.ToString(), session.server.ToString(),
           Cut(session.user, 20), Cut(session.cwd, 24), absl::StrCat(session.command_count),
           absl::StrCat(session.transfers.size()),
           Duration(session.response_times.count() ? session.response_times.Quantile(0.5) : -1),
           Duration(session.response_times.count() ? session.response_times.max_ns() : -1),
           session.detected_by_port ? "port" : "content", session.tls ? "AUTH TLS" : "-"});
    }
    out += table.Render();
  }

  std::vector<std::pair<const FtpSession*, const FtpTransfer*>> transfers;
  for (const FtpSession& session : analysis.sessions) {
    for (const FtpTransfer& transfer : session.transfers)
      transfers.emplace_back(&session, &transfer);
  }
  absl::StrAppend(&out, "\nFTP transfers: ", transfers.size(), "\n");
  if (!transfers.empty()) {
    Table table({"session", "data", "mode", "command", "bytes", "duration", "throughput", "outcome",
                 "reply"});
    for (const auto& [session, transfer] : transfers) {
      table.Add({absl::StrCat(session->stream),
                 transfer->has_data_connection ? absl::StrCat(transfer->data_stream) : "-",
                 transfer->passive ? "passive" : "active",
                 Cut(absl::StrCat(transfer->command, " ", transfer->arg), 32),
                 absl::StrCat(transfer->bytes),
                 transfer->has_data_connection ? Duration(transfer->DurationNs()) : "-",
                 transfer->DurationNs() > 0 ? Bytes(transfer->BytesPerSecond()) + "/s" : "-",
                 std::string(TransferOutcomeName(transfer->outcome)),
                 transfer->final_code ? absl::StrCat(transfer->final_code) : "-"});
    }
    out += table.Render();
  }

  std::map<std::string, RttHistogram> by_verb;
  for (const FtpSession& session : analysis.sessions) {
    for (const FtpCommandRecord& command : session.commands) {
      if (command.response_ns >= 0) by_verb[command.verb].Add(command.response_ns);
    }
  }
  if (!by_verb.empty()) {
    absl::StrAppend(&out, "\nFTP response times (command to first reply line)\n");
    Table table({"command", "count", "min", "p50", "p90", "p99", "max"});
    for (const auto& [verb, rtt] : by_verb) {
      table.Add({verb, absl::StrCat(rtt.count()), Duration(rtt.min_ns()),
                 Duration(rtt.Quantile(0.5)), Duration(rtt.Quantile(0.9)),
                 Duration(rtt.Quantile(0.99)), Duration(rtt.max_ns())});
    }
    out += table.Render();
  }

  DirectionStats total[2];
  RttHistogram handshake;
  RttHistogram ack_rtt;
  for (const Connection& c : analysis.connections) {
    for (int d = 0; d < 2; ++d) {
      total[d].segments += c.directions[d].segments;
      total[d].payload_bytes += c.directions[d].payload_bytes;
      total[d].retransmissions += c.directions[d].retransmissions;
      total[d].fast_retransmissions += c.directions[d].fast_retransmissions;
      total[d].spurious_retransmissions += c.directions[d].spurious_retransmissions;
      total[d].out_of_order += c.directions[d].out_of_order;
      total[d].duplicate_acks += c.directions[d].duplicate_acks;
      total[d].zero_windows += c.directions[d].zero_windows;
      total[d].lost_segments += c.directions[d].lost_segments;
    }
    if (c.HandshakeRttNs() >= 0) handshake.Add(c.HandshakeRttNs());
    ack_rtt.Merge(c.ack_rtt);
  }
  absl::StrAppend(&out, "\nTCP: ", analysis.connections.size(), " connections\n");
  Table tcp({"", "segments", "bytes", "retrans", "fast", "spurious", "out-of-order", "dup ACKs",
             "zero win", "lost"});
  const char* names[2] = {"client->server", "server->client"};
  for (int d = 0; d < 2; ++d) {
    tcp.Add({names[d], absl::StrCat(total[d].segments), absl::StrCat(total[d].payload_bytes),
             absl::StrCat(total[d].retransmissions), absl::StrCat(total[d].fast_retransmissions),
             absl::StrCat(total[d].spurious_retransmissions), absl::StrCat(total[d].out_of_order),
             absl::StrCat(total[d].duplicate_acks), absl::StrCat(total[d].zero_windows),
             absl::StrCat(total[d].lost_segments)});
  }
  out += tcp.Render();
  absl::StrAppend(&out, "  handshake RTT: n=", handshake.count(), " p50 ",
                  Duration(handshake.Quantile(0.5)), " max ", Duration(handshake.max_ns()),
                  "; ACK RTT: n=", ack_rtt.count(), " p50 ", Duration(ack_rtt.Quantile(0.5)),
                  " p99 ", Duration(ack_rtt.Quantile(0.99)), " max ", Duration(ack_rtt.max_ns()),
                  "\n");

  std::vector<const Connection*> worst;
  for (const Connection& c : analysis.connections) {
    if (Retransmitted(c.directions[0]) + Retransmitted(c.directions[1]) +
            c.directions[0].out_of_order + c.directions[1].out_of_order +
            c.directions[0].duplicate_acks + c.directions[1].duplicate_acks +
            c.directions[0].zero_windows + c.directions[1].zero_windows >
        0) {
      worst.push_back(&c);
    }
  }
  std::stable_sort(worst.begin(), worst.end(), [](const Connection* a, const Connection* b) {
    return Retransmitted(a->directions[0]) + Retransmitted(a->directions[1]) >
           Retransmitted(b->directions[0]) + Retransmitted(b->directions[1]);
  });
  if (!worst.empty()) {
    absl::StrAppend(&out, "\nTCP connections with anomalies (", worst.size(), ", worst first)\n");
    Table table({"stream", "client", "server", "duration", "bytes c->s", "bytes s->c", "retrans",
                 "out-of-order", "dup ACKs", "zero win", "handshake"});
    for (size_t i = 0; i < worst.size() && i < 20; ++i) {
      const Connection& c = *worst[i];
      table.Add({absl::StrCat(c.stream), c.client.ToString(), c.server.ToString(),
                 Duration(c.last_ns - c.first_ns), absl::StrCat(c.directions[0].stream_bytes),
                 absl::StrCat(c.directions[1].stream_bytes),
                 absl::StrCat(Retransmitted(c.directions[0]) + Retransmitted(c.directions[1])),
                 absl::StrCat(c.directions[0].out_of_order + c.directions[1].out_of_order),
                 absl::StrCat(c.directions[0].duplicate_acks + c.directions[1].duplicate_acks),
                 absl::StrCat(c.directions[0].zero_windows + c.directions[1].zero_windows),
                 Duration(c.HandshakeRttNs())});
    }
    out += table.Render();
  }

  const std::vector<std::string> warnings = Warnings(analysis);
  absl::StrAppend(&out, "\nWarnings: ", warnings.empty() ? "none" : "", "\n");
  for (const std::string& warning : warnings) absl::StrAppend(&out, "  ", warning, "\n");
  return out;
}

namespace {

nlohmann::json SessionJson(const FtpSession& session) {
  nlohmann::json commands = nlohmann::json::array();
  for (const FtpCommandRecord& c : session.commands) {
    commands.push_back({{"frame", c.frame},
                        {"time_ns", c.time_ns},
                        {"command", c.verb},
                        {"arg", c.arg},
                        {"reply_code", c.reply_code},
                        {"reply_text", c.reply_text},
                        {"response_ns", c.response_ns},
                        {"completion_ns", c.completion_ns}});
  }
  nlohmann::json transfers = nlohmann::json::array();
  for (const FtpTransfer& t : session.transfers) {
    transfers.push_back({{"command", t.command},
                         {"arg", t.arg},
                         {"mode", t.passive ? "passive" : "active"},
                         {"announced", t.announced.ToString()},
                         {"data_stream", t.has_data_connection ? nlohmann::json(t.data_stream)
                                                               : nlohmann::json(nullptr)},
                         {"bytes", t.bytes},
                         {"duration_ns", t.DurationNs()},
                         {"bytes_per_second", t.BytesPerSecond()},
                         {"outcome", std::string(TransferOutcomeName(t.outcome))},
                         {"final_code", t.final_code}});
  }
  return {{"stream", session.stream},
          {"client", session.client.ToString()},
          {"server", session.server.ToString()},
          {"found_by", session.detected_by_port ? "port" : "content"},
          {"greeting", session.greeting},
          {"user", session.user},
          {"logged_in", session.logged_in},
          {"cwd", session.cwd},
          {"tls", session.tls},
          {"start_ns", session.start_ns},
          {"end_ns", session.end_ns},
          {"command_count", session.command_count},
          {"response_time", RttJson(session.response_times)},
          {"commands", commands},
          {"transfers", transfers}};
}

nlohmann::json ConnectionJson(const Connection& c) {
  return {{"stream", c.stream},
          {"client", c.client.ToString()},
          {"server", c.server.ToString()},
          {"saw_syn", c.saw_syn},
          {"first_frame", c.first_frame},
          {"last_frame", c.last_frame},
          {"duration_ns", c.last_ns - c.first_ns},
          {"syn_ack_rtt_ns", c.SynAckRttNs()},
          {"handshake_rtt_ns", c.HandshakeRttNs()},
          {"ack_rtt", RttJson(c.ack_rtt)},
          {"client_to_server", DirectionJson(c.directions[0])},
          {"server_to_client", DirectionJson(c.directions[1])}};
}

// The members before the two arrays.
nlohmann::json HeaderJson(const CaptureAnalysis& analysis) {
  const CaptureSummary& s = analysis.summary;
  nlohmann::json json;
  json["capture"] = {{"frames", s.frames},
                     {"tcp_segments", s.tcp_segments},
                     {"link_type", s.link_type},
                     {"link_type_supported", s.link_type_supported},
                     {"first_time_ns", s.first_ns},
                     {"last_time_ns", s.last_ns},
                     {"read_error", s.read_error},
                     {"decode_skipped", s.decode_warnings},
                     {"snapped_segments", s.snapped_segments}};
  json["tcp_tracker"] = {{"connections", s.tcp.connections},
                         {"peak_connections", s.tcp.peak_connections},
                         {"peak_buffered_bytes", s.tcp.peak_buffered_bytes},
                         {"evicted_idle", s.tcp.evicted_idle},
                         {"evicted_capacity", s.tcp.evicted_capacity},
                         {"gap_bytes", s.tcp.gap_bytes},
                         {"buffer_overflows", s.tcp.buffer_overflows}};
  json["warnings"] = Warnings(analysis);
  return json;
}

std::string Dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

nlohmann::json ToJson(const CaptureAnalysis& analysis) {
  nlohmann::json json = HeaderJson(analysis);
  json["ftp_sessions"] = nlohmann::json::array();
  for (const FtpSession& session : analysis.sessions)
    json["ftp_sessions"].push_back(SessionJson(session));
  json["tcp_connections"] = nlohmann::json::array();
  for (const Connection& c : analysis.connections)
    json["tcp_connections"].push_back(ConnectionJson(c));
  return json;
}

void WriteJson(const CaptureAnalysis& analysis, std::ostream& out) {
  const nlohmann::json header = HeaderJson(analysis);
  out << "{";
  for (auto it = header.begin(); it != header.end(); ++it) {
    out << nlohmann::json(it.key()).dump() << ":" << Dump(it.value()) << ",\n";
  }
  const char* separator = "\n";
  out << "\"ftp_sessions\":[";
  for (const FtpSession& session : analysis.sessions) {
    out << separator << Dump(SessionJson(session));
    separator = ",\n";
  }
  out << "\n],\n\"tcp_connections\":[";
  separator = "\n";
  for (const Connection& c : analysis.connections) {
    out << separator << Dump(ConnectionJson(c));
    separator = ",\n";
  }
  out << "\n]}\n";
}

}  // namespace tpslab::analyzer::pcap
