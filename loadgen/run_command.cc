#include "loadgen/run_command.h"

#include <unistd.h>

#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/agent/agent_stream.h"
#include "common/app/cli.h"
#include "common/parse/size.h"
#include "common/parse/url.h"
#include "loadgen/engine.h"
#include "loadgen/report.h"
#include "loadgen/scenario.h"
#include "loadgen/threshold.h"
#include "spdlog/spdlog.h"

namespace tpslab::loadgen {
namespace {

void SetDuration(google::protobuf::Duration* out, std::chrono::nanoseconds d) {
  out->set_seconds(d.count() / 1'000'000'000);
  out->set_nanos(static_cast<int32_t>(d.count() % 1'000'000'000));
}

absl::Status AddFtpTransaction(const std::string& spec, const parse::Url& url,
                               v1::Scenario& scenario) {
  const size_t colon = spec.find(':');
  const std::string op = spec.substr(0, colon);
  const std::string arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
  v1::Transaction& tx = *scenario.add_transactions();
  tx.set_name(op);
  tx.set_weight(1);
  auto add = [&](v1::FtpStep::Op o, const std::string& name) -> v1::FtpStep& {
    v1::Step& step = *tx.add_steps();
    step.set_name(name);
    step.mutable_ftp()->set_op(o);
    return *step.mutable_ftp();
  };
  add(v1::FtpStep::OP_CONNECT, "connect");
  add(v1::FtpStep::OP_LOGIN, "login");
  std::string dir = url.path;
  while (!dir.empty() && dir.back() == '/') dir.pop_back();
  const std::string prefix = dir.empty() ? "" : dir + "/";
  if (op == "upload" || op == "append") {
    absl::StatusOr<uint64_t> size = parse::ParseSize(arg.empty() ? "1KiB" : arg);
    if (!size.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("--transaction ", spec, ": ", size.status().message()));
    v1::FtpStep& s = add(op == "upload" ? v1::FtpStep::OP_UPLOAD : v1::FtpStep::OP_APPEND, op);
    // Unique names: servers may refuse to overwrite (anonymous uploads), and
    // several runs or agents may share a directory.
    s.set_path(prefix + (op == "upload" ? "loadgen-${uuid}.bin" : "loadgen-append-${vu}.bin"));
    s.set_size_bytes(*size);
  } else if (op == "download") {
    if (arg.empty()) return absl::InvalidArgumentError("--transaction download:PATH needs a path");
    add(v1::FtpStep::OP_DOWNLOAD, op).set_path(arg);
  } else if (op == "list" || op == "nlst" || op == "mlsd") {
    add(op == "list"   ? v1::FtpStep::OP_LIST
        : op == "nlst" ? v1::FtpStep::OP_NLST
                       : v1::FtpStep::OP_MLSD,
        op)
        .set_path(arg);
  } else if (op == "noop" || op == "pwd") {
    add(op == "noop" ? v1::FtpStep::OP_NOOP : v1::FtpStep::OP_PWD, op);
  } else if (op == "size" || op == "mdtm" || op == "cwd") {
    if (arg.empty())
      return absl::InvalidArgumentError(absl::StrCat("--transaction ", op, ":PATH needs a path"));
    add(op == "size"   ? v1::FtpStep::OP_SIZE
        : op == "mdtm" ? v1::FtpStep::OP_MDTM
                       : v1::FtpStep::OP_CWD,
        op)
        .set_path(arg);
  } else if (op == "login") {
    // connect + login + quit only.
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--transaction '", spec,
        "': unknown FTP transaction (expected upload[:SIZE], append[:SIZE], download:PATH, "
        "list[:PATH], nlst[:PATH], mlsd[:PATH], size:PATH, mdtm:PATH, cwd:PATH, noop, pwd, "
        "login)"));
  }
  add(v1::FtpStep::OP_QUIT, "quit");
  return absl::OkStatus();
}

}  // namespace

void AddRunOptions(CLI::App& run, RunOptions& o) {
  run.add_option("scenario", o.scenario, "Scenario file (YAML or JSON)");
  run.add_option("--target", o.target,
                 "Target URL (ftp://user:pass@host:port/dir, http://host:port/path); with a "
                 "scenario, replaces its first target's URL (its tls options stay)");
  run.add_option("--summary-json", o.summary_json, "Write the JSON summary to FILE");
  run.add_option("--out", o.out_dir, "Write summary.json, timeseries.csv and *.hlog to DIR");
  run.add_option("--coordinator", o.coordinator, "Stream intervals to a coordinator HOST:PORT");
  run.add_option("--token", o.token, "Shared secret for --coordinator");
  run.add_option("--coordinator-ca", o.coordinator_ca,
                 "CA certificate (PEM) of the coordinator's TLS certificate: use TLS");
  run.add_option("--transaction", o.transactions,
                 "One-line form: upload[:SIZE], download:PATH, list, nlst, mlsd, noop, ...");
  run.add_option("--users,--connections", o.users, "One-line form: virtual users (closed model)");
  run.add_option("--rate", o.rate, "One-line form: arrivals per second (open model)");
  run.add_option("--max-concurrency", o.max_concurrency,
                 "One-line form, open model: cap on concurrent transactions");
  app::AddDuration(run, "--duration", o.duration, "One-line form: time at full load");
  app::AddDuration(run, "--ramp", o.ramp, "One-line form: linear ramp before --duration");
  app::AddDuration(run, "--timeout", o.timeout, "One-line form: deadline of every I/O");
  app::AddDuration(run, "--interval", o.interval, "One-line form: reporting interval");
  run.add_flag("--insecure", o.insecure,
               "Do not verify the TLS certificates of ftps:// and https:// targets");
  run.add_option("--threshold", o.thresholds, "Pass/fail expression, e.g. 'p99(upload) < 50ms'");
  run.add_option("--threads", o.threads, "Engine threads (0: one per core)");
  run.add_option("--progress", o.progress, "Progress lines on stderr: auto, on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}));
}

absl::StatusOr<v1::Scenario> BuildScenario(const RunOptions& o) {
  v1::Scenario scenario;
  if (!o.scenario.empty()) {
    absl::StatusOr<v1::Scenario> loaded = LoadScenarioFile(o.scenario);
    if (!loaded.ok()) return loaded.status();
    scenario = *std::move(loaded);
    if (!o.target.empty()) {
      absl::StatusOr<parse::Url> url = ParseTargetUrl(o.target);
      if (!url.ok())
        return absl::InvalidArgumentError(absl::StrCat("--target: ", url.status().message()));
      // The scenario's tls options stay; a URL without TLS has none.
      v1::Target& first = *scenario.mutable_targets(0);
      first.set_url(o.target);
      if (!url->UsesTls()) first.clear_tls();
    }
  } else {
    if (o.target.empty()) {
      return absl::InvalidArgumentError("give a scenario file, or --target URL for a one-line run");
    }
    absl::StatusOr<parse::Url> url = ParseTargetUrl(o.target);
    if (!url.ok())
      return absl::InvalidArgumentError(absl::StrCat("--target: ", url.status().message()));
    scenario.set_name("one-line");
    scenario.set_source("command line");
    v1::Target& target = *scenario.add_targets();
    target.set_name("default");
    target.set_url(o.target);
    SetDuration(target.mutable_timeout(), o.timeout);
    SetDuration(scenario.mutable_interval(), o.interval);
    if (url->scheme == parse::Scheme::kHttp || url->scheme == parse::Scheme::kHttps) {
      if (!o.transactions.empty()) {
        return absl::InvalidArgumentError(
            "--transaction is for FTP targets; an http:// or https:// target is fetched with GET");
      }
      v1::Transaction& tx = *scenario.add_transactions();
      tx.set_name("get");
      tx.set_weight(1);
      v1::Step& step = *tx.add_steps();
      step.set_name("http");
      step.mutable_http()->set_method("GET");
      step.mutable_http()->set_path(url->query.empty() ? url->path : url->path + "?" + url->query);
    } else {
      if (o.transactions.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("an ", std::string(parse::SchemeName(url->scheme)),
                         ":// target needs --transaction (e.g. --transaction upload:1KiB)"));
      }
      for (const std::string& spec : o.transactions) {
        absl::Status s = AddFtpTransaction(spec, *url, scenario);
        if (!s.ok()) return s;
      }
      for (int i = 0; i < scenario.transactions_size(); ++i) {
        for (int j = 0; j < i; ++j) {
          if (scenario.transactions(i).name() == scenario.transactions(j).name()) {
            return absl::InvalidArgumentError(
                absl::StrCat("--transaction: '", scenario.transactions(i).name(), "' given twice"));
          }
        }
      }
    }
    v1::Stage* stage;
    if (o.rate > 0) {
      v1::OpenModel& open = *scenario.mutable_open();
      open.set_max_concurrency(o.max_concurrency != 0
                                   ? o.max_concurrency
                                   : static_cast<uint32_t>(std::max<uint64_t>(o.users, 1000)));
      stage = open.add_stages();
      stage->set_target(o.rate);
    } else {
      if (o.users == 0) return absl::InvalidArgumentError("--users: must be at least 1");
      stage = scenario.mutable_closed()->add_stages();
      stage->set_target(static_cast<double>(o.users));
    }
    SetDuration(stage->mutable_duration(), o.ramp);
    SetDuration(stage->mutable_hold(), o.duration);
    if (o.duration.count() <= 0 && o.ramp.count() <= 0) {
      return absl::InvalidArgumentError("--duration: must be greater than 0");
    }
  }
  if (o.insecure) {
    for (v1::Target& t : *scenario.mutable_targets()) {
      absl::StatusOr<parse::Url> url = parse::ParseUrl(t.url());
      if (url.ok() && url->UsesTls()) t.mutable_tls()->set_insecure(true);
    }
  }
  for (const std::string& t : o.thresholds) {
    absl::StatusOr<Threshold> parsed = ParseThreshold(t);
    if (!parsed.ok())
      return absl::InvalidArgumentError(absl::StrCat("--threshold: ", parsed.status().message()));
    scenario.add_thresholds()->set_expression(parsed->expression);
  }
  absl::Status valid = ValidateScenario(scenario);
  if (!valid.ok()) return valid;
  return scenario;
}

int RunCommand(const RunOptions& o) {
  absl::StatusOr<v1::Scenario> scenario = BuildScenario(o);
  if (!scenario.ok()) {
    std::cerr << "loadgen: error: " << scenario.status().message() << "\n";
    return app::kExitUsage;
  }
  // With --coordinator every interval also goes to the analyzer, at least
  // once and across its restarts (common/agent/agent_stream.h).
  std::unique_ptr<agent::AgentStream> stream;
  if (!o.coordinator.empty()) {
    agent::AgentStreamOptions stream_options;
    stream_options.coordinator = o.coordinator;
    stream_options.token = o.token;
    stream_options.tls_ca_file = o.coordinator_ca;
    stream_options.kind = v1::AGENT_KIND_LOADGEN;
    stream_options.threads = o.threads;
    stream = std::make_unique<agent::AgentStream>(std::move(stream_options));
  }
  ReportOptions report_options;
  report_options.summary_json = o.summary_json;
  report_options.out_dir = o.out_dir;
  report_options.progress = o.progress == "on" || (o.progress == "auto" && isatty(STDERR_FILENO));

  EngineOptions engine_options;
  engine_options.threads = o.threads;
  std::unique_ptr<Reporter> reporter;  // Set before the run starts.
  std::vector<OpInfo> reporter_ops;    // Likewise.
  const bool open_model = scenario->has_open();
  engine_options.on_interval = [&](const IntervalReport& r) {
    reporter->OnInterval(r);
    if (stream) {
      v1::AgentMessage message;
      *message.mutable_load() = ToLoadInterval(r, reporter_ops, open_model);
      stream->Send(std::move(message));
    }
  };
  Engine run(*scenario, engine_options);
  reporter = std::make_unique<Reporter>(*scenario, run.ops(), report_options);
  reporter_ops = run.ops();

  if (absl::Status s = reporter->Open(); !s.ok()) {
    std::cerr << "loadgen: error: " << s.message() << "\n";
    return app::kExitFailure;
  }
  if (absl::Status s = run.Preflight(); !s.ok()) {
    std::cerr << "loadgen: error: " << s.message() << "\n";
    return absl::IsUnavailable(s) ? kExitUnreachable : app::kExitFailure;
  }
  absl::StatusOr<RunResult> result = run.Run();
  if (!result.ok()) {
    std::cerr << "loadgen: error: " << result.status().message() << "\n";
    return app::kExitFailure;
  }
  const std::vector<ThresholdResult> thresholds = EvaluateThresholds(*scenario, *result);
  PrintSummaryTable(*result, thresholds, std::cout);
  std::cout.flush();
  if (stream && !stream->Flush(std::chrono::seconds(5))) {
    const agent::AgentStreamStats stats = stream->stats();
    std::cerr << "loadgen: warning: coordinator " << o.coordinator << ": "
              << stats.last_sequence - stats.acked_sequence << " intervals not acknowledged ("
              << stats.last_error << ")\n";
  }
  if (absl::Status s = reporter->Finish(*result, thresholds); !s.ok()) {
    std::cerr << "loadgen: error: " << s.message() << "\n";
    return app::kExitFailure;
  }
  if (result->interrupted) return kExitInterrupted;
  for (const ThresholdResult& t : thresholds) {
    if (!t.passed) return kExitThresholdsFailed;
  }
  return app::kExitOk;
}

}  // namespace tpslab::loadgen
