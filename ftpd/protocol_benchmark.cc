// Micro-benchmarks of ftpd's per-command building blocks: what one command
// costs before any socket I/O. Run for real with
//   ./bazelw run -c opt //ftpd:protocol_benchmark
// The smoke test //ftpd:protocol_benchmark_smoke_test runs each once.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "benchmark/benchmark.h"
#include "ftpd/ascii.h"
#include "ftpd/command.h"
#include "ftpd/listing.h"
#include "ftpd/path_jail.h"
#include "ftpd/users.h"

namespace tpslab::ftpd {
namespace {

void BM_ParseCommand(benchmark::State& state) {
  std::string scratch;
  const std::string line = "RETR pub/releases/tpslab-1.0.tar.gz";
  for (auto _ : state) {
    absl::StatusOr<Command> command = ParseCommand(line, &scratch);
    benchmark::DoNotOptimize(command);
  }
}
BENCHMARK(BM_ParseCommand);

void BM_ParseCommandWithTelnetSynch(benchmark::State& state) {
  std::string scratch;
  const std::string line =
      "\xFF\xF4\xFF\xF2"
      "ABOR";
  for (auto _ : state) {
    absl::StatusOr<Command> command = ParseCommand(line, &scratch);
    benchmark::DoNotOptimize(command);
  }
}
BENCHMARK(BM_ParseCommandWithTelnetSynch);

void BM_Resolve(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    absl::Status s = PathJail::Resolve("/pub/releases", "../incoming/./new file.bin", &out);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_Resolve);

void BM_AppendReply(benchmark::State& state) {
  std::string out;
  out.reserve(256);
  for (auto _ : state) {
    out.clear();
    AppendReply(226, "Transfer complete", &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_AppendReply);

void BM_AppendListLine(benchmark::State& state) {
  ListEntry entry;
  entry.name = "tpslab-1.0.tar.gz";
  entry.mode = S_IFREG | 0644;
  entry.size = 123456789;
  entry.mtime = {1709647620, 0};
  const ListFormat format{.now = 1709650800};
  std::string out;
  out.reserve(256);
  for (auto _ : state) {
    out.clear();
    AppendListLine(entry, format, &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_AppendListLine);

void BM_AppendMlsdLine(benchmark::State& state) {
  ListEntry entry;
  entry.name = "tpslab-1.0.tar.gz";
  entry.mode = S_IFREG | 0644;
  entry.size = 123456789;
  entry.mtime = {1709647620, 0};
  std::string out;
  out.reserve(256);
  for (auto _ : state) {
    out.clear();
    AppendMlsdLine(entry, MlsxKind::kEntry, MlstFacts::Default(), Permissions::All(), &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_AppendMlsdLine);

void BM_AsciiEncode64KiB(benchmark::State& state) {
  std::string text;
  while (text.size() < 65536) text += "a line of text of typical length for a log file\n";
  text.resize(65536);
  std::string out(AsciiEncoder::MaxOutput(text.size()), '\0');
  AsciiEncoder encoder;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        encoder.Encode(std::span<const char>(text.data(), text.size()), out.data()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 65536);
}
BENCHMARK(BM_AsciiEncode64KiB);

// The slow path a login without the cache pays.
void BM_VerifyPasswordYescrypt(benchmark::State& state) {
  const std::string hash = *HashPassword("benchmark password");
  for (auto _ : state) {
    benchmark::DoNotOptimize(VerifyPassword("benchmark password", hash));
  }
}
BENCHMARK(BM_VerifyPasswordYescrypt)->Unit(benchmark::kMillisecond);

// The fast path: a repeated login answered by the verification cache.
void BM_VerifyCachedHit(benchmark::State& state) {
  const std::string hash = *HashPassword("benchmark password");
  std::unique_ptr<PasswordVerifier> verifier = *PasswordVerifier::Create();
  verifier->Verify("alice", "benchmark password", hash);
  for (auto _ : state) {
    benchmark::DoNotOptimize(verifier->VerifyCached("alice", "benchmark password", hash));
  }
}
BENCHMARK(BM_VerifyCachedHit);

// A directory with one file, for the file system benchmarks.
class TempTree {
 public:
  TempTree() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/ftpd_bench.XXXXXX";
    root_ = ::mkdtemp(pattern.data());
    std::filesystem::create_directories(root_ + "/pub/releases");
    std::ofstream(root_ + "/pub/releases/file.bin") << "data";
  }
  ~TempTree() { std::filesystem::remove_all(root_); }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

// Opening a file through the jail (openat2 RESOLVE_BENEATH + fstat) ...
void BM_JailOpenForRead(benchmark::State& state) {
  TempTree tree;
  absl::StatusOr<PathJail> jail = PathJail::Open(tree.root());
  for (auto _ : state) {
    absl::StatusOr<PathJail::OpenFile> file = jail->OpenForRead("/pub/releases/file.bin");
    benchmark::DoNotOptimize(file);
  }
}
BENCHMARK(BM_JailOpenForRead);

// ... against a plain openat + fstat of the same file, for comparison.
void BM_PlainOpenatForRead(benchmark::State& state) {
  TempTree tree;
  const int root = ::open(tree.root().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  for (auto _ : state) {
    const int fd = ::openat(root, "pub/releases/file.bin", O_RDONLY | O_CLOEXEC);
    struct stat st;
    ::fstat(fd, &st);
    benchmark::DoNotOptimize(st);
    ::close(fd);
  }
  ::close(root);
}
BENCHMARK(BM_PlainOpenatForRead);

// A whole atomic upload of an empty file: create temp, rename into place.
void BM_JailAtomicUpload(benchmark::State& state) {
  TempTree tree;
  absl::StatusOr<PathJail> jail = PathJail::Open(tree.root());
  for (auto _ : state) {
    absl::StatusOr<AtomicUpload> upload = jail->BeginAtomicUpload("/pub/upload.bin");
    benchmark::DoNotOptimize(upload->Commit());
  }
}
BENCHMARK(BM_JailAtomicUpload);

}  // namespace
}  // namespace tpslab::ftpd

BENCHMARK_MAIN();
