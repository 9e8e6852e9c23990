#include "loadgen/stats.h"

#include <utility>

#include "common/metrics/hdr_codec.h"

namespace tpslab::loadgen {

metrics::HdrHistogram MakeLatencyHistogram() {
  return metrics::HdrHistogram(kLowestLatencyUs, kHighestLatencyUs, kLatencyDigits);
}

const char* ErrorClassName(v1::ErrorClass error_class) {
  switch (error_class) {
    case v1::ERROR_CLASS_REFUSED:
      return "refused";
    case v1::ERROR_CLASS_TIMEOUT:
      return "timeout";
    case v1::ERROR_CLASS_RESET:
      return "reset";
    case v1::ERROR_CLASS_UNEXPECTED_REPLY:
      return "unexpected_reply";
    case v1::ERROR_CLASS_CHECK_FAILED:
      return "check_failed";
    case v1::ERROR_CLASS_TLS:
      return "tls";
    default:
      return "other";
  }
}

ThreadStats::Slot::Slot(bool with_uncorrected)
    : latency(kLowestLatencyUs, kHighestLatencyUs, kLatencyDigits),
      uncorrected(with_uncorrected ? std::make_unique<metrics::IntervalRecorder>(
                                         kLowestLatencyUs, kHighestLatencyUs, kLatencyDigits)
                                   : nullptr) {}

ThreadStats::ThreadStats(size_t ops, bool uncorrected) {
  slots_.reserve(ops);
  for (size_t i = 0; i < ops; ++i) slots_.push_back(std::make_unique<Slot>(uncorrected));
}

void ThreadStats::RecordSuccess(size_t op, int64_t latency_us, int64_t uncorrected_us) {
  Slot& slot = *slots_[op];
  slot.latency.Record(latency_us < 1 ? 1 : latency_us);
  if (slot.uncorrected) slot.uncorrected->Record(uncorrected_us < 1 ? 1 : uncorrected_us);
  Bump(slot.count);
}

void ThreadStats::RecordError(size_t op, v1::ErrorClass error_class) {
  Slot& slot = *slots_[op];
  const size_t index = static_cast<size_t>(error_class) < kErrorClasses
                           ? static_cast<size_t>(error_class)
                           : static_cast<size_t>(v1::ERROR_CLASS_OTHER);
  Bump(slot.by_class[index]);
  Bump(slot.errors);
  Bump(slot.count);
}

void ThreadStats::AddBytes(size_t op, uint64_t sent, uint64_t received) {
  Slot& slot = *slots_[op];
  if (sent) Bump(slot.bytes_sent, sent);
  if (received) Bump(slot.bytes_received, received);
}

void OpInterval::Add(const OpInterval& other) {
  count += other.count;
  errors += other.errors;
  for (size_t i = 0; i < kErrorClasses; ++i) by_class[i] += other.by_class[i];
  bytes_sent += other.bytes_sent;
  bytes_received += other.bytes_received;
  latency.Add(other.latency);
  uncorrected.Add(other.uncorrected);
}

v1::OperationStats OpInterval::ToProto(const std::string& name, bool with_uncorrected) const {
  v1::OperationStats out;
  out.set_name(name);
  out.set_count(count);
  out.set_errors(errors);
  for (size_t i = 1; i < kErrorClasses; ++i) {
    if (by_class[i] == 0) continue;
    v1::ErrorCount* e = out.add_errors_by_class();
    e->set_class_(static_cast<v1::ErrorClass>(i));
    e->set_count(by_class[i]);
  }
  out.set_bytes_sent(bytes_sent);
  out.set_bytes_received(bytes_received);
  *out.mutable_latency() = metrics::ToProto(latency, "us");
  if (with_uncorrected) *out.mutable_uncorrected_latency() = metrics::ToProto(uncorrected, "us");
  return out;
}

StatsMerger::StatsMerger(std::vector<OpInfo> ops, std::vector<ThreadStats*> threads)
    : ops_(std::move(ops)),
      threads_(std::move(threads)),
      seen_(threads_.size(), std::vector<Seen>(ops_.size())),
      dropped_seen_(threads_.size(), 0),
      totals_(ops_.size()) {}

std::vector<OpInterval> StatsMerger::Collect() {
  std::vector<OpInterval> out(ops_.size());
  for (size_t t = 0; t < threads_.size(); ++t) {
    for (size_t op = 0; op < ops_.size(); ++op) {
      ThreadStats::Slot& slot = *threads_[t]->slots_[op];
      Seen& seen = seen_[t][op];
      OpInterval& o = out[op];
      // Histograms first: a count read after them covers at least the
      // recorded values, never fewer.
      slot.latency.SwapInterval(scratch_);
      o.latency.Add(scratch_);
      if (slot.uncorrected) {
        slot.uncorrected->SwapInterval(scratch_);
        o.uncorrected.Add(scratch_);
      }
      auto take = [](const std::atomic<uint64_t>& counter, uint64_t& last) {
        const uint64_t now = counter.load(std::memory_order_relaxed);
        const uint64_t delta = now - last;
        last = now;
        return delta;
      };
      o.count += take(slot.count, seen.count);
      o.errors += take(slot.errors, seen.errors);
      o.bytes_sent += take(slot.bytes_sent, seen.bytes_sent);
      o.bytes_received += take(slot.bytes_received, seen.bytes_received);
      for (size_t i = 0; i < kErrorClasses; ++i)
        o.by_class[i] += take(slot.by_class[i], seen.by_class[i]);
    }
  }
  for (size_t op = 0; op < ops_.size(); ++op) totals_[op].Add(out[op]);
  return out;
}

uint64_t StatsMerger::CollectDropped() {
  uint64_t delta = 0;
  for (size_t t = 0; t < threads_.size(); ++t) {
    const uint64_t now = threads_[t]->dropped_.load(std::memory_order_relaxed);
    delta += now - dropped_seen_[t];
    dropped_seen_[t] = now;
  }
  total_dropped_ += delta;
  return delta;
}

}  // namespace tpslab::loadgen
