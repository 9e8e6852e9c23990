// Runs each of N checks at its own fixed rate on a small pool of worker
// threads, so a slow or hung check never delays the others. The scheduler
// only decides when check i runs; what a run does is the caller's RunFn.
//
// Rules (docs/monitor.md, "Scheduling plugin checks"):
//   - Check i is due at Start() and then every intervals[i] after it: slots
//     start + k * intervals[i] (fixed rate, no drift from run times).
//   - A check never overlaps itself: a slot that comes while the check is
//     still running, or still waiting for a worker, is skipped and counted.
//   - Slots missed while the scheduler itself was late (the process was
//     stopped, the machine suspended) run once, not in a burst; the others
//     are counted as skipped too. So at any time, for every check,
//     runs + skipped + (1 if waiting for a worker) == slots passed, until
//     a stop drops the runs still waiting.
//   - Due checks wait in one FIFO queue for min(checks, max_workers) worker
//     threads; a dispatcher thread moves them there at their slot times.
//
//   CheckSchedulerOptions options;
//   options.intervals = {std::chrono::seconds(10), std::chrono::seconds(60)};
//   CheckScheduler scheduler(options, [&](std::size_t i, std::stop_token stop) {
//     RunPlugin(plugins[i], timeout, 64 * 1024, stop);  // returns soon after a stop request
//   });
//   scheduler.Start();
//   ...
//   scheduler.Stop();  // returns once every running RunFn has returned
//
// Time comes from a CheckClock, so tests drive the scheduler with a manual
// clock instead of sleeping.
#ifndef TPSLAB_MONITOR_CHECK_SCHEDULER_H_
#define TPSLAB_MONITOR_CHECK_SCHEDULER_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

namespace tpslab::monitor {

// The scheduler's source of time and of timed waits.
class CheckClock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~CheckClock() = default;

  // Returns the current time.
  virtual TimePoint Now() = 0;

  // Blocks on `cv`, whose mutex `lock` holds, until this clock reaches
  // `deadline` or `cv` is notified (spurious returns are allowed: the
  // caller re-checks its condition).
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint deadline) = 0;
};

// Returns the process-wide CheckClock over std::chrono::steady_clock.
CheckClock& SteadyCheckClock();

struct CheckSchedulerOptions {
  // Time between two slots of each check, one entry per check; each must be
  // positive. Default empty: no checks, and Start() starts no threads.
  std::vector<std::chrono::nanoseconds> intervals;
  // Upper bound on worker threads; the scheduler uses min(checks,
  // max_workers). Must be at least 1. Default 4.
  int max_workers = 4;
  // Where time comes from, owned by the caller and outliving the scheduler.
  // Default null: SteadyCheckClock().
  CheckClock* clock = nullptr;
};

// What happened to one check's slots so far, and what it is doing now.
struct CheckRunStats {
  // Runs started.
  uint64_t runs = 0;
  // Slots that passed without starting a run (the check was still running
  // or waiting for a worker, or the scheduler was late).
  uint64_t skipped = 0;
  // Running, or due and waiting for a worker.
  bool active = false;
};

class CheckScheduler {
 public:
  // Runs check `index` once, on a worker thread. It should return soon
  // after `stop` is requested: Stop() waits for it.
  using RunFn = std::function<void(std::size_t index, std::stop_token stop)>;

  CheckScheduler(CheckSchedulerOptions options, RunFn run);
  // Stops and joins (see Stop()).
  ~CheckScheduler();
  CheckScheduler(const CheckScheduler&) = delete;
  CheckScheduler& operator=(const CheckScheduler&) = delete;

  // Starts the dispatcher and the workers; every check's first slot is now.
  // Does nothing when there are no checks, or when called again.
  void Start();

  // Asks every thread to finish and every running RunFn (through its
  // stop_token) to return; queued runs are dropped. Returns at once;
  // thread-safe and idempotent.
  void RequestStop();

  // RequestStop(), then waits until the threads have ended, i.e. until
  // every running RunFn has returned. Idempotent; call from one thread.
  void Stop();

  // Returns each check's stats (index as in options.intervals), all taken
  // at one moment. Thread-safe.
  std::vector<CheckRunStats> run_stats() const;

  // Returns the number of worker threads Start() runs: min(checks,
  // max_workers).
  int workers() const;

 private:
  enum class State { kIdle, kQueued, kRunning };
  struct Check {
    std::chrono::nanoseconds interval;
    CheckClock::TimePoint next_slot;
    State state = State::kIdle;
    CheckRunStats stats;  // `active` is filled in by run_stats()
  };

  void Dispatch();
  void Work();

  CheckClock* clock_;
  const int workers_;
  RunFn run_;
  std::stop_source stop_source_;

  mutable std::mutex mutex_;
  std::condition_variable dispatch_cv_;  // wakes the dispatcher: stop
  std::condition_variable work_cv_;      // wakes workers: queue or stop
  std::vector<Check> checks_;            // guarded by mutex_
  std::deque<std::size_t> queue_;        // guarded by mutex_: due, waiting for a worker
  bool stopping_ = false;                // guarded by mutex_
  bool started_ = false;                 // guarded by mutex_

  std::vector<std::thread> threads_;
};

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_CHECK_SCHEDULER_H_
