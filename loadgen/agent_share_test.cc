// The arithmetic of a distributed run's shares: users and rates split across
// agents add back up to the totals, at every level of a ramp.
#include "loadgen/agent_share.h"

#include <gtest/gtest.h>

#include <set>

namespace tpslab::loadgen {
namespace {

RunShare Share(uint32_t index, uint32_t count) {
  return {.index = index, .count = count, .rate_share = 1.0 / count};
}

TEST(AgentShareTest, TenUsersOverThreeAgentsAreFourThreeThree) {
  EXPECT_EQ(LocalUsers(10, Share(0, 3)), 4u);
  EXPECT_EQ(LocalUsers(10, Share(1, 3)), 3u);
  EXPECT_EQ(LocalUsers(10, Share(2, 3)), 3u);
  // Agent 1 runs the global users 1, 4, 7.
  EXPECT_EQ(GlobalUser(0, Share(1, 3)), 1u);
  EXPECT_EQ(GlobalUser(1, Share(1, 3)), 4u);
  EXPECT_EQ(GlobalUser(2, Share(1, 3)), 7u);
}

TEST(AgentShareTest, FewerUsersThanAgentsLeavesTheLastAgentsIdle) {
  EXPECT_EQ(LocalUsers(2, Share(0, 3)), 1u);
  EXPECT_EQ(LocalUsers(2, Share(1, 3)), 1u);
  EXPECT_EQ(LocalUsers(2, Share(2, 3)), 0u);
  EXPECT_EQ(LocalUsers(0, Share(0, 3)), 0u);
}

TEST(AgentShareTest, UserSharesAddUpAndCoverEveryUserOnce) {
  for (uint32_t count = 1; count <= 7; ++count) {
    for (uint64_t total = 0; total <= 50; ++total) {
      uint64_t sum = 0;
      std::set<uint64_t> users;
      for (uint32_t index = 0; index < count; ++index) {
        const RunShare share = Share(index, count);
        const uint64_t mine = LocalUsers(total, share);
        sum += mine;
        for (uint64_t local = 0; local < mine; ++local) {
          const uint64_t global = GlobalUser(local, share);
          EXPECT_EQ(global % count, index);
          users.insert(global);
        }
      }
      EXPECT_EQ(sum, total) << total << " users over " << count << " agents";
      EXPECT_EQ(users.size(), total);
      if (total > 0) {
        EXPECT_EQ(*users.rbegin(), total - 1);
      }
    }
  }
}

TEST(AgentShareTest, SplitCountAddsUp) {
  for (uint32_t count = 1; count <= 5; ++count) {
    for (uint64_t total : {0u, 1u, 4u, 1000u, 10001u}) {
      uint64_t sum = 0;
      for (uint32_t index = 0; index < count; ++index)
        sum += SplitCount(total, Share(index, count));
      EXPECT_EQ(sum, total);
    }
  }
  EXPECT_EQ(SplitCount(10, Share(0, 3)), 4u);
  EXPECT_EQ(SplitCount(10, Share(2, 3)), 3u);
}

v1::Scenario OpenScenario() {
  v1::Scenario scenario;
  v1::OpenModel& open = *scenario.mutable_open();
  open.set_max_concurrency(100);
  open.add_stages()->set_target(300);
  open.add_stages()->set_target(90);
  return scenario;
}

TEST(AgentShareTest, OpenModelRatesAndCapsAddUp) {
  double rate0 = 0, rate1 = 0;
  uint64_t cap = 0;
  for (uint32_t index = 0; index < 3; ++index) {
    const v1::Scenario mine = ApplyShare(OpenScenario(), Share(index, 3));
    EXPECT_DOUBLE_EQ(mine.open().stages(0).target(), 100);
    rate0 += mine.open().stages(0).target();
    rate1 += mine.open().stages(1).target();
    cap += mine.open().max_concurrency();
  }
  EXPECT_DOUBLE_EQ(rate0, 300);
  EXPECT_DOUBLE_EQ(rate1, 90);
  EXPECT_EQ(cap, 100u);
  EXPECT_EQ(ApplyShare(OpenScenario(), Share(0, 3)).open().max_concurrency(), 34u);
}

TEST(AgentShareTest, ClosedStagesStayAndRendezvousWaitsForTheLocalUsers) {
  v1::Scenario scenario;
  scenario.mutable_closed()->add_stages()->set_target(10);
  v1::Step& step = *scenario.add_transactions()->add_steps();
  step.mutable_rendezvous()->set_name("burst");
  step.mutable_rendezvous()->set_users(10);
  const v1::Scenario mine = ApplyShare(scenario, Share(1, 3));
  EXPECT_DOUBLE_EQ(mine.closed().stages(0).target(), 10);  // The engine picks its users.
  EXPECT_EQ(mine.transactions(0).steps(0).rendezvous().users(), 3u);
  // A standalone run is unchanged.
  EXPECT_EQ(ApplyShare(scenario, RunShare{}).SerializeAsString(), scenario.SerializeAsString());
}

TEST(AgentShareTest, ShareOfRunSpecChecksTheFields) {
  v1::RunSpec spec;
  spec.set_run_id("r7");
  spec.set_agent_index(1);
  spec.set_agent_count(4);
  absl::StatusOr<RunShare> share = ShareOf(spec);
  ASSERT_TRUE(share.ok()) << share.status();
  EXPECT_EQ(share->index, 1u);
  EXPECT_EQ(share->count, 4u);
  EXPECT_DOUBLE_EQ(share->rate_share, 0.25);  // 0: one agent's part.

  spec.set_agent_count(0);
  EXPECT_EQ(ShareOf(spec).status(), absl::InvalidArgumentError("run r7: agent_count is 0"));
  spec.set_agent_count(1);
  EXPECT_EQ(ShareOf(spec).status(),
            absl::InvalidArgumentError("run r7: agent_index 1 is not below agent_count 1"));
  spec.set_agent_count(2);
  spec.set_rate_share(1.5);
  EXPECT_EQ(ShareOf(spec).status(),
            absl::InvalidArgumentError("run r7: rate_share 1.5 is not in (0, 1]"));
}

}  // namespace
}  // namespace tpslab::loadgen
