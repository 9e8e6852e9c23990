#include "common/agent/sequence_tracker.h"

namespace tpslab::agent {

bool SequenceTracker::Accept(uint64_t sequence) {
  if (sequence == 0 || sequence <= acked_) return false;
  if (sequence == acked_ + 1) {
    acked_ = sequence;
    Advance();
    return true;
  }
  if (!above_.insert(sequence).second) return false;
  if (above_.size() > max_pending_) {
    // Give up the oldest gap: everything below the lowest held sequence is
    // counted as lost and the prefix moves past it.
    const uint64_t lowest = *above_.begin();
    lost_ += lowest - acked_ - 1;
    acked_ = lowest - 1;
    Advance();
  }
  return true;
}

uint64_t SequenceTracker::MarkDropped(uint64_t first, uint64_t last) {
  if (first == 0 || last < first || last <= acked_) return 0;
  if (first <= acked_) first = acked_ + 1;
  uint64_t newly = last - first + 1;
  for (auto it = above_.lower_bound(first); it != above_.end() && *it <= last;) {
    --newly;  // Stored already, so not lost after all.
    it = above_.erase(it);
  }
  if (first == acked_ + 1) {
    acked_ = last;
    Advance();
  } else {
    // A dropped range above a gap: hold its members like stored sequences.
    // Ranges are small in practice (bounded by the agent's buffer), but cap
    // the work anyway by recording only what fits.
    for (uint64_t s = first; s <= last && above_.size() < max_pending_; ++s) above_.insert(s);
  }
  return newly;
}

void SequenceTracker::Advance() {
  auto it = above_.begin();
  while (it != above_.end() && *it <= acked_ + 1) {
    if (*it == acked_ + 1) ++acked_;
    it = above_.erase(it);
  }
}

}  // namespace tpslab::agent
