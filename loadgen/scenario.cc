#include "loadgen/scenario.h"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/parse/duration.h"
#include "common/parse/size.h"
#include "common/parse/url.h"
#include "loadgen/threshold.h"

namespace tpslab::loadgen {
namespace {

// Walks the YAML tree, carrying the field path for error messages.
class Mapper {
 public:
  Mapper(std::string source, std::string base_dir)
      : source_(std::move(source)), base_dir_(std::move(base_dir)) {}

  absl::Status Map(const YAML::Node& root, v1::Scenario& out);

 private:
  // "file:line:col: field: message".
  absl::Status Error(const YAML::Node& node, const std::string& field, absl::string_view message) {
    const YAML::Mark mark = node.Mark();
    return absl::InvalidArgumentError(absl::StrCat(source_, ":", mark.line + 1, ":",
                                                   mark.column + 1, ": ", field, ": ", message));
  }
  absl::Status CheckKeys(const YAML::Node& node, const std::string& field,
                         std::initializer_list<std::string_view> allowed);
  absl::StatusOr<std::string> Scalar(const YAML::Node& node, const std::string& field);
  absl::Status Duration(const YAML::Node& node, const std::string& field,
                        google::protobuf::Duration& out);
  absl::StatusOr<uint64_t> Size(const YAML::Node& node, const std::string& field);
  absl::StatusOr<double> Number(const YAML::Node& node, const std::string& field);
  absl::StatusOr<uint32_t> Unsigned(const YAML::Node& node, const std::string& field);
  absl::StatusOr<bool> Bool(const YAML::Node& node, const std::string& field);

  absl::Status MapTarget(const YAML::Node& node, const std::string& field, v1::Target& out);
  absl::Status MapTransaction(const YAML::Node& node, const std::string& field,
                              v1::Transaction& out);
  absl::Status MapStep(const YAML::Node& node, const std::string& field, v1::Step& out);
  absl::Status MapFtp(const YAML::Node& node, const std::string& field, v1::FtpStep::Op op,
                      v1::FtpStep& out);
  absl::Status MapHttp(const YAML::Node& node, const std::string& field, v1::HttpStep& out);
  absl::Status MapThink(const YAML::Node& node, const std::string& field, v1::ThinkTime& out);
  absl::Status MapLoad(const YAML::Node& node, const std::string& field, v1::Scenario& out);
  absl::Status MapStages(const YAML::Node& node, const std::string& field, const char* level_key,
                         google::protobuf::RepeatedPtrField<v1::Stage>& out);
  absl::Status MapData(const YAML::Node& node, const std::string& field, v1::DataFile& out);

  std::string source_;
  std::string base_dir_;
};

const std::map<std::string, v1::FtpStep::Op, std::less<>>& FtpOps() {
  static const auto* ops = new std::map<std::string, v1::FtpStep::Op, std::less<>>{
      {"connect", v1::FtpStep::OP_CONNECT},   {"login", v1::FtpStep::OP_LOGIN},
      {"cwd", v1::FtpStep::OP_CWD},           {"pwd", v1::FtpStep::OP_PWD},
      {"list", v1::FtpStep::OP_LIST},         {"nlst", v1::FtpStep::OP_NLST},
      {"mlsd", v1::FtpStep::OP_MLSD},         {"upload", v1::FtpStep::OP_UPLOAD},
      {"download", v1::FtpStep::OP_DOWNLOAD}, {"append", v1::FtpStep::OP_APPEND},
      {"size", v1::FtpStep::OP_SIZE},         {"mdtm", v1::FtpStep::OP_MDTM},
      {"delete", v1::FtpStep::OP_DELETE},     {"mkdir", v1::FtpStep::OP_MKDIR},
      {"rmdir", v1::FtpStep::OP_RMDIR},       {"rename", v1::FtpStep::OP_RENAME},
      {"noop", v1::FtpStep::OP_NOOP},         {"quit", v1::FtpStep::OP_QUIT},
  };
  return *ops;
}

std::string Join(std::initializer_list<std::string_view> items) {
  std::string out;
  for (std::string_view item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

absl::Status Mapper::CheckKeys(const YAML::Node& node, const std::string& field,
                               std::initializer_list<std::string_view> allowed) {
  if (!node.IsMap()) return Error(node, field, "expected a mapping");
  for (const auto& item : node) {
    const std::string key = item.first.Scalar();
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) {
      return Error(
          item.first, field.empty() ? key : absl::StrCat(field, ".", key),
          absl::StrCat("unknown field '", key, "' (expected one of: ", Join(allowed), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Mapper::Scalar(const YAML::Node& node, const std::string& field) {
  if (!node.IsScalar()) return Error(node, field, "expected a single value");
  return node.Scalar();
}

absl::Status Mapper::Duration(const YAML::Node& node, const std::string& field,
                              google::protobuf::Duration& out) {
  absl::StatusOr<std::string> text = Scalar(node, field);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::chrono::nanoseconds> d = parse::ParseDuration(*text);
  if (!d.ok()) return Error(node, field, d.status().message());
  if (d->count() < 0) return Error(node, field, absl::StrCat("negative duration '", *text, "'"));
  out.set_seconds(d->count() / 1'000'000'000);
  out.set_nanos(static_cast<int32_t>(d->count() % 1'000'000'000));
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Mapper::Size(const YAML::Node& node, const std::string& field) {
  absl::StatusOr<std::string> text = Scalar(node, field);
  if (!text.ok()) return text.status();
  absl::StatusOr<uint64_t> size = parse::ParseSize(*text);
  if (!size.ok()) return Error(node, field, size.status().message());
  return *size;
}

absl::StatusOr<double> Mapper::Number(const YAML::Node& node, const std::string& field) {
  absl::StatusOr<std::string> text = Scalar(node, field);
  if (!text.ok()) return text.status();
  double value = 0;
  if (!absl::SimpleAtod(*text, &value) || value < 0) {
    return Error(node, field, absl::StrCat("invalid number '", *text, "' (expected >= 0)"));
  }
  return value;
}

absl::StatusOr<uint32_t> Mapper::Unsigned(const YAML::Node& node, const std::string& field) {
  absl::StatusOr<std::string> text = Scalar(node, field);
  if (!text.ok()) return text.status();
  uint32_t value = 0;
  if (!absl::SimpleAtoi(*text, &value)) {
    return Error(node, field, absl::StrCat("invalid count '", *text, "' (expected 0..4294967295)"));
  }
  return value;
}

absl::StatusOr<bool> Mapper::Bool(const YAML::Node& node, const std::string& field) {
  absl::StatusOr<std::string> text = Scalar(node, field);
  if (!text.ok()) return text.status();
  const std::string lower = absl::AsciiStrToLower(*text);
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  return Error(node, field, absl::StrCat("invalid boolean '", *text, "' (expected true or false)"));
}

absl::Status Mapper::Map(const YAML::Node& root, v1::Scenario& out) {
  if (!root.IsMap()) return Error(root, "scenario", "expected a mapping at the top level");
  absl::Status keys = CheckKeys(
      root, "", {"name", "interval", "targets", "transactions", "load", "data", "thresholds"});
  if (!keys.ok()) return keys;
  out.set_source(source_);
  if (root["name"]) {
    absl::StatusOr<std::string> name = Scalar(root["name"], "name");
    if (!name.ok()) return name.status();
    out.set_name(*name);
  }
  if (root["interval"]) {
    absl::Status s = Duration(root["interval"], "interval", *out.mutable_interval());
    if (!s.ok()) return s;
    if (out.interval().seconds() == 0 && out.interval().nanos() < 10'000'000) {
      return Error(root["interval"], "interval", "must be at least 10ms");
    }
  }
  const YAML::Node targets = root["targets"];
  if (!targets) return Error(root, "targets", "missing (at least one target is required)");
  if (!targets.IsSequence() || targets.size() == 0) {
    return Error(targets, "targets", "expected a non-empty list of targets");
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    absl::Status s = MapTarget(targets[i], absl::StrCat("targets[", i, "]"), *out.add_targets());
    if (!s.ok()) return s;
  }
  std::set<std::string> target_names;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!target_names.insert(out.targets(i).name()).second) {
      return Error(targets[i], absl::StrCat("targets[", i, "].name"),
                   absl::StrCat("duplicate target name '", out.targets(i).name(), "'"));
    }
  }

  const YAML::Node transactions = root["transactions"];
  if (!transactions) return Error(root, "transactions", "missing (at least one is required)");
  if (!transactions.IsSequence() || transactions.size() == 0) {
    return Error(transactions, "transactions", "expected a non-empty list of transactions");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < transactions.size(); ++i) {
    const std::string field = absl::StrCat("transactions[", i, "]");
    v1::Transaction& tx = *out.add_transactions();
    absl::Status s = MapTransaction(transactions[i], field, tx);
    if (!s.ok()) return s;
    if (!names.insert(tx.name()).second) {
      return Error(transactions[i], field + ".name",
                   absl::StrCat("duplicate transaction name '", tx.name(), "'"));
    }
    for (int j = 0; j < tx.steps_size(); ++j) {
      const v1::Step& step = tx.steps(j);
      const std::string& target = step.target();
      if (!target.empty() && !target_names.contains(target)) {
        return Error(transactions[i]["steps"][j], absl::StrCat(field, ".steps[", j, "].target"),
                     absl::StrCat("unknown target '", target,
                                  "' (targets: ", absl::StrJoin(target_names, ", "), ")"));
      }
      const v1::Target& t = target.empty() ? out.targets(0) : [&]() -> const v1::Target& {
        for (const v1::Target& c : out.targets()) {
          if (c.name() == target) return c;
        }
        return out.targets(0);
      }();
      const bool http_target = t.url().starts_with("http");
      if ((step.has_ftp() && http_target) || (step.has_http() && !http_target)) {
        return Error(transactions[i]["steps"][j], absl::StrCat(field, ".steps[", j, "]"),
                     absl::StrCat(step.has_ftp() ? "an FTP step" : "an HTTP step",
                                  " cannot run against target '", t.name(), "' (", t.url(),
                                  "); name a matching target with 'target:'"));
      }
    }
  }

  const YAML::Node load = root["load"];
  if (!load) return Error(root, "load", "missing (closed or open load model)");
  absl::Status s = MapLoad(load, "load", out);
  if (!s.ok()) return s;

  if (root["data"]) {
    s = MapData(root["data"], "data", *out.mutable_data());
    if (!s.ok()) return s;
  }
  if (const YAML::Node thresholds = root["thresholds"]) {
    if (!thresholds.IsSequence()) return Error(thresholds, "thresholds", "expected a list");
    for (size_t i = 0; i < thresholds.size(); ++i) {
      const std::string field = absl::StrCat("thresholds[", i, "]");
      absl::StatusOr<std::string> text = Scalar(thresholds[i], field);
      if (!text.ok()) return text.status();
      absl::StatusOr<Threshold> t = ParseThreshold(*text);
      if (!t.ok()) return Error(thresholds[i], field, t.status().message());
      if (!t->name.empty()) {
        bool found = false;
        for (const v1::Transaction& tx : out.transactions()) {
          if (tx.name() == t->name) found = true;
          for (const v1::Step& step : tx.steps()) {
            const std::string name = step.name().empty() ? DefaultStepName(step) : step.name();
            if (absl::StrCat(tx.name(), "/", name) == t->name) found = true;
          }
        }
        if (!found) {
          return Error(thresholds[i], field,
                       absl::StrCat("'", t->name,
                                    "' is neither a transaction nor a step "
                                    "(transaction/step)"));
        }
      }
      out.add_thresholds()->set_expression(t->expression);
    }
  }
  return absl::OkStatus();
}

absl::Status Mapper::MapTarget(const YAML::Node& node, const std::string& field, v1::Target& out) {
  absl::Status s = CheckKeys(node, field, {"name", "url", "timeout", "verify_tls", "tls"});
  if (!s.ok()) return s;
  out.set_name("default");
  if (node["name"]) {
    absl::StatusOr<std::string> name = Scalar(node["name"], field + ".name");
    if (!name.ok()) return name.status();
    out.set_name(*name);
  }
  if (!node["url"]) return Error(node, field + ".url", "missing");
  absl::StatusOr<std::string> url = Scalar(node["url"], field + ".url");
  if (!url.ok()) return url.status();
  absl::StatusOr<parse::Url> parsed = ParseTargetUrl(*url);
  if (!parsed.ok()) return Error(node["url"], field + ".url", parsed.status().message());
  out.set_url(*url);
  if (node["timeout"]) {
    s = Duration(node["timeout"], field + ".timeout", *out.mutable_timeout());
    if (!s.ok()) return s;
    if (out.timeout().seconds() == 0 && out.timeout().nanos() == 0) {
      return Error(node["timeout"], field + ".timeout", "must be greater than 0");
    }
  }
  // Certificates are verified unless the scenario says otherwise. The old
  // `verify_tls` key is an alias of tls.verify; on a URL without TLS it means
  // nothing and is not recorded.
  if (node["verify_tls"]) {
    absl::StatusOr<bool> b = Bool(node["verify_tls"], field + ".verify_tls");
    if (!b.ok()) return b.status();
    if (parsed->UsesTls()) out.mutable_tls()->set_insecure(!*b);
  }
  if (node["tls"]) {
    const YAML::Node tls = node["tls"];
    const std::string tls_field = field + ".tls";
    if (!parsed->UsesTls()) {
      return Error(tls, tls_field,
                   absl::StrCat("TLS options need an ftps:// or https:// URL, not ",
                                std::string(parse::SchemeName(parsed->scheme)), "://"));
    }
    if (!tls.IsMap()) {
      return Error(tls, tls_field, "expected a map such as {verify: false} or {ca: ca.pem}");
    }
    s = CheckKeys(tls, tls_field, {"verify", "ca", "server_name"});
    if (!s.ok()) return s;
    v1::TlsOptions& options = *out.mutable_tls();
    if (tls["verify"]) {
      absl::StatusOr<bool> b = Bool(tls["verify"], tls_field + ".verify");
      if (!b.ok()) return b.status();
      options.set_insecure(!*b);
    }
    if (tls["ca"]) {
      absl::StatusOr<std::string> ca = Scalar(tls["ca"], tls_field + ".ca");
      if (!ca.ok()) return ca.status();
      if (ca->empty()) return Error(tls["ca"], tls_field + ".ca", "must not be empty");
      options.set_ca_file(base_dir_.empty() || ca->starts_with("/") ? *ca : base_dir_ + "/" + *ca);
    }
    if (tls["server_name"]) {
      absl::StatusOr<std::string> name = Scalar(tls["server_name"], tls_field + ".server_name");
      if (!name.ok()) return name.status();
      if (name->empty()) {
        return Error(tls["server_name"], tls_field + ".server_name", "must not be empty");
      }
      options.set_server_name(*name);
    }
  }
  return absl::OkStatus();
}

absl::Status Mapper::MapTransaction(const YAML::Node& node, const std::string& field,
                                    v1::Transaction& out) {
  absl::Status s = CheckKeys(node, field, {"name", "weight", "pacing", "steps"});
  if (!s.ok()) return s;
  if (!node["name"]) return Error(node, field + ".name", "missing");
  absl::StatusOr<std::string> name = Scalar(node["name"], field + ".name");
  if (!name.ok()) return name.status();
  if (name->empty() || name->find_first_of("/ ,\t") != std::string::npos) {
    return Error(node["name"], field + ".name",
                 absl::StrCat("invalid name '", *name,
                              "' (must be non-empty, without '/', spaces or commas)"));
  }
  out.set_name(*name);
  out.set_weight(1);
  if (node["weight"]) {
    absl::StatusOr<uint32_t> w = Unsigned(node["weight"], field + ".weight");
    if (!w.ok()) return w.status();
    out.set_weight(*w);
  }
  if (node["pacing"]) {
    s = Duration(node["pacing"], field + ".pacing", *out.mutable_pacing());
    if (!s.ok()) return s;
  }
  const YAML::Node steps = node["steps"];
  if (!steps) return Error(node, field + ".steps", "missing");
  if (!steps.IsSequence() || steps.size() == 0) {
    return Error(steps, field + ".steps", "expected a non-empty list of steps");
  }
  std::set<std::string> step_names;
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string step_field = absl::StrCat(field, ".steps[", i, "]");
    v1::Step& step = *out.add_steps();
    s = MapStep(steps[i], step_field, step);
    if (!s.ok()) return s;
    // Results are keyed by name: repeated operations get a suffix.
    std::string step_name = step.name().empty() ? DefaultStepName(step) : step.name();
    if (!step.name().empty() && step_names.contains(step_name)) {
      return Error(steps[i], step_field + ".name",
                   absl::StrCat("duplicate step name '", step_name, "'"));
    }
    for (int n = 2; step_names.contains(step_name); ++n) {
      step_name = absl::StrCat(DefaultStepName(step), "_", n);
    }
    step.set_name(step_name);
    step_names.insert(step_name);
  }
  return absl::OkStatus();
}

absl::Status Mapper::MapStep(const YAML::Node& node, const std::string& field, v1::Step& out) {
  if (node.IsScalar()) {
    const std::string op = node.Scalar();
    auto it = FtpOps().find(op);
    if (it != FtpOps().end()) {
      out.mutable_ftp()->set_op(it->second);
      return absl::OkStatus();
    }
    if (op == "http") {
      out.mutable_http();
      return absl::OkStatus();
    }
    return Error(node, field,
                 absl::StrCat("unknown step '", op,
                              "' (FTP: connect, login, cwd, pwd, list, nlst, mlsd, upload, "
                              "download, append, size, mdtm, delete, mkdir, rmdir, rename, noop, "
                              "quit; or http, think, rendezvous)"));
  }
  if (!node.IsMap()) return Error(node, field, "expected a step name or a mapping");
  std::string action;
  YAML::Node action_node;
  uint32_t expect = 0;
  for (const auto& item : node) {
    const std::string key = item.first.Scalar();
    if (key == "name") {
      absl::StatusOr<std::string> name = Scalar(item.second, field + ".name");
      if (!name.ok()) return name.status();
      if (name->find_first_of("/ ,\t") != std::string::npos || name->empty()) {
        return Error(item.second, field + ".name",
                     absl::StrCat("invalid name '", *name,
                                  "' (must be non-empty, without '/', spaces or commas)"));
      }
      out.set_name(*name);
    } else if (key == "target") {
      absl::StatusOr<std::string> target = Scalar(item.second, field + ".target");
      if (!target.ok()) return target.status();
      out.set_target(*target);
    } else if (key == "expect") {
      absl::StatusOr<uint32_t> code = Unsigned(item.second, field + ".expect");
      if (!code.ok()) return code.status();
      expect = *code;
    } else if (FtpOps().contains(key) || key == "http" || key == "think" || key == "rendezvous") {
      if (!action.empty()) {
        return Error(item.first, field + "." + key,
                     absl::StrCat("a step has one action; '", action, "' was already given"));
      }
      action = key;
      action_node = item.second;
    } else {
      return Error(item.first, field + "." + key,
                   absl::StrCat("unknown field '", key,
                                "' (expected an action such as upload, http or think, or one "
                                "of: name, target, expect)"));
    }
  }
  if (action.empty()) {
    return Error(node, field, "missing action (e.g. upload, download, http, think)");
  }
  const std::string action_field = field + "." + action;
  absl::Status s;
  if (action == "http") {
    s = MapHttp(action_node, action_field, *out.mutable_http());
    if (s.ok() && expect != 0) out.mutable_http()->set_expect_status(expect);
  } else if (action == "think") {
    s = MapThink(action_node, action_field, *out.mutable_think());
  } else if (action == "rendezvous") {
    v1::Rendezvous& r = *out.mutable_rendezvous();
    if (action_node.IsScalar()) {
      r.set_name(action_node.Scalar());
    } else {
      s = CheckKeys(action_node, action_field, {"name", "users", "timeout"});
      if (!s.ok()) return s;
      if (action_node["name"]) r.set_name(action_node["name"].Scalar());
      if (action_node["users"]) {
        absl::StatusOr<uint32_t> users = Unsigned(action_node["users"], action_field + ".users");
        if (!users.ok()) return users.status();
        r.set_users(*users);
      }
      if (action_node["timeout"]) {
        s = Duration(action_node["timeout"], action_field + ".timeout", *r.mutable_timeout());
      }
    }
  } else {
    s = MapFtp(action_node, action_field, FtpOps().find(action)->second, *out.mutable_ftp());
    if (s.ok() && expect != 0) out.mutable_ftp()->set_expect_code(expect);
  }
  return s;
}

absl::Status Mapper::MapFtp(const YAML::Node& node, const std::string& field, v1::FtpStep::Op op,
                            v1::FtpStep& out) {
  out.set_op(op);
  const bool needs_path = op == v1::FtpStep::OP_CWD || op == v1::FtpStep::OP_UPLOAD ||
                          op == v1::FtpStep::OP_DOWNLOAD || op == v1::FtpStep::OP_APPEND ||
                          op == v1::FtpStep::OP_SIZE || op == v1::FtpStep::OP_MDTM ||
                          op == v1::FtpStep::OP_DELETE || op == v1::FtpStep::OP_MKDIR ||
                          op == v1::FtpStep::OP_RMDIR || op == v1::FtpStep::OP_RENAME;
  if (node.IsNull()) {
    // "- upload:" with nothing after it.
  } else if (node.IsScalar()) {
    out.set_path(node.Scalar());
  } else {
    absl::Status s =
        CheckKeys(node, field, {"path", "to", "size", "file", "expect_size", "mode", "expect"});
    if (!s.ok()) return s;
    for (const auto& item : node) {
      const std::string key = item.first.Scalar();
      const std::string f = field + "." + key;
      if (key == "path") {
        absl::StatusOr<std::string> v = Scalar(item.second, f);
        if (!v.ok()) return v.status();
        out.set_path(*v);
      } else if (key == "to") {
        absl::StatusOr<std::string> v = Scalar(item.second, f);
        if (!v.ok()) return v.status();
        out.set_to(*v);
      } else if (key == "size" || key == "expect_size") {
        absl::StatusOr<uint64_t> v = Size(item.second, f);
        if (!v.ok()) return v.status();
        key == "size" ? out.set_size_bytes(*v) : out.set_expect_size_bytes(*v);
      } else if (key == "file") {
        absl::StatusOr<std::string> v = Scalar(item.second, f);
        if (!v.ok()) return v.status();
        out.set_local_file(*v);
      } else if (key == "mode") {
        absl::StatusOr<std::string> v = Scalar(item.second, f);
        if (!v.ok()) return v.status();
        const std::string mode = absl::AsciiStrToLower(*v);
        if (mode == "epsv") {
          out.set_data_mode(v1::DATA_MODE_EPSV);
        } else if (mode == "pasv") {
          out.set_data_mode(v1::DATA_MODE_PASV);
        } else if (mode == "eprt") {
          out.set_data_mode(v1::DATA_MODE_EPRT);
        } else if (mode == "port") {
          out.set_data_mode(v1::DATA_MODE_PORT);
        } else {
          return Error(item.second, f,
                       absl::StrCat("unknown data mode '", *v,
                                    "' (expected epsv, pasv, eprt or "
                                    "port)"));
        }
      } else if (key == "expect") {
        absl::StatusOr<uint32_t> v = Unsigned(item.second, f);
        if (!v.ok()) return v.status();
        if (*v < 100 || *v > 599) {
          return Error(item.second, f, absl::StrCat("reply code ", *v, " is not in 100..599"));
        }
        out.set_expect_code(*v);
      }
    }
  }
  if (needs_path && out.path().empty()) return Error(node, field + ".path", "missing");
  if (op == v1::FtpStep::OP_RENAME && out.to().empty()) {
    return Error(node, field + ".to", "missing (the new name)");
  }
  if ((op == v1::FtpStep::OP_UPLOAD || op == v1::FtpStep::OP_APPEND) && out.size_bytes() == 0 &&
      out.local_file().empty()) {
    return Error(node, field + ".size", "missing (give size or file)");
  }
  if (!out.local_file().empty() && !base_dir_.empty() && !out.local_file().starts_with("/")) {
    out.set_local_file(base_dir_ + "/" + out.local_file());
  }
  return absl::OkStatus();
}

absl::Status Mapper::MapHttp(const YAML::Node& node, const std::string& field, v1::HttpStep& out) {
  out.set_method("GET");
  out.set_path("/");
  if (node.IsNull()) return absl::OkStatus();
  if (node.IsScalar()) {
    out.set_path(node.Scalar());
    return absl::OkStatus();
  }
  absl::Status s =
      CheckKeys(node, field, {"method", "path", "headers", "body", "expect_status", "keep_alive"});
  if (!s.ok()) return s;
  if (node["method"]) {
    absl::StatusOr<std::string> v = Scalar(node["method"], field + ".method");
    if (!v.ok()) return v.status();
    const std::string method = absl::AsciiStrToUpper(*v);
    if (method.empty() ||
        method.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos) {
      return Error(node["method"], field + ".method", absl::StrCat("invalid method '", *v, "'"));
    }
    out.set_method(method);
  }
  if (node["path"]) {
    absl::StatusOr<std::string> v = Scalar(node["path"], field + ".path");
    if (!v.ok()) return v.status();
    if (!v->starts_with("/")) {
      return Error(node["path"], field + ".path",
                   absl::StrCat("path '", *v, "' must start with '/'"));
    }
    out.set_path(*v);
  }
  if (const YAML::Node headers = node["headers"]) {
    if (!headers.IsMap()) return Error(headers, field + ".headers", "expected a mapping");
    for (const auto& item : headers) {
      const std::string key = item.first.Scalar();
      absl::StatusOr<std::string> v = Scalar(item.second, field + ".headers." + key);
      if (!v.ok()) return v.status();
      if (v->find_first_of("\r\n") != std::string::npos ||
          key.find_first_of("\r\n: ") != std::string::npos) {
        return Error(item.first, field + ".headers." + key, "header contains a line break");
      }
      (*out.mutable_headers())[key] = *v;
    }
  }
  if (node["body"]) {
    absl::StatusOr<std::string> v = Scalar(node["body"], field + ".body");
    if (!v.ok()) return v.status();
    out.set_body(*v);
  }
  if (node["expect_status"]) {
    absl::StatusOr<uint32_t> v = Unsigned(node["expect_status"], field + ".expect_status");
    if (!v.ok()) return v.status();
    if (*v < 100 || *v > 599) {
      return Error(node["expect_status"], field + ".expect_status",
                   absl::StrCat("status ", *v, " is not in 100..599"));
    }
    out.set_expect_status(*v);
  }
  if (node["keep_alive"]) {
    absl::StatusOr<bool> v = Bool(node["keep_alive"], field + ".keep_alive");
    if (!v.ok()) return v.status();
    out.set_keep_alive(*v);
  }
  return absl::OkStatus();
}

absl::Status Mapper::MapThink(const YAML::Node& node, const std::string& field,
                              v1::ThinkTime& out) {
  if (node.IsScalar()) {
    out.set_distribution(v1::ThinkTime::DISTRIBUTION_CONSTANT);
    return Duration(node, field, *out.mutable_mean());
  }
  absl::Status s = CheckKeys(node, field, {"distribution", "mean", "min", "max"});
  if (!s.ok()) return s;
  std::string distribution = "constant";
  if (node["distribution"]) {
    absl::StatusOr<std::string> v = Scalar(node["distribution"], field + ".distribution");
    if (!v.ok()) return v.status();
    distribution = absl::AsciiStrToLower(*v);
  }
  for (const char* key : {"mean", "min", "max"}) {
    if (!node[key]) continue;
    google::protobuf::Duration* d = std::string_view(key) == "mean"  ? out.mutable_mean()
                                    : std::string_view(key) == "min" ? out.mutable_min()
                                                                     : out.mutable_max();
    s = Duration(node[key], field + "." + key, *d);
    if (!s.ok()) return s;
  }
  auto ns = [](const google::protobuf::Duration& d) {
    return d.seconds() * 1'000'000'000 + d.nanos();
  };
  if (distribution == "constant" || distribution == "exponential") {
    out.set_distribution(distribution == "constant" ? v1::ThinkTime::DISTRIBUTION_CONSTANT
                                                    : v1::ThinkTime::DISTRIBUTION_EXPONENTIAL);
    if (!node["mean"]) return Error(node, field + ".mean", "missing");
  } else if (distribution == "uniform") {
    out.set_distribution(v1::ThinkTime::DISTRIBUTION_UNIFORM);
    if (!node["min"] || !node["max"]) {
      return Error(node, field + (node["min"] ? ".max" : ".min"), "missing");
    }
    if (ns(out.min()) > ns(out.max())) {
      return Error(node["min"], field + ".min", "is greater than max");
    }
  } else {
    return Error(node["distribution"], field + ".distribution",
                 absl::StrCat("unknown distribution '", distribution,
                              "' (expected constant, uniform or exponential)"));
  }
  return absl::OkStatus();
}

absl::Status Mapper::MapStages(const YAML::Node& node, const std::string& field,
                               const char* level_key,
                               google::protobuf::RepeatedPtrField<v1::Stage>& out) {
  if (!node.IsSequence() || node.size() == 0) {
    return Error(node, field, "expected a non-empty list of stages");
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string f = absl::StrCat(field, "[", i, "]");
    const YAML::Node stage = node[i];
    absl::Status s = CheckKeys(stage, f, {level_key, "ramp", "duration", "hold"});
    if (!s.ok()) return s;
    v1::Stage& out_stage = *out.Add();
    if (!stage[level_key]) return Error(stage, f + "." + level_key, "missing");
    absl::StatusOr<double> level = Number(stage[level_key], f + "." + level_key);
    if (!level.ok()) return level.status();
    out_stage.set_target(*level);
    if (stage["ramp"] && stage["duration"]) {
      return Error(stage["duration"], f + ".duration", "give either ramp or duration, not both");
    }
    for (const char* key : {"ramp", "duration"}) {
      if (stage[key]) {
        s = Duration(stage[key], f + "." + key, *out_stage.mutable_duration());
        if (!s.ok()) return s;
      }
    }
    if (stage["hold"]) {
      s = Duration(stage["hold"], f + ".hold", *out_stage.mutable_hold());
      if (!s.ok()) return s;
    }
    const auto total = out_stage.duration().seconds() + out_stage.duration().nanos() +
                       out_stage.hold().seconds() + out_stage.hold().nanos();
    if (total == 0) return Error(stage, f, "stage lasts 0s (give ramp and/or hold)");
  }
  return absl::OkStatus();
}

absl::Status Mapper::MapLoad(const YAML::Node& node, const std::string& field, v1::Scenario& out) {
  absl::Status s = CheckKeys(node, field, {"closed", "open"});
  if (!s.ok()) return s;
  if (node["closed"] && node["open"]) {
    return Error(node["open"], field + ".open", "give either closed or open, not both");
  }
  if (const YAML::Node closed = node["closed"]) {
    YAML::Node stages = closed;
    std::string f = field + ".closed";
    if (closed.IsMap()) {
      s = CheckKeys(closed, f, {"stages"});
      if (!s.ok()) return s;
      stages = closed["stages"];
      f += ".stages";
      if (!stages) return Error(closed, f, "missing");
    }
    return MapStages(stages, f, "users", *out.mutable_closed()->mutable_stages());
  }
  if (const YAML::Node open = node["open"]) {
    const std::string f = field + ".open";
    s = CheckKeys(open, f, {"stages", "max_concurrency"});
    if (!s.ok()) return s;
    v1::OpenModel& model = *out.mutable_open();
    model.set_max_concurrency(10000);
    if (open["max_concurrency"]) {
      absl::StatusOr<uint32_t> v = Unsigned(open["max_concurrency"], f + ".max_concurrency");
      if (!v.ok()) return v.status();
      if (*v == 0) return Error(open["max_concurrency"], f + ".max_concurrency", "must be >= 1");
      model.set_max_concurrency(*v);
    }
    if (!open["stages"]) return Error(open, f + ".stages", "missing");
    return MapStages(open["stages"], f + ".stages", "rate", *model.mutable_stages());
  }
  return Error(node, field, "expected 'closed' or 'open'");
}

absl::Status Mapper::MapData(const YAML::Node& node, const std::string& field, v1::DataFile& out) {
  std::string file;
  if (node.IsScalar()) {
    file = node.Scalar();
  } else {
    absl::Status s = CheckKeys(node, field, {"file", "lines"});
    if (!s.ok()) return s;
    if (node["file"]) file = node["file"].Scalar();
    if (const YAML::Node lines = node["lines"]) {
      if (!lines.IsSequence()) return Error(lines, field + ".lines", "expected a list of lines");
      for (const auto& line : lines) out.add_lines(line.Scalar());
    }
  }
  if (!file.empty()) {
    out.set_path(file);
    const std::string path =
        base_dir_.empty() || file.starts_with("/") ? file : base_dir_ + "/" + file;
    std::ifstream in(path);
    if (!in) {
      return Error(node, field, absl::StrCat("cannot read data file '", path, "'"));
    }
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) out.add_lines(line);
    }
  }
  absl::StatusOr<DataTable> table = ParseDataTable(out);
  if (!table.ok()) return Error(node, field, table.status().message());
  return absl::OkStatus();
}

// Splits one CSV line; false on an unterminated quote.
bool SplitCsv(std::string_view line, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else {
      field += c;
    }
  }
  fields.push_back(std::move(field));
  return !quoted;
}

}  // namespace

std::string DefaultStepName(const v1::Step& step) {
  if (step.has_http()) return "http";
  if (step.has_think()) return "think";
  if (step.has_rendezvous()) return "rendezvous";
  for (const auto& [name, op] : FtpOps()) {
    if (op == step.ftp().op()) return name;
  }
  return "step";
}

absl::StatusOr<DataTable> ParseDataTable(const v1::DataFile& data) {
  DataTable table;
  if (data.lines().empty()) return table;
  if (!SplitCsv(data.lines(0), table.columns)) {
    return absl::InvalidArgumentError("CSV line 1: unterminated quote");
  }
  std::vector<std::string> fields;
  for (int i = 1; i < data.lines_size(); ++i) {
    if (!SplitCsv(data.lines(i), fields)) {
      return absl::InvalidArgumentError(absl::StrCat("CSV line ", i + 1, ": unterminated quote"));
    }
    if (fields.size() != table.columns.size()) {
      return absl::InvalidArgumentError(absl::StrCat("CSV line ", i + 1, ": ", fields.size(),
                                                     " fields, the header has ",
                                                     table.columns.size()));
    }
    table.rows.push_back(fields);
  }
  if (table.rows.empty()) return absl::InvalidArgumentError("CSV has a header but no rows");
  return table;
}

absl::StatusOr<v1::Scenario> ParseScenario(std::string_view text, std::string_view source,
                                           std::string_view base_dir) {
  const std::string source_name(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  v1::Scenario scenario;
  Mapper mapper{source_name, std::string(base_dir)};
  absl::Status s = mapper.Map(root, scenario);
  if (!s.ok()) return s;
  s = ValidateScenario(scenario);
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(source_name, ": ", s.message()));
  return scenario;
}

absl::StatusOr<v1::Scenario> LoadScenarioFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read scenario '", path, "'"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const size_t slash = path.rfind('/');
  return ParseScenario(buffer.str(), path, slash == std::string::npos ? "" : path.substr(0, slash));
}

absl::StatusOr<parse::Url> ParseTargetUrl(std::string_view text) {
  absl::StatusOr<parse::Url> url = parse::ParseUrl(text);
  if (!url.ok()) return url.status();
  // A parsed URL's first '#' starts its fragment (the parser ends every
  // other part there); "#" alone is an empty fragment, still rejected.
  if (const size_t hash = text.find('#'); hash != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("URL fragment '", std::string(text.substr(hash)),
                     "' has no meaning to loadgen: remove it (TLS options go in the target's "
                     "tls: block)"));
  }
  return url;
}

absl::Status ValidateScenario(const v1::Scenario& scenario) {
  if (scenario.targets().empty()) return absl::InvalidArgumentError("no targets");
  for (const v1::Target& t : scenario.targets()) {
    absl::StatusOr<parse::Url> url = ParseTargetUrl(t.url());
    if (!url.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("target '", t.name(), "': ", url.status().message()));
    }
    if (t.has_tls() && !url->UsesTls()) {
      return absl::InvalidArgumentError(
          absl::StrCat("target '", t.name(), "': TLS options need an ftps:// or https:// URL, not ",
                       std::string(parse::SchemeName(url->scheme)), "://"));
    }
  }
  if (scenario.transactions().empty()) return absl::InvalidArgumentError("no transactions");
  uint64_t weights = 0;
  for (const v1::Transaction& tx : scenario.transactions()) {
    weights += tx.weight();
    for (const v1::Step& step : tx.steps()) {
      if (!step.has_ftp() && !step.has_http()) continue;
      const v1::Target* target = &scenario.targets(0);
      for (const v1::Target& t : scenario.targets()) {
        if (!step.target().empty() && t.name() == step.target()) target = &t;
      }
      const bool http_target = target->url().starts_with("http");
      if (step.has_http() != http_target) {
        return absl::InvalidArgumentError(absl::StrCat(
            "transaction '", tx.name(), "' step '", step.name(),
            "': ", step.has_ftp() ? "an FTP step" : "an HTTP step", " cannot run against target '",
            target->name(), "' (", parse::ParseUrl(target->url())->Redacted(), ")"));
      }
    }
    if (tx.steps().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("transaction '", tx.name(), "' has no steps"));
    }
  }
  if (weights == 0) {
    return absl::InvalidArgumentError("every transaction has weight 0: nothing to run");
  }
  const auto& stages =
      scenario.has_closed() ? scenario.closed().stages() : scenario.open().stages();
  if (!scenario.has_closed() && !scenario.has_open()) {
    return absl::InvalidArgumentError("no load model (closed or open)");
  }
  if (stages.empty()) return absl::InvalidArgumentError("the load model has no stages");
  for (const v1::Threshold& t : scenario.thresholds()) {
    absl::StatusOr<Threshold> parsed = ParseThreshold(t.expression());
    if (!parsed.ok()) return parsed.status();
  }
  return absl::OkStatus();
}

}  // namespace tpslab::loadgen
