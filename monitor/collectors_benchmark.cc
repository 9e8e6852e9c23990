// Cost of one sampling pass. Run with
//   ./bazelw run -c opt //monitor:collectors_benchmark
// Goal (issue 5): one pass over all host collectors in at most 2 ms.
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "monitor/exposition.h"
#include "monitor/host_collector.h"
#include "monitor/process_collector.h"

namespace tpslab::monitor {
namespace {

// Every host collector: stat, loadavg, pressure, meminfo, vmstat, net/dev,
// snmp+netstat, sockstat, diskstats, file-nr, parsed into a HostSample.
void BM_HostCollectorPass(benchmark::State& state) {
  HostCollector host({});
  tpslab::v1::HostSample sample;
  for (auto _ : state) {
    host.Collect(sample);
    benchmark::DoNotOptimize(sample);
  }
  state.counters["errors"] = static_cast<double>(sample.errors_size());
}
BENCHMARK(BM_HostCollectorPass)->Unit(benchmark::kMicrosecond);

// The host pass plus rendering the Prometheus exposition.
void BM_HostPassAndExposition(benchmark::State& state) {
  HostCollector host({});
  tpslab::v1::HostSample sample;
  std::vector<Series> series;
  for (auto _ : state) {
    host.Collect(sample);
    series.clear();
    AppendHostSeries(sample, series);
    std::string text = RenderExposition(series);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_HostPassAndExposition)->Unit(benchmark::kMicrosecond);

// Ten watched processes (children sleeping), by pid.
void BM_TenProcesses(benchmark::State& state) {
  std::vector<pid_t> children;
  std::vector<ProcessSelector> selectors;
  for (int i = 0; i < 10; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      pause();
      _exit(0);
    }
    children.push_back(pid);
    selectors.push_back(PidSelector(pid));
  }
  {
    ProcessCollector processes(selectors, {});
    std::vector<tpslab::v1::ProcessSample> samples;
    for (auto _ : state) {
      processes.Collect(samples);
      benchmark::DoNotOptimize(samples);
    }
  }
  for (pid_t pid : children) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
}
BENCHMARK(BM_TenProcesses)->Unit(benchmark::kMicrosecond);

// Resolving a name selector scans all of /proc (done on start, on exit of a
// watched process, and every 10 samples).
void BM_ScanProcesses(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<ProcessEntry> entries = ScanProcesses("/proc");
    benchmark::DoNotOptimize(entries);
  }
}
BENCHMARK(BM_ScanProcesses)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tpslab::monitor

BENCHMARK_MAIN();
