// The `loadgen run` command: the options scripts use, the one-line scenario
// they build without a file, and the exit statuses (`loadgen agent` is in
// agent.h).
//
//   loadgen run SCENARIO [--target URL] [--summary-json FILE] [--out DIR]
//   loadgen run --target ftp://user:pass@127.0.0.1:2121 --transaction upload:1KiB
//               --users 64 --duration 10s
//   loadgen run --target http://127.0.0.1:8080/ --connections 64 --threads 2 --duration 10s
//   loadgen run --target http://127.0.0.1:8080/ --rate 1000 --duration 30s
//
// Usage (main.cc):
//   RunOptions options;
//   AddRunOptions(app.AddCommand("run", "...", [&] { return RunCommand(options); }), options);
#ifndef TPSLAB_LOADGEN_RUN_COMMAND_H_
#define TPSLAB_LOADGEN_RUN_COMMAND_H_

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/proto/scenario.pb.h"

namespace tpslab::loadgen {

// Exit statuses of `loadgen run` (0, 1 and 2 as every tpslab binary).
inline constexpr int kExitThresholdsFailed = 3;  // The run completed; a threshold failed.
inline constexpr int kExitUnreachable = 4;       // A target could not be reached at the start.
inline constexpr int kExitInterrupted = 130;     // Stopped by SIGINT/SIGTERM; results written.

struct RunOptions {
  // Scenario file (YAML or JSON). Default empty: the one-line form.
  std::string scenario;
  // Target URL (no '#' fragment); with a scenario it replaces the first
  // target's URL, keeping that target's TLS options when the new URL is
  // ftps:// or https://. Default empty.
  std::string target;
  // JSON summary path. Default empty (see --out).
  std::string summary_json;
  // Output directory for summary.json, timeseries.csv, *.hlog. Default empty.
  std::string out_dir;
  // HOST:PORT of a coordinator to stream intervals to. Default empty.
  std::string coordinator;
  // Shared secret for the coordinator. Default empty.
  std::string token;
  // CA certificate (PEM) that signs the coordinator's TLS certificate; empty:
  // plaintext gRPC.
  std::string coordinator_ca;
  // One-line form: transactions "upload:1KiB", "download:PATH", "list", ...
  // Default: none (HTTP targets get a GET of the URL's path).
  std::vector<std::string> transactions;
  // One-line form, closed model: virtual users (alias --connections).
  // Default 1.
  uint64_t users = 1;
  // One-line form, open model: arrivals per second. Default 0: closed model.
  double rate = 0;
  // One-line form, open model: cap on concurrent transactions. Default 0:
  // max(users, 1000).
  uint32_t max_concurrency = 0;
  // One-line form: hold time at full load. Default 10 s.
  std::chrono::nanoseconds duration = std::chrono::seconds(10);
  // One-line form: linear ramp before the hold. Default 0 s.
  std::chrono::nanoseconds ramp{0};
  // One-line form: per-I/O timeout. Default 10 s.
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);
  // One-line form: reporting interval. Default 1 s.
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
  // One-line form (added to a scenario's own): thresholds. Default none.
  std::vector<std::string> thresholds;
  // Engine threads. Default 0: one per hardware thread.
  std::size_t threads = 0;
  // Progress lines on stderr: "auto" (when a terminal), "on", "off".
  std::string progress = "auto";
  // Do not verify the certificates of ftps:// and https:// targets (all of
  // a scenario's, or the one-line target). Default false: verify.
  bool insecure = false;
};

// Adds the `run` options to `command`.
void AddRunOptions(CLI::App& command, RunOptions& options);

// The scenario a run uses: the file (with --target applied) or the one-line
// form. Errors are ready to print (file:line:column: field: message, or the
// option that was wrong).
absl::StatusOr<v1::Scenario> BuildScenario(const RunOptions& options);

// Runs `loadgen run`; returns the exit status.
int RunCommand(const RunOptions& options);

}  // namespace tpslab::loadgen

#endif  // TPSLAB_LOADGEN_RUN_COMMAND_H_
