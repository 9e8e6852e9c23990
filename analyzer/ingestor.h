// Ingestor: the coordinator's single writer. Stream handlers Submit() each
// AgentMessage with the AckSlot of their stream; one thread takes whatever is
// queued (up to max_batch), runs it through each source's SequenceTracker
// (duplicates skipped, drop reports move the prefix past the gap), stores it
// with RunStore in one transaction together with the new acked prefixes,
// and only after the commit publishes each source's acked sequence to the
// slots, so an agent never hears "acked" for something not on disk.
//
// Trackers are rebuilt from the database the first time a source is seen
// (RunStore::RestoreTracker), so a restarted coordinator skips what an agent
// resends. When a transaction fails, the trackers it touched are forgotten
// (rebuilt from the database next time) and the slots are marked failed, so
// their streams end and the agents reconnect and resend.
//
// Example (inside a Stream handler):
//   auto slot = std::make_shared<AckSlot>();
//   while (stream->Read(&message)) ingestor.Submit(std::move(message), slot);
//   slot->WaitIdle(std::chrono::seconds(5));   // the last acks
#ifndef TPSLAB_ANALYZER_INGESTOR_H_
#define TPSLAB_ANALYZER_INGESTOR_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "analyzer/run_store.h"
#include "common/agent/sequence_tracker.h"
#include "common/proto/coordinator.pb.h"

namespace tpslab::analyzer {

// Where the ingestor reports progress for one stream.
class AckSlot {
 public:
  // Blocks until a new acked sequence is published (returned), the slot
  // fails or is closed (empty), or `timeout` passes (empty).
  std::optional<uint64_t> WaitAck(std::chrono::milliseconds timeout);
  // Waits until every submitted message is processed or `timeout` passes;
  // returns true when none is outstanding.
  bool WaitIdle(std::chrono::milliseconds timeout);
  // Wakes WaitAck() for good.
  void Close();
  bool failed() const;
  // Failed or closed: no more acks will come.
  bool finished() const;
  // The latest acked sequence published (0: none).
  uint64_t acked() const;

 private:
  friend class Ingestor;
  void AddOutstanding();
  // Publishes `acked` for `count` processed messages (ok) or fails them.
  void Complete(uint64_t acked, int count, bool ok);

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t acked_ = 0;
  bool unsent_ = false;  // acked_ changed since WaitAck() last returned it.
  int64_t outstanding_ = 0;
  bool failed_ = false;
  bool closed_ = false;
};

struct IngestorOptions {
  // Messages per transaction at most. Default 4096.
  size_t max_batch = 4096;
  // Messages queued at most; Submit() blocks beyond it (back-pressure into
  // gRPC flow control). Default 65536.
  size_t max_queued = 65536;
  // Clock for received_ns and finding times. Default: system clock.
  std::function<int64_t()> now_ns = {};
  // Called after each committed batch with the run each message was stored
  // under (for live views such as /metrics). Runs on the writer thread.
  std::function<void(const v1::AgentMessage&, const std::string& run_id)> on_stored = {};
};

// Per-source ingestion counters (this process's lifetime, plus the acked
// prefix which survives restarts).
struct SourceStats {
  uint64_t acked = 0;       // Contiguous prefix stored or declared dropped.
  uint64_t stored = 0;      // Messages stored.
  uint64_t duplicates = 0;  // Resent messages skipped.
  uint64_t dropped = 0;     // Sequences the agent reported dropped (newly).
  int64_t last_received_ns = 0;
};

class Ingestor {
 public:
  Ingestor(RunStore& store, IngestorOptions options = {});
  // Processes everything queued, then stops the writer thread.
  ~Ingestor();
  Ingestor(const Ingestor&) = delete;
  Ingestor& operator=(const Ingestor&) = delete;

  // Queues `message` (source_id and sequence set) for `slot`. Messages
  // without a source id or with sequence 0 are counted in rejected() and
  // dropped (they cannot be acknowledged). Blocks while the queue is full.
  void Submit(v1::AgentMessage message, std::shared_ptr<AckSlot> slot);

  // The run that messages without their own run_id are attached to ("" for
  // none). Thread-safe.
  void SetCurrentRun(std::string run_id);
  std::string current_run() const;

  // Counters by source id. Thread-safe.
  std::map<std::string, SourceStats> Stats() const;
  uint64_t rejected() const;
  // Transactions committed and messages in them, for the benchmark.
  uint64_t batches() const;

 private:
  struct Item {
    v1::AgentMessage message;
    std::shared_ptr<AckSlot> slot;
  };
  void Run();
  void Process(std::deque<Item>& batch);

  RunStore& store_;
  IngestorOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable queue_changed_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::string current_run_;
  std::map<std::string, SourceStats> stats_;
  uint64_t rejected_ = 0;
  uint64_t batches_ = 0;

  // Writer thread only.
  std::map<std::string, agent::SequenceTracker> trackers_;
  std::thread thread_;
};

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_INGESTOR_H_
