// RunStore: the coordinator's embedded database, one SQLite file in WAL mode
// that `sqlite3 FILE` can query while the coordinator runs.
//
// Tables (schema version 2, see kSchema and kMigrations in run_store.cc; a
// database of an older version is migrated when opened):
//   runs           run_id, name, state (tpslab.v1.RunState), times, scenario (proto JSON)
//   agents         source_id, kind, hostname, version, threads, clock offset and
//                  round trip (ns), registration and last-seen times
//   sources        source_id, acked: the contiguous prefix 1..acked stored or dropped
//   samples        UNIQUE(source_id, sequence), run_id, time_ns (agent clock), kind,
//                  payload (the AgentMessage's raw proto bytes)
//   load_ops       per interval and transaction/step: count, errors, p50/p90/p99/max/mean
//                  in us, the encoded HDR histogram (tpslab.v1.Histogram.encoded)
//   host_samples   per host sample: CPU busy/total seconds, cores, load1, network and
//                  disk counters (cumulative, as read)
//   process_samples per process sample: CPU seconds, RSS, threads, fds, switches, alive
//   check_states   per check result: name, state, output
//   drops          ranges of sequences an agent dropped, and how many were new
//   findings       run_id, time, severity, kind, message
//   dispatched_runs one row per agent's part of a dispatched run: run_id,
//                  agent_index, source_id, the RunSpec and StopRun sent (proto
//                  bytes), and the end the agent reported (a RunEnd sample)
//
// Ingestion is idempotent: InsertSample() on a (source_id, sequence) already
// stored inserts nothing and says so. The acked prefix per source is stored in
// the same transaction as the samples, so after a restart RestoreTracker()
// rebuilds the SequenceTracker exactly (prefix, out-of-order sequences above
// it, dropped ranges). All methods are thread-safe (one connection behind a
// mutex); use InTransaction() to batch writes.
//
// Example:
//   absl::StatusOr<std::unique_ptr<RunStore>> store = RunStore::Open("runs.db");
//   absl::Status s = (*store)->InTransaction([&](RunStore::Writer& w) -> absl::Status {
//     for (const v1::AgentMessage& m : batch) {
//       absl::StatusOr<bool> inserted = w.InsertSample(m, "run-1", now_ns);
//       if (!inserted.ok()) return inserted.status();
//     }
//     return w.SetAcked(source_id, tracker.acked());
//   });
#ifndef TPSLAB_ANALYZER_RUN_STORE_H_
#define TPSLAB_ANALYZER_RUN_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/agent/sequence_tracker.h"
#include "common/proto/coordinator.pb.h"
#include "common/proto/run.pb.h"

struct sqlite3;
struct sqlite3_stmt;

namespace tpslab::analyzer {

// "pending", "running", "completed", "aborted", "failed", "unspecified":
// stable names for JSON.
const char* RunStateName(v1::RunState state);

struct RunRecord {
  std::string run_id = {};
  std::string name = {};
  v1::RunState state = v1::RUN_STATE_UNSPECIFIED;
  int64_t created_ns = 0;
  int64_t started_ns = 0;          // 0: not started.
  int64_t ended_ns = 0;            // 0: not ended.
  std::string scenario_json = {};  // The tpslab.v1.Scenario as proto JSON; may be empty.
};

struct AgentRecord {
  std::string source_id = {};
  v1::AgentKind kind = v1::AGENT_KIND_UNSPECIFIED;
  std::string hostname = {};
  std::string version = {};
  uint32_t threads = 0;
  int64_t clock_offset_ns = 0;  // Coordinator clock minus agent clock.
  int64_t round_trip_ns = 0;    // 0: not measured.
  int64_t registered_ns = 0;
  int64_t last_seen_ns = 0;
};

// One agent's part of a dispatched run.
struct DispatchedPart {
  std::string run_id = {};
  uint32_t agent_index = 0;
  std::string source_id = {};
  int64_t dispatched_ns = 0;             // Coordinator clock.
  v1::RunSpec spec = {};                 // As sent to the agent.
  std::optional<v1::StopRun> stop = {};  // Set once the part was stopped.
  // The agent's RunEnd: COMPLETED, ABORTED or FAILED; UNSPECIFIED until it
  // reports.
  v1::RunState end_state = v1::RUN_STATE_UNSPECIFIED;
  std::string end_reason = {};
  int64_t ended_ns = 0;  // When its RunEnd was stored (coordinator clock); 0: not yet.

  bool ended() const { return end_state != v1::RUN_STATE_UNSPECIFIED; }
};

struct FindingRecord {
  int64_t id = 0;  // Assigned by the store.
  std::string run_id = {};
  int64_t time_ns = 0;
  std::string severity = {};  // "info", "warning", "critical".
  std::string kind = {};      // Stable name, e.g. "samples-dropped", "knee".
  std::string message = {};
};

// A stored load interval with what is needed to place it on the
// coordinator's clock.
struct StoredLoad {
  std::string source_id = {};
  uint64_t sequence = 0;
  int64_t clock_offset_ns = 0;
  v1::LoadInterval interval;
};

// A stored host sample; sample.time() + clock_offset_ns is coordinator time.
struct StoredHost {
  std::string source_id = {};
  uint64_t sequence = 0;
  int64_t clock_offset_ns = 0;
  v1::HostSample sample;
};

// A stored process sample; sample.time() + clock_offset_ns is coordinator time.
struct StoredProcess {
  std::string source_id = {};
  uint64_t sequence = 0;
  int64_t clock_offset_ns = 0;
  v1::ProcessSample sample;
};

// A stored check result; result.time() + clock_offset_ns is coordinator time.
struct StoredCheck {
  std::string source_id = {};
  uint64_t sequence = 0;
  int64_t clock_offset_ns = 0;
  v1::CheckResult result;
};

class RunStore {
 public:
  // Opens (creating if needed) the database at `path` in WAL mode and
  // creates or checks the schema. Errors name the file and what failed.
  static absl::StatusOr<std::unique_ptr<RunStore>> Open(const std::string& path);
  ~RunStore();
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;

  // Write operations, valid only inside InTransaction().
  class Writer {
   public:
    // Stores `message` (its source_id and sequence must be set) attached to
    // `run_id` (the message's own run_id wins when not empty), with the
    // extracted rows of its payload. Returns false when (source_id,
    // sequence) was already stored (nothing is written). A RunEnd also
    // records the end of the agent's part of the dispatched run (the first
    // report counts; a state other than COMPLETED, ABORTED or FAILED is
    // stored as FAILED).
    absl::StatusOr<bool> InsertSample(const v1::AgentMessage& message, std::string_view run_id,
                                      int64_t received_ns);
    // Records the contiguous prefix acknowledged for `source_id`.
    absl::Status SetAcked(std::string_view source_id, uint64_t acked);
    // Records that `source_id` dropped first..last, `newly` of which were not
    // known before.
    absl::Status InsertDrop(std::string_view source_id, uint64_t first, uint64_t last,
                            uint64_t newly, int64_t time_ns);
    // Appends a finding; returns its id.
    absl::StatusOr<int64_t> InsertFinding(const FindingRecord& finding);
    // RunStore::SetRunState() inside the transaction (e.g. a run's end
    // together with the finding that explains it).
    absl::Status SetRunState(std::string_view run_id, v1::RunState state, int64_t time_ns);

   private:
    friend class RunStore;
    explicit Writer(RunStore& store) : store_(store) {}
    RunStore& store_;
  };

  // Runs `body` in one transaction (BEGIN IMMEDIATE ... COMMIT); rolls back
  // and returns body's error, or the commit error, when either fails.
  absl::Status InTransaction(const std::function<absl::Status(Writer&)>& body);

  // Rebuilds the tracker of `source_id` from what is stored: the acked
  // prefix, stored sequences above it and dropped ranges above it. A source
  // never seen gives a tracker at 0.
  absl::StatusOr<agent::SequenceTracker> RestoreTracker(std::string_view source_id);

  // The stored acked prefix of `source_id` (0 when unknown).
  absl::StatusOr<uint64_t> Acked(std::string_view source_id);

  // Runs.
  absl::Status CreateRun(const RunRecord& run);  // AlreadyExists for a known id.
  // Sets the run's state; RUNNING also sets started_ns and a final state
  // (COMPLETED, ABORTED, FAILED) ended_ns to `time_ns` unless already set.
  // NotFound names an unknown id.
  absl::Status SetRunState(std::string_view run_id, v1::RunState state, int64_t time_ns);
  absl::StatusOr<std::vector<RunRecord>> ListRuns();          // Newest first.
  absl::StatusOr<RunRecord> GetRun(std::string_view run_id);  // NotFound names the id.

  // Dispatched runs.
  // Creates `run` (as CreateRun) and its agents' parts in one transaction:
  // all or nothing. AlreadyExists for a known run id.
  absl::Status CreateDispatchedRun(const RunRecord& run, const std::vector<DispatchedPart>& parts);
  // Records `stop` for the parts of run stop.run_id() that are neither
  // stopped nor ended; returns how many it changed.
  absl::StatusOr<int> StopDispatchedRun(const v1::StopRun& stop);
  // The parts of `run_id` in agent_index order (none when the run was not
  // dispatched). DataLoss names a part whose stored messages do not parse.
  absl::StatusOr<std::vector<DispatchedPart>> DispatchedParts(std::string_view run_id);
  // What a restarted coordinator resumes: every part of the runs still
  // RUNNING, and each stopped part whose agent has neither reported its end
  // nor been given a later part since. Ordered by dispatch time, run id,
  // agent_index.
  absl::StatusOr<std::vector<DispatchedPart>> PartsToResume();

  // Agents: inserts or replaces by source_id (keeps registered_ns of a known
  // agent).
  absl::Status UpsertAgent(const AgentRecord& agent);
  absl::StatusOr<std::vector<AgentRecord>> ListAgents();

  // Findings of `run_id`, oldest first.
  absl::StatusOr<std::vector<FindingRecord>> ListFindings(std::string_view run_id);

  // Load intervals of `run_id` in (source, sequence) order, decoded from the
  // stored payloads, with each source's current clock offset.
  absl::StatusOr<std::vector<StoredLoad>> LoadIntervals(std::string_view run_id);

  // Host samples, process samples and check results of `run_id`, decoded
  // from the stored payloads, with each source's current clock offset, in
  // coordinator time order (sample time + offset; ties by source, sequence).
  // DataLoss names a payload that does not parse.
  absl::StatusOr<std::vector<StoredHost>> HostSamples(std::string_view run_id);
  absl::StatusOr<std::vector<StoredProcess>> ProcessSamples(std::string_view run_id);
  absl::StatusOr<std::vector<StoredCheck>> CheckResults(std::string_view run_id);

  // Number of stored samples of `source_id` ("" for all sources).
  absl::StatusOr<int64_t> CountSamples(std::string_view source_id = "");

  // Sequence numbers stored for `source_id`, ascending.
  absl::StatusOr<std::vector<uint64_t>> StoredSequences(std::string_view source_id);

  const std::string& path() const { return path_; }

 private:
  class Statement;
  RunStore(std::string path, sqlite3* db);
  absl::Status Init();
  // Creates or upgrades the schema to kSchemaVersion; inside Init()'s
  // transaction.
  absl::Status Migrate();
  // Inserts a row into runs (AlreadyExists for a known id). The caller holds
  // mutex_.
  absl::Status InsertRun(const RunRecord& run);
  // SetRunState() with mutex_ held by the caller.
  absl::Status UpdateRunState(std::string_view run_id, v1::RunState state, int64_t time_ns);
  absl::Status Exec(const char* sql);
  absl::Status Error(std::string_view what) const;
  // Steps a statement that returns no rows and resets it.
  absl::Status Done(Statement& statement, std::string_view what);
  // A cached prepared statement for `sql` (reset and unbound).
  absl::StatusOr<Statement*> Prepare(const char* sql);
  // Runs the (cached) query `sql` with `args` bound to its parameters 1..N
  // (each an int64_t, a double or text), calls `row` for every result row
  // until one returns an error, and resets the statement. Returns row's
  // error, or an error naming `what` when SQLite fails. The caller holds
  // mutex_. Defined in run_store.cc (only used there).
  template <typename... Args>
  absl::Status Query(const char* sql, std::string_view what,
                     const std::function<absl::Status(const Statement&)>& row, const Args&... args);
  // The run of a row of kRunColumns.
  static RunRecord ReadRun(const Statement& row);
  // The part of a row of kPartColumns (DataLoss naming it when its messages
  // do not parse).
  absl::StatusOr<DispatchedPart> ReadPart(const Statement& row) const;
  // Runs the query `sql` (kPartColumns, then the rest) with `args` and reads
  // every row with ReadPart(). The caller holds mutex_. Defined in
  // run_store.cc.
  template <typename... Args>
  absl::StatusOr<std::vector<DispatchedPart>> QueryParts(const char* sql, std::string_view what,
                                                         const Args&... args);
  // The AgentMessage in `column` of a samples row whose columns 0 and 1 are
  // source_id and sequence (DataLoss naming them when it does not parse).
  absl::StatusOr<v1::AgentMessage> ParsePayload(const Statement& row, int column) const;
  // Calls `fill` with the decoded AgentMessage of every sample of `kind` in
  // `run_id`, in coordinator time order (see HostSamples). The caller holds
  // mutex_.
  absl::Status ForEachSample(
      std::string_view run_id, std::string_view kind,
      const std::function<void(std::string source_id, uint64_t sequence, int64_t clock_offset_ns,
                               v1::AgentMessage& message)>& fill);

  std::string path_;
  sqlite3* db_;
  std::mutex mutex_;
  std::vector<std::pair<const char*, std::unique_ptr<Statement>>> statements_;
};

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_RUN_STORE_H_
