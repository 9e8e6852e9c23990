#include "loadgen/agent.h"

#include <google/protobuf/util/time_util.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/app/cli.h"
#include "loadgen/agent_share.h"
#include "loadgen/report.h"
#include "loadgen/run_command.h"
#include "loadgen/scenario.h"
#include "spdlog/spdlog.h"

namespace tpslab::loadgen {
namespace {

using google::protobuf::util::TimeUtil;
using SystemClock = std::chrono::system_clock;

double Seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// The most users any closed-model stage asks for.
uint64_t PeakUsers(const google::protobuf::RepeatedPtrField<v1::Stage>& stages) {
  double peak = 0;
  for (const v1::Stage& stage : stages) peak = std::max(peak, stage.target());
  return static_cast<uint64_t>(std::ceil(peak));
}

// SIGINT and SIGTERM, blocked in every thread started after the call and
// taken by WaitForSignals().
class SignalCatcher {
 public:
  // `on_signal(n)` runs on the catcher's thread for the n-th signal (1, 2).
  explicit SignalCatcher(std::function<void(int)> on_signal) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &previous_);
    thread_ = std::thread([this, on_signal = std::move(on_signal)] {
      int count = 0;
      const timespec slice{0, 200'000'000};
      while (!done_.load()) {
        if (sigtimedwait(&set_, nullptr, &slice) > 0) on_signal(++count);
      }
    });
  }
  ~SignalCatcher() {
    done_.store(true);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }

 private:
  sigset_t set_;
  sigset_t previous_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

void AddAgentOptions(CLI::App& agent, AgentOptions& o) {
  agent.add_option("--coordinator", o.coordinator, "Coordinator HOST:PORT")->required();
  agent.add_option("--token", o.token, "Shared secret for the coordinator");
  agent.add_option("--coordinator-ca", o.coordinator_ca,
                   "CA certificate (PEM) of the coordinator's TLS certificate: use TLS");
  agent.add_option("--threads", o.threads, "Engine threads per run (0: one per core)");
  agent.add_option("--name", o.name,
                   "Source id of this agent (default HOSTNAME/PID/START_NS); keep it fixed to "
                   "keep the identity across restarts");
}

Agent::Agent(AgentOptions options) : options_(std::move(options)) {
  if (options_.threads == 0) options_.threads = std::max(1u, std::thread::hardware_concurrency());
}

Agent::~Agent() = default;

void Agent::Shutdown() {
  std::lock_guard lock(mutex_);
  shutdown_ = true;
  if (engine_ != nullptr) engine_->Stop();
  changed_.notify_all();
}

bool Agent::CancelledLocked(const std::string& run_id) const {
  return shutdown_ || stopped_.count(run_id) > 0;
}

std::string Agent::CancelReasonLocked(const std::string& run_id) const {
  if (const auto stop = stopped_.find(run_id); stop != stopped_.end()) {
    return absl::StrCat("stopped by the coordinator (", stop->second, ")");
  }
  return shutdown_ ? "the agent shut down" : "";
}

void Agent::ReportEnd(const std::string& run_id, v1::RunState state, const std::string& reason,
                      uint64_t transactions, uint64_t errors) {
  v1::AgentMessage message;
  message.set_run_id(run_id);
  v1::RunEnd& end = *message.mutable_run_end();
  end.set_state(state);
  end.set_reason(reason);
  *end.mutable_time() = TimeUtil::GetCurrentTime();
  end.set_transactions(transactions);
  end.set_errors(errors);
  stream_->Send(std::move(message));
}

void Agent::OnControl(const v1::CoordinatorMessage& message) {
  std::lock_guard lock(mutex_);
  if (message.has_run()) {
    const v1::RunSpec& spec = message.run();
    if (stopped_.count(spec.run_id()) > 0) {
      spdlog::info("run {}: already stopped; not starting it", spec.run_id());
      dropped_.push_back(spec.run_id());
      changed_.notify_all();
      return;
    }
    spdlog::info("run {}: received (agent {} of {}, scenario '{}', start at {})", spec.run_id(),
                 spec.agent_index() + 1, spec.agent_count(), spec.scenario().name(),
                 TimeUtil::ToString(spec.start_time()));
    pending_.push_back(spec);
  } else if (message.has_stop()) {
    const std::string& run_id = message.stop().run_id();
    stopped_.emplace(run_id, message.stop().reason());
    const auto erased =
        std::erase_if(pending_, [&](const v1::RunSpec& spec) { return spec.run_id() == run_id; });
    if (erased > 0) {
      spdlog::info("run {}: stopped before its start ({})", run_id, message.stop().reason());
      dropped_.push_back(run_id);
    } else if (current_run_ == run_id) {
      spdlog::info("run {}: stopping ({})", run_id, message.stop().reason());
      if (engine_ != nullptr) engine_->Stop();
    }
  }
  changed_.notify_all();
}

int Agent::Run() {
  std::unique_ptr<SignalCatcher> signals;
  if (options_.handle_signals) {
    // Before any thread starts, so that gRPC's and the engine's threads
    // inherit the blocked mask and the signals reach the catcher only.
    signals = std::make_unique<SignalCatcher>([this](int n) {
      if (n > 1) {
        spdlog::warn("second signal: exiting now");
        std::_Exit(kExitInterrupted);
      }
      spdlog::info("signal: stopping (intervals not yet acknowledged are flushed first)");
      Shutdown();
    });
  }
  agent::AgentStreamOptions stream_options;
  stream_options.coordinator = options_.coordinator;
  stream_options.token = options_.token;
  stream_options.tls_ca_file = options_.coordinator_ca;
  stream_options.kind = v1::AGENT_KIND_LOADGEN;
  stream_options.source_id = options_.name;
  stream_options.threads = static_cast<uint32_t>(options_.threads);
  stream_options.on_control = [this](const v1::CoordinatorMessage& m) { OnControl(m); };
  stream_ = std::make_unique<agent::AgentStream>(std::move(stream_options));
  spdlog::info("agent {}: waiting for runs from {} ({} threads)", stream_->source_id(),
               options_.coordinator, options_.threads);

  for (;;) {
    v1::RunSpec spec;
    {
      std::unique_lock lock(mutex_);
      if (!changed_.wait_for(lock, std::chrono::seconds(1),
                             [&] { return shutdown_ || !pending_.empty() || !dropped_.empty(); })) {
        lock.unlock();
        LogConnection();
        continue;
      }
      for (const std::string& run_id : dropped_) {
        ReportEnd(run_id, v1::RUN_STATE_ABORTED, CancelReasonLocked(run_id));
      }
      dropped_.clear();
      if (shutdown_) {
        // Runs that never started end too, so the coordinator is not left
        // waiting for them.
        for (const v1::RunSpec& never : pending_) {
          ReportEnd(never.run_id(), v1::RUN_STATE_ABORTED, CancelReasonLocked(never.run_id()));
        }
        break;
      }
      if (pending_.empty()) continue;
      spec = std::move(pending_.front());
      pending_.pop_front();
    }
    LogConnection();
    RunOne(spec);
    spdlog::info("agent {}: waiting for the next run", stream_->source_id());
  }

  const bool flushed = stream_->Flush(options_.flush_timeout);
  const agent::AgentStreamStats stats = stream_->stats();
  if (!flushed) {
    spdlog::warn("coordinator {}: {} intervals not acknowledged ({})", options_.coordinator,
                 stats.last_sequence - stats.acked_sequence, stats.last_error);
  }
  stream_->Stop();
  spdlog::info("agent {}: stopped ({} intervals sent, {} acknowledged)", stream_->source_id(),
               stats.sent_total, stats.acked_sequence);
  return app::kExitOk;
}

void Agent::LogConnection() {
  const agent::AgentStreamStats stats = stream_->stats();
  if (stats.connected && (!logged_connected_ || stats.connects != logged_connects_)) {
    spdlog::info("connected to coordinator {} (clock offset {:+.6f} s, round trip {:.3f} ms)",
                 options_.coordinator,
                 Seconds(stats.clock_offset.value_or(std::chrono::nanoseconds(0))),
                 Seconds(stats.round_trip.value_or(std::chrono::nanoseconds(0))) * 1e3);
  } else if (!stats.connected && !stats.last_error.empty() && stats.last_error != logged_error_) {
    spdlog::warn("coordinator {}: {} (retrying)", options_.coordinator, stats.last_error);
    logged_error_ = stats.last_error;
  }
  logged_connected_ = stats.connected;
  logged_connects_ = stats.connects;
}

void Agent::RunOne(const v1::RunSpec& spec) {
  const std::string& run_id = spec.run_id();
  absl::StatusOr<RunShare> share = ShareOf(spec);
  if (!share.ok()) {
    spdlog::error("{}; run ignored", std::string(share.status().message()));
    ReportEnd(run_id, v1::RUN_STATE_FAILED, std::string(share.status().message()));
    return;
  }
  const v1::Scenario scenario = ApplyShare(spec.scenario(), *share);
  if (absl::Status valid = ValidateScenario(scenario); !valid.ok()) {
    spdlog::error("run {}: invalid scenario: {}; run ignored", run_id,
                  std::string(valid.message()));
    ReportEnd(run_id, v1::RUN_STATE_FAILED,
              absl::StrCat("invalid scenario: ", std::string(valid.message())));
    return;
  }

  // The coordinated start on this host's clock.
  const agent::AgentStreamStats stats = stream_->stats();
  const std::chrono::nanoseconds offset = stats.clock_offset.value_or(std::chrono::nanoseconds(0));
  if (!stats.clock_offset) {
    spdlog::warn("run {}: no clock offset estimate yet; taking the coordinator's clock as ours",
                 run_id);
  }
  const SystemClock::time_point start(std::chrono::duration_cast<SystemClock::duration>(
      std::chrono::nanoseconds(TimeUtil::TimestampToNanoseconds(spec.start_time())) - offset));
  const auto& stages = scenario.has_open() ? scenario.open().stages() : scenario.closed().stages();
  const std::chrono::nanoseconds load(static_cast<int64_t>(TotalSeconds(stages) * 1e9));
  const SystemClock::time_point now = SystemClock::now();
  if (now >= start + load) {
    const std::string why =
        absl::StrFormat("its load ended %.1f s ago (start was %s); skipped",
                        Seconds(now - start - load), TimeUtil::ToString(spec.start_time()));
    spdlog::warn("run {}: {}", run_id, why);
    ReportEnd(run_id, v1::RUN_STATE_FAILED, why);
    return;
  }
  const std::string what =
      scenario.has_closed()
          ? absl::StrCat("up to ", LocalUsers(PeakUsers(stages), *share), " of ", PeakUsers(stages),
                         " users")
          : absl::StrFormat("%.1f%% of the arrival rate", 100 * share->rate_share);
  spdlog::info("run {}: agent {} of {}: {}, starting in {:.3f} s (clock offset {:+.6f} s)", run_id,
               share->index + 1, share->count, what, Seconds(start - now), Seconds(offset));

  // Every interval goes to the coordinator with the run id.
  const std::vector<OpInfo>* ops = nullptr;  // Set before the run starts.
  const bool open_model = scenario.has_open();
  EngineOptions engine_options;
  engine_options.threads = options_.threads;
  engine_options.handle_signals = false;  // Ours (SignalCatcher) stop it.
  engine_options.share = *share;
  engine_options.on_interval = [&](const IntervalReport& report) {
    v1::AgentMessage message;
    message.set_run_id(run_id);
    *message.mutable_load() = ToLoadInterval(report, *ops, open_model);
    stream_->Send(std::move(message));
  };
  Engine engine(scenario, std::move(engine_options));
  ops = &engine.ops();
  {
    std::unique_lock lock(mutex_);
    if (changed_.wait_until(lock, start, [&] { return CancelledLocked(run_id); })) {
      spdlog::info("run {}: cancelled before its start", run_id);
      ReportEnd(run_id, v1::RUN_STATE_ABORTED, CancelReasonLocked(run_id));
      return;
    }
    current_run_ = run_id;
    engine_ = &engine;
  }
  const double late = Seconds(SystemClock::now() - start);
  if (late > 0.5)
    spdlog::warn("run {}: starting {:.1f} s after the coordinated start", run_id, late);
  spdlog::info("run {}: started", run_id);

  absl::Status preflight = engine.Preflight();
  absl::StatusOr<RunResult> result =
      preflight.ok() ? engine.Run() : absl::StatusOr<RunResult>(preflight);
  std::string cancelled;
  {
    std::lock_guard lock(mutex_);
    engine_ = nullptr;
    current_run_.clear();
    cancelled = CancelReasonLocked(run_id);
  }
  if (!result.ok()) {
    spdlog::error("run {}: {}", run_id, std::string(result.status().message()));
    ReportEnd(run_id, v1::RUN_STATE_FAILED, std::string(result.status().message()));
    FlushRun(run_id);
    return;
  }
  uint64_t count = 0, errors = 0;
  for (size_t i = 0; i < result->ops.size() && i < result->totals.size(); ++i) {
    if (!result->ops[i].is_transaction) continue;
    count += result->totals[i].count;
    errors += result->totals[i].errors;
  }
  spdlog::info("run {}: {} after {:.1f} s: {} transactions, {} errors", run_id,
               result->interrupted ? "stopped" : "finished", result->elapsed_s, count, errors);
  if (result->interrupted) {
    ReportEnd(run_id, v1::RUN_STATE_ABORTED, cancelled.empty() ? "interrupted" : cancelled, count,
              errors);
  } else {
    ReportEnd(run_id, v1::RUN_STATE_COMPLETED, "", count, errors);
  }
  FlushRun(run_id);
}

void Agent::FlushRun(const std::string& run_id) {
  if (!stream_->Flush(options_.flush_timeout)) {
    const agent::AgentStreamStats after = stream_->stats();
    spdlog::warn(
        "run {}: {} intervals not acknowledged yet ({}); they are resent when the "
        "coordinator is back",
        run_id, after.last_sequence - after.acked_sequence, after.last_error);
  }
}

int AgentCommand(const AgentOptions& options) {
  Agent agent(options);
  return agent.Run();
}

}  // namespace tpslab::loadgen
