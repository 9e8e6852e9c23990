#include "ftpd/shared_rate.h"

#include <algorithm>

namespace tpslab::ftpd {

SharedRate::Clock::time_point SharedRate::Reserve(std::size_t bytes, Clock::time_point now) {
  const auto cost = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(static_cast<double>(bytes) / static_cast<double>(rate_)));
  std::lock_guard lock(mutex_);
  // Time the user left unused is not saved up beyond the burst.
  finish_ = std::max(finish_, now) + cost;
  return std::max(now, finish_ - kBurst);
}

std::shared_ptr<SharedRate> UserRates::For(const std::string& user) {
  std::lock_guard lock(mutex_);
  std::shared_ptr<SharedRate> rate = users_.Find(user);
  if (!rate) {
    rate = std::make_shared<SharedRate>(rate_);
    users_.Insert(user, rate);
  }
  return rate;
}

std::size_t UserRates::tracked() const {
  std::lock_guard lock(mutex_);
  return users_.size();
}

}  // namespace tpslab::ftpd
