#include "monitor/exposition.h"

#include <cmath>
#include <cstdio>
#include <map>

#include "monitor/text_fields.h"

namespace tpslab::monitor {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

void Add(std::vector<Series>& out, std::string name, Labels labels, double value,
         Series::Type type) {
  out.push_back(Series{std::move(name), std::move(labels), value, type});
}

void AppendEscaped(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

const char* TypeName(Series::Type type) {
  switch (type) {
    case Series::Type::kCounter:
      return "counter";
    case Series::Type::kGauge:
      return "gauge";
    case Series::Type::kUntyped:
      return "untyped";
  }
  return "untyped";
}

// node_exporter labels CPUs "0", "1", ...
std::string CpuNumber(const std::string& cpu) {
  return cpu.rfind("cpu", 0) == 0 ? cpu.substr(3) : cpu;
}

}  // namespace

const std::string* Series::Label(std::string_view label) const {
  for (const auto& [name, value] : labels) {
    if (name == label) return &value;
  }
  return nullptr;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.17g", value);
  return buffer;
}

void AppendHostSeries(const tpslab::v1::HostSample& sample, std::vector<Series>& out) {
  constexpr auto kCounter = Series::Type::kCounter;
  constexpr auto kGauge = Series::Type::kGauge;
  for (const tpslab::v1::CpuTimes& cpu : sample.cpus()) {
    if (cpu.cpu() == "total") continue;  // node_exporter exposes cores only
    const std::string n = CpuNumber(cpu.cpu());
    const std::pair<const char*, double> modes[] = {
        {"user", cpu.user()},       {"nice", cpu.nice()},     {"system", cpu.system()},
        {"idle", cpu.idle()},       {"iowait", cpu.iowait()}, {"irq", cpu.irq()},
        {"softirq", cpu.softirq()}, {"steal", cpu.steal()}};
    for (auto [mode, seconds] : modes) {
      Add(out, "node_cpu_seconds_total", {{"cpu", n}, {"mode", mode}}, seconds, kCounter);
    }
  }
  Add(out, "node_load1", {}, sample.load1(), kGauge);
  Add(out, "node_load5", {}, sample.load5(), kGauge);
  Add(out, "node_load15", {}, sample.load15(), kGauge);
  for (const tpslab::v1::Pressure& p : sample.pressures()) {
    const std::string base = "node_pressure_" + p.resource();
    Add(out, base + "_waiting_seconds_total", {}, static_cast<double>(p.some_total_us()) / 1e6,
        kCounter);
    if (p.resource() != "cpu" || p.full_total_us() > 0) {
      Add(out, base + "_stalled_seconds_total", {}, static_cast<double>(p.full_total_us()) / 1e6,
          kCounter);
    }
  }
  for (const tpslab::v1::NetInterface& i : sample.interfaces()) {
    const Labels d = {{"device", i.name()}};
    Add(out, "node_network_receive_bytes_total", d, static_cast<double>(i.rx_bytes()), kCounter);
    Add(out, "node_network_receive_packets_total", d, static_cast<double>(i.rx_packets()),
        kCounter);
    Add(out, "node_network_receive_errs_total", d, static_cast<double>(i.rx_errors()), kCounter);
    Add(out, "node_network_receive_drop_total", d, static_cast<double>(i.rx_drops()), kCounter);
    Add(out, "node_network_transmit_bytes_total", d, static_cast<double>(i.tx_bytes()), kCounter);
    Add(out, "node_network_transmit_packets_total", d, static_cast<double>(i.tx_packets()),
        kCounter);
    Add(out, "node_network_transmit_errs_total", d, static_cast<double>(i.tx_errors()), kCounter);
    Add(out, "node_network_transmit_drop_total", d, static_cast<double>(i.tx_drops()), kCounter);
  }
  for (const tpslab::v1::Disk& disk : sample.disks()) {
    const Labels d = {{"device", disk.name()}};
    Add(out, "node_disk_reads_completed_total", d, static_cast<double>(disk.reads_completed()),
        kCounter);
    Add(out, "node_disk_writes_completed_total", d, static_cast<double>(disk.writes_completed()),
        kCounter);
    Add(out, "node_disk_read_bytes_total", d, static_cast<double>(disk.read_bytes()), kCounter);
    Add(out, "node_disk_written_bytes_total", d, static_cast<double>(disk.written_bytes()),
        kCounter);
    Add(out, "node_disk_read_time_seconds_total", d,
        static_cast<double>(disk.read_time_ms()) / 1000.0, kCounter);
    Add(out, "node_disk_write_time_seconds_total", d,
        static_cast<double>(disk.write_time_ms()) / 1000.0, kCounter);
    Add(out, "node_disk_io_time_seconds_total", d, static_cast<double>(disk.io_time_ms()) / 1000.0,
        kCounter);
  }
  for (const tpslab::v1::Metric& metric : sample.metrics()) AppendMetricSeries(metric, out);
}

void AppendMetricSeries(const tpslab::v1::Metric& metric, std::vector<Series>& out) {
  // Proto maps have no order: sort labels for a stable rendering.
  std::map<std::string, std::string> sorted(metric.labels().begin(), metric.labels().end());
  Add(out, metric.name(), Labels(sorted.begin(), sorted.end()), metric.value(),
      metric.counter() ? Series::Type::kCounter : Series::Type::kGauge);
}

void AppendProcessSeries(const tpslab::v1::ProcessSample& sample,
                         std::optional<double> cpu_utilisation, std::vector<Series>& out) {
  constexpr auto kCounter = Series::Type::kCounter;
  constexpr auto kGauge = Series::Type::kGauge;
  const Labels s = {{"selector", sample.selector()}};
  Add(out, "tpslab_process_up", s, sample.alive() ? 1 : 0, kGauge);
  Add(out, "tpslab_process_count", s, sample.processes(), kGauge);
  if (!sample.alive()) return;
  Add(out, "tpslab_process_pid", s, sample.pid(), kGauge);
  Add(out, "tpslab_process_cpu_seconds_total", {{"selector", sample.selector()}, {"mode", "user"}},
      sample.cpu_user_seconds(), kCounter);
  Add(out, "tpslab_process_cpu_seconds_total",
      {{"selector", sample.selector()}, {"mode", "system"}}, sample.cpu_system_seconds(), kCounter);
  if (cpu_utilisation) Add(out, "tpslab_process_cpu_utilisation", s, *cpu_utilisation, kGauge);
  Add(out, "tpslab_process_resident_memory_bytes", s, static_cast<double>(sample.rss_bytes()),
      kGauge);
  Add(out, "tpslab_process_threads", s, sample.threads(), kGauge);
  Add(out, "tpslab_process_open_fds", s, sample.open_fds(), kGauge);
  Add(out, "tpslab_process_context_switches_total",
      {{"selector", sample.selector()}, {"type", "voluntary"}},
      static_cast<double>(sample.voluntary_ctx_switches()), kCounter);
  Add(out, "tpslab_process_context_switches_total",
      {{"selector", sample.selector()}, {"type", "involuntary"}},
      static_cast<double>(sample.involuntary_ctx_switches()), kCounter);
  Add(out, "tpslab_process_read_bytes_total", s, static_cast<double>(sample.read_bytes()),
      kCounter);
  Add(out, "tpslab_process_write_bytes_total", s, static_cast<double>(sample.write_bytes()),
      kCounter);
}

void AppendCheckSeries(const tpslab::v1::CheckResult& result, std::vector<Series>& out) {
  // Nagios codes: OK 0, WARNING 1, CRITICAL 2, UNKNOWN 3.
  int code = 3;
  switch (result.state()) {
    case tpslab::v1::CHECK_STATE_OK:
      code = 0;
      break;
    case tpslab::v1::CHECK_STATE_WARNING:
      code = 1;
      break;
    case tpslab::v1::CHECK_STATE_CRITICAL:
      code = 2;
      break;
    default:
      break;
  }
  const Labels c = {{"check", result.name()}};
  Add(out, "tpslab_check_state", c, code, Series::Type::kGauge);
  Add(out, "tpslab_check_duration_seconds", c, result.duration_seconds(), Series::Type::kGauge);
}

std::string RenderExposition(const std::vector<Series>& series) {
  std::map<std::string_view, std::vector<const Series*>> families;
  for (const Series& s : series) families[s.name].push_back(&s);
  std::string out;
  out.reserve(series.size() * 64);
  for (const auto& [name, members] : families) {
    out += "# TYPE ";
    out += name;
    out += ' ';
    out += TypeName(members.front()->type);
    out += '\n';
    for (const Series* s : members) {
      out += name;
      if (!s->labels.empty()) {
        out += '{';
        bool first = true;
        for (const auto& [label, value] : s->labels) {
          if (!first) out += ',';
          first = false;
          out += label;
          out += "=\"";
          AppendEscaped(out, value);
          out += '"';
        }
        out += '}';
      }
      out += ' ';
      out += FormatValue(s->value);
      out += '\n';
    }
  }
  return out;
}

}  // namespace tpslab::monitor
