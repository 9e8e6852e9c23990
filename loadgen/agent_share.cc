#include "loadgen/agent_share.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace tpslab::loadgen {

absl::StatusOr<RunShare> ShareOf(const v1::RunSpec& spec) {
  const std::string where = absl::StrCat("run ", spec.run_id(), ": ");
  if (spec.agent_count() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(where, "agent_count is 0"));
  }
  if (spec.agent_index() >= spec.agent_count()) {
    return absl::InvalidArgumentError(absl::StrCat(where, "agent_index ", spec.agent_index(),
                                                   " is not below agent_count ",
                                                   spec.agent_count()));
  }
  RunShare share{.index = spec.agent_index(), .count = spec.agent_count()};
  share.rate_share = spec.rate_share() == 0 ? 1.0 / spec.agent_count() : spec.rate_share();
  if (!(share.rate_share > 0 && share.rate_share <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, "rate_share ", spec.rate_share(), " is not in (0, 1]"));
  }
  return share;
}

uint64_t LocalUsers(uint64_t total, const RunShare& share) {
  if (total <= share.index) return 0;
  return (total - share.index + share.count - 1) / share.count;
}

uint64_t GlobalUser(uint64_t local, const RunShare& share) {
  return local * share.count + share.index;
}

uint64_t SplitCount(uint64_t total, const RunShare& share) {
  return total / share.count + (share.index < total % share.count ? 1 : 0);
}

v1::Scenario ApplyShare(v1::Scenario scenario, const RunShare& share) {
  if (share.count <= 1 && share.rate_share == 1) return scenario;
  if (scenario.has_open()) {
    v1::OpenModel& open = *scenario.mutable_open();
    for (v1::Stage& stage : *open.mutable_stages()) {
      stage.set_target(stage.target() * share.rate_share);
    }
    if (open.max_concurrency() != 0) {
      open.set_max_concurrency(
          static_cast<uint32_t>(std::max<uint64_t>(1, SplitCount(open.max_concurrency(), share))));
    }
  }
  for (v1::Transaction& tx : *scenario.mutable_transactions()) {
    for (v1::Step& step : *tx.mutable_steps()) {
      if (!step.has_rendezvous() || step.rendezvous().users() == 0) continue;
      const uint64_t mine = LocalUsers(step.rendezvous().users(), share);
      step.mutable_rendezvous()->set_users(static_cast<uint32_t>(std::max<uint64_t>(1, mine)));
    }
  }
  return scenario;
}

}  // namespace tpslab::loadgen
