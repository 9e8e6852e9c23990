// Per-address limits shared by every session of a server: how many sessions
// each IP address has open (ConnectionLimiter), and which addresses are
// locked out after too many failed logins (LoginGuard). Both are touched
// only when a connection opens or closes and when a login fails, never per
// command, so a mutex is cheap enough. Both are thread-safe.
//
//   ConnectionLimiter limiter(/*max_per_ip=*/64);
//   if (!limiter.Acquire(address)) { reply 421; close; }
//   ... limiter.Release(address);
//
//   LoginGuard guard(/*threshold=*/20, std::chrono::minutes(5));
//   if (guard.LockedOut(address)) { reply 530; }
//   guard.RecordFailure(address);
#ifndef TPSLAB_FTPD_LIMITS_H_
#define TPSLAB_FTPD_LIMITS_H_

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <unordered_map>

namespace tpslab::ftpd {

// The address as the limits see it: IPv4-mapped IPv6 addresses become IPv4.
boost::asio::ip::address NormalizeAddress(const boost::asio::ip::address& address);

class ConnectionLimiter {
 public:
  // Allows at most `max_per_ip` (>= 1) sessions per address.
  explicit ConnectionLimiter(unsigned max_per_ip) : max_per_ip_(max_per_ip) {}
  // Counts a new session from `address`; false (and nothing counted) when
  // the address already has max_per_ip sessions.
  bool Acquire(const boost::asio::ip::address& address);
  // Ends a session counted by Acquire.
  void Release(const boost::asio::ip::address& address);

 private:
  const unsigned max_per_ip_;
  std::mutex mutex_;
  std::unordered_map<boost::asio::ip::address, unsigned> counts_;
};

class LoginGuard {
 public:
  using Clock = std::chrono::steady_clock;
  // Locks an address out once it has `threshold` failures, each less than
  // `duration` after the previous one, until `duration` after the last.
  // `threshold` 0 disables lockouts. `clock` is a test seam.
  LoginGuard(unsigned threshold, Clock::duration duration,
             std::function<Clock::time_point()> clock = Clock::now);
  // True while `address` is locked out.
  bool LockedOut(const boost::asio::ip::address& address);
  // Counts one failed login from `address`.
  void RecordFailure(const boost::asio::ip::address& address);
  // Addresses tracked (bounded: stale entries are dropped as it grows).
  std::size_t size();

 private:
  struct Entry {
    unsigned failures = 0;
    Clock::time_point last;
  };
  void Prune(Clock::time_point now);

  const unsigned threshold_;
  const Clock::duration duration_;
  const std::function<Clock::time_point()> clock_;
  std::mutex mutex_;
  std::unordered_map<boost::asio::ip::address, Entry> entries_;
};

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_LIMITS_H_
