// A load agent's share of a distributed run: which virtual users it runs and
// how much of the arrival rate it generates, when a coordinator splits one
// scenario across `count` agents (tpslab.v1.RunSpec: agent_index,
// agent_count, rate_share).
//
//   closed model: agent `index` runs the global users u with
//                 u % count == index, so 10 users over 3 agents are 4/3/3 and
//                 the shares always add up to the total, at every level of a
//                 ramp (LocalUsers).
//   open model:   agent `index` generates rate_share of the arrival rate
//                 (stage targets scaled) and gets its part of the concurrency
//                 cap (SplitCount: the remainder goes to the lowest indexes).
//
// Usage:
//   RunShare share{.index = 1, .count = 3, .rate_share = 1.0 / 3};
//   LocalUsers(10, share);                    // 3 (users 1, 4, 7)
//   GlobalUser(2, share);                     // 7: the agent's third user
//   v1::Scenario mine = ApplyShare(scenario, share);   // rates, caps, rendezvous
#ifndef TPSLAB_LOADGEN_AGENT_SHARE_H_
#define TPSLAB_LOADGEN_AGENT_SHARE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "common/proto/run.pb.h"
#include "common/proto/scenario.pb.h"

namespace tpslab::loadgen {

struct RunShare {
  // This agent's index, 0 <= index < count. Default 0.
  uint32_t index = 0;
  // Agents sharing the run. Default 1: a standalone run.
  uint32_t count = 1;
  // Open model: fraction of the arrival rate. Default 1.
  double rate_share = 1;
};

// The share a RunSpec describes. InvalidArgument (naming the field and the
// run) when agent_count is 0, agent_index >= agent_count or rate_share is
// not in (0, 1]; a rate_share of 0 means 1/agent_count.
absl::StatusOr<RunShare> ShareOf(const v1::RunSpec& spec);

// Of the global users 0..total-1, how many this agent runs: those u with
// u % count == index.
uint64_t LocalUsers(uint64_t total, const RunShare& share);

// The global index of this agent's `local`-th user (0-based).
uint64_t GlobalUser(uint64_t local, const RunShare& share);

// `total` split over the agents: total / count, plus one for the first
// total % count agents.
uint64_t SplitCount(uint64_t total, const RunShare& share);

// The scenario this agent runs: open model stage targets times rate_share,
// max_concurrency split (at least 1 when the total is not 0); rendezvous
// points that wait for N users wait for this agent's LocalUsers(N) (at least
// 1). The closed model's stages are left as they are: the engine picks its
// users with LocalUsers (EngineOptions::share).
v1::Scenario ApplyShare(v1::Scenario scenario, const RunShare& share);

}  // namespace tpslab::loadgen

#endif  // TPSLAB_LOADGEN_AGENT_SHARE_H_
