// Logging setup shared by every tpslab binary, on spdlog.
//
// Logs go to stderr (or a file), never stdout, so stdout stays for program
// output. Two formats:
//   text: 2024-05-01T12:34:56.123456Z info ftpd [4711] listening on :2121
//   json: {"ts":"2024-05-01T12:34:56.123456Z","level":"info","logger":"ftpd",
//          "thread":4711,"msg":"listening on :2121"}          (one object per line)
// Timestamps are UTC with microseconds. JSON strings are escaped per RFC 8259
// and invalid UTF-8 is replaced by U+FFFD, so every line is valid JSON.
//
// Binaries normally get this through tpslab::app::App (cli.h), which maps
// --log-level/--log-format/--log-file to LogOptions. Directly:
//
//   tpslab::app::LogOptions options;
//   options.logger_name = "monitor";
//   options.format = tpslab::app::LogFormat::kJson;
//   if (absl::Status s = tpslab::app::InitLogging(options); !s.ok()) { ... }
//   spdlog::info("sampling every {}", FormatDuration(interval));
//   auto log = tpslab::app::GetLogger("monitor.proc");  // same sinks, own name
//   log->warn("cannot read {}", path);
#ifndef TPSLAB_COMMON_APP_LOGGING_H_
#define TPSLAB_COMMON_APP_LOGGING_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "spdlog/formatter.h"
#include "spdlog/logger.h"

namespace tpslab::app {

// How log lines are written.
enum class LogFormat {
  kText,  // Human-readable lines.
  kJson,  // One JSON object per line.
};

// Everything InitLogging() needs.
struct LogOptions {
  // Messages below this level are dropped. Default info.
  spdlog::level::level_enum level = spdlog::level::info;
  // Line format. Default text.
  LogFormat format = LogFormat::kText;
  // Log file, appended to (parent directories are created). Default empty:
  // stderr.
  std::string file;
  // Name of the default logger, shown in every line. Default "tpslab"; App
  // sets the binary's name.
  std::string logger_name = "tpslab";
};

// Parses a level name, case-insensitively: trace, debug, info, warn (or
// warning), error (or err), critical (or crit), off. Fails with
// InvalidArgument listing the valid names.
absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(std::string_view text);

// Returns spdlog's name of `level`, as log lines show it: "trace", "debug",
// "info", "warning", "error", "critical" or "off".
std::string_view LogLevelName(spdlog::level::level_enum level);

// Parses "text" or "json" (case-insensitive). Fails with InvalidArgument.
absl::StatusOr<LogFormat> ParseLogFormat(std::string_view text);

// Returns "text" or "json".
std::string_view LogFormatName(LogFormat format);

// Makes a logger named options.logger_name the spdlog default logger (the one
// spdlog::info() etc. use), writing to stderr or options.file in
// options.format at options.level, and points every logger already
// registered with spdlog (e.g. from GetLogger) at the same sink. Sinks are
// thread-safe; each line is flushed as it is written. Call it at startup,
// before other threads log. Fails with InvalidArgument when the log file
// cannot be opened.
absl::Status InitLogging(const LogOptions& options);

// Returns the logger called `name`, creating it with the default logger's
// sinks, format and level if it does not exist yet. Thread-safe.
std::shared_ptr<spdlog::logger> GetLogger(const std::string& name);

// An spdlog formatter writing one JSON object per line:
// {"ts":"<ISO-8601 UTC, microseconds>","level":"...","logger":"...",
//  "thread":<id>,"msg":"..."} plus "source":"file:line" when the call site
// is known (SPDLOG_INFO etc.).
class JsonFormatter final : public spdlog::formatter {
 public:
  // Appends the JSON line for `msg` to `dest`.
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  // Returns a copy.
  std::unique_ptr<spdlog::formatter> clone() const override;
};

// Returns `text` as the inside of a JSON string (no surrounding quotes):
// '"' and '\' are backslash-escaped, \b \f \n \r \t use their short forms,
// other control characters and DEL become \u00XX, valid UTF-8 passes through
// unchanged, and each maximal invalid UTF-8 subsequence becomes \ufffd.
std::string JsonEscape(std::string_view text);

}  // namespace tpslab::app

#endif  // TPSLAB_COMMON_APP_LOGGING_H_
