// Coordinator ingest benchmark (not a test): a coordinator in a child
// process (store on a temporary SQLite file, CoordinatorService, gRPC on
// loopback) and N agents (real AgentStream clients, one thread each) in this
// process, each sending M load intervals (one transaction with an encoded
// HDR histogram, as loadgen sends them). Reports samples/s from the first
// Send() until every agent's last sample is acknowledged (stored and
// committed), and the coordinator's CPU seconds per 100k samples (its own
// rusage: the clients' CPU is not counted).
//
//   ./bazelw run -c opt //analyzer:ingest_benchmark -- --agents=16 --samples_per_agent=20000
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "analyzer/coordinator_service.h"
#include "analyzer/load_series.h"
#include "analyzer/run_store.h"
#include "common/agent/agent_stream.h"
#include "common/metrics/hdr_codec.h"

namespace tpslab::analyzer {
namespace {

using google::protobuf::util::TimeUtil;

struct Result {
  double cpu_seconds = 0;
  uint64_t stored = 0;
  uint64_t batches = 0;
};

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec +
         usage.ru_stime.tv_usec / 1e6;
}

// The child: serves until a byte arrives on `control`, then writes Result
// to `out`. Writes the port first.
int RunCoordinator(const std::string& db, int control, int out) {
  auto store = RunStore::Open(db);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  CoordinatorService service(**store);
  if (!service.StartRun({.run_id = "bench"}).ok()) return 1;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server) return 1;
  const double cpu_start = CpuSeconds();
  if (write(out, &port, sizeof(port)) != sizeof(port)) return 1;
  char byte;
  if (read(control, &byte, 1) != 1) return 1;
  Result result;
  result.cpu_seconds = CpuSeconds() - cpu_start;
  for (const auto& [source, stats] : service.ingestor().Stats()) result.stored += stats.stored;
  result.batches = service.ingestor().batches();
  if (write(out, &result, sizeof(result)) != sizeof(result)) return 1;
  server->Shutdown(std::chrono::system_clock::now());
  return 0;
}

v1::AgentMessage Sample(int i) {
  static const v1::Histogram histogram = [] {
    metrics::HdrHistogram h = EmptyLatencyHistogram();
    for (int v = 0; v < 200; ++v) h.Record(800 + 37 * v);
    return metrics::ToProto(h, "us");
  }();
  v1::AgentMessage m;
  v1::LoadInterval* load = m.mutable_load();
  *load->mutable_start() = TimeUtil::SecondsToTimestamp(1'700'000'000 + i);
  *load->mutable_end() = TimeUtil::SecondsToTimestamp(1'700'000'001 + i);
  load->set_active_users(10);
  v1::OperationStats* op = load->add_transactions();
  op->set_name("upload");
  op->set_count(200);
  *op->mutable_latency() = histogram;
  return m;
}

int Main(int agents, int per_agent) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string db =
      std::string(tmp ? tmp : "/tmp") + "/ingest_benchmark_" + std::to_string(getpid()) + ".db";
  int to_child[2], from_child[2];
  if (pipe(to_child) != 0 || pipe(from_child) != 0) return 1;
  const pid_t child = fork();  // Before any gRPC object exists in this process.
  if (child == 0) {
    close(to_child[1]);
    close(from_child[0]);
    _exit(RunCoordinator(db, to_child[0], from_child[1]));
  }
  close(to_child[0]);
  close(from_child[1]);
  int port = 0;
  if (read(from_child[0], &port, sizeof(port)) != sizeof(port)) {
    std::fprintf(stderr, "coordinator did not start\n");
    return 1;
  }

  std::vector<std::unique_ptr<agent::AgentStream>> streams;
  for (int a = 0; a < agents; ++a) {
    agent::AgentStreamOptions options;
    options.coordinator = "127.0.0.1:" + std::to_string(port);
    options.kind = v1::AGENT_KIND_LOADGEN;
    options.source_id = "bench-" + std::to_string(a);
    options.max_buffered = static_cast<size_t>(per_agent) + 16;
    streams.push_back(std::make_unique<agent::AgentStream>(options));
  }
  std::vector<v1::AgentMessage> samples;
  for (int i = 0; i < per_agent; ++i) samples.push_back(Sample(i));

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> senders;
  bool all_flushed = true;
  std::vector<char> flushed(agents, 0);
  for (int a = 0; a < agents; ++a) {
    senders.emplace_back([&, a] {
      for (const v1::AgentMessage& m : samples) streams[a]->Send(m);
      flushed[a] = streams[a]->Flush(std::chrono::minutes(10));
    });
  }
  for (auto& t : senders) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (char f : flushed) all_flushed = all_flushed && f;
  streams.clear();

  char byte = 'x';
  Result result;
  if (write(to_child[1], &byte, 1) != 1 ||
      read(from_child[0], &result, sizeof(result)) != sizeof(result)) {
    std::fprintf(stderr, "coordinator did not report\n");
    return 1;
  }
  int status = 0;
  waitpid(child, &status, 0);
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);

  const double total = static_cast<double>(agents) * per_agent;
  std::printf("agents                 %d\n", agents);
  std::printf("samples                %.0f (stored %llu, all acknowledged: %s)\n", total,
              static_cast<unsigned long long>(result.stored), all_flushed ? "yes" : "NO");
  std::printf("wall time              %.3f s\n", seconds);
  std::printf("ingest rate            %.0f samples/s\n", total / seconds);
  std::printf("coordinator CPU        %.3f s (%.3f s per 100k samples)\n", result.cpu_seconds,
              result.cpu_seconds / total * 1e5);
  std::printf("transactions           %llu (%.1f samples each)\n",
              static_cast<unsigned long long>(result.batches),
              result.batches ? total / static_cast<double>(result.batches) : 0.0);
  return all_flushed && result.stored == static_cast<uint64_t>(total) ? 0 : 1;
}

}  // namespace
}  // namespace tpslab::analyzer

int main(int argc, char** argv) {
  int agents = 16;
  int per_agent = 20000;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--agents=", 9) == 0) {
      agents = std::atoi(argv[i] + 9);
    } else if (std::strncmp(argv[i], "--samples_per_agent=", 20) == 0) {
      per_agent = std::atoi(argv[i] + 20);
    } else {
      std::fprintf(stderr, "usage: %s [--agents=N] [--samples_per_agent=M]\n", argv[0]);
      return 2;
    }
  }
  if (agents <= 0 || per_agent <= 0) {
    std::fprintf(stderr, "--agents and --samples_per_agent must be > 0\n");
    return 2;
  }
  return tpslab::analyzer::Main(agents, per_agent);
}
