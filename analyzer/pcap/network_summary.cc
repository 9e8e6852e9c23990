#include "analyzer/pcap/network_summary.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "absl/strings/ascii.h"
#include "analyzer/pcap/capture_report.h"

namespace tpslab::analyzer::pcap {
namespace {

double Ms(int64_t ns) { return std::round(static_cast<double>(ns) / 1e3) / 1e3; }

// Samples of one named thing, kept in order of first appearance.
class Samples {
 public:
  std::vector<int64_t>& For(const std::string& name) {
    auto [it, inserted] = index_.try_emplace(name, entries_.size());
    if (inserted) entries_.push_back({name, {}});
    return entries_[it->second].second;
  }
  std::vector<std::pair<std::string, std::vector<int64_t>>>& entries() { return entries_; }

 private:
  std::map<std::string, size_t> index_;
  std::vector<std::pair<std::string, std::vector<int64_t>>> entries_;
};

bool IsDataConnectionSetup(const std::string& verb) {
  return verb == "PASV" || verb == "EPSV" || verb == "PORT" || verb == "EPRT";
}

}  // namespace

nlohmann::json DistributionJson(std::vector<int64_t>& samples_ns) {
  nlohmann::json out = {{"count", samples_ns.size()}};
  if (samples_ns.empty()) return out;
  std::sort(samples_ns.begin(), samples_ns.end());
  auto rank = [&](double q) {
    const size_t n = samples_ns.size();
    const size_t index = static_cast<size_t>(std::ceil(q * static_cast<double>(n)));
    return samples_ns[std::clamp<size_t>(index, 1, n) - 1];
  };
  double sum = 0;
  for (int64_t ns : samples_ns) sum += static_cast<double>(ns);
  out["p50_ms"] = Ms(rank(0.50));
  out["p90_ms"] = Ms(rank(0.90));
  out["p99_ms"] = Ms(rank(0.99));
  out["max_ms"] = Ms(samples_ns.back());
  out["mean_ms"] = Ms(static_cast<int64_t>(sum / static_cast<double>(samples_ns.size())));
  return out;
}

nlohmann::json NetworkSummaryJson(const CaptureAnalysis& analysis) {
  const CaptureSummary& summary = analysis.summary;
  Samples responses;
  std::map<std::string, std::pair<uint64_t, uint64_t>> failures;  // verb -> errors, unanswered
  Samples operations;
  std::map<std::string, std::string> operation_commands;
  uint64_t transfers = 0, complete = 0, bytes = 0;
  std::map<std::string, uint64_t> by_command;

  for (const FtpSession& session : analysis.sessions) {
    if (session.greeting_ns >= session.start_ns) {
      operations.For("connect").push_back(session.greeting_ns - session.start_ns);
      operation_commands["connect"] = "first packet (SYN) .. 220 greeting";
    }
    const FtpCommandRecord* user = nullptr;
    const FtpCommandRecord* setup = nullptr;
    for (const FtpCommandRecord& command : session.commands) {
      std::vector<int64_t>& times = responses.For(command.verb);
      auto& [errors, unanswered] = failures[command.verb];
      if (command.response_ns >= 0) times.push_back(command.response_ns);
      if (command.reply_code == 0) ++unanswered;
      if (command.reply_code >= 400) ++errors;
      if (command.completion_ns < 0) continue;
      const int64_t done_ns = command.time_ns + command.completion_ns;

      if (command.verb == "USER") {
        user = &command;
      } else if (command.verb == "PASS" && user != nullptr) {
        operations.For("login").push_back(done_ns - user->time_ns);
        operation_commands["login"] = "USER .. PASS reply";
        user = nullptr;
      } else if (IsDataConnectionSetup(command.verb)) {
        setup = &command;
      } else if (command.verb == "QUIT") {
        operations.For("quit").push_back(command.completion_ns);
        operation_commands["quit"] = "QUIT .. reply";
      } else if (command.verb == "STOR" || command.verb == "RETR" || command.verb == "LIST" ||
                 command.verb == "NLST" || command.verb == "MLSD" || command.verb == "APPE" ||
                 command.verb == "STOU") {
        const std::string name = absl::AsciiStrToLower(command.verb);
        const int64_t start_ns = setup != nullptr ? setup->time_ns : command.time_ns;
        operations.For(name).push_back(done_ns - start_ns);
        operation_commands[name] = setup != nullptr
                                       ? setup->verb + " .. " + command.verb + " final reply"
                                       : command.verb + " .. final reply";
        setup = nullptr;
      }
    }
    for (const FtpTransfer& transfer : session.transfers) {
      ++transfers;
      if (transfer.outcome == TransferOutcome::kComplete) ++complete;
      bytes += transfer.bytes;
      ++by_command[transfer.command.empty() ? "(none)" : transfer.command];
    }
  }

  nlohmann::json commands = nlohmann::json::array();
  for (auto& [verb, times] : responses.entries()) {
    nlohmann::json row = DistributionJson(times);
    const auto& [errors, unanswered] = failures[verb];
    row["command"] = verb;
    row["count"] = times.size() + unanswered;
    row["errors"] = errors;
    row["unanswered"] = unanswered;
    commands.push_back(std::move(row));
  }
  nlohmann::json exchanges = nlohmann::json::array();
  for (auto& [name, times] : operations.entries()) {
    nlohmann::json row = DistributionJson(times);
    row["name"] = name;
    row["commands"] = operation_commands[name];
    exchanges.push_back(std::move(row));
  }

  std::vector<int64_t> handshakes;
  uint64_t counters[8] = {};
  for (const Connection& connection : analysis.connections) {
    if (const int64_t rtt = connection.HandshakeRttNs(); rtt >= 0) handshakes.push_back(rtt);
    for (const DirectionStats& d : connection.directions) {
      counters[0] += d.retransmissions;
      counters[1] += d.fast_retransmissions;
      counters[2] += d.spurious_retransmissions;
      counters[3] += d.out_of_order;
      counters[4] += d.duplicate_acks;
      counters[5] += d.zero_windows;
      counters[6] += d.lost_segments;
      counters[7] += d.rst ? 1 : 0;
    }
  }
  const nlohmann::json tcp = {{"retransmissions", counters[0]},
                              {"fast_retransmissions", counters[1]},
                              {"spurious_retransmissions", counters[2]},
                              {"out_of_order", counters[3]},
                              {"duplicate_acks", counters[4]},
                              {"zero_windows", counters[5]},
                              {"lost_segments", counters[6]},
                              {"resets", counters[7]}};

  return {
      {"packets", summary.frames},
      {"duration_s", summary.last_ns > summary.first_ns
                         ? static_cast<double>(summary.last_ns - summary.first_ns) / 1e9
                         : 0.0},
      {"snapped_segments", summary.snapped_segments},
      {"sessions", analysis.sessions.size()},
      {"connections", summary.tcp.connections},
      {"commands", std::move(commands)},
      {"operations", std::move(exchanges)},
      {"handshake", DistributionJson(handshakes)},
      {"transfers",
       {{"count", transfers},
        {"complete", complete},
        {"failed", transfers - complete},
        {"bytes", bytes},
        {"by_command", by_command}}},
      {"tcp", tcp},
      {"warnings", Warnings(analysis)},
  };
}

}  // namespace tpslab::analyzer::pcap
