// SharedRate: one byte rate shared by concurrent transfers - all sessions
// of one user under --user-bandwidth-limit - and UserRates, which hands out
// one SharedRate per user name while that user has sessions.
//
//   UserRates rates(1 << 20);                        // 1 MiB/s per user
//   std::shared_ptr<SharedRate> alice = rates.For("alice");
//   // after each chunk, in each of alice's transfers:
//   auto when = alice->Reserve(chunk_bytes, SharedRate::Clock::now());
//   // ... wait until `when`, then send the next chunk
//
// The rate is kept with a virtual finishing time (GCRA): each reservation
// pushes it on by bytes / rate, and a sender may run ahead of it by at most
// kBurst, so an idle user's first chunk goes at once while the long-run
// total of all the user's transfers stays at the rate. Thread-safe.
#ifndef TPSLAB_FTPD_SHARED_RATE_H_
#define TPSLAB_FTPD_SHARED_RATE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "ftpd/weak_registry.h"

namespace tpslab::ftpd {

class SharedRate {
 public:
  using Clock = std::chrono::steady_clock;

  // How far a transfer may run ahead of the shared schedule.
  static constexpr Clock::duration kBurst = std::chrono::milliseconds(100);

  // `bytes_per_second` > 0.
  explicit SharedRate(uint64_t bytes_per_second) : rate_(bytes_per_second) {}

  // Books `bytes` just sent at `now` and returns when the sender may send
  // more: `now` or later.
  Clock::time_point Reserve(std::size_t bytes, Clock::time_point now);

  uint64_t bytes_per_second() const { return rate_; }

 private:
  const uint64_t rate_;
  std::mutex mutex_;
  Clock::time_point finish_{};  // When everything booked so far has gone.
};

class UserRates {
 public:
  // `bytes_per_second` > 0 for every user.
  explicit UserRates(uint64_t bytes_per_second) : rate_(bytes_per_second) {}

  // The rate `user` shares among its sessions: the one its other sessions
  // hold, else a new one.
  std::shared_ptr<SharedRate> For(const std::string& user);

  // Users remembered now: those with sessions, and some that had them.
  std::size_t tracked() const;

 private:
  const uint64_t rate_;
  mutable std::mutex mutex_;
  WeakRegistry<std::string, SharedRate> users_;
};

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_SHARED_RATE_H_
