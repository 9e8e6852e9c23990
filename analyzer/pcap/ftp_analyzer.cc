#include "analyzer/pcap/ftp_analyzer.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace tpslab::analyzer::pcap {
namespace {

constexpr size_t kNoSession = static_cast<size_t>(-1);

bool IsDataCommand(std::string_view verb) {
  return verb == "RETR" || verb == "STOR" || verb == "STOU" || verb == "APPE" || verb == "LIST" ||
         verb == "NLST" || verb == "MLSD";
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// Applies a successful CWD to `cwd` ("/a/b" + "../c" = "/a/c").
std::string ChangeDirectory(const std::string& cwd, std::string_view arg) {
  std::string path =
      !arg.empty() && arg.front() == '/' ? std::string(arg) : cwd + "/" + std::string(arg);
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    const std::string part = path.substr(start, slash - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = slash + 1;
  }
  std::string out;
  for (const std::string& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

// The directory in a 257 reply: the first quoted string, "" doubled.
std::optional<std::string> QuotedPath(std::string_view text) {
  const size_t open = text.find('"');
  if (open == std::string_view::npos) return std::nullopt;
  std::string path;
  for (size_t i = open + 1; i < text.size(); ++i) {
    if (text[i] != '"') {
      path.push_back(text[i]);
    } else if (i + 1 < text.size() && text[i + 1] == '"') {
      path.push_back('"');
      ++i;
    } else {
      return path;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view TransferOutcomeName(TransferOutcome outcome) {
  switch (outcome) {
    case TransferOutcome::kComplete:
      return "complete";
    case TransferOutcome::kAborted:
      return "aborted";
    case TransferOutcome::kReset:
      return "reset";
    case TransferOutcome::kFailed:
      return "failed";
    case TransferOutcome::kIncomplete:
      return "incomplete";
  }
  return "unknown";
}

// A command waiting for its final reply.
struct FtpAnalyzer::PendingCommand {
  std::string verb;
  std::string arg;
  uint64_t frame = 0;
  int64_t time_ns = 0;
  int64_t response_ns = -1;
  size_t record = kNoSession;    // Index in session.commands, if kept.
  size_t transfer = kNoSession;  // Index in session.transfers for data commands.
};

struct FtpAnalyzer::Flow {
  enum class Kind { kUnknown, kCandidate, kControl, kData, kNotFtp };
  Kind kind = Kind::kUnknown;
  bool by_port = false;
  // Direction index of the server's bytes (server -> client).
  int server_direction = 1;
  std::unique_ptr<FtpSession> candidate;
  size_t session = kNoSession;
  // Line assembly per direction; a gap discards up to the next line end.
  std::string line[2];
  bool resync[2] = {false, false};
  // Server reply state.
  int multiline_code = 0;
  int reply_code = 0;
  std::string reply_text;
  int64_t reply_first_ns = 0;
  std::vector<PendingCommand> pending;  // Oldest first; usually 0 or 1.
  bool auth_tls_sent = false;
  bool stopped = false;  // After AUTH TLS: nothing more is parsed.
  // tshark's view: AUTH TLS seen as a request line, then 234 ends FTP.
  bool fields_tls_requested = false;
  bool fields_stopped = false;
  // Data connections: the transfer they carry.
  size_t data_session = kNoSession;
  size_t data_transfer = kNoSession;
  // Current transfer set up by PASV/EPSV/PORT/EPRT, awaiting its command.
  size_t open_transfer = kNoSession;

  FtpSession& Session(std::deque<FtpSession>& sessions) {
    return candidate != nullptr ? *candidate : sessions[session];
  }
};

FtpAnalyzer::FtpAnalyzer(const FtpOptions& options) : options_(options) {}

FtpAnalyzer::~FtpAnalyzer() = default;

void FtpAnalyzer::set_frame_callback(std::function<void(const FtpFrame&)> callback) {
  frame_callback_ = std::move(callback);
}

bool FtpAnalyzer::IsControlPort(uint16_t port) const {
  return std::find(options_.control_ports.begin(), options_.control_ports.end(), port) !=
         options_.control_ports.end();
}

FtpAnalyzer::Flow& FtpAnalyzer::FlowFor(Connection& connection) {
  auto [it, inserted] = flows_.try_emplace(connection.stream);
  if (inserted) {
    it->second = std::make_unique<Flow>();
    if (decisions_.size() <= connection.stream) decisions_.resize(connection.stream + 1);
    Classify(connection, *it->second);
  }
  return *it->second;
}

void FtpAnalyzer::Classify(Connection& connection, Flow& flow) {
  // A data connection announced by a control channel?
  for (const Endpoint* endpoint : {&connection.server, &connection.client}) {
    auto expected = expected_.find(*endpoint);
    if (expected == expected_.end()) continue;
    flow.kind = Flow::Kind::kData;
    flow.data_session = expected->second.first;
    flow.data_transfer = expected->second.second;
    FtpTransfer& transfer = sessions_[flow.data_session].transfers[flow.data_transfer];
    transfer.has_data_connection = true;
    transfer.data_stream = connection.stream;
    transfer.start_ns = connection.first_ns;
    const std::pair<size_t, size_t> target = expected->second;
    std::erase_if(expected_, [&target](const auto& entry) { return entry.second == target; });
    SetDecision(connection.stream, Decision::kNotFtp);
    return;
  }
  const bool server_port = IsControlPort(connection.server.port);
  if (server_port || IsControlPort(connection.client.port)) {
    flow.kind = Flow::Kind::kCandidate;
    flow.by_port = true;
    flow.server_direction = server_port ? 1 : 0;
    flow.candidate = std::make_unique<FtpSession>();
    FtpSession& session = *flow.candidate;
    session.stream = connection.stream;
    session.client = server_port ? connection.client : connection.server;
    session.server = server_port ? connection.server : connection.client;
    session.detected_by_port = true;
    session.start_ns = connection.first_ns;
    Confirm(flow);
  }
}

void FtpAnalyzer::Confirm(Flow& flow) {
  flow.kind = Flow::Kind::kControl;
  flow.session = sessions_.size();
  sessions_.push_back(std::move(*flow.candidate));
  flow.candidate.reset();
  SetDecision(sessions_.back().stream, Decision::kFtp);
}

void FtpAnalyzer::Reject(Connection& connection, Flow& flow) {
  flow.kind = Flow::Kind::kNotFtp;
  flow.candidate.reset();
  flow.pending.clear();
  SetDecision(connection.stream, Decision::kNotFtp);
}

void FtpAnalyzer::SetDecision(uint64_t stream, Decision decision) {
  if (decisions_.size() <= stream) decisions_.resize(stream + 1);
  decisions_[stream] = decision;
  FlushFrames();
}

void FtpAnalyzer::FlushFrames() {
  while (!frames_.empty()) {
    const Decision decision = decisions_[frames_.front().stream];
    if (decision == Decision::kUnknown) return;
    if (decision == Decision::kFtp && frame_callback_) frame_callback_(frames_.front());
    frames_.pop_front();
  }
}

bool FtpAnalyzer::OnData(Connection& connection, int direction, std::string_view bytes,
                         const Frame& frame) {
  Flow& flow = FlowFor(connection);
  if (flow.kind == Flow::Kind::kUnknown) {
    if (bytes.size() >= 3 && bytes.substr(0, 3) == "220") {
      // The greeting's sender is the server.
      flow.kind = Flow::Kind::kCandidate;
      flow.server_direction = direction;
      flow.candidate = std::make_unique<FtpSession>();
      FtpSession& session = *flow.candidate;
      session.stream = connection.stream;
      session.server = direction == 1 ? connection.server : connection.client;
      session.client = direction == 1 ? connection.client : connection.server;
      session.start_ns = connection.first_ns;
    } else {
      Reject(connection, flow);
      return false;
    }
  }
  if (flow.kind == Flow::Kind::kCandidate && !flow.by_port && direction != flow.server_direction &&
      flow.line[direction].empty()) {
    // The client's first bytes decide: an FTP command, or not FTP. Wait for
    // a line end (or enough bytes) before judging.
    const size_t end = bytes.find_first_of("\r\n");
    const std::string_view first = bytes.substr(0, end);
    if (end == std::string_view::npos && first.size() < 5) {
      flow.line[direction] = std::string(bytes);
      return true;
    }
    if (!LooksLikeCommand(first)) {
      Reject(connection, flow);
      return false;
    }
    Confirm(flow);
  }
  if (flow.kind != Flow::Kind::kCandidate && flow.kind != Flow::Kind::kControl) return false;
  if (flow.stopped) return false;
  std::string& line = flow.line[direction];
  size_t start = 0;
  while (start < bytes.size()) {
    const size_t newline = bytes.find('\n', start);
    const std::string_view piece = bytes.substr(
        start, newline == std::string_view::npos ? std::string_view::npos : newline - start);
    if (!flow.resync[direction]) {
      const size_t room =
          options_.max_line_length > line.size() ? options_.max_line_length - line.size() : 0;
      if (piece.size() > room && room > 0) ++warnings_.long_lines;
      line.append(piece.substr(0, room));
    }
    if (newline == std::string_view::npos) break;
    start = newline + 1;
    if (flow.resync[direction]) {
      flow.resync[direction] = false;
      line.clear();
      continue;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // A candidate's client line that got here is a command (judged above).
    if (flow.kind == Flow::Kind::kCandidate && direction != flow.server_direction) {
      if (!LooksLikeCommand(line)) {
        Reject(connection, flow);
        return false;
      }
      Confirm(flow);
    }
    HandleLine(flow, direction, line, frame);
    line.clear();
    if (flow.stopped) return false;
  }
  return true;
}

void FtpAnalyzer::OnGap(Connection& connection, int direction, uint64_t bytes) {
  Flow& flow = FlowFor(connection);
  if (flow.kind != Flow::Kind::kControl && flow.kind != Flow::Kind::kCandidate) return;
  warnings_.control_gaps += bytes;
  flow.line[direction].clear();
  flow.resync[direction] = true;
}

void FtpAnalyzer::HandleLine(Flow& flow, int direction, std::string_view line, const Frame& frame) {
  if (direction != flow.server_direction) {
    HandleCommand(flow, line, frame);
    return;
  }
  std::optional<FtpReplyLine> reply = ParseReplyLine(line);
  if (flow.multiline_code != 0) {
    if (reply && reply->final && reply->code == flow.multiline_code) {
      flow.multiline_code = 0;
      HandleReply(flow, flow.reply_code, flow.reply_text, frame);
    }
    return;
  }
  if (!reply) {
    ++warnings_.stray_lines;
    return;
  }
  flow.reply_code = reply->code;
  flow.reply_text = std::string(reply->text);
  flow.reply_first_ns = frame.time_ns;
  // The first line of a reply is the response to the oldest command.
  if (!flow.pending.empty() && flow.pending.front().response_ns < 0) {
    PendingCommand& command = flow.pending.front();
    command.response_ns = frame.time_ns - command.time_ns;
    FtpSession& session = flow.Session(sessions_);
    session.response_times.Add(command.response_ns);
    if (command.record != kNoSession)
      session.commands[command.record].response_ns = command.response_ns;
  }
  if (!reply->final) {
    flow.multiline_code = reply->code;
    return;
  }
  HandleReply(flow, reply->code, flow.reply_text, frame);
}

FtpTransfer& FtpAnalyzer::NewTransfer(Flow& flow, bool passive, const Endpoint& announced) {
  FtpSession& session = flow.Session(sessions_);
  session.transfers.emplace_back();
  FtpTransfer& transfer = session.transfers.back();
  transfer.passive = passive;
  transfer.announced = announced;
  flow.open_transfer = session.transfers.size() - 1;
  Expect(announced, flow, flow.open_transfer);
  return transfer;
}

void FtpAnalyzer::Expect(const Endpoint& endpoint, Flow& flow, size_t transfer) {
  if (flow.session == kNoSession) return;
  expected_[endpoint] = {flow.session, transfer};
}

void FtpAnalyzer::HandleCommand(Flow& flow, std::string_view line, const Frame& frame) {
  FtpSession& session = flow.Session(sessions_);
  FtpCommand command = ParseCommand(line);
  PendingCommand pending;
  pending.verb = command.verb;
  pending.arg = command.arg;
  pending.frame = frame.number;
  pending.time_ns = frame.time_ns;
  ++session.command_count;
  if (session.commands.size() < options_.max_commands_per_session) {
    FtpCommandRecord record;
    record.frame = frame.number;
    record.time_ns = frame.time_ns;
    record.verb = command.verb;
    record.arg = command.verb == "PASS" ? "****" : command.arg;
    session.commands.push_back(std::move(record));
    pending.record = session.commands.size() - 1;
  }
  if (command.verb == "USER") {
    session.user = command.arg;
  } else if (command.verb == "AUTH") {
    const std::string mechanism = Upper(command.arg);
    flow.auth_tls_sent =
        mechanism == "TLS" || mechanism == "SSL" || mechanism == "TLS-C" || mechanism == "TLS-P";
  } else if (command.verb == "PORT" || command.verb == "EPRT") {
    std::optional<Endpoint> endpoint =
        command.verb == "PORT" ? ParsePortArg(command.arg) : ParseEprtArg(command.arg);
    if (endpoint) NewTransfer(flow, /*passive=*/false, *endpoint);
  } else if (command.verb == "ABOR") {
    if (flow.open_transfer != kNoSession) {
      session.transfers[flow.open_transfer].abort_requested = true;
    }
  } else if (IsDataCommand(command.verb)) {
    if (flow.open_transfer == kNoSession ||
        !session.transfers[flow.open_transfer].command.empty()) {
      // No PASV/PORT seen for it (capture started late, or reused).
      session.transfers.emplace_back();
      flow.open_transfer = session.transfers.size() - 1;
    }
    FtpTransfer& transfer = session.transfers[flow.open_transfer];
    transfer.command = command.verb;
    transfer.arg = command.arg;
    pending.transfer = flow.open_transfer;
  }
  flow.pending.push_back(std::move(pending));
}

void FtpAnalyzer::HandleReply(Flow& flow, int code, const std::string& text, const Frame& frame) {
  FtpSession& session = flow.Session(sessions_);
  if (flow.pending.empty()) {
    if ((code == 220 || code == 120) && session.greeting.empty() && session.command_count == 0) {
      session.greeting = text;
      if (session.greeting_ns < 0) session.greeting_ns = frame.time_ns;
    } else {
      ++warnings_.unsolicited_replies;
    }
    return;
  }
  if (code < 200) return;  // Preliminary: the command waits for its final reply.
  PendingCommand command = std::move(flow.pending.front());
  flow.pending.erase(flow.pending.begin());
  if (command.record != kNoSession) {
    FtpCommandRecord& record = session.commands[command.record];
    record.reply_code = code;
    record.reply_text = text;
    record.completion_ns = frame.time_ns - command.time_ns;
  }
  const std::string& verb = command.verb;
  if (code == 230) session.logged_in = true;
  if (code == 227 && verb == "PASV") {
    if (std::optional<Endpoint> endpoint = ParsePasvReply(text)) {
      NewTransfer(flow, /*passive=*/true, *endpoint);
      // Behind NAT the announced address may be wrong: the port on the
      // server's address works too.
      Expect(Endpoint{session.server.address, endpoint->port}, flow, flow.open_transfer);
    }
  } else if (code == 229 && verb == "EPSV") {
    if (std::optional<uint16_t> port = ParseEpsvReply(text)) {
      NewTransfer(flow, /*passive=*/true, Endpoint{session.server.address, *port});
    }
  } else if (code == 250 && (verb == "CWD" || verb == "CDUP" || verb == "XCWD")) {
    session.cwd = ChangeDirectory(session.cwd.empty() ? "/" : session.cwd,
                                  verb == "CDUP" ? ".." : std::string_view(command.arg));
  } else if (code == 257 && (verb == "PWD" || verb == "XPWD")) {
    if (std::optional<std::string> path = QuotedPath(text)) session.cwd = *path;
  } else if (code == 234 && verb == "AUTH" && flow.auth_tls_sent) {
    session.tls = true;
    flow.stopped = true;
  }
  if (command.transfer != kNoSession) {
    FtpTransfer& transfer = session.transfers[command.transfer];
    transfer.final_code = code;
    if (command.transfer == flow.open_transfer) flow.open_transfer = kNoSession;
  }
  if (verb == "ABOR" && code == 426) {
    // Some servers answer ABOR itself with 426.
    for (FtpTransfer& transfer : session.transfers) {
      if (transfer.abort_requested && transfer.final_code == 0) transfer.final_code = 426;
    }
  }
}

void FtpAnalyzer::OnSegment(Connection& connection, int direction, const Frame& frame,
                            const TcpSegment& segment, uint32_t analysis) {
  Flow& flow = FlowFor(connection);
  switch (flow.kind) {
    case Flow::Kind::kData: {
      FtpTransfer& transfer = sessions_[flow.data_session].transfers[flow.data_transfer];
      transfer.bytes =
          std::max(connection.directions[0].stream_bytes, connection.directions[1].stream_bytes);
      if (segment.payload_length > 0 || (segment.flags & kTcpFin)) transfer.end_ns = frame.time_ns;
      if (segment.flags & kTcpRst) transfer.data_reset = true;
      return;
    }
    case Flow::Kind::kCandidate:
    case Flow::Kind::kControl:
      break;
    default:
      return;
  }
  if (segment.payload_length == 0 || flow.fields_stopped) return;
  // tshark does not hand retransmitted or out-of-order segments to FTP.
  constexpr uint32_t kNotDissected =
      kRetransmission | kFastRetransmission | kSpuriousRetransmission | kOutOfOrder;
  if (flow.Session(sessions_).end_ns < frame.time_ns)
    flow.Session(sessions_).end_ns = frame.time_ns;
  if (analysis & kNotDissected) return;
  FtpFrame record;
  record.frame = frame.number;
  record.time_ns = frame.time_ns;
  record.frame_length = frame.wire_length;
  record.stream = connection.stream;
  record.src = Endpoint{segment.src, segment.src_port};
  record.dst = Endpoint{segment.dst, segment.dst_port};
  record.tcp_length = segment.payload_length;
  const bool is_request =
      flow.by_port ? IsControlPort(segment.dst_port) : direction != flow.server_direction;
  record.fields = ExtractFrameFields(segment.payload, is_request);
  if (is_request) {
    const size_t end = segment.payload.find_first_of("\r\n");
    flow.fields_tls_requested = segment.payload.substr(0, end) == "AUTH TLS";
  } else if (record.fields.response_code == 234 && flow.fields_tls_requested) {
    flow.fields_stopped = true;
  }
  frames_.push_back(std::move(record));
  FlushFrames();
}

void FtpAnalyzer::OnClose(Connection& connection) {
  auto it = flows_.find(connection.stream);
  if (it != flows_.end()) {
    Flow& flow = *it->second;
    if (flow.kind == Flow::Kind::kCandidate) Reject(connection, flow);
    if (flow.kind == Flow::Kind::kControl) {
      FtpSession& session = sessions_[flow.session];
      session.end_ns = connection.last_ns;
    }
    if (flow.kind == Flow::Kind::kData) {
      FtpTransfer& transfer = sessions_[flow.data_session].transfers[flow.data_transfer];
      transfer.bytes =
          std::max(connection.directions[0].stream_bytes, connection.directions[1].stream_bytes);
    }
    flows_.erase(it);
  }
  if (decisions_.size() > connection.stream &&
      decisions_[connection.stream] == Decision::kUnknown) {
    SetDecision(connection.stream, Decision::kNotFtp);
  }
  connections_.push_back(connection);
}

void FtpAnalyzer::Finish() {
  for (auto& [stream, flow] : flows_) {
    if (flow->kind == Flow::Kind::kCandidate) flow->candidate.reset();
    if (decisions_[stream] == Decision::kUnknown) decisions_[stream] = Decision::kNotFtp;
  }
  flows_.clear();
  FlushFrames();
  for (FtpSession& session : sessions_) {
    for (FtpTransfer& transfer : session.transfers) {
      const int code = transfer.final_code;
      if (code >= 200 && code < 300) {
        transfer.outcome = TransferOutcome::kComplete;
      } else if (transfer.data_reset && (code == 0 || code == 426 || code == 451)) {
        transfer.outcome = TransferOutcome::kReset;
      } else if (code == 426 || transfer.abort_requested) {
        transfer.outcome = TransferOutcome::kAborted;
      } else if (code >= 400) {
        transfer.outcome = TransferOutcome::kFailed;
      } else {
        transfer.outcome = TransferOutcome::kIncomplete;
      }
    }
  }
  std::stable_sort(sessions_.begin(), sessions_.end(),
                   [](const FtpSession& a, const FtpSession& b) { return a.stream < b.stream; });
  std::sort(connections_.begin(), connections_.end(),
            [](const Connection& a, const Connection& b) { return a.stream < b.stream; });
}

}  // namespace tpslab::analyzer::pcap
