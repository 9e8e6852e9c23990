#include "common/testing/fuzz_driver.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string_view>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

// Provided by the sanitizer runtimes (ASan, UBSan); null without them.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace tpslab::testing {
namespace {

constexpr absl::string_view kUsage =
    "usage: FUZZ_BINARY [--runs=N] [--seed=S] [--max_len=L] [--artifact_prefix=P] "
    "[FILE_OR_DIR...]\n"
    "  Replays every input file (directories are read recursively), then runs N\n"
    "  deterministic mutations of them (seeded by S, at most L bytes each).\n";

// ---------------------------------------------------------------------------
// Crash reporting. The handlers run while the process is dying, possibly in a
// signal handler, so they only read state prepared beforehand and only call
// async-signal-safe functions (open, write, close).

struct CrashState {
  const uint8_t* data = nullptr;  // The input being run, or null.
  size_t size = 0;
  const std::string* corpus_path = nullptr;  // Set while replaying a file.
  uint64_t mutation = 0;                     // 1-based, while mutating.
  uint64_t seed = 0;
  size_t max_len = 0;
  std::string artifact_path;
  std::string program = "the fuzz binary";
  bool reported = false;
};

CrashState& Crash() {
  static CrashState* state = new CrashState();  // Never destroyed: used while dying.
  return *state;
}

void WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n <= 0) return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

void WriteStr(int fd, const char* text) { WriteAll(fd, text, strlen(text)); }

void WriteNumber(int fd, uint64_t value) {
  char buf[24];
  char* p = buf + sizeof(buf);
  do {
    *--p = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  WriteAll(fd, p, static_cast<size_t>(buf + sizeof(buf) - p));
}

// Writes `data` as a C string literal body, at most `limit` bytes of it.
void WriteEscaped(int fd, const uint8_t* data, size_t size, size_t limit) {
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[256];
  size_t used = 0;
  for (size_t i = 0; i < size && i < limit; ++i) {
    if (used + 4 > sizeof(buf)) {
      WriteAll(fd, buf, used);
      used = 0;
    }
    const uint8_t c = data[i];
    if (c == '"' || c == '\\') {
      buf[used++] = '\\';
      buf[used++] = static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      buf[used++] = static_cast<char>(c);
    } else {
      buf[used++] = '\\';
      buf[used++] = 'x';
      buf[used++] = kHex[c >> 4];
      buf[used++] = kHex[c & 0xf];
    }
  }
  WriteAll(fd, buf, used);
  if (size > limit) WriteStr(fd, "...");
}

void ReportCrash() {
  CrashState& s = Crash();
  if (s.data == nullptr || s.reported) return;
  s.reported = true;
  constexpr int kErr = STDERR_FILENO;
  WriteStr(kErr, "\nfuzz_main: the target crashed on ");
  if (s.corpus_path != nullptr) {
    WriteStr(kErr, "corpus file ");
    WriteStr(kErr, s.corpus_path->c_str());
  } else {
    WriteStr(kErr, "mutation ");
    WriteNumber(kErr, s.mutation);
    WriteStr(kErr, " of --seed=");
    WriteNumber(kErr, s.seed);
    WriteStr(kErr, " --max_len=");
    WriteNumber(kErr, s.max_len);
  }
  WriteStr(kErr, ", ");
  WriteNumber(kErr, s.size);
  WriteStr(kErr, " bytes: \"");
  WriteEscaped(kErr, s.data, s.size, 1024);
  WriteStr(kErr, "\"\n");
  const int fd = open(s.artifact_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    WriteAll(fd, reinterpret_cast<const char*>(s.data), s.size);
    close(fd);
    WriteStr(kErr, "fuzz_main: input written to ");
    WriteStr(kErr, s.artifact_path.c_str());
    WriteStr(kErr, "; replay it with: ");
    WriteStr(kErr, s.program.c_str());
    WriteStr(kErr, " ");
    WriteStr(kErr, s.artifact_path.c_str());
    WriteStr(kErr, "\n");
  } else {
    WriteStr(kErr, "fuzz_main: could not write the input to ");
    WriteStr(kErr, s.artifact_path.c_str());
    WriteStr(kErr, "\n");
  }
}

void OnFatalSignal(int /*signal*/) {
  // SA_RESETHAND restored the default action: returning re-raises (abort()
  // raises again, a faulting instruction faults again) and the process dies.
  ReportCrash();
}

void InstallCrashHandlers() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  std::vector<int> signals = {SIGABRT};
  if (__sanitizer_set_death_callback != nullptr) {
    // Sanitizers report faults themselves and call this before exiting.
    __sanitizer_set_death_callback(ReportCrash);
  } else {
    signals.insert(signals.end(), {SIGSEGV, SIGBUS, SIGFPE, SIGILL});
  }
  for (const int sig : signals) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = OnFatalSignal;
    action.sa_flags = SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    sigaction(sig, &action, nullptr);
  }
}

// Runs `target` on a private heap copy of exactly `data.size()` bytes.
void Execute(FuzzTarget target, absl::string_view data) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[data.size()]);
  if (!data.empty()) memcpy(copy.get(), data.data(), data.size());
  CrashState& s = Crash();
  s.data = copy.get();
  s.size = data.size();
  target(copy.get(), data.size());
  s.data = nullptr;
}

absl::Status ReadFileInto(const std::filesystem::path& path, std::vector<FuzzInput>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const std::error_code error(errno, std::generic_category());
    return absl::PermissionDeniedError(
        absl::StrCat("cannot read fuzz input '", path.string(), "': ", error.message()));
  }
  FuzzInput input;
  input.path = path.string();
  input.data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  out.push_back(std::move(input));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FuzzOptions> ParseFuzzFlags(const std::vector<std::string>& args) {
  FuzzOptions options;
  for (const std::string& arg : args) {
    if (arg.empty() || arg[0] != '-') {
      options.inputs.push_back(arg);
      continue;
    }
    absl::string_view flag = arg;
    flag.remove_prefix(absl::StartsWith(flag, "--") ? 2 : 1);
    const size_t eq = flag.find('=');
    const absl::string_view name = flag.substr(0, eq);
    const absl::string_view value = eq == absl::string_view::npos ? "" : flag.substr(eq + 1);
    const auto number = [&](auto* out) -> absl::Status {
      if (eq == absl::string_view::npos || !absl::SimpleAtoi(value, out) ||
          absl::StartsWith(value, "-")) {
        return absl::InvalidArgumentError(absl::StrCat("invalid value '", value, "' for --", name,
                                                       " (expected --", name,
                                                       "=N with N a non-negative integer)"));
      }
      return absl::OkStatus();
    };
    absl::Status status;
    if (name == "runs") {
      status = number(&options.runs);
    } else if (name == "seed") {
      status = number(&options.seed);
    } else if (name == "max_len") {
      status = number(&options.max_len);
    } else if (name == "artifact_prefix" && eq != absl::string_view::npos) {
      options.artifact_prefix = std::string(value);
    } else {
      status = absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", arg,
                       "' (known: --runs=N, --seed=S, --max_len=L, --artifact_prefix=P)"));
    }
    if (!status.ok()) return status;
  }
  return options;
}

absl::StatusOr<std::vector<FuzzInput>> LoadCorpus(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<FuzzInput> corpus;
  for (const std::string& path : paths) {
    std::error_code error;
    const fs::file_status status = fs::status(path, error);
    if (error) {
      return absl::NotFoundError(
          absl::StrCat("cannot read fuzz input '", path, "': ", error.message()));
    }
    if (!fs::is_directory(status)) {
      if (absl::Status s = ReadFileInto(path, corpus); !s.ok()) return s;
      continue;
    }
    std::vector<fs::path> files;
    for (fs::recursive_directory_iterator it(path, error), end; !error && it != end;
         it.increment(error)) {
      if (it->is_regular_file()) files.push_back(it->path());
    }
    if (error) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot list fuzz corpus directory '", path, "': ", error.message()));
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      if (absl::Status s = ReadFileInto(file, corpus); !s.ok()) return s;
    }
  }
  return corpus;
}

Mutator::Mutator(uint64_t seed, size_t max_len) : rng_(seed), max_len_(max_len) {}

uint64_t Mutator::Below(uint64_t n) { return rng_() % n; }

std::string Mutator::Next(const std::vector<std::string>& corpus) {
  std::string data = corpus.empty() ? std::string() : corpus[Below(corpus.size())];
  if (data.size() > max_len_) data.resize(max_len_);
  const uint64_t edits = 1 + Below(4);
  for (uint64_t i = 0; i < edits; ++i) {
    MutateOnce(corpus, data);
    if (data.size() > max_len_) data.resize(max_len_);
  }
  return data;
}

void Mutator::MutateOnce(const std::vector<std::string>& corpus, std::string& data) {
  // Bytes that are syntax in many text formats, plus edge values.
  static constexpr char kInterestingBytes[] =
      "\0\x01\x7f\x80\xff\xc2\xb5 %:./@[]?#-+_=,;'\"\\\n\r\t0123456789";
  static constexpr absl::string_view kInteresting(kInterestingBytes, sizeof(kInterestingBytes) - 1);
  const auto random_byte = [&] { return static_cast<char>(Below(256)); };
  const std::string& other = corpus.empty() ? data : corpus[Below(corpus.size())];

  switch (Below(11)) {
    case 0:  // Erase 1-8 bytes.
      if (!data.empty()) {
        const size_t n = 1 + Below(std::min<size_t>(data.size(), 8));
        data.erase(Below(data.size() - n + 1), n);
        return;
      }
      break;
    case 1:  // Flip one bit.
      if (!data.empty()) {
        data[Below(data.size())] ^= static_cast<char>(1u << Below(8));
        return;
      }
      break;
    case 2:  // Overwrite one byte.
      if (!data.empty()) {
        data[Below(data.size())] = random_byte();
        return;
      }
      break;
    case 3:  // Insert 1-8 copies of a byte.
      data.insert(Below(data.size() + 1), 1 + Below(8), random_byte());
      return;
    case 4:  // Insert or overwrite with an interesting byte.
      if (!data.empty() && Below(2) == 0) {
        data[Below(data.size())] = kInteresting[Below(kInteresting.size())];
      } else {
        data.insert(Below(data.size() + 1), 1, kInteresting[Below(kInteresting.size())]);
      }
      return;
    case 5: {  // Replace a run of ASCII digits with another number.
      std::vector<size_t> starts;
      for (size_t i = 0; i < data.size(); ++i) {
        if (absl::ascii_isdigit(static_cast<unsigned char>(data[i])) &&
            (i == 0 || !absl::ascii_isdigit(static_cast<unsigned char>(data[i - 1])))) {
          starts.push_back(i);
        }
      }
      if (starts.empty()) break;
      const size_t begin = starts[Below(starts.size())];
      size_t end = begin;
      while (end < data.size() && absl::ascii_isdigit(static_cast<unsigned char>(data[end]))) ++end;
      std::string number;
      const uint64_t digits = 1 + Below(Below(4) == 0 ? 30 : 5);
      for (uint64_t i = 0; i < digits; ++i) number.push_back(static_cast<char>('0' + Below(10)));
      data.replace(begin, end - begin, number);
      return;
    }
    case 6:  // Shuffle a window of up to 8 bytes.
      if (data.size() >= 2) {
        const size_t n = 2 + Below(std::min<size_t>(data.size(), 8) - 1);
        const size_t begin = Below(data.size() - n + 1);
        for (size_t i = n - 1; i > 0; --i) std::swap(data[begin + i], data[begin + Below(i + 1)]);
        return;
      }
      break;
    case 7:  // Copy a part of the input to another place in it.
      if (!data.empty()) {
        const size_t n = 1 + Below(std::min<size_t>(data.size(), 16));
        const std::string part = data.substr(Below(data.size() - n + 1), n);
        data.insert(Below(data.size() + 1), part);
        return;
      }
      break;
    case 8:  // Cross over: a prefix of this input and a suffix of another.
      if (!other.empty()) {
        const size_t keep = Below(data.size() + 1);
        const std::string tail = other.substr(Below(other.size() + 1));
        data.resize(keep);
        data += tail;
        return;
      }
      break;
    case 9:  // Splice a part of another input in.
      if (!other.empty()) {
        const size_t n = 1 + Below(std::min<size_t>(other.size(), 16));
        const std::string part = other.substr(Below(other.size() - n + 1), n);
        data.insert(Below(data.size() + 1), part);
        return;
      }
      break;
    case 10:  // Truncate.
      if (!data.empty()) {
        data.resize(Below(data.size()));
        return;
      }
      break;
  }
  // The chosen edit needed bytes that were not there: insert one instead.
  data.insert(Below(data.size() + 1), 1, random_byte());
}

FuzzStats RunFuzzer(const FuzzOptions& options, const std::vector<FuzzInput>& corpus,
                    FuzzTarget target) {
  CrashState& crash = Crash();
  if (!options.artifact_prefix.empty()) {
    crash.artifact_path = options.artifact_prefix + "crash-input";
  } else if (const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR"); dir != nullptr) {
    crash.artifact_path = absl::StrCat(dir, "/crash-input");
  } else {
    crash.artifact_path = "crash-input";
  }
  crash.seed = options.seed;
  crash.max_len = options.max_len;
  InstallCrashHandlers();

  FuzzStats stats;
  for (const FuzzInput& input : corpus) {
    crash.corpus_path = &input.path;
    Execute(target, input.data);
    ++stats.replayed;
  }
  crash.corpus_path = nullptr;

  std::vector<std::string> seeds;
  seeds.reserve(corpus.size());
  for (const FuzzInput& input : corpus) seeds.push_back(input.data);
  Mutator mutator(options.seed, options.max_len);
  for (uint64_t i = 0; i < options.runs; ++i) {
    const std::string data = mutator.Next(seeds);
    crash.mutation = i + 1;
    Execute(target, data);
    ++stats.mutations;
  }
  return stats;
}

int FuzzerMain(int argc, char** argv, FuzzTarget target, FuzzInitialize initialize) {
  if (initialize != nullptr) initialize(&argc, &argv);
  if (argc > 0) Crash().program = argv[0];
  const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-help" || arg == "-h") {
      fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      return 0;
    }
  }
  absl::StatusOr<FuzzOptions> options = ParseFuzzFlags(args);
  if (!options.ok()) {
    absl::FPrintF(stderr, "fuzz_main: %s\n%s", options.status().message(), kUsage);
    return 2;
  }
  absl::StatusOr<std::vector<FuzzInput>> corpus = LoadCorpus(options->inputs);
  if (!corpus.ok()) {
    absl::FPrintF(stderr, "fuzz_main: %s\n", corpus.status().message());
    return 2;
  }
  if (corpus->empty() && options->runs == 0) {
    absl::FPrintF(stderr, "fuzz_main: warning: no inputs and --runs=0, nothing ran\n");
  }
  const auto start = std::chrono::steady_clock::now();
  const FuzzStats stats = RunFuzzer(*options, *corpus, target);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  absl::FPrintF(stderr,
                "fuzz_main: replayed %d corpus inputs and ran %d mutations (--seed=%d "
                "--max_len=%d) in %.2fs\n",
                stats.replayed, stats.mutations, options->seed, options->max_len, elapsed.count());
  return 0;
}

}  // namespace tpslab::testing
