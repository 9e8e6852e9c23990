#include "monitor/check_scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <thread>
#include <vector>

namespace tpslab::monitor {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;

// Real time a test waits for something that should happen at once; reaching
// it means the scheduler is stuck (the test fails instead of hanging).
constexpr std::chrono::seconds kStuck{10};

// A clock that moves only when told to. Advance() returns once the
// scheduler's dispatcher has looked at the new time and is waiting again,
// so a test sees the effect of each step without sleeping.
class ManualClock final : public CheckClock {
 public:
  // Called by the dispatcher only: remembers what time its pass used.
  TimePoint Now() override {
    std::lock_guard lock(mutex_);
    read_ = now_;
    return now_;
  }

  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint /*deadline*/) override {
    {
      std::lock_guard guard(mutex_);
      waiter_cv_ = &cv;
      waiter_mutex_ = lock.mutex();
      settled_ = read_;
    }
    settled_cv_.notify_all();
    // Woken by Advance() (which needs `lock` to notify, so no wakeup is
    // lost), by a stop, or spuriously: the dispatcher then re-reads Now().
    cv.wait(lock);
  }

  // The current time, for run functions (does not count as a dispatcher
  // read).
  TimePoint time() const {
    std::lock_guard lock(mutex_);
    return now_;
  }

  // Waits until the dispatcher has handled the current time.
  void Settle() {
    std::unique_lock lock(mutex_);
    ASSERT_TRUE(settled_cv_.wait_for(lock, kStuck, [this] { return settled_ == now_; }))
        << "the dispatcher did not look at the time";
  }

  // Moves the time forward by `step` and waits until the dispatcher has
  // handled it.
  void Advance(std::chrono::nanoseconds step) {
    Settle();
    std::condition_variable* cv;
    std::mutex* waiter_mutex;
    {
      std::lock_guard lock(mutex_);
      now_ += step;
      cv = waiter_cv_;
      waiter_mutex = waiter_mutex_;
    }
    {
      std::lock_guard lock(*waiter_mutex);
      cv->notify_all();
    }
    Settle();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable settled_cv_;
  TimePoint now_{std::chrono::hours(1000)};
  TimePoint read_{};     // the time of the dispatcher's latest pass
  TimePoint settled_{};  // read_ when the dispatcher last began to wait
  std::condition_variable* waiter_cv_ = nullptr;
  std::mutex* waiter_mutex_ = nullptr;
};

// What the run function saw: the start time of every run per check, how
// many run at once, and a gate that holds "hung" checks until opened or
// stopped.
class Runs {
 public:
  explicit Runs(const ManualClock* clock) : clock_(clock) {}

  // The scheduler's RunFn: records the run; a check in `hung` blocks until
  // Release() or a stop request.
  void Run(std::size_t index, std::stop_token stop) {
    std::unique_lock lock(mutex_);
    starts_[index].push_back(clock_ != nullptr ? clock_->time() - start_ : milliseconds(0));
    const int running = ++running_[index];
    max_running_[index] = std::max(max_running_[index], running);
    ++total_;
    cv_.notify_all();
    if (hung_.count(index) != 0) {
      cv_.wait(lock, stop, [&] { return released_; });
      if (stop.stop_requested()) ++stopped_;
    }
    --running_[index];
    cv_.notify_all();
  }

  void set_start(CheckClock::TimePoint start) { start_ = start; }
  void Hang(std::size_t index) { hung_.insert(index); }

  // Lets every hung run return.
  void Release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }

  // Waits until `total` runs have started (in all).
  void WaitForRuns(int total) {
    std::unique_lock lock(mutex_);
    ASSERT_TRUE(cv_.wait_for(lock, kStuck, [&] { return total_ >= total; }))
        << "only " << total_ << " of " << total << " runs started";
  }

  std::vector<milliseconds> starts(std::size_t index) {
    std::lock_guard lock(mutex_);
    std::vector<milliseconds> out;
    for (std::chrono::nanoseconds t : starts_[index]) {
      out.push_back(std::chrono::duration_cast<milliseconds>(t));
    }
    return out;
  }
  int total() {
    std::lock_guard lock(mutex_);
    return total_;
  }
  int max_running(std::size_t index) {
    std::lock_guard lock(mutex_);
    return max_running_[index];
  }
  int stopped() {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

 private:
  const ManualClock* clock_;
  std::mutex mutex_;
  std::condition_variable_any cv_;
  CheckClock::TimePoint start_{};
  std::set<std::size_t> hung_;
  std::map<std::size_t, std::vector<std::chrono::nanoseconds>> starts_;
  std::map<std::size_t, int> running_;
  std::map<std::size_t, int> max_running_;
  int total_ = 0;
  int stopped_ = 0;
  bool released_ = false;
};

// A scheduler on a manual clock whose runs go to `runs`.
struct Fixture {
  explicit Fixture(std::vector<std::chrono::nanoseconds> intervals, int max_workers = 4)
      : runs(&clock),
        scheduler(
            [&] {
              CheckSchedulerOptions options;
              options.intervals = std::move(intervals);
              options.max_workers = max_workers;
              options.clock = &clock;
              return options;
            }(),
            [this](std::size_t i, std::stop_token stop) { runs.Run(i, stop); }) {
    runs.set_start(clock.time());
  }
  void Start() {
    scheduler.Start();
    clock.Settle();
  }

  // Waits until check `index` is neither running nor waiting for a worker
  // (its run function returns a moment before the scheduler notices).
  void WaitInactive(std::size_t index) {
    const auto deadline = std::chrono::steady_clock::now() + kStuck;
    while (scheduler.run_stats()[index].active) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "check " << index << " stays active";
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  ManualClock clock;
  Runs runs;
  CheckScheduler scheduler;
};

TEST(CheckSchedulerTest, RunsAtStartThenOnEverySlot) {
  Fixture f({milliseconds(100)});
  f.Start();
  f.runs.WaitForRuns(1);
  f.clock.Advance(milliseconds(50));  // not due yet
  f.WaitInactive(0);
  EXPECT_EQ(f.runs.total(), 1);
  f.clock.Advance(milliseconds(50));
  f.runs.WaitForRuns(2);
  f.WaitInactive(0);
  f.clock.Advance(milliseconds(100));
  f.runs.WaitForRuns(3);
  EXPECT_THAT(f.runs.starts(0), ElementsAre(milliseconds(0), milliseconds(100), milliseconds(200)));
  f.scheduler.Stop();
  EXPECT_EQ(f.scheduler.run_stats()[0].runs, 3u);
  EXPECT_EQ(f.scheduler.run_stats()[0].skipped, 0u);
}

TEST(CheckSchedulerTest, MissedSlotsRunOnceOnTheGridInsteadOfBursting) {
  Fixture f({milliseconds(100)});
  f.Start();
  f.runs.WaitForRuns(1);
  f.WaitInactive(0);
  // The scheduler wakes 350 ms later (e.g. the process was stopped): the
  // slots at 100 and 200 are skipped, the one at 300 runs late, and the next
  // run is at 400 (the grid), not 450.
  f.clock.Advance(milliseconds(350));
  f.runs.WaitForRuns(2);
  f.WaitInactive(0);
  EXPECT_EQ(f.runs.total(), 2);
  f.clock.Advance(milliseconds(50));
  f.runs.WaitForRuns(3);
  EXPECT_THAT(f.runs.starts(0), ElementsAre(milliseconds(0), milliseconds(350), milliseconds(400)));
  f.scheduler.Stop();
  EXPECT_EQ(f.scheduler.run_stats()[0].runs, 3u);
  EXPECT_EQ(f.scheduler.run_stats()[0].skipped, 2u);
}

TEST(CheckSchedulerTest, TwoChecksWithDifferentIntervalsInterleave) {
  Fixture f({milliseconds(100), milliseconds(250)});
  f.Start();
  f.runs.WaitForRuns(2);
  f.WaitInactive(0);
  f.WaitInactive(1);
  for (int t = 50; t <= 1000; t += 50) {
    f.clock.Advance(milliseconds(50));
    // Slots so far: every 100 ms of check 0 and every 250 ms of check 1,
    // both counting the one at 0.
    f.runs.WaitForRuns((t / 100 + 1) + (t / 250 + 1));
    f.WaitInactive(0);
    f.WaitInactive(1);
    ASSERT_EQ(f.runs.total(), (t / 100 + 1) + (t / 250 + 1)) << "at " << t << " ms";
  }
  std::vector<milliseconds> fast, slow;
  for (int t = 0; t <= 1000; t += 100) fast.push_back(milliseconds(t));
  for (int t = 0; t <= 1000; t += 250) slow.push_back(milliseconds(t));
  EXPECT_EQ(f.runs.starts(0), fast);
  EXPECT_EQ(f.runs.starts(1), slow);
  f.scheduler.Stop();
  EXPECT_EQ(f.scheduler.run_stats()[0].skipped, 0u);
  EXPECT_EQ(f.scheduler.run_stats()[1].skipped, 0u);
}

TEST(CheckSchedulerTest, HungCheckDoesNotDelayAnotherAndNeverOverlapsItself) {
  Fixture f({milliseconds(100), milliseconds(100)});
  f.runs.Hang(0);
  f.Start();
  f.runs.WaitForRuns(2);
  f.WaitInactive(1);
  for (int step = 1; step <= 10; ++step) {
    f.clock.Advance(milliseconds(100));
    f.runs.WaitForRuns(2 + step);  // check 1 runs on every slot
    f.WaitInactive(1);
  }
  EXPECT_EQ(f.runs.starts(0).size(), 1u);
  EXPECT_EQ(f.runs.starts(1).size(), 11u);
  std::vector<CheckRunStats> counts = f.scheduler.run_stats();
  EXPECT_EQ(counts[0].runs, 1u);
  EXPECT_EQ(counts[0].skipped, 10u);  // every slot while it hung
  EXPECT_EQ(counts[1].runs, 11u);
  EXPECT_EQ(counts[1].skipped, 0u);

  // Once it returns, the hung check runs again at its next slot.
  f.runs.Release();
  f.WaitInactive(0);
  f.clock.Advance(milliseconds(100));
  f.runs.WaitForRuns(2 + 10 + 2);
  EXPECT_THAT(f.runs.starts(0), ElementsAre(milliseconds(0), milliseconds(1100)));
  EXPECT_EQ(f.runs.max_running(0), 1);
  EXPECT_EQ(f.runs.max_running(1), 1);
  f.scheduler.Stop();
  EXPECT_EQ(f.scheduler.run_stats()[0].skipped, 10u);
}

TEST(CheckSchedulerTest, WorkersAreBoundedAndQueuedSlotsAreSkipped) {
  EXPECT_EQ(Fixture({milliseconds(100)}).scheduler.workers(), 1);
  EXPECT_EQ(
      Fixture(std::vector<std::chrono::nanoseconds>(6, milliseconds(100))).scheduler.workers(), 4);
  // Two workers, both held by hung checks: the third check waits for a
  // worker, and its slots pass meanwhile.
  Fixture f({milliseconds(100), milliseconds(100), milliseconds(100)}, /*max_workers=*/2);
  EXPECT_EQ(f.scheduler.workers(), 2);
  f.runs.Hang(0);
  f.runs.Hang(1);
  f.Start();
  f.runs.WaitForRuns(2);
  f.clock.Advance(milliseconds(100));
  f.clock.Advance(milliseconds(100));
  EXPECT_EQ(f.runs.total(), 2);
  std::vector<CheckRunStats> counts = f.scheduler.run_stats();
  EXPECT_EQ(counts[0].skipped, 2u);
  EXPECT_EQ(counts[1].skipped, 2u);
  EXPECT_EQ(counts[2].runs, 0u);
  EXPECT_EQ(counts[2].skipped, 2u);  // + the slot at 0, still queued
  // A freed worker takes the queued check at once.
  f.runs.Release();
  f.runs.WaitForRuns(3);
  EXPECT_THAT(f.runs.starts(2), ElementsAre(milliseconds(200)));
  f.scheduler.Stop();
}

TEST(CheckSchedulerTest, StopEndsRunningChecksAndDropsQueuedOnes) {
  Fixture f({milliseconds(100), milliseconds(100)}, /*max_workers=*/1);
  f.runs.Hang(0);
  f.runs.Hang(1);
  f.Start();
  f.runs.WaitForRuns(1);  // one worker: the other check is queued
  f.scheduler.Stop();     // returns only after the hung run saw the stop
  EXPECT_EQ(f.runs.stopped(), 1);
  EXPECT_EQ(f.runs.total(), 1);  // the queued run was dropped
  f.scheduler.Stop();            // idempotent
  f.scheduler.Start();           // no restart after a stop
  EXPECT_EQ(f.runs.total(), 1);
}

TEST(CheckSchedulerTest, StopWithoutStartAndNoChecks) {
  Fixture unstarted({milliseconds(100)});
  unstarted.scheduler.Stop();
  EXPECT_EQ(unstarted.scheduler.run_stats()[0].runs, 0u);

  CheckScheduler empty(CheckSchedulerOptions{}, [](std::size_t, std::stop_token) {});
  empty.Start();  // no threads
  EXPECT_EQ(empty.workers(), 0);
  EXPECT_TRUE(empty.run_stats().empty());
}

TEST(CheckSchedulerTest, SteadyClockKeepsAFastCheckRunningBesideAHungOne) {
  // The real clock: a 100 ms check keeps running while the other hangs.
  Runs runs(nullptr);
  runs.Hang(0);
  CheckSchedulerOptions options;
  options.intervals = {milliseconds(100), milliseconds(100)};
  CheckScheduler scheduler(options,
                           [&](std::size_t i, std::stop_token stop) { runs.Run(i, stop); });
  scheduler.Start();
  runs.WaitForRuns(1 + 3);
  scheduler.Stop();
  EXPECT_EQ(runs.starts(0).size(), 1u);
  EXPECT_GE(runs.starts(1).size(), 3u);
  EXPECT_GE(scheduler.run_stats()[0].skipped, 2u);
  EXPECT_EQ(runs.stopped(), 1);
}

}  // namespace
}  // namespace tpslab::monitor
