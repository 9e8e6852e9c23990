#include "ftpd/limits.h"

#include <utility>

namespace tpslab::ftpd {

namespace asio = boost::asio;

asio::ip::address NormalizeAddress(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

bool ConnectionLimiter::Acquire(const asio::ip::address& address) {
  std::lock_guard lock(mutex_);
  unsigned& count = counts_[NormalizeAddress(address)];
  if (count >= max_per_ip_) {
    if (count == 0) counts_.erase(NormalizeAddress(address));
    return false;
  }
  ++count;
  return true;
}

void ConnectionLimiter::Release(const asio::ip::address& address) {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(NormalizeAddress(address));
  if (it == counts_.end()) return;
  if (--it->second == 0) counts_.erase(it);
}

LoginGuard::LoginGuard(unsigned threshold, Clock::duration duration,
                       std::function<Clock::time_point()> clock)
    : threshold_(threshold), duration_(duration), clock_(std::move(clock)) {}

bool LoginGuard::LockedOut(const asio::ip::address& address) {
  if (threshold_ == 0) return false;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(NormalizeAddress(address));
  if (it == entries_.end()) return false;
  if (clock_() - it->second.last >= duration_) {
    entries_.erase(it);
    return false;
  }
  return it->second.failures >= threshold_;
}

void LoginGuard::RecordFailure(const asio::ip::address& address) {
  if (threshold_ == 0) return;
  const Clock::time_point now = clock_();
  std::lock_guard lock(mutex_);
  if (entries_.size() >= 65536) Prune(now);
  Entry& entry = entries_[NormalizeAddress(address)];
  if (entry.failures > 0 && now - entry.last >= duration_) entry.failures = 0;
  ++entry.failures;
  entry.last = now;
}

std::size_t LoginGuard::size() {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void LoginGuard::Prune(Clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (now - it->second.last >= duration_) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace tpslab::ftpd
