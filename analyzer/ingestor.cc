#include "analyzer/ingestor.h"

#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "spdlog/spdlog.h"

namespace tpslab::analyzer {

std::optional<uint64_t> AckSlot::WaitAck(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return unsent_ || failed_ || closed_; });
  // A published ack is handed out even after Close(): it is the last one.
  if (failed_ || !unsent_) return std::nullopt;
  unsent_ = false;
  return acked_;
}

bool AckSlot::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return outstanding_ == 0 || failed_; }) &&
         outstanding_ == 0;
}

void AckSlot::Close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  changed_.notify_all();
}

bool AckSlot::failed() const {
  std::lock_guard lock(mutex_);
  return failed_;
}

bool AckSlot::finished() const {
  std::lock_guard lock(mutex_);
  return failed_ || closed_;
}

uint64_t AckSlot::acked() const {
  std::lock_guard lock(mutex_);
  return acked_;
}

void AckSlot::AddOutstanding() {
  std::lock_guard lock(mutex_);
  ++outstanding_;
}

void AckSlot::Complete(uint64_t acked, int count, bool ok) {
  std::lock_guard lock(mutex_);
  outstanding_ -= count;
  if (!ok) {
    failed_ = true;
  } else if (acked > acked_) {
    acked_ = acked;
    unsent_ = true;
  }
  changed_.notify_all();
}

Ingestor::Ingestor(RunStore& store, IngestorOptions options)
    : store_(store), options_(std::move(options)) {
  if (!options_.now_ns) {
    options_.now_ns = [] {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  if (options_.max_batch == 0) options_.max_batch = 1;
  thread_ = std::thread([this] { Run(); });
}

Ingestor::~Ingestor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_changed_.notify_all();
  }
  thread_.join();
}

void Ingestor::Submit(v1::AgentMessage message, std::shared_ptr<AckSlot> slot) {
  if (message.source_id().empty() || message.sequence() == 0) {
    std::lock_guard lock(mutex_);
    ++rejected_;
    return;
  }
  slot->AddOutstanding();
  std::unique_lock lock(mutex_);
  queue_changed_.wait(lock, [&] { return queue_.size() < options_.max_queued || stopping_; });
  queue_.push_back({std::move(message), std::move(slot)});
  queue_changed_.notify_all();
}

void Ingestor::SetCurrentRun(std::string run_id) {
  std::lock_guard lock(mutex_);
  current_run_ = std::move(run_id);
}

std::string Ingestor::current_run() const {
  std::lock_guard lock(mutex_);
  return current_run_;
}

std::map<std::string, SourceStats> Ingestor::Stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

uint64_t Ingestor::rejected() const {
  std::lock_guard lock(mutex_);
  return rejected_;
}

uint64_t Ingestor::batches() const {
  std::lock_guard lock(mutex_);
  return batches_;
}

void Ingestor::Run() {
  for (;;) {
    std::deque<Item> batch;
    {
      std::unique_lock lock(mutex_);
      queue_changed_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // Stopping with nothing left.
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queue_changed_.notify_all();  // Room for blocked Submit() calls.
    }
    Process(batch);
  }
}

void Ingestor::Process(std::deque<Item>& batch) {
  const int64_t now = options_.now_ns();
  const std::string run = current_run();

  // Trackers of sources seen for the first time come from the database
  // (outside the transaction: RestoreTracker takes the store's lock).
  std::set<std::string> sources;
  for (const Item& item : batch) sources.insert(item.message.source_id());
  for (const std::string& source : sources) {
    if (trackers_.count(source)) continue;
    absl::StatusOr<agent::SequenceTracker> restored = store_.RestoreTracker(source);
    if (!restored.ok()) {
      spdlog::error("cannot restore sequence tracker of {}: {}", source,
                    std::string(restored.status().message()));
      for (Item& item : batch) item.slot->Complete(0, 1, false);
      return;
    }
    trackers_.emplace(source, *std::move(restored));
  }

  std::map<std::string, SourceStats> delta;
  std::vector<bool> stored(batch.size(), false);
  const absl::Status status = store_.InTransaction([&](RunStore::Writer& w) -> absl::Status {
    for (size_t i = 0; i < batch.size(); ++i) {
      const v1::AgentMessage& m = batch[i].message;
      agent::SequenceTracker& tracker = trackers_.at(m.source_id());
      SourceStats& d = delta[m.source_id()];
      d.last_received_ns = now;
      if (m.has_drops()) {
        const v1::DropReport& drops = m.drops();
        const uint64_t newly =
            tracker.MarkDropped(drops.first_dropped_sequence(), drops.last_dropped_sequence());
        if (newly > 0) {
          d.dropped += newly;
          if (absl::Status s = w.InsertDrop(m.source_id(), drops.first_dropped_sequence(),
                                            drops.last_dropped_sequence(), newly, now);
              !s.ok()) {
            return s;
          }
          absl::StatusOr<int64_t> finding = w.InsertFinding(
              {.run_id = m.run_id().empty() ? run : m.run_id(),
               .time_ns = now,
               .severity = "warning",
               .kind = "samples-dropped",
               .message = absl::StrFormat(
                   "agent %s dropped %d samples (sequences %d..%d, %d in total) while the "
                   "coordinator was unreachable",
                   m.source_id(), newly, drops.first_dropped_sequence(),
                   drops.last_dropped_sequence(), drops.dropped_total())});
          if (!finding.ok()) return finding.status();
        }
      }
      if (!tracker.Accept(m.sequence())) {
        ++d.duplicates;
        continue;
      }
      absl::StatusOr<bool> inserted = w.InsertSample(m, run, now);
      if (!inserted.ok()) return inserted.status();
      if (*inserted) {
        ++d.stored;
        stored[i] = true;
      } else {
        ++d.duplicates;
      }
    }
    for (auto& [source, d] : delta) {
      d.acked = trackers_.at(source).acked();
      if (absl::Status s = w.SetAcked(source, d.acked); !s.ok()) return s;
    }
    return absl::OkStatus();
  });

  if (!status.ok()) {
    spdlog::error("storing {} samples failed: {}", batch.size(), std::string(status.message()));
    for (const std::string& source : sources) trackers_.erase(source);
    for (Item& item : batch) item.slot->Complete(0, 1, false);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    ++batches_;
    for (const auto& [source, d] : delta) {
      SourceStats& s = stats_[source];
      s.acked = std::max(s.acked, d.acked);
      s.stored += d.stored;
      s.duplicates += d.duplicates;
      s.dropped += d.dropped;
      s.last_received_ns = d.last_received_ns;
    }
  }
  if (options_.on_stored) {
    for (size_t i = 0; i < batch.size(); ++i) {
      if (stored[i]) {
        const v1::AgentMessage& m = batch[i].message;
        options_.on_stored(m, m.run_id().empty() ? run : m.run_id());
      }
    }
  }
  // One publication per slot and source: the acked prefix after the batch.
  std::map<AckSlot*, std::pair<uint64_t, int>> per_slot;
  for (const Item& item : batch) {
    auto& [acked, count] = per_slot[item.slot.get()];
    acked = std::max(acked, trackers_.at(item.message.source_id()).acked());
    ++count;
  }
  for (const auto& [slot, progress] : per_slot)
    slot->Complete(progress.first, progress.second, true);
}

}  // namespace tpslab::analyzer
