#include "monitor/check_scheduler.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace tpslab::monitor {
namespace {

class SteadyClock final : public CheckClock {
 public:
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override {
    cv.wait_until(lock, deadline);
  }
};

}  // namespace

CheckClock& SteadyCheckClock() {
  static SteadyClock clock;
  return clock;
}

CheckScheduler::CheckScheduler(CheckSchedulerOptions options, RunFn run)
    : clock_(options.clock != nullptr ? options.clock : &SteadyCheckClock()),
      workers_(std::min<int>(static_cast<int>(options.intervals.size()), options.max_workers)),
      run_(std::move(run)) {
  assert(options.max_workers >= 1);
  for (std::chrono::nanoseconds interval : options.intervals) {
    assert(interval > std::chrono::nanoseconds::zero());
    checks_.push_back({interval, CheckClock::TimePoint{}, State::kIdle, {}});
  }
}

CheckScheduler::~CheckScheduler() { Stop(); }

void CheckScheduler::Start() {
  std::lock_guard lock(mutex_);
  if (started_ || stopping_ || checks_.empty()) return;
  started_ = true;
  const CheckClock::TimePoint start = clock_->Now();
  for (Check& check : checks_) check.next_slot = start;
  threads_.emplace_back([this] { Dispatch(); });
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { Work(); });
}

void CheckScheduler::RequestStop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();
    for (Check& check : checks_) {
      if (check.state == State::kQueued) check.state = State::kIdle;
    }
  }
  stop_source_.request_stop();
  dispatch_cv_.notify_all();
  work_cv_.notify_all();
}

void CheckScheduler::Stop() {
  RequestStop();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

std::vector<CheckRunStats> CheckScheduler::run_stats() const {
  std::lock_guard lock(mutex_);
  std::vector<CheckRunStats> stats;
  stats.reserve(checks_.size());
  for (const Check& check : checks_) {
    stats.push_back(check.stats);
    stats.back().active = check.state != State::kIdle;
  }
  return stats;
}

int CheckScheduler::workers() const { return workers_; }

void CheckScheduler::Dispatch() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const CheckClock::TimePoint now = clock_->Now();
    CheckClock::TimePoint wake = CheckClock::TimePoint::max();
    bool queued = false;
    for (std::size_t i = 0; i < checks_.size(); ++i) {
      Check& check = checks_[i];
      if (check.next_slot <= now) {
        // Slots next_slot, next_slot + interval, ... up to now have come.
        const uint64_t due = static_cast<uint64_t>((now - check.next_slot) / check.interval) + 1;
        check.next_slot += static_cast<int64_t>(due) * check.interval;
        if (check.state == State::kIdle) {
          // The latest slot runs; older ones were missed while we were late.
          check.state = State::kQueued;
          check.stats.skipped += due - 1;
          queue_.push_back(i);
          queued = true;
        } else {
          check.stats.skipped += due;  // never overlap a check with itself
        }
      }
      wake = std::min(wake, check.next_slot);
    }
    if (queued) work_cv_.notify_all();
    clock_->WaitUntil(dispatch_cv_, lock, wake);
  }
}

void CheckScheduler::Work() {
  std::unique_lock lock(mutex_);
  while (true) {
    work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const std::size_t index = queue_.front();
    queue_.pop_front();
    Check& check = checks_[index];
    check.state = State::kRunning;
    ++check.stats.runs;
    lock.unlock();
    run_(index, stop_source_.get_token());
    lock.lock();
    check.state = State::kIdle;
  }
}

}  // namespace tpslab::monitor
