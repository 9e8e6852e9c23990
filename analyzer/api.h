// The coordinator's HTTP endpoints, as a function from request to response
// (HttpServer serves it):
//
//   GET /metrics                  Prometheus text: current TPS, errors and
//                                 latency quantiles per transaction from the
//                                 latest complete second, agent health
//                                 (connected, acked sequence, stored, drops).
//   GET /                         HTML: every run, linking to its dashboard.
//   GET /runs/{id}                HTML: the live dashboard of a run (the
//                                 report page, refreshed every second).
//   GET /api/runs/{id}/report     JSON: the full report document
//                                 (analyzer/run_analysis.h, schema
//                                 tpslab.report/1) as of now.
//   GET /api/runs                 JSON: every run, newest first.
//   POST /api/runs                starts a distributed run: body {"scenario":
//                                 tpslab.v1.Scenario as proto JSON, "agents": N
//                                 (0: every streaming loadgen agent), "name",
//                                 "run_id", "start_delay_ms"}; 201 with the
//                                 run id and the agents, 409 when there are
//                                 not enough agents or a run is current.
//                                 The run ends by itself when every agent
//                                 reported the end of its part (see
//                                 coordinator_service.h).
//   POST /api/runs/{id}/stop      sends StopRun to its agents ({"reason"})
//                                 and ends it as aborted; 404 for a run that
//                                 was not dispatched, 409 when none of its
//                                 agents is still running it.
//   POST /api/runs/{id}/end       ends the current run ({"state":
//                                 "completed"|"failed"|"aborted"}); 409 when
//                                 it is not current (e.g. it ended by
//                                 itself).
//                                 POSTs need "Authorization: Bearer TOKEN"
//                                 when the coordinator has a token.
//   GET /api/runs/{id}/series     JSON: the run second by second (TPS, errors,
//                                 users, latency percentiles, per transaction).
//   GET /api/runs/{id}/summary    JSON: per-stage results, peak TPS, knee, the
//                                 highest TPS under ?slo_p99_ms=N (default
//                                 100), USL fit, Little's law per stage,
//                                 findings.
//
// Live figures come from LiveLoad, which the Ingestor feeds with every stored
// load interval (IngestorOptions::on_stored).
//
// Example:
//   LiveLoad live;
//   CoordinatorService service(store, {.ingest = {.on_stored = live.Feeder()}});
//   Api api(store, service, live);
//   HttpResponse r = api.Handle({"GET", "/api/runs", ""});
#ifndef TPSLAB_ANALYZER_API_H_
#define TPSLAB_ANALYZER_API_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "analyzer/coordinator_service.h"
#include "analyzer/http_server.h"
#include "analyzer/load_series.h"
#include "analyzer/run_analysis.h"
#include "analyzer/run_store.h"
#include "nlohmann/json.hpp"

namespace tpslab::analyzer {

// The most recent load intervals of every agent, for live views.
class LiveLoad {
 public:
  // Keeps intervals whose end is within `window_ns` of the newest one.
  // Default 30 s.
  explicit LiveLoad(int64_t window_ns = 30 * kNanosPerSecond) : window_ns_(window_ns) {}

  // Records one stored interval (thread-safe).
  void Add(const std::string& source_id, const v1::LoadInterval& interval, int64_t clock_offset_ns);

  // A callback for IngestorOptions::on_stored that adds load intervals.
  std::function<void(const v1::AgentMessage&, const std::string&)> Feeder();

  // The latest second that is complete at `now_ns` (ended at least `settle_ns`
  // ago, so every agent has reported it), else the newest one; empty before
  // any interval.
  std::optional<LoadSecond> Latest(int64_t now_ns, int64_t settle_ns = kNanosPerSecond) const;

 private:
  struct Entry {
    std::string source_id;
    int64_t clock_offset_ns;
    int64_t end_ns;  // Coordinator clock.
    v1::LoadInterval interval;
  };
  int64_t window_ns_;
  mutable std::mutex mutex_;
  std::deque<Entry> entries_;  // By arrival.
};

class Api {
 public:
  // `now_ns`: the clock for "latest complete second"; default system clock.
  Api(RunStore& store, CoordinatorService& service, const LiveLoad& live,
      std::function<int64_t()> now_ns = {});

  // Answers one request (thread-safe).
  HttpResponse Handle(const HttpRequest& request);

  // The bodies, for callers that want them without HTTP.
  std::string RenderMetrics();
  HttpResponse Runs();
  HttpResponse Series(const std::string& run_id);
  HttpResponse Summary(const std::string& run_id, double slo_p99_ms);
  HttpResponse Report(const std::string& run_id);
  HttpResponse Dashboard(const std::string& run_id);
  HttpResponse Index();

  // The token POST requests must carry (Authorization: Bearer TOKEN).
  // Default empty: none, as for agents. Set before serving.
  void set_token(std::string token) { token_ = std::move(token); }

  // Options of the report the dashboard shows (SLO, target...). Set before
  // serving; not synchronized.
  void set_report_options(AnalysisOptions options) { report_options_ = std::move(options); }

 private:
  RunStore& store_;
  CoordinatorService& service_;
  const LiveLoad& live_;
  std::function<int64_t()> now_ns_;
  AnalysisOptions report_options_;
  std::string token_;

  HttpResponse HandlePost(const HttpRequest& request, const std::string& path);
  HttpResponse Dispatch(const nlohmann::json& body);
};

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_API_H_
