#include "analyzer/run/perf_run.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "analyzer/api.h"
#include "analyzer/coordinator_service.h"
#include "analyzer/http_server.h"
#include "analyzer/run/child_process.h"
#include "analyzer/run/network_section.h"
#include "analyzer/run/report_files.h"
#include "analyzer/run_analysis.h"
#include "analyzer/run_store.h"
#include "common/app/cli.h"
#include "common/net/io_context_pool.h"
#include "common/net/tcp.h"
#include "common/parse/duration.h"
#include "spdlog/spdlog.h"

namespace tpslab::analyzer {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

// Exit statuses (perf_run.h).
constexpr int kExitCompleted = 0;
constexpr int kExitFailed = 1;
constexpr int kExitThresholds = 3;
constexpr int kExitInterrupted = 130;

// loadgen's exit statuses (docs/loadgen.md).
constexpr int kLoadgenThresholds = 3;
constexpr int kLoadgenUnreachable = 4;
constexpr int kLoadgenInterrupted = 130;

std::atomic<int> g_signal{0};
extern "C" void RecordSignal(int signal) { g_signal.store(signal); }

// SIGINT/SIGTERM only set a flag that the supervision loop reads; the
// children live in their own process groups, so the terminal's Ctrl-C
// reaches the analyzer alone and it stops them in order.
void InstallSignalHandlers() {
  struct sigaction action = {};
  action.sa_handler = RecordSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

std::string RandomHex(size_t bytes) {
  std::random_device random;
  std::string out;
  for (size_t i = 0; i < bytes; ++i) absl::StrAppendFormat(&out, "%02x", random() & 0xff);
  return out;
}

std::string Timestamp(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm tm = {};
  localtime_r(&now, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, format, &tm);
  return buffer;
}

// The directory the user ran the command from: `bazel run` changes into the
// runfiles tree and says where the user was in BUILD_WORKING_DIRECTORY.
fs::path InvocationDirectory() {
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return fs::current_path();
}

// A binary of this repository: the flag, else beside this analyzer
// (bazel-bin/analyzer/analyzer -> bazel-bin/ftpd/ftpd), else on PATH.
absl::StatusOr<std::string> FindBinary(const std::string& flag, const std::string& name) {
  if (!flag.empty()) {
    if (::access(flag.c_str(), X_OK) != 0) {
      return absl::NotFoundError(
          absl::StrCat("--", name, " ", flag, ": not an executable file: ", std::strerror(errno)));
    }
    return flag;
  }
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path sibling = self.parent_path().parent_path() / name / name;
    if (::access(sibling.c_str(), X_OK) == 0) return sibling.string();
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::string_view rest = path;
    while (!rest.empty()) {
      const size_t colon = rest.find(':');
      const fs::path candidate = fs::path(rest.substr(0, colon)) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
      rest = colon == std::string_view::npos ? "" : rest.substr(colon + 1);
    }
  }
  return absl::NotFoundError(absl::StrCat("cannot find the ", name,
                                          " binary: build it (./bazelw build //", name,
                                          ") or pass --", name, " PATH"));
}

// A fresh results/<run-id> folder; a second run in the same second gets a
// suffix.
absl::StatusOr<std::pair<std::string, fs::path>> CreateRunFolder(const fs::path& parent,
                                                                 const std::string& label) {
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create the results folder ", parent.string(), ": ", ec.message()));
  }
  const std::string base = absl::StrCat(Timestamp("%Y%m%d-%H%M%S"), "-", label);
  for (int attempt = 1; attempt < 100; ++attempt) {
    const std::string id = attempt == 1 ? base : absl::StrCat(base, "-", attempt);
    const fs::path dir = parent / id;
    if (fs::create_directory(dir, ec)) {
      fs::create_directory(dir / "logs", ec);
      return std::make_pair(id, dir);
    }
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
    }
  }
  return absl::AlreadyExistsError(
      absl::StrCat("too many runs named ", base, " in ", parent.string()));
}

// The temporary FTP tree: tmpfs when available (disk-backed /tmp halves
// small-file rates), removed when the run ends.
class TempTree {
 public:
  static absl::StatusOr<TempTree> Create() {
    const std::array<const char*, 3> bases = {"/dev/shm", std::getenv("TMPDIR"), "/tmp"};
    for (const char* base : bases) {
      if (base == nullptr || ::access(base, W_OK) != 0) continue;
      std::string pattern = absl::StrCat(base, "/tpslab-perf-XXXXXX");
      if (::mkdtemp(pattern.data()) != nullptr) return TempTree(pattern);
    }
    return absl::PermissionDeniedError(
        "cannot create a temporary directory in /dev/shm, $TMPDIR or /tmp");
  }
  TempTree(TempTree&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;
  ~TempTree() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit TempTree(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

absl::Status WriteFile(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

// The started ftpd and what clients need to reach it.
struct StartedFtpd {
  ChildProcess process;
  std::string target;   // ftp://perf:PASSWORD@127.0.0.1:PORT/
  std::string metrics;  // http://127.0.0.1:ADMIN/metrics
  std::string port;
};

// `passive_ports` "MIN-MAX", or empty for ftpd's default.
absl::StatusOr<StartedFtpd> StartFtpd(const std::string& ftpd, const TempTree& tree,
                                      const fs::path& logs, int threads,
                                      const std::string& passive_ports) {
  const fs::path root = tree.path() / "root";
  std::error_code ec;
  fs::create_directories(root / "pub", ec);
  fs::create_directories(root / "upload", ec);
  if (ec)
    return absl::InternalError(absl::StrCat("cannot create ", root.string(), ": ", ec.message()));
  std::string file(1024, '\0');
  std::mt19937 bytes(1024);
  for (char& c : file) c = static_cast<char>(bytes() & 0xff);
  if (absl::Status s = WriteFile(root / "pub" / "file-1k.bin", file); !s.ok()) return s;

  // A generated account, hashed by ftpd itself (the password goes over a
  // pipe, never on a command line).
  const std::string password = RandomHex(12);
  const fs::path users = tree.path() / "users";
  absl::StatusOr<ChildProcess> passwd = ChildProcess::Spawn(
      {ftpd, "passwd", "--users", users.string(), "perf", "--perms", "all"},
      {.log_file = (logs / "ftpd-passwd.log").string(), .stdin_data = password + "\n"});
  if (!passwd.ok()) return passwd.status();
  const std::optional<ExitStatus> hashed = passwd->Wait(30s);
  if (!hashed || !hashed->ok()) {
    return absl::InternalError(absl::StrCat("ftpd passwd failed (",
                                            hashed ? hashed->Describe() : "timed out",
                                            "): ", passwd->LogTail()));
  }

  std::vector<std::string> argv = {ftpd, "--listen", "127.0.0.1:0", "--root", root.string(),
                                   "--users", users.string(), "--admin", "127.0.0.1:0", "--threads",
                                   std::to_string(threads),
                                   // Every virtual user comes from 127.0.0.1.
                                   "--max-sessions-per-ip", "100000"};
  if (!passive_ports.empty()) argv.insert(argv.end(), {"--passive-ports", passive_ports});
  absl::StatusOr<ChildProcess> process =
      ChildProcess::Spawn(std::move(argv), {.log_file = (logs / "ftpd.log").string()});
  if (!process.ok()) return process.status();
  absl::StatusOr<std::string> listening = process->WaitForLine("listening on ", 15s);
  if (!listening.ok()) return listening.status();
  absl::StatusOr<std::string> admin = process->WaitForLine("admin on ", 5s);
  if (!admin.ok()) return admin.status();
  const std::string port = listening->substr(listening->rfind(':') + 1);
  return StartedFtpd{.process = *std::move(process),
                     .target = absl::StrCat("ftp://perf:", password, "@127.0.0.1:", port, "/"),
                     .metrics = absl::StrCat("http://", *admin, "/metrics"),
                     .port = port};
}

// Waits until an agent of `kind` streams to the coordinator, or the child
// ends, or `timeout` passes.
absl::Status WaitForAgent(CoordinatorService& service, v1::AgentKind kind, ChildProcess& child,
                          milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const AgentHealth& health : service.Health()) {
      if (health.agent.kind == kind && health.connected) return absl::OkStatus();
    }
    if (std::optional<ExitStatus> ended = child.Poll()) {
      return absl::UnavailableError(absl::StrCat(child.name(), " ended (", ended->Describe(),
                                                 ") before streaming to the coordinator:\n",
                                                 child.LogTail()));
    }
    std::this_thread::sleep_for(50ms);
  }
  return absl::DeadlineExceededError(absl::StrCat(
      child.name(), " did not connect to the coordinator within ",
      std::chrono::duration_cast<std::chrono::seconds>(timeout).count(), " s:\n", child.LogTail()));
}

std::string Hostname(const std::string& url) {
  absl::StatusOr<parse::Url> parsed = parse::ParseUrl(url);
  return parsed.ok() ? parsed->host : url;
}

// The URL without its password, for messages and the report.
std::string Redact(const std::string& url) {
  absl::StatusOr<parse::Url> parsed = parse::ParseUrl(url);
  return parsed.ok() ? parsed->Redacted() : "(unparsable URL)";
}

// What ended the run, for the state, the exit status and a finding.
struct Outcome {
  v1::RunState state = v1::RUN_STATE_COMPLETED;
  int exit_status = kExitCompleted;
  std::string failure = {};  // Empty when nothing went wrong.
};

// The coordinator inside this process: store, gRPC ingest, live dashboard.
class EmbeddedCoordinator {
 public:
  static absl::StatusOr<std::unique_ptr<EmbeddedCoordinator>> Start(const fs::path& db,
                                                                    const std::string& token,
                                                                    const parse::Endpoint& http) {
    absl::StatusOr<std::unique_ptr<RunStore>> store = RunStore::Open(db.string());
    if (!store.ok()) return store.status();
    auto self = std::unique_ptr<EmbeddedCoordinator>(new EmbeddedCoordinator(*std::move(store)));
    CoordinatorOptions options;
    options.token = token;
    options.ingest.on_stored = self->live_.Feeder();
    self->service_ = std::make_unique<CoordinatorService>(*self->store_, options);

    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &self->grpc_port_);
    builder.RegisterService(self->service_.get());
    self->grpc_ = builder.BuildAndStart();
    if (self->grpc_ == nullptr || self->grpc_port_ == 0) {
      return absl::UnavailableError("cannot listen for gRPC on 127.0.0.1");
    }
    self->api_ = std::make_unique<Api>(*self->store_, *self->service_, self->live_);
    self->http_ = std::make_unique<HttpServer>(
        self->pool_, [api = self->api_.get()](const HttpRequest& r) { return api->Handle(r); });
    absl::StatusOr<boost::asio::ip::tcp::endpoint> at = self->http_->Listen(http.host, http.port);
    if (!at.ok()) return at.status();
    self->http_endpoint_ = net::FormatEndpoint(*at);
    self->http_thread_ = std::thread([pool = &self->pool_] { pool->Run(); });
    return self;
  }

  ~EmbeddedCoordinator() {
    if (http_) http_->Stop();
    pool_.Stop();
    if (http_thread_.joinable()) http_thread_.join();
    if (grpc_) {
      grpc_->Shutdown(std::chrono::system_clock::now() + 2s);
      grpc_->Wait();
    }
  }

  RunStore& store() { return *store_; }
  CoordinatorService& service() { return *service_; }
  Api& api() { return *api_; }
  std::string grpc_address() const { return absl::StrCat("127.0.0.1:", grpc_port_); }
  const std::string& http_address() const { return http_endpoint_; }

 private:
  explicit EmbeddedCoordinator(std::unique_ptr<RunStore> store)
      : store_(std::move(store)), pool_(1) {}

  std::unique_ptr<RunStore> store_;
  LiveLoad live_;
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<grpc::Server> grpc_;
  int grpc_port_ = 0;
  net::IoContextPool pool_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> http_;
  std::string http_endpoint_;
  std::thread http_thread_;
};

// Passive data ports for ftpd: 1000 ports below the kernel's usual
// ephemeral range (32768-60999). On loopback loadgen's own connections take
// ephemeral ports, and its closed upload connections sit in TIME_WAIT on
// them without SO_REUSEADDR, which blocks ftpd from binding those ports;
// outside that range the two never meet (and a capture filter matches no
// client port). The base is random so that parallel runs rarely share it.
std::pair<int, int> LoopbackPassivePorts() {
  std::random_device random;
  const int base = 20000 + static_cast<int>(random() % 12) * 1000;
  return {base, base + 999};
}

void PrintSummary(const nlohmann::json& report) {
  auto number = [](const nlohmann::json& j, const char* key) -> std::optional<double> {
    if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return std::nullopt;
    return j[key].get<double>();
  };
  std::printf("\n%-6s %8s %10s %9s %9s %8s %9s\n", "stage", "users", "tx/s", "p50 ms", "p99 ms",
              "errors", "srv CPU");
  for (const nlohmann::json& stage : report.value("stages", nlohmann::json::array())) {
    std::printf("%-6d %8.0f %10.0f %9.2f %9.2f %8.0f %8.0f%%\n", stage.value("stage", 0),
                number(stage, "load").value_or(0), number(stage, "tps").value_or(0),
                number(stage, "p50_ms").value_or(0), number(stage, "p99_ms").value_or(0),
                number(stage, "errors").value_or(0), 100 * number(stage, "server_cpu").value_or(0));
  }
  const nlohmann::json& knee = report.value("knee", nlohmann::json::object());
  if (knee.value("found", false)) {
    std::printf("knee: %.0f tx/s at %.0f users (p99 %.2f ms)\n", number(knee, "tps").value_or(0),
                number(knee, "load").value_or(0), number(knee, "p99_ms").value_or(0));
  }
  const nlohmann::json& slo = report.value("slo", nlohmann::json::object());
  if (std::optional<double> max_tps = number(slo, "max_tps")) {
    std::printf("highest TPS with p99 under %.0f ms: %.0f tx/s at %.0f users\n",
                number(slo, "p99_ms").value_or(0), *max_tps, number(slo, "at_load").value_or(0));
  }
  const nlohmann::json& usl = report.value("usl", nlohmann::json::object());
  if (usl.value("ok", false)) {
    std::printf("USL: sigma %.4f, kappa %.6f, R^2 %.3f: ", number(usl, "sigma").value_or(0),
                number(usl, "kappa").value_or(0), number(usl, "r2").value_or(0));
    if (std::optional<double> peak_n = number(usl, "peak_n")) {
      std::printf("peak %.0f tx/s at N* = %.1f users\n", number(usl, "peak_tps").value_or(0),
                  *peak_n);
    } else {
      std::printf("%s\n", usl.value("message", std::string("no peak")).c_str());
    }
  }
  const nlohmann::json& verdict = report.value("verdict", nlohmann::json::object());
  if (verdict.contains("summary")) {
    std::printf("verdict: %s\n", verdict.value("summary", std::string()).c_str());
  }
}

}  // namespace

std::string DefaultScenarioYaml(std::chrono::nanoseconds stage_hold, int max_users) {
  std::string stages;
  for (int users = 1;; users *= 2) {
    const int step = std::min(users, max_users);
    absl::StrAppend(&stages, "    - {users: ", step,
                    ", ramp: 0s, hold: ", parse::FormatDuration(stage_hold), "}\n");
    if (step >= max_users) break;
  }
  return absl::StrCat(
      "# tpslab's built-in perf run: 1 KiB uploads and downloads, the number of\n"
      "# users doubled at each stage until throughput stops growing (the knee).\n"
      "name: ftp-knee\n"
      "interval: 1s\n"
      "targets:\n"
      "  - name: ftp\n"
      "    url: ftp://127.0.0.1:21/\n"
      "    timeout: 10s\n"
      "transactions:\n"
      "  - name: upload\n"
      "    weight: 1\n"
      "    steps:\n"
      "      - connect\n"
      "      - login\n"
      "      - upload: {path: \"upload/${vu}.bin\", size: 1KiB, mode: epsv}\n"
      "      - quit\n"
      "  - name: download\n"
      "    weight: 1\n"
      "    steps:\n"
      "      - connect\n"
      "      - login\n"
      "      - download: {path: pub/file-1k.bin, expect_size: 1KiB, mode: epsv}\n"
      "      - quit\n"
      "load:\n"
      "  closed:\n",
      stages,
      "thresholds:\n"
      "  - error_rate < 1%\n");
}

int RunPerf(const PerfRunOptions& options) {
  const bool own_server = options.target.empty();
  if (options.scenario.empty() && options.stage_hold < std::chrono::seconds(2)) {
    // loadgen reports every second and labels an interval with the stage it
    // ends in: a stage needs two intervals to be measured at all.
    std::cerr << "analyzer run: error: --stage " << parse::FormatDuration(options.stage_hold)
              << ": each stage must last at least 2s (loadgen reports every 1s)\n";
    return app::kExitUsage;
  }
  InstallSignalHandlers();

  // Binaries first: a missing one is a setup error, before anything starts.
  absl::StatusOr<std::string> loadgen_bin = FindBinary(options.loadgen_bin, "loadgen");
  absl::StatusOr<std::string> monitor_bin = FindBinary(options.monitor_bin, "monitor");
  absl::StatusOr<std::string> ftpd_bin =
      own_server ? FindBinary(options.ftpd_bin, "ftpd") : absl::StatusOr<std::string>("");
  for (const absl::StatusOr<std::string>* bin : {&loadgen_bin, &monitor_bin, &ftpd_bin}) {
    if (!bin->ok()) {
      std::cerr << "analyzer run: error: " << bin->status().message() << "\n";
      return kExitFailed;
    }
  }
  // The capture is this binary's `capture` subcommand.
  std::string self_bin;
  if (options.capture) {
    std::error_code ec;
    self_bin = fs::read_symlink("/proc/self/exe", ec).string();
    if (ec) {
      std::cerr << "analyzer run: error: --capture: cannot find this binary: " << ec.message()
                << "\n";
      return kExitFailed;
    }
  }

  const std::string server_label = own_server ? "ftpd" : Hostname(options.target);
  const fs::path parent = options.results_dir.empty() ? InvocationDirectory() / "results"
                                                      : fs::path(options.results_dir);
  absl::StatusOr<std::pair<std::string, fs::path>> folder = CreateRunFolder(parent, server_label);
  if (!folder.ok()) {
    std::cerr << "analyzer run: error: " << folder.status().message() << "\n";
    return kExitFailed;
  }
  const auto& [run_id, dir] = *folder;
  const fs::path logs = dir / "logs";

  // The scenario loadgen runs, kept with the results.
  fs::path scenario = options.scenario;
  if (scenario.empty()) {
    scenario = dir / "scenario.yaml";
    if (absl::Status s =
            WriteFile(scenario, DefaultScenarioYaml(options.stage_hold, options.max_users));
        !s.ok()) {
      std::cerr << "analyzer run: error: " << s.message() << "\n";
      return kExitFailed;
    }
  } else {
    std::error_code ec;
    fs::copy_file(scenario, dir / scenario.filename(), ec);
  }

  const std::string token = RandomHex(16);
  absl::StatusOr<std::unique_ptr<EmbeddedCoordinator>> coordinator =
      EmbeddedCoordinator::Start(dir / "run.db", token, options.dashboard);
  if (!coordinator.ok()) {
    std::cerr << "analyzer run: error: coordinator: " << coordinator.status().message() << "\n";
    return kExitFailed;
  }
  CoordinatorService& service = (*coordinator)->service();
  AnalysisOptions live_report;
  live_report.slo_p99_ms = options.slo_p99_ms;
  live_report.server = server_label;
  if (!options.target.empty()) live_report.target = Redact(options.target);
  (*coordinator)->api().set_report_options(live_report);
  (*coordinator)->api().set_token(token);
  RunStore& store = (*coordinator)->store();
  std::printf("run %s: results in %s\n", run_id.c_str(), dir.c_str());
  std::printf("dashboard: http://%s/runs/%s\n", (*coordinator)->http_address().c_str(),
              run_id.c_str());
  std::fflush(stdout);

  Outcome outcome;
  std::optional<TempTree> tree;
  std::optional<StartedFtpd> ftpd;
  std::optional<ChildProcess> monitor;
  std::optional<ChildProcess> capture;
  std::string capture_filter = options.capture_filter;
  CaptureSettings capture_settings;
  uint16_t control_port = 0;
  std::string target = options.target;
  auto fail = [&](std::string why) {
    outcome.state = v1::RUN_STATE_FAILED;
    outcome.exit_status = kExitFailed;
    outcome.failure = std::move(why);
    std::cerr << "analyzer run: error: " << outcome.failure << "\n";
  };

  if (absl::Status s = service.StartRun(
          {.run_id = run_id, .name = options.name.empty() ? "default" : options.name});
      !s.ok()) {
    std::cerr << "analyzer run: error: " << s.message() << "\n";
    return kExitFailed;
  }

  // 1. The server.
  if (own_server) {
    absl::StatusOr<TempTree> created = TempTree::Create();
    if (!created.ok()) {
      fail(std::string(created.status().message()));
    } else {
      tree.emplace(*std::move(created));
      const std::pair<int, int> passive = LoopbackPassivePorts();
      const std::string passive_ports = absl::StrCat(passive.first, "-", passive.second);
      absl::StatusOr<StartedFtpd> started =
          StartFtpd(*ftpd_bin, *tree, logs, options.ftpd_threads, passive_ports);
      if (!started.ok()) {
        fail(absl::StrCat("ftpd: ", started.status().message()));
      } else {
        ftpd.emplace(*std::move(started));
        target = ftpd->target;
        if (options.capture && capture_filter.empty()) {
          capture_filter = absl::StrCat("tcp port ", ftpd->port, " or tcp portrange ",
                                        passive.first, "-", passive.second);
        }
        std::printf("ftpd (pid %d) on 127.0.0.1:%s, root %s\n", ftpd->process.pid(),
                    ftpd->port.c_str(), (tree->path() / "root").c_str());
        std::fflush(stdout);
      }
    }
  }

  // 2. The monitor.
  if (outcome.failure.empty()) {
    std::vector<std::string> argv = {*monitor_bin,
                                     "--interval",
                                     parse::FormatDuration(options.interval),
                                     "--coordinator",
                                     (*coordinator)->grpc_address(),
                                     "--token",
                                     token,
                                     "--children",
                                     "--check-interval",
                                     "10s",
                                     "--check",
                                     "load=check_load -r -w 0.9,0.9,0.9 -c 1.5,1.5,1.5"};
    if (ftpd) {
      argv.insert(argv.end(),
                  {"--pid", std::to_string(ftpd->process.pid()), "--scrape", ftpd->metrics,
                   "--check", absl::StrCat("ftp=check_ftp -H 127.0.0.1 -p ", ftpd->port)});
    }
    for (const std::string& process : options.watch_processes) {
      argv.insert(argv.end(), {"--process", process});
    }
    for (const int pid : options.watch_pids) {
      argv.insert(argv.end(), {"--pid", std::to_string(pid)});
    }
    for (const std::string& url : options.scrapes) argv.insert(argv.end(), {"--scrape", url});
    absl::StatusOr<ChildProcess> started =
        ChildProcess::Spawn(std::move(argv), {.log_file = (logs / "monitor.log").string()});
    if (!started.ok()) {
      fail(absl::StrCat("monitor: ", started.status().message()));
    } else {
      monitor.emplace(*std::move(started));
      if (absl::Status s = WaitForAgent(service, v1::AGENT_KIND_MONITOR, *monitor, 15s); !s.ok()) {
        fail(std::string(s.message()));
      }
    }
  }

  // 2b. The capture, running before the load starts.
  if (outcome.failure.empty() && options.capture) {
    if (absl::StatusOr<parse::Url> url = parse::ParseUrl(target); url.ok()) {
      control_port = static_cast<uint16_t>(url->port == 0 ? 21 : url->port);
    }
    if (capture_filter.empty()) capture_filter = absl::StrCat("tcp port ", control_port);
    capture_settings = {.filter = capture_filter,
                        .snaplen = options.capture_snaplen,
                        .max_mb = options.capture_max_mb,
                        .control_port = control_port};
    absl::StatusOr<ChildProcess> started = ChildProcess::Spawn(
        {self_bin, "capture", "-i", "lo", capture_filter, "--write", (dir / kCaptureFile).string(),
         "--snaplen", std::to_string(options.capture_snaplen), "--max-size",
         std::to_string(options.capture_max_mb)},
        {.log_file = (dir / kCaptureLog).string()});
    if (!started.ok()) {
      fail(absl::StrCat("capture: ", started.status().message()));
    } else {
      capture.emplace(*std::move(started));
      // Kept with the capture for `analyzer report`, which builds the
      // network section again.
      if (absl::Status s = WriteCaptureSettings(dir, capture_settings); !s.ok()) {
        spdlog::warn("{}: `analyzer report` will not know the capture's filter and limits",
                     std::string(s.message()));
      }
      if (absl::StatusOr<std::string> line = capture->WaitForLine("capturing on ", 10s);
          !line.ok()) {
        fail(absl::StrCat("capture on lo (needs root or CAP_NET_RAW): ", line.status().message()));
      } else {
        std::printf("capture (pid %d) on lo: %s\n", capture->pid(), capture_filter.c_str());
        std::fflush(stdout);
      }
    }
  }

  // 3. The load, in the foreground: its progress shows on the terminal.
  if (outcome.failure.empty()) {
    std::vector<std::string> argv = {*loadgen_bin,
                                     "run",
                                     scenario.string(),
                                     "--target",
                                     target,
                                     "--coordinator",
                                     (*coordinator)->grpc_address(),
                                     "--token",
                                     token,
                                     "--out",
                                     (dir / "loadgen").string()};
    if (options.loadgen_threads > 0) {
      argv.insert(argv.end(), {"--threads", std::to_string(options.loadgen_threads)});
    }
    absl::StatusOr<ChildProcess> loadgen = ChildProcess::Spawn(std::move(argv));
    if (!loadgen.ok()) {
      fail(absl::StrCat("loadgen: ", loadgen.status().message()));
    } else {
      bool interrupted = false;
      std::optional<ExitStatus> ended;
      while (!(ended = loadgen->Poll())) {
        if (const int signal = g_signal.exchange(0); signal != 0) {
          // First Ctrl-C: loadgen finishes its interval and writes what it
          // has; a second one does not wait.
          loadgen->Signal(interrupted ? SIGKILL : SIGINT);
          if (!interrupted) {
            std::fprintf(stderr,
                         "\nanalyzer run: interrupted: stopping loadgen (Ctrl-C again to "
                         "kill it)\n");
          }
          interrupted = true;
        }
        for (ChildProcess* child : {ftpd ? &ftpd->process : nullptr, monitor ? &*monitor : nullptr,
                                    capture ? &*capture : nullptr}) {
          if (child == nullptr || !outcome.failure.empty()) continue;
          if (std::optional<ExitStatus> died = child->Poll()) {
            fail(absl::StrCat(child->name(), " (pid ", child->pid(), ") died during the run (",
                              died->Describe(), "); its log ", child->log_file(), " ends with:\n",
                              child->LogTail(600)));
            loadgen->Signal(SIGINT);
          }
        }
        std::this_thread::sleep_for(50ms);
      }
      if (outcome.failure.empty()) {
        if (interrupted || ended->code == kLoadgenInterrupted) {
          outcome.state = v1::RUN_STATE_ABORTED;
          outcome.exit_status = kExitInterrupted;
          outcome.failure = "interrupted by the user";
        } else if (ended->code == kLoadgenThresholds) {
          outcome.exit_status = kExitThresholds;
        } else if (ended->code == kLoadgenUnreachable) {
          fail(absl::StrCat("loadgen could not reach ", Redact(target)));
        } else if (!ended->ok()) {
          fail(absl::StrCat("loadgen failed (", ended->Describe(), ")"));
        }
      }
    }
  }

  // The capture stops first: the load is over, and SIGTERM makes it write
  // what the kernel still holds and its counts (to its log, which
  // NetworkSection() reads).
  if (capture && !capture->Poll()) {
    const ExitStatus status = capture->Terminate(10s);
    if (status.signal == SIGKILL) spdlog::warn("capture did not stop in 10 s: killed");
  }

  // Teardown: a last monitor sample to cover loadgen's last second, then
  // the monitor (it flushes what the coordinator has not acknowledged) and
  // the server.
  if (monitor && !monitor->Poll()) {
    std::this_thread::sleep_for(std::chrono::duration_cast<milliseconds>(options.interval) + 300ms);
    const ExitStatus status = monitor->Terminate(10s);
    if (status.signal == SIGKILL) spdlog::warn("monitor did not stop in 10 s: killed");
  }
  if (ftpd) {
    const ExitStatus status = ftpd->process.Terminate(10s);
    if (status.signal == SIGKILL) spdlog::warn("ftpd did not stop in 10 s: killed");
  }
  tree.reset();

  if (!outcome.failure.empty()) {
    (void)store.InTransaction([&](RunStore::Writer& writer) {
      return writer
          .InsertFinding(
              {.run_id = run_id,
               .time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count(),
               .severity = outcome.state == v1::RUN_STATE_ABORTED ? "warning" : "critical",
               .kind = outcome.state == v1::RUN_STATE_ABORTED ? "run-aborted" : "run-failed",
               .message = outcome.failure})
          .status();
    });
  }
  if (absl::Status s = service.EndRun(outcome.state); !s.ok()) {
    spdlog::warn("ending run {}: {}", run_id, std::string(s.message()));
  }

  ReportContext context;
  context.run_id = run_id;
  context.target = Redact(target);
  context.server = own_server ? "ftpd" : server_label;
  context.watched = own_server ? std::vector<std::string>{"ftpd"} : options.watch_processes;
  for (const int pid : options.watch_pids) context.watched.push_back(absl::StrCat("pid ", pid));
  context.kernel = LocalKernelRelease();
  context.slo_p99_ms = options.slo_p99_ms;
  std::function<void(nlohmann::json&)> add_network;
  if (capture) {
    add_network = [&](nlohmann::json& report) {
      report["network"] = NetworkSection(dir, capture_settings, report);
    };
  }
  absl::StatusOr<nlohmann::json> report = WriteReportFiles(store, context, dir, add_network);
  if (!report.ok()) {
    std::cerr << "analyzer run: error: report: " << report.status().message() << "\n";
    if (outcome.exit_status == kExitCompleted) outcome.exit_status = kExitFailed;
  } else {
    PrintSummary(*report);
    if (report->contains("network")) {
      std::fputs(DescribeNetworkSection((*report)["network"]).c_str(), stdout);
    }
  }
  std::printf("results: %s\n", dir.c_str());
  std::fflush(stdout);
  return outcome.exit_status;
}

}  // namespace tpslab::analyzer
