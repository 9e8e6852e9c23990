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
  std::weak_ptr<SharedRate>& slot = users_[user];
  std::shared_ptr<SharedRate> rate = slot.lock();
  if (!rate) {
    rate = std::make_shared<SharedRate>(rate_);
    slot = rate;
  }
  if (users_.size() >= sweep_at_) {
    std::erase_if(users_, [](const auto& entry) { return entry.second.expired(); });
    sweep_at_ = std::max<std::size_t>(64, 2 * users_.size());
  }
  return rate;
}

}  // namespace tpslab::ftpd

namespace tpslab::ftpd {

std::size_t UserRates::tracked() const {
  std::lock_guard lock(mutex_);
  return users_.size();
}

}  // namespace tpslab::ftpd
