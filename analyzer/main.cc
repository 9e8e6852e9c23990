// analyzer: the tpslab coordinator. A thin layer over CoordinatorService
// (gRPC ingest), RunStore (SQLite), Api and HttpServer (/metrics, JSON API):
//
//   analyzer serve --grpc 127.0.0.1:0 --http 127.0.0.1:0 --db runs.db --token T
//     prints "grpc on HOST:PORT" and "http on HOST:PORT" on stdout, then
//     serves until SIGINT/SIGTERM.
//   analyzer run [SCENARIO] [--target URL --watch-process NAME] ...
//     the one-command perf run (analyzer/run/perf_run.h); `./bazelw run
//     //:perf` runs it with the binaries built beside it.
//   analyzer report RUN_FOLDER
//     analyzes a stored run again and rewrites its report files.
//   analyzer compare BASELINE CANDIDATE
//     regression verdict between two runs; exit status 3 on a regression.
//   analyzer pcap FILE [--json | --fields F,...]
//     FTP and TCP analysis of a capture (analyzer/pcap/, docs/pcap.md).
//   analyzer capture -i IFACE [FILTER] [--write FILE] [--ring N --size MB]
//     live capture to a file or a ring of files.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "analyzer/api.h"
#include "analyzer/coordinator_service.h"
#include "analyzer/http_server.h"
#include "analyzer/pcap/capture_command.h"
#include "analyzer/pcap/pcap_command.h"
#include "analyzer/run/perf_run.h"
#include "analyzer/run/report_command.h"
#include "analyzer/run_store.h"
#include "common/app/cli.h"
#include "common/net/io_context_pool.h"
#include "common/net/tcp.h"
#include "common/parse/url.h"
#include "spdlog/spdlog.h"

namespace tpslab::analyzer {
namespace {

struct ServeOptions {
  // gRPC endpoint for agents. Default 127.0.0.1:7070.
  parse::Endpoint grpc{"127.0.0.1", 7070};
  // HTTP endpoint for /metrics and the JSON API. Default 127.0.0.1:8080.
  parse::Endpoint http{"127.0.0.1", 8080};
  // SQLite database file. Default analyzer.db in the working directory.
  std::string db = "analyzer.db";
  // Shared secret agents must present. Default empty: none.
  std::string token;
  // HTTP threads. Default 2.
  std::size_t http_threads = 2;
  // PEM certificate chain and private key: gRPC over TLS. Default empty:
  // plaintext.
  std::string tls_cert;
  std::string tls_key;
  // How long after its expected end a dispatched run waits for its agents'
  // RunEnd before it fails (CoordinatorOptions::run_end_grace). Default
  // 60 s; 0: no deadline.
  std::chrono::nanoseconds run_end_grace = std::chrono::seconds(60);
};

// The gRPC credentials `options` ask for; errors name the file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const ServeOptions& options) {
  if (options.tls_cert.empty() && options.tls_key.empty()) {
    return grpc::InsecureServerCredentials();
  }
  if (options.tls_cert.empty() || options.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  for (auto [path, pem] : {std::pair{&options.tls_cert, &pair.cert_chain},
                           std::pair{&options.tls_key, &pair.private_key}}) {
    std::ifstream in(*path);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in || text.str().find("-----BEGIN") == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read a PEM file at ", *path));
    }
    *pem = text.str();
  }
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(ssl);
}

int Serve(const ServeOptions& options) {
  absl::StatusOr<std::unique_ptr<RunStore>> store = RunStore::Open(options.db);
  if (!store.ok()) {
    spdlog::error("{}", std::string(store.status().message()));
    return app::kExitFailure;
  }
  LiveLoad live;
  CoordinatorOptions coordinator_options;
  coordinator_options.token = options.token;
  coordinator_options.run_end_grace = options.run_end_grace;
  coordinator_options.ingest.on_stored = live.Feeder();
  CoordinatorService service(**store, coordinator_options);

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = ServerCredentials(options);
  if (!credentials.ok()) {
    spdlog::error("{}", std::string(credentials.status().message()));
    return app::kExitUsage;
  }
  const std::string grpc_host = options.grpc.host.empty() ? "0.0.0.0" : options.grpc.host;
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(net::FormatHostPort(grpc_host, options.grpc.port), *credentials,
                           &grpc_port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    spdlog::error("cannot listen for gRPC on {}",
                  net::FormatHostPort(grpc_host, options.grpc.port));
    return app::kExitFailure;
  }

  net::IoContextPool pool(options.http_threads);
  Api api(**store, service, live);
  api.set_token(options.token);
  HttpServer http(pool, [&api](const HttpRequest& request) { return api.Handle(request); });
  absl::StatusOr<boost::asio::ip::tcp::endpoint> http_at =
      http.Listen(options.http.host, options.http.port);
  if (!http_at.ok()) {
    spdlog::error("http: {}", std::string(http_at.status().message()));
    server->Shutdown();
    return app::kExitFailure;
  }
  // Logged before the addresses are printed: a script that has seen them
  // finds this line too.
  spdlog::info("database {}; {}; gRPC {}", options.db,
               options.token.empty() ? "no token: any agent may connect" : "token required",
               options.tls_cert.empty() ? "in plaintext" : "over TLS");
  std::printf("grpc on %s\n",
              net::FormatHostPort(grpc_host, static_cast<uint16_t>(grpc_port)).c_str());
  std::printf("http on %s\n", net::FormatEndpoint(*http_at).c_str());
  std::fflush(stdout);

  pool.HandleSignals([&](int) {
    http.Stop();
    pool.Stop();
  });
  pool.Run();
  spdlog::info("stopping: closing agent streams");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  return app::kExitOk;
}

}  // namespace
}  // namespace tpslab::analyzer

int main(int argc, char** argv) {
  using namespace tpslab;
  app::App app("analyzer", "tpslab coordinator: agent ingest, run store, metrics and API", "0.1.0");
  analyzer::ServeOptions serve;
  CLI::App& command =
      app.AddCommand("serve", "Run the coordinator", [&] { return analyzer::Serve(serve); });
  app::AddEndpoint(command, "--grpc", serve.grpc, "gRPC address for agents (port 0: any)");
  app::AddEndpoint(command, "--http", serve.http,
                   "HTTP address for /metrics and /api (port 0: any)");
  command.add_option("--db", serve.db, "SQLite database file")->capture_default_str();
  command.add_option("--token", serve.token, "Shared secret agents must present");
  command.add_option("--http-threads", serve.http_threads, "HTTP threads")->capture_default_str();
  command.add_option("--tls-cert", serve.tls_cert, "PEM certificate chain: gRPC over TLS");
  command.add_option("--tls-key", serve.tls_key, "PEM private key for --tls-cert");
  app::AddDuration(command, "--run-end-grace", serve.run_end_grace,
                   "A dispatched run fails when its agents have not all reported their end "
                   "this long after its expected end (0s: never)");

  analyzer::pcap::AddPcapCommand(app);
  analyzer::pcap::AddCaptureCommand(app);

  analyzer::PerfRunOptions perf;
  CLI::App& run = app.AddCommand("run",
                                 "The full-stack perf run: ftpd, monitor and loadgen on "
                                 "loopback, analyzed into results/<run-id>/",
                                 [&] { return analyzer::RunPerf(perf); });
  run.add_option("scenario", perf.scenario,
                 "loadgen scenario file (default: built-in stepped FTP upload/download)");
  run.add_option("--target", perf.target,
                 "Measure this server instead of starting ftpd (ftp://user:pass@host:port/)");
  run.add_option("--watch-process", perf.watch_processes,
                 "Server process to watch with --target: name or command-line regex (repeatable)");
  run.add_option("--scrape", perf.scrapes, "Extra Prometheus endpoint to scrape (repeatable)");
  run.add_option("--server-pid", perf.watch_pids,
                 "Server process id to watch with --target (repeatable)");
  run.add_option("--results,--out", perf.results_dir,
                 "Folder for results/<run-id> (default: ./results where the command ran)");
  run.add_option("--name", perf.name, "Run name shown in the report");
  app::AddDuration(run, "--stage", perf.stage_hold, "Built-in scenario: time at each user count");
  run.add_option("--max-users", perf.max_users,
                 "Built-in scenario: last user count (1, 2, 4, ... up to it)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  run.add_option("--slo-p99-ms", perf.slo_p99_ms, "p99 objective for the highest TPS under SLO")
      ->capture_default_str();
  app::AddDuration(run, "--interval", perf.interval, "Monitor sampling interval");
  run.add_option("--loadgen-threads", perf.loadgen_threads, "loadgen threads (0: one per core)");
  run.add_option("--ftpd-threads", perf.ftpd_threads, "ftpd threads (0: one per core)");
  app::AddEndpoint(run, "--dashboard", perf.dashboard, "Live dashboard address (port 0: any)");
  run.add_flag("--capture", perf.capture,
               "Record the run's loopback traffic to capture.pcap and add a network section "
               "(needs root or CAP_NET_RAW)");
  run.add_option("--capture-filter", perf.capture_filter,
                 "BPF filter of --capture (default: the server's control and passive ports)");
  run.add_option("--capture-max-mb", perf.capture_max_mb, "Size limit of capture.pcap in MB")
      ->capture_default_str();
  run.add_option("--ftpd", perf.ftpd_bin, "ftpd binary (default: beside this one, then PATH)");
  run.add_option("--loadgen", perf.loadgen_bin, "loadgen binary");
  run.add_option("--monitor", perf.monitor_bin, "monitor binary");

  analyzer::ReportOptions report;
  CLI::App& report_command =
      app.AddCommand("report", "Analyze a stored run again and rewrite its report files",
                     [&] { return analyzer::ReportCommand(report); });
  report_command.add_option("run", report.run, "Run folder (results/<run-id>) or its run.db")
      ->required();
  report_command.add_option("--slo-p99-ms", report.slo_p99_ms, "p99 objective, ms")
      ->capture_default_str();

  analyzer::CompareCommandOptions compare;
  CLI::App& compare_command =
      app.AddCommand("compare", "Regression verdict between two runs (exit status 3: regressed)",
                     [&] { return analyzer::CompareCommand(compare); });
  compare_command.add_option("baseline", compare.baseline, "Run folder or summary.json")
      ->required();
  compare_command.add_option("candidate", compare.candidate, "Run folder or summary.json")
      ->required();
  compare_command
      .add_option("--max-tps-drop", compare.max_tps_drop_pct,
                  "Regression when TPS drops more than this, %")
      ->capture_default_str();
  compare_command
      .add_option("--max-p99-rise", compare.max_p99_rise_pct,
                  "Regression when p99 rises more than this, %")
      ->capture_default_str();
  compare_command
      .add_option("--max-error-rise", compare.max_error_rise_pp,
                  "Regression when the error rate rises more than this, points")
      ->capture_default_str();
  compare_command
      .add_option_function<double>(
          "--max-regression",
          [&compare](double pct) {
            compare.max_tps_drop_pct = pct;
            compare.max_p99_rise_pct = pct;
          },
          "Regression when TPS drops or p99 rises more than this, % (sets both)")
      ->check(CLI::PositiveNumber);
  compare_command.add_flag("--json", compare.json, "Print the verdict as JSON");
  return app.Run(argc, argv);
}
