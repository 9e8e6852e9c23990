#include "analyzer/run/network_section.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string_view>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "analyzer/pcap/capture_analysis.h"
#include "analyzer/pcap/network_summary.h"
#include "analyzer/pcap/pcap_reader.h"
#include "common/parse/url.h"

namespace tpslab::analyzer {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The value, or null when unknown.
template <typename T>
json OrNull(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

// Largest snap length a capture.json may say (libpcap's is 262144).
constexpr uint64_t kMaxSnaplen = uint64_t{1} << 30;

// j[key] when j is an object holding it, else null.
const json& Member(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// j[key] when it is a number, else 0 (for the terminal, where a dash would
// not line up).
double NumberOr0(const json& j, const char* key) {
  const json& value = Member(j, key);
  return value.is_number() ? value.get<double>() : 0.0;
}

// The value of a non-negative JSON integer (parsed ones are unsigned, built
// ones may be signed), else nullopt.
std::optional<uint64_t> NonNegative(const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() >= 0) return j.get<uint64_t>();
  return std::nullopt;
}

// What `analyzer capture` said when it stopped (capture_command.h).
struct CaptureCounts {
  bool stopped = false;       // Its final summary line was found.
  uint64_t written = 0;       // Packets written to the file.
  uint64_t kernel_drops = 0;  // Packets the kernel dropped (buffer full).
  uint64_t not_written = 0;   // Packets beyond the size limit.
};

CaptureCounts ReadCaptureCounts(const fs::path& log_file) {
  CaptureCounts counts;
  std::ifstream in(log_file);
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long a = 0, b = 0;
    if (std::sscanf(line.c_str(), "%llu packets written, %llu dropped by the kernel", &a, &b) ==
        2) {
      counts.stopped = true;
      counts.written = a;
      counts.kernel_drops = b;
    } else if (std::sscanf(line.c_str(), "size limit of %llu MB reached: %llu packets not written",
                           &a, &b) == 2) {
      counts.not_written = b;
    }
  }
  return counts;
}

// The loadgen step a wire operation (network_summary.h) corresponds to, by
// the step's kind (the part after "transaction/"): connect is SYN .. 220
// greeting (the TCP handshake alone is in "handshake"), login is
// USER .. PASS reply, upload/stor is EPSV .. STOR's 226, download/retr is
// EPSV .. RETR's 226, list is EPSV .. LIST's 226, quit is QUIT .. 221.
std::string WireOperationOf(std::string_view step) {
  const size_t slash = step.rfind('/');
  const std::string_view kind = slash == std::string_view::npos ? step : step.substr(slash + 1);
  if (kind == "connect") return "connect";
  if (kind == "login") return "login";
  if (kind == "upload" || kind == "stor") return "stor";
  if (kind == "download" || kind == "retr") return "retr";
  if (kind == "list") return "list";
  if (kind == "quit") return "quit";
  return {};
}

// One row per loadgen step with a wire counterpart: the client's figures
// beside the wire's. The wire figures cover every session (all
// transactions), the client's one transaction's step.
json CompareWithClient(const json& report, const json& network) {
  json rows = json::array();
  for (const json& transaction : report.value("transactions", json::array())) {
    for (const json& step : transaction.value("steps", json::array())) {
      const std::string step_name = step.value("name", std::string());
      const std::string operation = WireOperationOf(step_name);
      if (operation.empty()) continue;
      json wire;
      const json& operations = Member(network, "operations");
      for (const json& row : operations.is_array() ? operations : json::array()) {
        if (row.value("name", std::string()) == operation) wire = row;
      }
      if (wire.is_null()) continue;
      json client = {{"count", step.value("count", 0)}};
      for (const char* key : {"p50_ms", "p99_ms", "mean_ms"}) {
        if (step.contains(key)) client[key] = step[key];
      }
      wire.erase("name");
      rows.push_back({{"step", step_name},
                      {"wire", operation},
                      {"client_ms", std::move(client)},
                      {"wire_ms", std::move(wire)}});
    }
  }
  return rows;
}

}  // namespace

absl::Status WriteCaptureSettings(const fs::path& dir, const CaptureSettings& settings) {
  const json document = {{"filter", OrNull(settings.filter)},
                         {"snaplen", OrNull(settings.snaplen)},
                         {"max_mb", OrNull(settings.max_mb)},
                         {"control_port", settings.control_port}};
  const fs::path path = dir / kCaptureSettingsFile;
  std::ofstream out(path, std::ios::trunc);
  out << document.dump(2) << "\n";
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

absl::StatusOr<CaptureSettings> ReadCaptureSettings(const fs::path& dir) {
  const fs::path path = dir / kCaptureSettingsFile;
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("no capture settings: cannot read ", path.string()));
  }
  const json document = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": not a JSON object"));
  }
  auto wrong = [&](const char* field, const char* expected) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": \"", field, "\" is ",
                                                   Member(document, field).dump(), ", expected ",
                                                   expected));
  };
  CaptureSettings settings;
  if (const json& filter = Member(document, "filter"); filter.is_string()) {
    settings.filter = filter.get<std::string>();
  } else if (!filter.is_null()) {
    return wrong("filter", "a string");
  }
  if (const json& snaplen = Member(document, "snaplen"); !snaplen.is_null()) {
    const std::optional<uint64_t> value = NonNegative(snaplen);
    if (!value || *value == 0 || *value > kMaxSnaplen) {
      return wrong("snaplen", "a positive byte count");
    }
    settings.snaplen = static_cast<int>(*value);
  }
  if (const json& max_mb = Member(document, "max_mb"); !max_mb.is_null()) {
    const std::optional<uint64_t> value = NonNegative(max_mb);
    if (!value) return wrong("max_mb", "a size in MB (0 or more)");
    settings.max_mb = *value;
  }
  if (const json& port = Member(document, "control_port"); !port.is_null()) {
    const std::optional<uint64_t> value = NonNegative(port);
    if (!value || *value > 65535) return wrong("control_port", "a port 0-65535");
    settings.control_port = static_cast<uint16_t>(*value);
  }
  return settings;
}

CaptureSettings CaptureSettingsFromReport(const json& report) {
  CaptureSettings settings;
  const json& capture = Member(Member(report, "network"), "capture");
  if (const json& filter = Member(capture, "filter"); filter.is_string()) {
    settings.filter = filter.get<std::string>();
  }
  if (const std::optional<uint64_t> snaplen = NonNegative(Member(capture, "snaplen"));
      snaplen && *snaplen > 0 && *snaplen <= kMaxSnaplen) {
    settings.snaplen = static_cast<int>(*snaplen);
  }
  settings.max_mb = NonNegative(Member(capture, "max_mb"));
  if (const json& target = Member(Member(report, "run"), "target"); target.is_string()) {
    if (absl::StatusOr<parse::Url> url = parse::ParseUrl(target.get<std::string>()); url.ok()) {
      settings.control_port = url->port;
    }
  }
  return settings;
}

json NetworkSection(const fs::path& dir, const CaptureSettings& settings, const json& report) {
  const fs::path file = dir / kCaptureFile;
  const CaptureCounts counts = ReadCaptureCounts(dir / kCaptureLog);
  std::error_code ec;
  const uintmax_t bytes = fs::file_size(file, ec);
  json capture = {{"file", kCaptureFile},
                  {"bytes", ec ? 0 : bytes},
                  {"filter", OrNull(settings.filter)},
                  {"snaplen", OrNull(settings.snaplen)},
                  {"max_mb", OrNull(settings.max_mb)},
                  {"packets_written", counts.written},
                  {"kernel_drops", counts.kernel_drops},
                  {"not_written", counts.not_written},
                  {"cut", counts.not_written > 0},
                  {"stopped_cleanly", counts.stopped}};
  const auto started = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<pcap::PcapReader>> reader = pcap::PcapReader::Open(file.string());
  if (!reader.ok()) {
    return {{"capture", std::move(capture)}, {"error", std::string(reader.status().message())}};
  }
  if (!settings.snaplen) capture["snaplen"] = (*reader)->snap_length();
  pcap::AnalyzeOptions analyze;
  if (settings.control_port != 0) analyze.ftp.control_ports.push_back(settings.control_port);
  const pcap::CaptureAnalysis analysis = pcap::AnalyzeCapture(**reader, analyze, nullptr);
  json network = pcap::NetworkSummaryJson(analysis);
  capture["analysis_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  network["capture"] = std::move(capture);
  network["client_vs_wire"] = CompareWithClient(report, network);
  return network;
}

std::string DescribeNetworkSection(const json& network) {
  if (const json& error = Member(network, "error"); error.is_string()) {
    return absl::StrCat("network: ", error.get<std::string>(), "\n");
  }
  const json& capture = Member(network, "capture");
  std::string out = absl::StrFormat(
      "network: %.0f packets captured (%.1f MB%s), %.0f dropped by the kernel, analyzed in "
      "%.2f s\n",
      NumberOr0(capture, "packets_written"), NumberOr0(capture, "bytes") / 1e6,
      Member(capture, "cut") == true ? ", cut at the size limit" : "",
      NumberOr0(capture, "kernel_drops"), NumberOr0(capture, "analysis_s"));
  const json& rows = Member(network, "client_vs_wire");
  for (const json& row : rows.is_array() ? rows : json::array()) {
    const json& client = Member(row, "client_ms");
    const json& wire = Member(row, "wire_ms");
    const json& step = Member(row, "step");
    const json& operation = Member(row, "wire");
    absl::StrAppendFormat(
        &out, "  %-20s client p50 %7.2f ms p99 %7.2f ms | wire (%s) p50 %7.2f ms p99 %7.2f ms\n",
        step.is_string() ? step.get<std::string>() : "", NumberOr0(client, "p50_ms"),
        NumberOr0(client, "p99_ms"), operation.is_string() ? operation.get<std::string>() : "",
        NumberOr0(wire, "p50_ms"), NumberOr0(wire, "p99_ms"));
  }
  return out;
}

}  // namespace tpslab::analyzer
