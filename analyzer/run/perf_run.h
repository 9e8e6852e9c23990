// `analyzer run`: the one-command full-stack perf run.
//
// In one process it runs the coordinator (gRPC ingest into a fresh SQLite
// store, plus the live dashboard over HTTP) and drives three children on
// loopback:
//   1. ftpd on a temporary root (tmpfs when there is one) with a generated
//      user and password, its admin endpoint serving its own counters;
//      skipped with --target, which measures another server instead;
//   2. monitor: the host, the server process (ftpd's pid, or --watch-process
//      for another server) and ftpd's counters, streaming every second;
//   3. loadgen: the scenario (default: upload and download of 1 KiB files,
//      concurrency stepped 1, 2, 4, ... users to find the knee in about a
//      minute), streaming every second.
// With --capture, `analyzer capture -i lo` (this binary) records the
// server's traffic from before loadgen starts until it ends, and the
// capture's analysis (per-command server response times on the wire beside
// loadgen's step latencies, TCP setup times, retransmissions) becomes the
// report's "network" section (network_section.h; schema in
// docs/perf-run.md), which `analyzer report` builds again from the folder.
// When loadgen is done it stops monitor and ftpd, ends the run, analyzes it
// (knee, USL, USE verdict, correlations) and writes
//   results/<run-id>/ report.html summary.json timeseries.csv run.db
//                     loadgen/*.hlog logs/*.log [capture.pcap capture.json]
// under the directory the user ran the command from (also under `bazel
// run`), prints a short summary and, last, the folder.
//
// Teardown is the same on success, on Ctrl-C (loadgen finishes its interval
// and the partial run is still reported, state "aborted") and when a child
// dies (the others are stopped, state "failed", the report says why).
//
// Example:
//   PerfRunOptions options;
//   options.stage_hold = std::chrono::seconds(8);
//   return RunPerf(options);   // exit status for main()
#ifndef TPSLAB_ANALYZER_RUN_PERF_RUN_H_
#define TPSLAB_ANALYZER_RUN_PERF_RUN_H_

#include <chrono>
#include <string>
#include <vector>

#include "common/parse/url.h"

namespace tpslab::analyzer {

struct PerfRunOptions {
  // Scenario file for loadgen (YAML or JSON). Default empty: the built-in
  // stepped FTP scenario (see DefaultScenarioYaml).
  std::string scenario = {};
  // Server to measure, e.g. ftp://user:pass@127.0.0.1:21/. Default empty:
  // start ftpd. With a scenario, replaces its first target's URL.
  std::string target = {};
  // Processes to watch on the server side (name or command-line regex, as
  // `monitor --process`). Default: ftpd's pid when ftpd is started.
  std::vector<std::string> watch_processes = {};
  // Server process ids to watch (as `monitor --pid`), with --target.
  // Default none.
  std::vector<int> watch_pids = {};
  // Extra Prometheus endpoints to scrape. Default: ftpd's admin /metrics
  // when ftpd is started.
  std::vector<std::string> scrapes = {};
  // Parent of the run folders. Default empty: "results" under the
  // directory the command was run from ($BUILD_WORKING_DIRECTORY under
  // `bazel run`, else the current directory).
  std::string results_dir = {};
  // Run name. Default "default" (or the scenario file's base name).
  std::string name = {};
  // Built-in scenario: time at each concurrency step. Default 8 s.
  std::chrono::nanoseconds stage_hold = std::chrono::seconds(8);
  // Built-in scenario: the last concurrency step (1, 2, 4, ... up to and
  // including it). Default 64.
  int max_users = 64;
  // Latency objective for "highest TPS under the SLO", p99 in ms. Default 50.
  double slo_p99_ms = 50;
  // Monitor sampling interval. Default 1 s.
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
  // Engine threads of loadgen and ftpd (0: one per core). Default 0.
  int loadgen_threads = 0;
  int ftpd_threads = 0;
  // Live dashboard address (port 0: any). Default 127.0.0.1:0.
  parse::Endpoint dashboard{"127.0.0.1", 0};
  // Record the run's loopback traffic (`analyzer capture -i lo`, needs root
  // or CAP_NET_RAW) to results/<run-id>/capture.pcap and add a "network"
  // section to the report. Default false.
  bool capture = false;
  // BPF filter of the capture. Default empty: the FTP server's control port
  // and its passive data ports ("tcp port CTRL or tcp portrange MIN-MAX";
  // ftpd is given that range); with --target only its port, so active-mode
  // or foreign passive data connections need this override.
  std::string capture_filter = {};
  // Size limit of capture.pcap in MB; packets beyond it are not written and
  // the report says so. Default 512.
  uint64_t capture_max_mb = 512;
  // Bytes kept of each captured packet: headers and FTP control lines (data
  // payload is not needed, its size comes from sequence numbers). Default
  // 200.
  int capture_snaplen = 200;
  // Paths of the binaries. Default empty: next to this analyzer binary
  // (bazel-bin/ftpd/ftpd ...), in its runfiles, then on PATH.
  std::string ftpd_bin = {};
  std::string loadgen_bin = {};
  std::string monitor_bin = {};
};

// The built-in scenario: transactions "upload" (connect, login, STOR 1 KiB
// over EPSV, quit) and "download" (connect, login, RETR 1 KiB over EPSV with
// its size checked, quit), weight 1:1, closed model stepped 1, 2, 4, ...
// `max_users` users, each held `stage_hold`.
std::string DefaultScenarioYaml(std::chrono::nanoseconds stage_hold, int max_users);

// Runs everything; returns the process exit status: 0 completed, 1 failed
// (a child died or a step failed; the report says why), 3 loadgen's
// thresholds failed, 130 interrupted (results still written).
int RunPerf(const PerfRunOptions& options);

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_RUN_PERF_RUN_H_
