// A small driver that runs libFuzzer-style fuzz targets as ordinary, bounded
// tests on a toolchain without libFuzzer (g++ here).
//
// A fuzz target defines the libFuzzer entry point and links
// //common/testing:fuzz_main, whose main() calls FuzzerMain():
//
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
//     std::string_view text(reinterpret_cast<const char*>(data), size);
//     if (auto d = ParseDuration(text); d.ok()) { ...check invariants, abort() if broken... }
//     return 0;
//   }
//
//   $ parse_fuzz_test corpus_dir/ crash-file          # replay these inputs once each
//   $ parse_fuzz_test --runs=20000 --seed=1 --max_len=256 corpus_dir/
//                                                     # ... then 20000 mutations of them
//
// Mutations (byte flips, inserts, deletes, copies, number swaps, splices of
// two corpus inputs) come from a seeded PRNG, so a run is reproducible: the
// same flags give the same inputs on every machine. Under ASan/UBSan a bug
// kills the process; before it dies the driver prints which input did it
// (escaped) and writes the input to a file that can be replayed.
#ifndef TPSLAB_COMMON_TESTING_FUZZ_DRIVER_H_
#define TPSLAB_COMMON_TESTING_FUZZ_DRIVER_H_

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tpslab::testing {

// The libFuzzer entry point: runs one input; returns 0.
using FuzzTarget = int (*)(const uint8_t* data, size_t size);
// libFuzzer's optional LLVMFuzzerInitialize(&argc, &argv).
using FuzzInitialize = int (*)(int* argc, char*** argv);

// What to run, from the command line.
struct FuzzOptions {
  // Mutated inputs to run after replaying the corpus. Default 0: replay only.
  uint64_t runs = 0;
  // Seed of the mutation PRNG. Default 1.
  uint64_t seed = 1;
  // Longest mutated input, in bytes (corpus files are replayed whole).
  // Default 4096.
  size_t max_len = 4096;
  // Where a crashing input is written: this prefix + "crash-input". Default
  // empty: $TEST_UNDECLARED_OUTPUTS_DIR/ under Bazel, else the current
  // directory.
  std::string artifact_prefix;
  // Files and directories (read recursively) holding the seed corpus.
  // Default none.
  std::vector<std::string> inputs;
};

// Parses libFuzzer-style flags: "--runs=N", "--seed=S", "--max_len=L",
// "--artifact_prefix=P" (one leading '-' works too); every other argument
// is an input path. `args` excludes the program name. Fails with
// InvalidArgument naming an unknown flag or a bad number.
absl::StatusOr<FuzzOptions> ParseFuzzFlags(const std::vector<std::string>& args);

// An input and where it came from.
struct FuzzInput {
  // The file it was read from.
  std::string path;
  // Its bytes.
  std::string data;
};

// Reads every regular file named in `paths` or found (recursively, in sorted
// order) under a directory in `paths`. Fails with NotFound or
// PermissionDenied naming a path that cannot be read.
absl::StatusOr<std::vector<FuzzInput>> LoadCorpus(const std::vector<std::string>& paths);

// Deterministic pseudo-random mutations of corpus inputs.
class Mutator {
 public:
  // Mutations depend only on `seed` and the calls made; no input is longer
  // than `max_len` bytes.
  Mutator(uint64_t seed, size_t max_len);

  // Returns a mutation of a random element of `corpus` (of the empty input
  // when `corpus` is empty): 1 to 4 stacked edits, some of which splice in
  // parts of another corpus element.
  std::string Next(const std::vector<std::string>& corpus);

 private:
  uint64_t Below(uint64_t n);  // Uniform in [0, n); n > 0.
  void MutateOnce(const std::vector<std::string>& corpus, std::string& data);

  std::mt19937_64 rng_;
  size_t max_len_;
};

// How much a RunFuzzer() call did.
struct FuzzStats {
  // Corpus inputs replayed.
  size_t replayed = 0;
  // Mutated inputs run.
  uint64_t mutations = 0;
};

// Replays `corpus` through `target`, then runs options.runs mutations of it.
// Each input is passed in a heap buffer of exactly its size so that ASan
// catches reads past the end. If the process dies meanwhile (abort(), a
// sanitizer report, a fatal signal), the current input is reported on stderr
// and written to options.artifact_prefix + "crash-input".
FuzzStats RunFuzzer(const FuzzOptions& options, const std::vector<FuzzInput>& corpus,
                    FuzzTarget target);

// The whole program: parses flags, calls `initialize` (may be null), loads
// the corpus, runs RunFuzzer() and prints a summary line on stderr. Returns
// 0, or 2 with a message on stderr for bad flags or unreadable inputs.
int FuzzerMain(int argc, char** argv, FuzzTarget target, FuzzInitialize initialize);

}  // namespace tpslab::testing

#endif  // TPSLAB_COMMON_TESTING_FUZZ_DRIVER_H_
