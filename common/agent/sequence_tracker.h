// SequenceTracker: the coordinator's side of at-least-once delivery. For one
// source it remembers which sequence numbers are stored (or were declared
// dropped by the agent) and answers two questions: "is this item new?"
// (ingestion is idempotent: a resent item is recognised and skipped) and
// "what is the highest sequence below which nothing is missing?" (the value
// to acknowledge, so the agent can forget everything up to it).
//
// Usage (one tracker per source_id, inside the coordinator's Stream handler):
//   SequenceTracker& tracker = trackers[message.source_id()];
//   if (message.has_drops()) tracker.MarkDropped(first, last);
//   if (tracker.Accept(message.sequence())) Store(message);
//   SendAck(tracker.acked());
//
// Memory is bounded by the number of out-of-order sequences held above the
// contiguous prefix (at most `max_pending`, beyond which the oldest gaps are
// given up and counted in lost()).
//
// Not thread-safe: guard it with the owner's lock.
#ifndef TPSLAB_COMMON_AGENT_SEQUENCE_TRACKER_H_
#define TPSLAB_COMMON_AGENT_SEQUENCE_TRACKER_H_

#include <cstddef>
#include <cstdint>
#include <set>

namespace tpslab::agent {

class SequenceTracker {
 public:
  // `acked`: sequences 1..acked are already stored (e.g. from the database
  // after a coordinator restart). `max_pending`: out-of-order sequences kept
  // above the contiguous prefix before the oldest gap is given up.
  explicit SequenceTracker(uint64_t acked = 0, std::size_t max_pending = 1 << 16)
      : acked_(acked), max_pending_(max_pending) {}

  // Records that `sequence` (>= 1) arrived. Returns true when it is new and
  // must be stored, false for a duplicate (already stored or declared
  // dropped) or for sequence 0, which is invalid.
  bool Accept(uint64_t sequence);

  // Records that the agent discarded sequences first..last (inclusive)
  // before sending them; they count as accounted for, so the acknowledged
  // prefix can move past them. Returns how many of them were not already
  // known (the newly lost samples, for reporting).
  uint64_t MarkDropped(uint64_t first, uint64_t last);

  // Every sequence in 1..acked() is stored or declared dropped.
  uint64_t acked() const { return acked_; }

  // Out-of-order sequences held above acked().
  std::size_t pending() const { return above_.size(); }

  // Sequences given up because too many arrived out of order.
  uint64_t lost() const { return lost_; }

 private:
  // Moves acked_ up over sequences held in above_.
  void Advance();

  uint64_t acked_;
  std::size_t max_pending_;
  std::set<uint64_t> above_;  // Stored sequences > acked_ + 1.
  uint64_t lost_ = 0;
};

}  // namespace tpslab::agent

#endif  // TPSLAB_COMMON_AGENT_SEQUENCE_TRACKER_H_
