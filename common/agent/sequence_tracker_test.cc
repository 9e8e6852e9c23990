#include "common/agent/sequence_tracker.h"

#include <gtest/gtest.h>

namespace tpslab::agent {
namespace {

TEST(SequenceTrackerTest, InOrderAdvancesTheAck) {
  SequenceTracker tracker;
  for (uint64_t s = 1; s <= 5; ++s) EXPECT_TRUE(tracker.Accept(s));
  EXPECT_EQ(tracker.acked(), 5u);
  EXPECT_EQ(tracker.pending(), 0u);
}

TEST(SequenceTrackerTest, DuplicatesAndZeroAreRejected) {
  SequenceTracker tracker;
  EXPECT_FALSE(tracker.Accept(0));
  EXPECT_TRUE(tracker.Accept(1));
  EXPECT_FALSE(tracker.Accept(1));
  EXPECT_TRUE(tracker.Accept(3));
  EXPECT_FALSE(tracker.Accept(3));  // Held above a gap, still a duplicate.
  EXPECT_EQ(tracker.acked(), 1u);
}

TEST(SequenceTrackerTest, OutOfOrderHoldsUntilTheGapFills) {
  SequenceTracker tracker;
  EXPECT_TRUE(tracker.Accept(2));
  EXPECT_TRUE(tracker.Accept(3));
  EXPECT_EQ(tracker.acked(), 0u);
  EXPECT_EQ(tracker.pending(), 2u);
  EXPECT_TRUE(tracker.Accept(1));
  EXPECT_EQ(tracker.acked(), 3u);
  EXPECT_EQ(tracker.pending(), 0u);
}

TEST(SequenceTrackerTest, StartsFromAStoredPrefix) {
  SequenceTracker tracker(/*acked=*/10);
  EXPECT_FALSE(tracker.Accept(7));
  EXPECT_TRUE(tracker.Accept(11));
  EXPECT_EQ(tracker.acked(), 11u);
}

TEST(SequenceTrackerTest, DeclaredDropsCloseTheGap) {
  SequenceTracker tracker;
  EXPECT_TRUE(tracker.Accept(1));
  EXPECT_TRUE(tracker.Accept(6));
  EXPECT_TRUE(tracker.Accept(7));
  EXPECT_EQ(tracker.MarkDropped(2, 5), 4u);
  EXPECT_EQ(tracker.acked(), 7u);
  // Declaring again changes nothing and loses nothing new.
  EXPECT_EQ(tracker.MarkDropped(2, 5), 0u);
  EXPECT_EQ(tracker.acked(), 7u);
}

TEST(SequenceTrackerTest, DropRangeOverlappingStoredItemsCountsOnlyTheMissing) {
  SequenceTracker tracker;
  EXPECT_TRUE(tracker.Accept(1));
  EXPECT_TRUE(tracker.Accept(3));
  EXPECT_EQ(tracker.MarkDropped(2, 4), 2u);  // 3 was stored.
  EXPECT_EQ(tracker.acked(), 4u);
}

TEST(SequenceTrackerTest, TooManyOutOfOrderGivesUpTheOldestGap) {
  SequenceTracker tracker(/*acked=*/0, /*max_pending=*/3);
  EXPECT_TRUE(tracker.Accept(5));
  EXPECT_TRUE(tracker.Accept(6));
  EXPECT_TRUE(tracker.Accept(7));
  EXPECT_EQ(tracker.acked(), 0u);
  EXPECT_TRUE(tracker.Accept(9));  // Fourth pending: 1..4 are given up.
  EXPECT_EQ(tracker.lost(), 4u);
  EXPECT_EQ(tracker.acked(), 7u);
  EXPECT_EQ(tracker.pending(), 1u);
}

}  // namespace
}  // namespace tpslab::agent
