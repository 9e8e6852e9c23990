#include "analyzer/api.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "analyzer/knee.h"
#include "analyzer/littles_law.h"
#include "analyzer/report/html_report.h"
#include "analyzer/usl.h"
#include "common/metrics/registry.h"

namespace tpslab::analyzer {
namespace {

using google::protobuf::util::TimeUtil;
using nlohmann::json;

constexpr const char* kJson = "application/json";

int64_t SystemNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

HttpResponse JsonResponse(const json& body, int status = 200) {
  // Check outputs and names may hold bytes that are not UTF-8: replaced,
  // never thrown on.
  return {status, kJson, body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"};
}

HttpResponse Problem(int status, const std::string& message) {
  return JsonResponse(json{{"error", message}}, status);
}

HttpResponse FromStatus(const absl::Status& status) {
  int code = 500;
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      code = 404;
      break;
    case absl::StatusCode::kInvalidArgument:
      code = 400;
      break;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      code = 409;
      break;
    default:
      break;
  }
  return Problem(code, std::string(status.message()));
}

// JSON has no NaN: missing values are null.
json Number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json LatencyJson(const LatencySummary& l) {
  return {{"count", l.count},   {"mean_ms", l.mean_ms}, {"p50_ms", l.p50_ms}, {"p90_ms", l.p90_ms},
          {"p99_ms", l.p99_ms}, {"p999_ms", l.p999_ms}, {"max_ms", l.max_ms}};
}

// Builds the aggregator of a run from the store.
absl::StatusOr<LoadAggregator> Aggregate(RunStore& store, const std::string& run_id) {
  if (absl::StatusOr<RunRecord> run = store.GetRun(run_id); !run.ok()) return run.status();
  absl::StatusOr<std::vector<StoredLoad>> loads = store.LoadIntervals(run_id);
  if (!loads.ok()) return loads.status();
  LoadAggregator aggregator;
  for (const StoredLoad& l : *loads) {
    // A corrupt histogram from one agent must not hide the rest of the run.
    aggregator.Add(l.source_id, l.interval, l.clock_offset_ns).IgnoreError();
  }
  return aggregator;
}

}  // namespace

void LiveLoad::Add(const std::string& source_id, const v1::LoadInterval& interval,
                   int64_t clock_offset_ns) {
  const int64_t end = TimeUtil::TimestampToNanoseconds(interval.end()) + clock_offset_ns;
  std::lock_guard lock(mutex_);
  entries_.push_back({source_id, clock_offset_ns, end, interval});
  int64_t newest = end;
  for (const Entry& e : entries_) newest = std::max(newest, e.end_ns);
  while (!entries_.empty() && entries_.front().end_ns < newest - window_ns_) entries_.pop_front();
}

std::function<void(const v1::AgentMessage&, const std::string&)> LiveLoad::Feeder() {
  return [this](const v1::AgentMessage& message, const std::string&) {
    if (message.has_load()) Add(message.source_id(), message.load(), 0);
  };
}

std::optional<LoadSecond> LiveLoad::Latest(int64_t now_ns, int64_t settle_ns) const {
  LoadAggregator aggregator;
  {
    std::lock_guard lock(mutex_);
    for (const Entry& e : entries_) {
      aggregator.Add(e.source_id, e.interval, e.clock_offset_ns).IgnoreError();
    }
  }
  std::vector<LoadSecond> seconds = aggregator.PerSecond();
  if (seconds.empty()) return std::nullopt;
  for (auto it = seconds.rbegin(); it != seconds.rend(); ++it) {
    if (it->bucket_ns + kNanosPerSecond <= now_ns - settle_ns) return std::move(*it);
  }
  return std::move(seconds.back());
}

Api::Api(RunStore& store, CoordinatorService& service, const LiveLoad& live,
         std::function<int64_t()> now_ns)
    : store_(store), service_(service), live_(live), now_ns_(std::move(now_ns)) {
  if (!now_ns_) now_ns_ = SystemNowNs;
}

HttpResponse Api::Handle(const HttpRequest& request) {
  const std::string path = PathOf(request.target);
  if (request.method == "POST") return HandlePost(request, path);
  if (request.method != "GET" && request.method != "HEAD") {
    return Problem(405,
                   absl::StrFormat("method %s not allowed on %s (use GET)", request.method, path));
  }
  if (path == "/metrics") {
    return {200, std::string(metrics::Registry::kContentType), RenderMetrics()};
  }
  if (path == "/api/runs") return Runs();
  if (path == "/") return Index();
  constexpr std::string_view kPage = "/runs/";
  if (path.starts_with(kPage) && path.size() > kPage.size() &&
      path.find('/', kPage.size()) == std::string::npos) {
    return Dashboard(path.substr(kPage.size()));
  }
  constexpr std::string_view kPrefix = "/api/runs/";
  if (path.starts_with(kPrefix)) {
    const std::string rest = path.substr(kPrefix.size());
    const size_t slash = rest.find('/');
    if (slash != std::string::npos && slash > 0) {
      const std::string id = rest.substr(0, slash);
      const std::string what = rest.substr(slash + 1);
      if (what == "series") return Series(id);
      if (what == "report") return Report(id);
      if (what == "summary") {
        double slo = 100;
        if (std::optional<std::string> value = QueryParam(request.target, "slo_p99_ms")) {
          char* end = nullptr;
          slo = std::strtod(value->c_str(), &end);
          if (value->empty() || *end != '\0' || !(slo > 0)) {
            return Problem(
                400, absl::StrFormat("slo_p99_ms: expected a number of milliseconds > 0, got '%s'",
                                     *value));
          }
        }
        return Summary(id, slo);
      }
    }
  }
  return Problem(404, absl::StrFormat("no such endpoint: %s", path));
}

HttpResponse Api::HandlePost(const HttpRequest& request, const std::string& path) {
  if (!token_.empty() && request.authorization != "Bearer " + token_) {
    return Problem(401, "POST needs the coordinator's token: Authorization: Bearer TOKEN");
  }
  const json body = request.body.empty() ? json::object()
                                         : json::parse(request.body, nullptr,
                                                       /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return Problem(400, "the request body must be a JSON object");
  }
  if (path == "/api/runs") return Dispatch(body);
  constexpr std::string_view kPrefix = "/api/runs/";
  if (path.starts_with(kPrefix)) {
    const std::string rest = path.substr(kPrefix.size());
    const size_t slash = rest.find('/');
    if (slash != std::string::npos && slash > 0) {
      const std::string id = rest.substr(0, slash);
      const std::string what = rest.substr(slash + 1);
      if (what == "stop") {
        const absl::Status s = service_.StopRun(id, body.value("reason", "stopped over HTTP"));
        return s.ok() ? JsonResponse({{"run_id", id}, {"state", "aborted"}}) : FromStatus(s);
      }
      if (what == "end") {
        if (service_.current_run() != id) {
          return Problem(409, absl::StrFormat("run '%s' is not the current run", id));
        }
        const std::string state = body.value("state", "completed");
        const v1::RunState code = state == "completed" ? v1::RUN_STATE_COMPLETED
                                  : state == "failed"  ? v1::RUN_STATE_FAILED
                                  : state == "aborted" ? v1::RUN_STATE_ABORTED
                                                       : v1::RUN_STATE_UNSPECIFIED;
        if (code == v1::RUN_STATE_UNSPECIFIED) {
          return Problem(400, absl::StrFormat("state: expected completed, failed or aborted, got "
                                              "'%s'",
                                              state));
        }
        const absl::Status s = service_.EndRun(code);
        return s.ok() ? JsonResponse({{"run_id", id}, {"state", state}}) : FromStatus(s);
      }
    }
  }
  return Problem(404, absl::StrFormat("no such endpoint: POST %s", path));
}

HttpResponse Api::Dispatch(const json& body) {
  if (!body.contains("scenario") || !body["scenario"].is_object()) {
    return Problem(400, "scenario: expected a tpslab.v1.Scenario as a JSON object (proto JSON)");
  }
  v1::Scenario scenario;
  const auto parsed =
      google::protobuf::util::JsonStringToMessage(body["scenario"].dump(), &scenario);
  if (!parsed.ok()) {
    return Problem(400, absl::StrCat("scenario: ", std::string(parsed.message())));
  }
  DispatchOptions options;
  options.run_id = body.value("run_id", "");
  options.name = body.value("name", "");
  if (body.contains("agents")) {
    if (!body["agents"].is_number_unsigned()) {
      return Problem(400, "agents: expected a number of agents >= 0");
    }
    options.agents = body["agents"].get<uint32_t>();
  }
  if (body.contains("start_delay_ms")) {
    if (!body["start_delay_ms"].is_number() || body["start_delay_ms"].get<double>() < 0) {
      return Problem(400, "start_delay_ms: expected milliseconds >= 0");
    }
    options.start_delay = std::chrono::milliseconds(body["start_delay_ms"].get<int64_t>());
  }
  absl::StatusOr<std::vector<std::string>> agents = service_.DispatchRun(scenario, options);
  if (!agents.ok()) return FromStatus(agents.status());
  return JsonResponse({{"run_id", service_.current_run()}, {"agents", *agents}}, 201);
}

HttpResponse Api::Report(const std::string& run_id) {
  absl::StatusOr<nlohmann::json> report = AnalyzeRun(store_, run_id, report_options_);
  if (!report.ok()) return FromStatus(report.status());
  return JsonResponse(*report);
}

HttpResponse Api::Dashboard(const std::string& run_id) {
  absl::StatusOr<RunRecord> run = store_.GetRun(run_id);
  if (!run.ok()) return FromStatus(run.status());
  HtmlOptions options;
  options.live = true;
  options.report_url = absl::StrCat("/api/runs/", run_id, "/report");
  // The first paint comes with the page; a run without load yet gets a
  // minimal document and fills in on the first refresh.
  absl::StatusOr<nlohmann::json> report = AnalyzeRun(store_, run_id, report_options_);
  const nlohmann::json document =
      report.ok()
          ? *report
          : nlohmann::json{{"schema", kReportSchema},
                           {"run", {{"id", run_id}, {"name", run->name}, {"state", "running"}}},
                           {"findings", nlohmann::json::array()}};
  return {200, "text/html; charset=utf-8", RenderReportHtml(document, options)};
}

HttpResponse Api::Index() {
  absl::StatusOr<std::vector<RunRecord>> runs = store_.ListRuns();
  if (!runs.ok()) return FromStatus(runs.status());
  std::string body =
      "<!doctype html><meta charset=utf-8><title>tpslab runs</title>"
      "<style>body{font:15px system-ui,sans-serif;margin:2em}td{padding:.2em 1em}</style>"
      "<h1>tpslab runs</h1><table><tr><th>run</th><th>name</th><th>state</th></tr>";
  for (const RunRecord& run : *runs) {
    absl::StrAppend(&body, "<tr><td><a href=\"/runs/", EscapeHtml(run.run_id), "\">",
                    EscapeHtml(run.run_id), "</a></td><td>", EscapeHtml(run.name), "</td><td>",
                    v1::RunState_Name(run.state), "</td></tr>");
  }
  absl::StrAppend(&body, "</table>");
  return {200, "text/html; charset=utf-8", body};
}

std::string Api::RenderMetrics() {
  metrics::Registry registry;
  const auto gauge = [&](const char* name, const char* help, const metrics::Labels& labels,
                         double value) {
    if (absl::StatusOr<metrics::Gauge*> g = registry.GetGauge(name, help, labels); g.ok()) {
      (*g)->Set(value);
    }
  };
  gauge("tpslab_run_active", "1 while a run is in progress.", {},
        service_.current_run().empty() ? 0 : 1);
  if (std::optional<LoadSecond> latest = live_.Latest(now_ns_())) {
    gauge("tpslab_active_users", "Active virtual users in the latest complete second.", {},
          latest->active_users);
    const auto add = [&](const std::string& name, const TransactionStats& stats) {
      const metrics::Labels labels = {{"transaction", name}};
      gauge("tpslab_tps", "Transactions per second in the latest complete second.", labels,
            stats.tps);
      gauge("tpslab_errors", "Failed transactions in the latest complete second.", labels,
            static_cast<double>(stats.errors));
      const LatencySummary l = Summarize(stats.latency);
      for (const auto& [q, ms] : {std::pair{"0.5", l.p50_ms}, std::pair{"0.9", l.p90_ms},
                                  std::pair{"0.99", l.p99_ms}, std::pair{"0.999", l.p999_ms}}) {
        metrics::Labels quantile = labels;
        quantile["quantile"] = q;
        gauge("tpslab_latency_seconds",
              "Transaction latency quantiles in the latest complete second (merged HDR "
              "histograms of all agents).",
              quantile, ms / 1000.0);
      }
    };
    add("all", latest->all);
    for (const auto& [name, stats] : latest->transactions) add(name, stats);
  }
  for (const AgentHealth& h : service_.Health()) {
    const metrics::Labels labels = {{"source", h.agent.source_id},
                                    {"kind", v1::AgentKind_Name(h.agent.kind)}};
    gauge("tpslab_agent_connected", "1 while the agent has a stream open.", labels,
          h.connected ? 1 : 0);
    gauge("tpslab_agent_acked_sequence", "Highest contiguous sequence stored for the agent.",
          labels, static_cast<double>(h.stats.acked));
    gauge("tpslab_agent_stored_samples", "Samples stored from the agent by this process.", labels,
          static_cast<double>(h.stats.stored));
    gauge("tpslab_agent_dropped_samples",
          "Samples the agent reported dropped (its buffer overflowed).", labels,
          static_cast<double>(h.stats.dropped));
    gauge("tpslab_agent_clock_offset_seconds", "Coordinator clock minus agent clock.", labels,
          static_cast<double>(h.agent.clock_offset_ns) / 1e9);
  }
  gauge("tpslab_ingest_rejected_samples", "Samples rejected without a source id or sequence.", {},
        static_cast<double>(service_.ingestor().rejected()));
  return registry.Render();
}

HttpResponse Api::Runs() {
  absl::StatusOr<std::vector<RunRecord>> runs = store_.ListRuns();
  if (!runs.ok()) return FromStatus(runs.status());
  json out = json::array();
  for (const RunRecord& r : *runs) {
    out.push_back({{"run_id", r.run_id},
                   {"name", r.name},
                   {"state", RunStateName(r.state)},
                   {"created_ns", r.created_ns},
                   {"started_ns", r.started_ns},
                   {"ended_ns", r.ended_ns}});
  }
  return JsonResponse(out);
}

HttpResponse Api::Series(const std::string& run_id) {
  absl::StatusOr<LoadAggregator> aggregator = Aggregate(store_, run_id);
  if (!aggregator.ok()) return FromStatus(aggregator.status());
  json time = json::array(), stage = json::array(), users = json::array(), tps = json::array(),
       errors = json::array(), p50 = json::array(), p90 = json::array(), p99 = json::array(),
       p999 = json::array(), generator_cpu = json::array();
  json transactions = json::object();
  const std::vector<LoadSecond> seconds = aggregator->PerSecond();
  for (size_t i = 0; i < seconds.size(); ++i) {
    const LoadSecond& s = seconds[i];
    const LatencySummary l = Summarize(s.all.latency);
    time.push_back(s.bucket_ns / kNanosPerSecond);
    stage.push_back(s.stage);
    users.push_back(s.active_users);
    tps.push_back(s.all.tps);
    errors.push_back(s.all.errors);
    p50.push_back(l.p50_ms);
    p90.push_back(l.p90_ms);
    p99.push_back(l.p99_ms);
    p999.push_back(l.p999_ms);
    generator_cpu.push_back(s.generator_cpu);
    for (const auto& [name, stats] : s.transactions) {
      json& t = transactions[name];
      if (t.is_null()) {
        t = {{"tps", json(seconds.size(), nullptr)},
             {"errors", json(seconds.size(), nullptr)},
             {"p99_ms", json(seconds.size(), nullptr)}};
      }
      t["tps"][i] = stats.tps;
      t["errors"][i] = stats.errors;
      t["p99_ms"][i] = Summarize(stats.latency).p99_ms;
    }
  }
  return JsonResponse({{"run_id", run_id},
                       {"time_s", time},
                       {"stage", stage},
                       {"active_users", users},
                       {"tps", tps},
                       {"errors", errors},
                       {"p50_ms", p50},
                       {"p90_ms", p90},
                       {"p99_ms", p99},
                       {"p999_ms", p999},
                       {"generator_cpu", generator_cpu},
                       {"transactions", transactions}});
}

HttpResponse Api::Summary(const std::string& run_id, double slo_p99_ms) {
  absl::StatusOr<RunRecord> run = store_.GetRun(run_id);
  if (!run.ok()) return FromStatus(run.status());
  absl::StatusOr<LoadAggregator> aggregator = Aggregate(store_, run_id);
  if (!aggregator.ok()) return FromStatus(aggregator.status());
  const std::vector<LoadStage> stages = aggregator->PerStage();

  json stage_rows = json::array();
  double peak_tps = 0;
  for (const LoadStage& s : stages) {
    const LatencySummary l = Summarize(s.all.latency);
    peak_tps = std::max(peak_tps, s.all.tps);
    // Think time is not in the stored intervals; Z = 0 makes the check
    // strict for scenarios that have none and flags the ones that do.
    const LittlesLawCheck little = CheckLittlesLaw({.concurrency = s.active_users,
                                                    .throughput = s.all.tps,
                                                    .response_time_s = l.mean_ms / 1e3});
    stage_rows.push_back({{"stage", s.stage},
                          {"seconds", s.seconds},
                          {"active_users", s.active_users},
                          {"target_rate", s.target_rate},
                          {"tps", s.all.tps},
                          {"count", s.all.count},
                          {"errors", s.all.errors},
                          {"latency", LatencyJson(l)},
                          {"generator_cpu", s.generator_cpu},
                          {"littles_law",
                           {{"verdict", LittlesLawVerdictName(little.verdict)},
                            {"expected_users", little.expected_concurrency},
                            {"relative_deviation", little.relative_deviation},
                            {"explanation", little.explanation}}}});
  }
  const std::vector<StagePoint> points = ToStagePoints(stages);
  json knee = nullptr;
  if (std::optional<Knee> k = FindKnee(points)) {
    knee = {{"stage", k->point.stage},
            {"load", k->point.load},
            {"tps", k->point.tps},
            {"p99_ms", k->point.p99_ms},
            {"method", k->method},
            {"marginal_gain", Number(k->marginal_gain)},
            {"latency_growth", Number(k->latency_growth)}};
  }
  json slo = {{"p99_ms", slo_p99_ms}, {"best", nullptr}};
  if (std::optional<StagePoint> best = HighestTpsUnderSlo(points, {.p99_ms = slo_p99_ms})) {
    slo["best"] = {
        {"stage", best->stage}, {"load", best->load}, {"tps", best->tps}, {"p99_ms", best->p99_ms}};
  }
  json usl = nullptr;
  const std::vector<UslPoint> usl_points = ToUslPoints(stages);
  absl::StatusOr<UslFit> fit = FitUsl(usl_points);
  if (fit.ok()) {
    usl = {
        {"lambda", fit->lambda},
        {"sigma", fit->sigma},
        {"kappa", fit->kappa},
        {"peak_concurrency", fit->peak_concurrency ? json(*fit->peak_concurrency) : json()},
        {"peak_tps", fit->peak_throughput ? json(*fit->peak_throughput) : json()},
        {"asymptotic_tps", fit->asymptotic_throughput ? json(*fit->asymptotic_throughput) : json()},
        {"r_squared", fit->r_squared},
        {"rmse", fit->rmse},
        {"points", fit->points}};
  } else {
    usl = {{"error", std::string(fit.status().message())}};
  }
  json findings = json::array();
  if (absl::StatusOr<std::vector<FindingRecord>> f = store_.ListFindings(run_id); f.ok()) {
    for (const FindingRecord& r : *f) {
      findings.push_back({{"time_ns", r.time_ns},
                          {"severity", r.severity},
                          {"kind", r.kind},
                          {"message", r.message}});
    }
  }
  return JsonResponse({{"run_id", run_id},
                       {"name", run->name},
                       {"state", RunStateName(run->state)},
                       {"peak_tps", peak_tps},
                       {"stages", stage_rows},
                       {"knee", knee},
                       {"slo", slo},
                       {"usl", usl},
                       {"findings", findings}});
}

}  // namespace tpslab::analyzer
