#include "ftpd/shared_rate.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

namespace tpslab::ftpd {
namespace {

using std::chrono::milliseconds;
using Clock = SharedRate::Clock;

const Clock::time_point kT0 = Clock::time_point() + std::chrono::hours(1);

TEST(SharedRateTest, SendersShareTheRateAfterABurst) {
  SharedRate rate(1000);  // 100 bytes = 100 ms.
  // Within the burst, nobody waits.
  EXPECT_EQ(rate.Reserve(100, kT0), kT0);
  // Then each booking waits for the one before it, whoever made it.
  EXPECT_EQ(rate.Reserve(100, kT0), kT0 + milliseconds(100));
  EXPECT_EQ(rate.Reserve(100, kT0 + milliseconds(100)), kT0 + milliseconds(200));
  EXPECT_EQ(rate.Reserve(50, kT0 + milliseconds(200)), kT0 + milliseconds(250));
}

TEST(SharedRateTest, TwoSendersTogetherGetTheRateNotTwiceIt) {
  SharedRate rate(10000);  // 1,000 bytes = 100 ms.
  Clock::time_point a = kT0, b = kT0;
  for (int i = 0; i < 50; ++i) {
    a = rate.Reserve(1000, a);
    b = rate.Reserve(1000, b);
  }
  // 100,000 bytes at 10,000 B/s: 10 s, less the 100 ms burst.
  EXPECT_EQ(std::max(a, b), kT0 + milliseconds(9900));
}

TEST(SharedRateTest, IdleTimeIsNotSavedUpBeyondTheBurst) {
  SharedRate rate(1000);
  rate.Reserve(100, kT0);
  const Clock::time_point later = kT0 + std::chrono::seconds(10);
  EXPECT_EQ(rate.Reserve(100, later), later);
  EXPECT_EQ(rate.Reserve(100, later), later + milliseconds(100));
}

TEST(UserRatesTest, SessionsOfOneUserShareOneRate) {
  UserRates rates(4096);
  std::shared_ptr<SharedRate> alice1 = rates.For("alice");
  std::shared_ptr<SharedRate> alice2 = rates.For("alice");
  std::shared_ptr<SharedRate> bob = rates.For("bob");
  EXPECT_EQ(alice1, alice2);
  EXPECT_NE(alice1, bob);
  EXPECT_EQ(alice1->bytes_per_second(), 4096u);
  // Once no session holds it, a user starts afresh (no debt carried over).
  alice1->Reserve(1 << 20, kT0);
  alice1.reset();
  alice2.reset();
  std::shared_ptr<SharedRate> again = rates.For("alice");
  EXPECT_EQ(again->Reserve(1, kT0), kT0);
}

TEST(UserRatesTest, ManyUsersComingAndGoingAreForgotten) {
  UserRates rates(1000);
  std::shared_ptr<SharedRate> kept = rates.For("kept");
  for (int i = 0; i < 10000; ++i) rates.For("user" + std::to_string(i));
  EXPECT_LT(rates.tracked(), 200u);
  EXPECT_EQ(rates.For("kept"), kept);
}

}  // namespace
}  // namespace tpslab::ftpd
