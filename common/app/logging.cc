#include "common/app/logging.h"

#include <time.h>

#include <array>
#include <chrono>
#include <iterator>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "fmt/format.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace tpslab::app {
namespace {

// Text lines: "2024-05-01T12:34:56.123456Z info ftpd [4711] message".
constexpr char kTextPattern[] = "%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %n [%t] %v";

struct LevelName {
  std::string_view name;
  spdlog::level::level_enum level;
};

constexpr std::array<LevelName, 10> kLevelNames = {{
    {"trace", spdlog::level::trace},
    {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},
    {"warning", spdlog::level::warn},
    {"error", spdlog::level::err},
    {"err", spdlog::level::err},
    {"critical", spdlog::level::critical},
    {"crit", spdlog::level::critical},
    {"off", spdlog::level::off},
}};

std::string Quote(std::string_view text) {
  return absl::StrCat("'", absl::CHexEscape(absl::string_view(text.data(), text.size())), "'");
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(a[i])) !=
        absl::ascii_tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Length of the UTF-8 sequence starting at s[i] if it is valid, else 0; in
// `consumed` the length of its maximal valid prefix (at least 1), which is
// what one U+FFFD replaces (Unicode's "maximal subpart" practice).
size_t Utf8Sequence(std::string_view s, size_t i, size_t* consumed) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  size_t length;
  unsigned char low = 0x80;  // Bounds of the second byte; later ones are 80..BF.
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // No overlong forms.
    if (lead == 0xED) high = 0x9F;  // No surrogates.
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // No overlong forms.
    if (lead == 0xF4) high = 0x8F;  // Nothing above U+10FFFF.
  } else {
    *consumed = 1;
    return 0;
  }
  size_t k = 1;
  for (; k < length && i + k < s.size(); ++k) {
    const unsigned char c = byte(i + k);
    const unsigned char lo = k == 1 ? low : 0x80;
    const unsigned char hi = k == 1 ? high : 0xBF;
    if (c < lo || c > hi) break;
  }
  *consumed = k;
  return k == length ? length : 0;
}

// Appends `text` to an std::string or an spdlog::memory_buf_t.
template <typename Buffer>
void Append(std::string_view text, Buffer& out) {
  out.append(text.data(), text.data() + text.size());
}

template <typename Buffer>
void AppendEscaped(std::string_view text, Buffer& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto append = [&out](std::string_view part) { Append(part, out); };
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t consumed = 0;
      const size_t length = Utf8Sequence(text, i, &consumed);
      append(length > 0 ? text.substr(i, length) : std::string_view("\\ufffd"));
      i += length > 0 ? length : consumed;
      continue;
    }
    switch (c) {
      case '"':
        append("\\\"");
        break;
      case '\\':
        append("\\\\");
        break;
      case '\b':
        append("\\b");
        break;
      case '\f':
        append("\\f");
        break;
      case '\n':
        append("\\n");
        break;
      case '\r':
        append("\\r");
        break;
      case '\t':
        append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
          append(std::string_view(escape, sizeof(escape)));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
}

std::string_view ToStd(spdlog::string_view_t view) { return {view.data(), view.size()}; }

std::unique_ptr<spdlog::formatter> MakeFormatter(LogFormat format) {
  if (format == LogFormat::kJson) return std::make_unique<JsonFormatter>();
  return std::make_unique<spdlog::pattern_formatter>(kTextPattern, spdlog::pattern_time_type::utc);
}

// Serializes logger creation in GetLogger.
std::mutex& LoggerMutex() {
  static std::mutex* mutex = new std::mutex();
  return *mutex;
}

}  // namespace

absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(std::string_view text) {
  for (const LevelName& entry : kLevelNames) {
    if (EqualsIgnoreCase(entry.name, text)) return entry.level;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid log level ", Quote(text),
                   " (valid: trace, debug, info, warn, error, critical, off)"));
}

std::string_view LogLevelName(spdlog::level::level_enum level) {
  return ToStd(spdlog::level::to_string_view(level));
}

absl::StatusOr<LogFormat> ParseLogFormat(std::string_view text) {
  if (EqualsIgnoreCase(text, "text")) return LogFormat::kText;
  if (EqualsIgnoreCase(text, "json")) return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid log format ", Quote(text), " (valid: text, json)"));
}

std::string_view LogFormatName(LogFormat format) {
  return format == LogFormat::kJson ? "json" : "text";
}

void JsonFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  const auto since_epoch = duration_cast<microseconds>(msg.time.time_since_epoch()).count();
  // Floor division, so times before 1970 still get a non-negative fraction.
  time_t seconds = static_cast<time_t>(since_epoch / 1'000'000);
  int64_t micros = since_epoch % 1'000'000;
  if (micros < 0) {
    micros += 1'000'000;
    --seconds;
  }
  struct tm utc;
  gmtime_r(&seconds, &utc);
  fmt::format_to(std::back_inserter(dest),
                 "{{\"ts\":\"{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:06d}Z\",\"level\":\"",
                 utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                 utc.tm_sec, micros);
  AppendEscaped(LogLevelName(msg.level), dest);
  Append("\",\"logger\":\"", dest);
  AppendEscaped(ToStd(msg.logger_name), dest);
  fmt::format_to(std::back_inserter(dest), "\",\"thread\":{},\"msg\":\"", msg.thread_id);
  AppendEscaped(ToStd(msg.payload), dest);
  dest.push_back('"');
  if (!msg.source.empty()) {
    Append(",\"source\":\"", dest);
    AppendEscaped(msg.source.filename, dest);
    fmt::format_to(std::back_inserter(dest), ":{}\"", msg.source.line);
  }
  Append("}\n", dest);
}

std::unique_ptr<spdlog::formatter> JsonFormatter::clone() const {
  return std::make_unique<JsonFormatter>();
}

std::string JsonEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendEscaped(text, out);
  return out;
}

absl::Status InitLogging(const LogOptions& options) {
  spdlog::sink_ptr sink;
  if (options.file.empty()) {
    // Colors only make sense for humans at a terminal (the sink checks).
    if (options.format == LogFormat::kText) {
      sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    } else {
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    }
  } else {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file, /*truncate=*/false);
    } catch (const spdlog::spdlog_ex& e) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot open log file ", Quote(options.file), ": ", e.what()));
    }
  }
  sink->set_formatter(MakeFormatter(options.format));

  std::lock_guard<std::mutex> lock(LoggerMutex());
  auto logger = std::make_shared<spdlog::logger>(options.logger_name, sink);
  logger->set_level(options.level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_level(options.level);
  // Loggers handed out earlier keep working, now with the new sink.
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& existing) {
    if (existing->name() == options.logger_name) return;
    existing->sinks() = {sink};
    existing->set_level(options.level);
    existing->flush_on(spdlog::level::trace);
  });
  spdlog::set_default_logger(std::move(logger));
  return absl::OkStatus();
}

std::shared_ptr<spdlog::logger> GetLogger(const std::string& name) {
  std::lock_guard<std::mutex> lock(LoggerMutex());
  if (std::shared_ptr<spdlog::logger> existing = spdlog::get(name)) return existing;
  std::shared_ptr<spdlog::logger> logger = spdlog::default_logger()->clone(name);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace tpslab::app
