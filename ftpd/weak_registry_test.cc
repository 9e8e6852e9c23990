#include "ftpd/weak_registry.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace tpslab::ftpd {
namespace {

TEST(WeakRegistryTest, FindsAnObjectOnlyWhileItIsHeld) {
  WeakRegistry<std::string, int> registry;
  EXPECT_EQ(registry.Find("a"), nullptr);
  auto a = std::make_shared<int>(7);
  registry.Insert("a", a);
  EXPECT_EQ(registry.Find("a"), a);
  EXPECT_EQ(registry.live(), 1u);
  a.reset();
  EXPECT_EQ(registry.Find("a"), nullptr);
  EXPECT_EQ(registry.live(), 0u);
}

TEST(WeakRegistryTest, InfoIsReturnedWithALiveObject) {
  WeakRegistry<std::string, int, long> registry;
  auto a = std::make_shared<int>(1);
  registry.Insert("a", a, 42);
  long info = 0;
  ASSERT_EQ(registry.Find("a", &info), a);
  EXPECT_EQ(info, 42);

  auto b = std::make_shared<int>(2);
  registry.Insert("a", b, 43);  // replaces
  ASSERT_EQ(registry.Find("a", &info), b);
  EXPECT_EQ(info, 43);

  b.reset();
  info = 0;
  EXPECT_EQ(registry.Find("a", &info), nullptr);
  EXPECT_EQ(info, 0) << "no info for a dead object";
}

TEST(WeakRegistryTest, DeadEntriesAreSweptSoTheMapStaysNearTheLiveCount) {
  WeakRegistry<int, int> registry;
  auto kept = std::make_shared<int>(0);
  registry.Insert(-1, kept);
  for (int i = 0; i < 10'000; ++i) {
    registry.Insert(i, std::make_shared<int>(i));  // dies at once
  }
  EXPECT_LE(registry.size(), 64u) << "swept whenever the map reached its sweep size";
  EXPECT_EQ(registry.Find(-1), kept);
  EXPECT_EQ(registry.live(), 1u);
}

TEST(WeakRegistryTest, LiveEntriesSurviveEverySweep) {
  WeakRegistry<int, int> registry;
  std::vector<std::shared_ptr<int>> held;
  for (int i = 0; i < 1'000; ++i) {
    held.push_back(std::make_shared<int>(i));
    registry.Insert(i, held.back());
  }
  EXPECT_EQ(registry.live(), 1'000u);
  for (int i = 0; i < 1'000; ++i) ASSERT_EQ(registry.Find(i), held[i]) << i;
}

}  // namespace
}  // namespace tpslab::ftpd
