// WriterReaderPhaser: the asymmetric synchronization primitive of the
// reference HdrHistogram (Java's org.HdrHistogram.WriterReaderPhaser), for
// double-buffered data that many writers update and one reader swaps.
//
// Writers bracket each update with WriterCriticalSectionEnter/Exit: one
// wait-free atomic increment each, no lock, no retry. The reader, holding the
// reader lock, swaps the active buffer for an idle one and then calls
// FlipPhase(), which returns once every writer that might still be touching
// the old buffer has left its critical section; after that the reader owns
// the old buffer exclusively.
//
// Example (see IntervalRecorder for the real thing):
//   // writer thread
//   const int64_t token = phaser.WriterCriticalSectionEnter();
//   active.load(std::memory_order_acquire)->Update(...);
//   phaser.WriterCriticalSectionExit(token);
//
//   // reader thread
//   std::lock_guard lock(phaser.reader_mutex());
//   Buffer* old = active.exchange(idle, std::memory_order_acq_rel);
//   phaser.FlipPhase();
//   Consume(*old);  // no writer touches *old any more

#ifndef TPSLAB_COMMON_METRICS_WRITER_READER_PHASER_H_
#define TPSLAB_COMMON_METRICS_WRITER_READER_PHASER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>

namespace tpslab::metrics {

class WriterReaderPhaser {
 public:
  WriterReaderPhaser() = default;
  WriterReaderPhaser(const WriterReaderPhaser&) = delete;
  WriterReaderPhaser& operator=(const WriterReaderPhaser&) = delete;

  // Enters a writer critical section; returns the token to pass to
  // WriterCriticalSectionExit(). Wait-free.
  int64_t WriterCriticalSectionEnter() noexcept {
    return start_epoch_.fetch_add(1, std::memory_order_seq_cst);
  }

  // Leaves the critical section entered with `token`. Wait-free.
  void WriterCriticalSectionExit(int64_t token) noexcept {
    (token < 0 ? odd_end_epoch_ : even_end_epoch_).fetch_add(1, std::memory_order_release);
  }

  // The lock that serializes readers; hold it around the buffer swap and
  // FlipPhase().
  std::mutex& reader_mutex() noexcept { return reader_mutex_; }

  // Waits until every writer critical section that was entered before this
  // call has exited. The caller must hold reader_mutex(). Writers that enter
  // after the flip do not delay it. Yields the CPU while it waits.
  void FlipPhase() noexcept;

 private:
  // Writers entering during the even phase get tokens >= 0 (counting up from
  // 0); during the odd phase tokens < 0 (counting up from INT64_MIN). The end
  // epochs count the exits of each phase, so a phase is drained when its end
  // epoch catches up with the start epoch value seen at the flip.
  // Every writer bumps the start epoch and one end epoch; 56 bytes of padding
  // keep them 64 bytes apart, so they never share a cache line. (Padding, not
  // alignas(64): over-aligned stack objects trip ASan's fake stack.)
  static constexpr size_t kPad = 64 - sizeof(std::atomic<int64_t>);
  std::atomic<int64_t> start_epoch_{0};
  char pad0_[kPad] = {};
  std::atomic<int64_t> even_end_epoch_{0};
  char pad1_[kPad] = {};
  std::atomic<int64_t> odd_end_epoch_{std::numeric_limits<int64_t>::min()};
  char pad2_[kPad] = {};
  std::mutex reader_mutex_;
};

}  // namespace tpslab::metrics

#endif  // TPSLAB_COMMON_METRICS_WRITER_READER_PHASER_H_
