#include "analyzer/run_store.h"

#include <google/protobuf/util/time_util.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <optional>
#include <utility>

#include "absl/strings/str_format.h"
#include "common/metrics/hdr_codec.h"

namespace tpslab::analyzer {

const char* RunStateName(v1::RunState state) {
  switch (state) {
    case v1::RUN_STATE_PENDING:
      return "pending";
    case v1::RUN_STATE_RUNNING:
      return "running";
    case v1::RUN_STATE_COMPLETED:
      return "completed";
    case v1::RUN_STATE_ABORTED:
      return "aborted";
    case v1::RUN_STATE_FAILED:
      return "failed";
    default:
      return "unspecified";
  }
}

namespace {

using google::protobuf::util::TimeUtil;

// Version 1: every table but dispatched_runs. A new database gets it, then
// each migration.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  state INTEGER NOT NULL DEFAULT 0,
  created_ns INTEGER NOT NULL DEFAULT 0,
  started_ns INTEGER NOT NULL DEFAULT 0,
  ended_ns INTEGER NOT NULL DEFAULT 0,
  scenario_json TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS agents (
  source_id TEXT PRIMARY KEY,
  kind INTEGER NOT NULL DEFAULT 0,
  hostname TEXT NOT NULL DEFAULT '',
  version TEXT NOT NULL DEFAULT '',
  threads INTEGER NOT NULL DEFAULT 0,
  clock_offset_ns INTEGER NOT NULL DEFAULT 0,
  round_trip_ns INTEGER NOT NULL DEFAULT 0,
  registered_ns INTEGER NOT NULL DEFAULT 0,
  last_seen_ns INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sources (
  source_id TEXT PRIMARY KEY,
  acked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS samples (
  id INTEGER PRIMARY KEY,
  source_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  run_id TEXT NOT NULL DEFAULT '',
  time_ns INTEGER NOT NULL DEFAULT 0,
  received_ns INTEGER NOT NULL DEFAULT 0,
  kind TEXT NOT NULL,
  payload BLOB NOT NULL,
  UNIQUE (source_id, sequence)
);
CREATE INDEX IF NOT EXISTS samples_by_run ON samples (run_id, kind, time_ns);
CREATE TABLE IF NOT EXISTS load_ops (
  sample_id INTEGER NOT NULL REFERENCES samples (id),
  run_id TEXT NOT NULL,
  source_id TEXT NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  stage INTEGER NOT NULL,
  active_users INTEGER NOT NULL,
  is_step INTEGER NOT NULL,
  name TEXT NOT NULL,
  count INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  p50_us INTEGER NOT NULL,
  p90_us INTEGER NOT NULL,
  p99_us INTEGER NOT NULL,
  max_us INTEGER NOT NULL,
  mean_us REAL NOT NULL,
  histogram BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS load_ops_by_run ON load_ops (run_id, end_ns);
CREATE TABLE IF NOT EXISTS host_samples (
  sample_id INTEGER NOT NULL REFERENCES samples (id),
  run_id TEXT NOT NULL,
  source_id TEXT NOT NULL,
  time_ns INTEGER NOT NULL,
  hostname TEXT NOT NULL,
  cores INTEGER NOT NULL,
  cpu_busy_s REAL NOT NULL,
  cpu_total_s REAL NOT NULL,
  load1 REAL NOT NULL,
  net_rx_bytes INTEGER NOT NULL,
  net_tx_bytes INTEGER NOT NULL,
  disk_io_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS host_samples_by_run ON host_samples (run_id, time_ns);
CREATE TABLE IF NOT EXISTS process_samples (
  sample_id INTEGER NOT NULL REFERENCES samples (id),
  run_id TEXT NOT NULL,
  source_id TEXT NOT NULL,
  time_ns INTEGER NOT NULL,
  selector TEXT NOT NULL,
  pid INTEGER NOT NULL,
  cpu_user_s REAL NOT NULL,
  cpu_system_s REAL NOT NULL,
  rss_bytes INTEGER NOT NULL,
  threads INTEGER NOT NULL,
  open_fds INTEGER NOT NULL,
  voluntary_ctx INTEGER NOT NULL,
  involuntary_ctx INTEGER NOT NULL,
  alive INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS process_samples_by_run ON process_samples (run_id, time_ns);
CREATE TABLE IF NOT EXISTS check_states (
  sample_id INTEGER NOT NULL REFERENCES samples (id),
  run_id TEXT NOT NULL,
  source_id TEXT NOT NULL,
  time_ns INTEGER NOT NULL,
  name TEXT NOT NULL,
  state INTEGER NOT NULL,
  previous_state INTEGER NOT NULL,
  output TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS drops (
  source_id TEXT NOT NULL,
  first INTEGER NOT NULL,
  last INTEGER NOT NULL,
  newly INTEGER NOT NULL,
  time_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS drops_by_source ON drops (source_id, last);
CREATE TABLE IF NOT EXISTS findings (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL,
  time_ns INTEGER NOT NULL,
  severity TEXT NOT NULL,
  kind TEXT NOT NULL,
  message TEXT NOT NULL
);
)sql";

// Schema changes after version 1, in order: kMigrations[i] takes a database
// from version i + 1 to i + 2. They only add tables and indexes, so a
// database an older analyzer wrote stays readable as it is.
constexpr const char* kMigrations[] = {
    // 2: dispatched runs, one row per agent's part (issue 6). run_spec and
    // stop are the serialized tpslab.v1.RunSpec and StopRun (stop NULL while
    // not stopped); end_state is the agent's RunEnd (0 until it reports).
    R"sql(
CREATE TABLE IF NOT EXISTS dispatched_runs (
  run_id TEXT NOT NULL,
  agent_index INTEGER NOT NULL,
  source_id TEXT NOT NULL,
  dispatched_ns INTEGER NOT NULL,
  run_spec BLOB NOT NULL,
  stop BLOB,
  end_state INTEGER NOT NULL DEFAULT 0,
  end_reason TEXT NOT NULL DEFAULT '',
  ended_ns INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, agent_index),
  UNIQUE (run_id, source_id)
);
CREATE INDEX IF NOT EXISTS dispatched_runs_by_source ON dispatched_runs (source_id, dispatched_ns);
)sql",
};

constexpr int kSchemaVersion = 1 + static_cast<int>(std::size(kMigrations));

// A RunEnd state the coordinator can end a run with; anything else counts as
// FAILED (see coordinator.proto).
v1::RunState FinalState(v1::RunState state) {
  switch (state) {
    case v1::RUN_STATE_COMPLETED:
    case v1::RUN_STATE_ABORTED:
    case v1::RUN_STATE_FAILED:
      return state;
    default:
      return v1::RUN_STATE_FAILED;
  }
}

const char* KindOf(const v1::AgentMessage& m) {
  switch (m.payload_case()) {
    case v1::AgentMessage::kLoad:
      return "load";
    case v1::AgentMessage::kHost:
      return "host";
    case v1::AgentMessage::kProcess:
      return "process";
    case v1::AgentMessage::kCheck:
      return "check";
    case v1::AgentMessage::kDrops:
      return "drops";
    case v1::AgentMessage::kRunEnd:
      return "run_end";
    case v1::AgentMessage::PAYLOAD_NOT_SET:
      break;
  }
  return "empty";
}

int64_t TimeOf(const v1::AgentMessage& m) {
  switch (m.payload_case()) {
    case v1::AgentMessage::kLoad:
      return TimeUtil::TimestampToNanoseconds(m.load().end());
    case v1::AgentMessage::kHost:
      return TimeUtil::TimestampToNanoseconds(m.host().time());
    case v1::AgentMessage::kProcess:
      return TimeUtil::TimestampToNanoseconds(m.process().time());
    case v1::AgentMessage::kCheck:
      return TimeUtil::TimestampToNanoseconds(m.check().time());
    case v1::AgentMessage::kRunEnd:
      return TimeUtil::TimestampToNanoseconds(m.run_end().time());
    default:
      return 0;
  }
}

int64_t ToInt64(uint64_t v) {
  return v > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v);
}

}  // namespace

// A prepared statement, reset after each use by its owner.
class RunStore::Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }

  Statement& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& Bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  Statement& Bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // sqlite3_step: SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string(p, sqlite3_column_bytes(stmt_, col)) : std::string();
  }

 private:
  sqlite3_stmt* stmt_;
};

RunStore::RunStore(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

RunStore::~RunStore() {
  statements_.clear();
  sqlite3_close_v2(db_);
}

absl::StatusOr<std::unique_ptr<RunStore>> RunStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return absl::UnavailableError(absl::StrFormat("cannot open database %s: %s", path, message));
  }
  std::unique_ptr<RunStore> store(new RunStore(path, db));
  if (absl::Status s = store->Init(); !s.ok()) return s;
  return store;
}

absl::Status RunStore::Error(std::string_view what) const {
  return absl::InternalError(
      absl::StrFormat("database %s: %s: %s", path_, what, sqlite3_errmsg(db_)));
}

absl::Status RunStore::Exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return absl::InternalError(absl::StrFormat("database %s: %s", path_, message));
  }
  return absl::OkStatus();
}

template <typename... Args>
absl::Status RunStore::Query(const char* sql, std::string_view what,
                             const std::function<absl::Status(const Statement&)>& row,
                             const Args&... args) {
  absl::StatusOr<Statement*> prepared = Prepare(sql);
  if (!prepared.ok()) return prepared.status();
  Statement& st = **prepared;
  int index = 0;
  (st.Bind(++index, args), ...);
  absl::Status status;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    status = row(st);
    if (!status.ok()) break;
  }
  st.Reset();
  if (!status.ok()) return status;
  if (rc != SQLITE_DONE) return Error(what);
  return absl::OkStatus();
}

absl::Status RunStore::Init() {
  sqlite3_busy_timeout(db_, 5000);
  // WAL: readers (sqlite3 CLI, the HTTP API) never block the ingest writer.
  // synchronous=NORMAL: a commit survives a process crash; only a power loss
  // can lose the latest transactions.
  if (absl::Status s = Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"); !s.ok()) {
    return s;
  }
  // One transaction: a second process opening the file at the same time
  // waits, then finds the schema current.
  if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::Status status = Migrate();
  if (status.ok()) status = Exec("COMMIT");
  if (!status.ok()) Exec("ROLLBACK").IgnoreError();
  return status;
}

absl::Status RunStore::Migrate() {
  int64_t version = 0;
  if (absl::Status s = Query("PRAGMA user_version", "read schema version",
                             [&](const Statement& r) {
                               version = r.Int(0);
                               return absl::OkStatus();
                             });
      !s.ok()) {
    return s;
  }
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrFormat("database %s has schema version %d; this analyzer knows up to %d", path_,
                        version, kSchemaVersion));
  }
  if (version == kSchemaVersion) return absl::OkStatus();
  if (version < 1) {
    if (absl::Status s = Exec(kSchema); !s.ok()) return s;
    version = 1;
  }
  for (; version < kSchemaVersion; ++version) {
    if (absl::Status s = Exec(kMigrations[version - 1]); !s.ok()) {
      return absl::InternalError(
          absl::StrFormat("migrating to schema version %d: %s", version + 1, s.message()));
    }
  }
  return Exec(absl::StrFormat("PRAGMA user_version = %d", kSchemaVersion).c_str());
}

absl::StatusOr<RunStore::Statement*> RunStore::Prepare(const char* sql) {
  for (auto& [key, statement] : statements_) {
    if (key == sql) return statement.get();
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    return Error(absl::StrFormat("cannot prepare '%s'", sql));
  }
  statements_.emplace_back(sql, std::make_unique<Statement>(stmt));
  return statements_.back().second.get();
}

absl::Status RunStore::Done(Statement& statement, std::string_view what) {
  const int rc = statement.Step();
  statement.Reset();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Error(what);
  return absl::OkStatus();
}

absl::Status RunStore::InTransaction(const std::function<absl::Status(Writer&)>& body) {
  std::lock_guard lock(mutex_);
  if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Writer writer(*this);
  absl::Status status = body(writer);
  if (status.ok()) status = Exec("COMMIT");
  if (!status.ok()) {
    Exec("ROLLBACK").IgnoreError();  // Fails harmlessly if COMMIT already ended it.
  }
  return status;
}

absl::StatusOr<bool> RunStore::Writer::InsertSample(const v1::AgentMessage& m,
                                                    std::string_view run_id, int64_t received_ns) {
  RunStore& s = store_;
  if (!m.run_id().empty()) run_id = m.run_id();
  const int64_t time_ns = TimeOf(m);
  absl::StatusOr<Statement*> insert = s.Prepare(
      "INSERT OR IGNORE INTO samples (source_id, sequence, run_id, time_ns, received_ns, kind, "
      "payload) VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!insert.ok()) return insert.status();
  std::string payload;
  m.SerializeToString(&payload);
  (*insert)
      ->Bind(1, m.source_id())
      .Bind(2, ToInt64(m.sequence()))
      .Bind(3, run_id)
      .Bind(4, time_ns)
      .Bind(5, received_ns)
      .Bind(6, std::string_view(KindOf(m)))
      .BindBlob(7, payload);
  {
    const int rc = (*insert)->Step();
    (*insert)->Reset();
    if (rc != SQLITE_DONE) return s.Error("insert sample");
  }
  if (sqlite3_changes(s.db_) == 0) return false;  // Already stored.
  const int64_t sample_id = sqlite3_last_insert_rowid(s.db_);

  if (m.has_load()) {
    const v1::LoadInterval& load = m.load();
    absl::StatusOr<Statement*> op = s.Prepare(
        "INSERT INTO load_ops (sample_id, run_id, source_id, start_ns, end_ns, stage, "
        "active_users, is_step, name, count, errors, p50_us, p90_us, p99_us, max_us, mean_us, "
        "histogram) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!op.ok()) return op.status();
    const auto add = [&](const v1::OperationStats& stats, bool is_step) -> absl::Status {
      int64_t p50 = 0, p90 = 0, p99 = 0;
      absl::StatusOr<metrics::HdrHistogram> h = metrics::FromProto(stats.latency());
      if (h.ok()) {
        p50 = h->ValueAtPercentile(50);
        p90 = h->ValueAtPercentile(90);
        p99 = h->ValueAtPercentile(99);
      }
      (*op)
          ->Bind(1, sample_id)
          .Bind(2, run_id)
          .Bind(3, m.source_id())
          .Bind(4, int64_t{TimeUtil::TimestampToNanoseconds(load.start())})
          .Bind(5, int64_t{TimeUtil::TimestampToNanoseconds(load.end())})
          .Bind(6, int64_t{load.stage()})
          .Bind(7, int64_t{load.active_users()})
          .Bind(8, int64_t{is_step})
          .Bind(9, stats.name())
          .Bind(10, ToInt64(stats.count()))
          .Bind(11, ToInt64(stats.errors()))
          .Bind(12, p50)
          .Bind(13, p90)
          .Bind(14, p99)
          .Bind(15, int64_t{stats.latency().max()})
          .Bind(16, stats.latency().mean())
          .BindBlob(17, stats.latency().encoded());
      if (absl::Status done = s.Done(**op, "insert load_ops"); !done.ok()) return done;
      return absl::OkStatus();
    };
    for (const auto& t : load.transactions()) {
      if (absl::Status st = add(t, false); !st.ok()) return st;
    }
    for (const auto& t : load.steps()) {
      if (absl::Status st = add(t, true); !st.ok()) return st;
    }
  } else if (m.has_host()) {
    const v1::HostSample& host = m.host();
    double busy = 0, total = 0;
    int64_t cores = 0;
    for (const v1::CpuTimes& c : host.cpus()) {
      if (c.cpu() != "total") {
        ++cores;
        continue;
      }
      busy = c.user() + c.nice() + c.system() + c.irq() + c.softirq() + c.steal();
      total = busy + c.idle() + c.iowait();
    }
    int64_t rx = 0, tx = 0, io_ms = 0;
    for (const v1::NetInterface& i : host.interfaces()) {
      rx += ToInt64(i.rx_bytes());
      tx += ToInt64(i.tx_bytes());
    }
    for (const v1::Disk& d : host.disks()) io_ms = std::max(io_ms, ToInt64(d.io_time_ms()));
    absl::StatusOr<Statement*> st = s.Prepare(
        "INSERT INTO host_samples (sample_id, run_id, source_id, time_ns, hostname, cores, "
        "cpu_busy_s, cpu_total_s, load1, net_rx_bytes, net_tx_bytes, disk_io_ms) VALUES (?, ?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st.ok()) return st.status();
    (*st)
        ->Bind(1, sample_id)
        .Bind(2, run_id)
        .Bind(3, m.source_id())
        .Bind(4, time_ns)
        .Bind(5, host.hostname())
        .Bind(6, cores)
        .Bind(7, busy)
        .Bind(8, total)
        .Bind(9, host.load1())
        .Bind(10, rx)
        .Bind(11, tx)
        .Bind(12, io_ms);
    if (absl::Status done = s.Done(**st, "insert host_samples"); !done.ok()) return done;
  } else if (m.has_process()) {
    const v1::ProcessSample& p = m.process();
    absl::StatusOr<Statement*> st = s.Prepare(
        "INSERT INTO process_samples (sample_id, run_id, source_id, time_ns, selector, pid, "
        "cpu_user_s, cpu_system_s, rss_bytes, threads, open_fds, voluntary_ctx, "
        "involuntary_ctx, alive) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st.ok()) return st.status();
    (*st)
        ->Bind(1, sample_id)
        .Bind(2, run_id)
        .Bind(3, m.source_id())
        .Bind(4, time_ns)
        .Bind(5, p.selector())
        .Bind(6, int64_t{p.pid()})
        .Bind(7, p.cpu_user_seconds())
        .Bind(8, p.cpu_system_seconds())
        .Bind(9, ToInt64(p.rss_bytes()))
        .Bind(10, int64_t{p.threads()})
        .Bind(11, int64_t{p.open_fds()})
        .Bind(12, ToInt64(p.voluntary_ctx_switches()))
        .Bind(13, ToInt64(p.involuntary_ctx_switches()))
        .Bind(14, int64_t{p.alive()});
    if (absl::Status done = s.Done(**st, "insert process_samples"); !done.ok()) return done;
  } else if (m.has_check()) {
    const v1::CheckResult& c = m.check();
    absl::StatusOr<Statement*> st = s.Prepare(
        "INSERT INTO check_states (sample_id, run_id, source_id, time_ns, name, state, "
        "previous_state, output) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st.ok()) return st.status();
    (*st)
        ->Bind(1, sample_id)
        .Bind(2, run_id)
        .Bind(3, m.source_id())
        .Bind(4, time_ns)
        .Bind(5, c.name())
        .Bind(6, int64_t{c.state()})
        .Bind(7, int64_t{c.previous_state()})
        .Bind(8, c.output());
    if (absl::Status done = s.Done(**st, "insert check_states"); !done.ok()) return done;
  } else if (m.has_run_end()) {
    // The agent's part of a dispatched run is over (the first report wins;
    // a run that was not dispatched has no row to update).
    const v1::RunEnd& end = m.run_end();
    const v1::RunState state = FinalState(end.state());
    const std::string reason =
        state == end.state()
            ? end.reason()
            : absl::StrFormat("agent reported run state %d: %s", end.state(), end.reason());
    absl::StatusOr<Statement*> st = s.Prepare(
        "UPDATE dispatched_runs SET end_state = ?, end_reason = ?, ended_ns = ? "
        "WHERE run_id = ? AND source_id = ? AND end_state = ?");
    if (!st.ok()) return st.status();
    (*st)
        ->Bind(1, int64_t{state})
        .Bind(2, reason)
        .Bind(3, received_ns)
        .Bind(4, run_id)
        .Bind(5, m.source_id())
        .Bind(6, int64_t{v1::RUN_STATE_UNSPECIFIED});  // Not ended yet.
    if (absl::Status done = s.Done(**st, "record the end of a dispatched part"); !done.ok()) {
      return done;
    }
  }
  return true;
}

absl::Status RunStore::Writer::SetAcked(std::string_view source_id, uint64_t acked) {
  RunStore& s = store_;
  absl::StatusOr<Statement*> st = s.Prepare(
      "INSERT INTO sources (source_id, acked) VALUES (?, ?) ON CONFLICT (source_id) DO UPDATE "
      "SET acked = MAX(acked, excluded.acked)");
  if (!st.ok()) return st.status();
  (*st)->Bind(1, source_id).Bind(2, ToInt64(acked));
  if (absl::Status done = s.Done(**st, "update acked sequence"); !done.ok()) return done;
  return absl::OkStatus();
}

absl::Status RunStore::Writer::InsertDrop(std::string_view source_id, uint64_t first, uint64_t last,
                                          uint64_t newly, int64_t time_ns) {
  RunStore& s = store_;
  absl::StatusOr<Statement*> st = s.Prepare(
      "INSERT INTO drops (source_id, first, last, newly, time_ns) VALUES (?, ?, ?, ?, ?)");
  if (!st.ok()) return st.status();
  (*st)
      ->Bind(1, source_id)
      .Bind(2, ToInt64(first))
      .Bind(3, ToInt64(last))
      .Bind(4, ToInt64(newly))
      .Bind(5, time_ns);
  if (absl::Status done = s.Done(**st, "insert drop"); !done.ok()) return done;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> RunStore::Writer::InsertFinding(const FindingRecord& f) {
  RunStore& s = store_;
  absl::StatusOr<Statement*> st = s.Prepare(
      "INSERT INTO findings (run_id, time_ns, severity, kind, message) VALUES (?, ?, ?, ?, ?)");
  if (!st.ok()) return st.status();
  (*st)
      ->Bind(1, f.run_id)
      .Bind(2, f.time_ns)
      .Bind(3, f.severity)
      .Bind(4, f.kind)
      .Bind(5, f.message);
  if (absl::Status done = s.Done(**st, "insert finding"); !done.ok()) return done;
  return sqlite3_last_insert_rowid(s.db_);
}

absl::Status RunStore::Writer::SetRunState(std::string_view run_id, v1::RunState state,
                                           int64_t time_ns) {
  return store_.UpdateRunState(run_id, state, time_ns);
}

absl::StatusOr<uint64_t> RunStore::Acked(std::string_view source_id) {
  std::lock_guard lock(mutex_);
  uint64_t acked = 0;
  absl::Status status = Query(
      "SELECT acked FROM sources WHERE source_id = ?", "read acked sequence",
      [&](const Statement& r) {
        acked = static_cast<uint64_t>(r.Int(0));
        return absl::OkStatus();
      },
      source_id);
  if (!status.ok()) return status;
  return acked;
}

absl::StatusOr<agent::SequenceTracker> RunStore::RestoreTracker(std::string_view source_id) {
  absl::StatusOr<uint64_t> acked = Acked(source_id);
  if (!acked.ok()) return acked.status();
  agent::SequenceTracker tracker(*acked);
  std::lock_guard lock(mutex_);
  // Dropped ranges first: the stored sequences inside them then count as
  // duplicates, as they did when they arrived.
  absl::Status status = Query(
      "SELECT first, last FROM drops WHERE source_id = ? AND last > ? ORDER BY rowid",
      "read dropped ranges",
      [&](const Statement& r) {
        tracker.MarkDropped(static_cast<uint64_t>(r.Int(0)), static_cast<uint64_t>(r.Int(1)));
        return absl::OkStatus();
      },
      source_id, ToInt64(*acked));
  if (!status.ok()) return status;
  status = Query(
      "SELECT sequence FROM samples WHERE source_id = ? AND sequence > ? ORDER BY sequence",
      "read stored sequences",
      [&](const Statement& r) {
        tracker.Accept(static_cast<uint64_t>(r.Int(0)));
        return absl::OkStatus();
      },
      source_id, ToInt64(*acked));
  if (!status.ok()) return status;
  return tracker;
}

absl::Status RunStore::CreateRun(const RunRecord& run) {
  std::lock_guard lock(mutex_);
  return InsertRun(run);
}

absl::Status RunStore::InsertRun(const RunRecord& run) {
  absl::StatusOr<Statement*> st = Prepare(
      "INSERT INTO runs (run_id, name, state, created_ns, started_ns, ended_ns, scenario_json) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!st.ok()) return st.status();
  (*st)
      ->Bind(1, run.run_id)
      .Bind(2, run.name)
      .Bind(3, int64_t{run.state})
      .Bind(4, run.created_ns)
      .Bind(5, run.started_ns)
      .Bind(6, run.ended_ns)
      .Bind(7, run.scenario_json);
  const int rc = (*st)->Step();
  (*st)->Reset();
  if (rc == SQLITE_CONSTRAINT) {
    return absl::AlreadyExistsError(absl::StrFormat("run '%s' already exists", run.run_id));
  }
  if (rc != SQLITE_DONE) return Error("insert run");
  return absl::OkStatus();
}

absl::Status RunStore::SetRunState(std::string_view run_id, v1::RunState state, int64_t time_ns) {
  std::lock_guard lock(mutex_);
  return UpdateRunState(run_id, state, time_ns);
}

absl::Status RunStore::UpdateRunState(std::string_view run_id, v1::RunState state,
                                      int64_t time_ns) {
  absl::StatusOr<Statement*> st = Prepare(
      "UPDATE runs SET state = ?1, "
      "started_ns = CASE WHEN ?1 = ?4 AND started_ns = 0 THEN ?2 ELSE started_ns END, "
      "ended_ns = CASE WHEN ?1 IN (?5, ?6, ?7) AND ended_ns = 0 THEN ?2 ELSE ended_ns END "
      "WHERE run_id = ?3");
  if (!st.ok()) return st.status();
  (*st)
      ->Bind(1, int64_t{state})
      .Bind(2, time_ns)
      .Bind(3, run_id)
      .Bind(4, int64_t{v1::RUN_STATE_RUNNING})
      .Bind(5, int64_t{v1::RUN_STATE_COMPLETED})
      .Bind(6, int64_t{v1::RUN_STATE_ABORTED})
      .Bind(7, int64_t{v1::RUN_STATE_FAILED});
  if (absl::Status done = Done(**st, "update run state"); !done.ok()) return done;
  if (sqlite3_changes(db_) == 0) {
    return absl::NotFoundError(absl::StrFormat("no run '%s'", run_id));
  }
  return absl::OkStatus();
}

namespace {
constexpr const char* kRunColumns =
    "SELECT run_id, name, state, created_ns, started_ns, ended_ns, scenario_json FROM runs ";
}  // namespace

RunRecord RunStore::ReadRun(const Statement& r) {
  return {r.Text(0), r.Text(1), static_cast<v1::RunState>(r.Int(2)), r.Int(3), r.Int(4),
          r.Int(5),  r.Text(6)};
}

absl::StatusOr<v1::AgentMessage> RunStore::ParsePayload(const Statement& r, int column) const {
  v1::AgentMessage message;
  if (!message.ParseFromString(r.Text(column))) {
    return absl::DataLossError(
        absl::StrFormat("database %s: sample %s/%d does not parse", path_, r.Text(0), r.Int(1)));
  }
  return message;
}

absl::StatusOr<std::vector<RunRecord>> RunStore::ListRuns() {
  std::lock_guard lock(mutex_);
  static const std::string sql = std::string(kRunColumns) + "ORDER BY created_ns DESC, rowid DESC";
  std::vector<RunRecord> runs;
  absl::Status status = Query(sql.c_str(), "list runs", [&](const Statement& r) {
    runs.push_back(ReadRun(r));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return runs;
}

absl::StatusOr<RunRecord> RunStore::GetRun(std::string_view run_id) {
  std::lock_guard lock(mutex_);
  static const std::string sql = std::string(kRunColumns) + "WHERE run_id = ?";
  std::optional<RunRecord> run;
  absl::Status status = Query(
      sql.c_str(), "read run",
      [&](const Statement& r) {
        run = ReadRun(r);
        return absl::OkStatus();
      },
      run_id);
  if (!status.ok()) return status;
  if (!run) return absl::NotFoundError(absl::StrFormat("no run '%s'", run_id));
  return *std::move(run);
}

absl::Status RunStore::UpsertAgent(const AgentRecord& a) {
  std::lock_guard lock(mutex_);
  absl::StatusOr<Statement*> st = Prepare(
      "INSERT INTO agents (source_id, kind, hostname, version, threads, clock_offset_ns, "
      "round_trip_ns, registered_ns, last_seen_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (source_id) DO UPDATE SET kind = excluded.kind, hostname = "
      "excluded.hostname, version = excluded.version, threads = excluded.threads, "
      "clock_offset_ns = excluded.clock_offset_ns, round_trip_ns = excluded.round_trip_ns, "
      "last_seen_ns = excluded.last_seen_ns");
  if (!st.ok()) return st.status();
  (*st)
      ->Bind(1, a.source_id)
      .Bind(2, int64_t{a.kind})
      .Bind(3, a.hostname)
      .Bind(4, a.version)
      .Bind(5, int64_t{a.threads})
      .Bind(6, a.clock_offset_ns)
      .Bind(7, a.round_trip_ns)
      .Bind(8, a.registered_ns)
      .Bind(9, a.last_seen_ns);
  if (absl::Status done = Done(**st, "upsert agent"); !done.ok()) return done;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AgentRecord>> RunStore::ListAgents() {
  std::lock_guard lock(mutex_);
  std::vector<AgentRecord> agents;
  absl::Status status = Query(
      "SELECT source_id, kind, hostname, version, threads, clock_offset_ns, round_trip_ns, "
      "registered_ns, last_seen_ns FROM agents ORDER BY source_id",
      "list agents", [&](const Statement& r) {
        agents.push_back({r.Text(0), static_cast<v1::AgentKind>(r.Int(1)), r.Text(2), r.Text(3),
                          static_cast<uint32_t>(r.Int(4)), r.Int(5), r.Int(6), r.Int(7), r.Int(8)});
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return agents;
}

absl::StatusOr<std::vector<FindingRecord>> RunStore::ListFindings(std::string_view run_id) {
  std::lock_guard lock(mutex_);
  std::vector<FindingRecord> findings;
  absl::Status status = Query(
      "SELECT id, run_id, time_ns, severity, kind, message FROM findings WHERE run_id = ? "
      "ORDER BY id",
      "list findings",
      [&](const Statement& r) {
        findings.push_back({r.Int(0), r.Text(1), r.Int(2), r.Text(3), r.Text(4), r.Text(5)});
        return absl::OkStatus();
      },
      run_id);
  if (!status.ok()) return status;
  return findings;
}

absl::StatusOr<std::vector<StoredLoad>> RunStore::LoadIntervals(std::string_view run_id) {
  std::lock_guard lock(mutex_);
  std::vector<StoredLoad> loads;
  absl::Status status = Query(
      "SELECT s.source_id, s.sequence, COALESCE(a.clock_offset_ns, 0), s.payload FROM samples s "
      "LEFT JOIN agents a ON a.source_id = s.source_id WHERE s.run_id = ? AND s.kind = 'load' "
      "ORDER BY s.source_id, s.sequence",
      "read load intervals",
      [&](const Statement& r) -> absl::Status {
        absl::StatusOr<v1::AgentMessage> message = ParsePayload(r, 3);
        if (!message.ok()) return message.status();
        loads.push_back({r.Text(0), static_cast<uint64_t>(r.Int(1)), r.Int(2),
                         std::move(*message->mutable_load())});
        return absl::OkStatus();
      },
      run_id);
  if (!status.ok()) return status;
  return loads;
}

absl::Status RunStore::ForEachSample(
    std::string_view run_id, std::string_view kind,
    const std::function<void(std::string source_id, uint64_t sequence, int64_t clock_offset_ns,
                             v1::AgentMessage& message)>& fill) {
  return Query(
      "SELECT s.source_id, s.sequence, COALESCE(a.clock_offset_ns, 0), s.payload FROM samples s "
      "LEFT JOIN agents a ON a.source_id = s.source_id WHERE s.run_id = ? AND s.kind = ? "
      "ORDER BY s.time_ns + COALESCE(a.clock_offset_ns, 0), s.source_id, s.sequence",
      absl::StrFormat("read %s samples", kind),
      [&](const Statement& r) -> absl::Status {
        absl::StatusOr<v1::AgentMessage> message = ParsePayload(r, 3);
        if (!message.ok()) return message.status();
        fill(r.Text(0), static_cast<uint64_t>(r.Int(1)), r.Int(2), *message);
        return absl::OkStatus();
      },
      run_id, kind);
}

absl::StatusOr<std::vector<StoredHost>> RunStore::HostSamples(std::string_view run_id) {
  std::lock_guard lock(mutex_);
  std::vector<StoredHost> out;
  absl::Status status = ForEachSample(
      run_id, "host", [&](std::string source, uint64_t sequence, int64_t offset, auto& m) {
        out.push_back({std::move(source), sequence, offset, std::move(*m.mutable_host())});
      });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::vector<StoredProcess>> RunStore::ProcessSamples(std::string_view run_id) {
  std::lock_guard lock(mutex_);
  std::vector<StoredProcess> out;
  absl::Status status = ForEachSample(
      run_id, "process", [&](std::string source, uint64_t sequence, int64_t offset, auto& m) {
        out.push_back({std::move(source), sequence, offset, std::move(*m.mutable_process())});
      });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::vector<StoredCheck>> RunStore::CheckResults(std::string_view run_id) {
  std::lock_guard lock(mutex_);
  std::vector<StoredCheck> out;
  absl::Status status = ForEachSample(
      run_id, "check", [&](std::string source, uint64_t sequence, int64_t offset, auto& m) {
        out.push_back({std::move(source), sequence, offset, std::move(*m.mutable_check())});
      });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<int64_t> RunStore::CountSamples(std::string_view source_id) {
  std::lock_guard lock(mutex_);
  int64_t n = 0;
  absl::Status status = Query(
      "SELECT COUNT(*) FROM samples WHERE ?1 = '' OR source_id = ?1", "count samples",
      [&](const Statement& r) {
        n = r.Int(0);
        return absl::OkStatus();
      },
      source_id);
  if (!status.ok()) return status;
  return n;
}

absl::StatusOr<std::vector<uint64_t>> RunStore::StoredSequences(std::string_view source_id) {
  std::lock_guard lock(mutex_);
  std::vector<uint64_t> sequences;
  absl::Status status = Query(
      "SELECT sequence FROM samples WHERE source_id = ? ORDER BY sequence", "read sequences",
      [&](const Statement& r) {
        sequences.push_back(static_cast<uint64_t>(r.Int(0)));
        return absl::OkStatus();
      },
      source_id);
  if (!status.ok()) return status;
  return sequences;
}

absl::Status RunStore::CreateDispatchedRun(const RunRecord& run,
                                           const std::vector<DispatchedPart>& parts) {
  std::lock_guard lock(mutex_);
  if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::Status status = InsertRun(run);
  for (const DispatchedPart& part : parts) {
    if (!status.ok()) break;
    absl::StatusOr<Statement*> st = Prepare(
        "INSERT INTO dispatched_runs (run_id, agent_index, source_id, dispatched_ns, run_spec, "
        "stop, end_state, end_reason, ended_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st.ok()) {
      status = st.status();
      break;
    }
    (*st)
        ->Bind(1, run.run_id)
        .Bind(2, int64_t{part.agent_index})
        .Bind(3, part.source_id)
        .Bind(4, part.dispatched_ns)
        .BindBlob(5, part.spec.SerializeAsString())
        .Bind(7, int64_t{part.end_state})
        .Bind(8, part.end_reason)
        .Bind(9, part.ended_ns);
    if (part.stop) (*st)->BindBlob(6, part.stop->SerializeAsString());  // Else NULL.
    status = Done(**st, absl::StrFormat("insert part %d of dispatched run '%s'", part.agent_index,
                                        run.run_id));
  }
  if (status.ok()) status = Exec("COMMIT");
  if (!status.ok()) Exec("ROLLBACK").IgnoreError();
  return status;
}

absl::StatusOr<int> RunStore::StopDispatchedRun(const v1::StopRun& stop) {
  std::lock_guard lock(mutex_);
  absl::StatusOr<Statement*> st = Prepare(
      "UPDATE dispatched_runs SET stop = ? WHERE run_id = ? AND stop IS NULL AND end_state = ?");
  if (!st.ok()) return st.status();
  (*st)
      ->BindBlob(1, stop.SerializeAsString())
      .Bind(2, stop.run_id())
      .Bind(3, int64_t{v1::RUN_STATE_UNSPECIFIED});  // Not ended.
  if (absl::Status done = Done(**st, "record StopRun"); !done.ok()) return done;
  return sqlite3_changes(db_);
}

namespace {
constexpr const char* kPartColumns =
    "SELECT d.run_id, d.agent_index, d.source_id, d.dispatched_ns, d.run_spec, d.stop, "
    "d.end_state, d.end_reason, d.ended_ns FROM dispatched_runs d ";
}  // namespace

absl::StatusOr<DispatchedPart> RunStore::ReadPart(const Statement& r) const {
  DispatchedPart part{.run_id = r.Text(0),
                      .agent_index = static_cast<uint32_t>(r.Int(1)),
                      .source_id = r.Text(2),
                      .dispatched_ns = r.Int(3),
                      .end_state = static_cast<v1::RunState>(r.Int(6)),
                      .end_reason = r.Text(7),
                      .ended_ns = r.Int(8)};
  bool parsed = part.spec.ParseFromString(r.Text(4));
  if (parsed && !r.IsNull(5)) parsed = part.stop.emplace().ParseFromString(r.Text(5));
  if (!parsed) {
    return absl::DataLossError(
        absl::StrFormat("database %s: part %d (agent %s) of dispatched run '%s' does not parse",
                        path_, part.agent_index, part.source_id, part.run_id));
  }
  return part;
}

template <typename... Args>
absl::StatusOr<std::vector<DispatchedPart>> RunStore::QueryParts(const char* sql,
                                                                 std::string_view what,
                                                                 const Args&... args) {
  std::vector<DispatchedPart> parts;
  absl::Status status = Query(
      sql, what,
      [&](const Statement& r) -> absl::Status {
        absl::StatusOr<DispatchedPart> part = ReadPart(r);
        if (!part.ok()) return part.status();
        parts.push_back(*std::move(part));
        return absl::OkStatus();
      },
      args...);
  if (!status.ok()) return status;
  return parts;
}

absl::StatusOr<std::vector<DispatchedPart>> RunStore::DispatchedParts(std::string_view run_id) {
  std::lock_guard lock(mutex_);
  static const std::string sql =
      std::string(kPartColumns) + "WHERE d.run_id = ? ORDER BY d.agent_index";
  return QueryParts(sql.c_str(), "read dispatched run", run_id);
}

absl::StatusOr<std::vector<DispatchedPart>> RunStore::PartsToResume() {
  std::lock_guard lock(mutex_);
  // ?1: RUN_STATE_RUNNING; ?2: RUN_STATE_UNSPECIFIED, a part not ended.
  static const std::string sql =
      std::string(kPartColumns) +
      "JOIN runs r ON r.run_id = d.run_id WHERE r.state = ?1 OR (d.stop IS NOT NULL AND "
      "d.end_state = ?2 AND NOT EXISTS (SELECT 1 FROM dispatched_runs n WHERE n.source_id = "
      "d.source_id AND n.dispatched_ns > d.dispatched_ns)) "
      "ORDER BY d.dispatched_ns, d.run_id, d.agent_index";
  return QueryParts(sql.c_str(), "read dispatched runs to resume", int64_t{v1::RUN_STATE_RUNNING},
                    int64_t{v1::RUN_STATE_UNSPECIFIED});
}

}  // namespace tpslab::analyzer
