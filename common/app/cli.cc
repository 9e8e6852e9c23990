#include "common/app/cli.h"

#include <algorithm>
#include <exception>
#include <iostream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/parse/duration.h"
#include "common/parse/size.h"
#include "spdlog/spdlog.h"

namespace tpslab::app {
namespace {

constexpr char kConfigFlag[] = "--config";
constexpr char kLoggingGroup[] = "Logging";

// CLI11 2.1's message for a config key that matches no option.
constexpr absl::string_view kUnknownConfigKey = "INI was not able to parse ";

// Returns the innermost selected subcommand, or `root` when none was given.
const CLI::App* Innermost(const CLI::App& root) {
  const CLI::App* app = &root;
  while (!app->get_subcommands().empty()) app = app->get_subcommands().front();
  return app;
}

}  // namespace

App::App(std::string name, std::string description, std::string version)
    : name_(std::move(name)), cli_(std::move(description), name_) {
  log_options_.logger_name = name_;
  cli_.set_version_flag("--version", absl::StrCat(name_, " ", version));
  cli_.set_config(kConfigFlag, "",
                  "Read options from a TOML file (key = value; [command] sections); "
                  "command-line flags override it")
      ->type_name("FILE");
  cli_.allow_config_extras(CLI::config_extras_mode::error);
  // Root options (logging, --config) may follow the subcommand.
  cli_.fallthrough();
  cli_.footer(
      "Exit status: 0 ok, 1 failure, 2 usage error. Options can also be set in the --config "
      "file; command-line flags win.");

  AddParsed(cli_, "--log-level", log_options_.level,
            "Lowest level logged: trace, debug, info, warn, error, critical, off", ParseLogLevel,
            "LEVEL", std::string(LogLevelName(log_options_.level)))
      ->group(kLoggingGroup);
  AddParsed(cli_, "--log-format", log_options_.format, "Log line format: text or json",
            ParseLogFormat, "FORMAT", std::string(LogFormatName(log_options_.format)))
      ->group(kLoggingGroup);
  cli_.add_option("--log-file", log_options_.file, "Append logs to FILE instead of stderr")
      ->type_name("FILE")
      ->group(kLoggingGroup);
}

CLI::App& App::AddCommand(const std::string& name, const std::string& description,
                          std::function<int()> run) {
  return AddCommand(cli_, name, description, std::move(run));
}

CLI::App& App::AddCommand(CLI::App& parent, const std::string& name, const std::string& description,
                          std::function<int()> run) {
  CLI::App* command = parent.add_subcommand(name, description);
  command->fallthrough();
  commands_[command] = std::move(run);
  return *command;
}

void App::SetMain(std::function<int()> run) { main_ = std::move(run); }

void App::RequireCommands() {
  // An app with subcommands but nothing to run on its own needs one of them.
  const auto has_handler = [this](const CLI::App* app) {
    if (app == &cli_) return static_cast<bool>(main_);
    auto it = commands_.find(app);
    return it != commands_.end() && static_cast<bool>(it->second);
  };
  std::vector<CLI::App*> apps = {&cli_};
  for (const auto& [command, run] : commands_) apps.push_back(const_cast<CLI::App*>(command));
  for (CLI::App* app : apps) {
    if (!app->get_subcommands({}).empty() && !has_handler(app)) app->require_subcommand(1);
  }
}

std::string App::HelpHint() const {
  std::vector<std::string> path;
  for (const CLI::App* app = Innermost(cli_); app != &cli_; app = app->get_parent()) {
    path.push_back(app->get_name());
  }
  path.push_back(name_);
  std::reverse(path.begin(), path.end());
  return absl::StrCat("Run '", absl::StrJoin(path, " "), " --help' for usage.");
}

int App::ReportParseError(const CLI::ParseError& error, std::ostream& out, std::ostream& err) {
  const std::string kind = error.get_name();
  if (kind == "CallForHelp") {
    out << cli_.help();
    return kExitOk;
  }
  if (kind == "CallForAllHelp") {
    out << cli_.help("", CLI::AppFormatMode::All);
    return kExitOk;
  }
  if (kind == "CallForVersion") {
    out << error.what() << "\n";
    return kExitOk;
  }
  if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return kExitOk;

  std::string message = error.what();
  const CLI::Option* config = cli_.get_config_ptr();
  const std::string config_file =
      config != nullptr && config->count() > 0 ? config->results().back() : std::string();
  if (kind == "ConfigError" && absl::StartsWith(message, kUnknownConfigKey)) {
    message = absl::StrCat(kConfigFlag, " '", config_file, "': unknown option '",
                           message.substr(kUnknownConfigKey.size()),
                           "' (keys are long option names; a command's options go in its "
                           "[command] section)");
  } else if (kind == "ConfigError" || kind == "FileError") {
    message = absl::StrCat(kConfigFlag, ": ", message);
  } else if (kind == "RequiredError") {
    const CLI::App* app = Innermost(cli_);
    if (app->get_require_subcommand_min() > 0 && app->get_subcommands().empty()) {
      // CLI11 checks for the command before it complains about unknown
      // arguments; the unknown argument is the better message.
      if (const std::vector<std::string> extras = cli_.remaining(/*recurse=*/true);
          !extras.empty()) {
        message = CLI::ExtrasError(extras).what();
      } else {
        std::vector<std::string> names;
        for (const CLI::App* sub : app->get_subcommands({})) names.push_back(sub->get_name());
        message = absl::StrCat("missing command; expected one of: ", absl::StrJoin(names, ", "));
      }
    }
  }
  err << name_ << ": error: " << message << "\n" << HelpHint() << "\n";
  return kExitUsage;
}

int App::Run(int argc, const char* const* argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return Run(std::move(args), std::cout, std::cerr);
}

int App::Run(std::vector<std::string> args, std::ostream& out, std::ostream& err) {
  RequireCommands();
  try {
    // CLI11 consumes the arguments from the back.
    std::reverse(args.begin(), args.end());
    cli_.parse(std::move(args));
  } catch (const CLI::ParseError& error) {
    return ReportParseError(error, out, err);
  }

  if (init_logging_) {
    if (absl::Status status = InitLogging(log_options_); !status.ok()) {
      err << name_ << ": error: --log-file: " << status.message() << "\n";
      return kExitUsage;
    }
  }

  const std::function<int()>* run = main_ ? &main_ : nullptr;
  for (const CLI::App* app = &cli_; !app->get_subcommands().empty();) {
    app = app->get_subcommands().front();
    auto it = commands_.find(app);
    if (it != commands_.end() && it->second) run = &it->second;
  }
  if (run == nullptr) {
    err << name_ << ": error: nothing to run\n" << HelpHint() << "\n";
    return kExitUsage;
  }
  try {
    return (*run)();
  } catch (const std::exception& e) {
    spdlog::critical("{} failed: {}", name_, e.what());
    return kExitFailure;
  }
}

namespace internal {

CLI::Option* AddValueOption(CLI::App& app, const std::string& name, const std::string& description,
                            ApplyFn apply, const std::string& type_name,
                            const std::string& default_text) {
  CLI::Option* option = app.add_option(
      name,
      [apply](const CLI::results_t& results) {
        // The validator below has accepted the value already.
        return !results.empty() && apply(results.back(), /*store=*/true).empty();
      },
      description);
  option->type_name(type_name);
  option->check(
      CLI::Validator([apply](std::string& text) { return apply(text, /*store=*/false); }, "", ""));
  if (!default_text.empty()) option->default_str(default_text);
  return option;
}

}  // namespace internal

CLI::Option* AddDuration(CLI::App& app, const std::string& name, std::chrono::nanoseconds& value,
                         const std::string& description) {
  return AddParsed(app, name, value, description, parse::ParseDuration, "DURATION",
                   parse::FormatDuration(value));
}

CLI::Option* AddSize(CLI::App& app, const std::string& name, uint64_t& value,
                     const std::string& description) {
  return AddParsed(app, name, value, description, parse::ParseSize, "SIZE",
                   parse::FormatSize(value));
}

CLI::Option* AddEndpoint(CLI::App& app, const std::string& name, parse::Endpoint& value,
                         const std::string& description) {
  const bool has_default = !value.host.empty() || value.port != 0;
  return AddParsed(app, name, value, description, parse::ParseEndpoint, "HOST:PORT",
                   has_default ? parse::FormatEndpoint(value) : "");
}

CLI::Option* AddUrl(CLI::App& app, const std::string& name, parse::Url& value,
                    const std::string& description) {
  return AddParsed(app, name, value, description, parse::ParseUrl, "URL",
                   value.host.empty() ? "" : value.Redacted());
}

}  // namespace tpslab::app
