#include "ftpd/limits.h"

#include <boost/asio/ip/address.hpp>
#include <chrono>

#include "gtest/gtest.h"

namespace tpslab::ftpd {
namespace {

using boost::asio::ip::make_address;

TEST(NormalizeAddressTest, MapsV4MappedToV4) {
  EXPECT_EQ(NormalizeAddress(make_address("::ffff:10.1.2.3")), make_address("10.1.2.3"));
  EXPECT_EQ(NormalizeAddress(make_address("::1")), make_address("::1"));
}

TEST(ConnectionLimiterTest, CountsPerAddress) {
  ConnectionLimiter limiter(2);
  const auto a = make_address("10.0.0.1");
  const auto b = make_address("10.0.0.2");
  EXPECT_TRUE(limiter.Acquire(a));
  EXPECT_TRUE(limiter.Acquire(make_address("::ffff:10.0.0.1")));  // same address
  EXPECT_FALSE(limiter.Acquire(a));
  EXPECT_TRUE(limiter.Acquire(b));
  limiter.Release(a);
  EXPECT_TRUE(limiter.Acquire(a));
}

TEST(LoginGuardTest, LocksOutAfterThresholdUntilDurationPasses) {
  LoginGuard::Clock::time_point now{};
  LoginGuard guard(3, std::chrono::minutes(1), [&] { return now; });
  const auto a = make_address("192.0.2.1");
  for (int i = 0; i < 2; ++i) guard.RecordFailure(a);
  EXPECT_FALSE(guard.LockedOut(a));
  guard.RecordFailure(a);
  EXPECT_TRUE(guard.LockedOut(a));
  EXPECT_FALSE(guard.LockedOut(make_address("192.0.2.2")));
  now += std::chrono::seconds(59);
  EXPECT_TRUE(guard.LockedOut(a));
  now += std::chrono::seconds(1);
  EXPECT_FALSE(guard.LockedOut(a));
  EXPECT_EQ(guard.size(), 0u);
}

TEST(LoginGuardTest, FailuresFarApartDoNotAccumulate) {
  LoginGuard::Clock::time_point now{};
  LoginGuard guard(2, std::chrono::seconds(10), [&] { return now; });
  const auto a = make_address("192.0.2.1");
  guard.RecordFailure(a);
  now += std::chrono::seconds(11);
  guard.RecordFailure(a);
  EXPECT_FALSE(guard.LockedOut(a));
}

TEST(LoginGuardTest, ZeroThresholdNeverLocks) {
  LoginGuard guard(0, std::chrono::seconds(10));
  const auto a = make_address("192.0.2.1");
  for (int i = 0; i < 100; ++i) guard.RecordFailure(a);
  EXPECT_FALSE(guard.LockedOut(a));
}

}  // namespace
}  // namespace tpslab::ftpd
