// Micro-benchmarks of the metrics core (common/metrics): recording into an
// HdrHistogram directly and through IntervalRecorder, merging, percentile
// queries and the V2 codec. All histograms are 1 us .. 1 h at 3 significant
// digits (the layout the binaries use), filled with log-normal latencies.
//
//   ./bazelw run -c opt //benchmarks:histogram_benchmark

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/metrics/hdr_codec.h"
#include "common/metrics/hdr_histogram.h"
#include "common/metrics/interval_recorder.h"

namespace tpslab::metrics {
namespace {

constexpr int64_t kLowest = 1;
constexpr int64_t kHighest = 3'600'000'000;  // 1 h in us
constexpr int kDigits = 3;
constexpr size_t kValueCount = 1 << 14;  // power of two: index with a mask

// Log-normal latencies around 1 ms with a long tail, fixed seed.
const std::vector<int64_t>& Values() {
  static const std::vector<int64_t> values = [] {
    std::mt19937_64 rng(42);
    std::lognormal_distribution<double> dist(std::log(1'000.0), 1.5);
    std::vector<int64_t> v(kValueCount);
    for (int64_t& x : v) x = std::llround(dist(rng));
    return v;
  }();
  return values;
}

HdrHistogram Filled(size_t n, uint64_t seed) {
  HdrHistogram h(kLowest, kHighest, kDigits);
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(std::log(1'000.0), 1.5);
  for (size_t i = 0; i < n; ++i) h.Record(std::llround(dist(rng)));
  return h;
}

void BM_Record(benchmark::State& state) {
  HdrHistogram h(kLowest, kHighest, kDigits);
  const std::vector<int64_t>& values = Values();
  size_t i = 0;
  for (auto _ : state) {
    h.Record(values[i++ & (kValueCount - 1)]);
  }
  benchmark::DoNotOptimize(h.TotalCount());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Record);

void BM_RecordWithCount(benchmark::State& state) {
  HdrHistogram h(kLowest, kHighest, kDigits);
  const std::vector<int64_t>& values = Values();
  size_t i = 0;
  for (auto _ : state) {
    h.Record(values[i & (kValueCount - 1)], static_cast<int64_t>(i & 7) + 1);
    ++i;
  }
  benchmark::DoNotOptimize(h.TotalCount());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordWithCount);

// Lock-free multi-writer path: phaser enter/exit plus atomic increments. With
// several threads all writers share one histogram (cache-line contention).
void BM_IntervalRecorderRecord(benchmark::State& state) {
  static IntervalRecorder recorder(kLowest, kHighest, kDigits);
  const std::vector<int64_t>& values = Values();
  size_t i = static_cast<size_t>(state.thread_index()) * 4099;
  for (auto _ : state) {
    recorder.Record(values[i++ & (kValueCount - 1)]);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    benchmark::DoNotOptimize(recorder.GetIntervalHistogram().TotalCount());
  }
}
BENCHMARK(BM_IntervalRecorderRecord)->Threads(1)->Threads(2);

// The reporting side: swap an interval out (recycled histogram, no writers).
void BM_IntervalRecorderSwap(benchmark::State& state) {
  IntervalRecorder recorder(kLowest, kHighest, kDigits);
  HdrHistogram interval = recorder.MakeEmptyHistogram();
  for (auto _ : state) {
    recorder.Record(1'000);
    recorder.SwapInterval(interval);
  }
  benchmark::DoNotOptimize(interval.TotalCount());
}
BENCHMARK(BM_IntervalRecorderSwap);

// Merging two histograms of the same layout (index-for-index fast path).
void BM_Add(benchmark::State& state) {
  HdrHistogram into = Filled(100'000, 1);
  const HdrHistogram other = Filled(100'000, 2);
  for (auto _ : state) {
    into.Add(other);
  }
  benchmark::DoNotOptimize(into.TotalCount());
  state.counters["counts"] = static_cast<double>(other.CountsLimit());
}
BENCHMARK(BM_Add);

// Merging across layouts (re-recording each non-empty bucket).
void BM_AddOtherLayout(benchmark::State& state) {
  HdrHistogram into(kLowest, kHighest, 2);
  const HdrHistogram other = Filled(100'000, 3);
  for (auto _ : state) {
    into.Add(other);
  }
  benchmark::DoNotOptimize(into.TotalCount());
}
BENCHMARK(BM_AddOtherLayout);

void BM_ValueAtPercentile(benchmark::State& state) {
  const HdrHistogram h = Filled(100'000, 4);
  const double percentile = static_cast<double>(state.range(0)) / 10.0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(h.ValueAtPercentile(percentile));
  }
}
BENCHMARK(BM_ValueAtPercentile)->Arg(500)->Arg(990)->Arg(999);

void BM_Mean(benchmark::State& state) {
  const HdrHistogram h = Filled(100'000, 5);
  for (auto _ : state) {
    benchmark::DoNotOptimize(h.Mean());
  }
}
BENCHMARK(BM_Mean);

void BM_EncodeCompressed(benchmark::State& state) {
  const HdrHistogram h = Filled(100'000, 6);
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string encoded = EncodeHdrCompressed(h);
    bytes = encoded.size();
    benchmark::DoNotOptimize(encoded.data());
  }
  state.counters["encoded_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_EncodeCompressed);

void BM_EncodeUncompressed(benchmark::State& state) {
  const HdrHistogram h = Filled(100'000, 7);
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string encoded = EncodeHdrUncompressed(h);
    bytes = encoded.size();
    benchmark::DoNotOptimize(encoded.data());
  }
  state.counters["encoded_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_EncodeUncompressed);

void BM_DecodeCompressed(benchmark::State& state) {
  const std::string encoded = EncodeHdrCompressed(Filled(100'000, 8));
  for (auto _ : state) {
    absl::StatusOr<HdrHistogram> h = DecodeHdr(encoded);
    benchmark::DoNotOptimize(h->TotalCount());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(encoded.size()));
}
BENCHMARK(BM_DecodeCompressed);

void BM_DecodeUncompressed(benchmark::State& state) {
  const std::string encoded = EncodeHdrUncompressed(Filled(100'000, 9));
  for (auto _ : state) {
    absl::StatusOr<HdrHistogram> h = DecodeHdr(encoded);
    benchmark::DoNotOptimize(h->TotalCount());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(encoded.size()));
}
BENCHMARK(BM_DecodeUncompressed);

}  // namespace
}  // namespace tpslab::metrics

BENCHMARK_MAIN();
