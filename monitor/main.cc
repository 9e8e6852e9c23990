// monitor: the tpslab host and process agent.
//
//   monitor [--config FILE] [--interval DURATION] [--pid N]... [--process NAME_OR_PATTERN]...
//           [--children] [--scrape URL]...
//           [--check 'NAME[interval=D,timeout=D]=PLUGIN ARGS']... [--check-interval D]
//           [--check-timeout D] [--check-workers N]
//           [--threshold 'METRIC{labels} warn=RANGE crit=RANGE']... [--coordinator HOST:PORT]
//           [--prometheus HOST:PORT] [--jsonl FILE|-] [--samples N]
//   monitor check [--timeout DURATION] PLUGIN [ARGS...]
//
// Each --check runs at its own interval (the [interval=D] of its definition,
// else --check-interval) with its own timeout (else --check-timeout), on up
// to --check-workers threads; a slot that comes while the check still runs
// is skipped (docs/monitor.md).
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

#include "common/agent/agent_stream.h"
#include "common/app/cli.h"
#include "common/parse/duration.h"
#include "common/parse/url.h"
#include "monitor/agent.h"
#include "monitor/checks.h"
#include "monitor/http.h"
#include "monitor/plugin_runner.h"
#include "monitor/thresholds.h"
#include "spdlog/spdlog.h"

namespace tpslab::monitor {
namespace {

struct Flags {
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
  std::vector<int> pids;
  std::vector<std::string> processes;
  bool children = false;
  std::vector<std::string> scrapes;
  std::vector<std::string> checks;
  std::vector<std::string> thresholds;
  std::chrono::nanoseconds check_interval = std::chrono::seconds(60);
  std::chrono::nanoseconds check_timeout = std::chrono::seconds(10);
  int check_workers = 4;
  parse::Endpoint coordinator;
  std::string token;
  std::string coordinator_ca;
  parse::Endpoint prometheus;
  bool prometheus_set = false;
  bool coordinator_set = false;
  std::string jsonl;
  int64_t samples = 0;
};

int RunAgent(Flags& flags) {
  // Samples go to the coordinator at least once, across its restarts; what a
  // full buffer drops is reported to it (common/agent/agent_stream.h).
  std::unique_ptr<agent::AgentStream> stream;
  if (flags.coordinator_set) {
    agent::AgentStreamOptions stream_options;
    stream_options.coordinator = parse::FormatEndpoint(flags.coordinator);
    stream_options.token = flags.token;
    stream_options.tls_ca_file = flags.coordinator_ca;
    stream_options.kind = v1::AGENT_KIND_MONITOR;
    stream = std::make_unique<agent::AgentStream>(std::move(stream_options));
  }
  AgentOptions options;
  options.coordinator = stream.get();
  options.interval = flags.interval;
  options.check_interval = flags.check_interval;
  options.check_timeout = flags.check_timeout;
  options.check_workers = flags.check_workers;
  options.jsonl = flags.jsonl;
  options.max_samples = flags.samples;
  for (int pid : flags.pids) options.processes.push_back(PidSelector(pid, flags.children));
  for (const std::string& text : flags.processes) {
    absl::StatusOr<ProcessSelector> selector = ParseProcessSelector(text, flags.children);
    if (!selector.ok()) {
      std::cerr << "monitor: error: --process: " << selector.status().message() << "\n";
      return app::kExitUsage;
    }
    options.processes.push_back(*std::move(selector));
  }
  for (const std::string& text : flags.scrapes) {
    absl::StatusOr<parse::Url> url = parse::ParseUrl(text);
    if (!url.ok()) {
      std::cerr << "monitor: error: --scrape: " << url.status().message() << "\n";
      return app::kExitUsage;
    }
    options.scrapes.push_back(*std::move(url));
  }
  for (const std::string& text : flags.checks) {
    absl::StatusOr<PluginCheck> check = ParsePluginCheck(text);
    if (!check.ok()) {
      std::cerr << "monitor: error: --check: " << check.status().message() << "\n";
      return app::kExitUsage;
    }
    options.plugin_checks.push_back(*std::move(check));
  }
  for (const std::string& text : flags.thresholds) {
    absl::StatusOr<ThresholdCheck> check = ParseThresholdCheck(text);
    if (!check.ok()) {
      std::cerr << "monitor: error: --threshold: " << check.status().message() << "\n";
      return app::kExitUsage;
    }
    options.threshold_checks.push_back(*std::move(check));
  }
  absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Create(std::move(options));
  if (!agent.ok()) {
    std::cerr << "monitor: error: " << agent.status().message() << "\n";
    return app::kExitUsage;
  }

  // One io_context thread for the HTTP endpoint and the signals; sampling
  // runs on the main thread.
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    spdlog::info("signal {}: stopping", signal_number);
    (*agent)->Stop();
  });
  std::unique_ptr<MetricsServer> server;
  if (flags.prometheus_set) {
    Agent* raw = agent->get();
    absl::StatusOr<std::unique_ptr<MetricsServer>> started =
        MetricsServer::Start(io, flags.prometheus, [raw] { return raw->RenderMetrics(); });
    if (!started.ok()) {
      std::cerr << "monitor: error: --prometheus: " << started.status().message() << "\n";
      return app::kExitFailure;
    }
    server = *std::move(started);
    std::printf("prometheus on %s\n", server->address().c_str());
    std::fflush(stdout);
  }
  std::thread io_thread([&io] { io.run(); });
  spdlog::info("sampling every {} ({} processes, {} scrapes, {} plugin checks)",
               parse::FormatDuration(flags.interval), flags.pids.size() + flags.processes.size(),
               flags.scrapes.size(), flags.checks.size());
  (*agent)->Run();
  if (stream && !stream->Flush(std::chrono::seconds(2))) {
    const agent::AgentStreamStats stats = stream->stats();
    spdlog::warn("coordinator {}: {} samples not acknowledged at exit ({})",
                 parse::FormatEndpoint(flags.coordinator),
                 stats.last_sequence - stats.acked_sequence, stats.last_error);
  }
  if (server) server->Stop();
  signals.cancel();
  guard.reset();
  io.stop();
  io_thread.join();
  return app::kExitOk;
}

int RunCheck(std::chrono::nanoseconds timeout, std::vector<std::string> argv) {
  if (argv.empty()) {
    std::cerr << "monitor: error: check: missing PLUGIN\n";
    return app::kExitUsage;
  }
  std::string command;
  for (const std::string& a : argv) command += (command.empty() ? "" : " ") + a;
  absl::StatusOr<PluginCheck> check = ParsePluginCheck(command);
  if (!check.ok()) {
    std::cerr << "monitor: error: check: " << check.status().message() << "\n";
    return app::kExitUsage;
  }
  check->argv = std::move(argv);  // keep the arguments exactly as given
  if (check->argv[0].find('/') == std::string::npos) {
    check->argv[0] = "/usr/lib/nagios/plugins/" + check->argv[0];
  }
  tpslab::v1::CheckResult result = ToCheckResult(
      check->name,
      RunPlugin(check->argv, std::chrono::duration_cast<std::chrono::milliseconds>(timeout)));
  std::printf("%s %s: %s\n", check->name.c_str(),
              std::string(CheckStateName(result.state())).c_str(), result.output().c_str());
  for (const tpslab::v1::PerfData& p : result.perf_data()) {
    std::printf("  %s = %.10g%s", p.label().c_str(), p.value(), p.unit().c_str());
    if (!p.warn().empty()) std::printf(" warn=%s", p.warn().c_str());
    if (!p.crit().empty()) std::printf(" crit=%s", p.crit().c_str());
    if (p.has_min()) std::printf(" min=%.10g", p.min());
    if (p.has_max()) std::printf(" max=%.10g", p.max());
    std::printf("\n");
  }
  std::printf("duration %.3f s\n", result.duration_seconds());
  // Exit like a Nagios plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
  switch (result.state()) {
    case tpslab::v1::CHECK_STATE_OK:
      return 0;
    case tpslab::v1::CHECK_STATE_WARNING:
      return 1;
    case tpslab::v1::CHECK_STATE_CRITICAL:
      return 2;
    default:
      return 3;
  }
}

}  // namespace
}  // namespace tpslab::monitor

int main(int argc, char** argv) {
  using namespace tpslab;
  app::App application("monitor",
                       "Host and process agent: /proc collectors, Nagios checks, "
                       "Prometheus and JSON lines outputs",
                       "0.1.0");
  monitor::Flags flags;
  CLI::App& root = application.root();
  app::AddDuration(root, "--interval", flags.interval, "Sampling interval (100ms .. 1h)");
  root.add_option("--pid", flags.pids, "Watch this process id (repeatable)");
  root.add_option("--process", flags.processes,
                  "Watch processes by name (comm) or command-line regex (repeatable; "
                  "name:X / pattern:X force either)");
  root.add_flag("--children", flags.children, "Include every descendant of watched processes");
  root.add_option("--scrape", flags.scrapes,
                  "Scrape a Prometheus text endpoint each interval (repeatable)");
  root.add_option("--check", flags.checks,
                  "Run a Nagios plugin on a schedule: 'NAME=PLUGIN ARGS' or "
                  "'NAME[interval=30s,timeout=5s]=PLUGIN ARGS' (repeatable)");
  app::AddDuration(root, "--check-interval", flags.check_interval,
                   "Time between plugin runs, for checks without [interval=] (>= 100ms)");
  app::AddDuration(root, "--check-timeout", flags.check_timeout,
                   "Plugin timeout for checks without [timeout=] (the process group is killed; "
                   "state UNKNOWN)");
  root.add_option("--check-workers", flags.check_workers, "Most plugins running at once (1 .. 64)")
      ->capture_default_str();
  root.add_option("--threshold", flags.thresholds,
                  "Built-in check: 'METRIC{label=\"v\"} warn=RANGE crit=RANGE' (repeatable)");
  CLI::Option* coordinator = app::AddEndpoint(root, "--coordinator", flags.coordinator,
                                              "Stream samples to the analyzer's gRPC address");
  root.add_option("--token", flags.token, "Shared secret for --coordinator");
  root.add_option("--coordinator-ca", flags.coordinator_ca,
                  "CA certificate (PEM) of the coordinator's TLS certificate: use TLS");
  CLI::Option* prometheus = app::AddEndpoint(root, "--prometheus", flags.prometheus,
                                             "Serve GET /metrics here (port 0: any free port)");
  root.add_option("--jsonl", flags.jsonl, "Write JSON lines to FILE, or '-' for stdout");
  root.add_option("--samples", flags.samples, "Stop after N samples (0: run until signalled)");
  application.SetMain([&] {
    flags.prometheus_set = prometheus->count() > 0;
    flags.coordinator_set = coordinator->count() > 0;
    return monitor::RunAgent(flags);
  });

  std::chrono::nanoseconds check_timeout = std::chrono::seconds(10);
  std::vector<std::string> plugin_argv;
  CLI::App& check =
      application.AddCommand("check", "Run one Nagios plugin once and print its state and perfdata",
                             [&] { return monitor::RunCheck(check_timeout, plugin_argv); });
  CLI::App* check_app = &check;
  app::AddDuration(check, "--timeout", check_timeout, "Kill the plugin after this long");
  // Everything from PLUGIN on belongs to the plugin (its -w/-c are not ours).
  check.fallthrough(false);
  check.prefix_command();
  check.allow_extras();
  check.footer("PLUGIN [ARGS...]: a name in /usr/lib/nagios/plugins or a path.");
  check.final_callback([&plugin_argv, check_app] { plugin_argv = check_app->remaining(); });
  return application.Run(argc, argv);
}
