#include "common/metrics/writer_reader_phaser.h"

#include <thread>

namespace tpslab::metrics {

void WriterReaderPhaser::FlipPhase() noexcept {
  // The current phase is odd when tokens are negative.
  const bool next_phase_is_even = start_epoch_.load(std::memory_order_relaxed) < 0;
  const int64_t initial_start_value = next_phase_is_even ? 0 : std::numeric_limits<int64_t>::min();
  // Reset the next phase's exit counter before any writer can enter it.
  (next_phase_is_even ? even_end_epoch_ : odd_end_epoch_)
      .store(initial_start_value, std::memory_order_relaxed);
  // From here on writers get tokens of the next phase. The exchange orders
  // the caller's buffer swap before any writer that enters the new phase.
  const int64_t start_value_at_flip =
      start_epoch_.exchange(initial_start_value, std::memory_order_seq_cst);
  const std::atomic<int64_t>& draining = next_phase_is_even ? odd_end_epoch_ : even_end_epoch_;
  // Acquire: what the drained writers wrote is visible once they are counted.
  while (draining.load(std::memory_order_acquire) != start_value_at_flip) {
    std::this_thread::yield();
  }
}

}  // namespace tpslab::metrics
