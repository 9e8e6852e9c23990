// RunStore on a file in $TEST_TMPDIR: idempotent inserts, extracted rows,
// the acked prefix and tracker restored after reopening, runs, agents,
// findings, dispatched runs (stop, the agents' RunEnd, what a restart
// resumes), the migration of a version 1 database, and errors that name
// what was wrong.
#include "analyzer/run_store.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/metrics/hdr_codec.h"

namespace tpslab::analyzer {
namespace {

using google::protobuf::util::TimeUtil;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::filesystem::path path = std::filesystem::path(dir ? dir : "/tmp") / name;
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
  return path.string();
}

v1::AgentMessage Load(const std::string& source, uint64_t sequence, int64_t end_s) {
  v1::AgentMessage m;
  m.set_source_id(source);
  m.set_sequence(sequence);
  v1::LoadInterval* load = m.mutable_load();
  *load->mutable_start() = TimeUtil::SecondsToTimestamp(end_s - 1);
  *load->mutable_end() = TimeUtil::SecondsToTimestamp(end_s);
  load->set_stage(2);
  load->set_active_users(10);
  v1::OperationStats* op = load->add_transactions();
  op->set_name("upload");
  op->set_count(100);
  op->set_errors(3);
  metrics::HdrHistogram h(1, 3'600'000'000, 3);
  h.Record(1000, 90);
  h.Record(5000, 10);
  *op->mutable_latency() = metrics::ToProto(h, "us");
  return m;
}

// Runs a query with the sqlite3 C API on a second connection, as a user
// with the sqlite3 shell would, and returns the first column of the first row.
std::string Query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(st, 0);
    out = text ? reinterpret_cast<const char*>(text) : "NULL";
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

TEST(RunStoreTest, InsertIsIdempotentOnSourceAndSequence) {
  const std::string path = TempPath("idempotent.db");
  auto store = RunStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE((*store)
                    ->InTransaction([&](RunStore::Writer& w) -> absl::Status {
                      for (uint64_t seq = 1; seq <= 3; ++seq) {
                        absl::StatusOr<bool> inserted =
                            w.InsertSample(Load("a", seq, 100 + seq), "run-1", 0);
                        if (!inserted.ok()) return inserted.status();
                        EXPECT_EQ(*inserted, round == 0) << seq;
                      }
                      return w.SetAcked("a", 3);
                    })
                    .ok());
  }
  EXPECT_EQ(*(*store)->CountSamples(), 3);
  EXPECT_EQ(*(*store)->CountSamples("a"), 3);
  EXPECT_EQ(*(*store)->CountSamples("b"), 0);
  // Extracted columns are queryable with plain SQL.
  EXPECT_EQ(Query(path, "SELECT COUNT(*) FROM load_ops WHERE run_id = 'run-1'"), "3");
  EXPECT_EQ(Query(path, "SELECT p50_us || ',' || p99_us || ',' || errors FROM load_ops LIMIT 1"),
            "1000,5003,3");  // 5003: highest value equivalent to 5000.
  EXPECT_EQ(Query(path, "PRAGMA journal_mode"), "wal");
}

TEST(RunStoreTest, TrackerRestoredAfterReopen) {
  const std::string path = TempPath("restore.db");
  {
    auto store = RunStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    agent::SequenceTracker tracker;
    ASSERT_TRUE((*store)
                    ->InTransaction([&](RunStore::Writer& w) -> absl::Status {
                      // 1, 2, 3 and 5 arrive; 7..8 are declared dropped.
                      for (uint64_t seq : {1, 2, 3, 5}) {
                        EXPECT_TRUE(tracker.Accept(seq));
                        if (auto r = w.InsertSample(Load("a", seq, seq), "", 0); !r.ok()) {
                          return r.status();
                        }
                      }
                      const uint64_t newly = tracker.MarkDropped(7, 8);
                      EXPECT_EQ(newly, 2u);
                      if (auto s = w.InsertDrop("a", 7, 8, newly, 0); !s.ok()) return s;
                      return w.SetAcked("a", tracker.acked());
                    })
                    .ok());
    EXPECT_EQ(tracker.acked(), 3u);
  }
  auto store = RunStore::Open(path);  // "After the coordinator restarted".
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*(*store)->Acked("a"), 3u);
  absl::StatusOr<agent::SequenceTracker> tracker = (*store)->RestoreTracker("a");
  ASSERT_TRUE(tracker.ok()) << tracker.status();
  EXPECT_EQ(tracker->acked(), 3u);
  EXPECT_FALSE(tracker->Accept(5));  // Stored before the restart.
  EXPECT_FALSE(tracker->Accept(2));
  EXPECT_TRUE(tracker->Accept(4));
  EXPECT_EQ(tracker->acked(), 5u);
  EXPECT_TRUE(tracker->Accept(6));
  EXPECT_EQ(tracker->acked(), 8u);  // Past the dropped 7..8.

  absl::StatusOr<agent::SequenceTracker> fresh = (*store)->RestoreTracker("never-seen");
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->acked(), 0u);
  EXPECT_EQ(*(*store)->StoredSequences("a"), (std::vector<uint64_t>{1, 2, 3, 5}));
}

TEST(RunStoreTest, FailedTransactionRollsBack) {
  auto store = RunStore::Open(TempPath("rollback.db"));
  ASSERT_TRUE(store.ok());
  const absl::Status s = (*store)->InTransaction([&](RunStore::Writer& w) -> absl::Status {
    EXPECT_TRUE(w.InsertSample(Load("a", 1, 1), "", 0).ok());
    return absl::UnavailableError("stream broke");
  });
  EXPECT_EQ(s, absl::UnavailableError("stream broke"));
  EXPECT_EQ(*(*store)->CountSamples(), 0);
}

TEST(RunStoreTest, HostProcessAndCheckRows) {
  const std::string path = TempPath("rows.db");
  auto store = RunStore::Open(path);
  ASSERT_TRUE(store.ok());
  v1::AgentMessage host;
  host.set_source_id("m");
  host.set_sequence(1);
  *host.mutable_host()->mutable_time() = TimeUtil::SecondsToTimestamp(50);
  v1::CpuTimes* total = host.mutable_host()->add_cpus();
  total->set_cpu("total");
  total->set_user(10);
  total->set_system(5);
  total->set_idle(85);
  host.mutable_host()->add_cpus()->set_cpu("cpu0");
  host.mutable_host()->add_cpus()->set_cpu("cpu1");
  host.mutable_host()->add_interfaces()->set_rx_bytes(1000);
  v1::AgentMessage process;
  process.set_source_id("m");
  process.set_sequence(2);
  process.mutable_process()->set_selector("name:ftpd");
  process.mutable_process()->set_rss_bytes(123456);
  process.mutable_process()->set_alive(true);
  v1::AgentMessage check;
  check.set_source_id("m");
  check.set_sequence(3);
  check.mutable_check()->set_name("ftp");
  check.mutable_check()->set_state(v1::CHECK_STATE_CRITICAL);
  check.mutable_check()->set_output("connection refused");
  ASSERT_TRUE((*store)
                  ->InTransaction([&](RunStore::Writer& w) -> absl::Status {
                    for (const auto* m : {&host, &process, &check}) {
                      if (auto r = w.InsertSample(*m, "run-9", 0); !r.ok()) return r.status();
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(Query(path,
                  "SELECT cores || ',' || cpu_busy_s || ',' || cpu_total_s || ',' || "
                  "net_rx_bytes FROM host_samples"),
            "2,15.0,100.0,1000");
  EXPECT_EQ(Query(path,
                  "SELECT selector || ',' || rss_bytes || ',' || alive FROM "
                  "process_samples WHERE run_id = 'run-9'"),
            "name:ftpd,123456,1");
  EXPECT_EQ(Query(path, "SELECT name || ',' || state || ',' || output FROM check_states"),
            "ftp,3,connection refused");
}

TEST(RunStoreTest, RunsAgentsFindingsAndLoadIntervals) {
  auto store = RunStore::Open(TempPath("runs.db"));
  ASSERT_TRUE(store.ok());
  RunStore& s = **store;
  ASSERT_TRUE(s.CreateRun({.run_id = "r1",
                           .name = "first",
                           .state = v1::RUN_STATE_PENDING,
                           .created_ns = 10,
                           .scenario_json = "{\"name\":\"x\"}"})
                  .ok());
  ASSERT_TRUE(s.CreateRun({.run_id = "r2", .created_ns = 20}).ok());
  EXPECT_EQ(s.CreateRun({.run_id = "r1"}), absl::AlreadyExistsError("run 'r1' already exists"));
  ASSERT_TRUE(s.SetRunState("r1", v1::RUN_STATE_RUNNING, 100).ok());
  ASSERT_TRUE(s.SetRunState("r1", v1::RUN_STATE_COMPLETED, 200).ok());
  EXPECT_EQ(s.SetRunState("nope", v1::RUN_STATE_RUNNING, 1), absl::NotFoundError("no run 'nope'"));
  absl::StatusOr<RunRecord> r1 = s.GetRun("r1");
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->state, v1::RUN_STATE_COMPLETED);
  EXPECT_EQ(r1->started_ns, 100);
  EXPECT_EQ(r1->ended_ns, 200);
  EXPECT_EQ(r1->scenario_json, "{\"name\":\"x\"}");
  EXPECT_EQ(s.GetRun("zz").status(), absl::NotFoundError("no run 'zz'"));
  absl::StatusOr<std::vector<RunRecord>> runs = s.ListRuns();
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].run_id, "r2");  // Newest first.

  ASSERT_TRUE(s.UpsertAgent({.source_id = "a",
                             .kind = v1::AGENT_KIND_LOADGEN,
                             .clock_offset_ns = 2'000'000'000,
                             .registered_ns = 5})
                  .ok());
  ASSERT_TRUE(s.UpsertAgent({.source_id = "a",
                             .kind = v1::AGENT_KIND_LOADGEN,
                             .clock_offset_ns = 1'000'000'000,
                             .registered_ns = 9,
                             .last_seen_ns = 9})
                  .ok());
  absl::StatusOr<std::vector<AgentRecord>> agents = s.ListAgents();
  ASSERT_TRUE(agents.ok());
  ASSERT_EQ(agents->size(), 1u);
  EXPECT_EQ((*agents)[0].clock_offset_ns, 1'000'000'000);
  EXPECT_EQ((*agents)[0].registered_ns, 5);  // Kept from the first registration.

  ASSERT_TRUE(s.InTransaction([&](RunStore::Writer& w) -> absl::Status {
                 if (auto r = w.InsertSample(Load("a", 1, 7), "r1", 0); !r.ok()) return r.status();
                 absl::StatusOr<int64_t> id =
                     w.InsertFinding({.run_id = "r1",
                                      .time_ns = 7,
                                      .severity = "warning",
                                      .kind = "samples-dropped",
                                      .message = "agent a dropped 2 samples"});
                 return id.status();
               }).ok());
  absl::StatusOr<std::vector<FindingRecord>> findings = s.ListFindings("r1");
  ASSERT_TRUE(findings.ok());
  ASSERT_EQ(findings->size(), 1u);
  EXPECT_EQ((*findings)[0].message, "agent a dropped 2 samples");
  absl::StatusOr<std::vector<StoredLoad>> loads = s.LoadIntervals("r1");
  ASSERT_TRUE(loads.ok());
  ASSERT_EQ(loads->size(), 1u);
  EXPECT_EQ((*loads)[0].clock_offset_ns, 1'000'000'000);
  EXPECT_EQ((*loads)[0].interval.transactions(0).count(), 100u);
}

TEST(RunStoreTest, ARunEndsTogetherWithTheFindingThatExplainsIt) {
  auto store = RunStore::Open(TempPath("run-end-finding.db"));
  ASSERT_TRUE(store.ok()) << store.status();
  RunStore& s = **store;
  ASSERT_TRUE(s.CreateRun({.run_id = "r", .state = v1::RUN_STATE_PENDING, .created_ns = 1}).ok());
  ASSERT_TRUE(s.SetRunState("r", v1::RUN_STATE_RUNNING, 10).ok());
  const FindingRecord finding{.run_id = "r",
                              .time_ns = 90,
                              .severity = "critical",
                              .kind = "run-deadline",
                              .message = "agent b never reported"};

  // Rolled back together: neither the state nor the finding.
  EXPECT_EQ(s.InTransaction([&](RunStore::Writer& w) -> absl::Status {
    if (absl::Status st = w.InsertFinding(finding).status(); !st.ok()) return st;
    if (absl::Status st = w.SetRunState("r", v1::RUN_STATE_FAILED, 90); !st.ok()) {
      return st;
    }
    return w.SetRunState("nope", v1::RUN_STATE_FAILED, 90);
  }),
            absl::NotFoundError("no run 'nope'"));
  EXPECT_EQ(s.GetRun("r")->state, v1::RUN_STATE_RUNNING);
  EXPECT_EQ(s.GetRun("r")->ended_ns, 0);
  EXPECT_TRUE(s.ListFindings("r")->empty());

  ASSERT_TRUE(s.InTransaction([&](RunStore::Writer& w) -> absl::Status {
                 if (absl::Status st = w.InsertFinding(finding).status(); !st.ok()) return st;
                 return w.SetRunState("r", v1::RUN_STATE_FAILED, 90);
               }).ok());
  absl::StatusOr<RunRecord> run = s.GetRun("r");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->state, v1::RUN_STATE_FAILED);
  EXPECT_EQ(run->started_ns, 10);  // Set by RUNNING, kept.
  EXPECT_EQ(run->ended_ns, 90);    // Set by the first final state only.
  ASSERT_TRUE(s.SetRunState("r", v1::RUN_STATE_ABORTED, 95).ok());
  EXPECT_EQ(s.GetRun("r")->ended_ns, 90);
  ASSERT_EQ(s.ListFindings("r")->size(), 1u);
  EXPECT_EQ((*s.ListFindings("r"))[0].kind, "run-deadline");

  // Each final state sets ended_ns; PENDING sets neither time.
  for (v1::RunState state :
       {v1::RUN_STATE_COMPLETED, v1::RUN_STATE_ABORTED, v1::RUN_STATE_FAILED}) {
    const std::string id = RunStateName(state);
    ASSERT_TRUE(s.CreateRun({.run_id = id}).ok());
    ASSERT_TRUE(s.SetRunState(id, v1::RUN_STATE_PENDING, 5).ok());
    EXPECT_EQ(s.GetRun(id)->started_ns, 0);
    ASSERT_TRUE(s.SetRunState(id, state, 7).ok());
    EXPECT_EQ(s.GetRun(id)->started_ns, 0) << id;
    EXPECT_EQ(s.GetRun(id)->ended_ns, 7) << id;
  }
}

TEST(RunStoreTest, HostProcessAndCheckSamplesInCoordinatorTimeOrder) {
  auto store = RunStore::Open(TempPath("decoded.db"));
  ASSERT_TRUE(store.ok());
  RunStore& s = **store;
  // Monitor "m2" runs 5 s behind the coordinator, "m1" on time: m2's sample
  // at agent time 97 (coordinator 102) comes after m1's at 101.
  ASSERT_TRUE(s.UpsertAgent({.source_id = "m2", .clock_offset_ns = 5'000'000'000}).ok());
  const auto host = [](const std::string& source, uint64_t seq, int64_t t_s, double load1) {
    v1::AgentMessage m;
    m.set_source_id(source);
    m.set_sequence(seq);
    *m.mutable_host()->mutable_time() = TimeUtil::SecondsToTimestamp(t_s);
    m.mutable_host()->set_load1(load1);
    return m;
  };
  v1::AgentMessage process;
  process.set_source_id("m1");
  process.set_sequence(3);
  *process.mutable_process()->mutable_time() = TimeUtil::SecondsToTimestamp(100);
  process.mutable_process()->set_cpu_user_seconds(1.5);
  v1::AgentMessage check;
  check.set_source_id("m2");
  check.set_sequence(2);
  *check.mutable_check()->mutable_time() = TimeUtil::SecondsToTimestamp(96);
  check.mutable_check()->set_name("ftp");
  check.mutable_check()->set_state(v1::CHECK_STATE_OK);
  ASSERT_TRUE(s.InTransaction([&](RunStore::Writer& w) -> absl::Status {
                 for (const v1::AgentMessage& m :
                      {host("m2", 1, 97, 2.0), host("m1", 1, 103, 3.0), host("m1", 2, 101, 1.0),
                       process, check, host("m1", 9, 50, 9.0)}) {
                   // The last one belongs to another run.
                   const char* run = m.sequence() == 9 ? "other" : "r";
                   if (auto r = w.InsertSample(m, run, 0); !r.ok()) return r.status();
                 }
                 return absl::OkStatus();
               }).ok());
  absl::StatusOr<std::vector<StoredHost>> hosts = s.HostSamples("r");
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  ASSERT_EQ(hosts->size(), 3u);
  EXPECT_EQ((*hosts)[0].sample.load1(), 1.0);
  EXPECT_EQ((*hosts)[1].source_id, "m2");
  EXPECT_EQ((*hosts)[1].clock_offset_ns, 5'000'000'000);
  EXPECT_EQ((*hosts)[1].sample.load1(), 2.0);
  EXPECT_EQ((*hosts)[2].sample.load1(), 3.0);
  EXPECT_EQ((*hosts)[2].clock_offset_ns, 0);  // No agent record: offset 0.
  absl::StatusOr<std::vector<StoredProcess>> processes = s.ProcessSamples("r");
  ASSERT_TRUE(processes.ok());
  ASSERT_EQ(processes->size(), 1u);
  EXPECT_EQ((*processes)[0].sample.cpu_user_seconds(), 1.5);
  EXPECT_EQ((*processes)[0].sequence, 3u);
  absl::StatusOr<std::vector<StoredCheck>> checks = s.CheckResults("r");
  ASSERT_TRUE(checks.ok());
  ASSERT_EQ(checks->size(), 1u);
  EXPECT_EQ((*checks)[0].result.name(), "ftp");
  EXPECT_EQ((*checks)[0].clock_offset_ns, 5'000'000'000);
  EXPECT_TRUE(s.HostSamples("none")->empty());
}

TEST(RunStoreTest, UnparsablePayloadIsDataLossNamingTheSample) {
  const std::string path = TempPath("corrupt.db");
  auto store = RunStore::Open(path);
  ASSERT_TRUE(store.ok());
  v1::AgentMessage host;
  host.set_source_id("m");
  host.set_sequence(4);
  host.mutable_host()->set_load1(1);
  ASSERT_TRUE((*store)
                  ->InTransaction([&](RunStore::Writer& w) -> absl::Status {
                    return w.InsertSample(host, "r", 0).status();
                  })
                  .ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE samples SET payload = x'ffffffff'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  absl::StatusOr<std::vector<StoredHost>> hosts = (*store)->HostSamples("r");
  EXPECT_EQ(hosts.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(hosts.status().message().find("sample m/4 does not parse"), std::string::npos)
      << hosts.status();
}

TEST(RunStoreTest, OpenErrorNamesTheFile) {
  absl::StatusOr<std::unique_ptr<RunStore>> store = RunStore::Open("/nonexistent/dir/x.db");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(store.status().message().find("cannot open database /nonexistent/dir/x.db"),
            std::string::npos)
      << store.status();
}

TEST(RunStoreTest, RefusesANewerSchema) {
  const std::string path = TempPath("newer.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 7", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  absl::StatusOr<std::unique_ptr<RunStore>> store = RunStore::Open(path);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("schema version 7; this analyzer knows up to 2"),
            std::string::npos)
      << store.status();
}

// The part `index` of `count` of run `run_id`, sent to `source`.
DispatchedPart Part(const std::string& run_id, uint32_t index, uint32_t count,
                    const std::string& source, int64_t dispatched_ns) {
  DispatchedPart part{
      .run_id = run_id, .agent_index = index, .source_id = source, .dispatched_ns = dispatched_ns};
  part.spec.set_run_id(run_id);
  part.spec.mutable_scenario()->set_name("scenario of " + run_id);
  part.spec.set_agent_index(index);
  part.spec.set_agent_count(count);
  part.spec.set_rate_share(1.0 / count);
  return part;
}

// A RunEnd sample from `source` for `run_id`.
v1::AgentMessage End(const std::string& source, uint64_t sequence, const std::string& run_id,
                     v1::RunState state, const std::string& reason) {
  v1::AgentMessage m;
  m.set_source_id(source);
  m.set_sequence(sequence);
  m.set_run_id(run_id);
  m.mutable_run_end()->set_state(state);
  m.mutable_run_end()->set_reason(reason);
  *m.mutable_run_end()->mutable_time() = TimeUtil::SecondsToTimestamp(50);
  m.mutable_run_end()->set_transactions(12);
  return m;
}

absl::Status Insert(RunStore& store, const v1::AgentMessage& m, int64_t received_ns) {
  return store.InTransaction([&](RunStore::Writer& w) -> absl::Status {
    return w.InsertSample(m, "", received_ns).status();
  });
}

TEST(RunStoreTest, DispatchedRunsAreStoredStoppedAndEndedByTheAgentsRunEnd) {
  const std::string path = TempPath("dispatched.db");
  auto store = RunStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  RunStore& s = **store;
  const RunRecord run{.run_id = "d1", .state = v1::RUN_STATE_RUNNING, .created_ns = 10};
  ASSERT_TRUE(
      s.CreateDispatchedRun(run, {Part("d1", 0, 2, "a", 10), Part("d1", 1, 2, "b", 10)}).ok());
  EXPECT_EQ(s.GetRun("d1")->state, v1::RUN_STATE_RUNNING);
  // All or nothing: a known run id adds no part either.
  EXPECT_EQ(s.CreateDispatchedRun(run, {Part("d1", 2, 3, "c", 11)}),
            absl::AlreadyExistsError("run 'd1' already exists"));

  absl::StatusOr<std::vector<DispatchedPart>> parts = s.DispatchedParts("d1");
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].source_id, "a");
  EXPECT_EQ((*parts)[1].source_id, "b");
  EXPECT_EQ((*parts)[1].agent_index, 1u);
  EXPECT_EQ((*parts)[1].dispatched_ns, 10);
  EXPECT_EQ((*parts)[1].spec.scenario().name(), "scenario of d1");
  EXPECT_EQ((*parts)[1].spec.agent_count(), 2u);
  EXPECT_FALSE((*parts)[0].stop.has_value());
  EXPECT_FALSE((*parts)[0].ended());
  EXPECT_TRUE(s.DispatchedParts("never")->empty());

  // a reports first (the first report counts), then the run is stopped:
  // only b's part gets the StopRun.
  ASSERT_TRUE(Insert(s, End("a", 1, "d1", v1::RUN_STATE_COMPLETED, ""), 500).ok());
  ASSERT_TRUE(Insert(s, End("a", 2, "d1", v1::RUN_STATE_FAILED, "again"), 600).ok());
  v1::StopRun stop;
  stop.set_run_id("d1");
  stop.set_reason("operator");
  EXPECT_EQ(*s.StopDispatchedRun(stop), 1);
  EXPECT_EQ(*s.StopDispatchedRun(stop), 0);  // Stopped already.
  // b reports a state that is not a final one: it counts as FAILED.
  ASSERT_TRUE(Insert(s, End("b", 1, "d1", v1::RUN_STATE_RUNNING, "confused"), 700).ok());

  parts = s.DispatchedParts("d1");
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].end_state, v1::RUN_STATE_COMPLETED);
  EXPECT_EQ((*parts)[0].ended_ns, 500);
  EXPECT_FALSE((*parts)[0].stop.has_value());
  EXPECT_EQ((*parts)[1].end_state, v1::RUN_STATE_FAILED);
  EXPECT_EQ((*parts)[1].end_reason, "agent reported run state 2: confused");
  EXPECT_EQ((*parts)[1].ended_ns, 700);
  ASSERT_TRUE((*parts)[1].stop.has_value());
  EXPECT_EQ((*parts)[1].stop->reason(), "operator");
  // The RunEnd is a sample like the others (and no load interval).
  EXPECT_EQ(Query(path, "SELECT COUNT(*) FROM samples WHERE kind = 'run_end' AND run_id = 'd1'"),
            "3");
  EXPECT_TRUE(s.LoadIntervals("d1")->empty());
  // A run that was not dispatched has no part to end.
  ASSERT_TRUE(Insert(s, End("a", 3, "local", v1::RUN_STATE_COMPLETED, ""), 800).ok());
  EXPECT_EQ(Query(path, "SELECT COUNT(*) FROM dispatched_runs"), "2");
}

TEST(RunStoreTest, PartsToResumeAreTheRunningRunsAndStoppedPartsNotEnded) {
  auto store = RunStore::Open(TempPath("resume.db"));
  ASSERT_TRUE(store.ok()) << store.status();
  RunStore& s = **store;
  auto create = [&](const std::string& run_id, v1::RunState state, int64_t at,
                    std::vector<DispatchedPart> parts) {
    ASSERT_TRUE(
        s.CreateDispatchedRun({.run_id = run_id, .state = state, .created_ns = at}, parts).ok());
  };
  v1::StopRun stop;
  stop.set_reason("enough");
  // Completed long ago: nothing to resume.
  create("old", v1::RUN_STATE_COMPLETED, 1, {Part("old", 0, 1, "x", 1)});
  // Stopped: x reported its end, y did not (it may still be running).
  create("stopped", v1::RUN_STATE_ABORTED, 2,
         {Part("stopped", 0, 2, "x", 2), Part("stopped", 1, 2, "y", 2)});
  stop.set_run_id("stopped");
  ASSERT_EQ(*s.StopDispatchedRun(stop), 2);
  ASSERT_TRUE(Insert(s, End("x", 1, "stopped", v1::RUN_STATE_ABORTED, "stopped"), 3).ok());
  // Stopped, but its agent z got a later part since.
  create("superseded", v1::RUN_STATE_ABORTED, 4, {Part("superseded", 0, 1, "z", 4)});
  stop.set_run_id("superseded");
  ASSERT_EQ(*s.StopDispatchedRun(stop), 1);
  // Running: every part, ended or not.
  create("now", v1::RUN_STATE_RUNNING, 5, {Part("now", 0, 2, "x", 5), Part("now", 1, 2, "z", 5)});
  ASSERT_TRUE(Insert(s, End("z", 1, "now", v1::RUN_STATE_COMPLETED, ""), 6).ok());

  absl::StatusOr<std::vector<DispatchedPart>> parts = s.PartsToResume();
  ASSERT_TRUE(parts.ok()) << parts.status();
  std::vector<std::string> resumed;
  for (const DispatchedPart& p : *parts) resumed.push_back(p.run_id + "/" + p.source_id);
  EXPECT_EQ(resumed, (std::vector<std::string>{"stopped/y", "now/x", "now/z"}));
  EXPECT_EQ((*parts)[0].stop->reason(), "enough");
  EXPECT_TRUE((*parts)[2].ended());
}

TEST(RunStoreTest, UnparsableDispatchedPartIsDataLossNamingIt) {
  const std::string path = TempPath("bad-part.db");
  auto store = RunStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)
                  ->CreateDispatchedRun({.run_id = "d", .state = v1::RUN_STATE_RUNNING},
                                        {Part("d", 0, 1, "a", 1)})
                  .ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "UPDATE dispatched_runs SET run_spec = x'ffff'", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  absl::StatusOr<std::vector<DispatchedPart>> parts = (*store)->DispatchedParts("d");
  EXPECT_EQ(parts.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(parts.status().message().find("part 0 (agent a) of dispatched run 'd' does not parse"),
            std::string::npos)
      << parts.status();
}

TEST(RunStoreTest, MigratesAVersion1Database) {
  const std::string path = TempPath("version1.db");
  {
    // A database as the version 1 analyzer left it: its schema is kSchema,
    // the version 2 migration only adds dispatched_runs.
    auto store = RunStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->CreateRun({.run_id = "r-old", .state = v1::RUN_STATE_RUNNING}).ok());
    ASSERT_TRUE(Insert(**store, Load("a", 1, 100), 0).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE dispatched_runs; PRAGMA user_version = 1;", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  ASSERT_EQ(Query(path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'dispatched_runs'"), "0");

  auto store = RunStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(Query(path, "PRAGMA user_version"), "2");
  // What was there is readable as before.
  EXPECT_EQ((*store)->GetRun("r-old")->state, v1::RUN_STATE_RUNNING);
  EXPECT_EQ(*(*store)->StoredSequences("a"), std::vector<uint64_t>{1});
  EXPECT_EQ((*store)->LoadIntervals("")->size(), 1u);
  // And the new table works.
  EXPECT_TRUE((*store)->PartsToResume()->empty());  // r-old was not dispatched.
  ASSERT_TRUE((*store)
                  ->CreateDispatchedRun({.run_id = "r-new", .state = v1::RUN_STATE_RUNNING},
                                        {Part("r-new", 0, 1, "a", 1)})
                  .ok());
  EXPECT_EQ((*store)->DispatchedParts("r-new")->size(), 1u);
  // Opening a current database changes nothing.
  store->reset();
  store = RunStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->DispatchedParts("r-new")->size(), 1u);
}

}  // namespace
}  // namespace tpslab::analyzer
