// The command line of every tpslab binary (ftpd, loadgen, monitor, analyzer),
// on CLI11: subcommands, --help, --version, a TOML config file, shared logging
// flags and typed options parsed by common/parse.
//
//   int main(int argc, char** argv) {
//     tpslab::app::App app("loadgen", "FTP load generator", "0.1.0");
//     LoadOptions options;  // defaults live in the struct
//     CLI::App& run = app.AddCommand("run", "Run a load test", [&] { return RunLoad(options); });
//     tpslab::app::AddUrl(run, "--target", options.target, "FTP server and file")->required();
//     tpslab::app::AddDuration(run, "--interval", options.interval, "Reporting interval");
//     tpslab::app::AddSize(run, "--file-size", options.file_size, "Bytes per upload");
//     tpslab::app::AddEndpoint(run, "--coordinator", options.coordinator, "Analyzer address");
//     run.add_option("--sessions", options.sessions, "Concurrent sessions");
//     return app.Run(argc, argv);
//   }
//
//   $ loadgen run --target ftp://u:p@[::1]:2121/f --interval 25x
//   loadgen: error: --interval: invalid duration '25x': unknown unit 'x' at position 3 (...)
//   Run 'loadgen run --help' for usage.                                  (exit status 2)
//
// What every binary gets:
//   - --help (exit 0; also per subcommand) and --version (prints "NAME VERSION").
//   - --config FILE: TOML-style "key = value" lines; keys are long option
//     names without dashes, options of a subcommand go in a [subcommand]
//     section. Flags on the command line override the file; unknown keys are
//     errors.
//         log-level = "debug"
//         [run]
//         interval = "2s"
//         target = "ftp://127.0.0.1:2121/f"
//   - --log-level LEVEL, --log-format text|json, --log-file FILE, applied with
//     InitLogging (logging.h) before the command runs. Logs go to stderr.
//   - Exit status: kExitOk (0); kExitFailure (1) when the command returns it
//     or throws; kExitUsage (2) for usage errors, reported on stderr with the
//     option that was wrong and a hint to use --help.
#ifndef TPSLAB_COMMON_APP_CLI_H_
#define TPSLAB_COMMON_APP_CLI_H_

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/app/logging.h"
#include "common/parse/url.h"

namespace tpslab::app {

// Process exit statuses.
inline constexpr int kExitOk = 0;       // Success, also after --help and --version.
inline constexpr int kExitFailure = 1;  // The command failed.
inline constexpr int kExitUsage = 2;    // Bad command line or config file.

// A binary's command line: the root CLI11 app plus the conventions above.
class App {
 public:
  // `name` is the program name used in messages and help, `version` what
  // --version prints after it.
  App(std::string name, std::string description, std::string version);
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Returns the root CLI11 app, for options that apply to every command.
  CLI::App& root() { return cli_; }

  // Adds a subcommand that runs `run` when selected (its return value is
  // the exit status) and returns it for adding options. Once a binary has
  // commands, one of them must be given unless SetMain() was called.
  CLI::App& AddCommand(const std::string& name, const std::string& description,
                       std::function<int()> run);

  // Adds a subcommand of `parent` (a command from AddCommand). With an
  // empty `run` the command only groups subcommands, one of which is then
  // required.
  CLI::App& AddCommand(CLI::App& parent, const std::string& name, const std::string& description,
                       std::function<int()> run);

  // Sets what runs when no subcommand is given (for binaries without
  // subcommands, or a default action).
  void SetMain(std::function<int()> run);

  // Chooses whether Run() calls InitLogging(log_options()). Default true.
  void set_init_logging(bool init) { init_logging_ = init; }

  // The logging options; filled in from the flags by Run(). The logger name
  // defaults to the program name.
  LogOptions& log_options() { return log_options_; }

  // Parses the command line and the config file, initializes logging and
  // runs the selected command. Prints help and version to stdout and usage
  // errors to stderr. Returns the exit status.
  int Run(int argc, const char* const* argv);

  // Run() for tests: `args` excludes the program name; help and version go
  // to `out`, usage errors to `err`.
  int Run(std::vector<std::string> args, std::ostream& out, std::ostream& err);

 private:
  void RequireCommands();
  int ReportParseError(const CLI::ParseError& error, std::ostream& out, std::ostream& err);
  std::string HelpHint() const;

  std::string name_;
  CLI::App cli_;
  LogOptions log_options_;
  bool init_logging_ = true;
  std::function<int()> main_;
  std::map<const CLI::App*, std::function<int()>> commands_;
};

namespace internal {

// Checks (store = false) or checks and stores (store = true) one option
// value; returns an error message, or "" when the value is valid.
using ApplyFn = std::function<std::string(const std::string& text, bool store)>;

// Adds an option taking exactly one value, validated with `apply` before it
// is stored, so that errors read "--name: <message>".
CLI::Option* AddValueOption(CLI::App& app, const std::string& name, const std::string& description,
                            ApplyFn apply, const std::string& type_name,
                            const std::string& default_text);

}  // namespace internal

// Adds an option whose value is parsed by `parse`, any callable taking
// std::string_view and returning absl::StatusOr<T>. An invalid value is a
// usage error "NAME: <status message>". `type_name` is shown in help (e.g.
// "DURATION"), `default_text` too unless empty. Works for options read from
// the config file as well.
template <typename T, typename Parse>
CLI::Option* AddParsed(CLI::App& app, const std::string& name, T& value,
                       const std::string& description, Parse parse, const std::string& type_name,
                       const std::string& default_text = "") {
  return internal::AddValueOption(
      app, name, description,
      [&value, parse](const std::string& text, bool store) -> std::string {
        absl::StatusOr<T> parsed = parse(std::string_view(text));
        if (!parsed.ok()) return std::string(parsed.status().message());
        if (store) value = *std::move(parsed);
        return std::string();
      },
      type_name, default_text);
}

// Adds a duration option ("250ms", "1m30s"; parse::ParseDuration). Help
// shows the current value of `value` as the default.
CLI::Option* AddDuration(CLI::App& app, const std::string& name, std::chrono::nanoseconds& value,
                         const std::string& description);

// Adds a byte-size option ("64MiB", "10MB", "4k"; parse::ParseSize). Help
// shows the current value of `value` as the default.
CLI::Option* AddSize(CLI::App& app, const std::string& name, uint64_t& value,
                     const std::string& description);

// Adds a HOST:PORT option ("127.0.0.1:21", "[::1]:2121", ":8080";
// parse::ParseEndpoint). Help shows `value` as the default unless it is
// ":0".
CLI::Option* AddEndpoint(CLI::App& app, const std::string& name, parse::Endpoint& value,
                         const std::string& description);

// Adds a URL option ("ftp://user:pass@host:2121/path"; parse::ParseUrl).
// Help shows `value` (password redacted) as the default unless its host is
// empty.
CLI::Option* AddUrl(CLI::App& app, const std::string& name, parse::Url& value,
                    const std::string& description);

}  // namespace tpslab::app

#endif  // TPSLAB_COMMON_APP_CLI_H_
