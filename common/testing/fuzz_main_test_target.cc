// A toy fuzz target that checks fuzz_main end to end: LLVMFuzzerInitialize is
// called with the flags, every corpus file is replayed, exactly --runs
// mutations follow and none is longer than --max_len. A failed check makes
// the process exit with status 1.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

uint64_t expected_runs = 0;
size_t max_len = 0;
uint64_t calls = 0;
uint64_t hello_seen = 0;
uint64_t too_long = 0;

void CheckAtExit() {
  // Two corpus files, then the mutations.
  const uint64_t want = 2 + expected_runs;
  bool ok = true;
  if (calls != want) {
    fprintf(stderr, "FAIL: target ran %llu times, want %llu\n",
            static_cast<unsigned long long>(calls), static_cast<unsigned long long>(want));
    ok = false;
  }
  if (hello_seen == 0) {
    fprintf(stderr, "FAIL: the corpus file hello.txt was not replayed\n");
    ok = false;
  }
  // Both corpus files (10 and 17 bytes) are replayed whole; no mutation may
  // exceed --max_len=8.
  if (too_long != 2) {
    fprintf(stderr, "FAIL: %llu inputs longer than --max_len=%zu, want 2\n",
            static_cast<unsigned long long>(too_long), max_len);
    ok = false;
  }
  if (!ok) _exit(1);
  fprintf(stderr, "PASS: %llu inputs\n", static_cast<unsigned long long>(calls));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  for (int i = 1; i < *argc; ++i) {
    const std::string_view arg = (*argv)[i];
    if (arg.rfind("--runs=", 0) == 0) expected_runs = std::strtoull(arg.data() + 7, nullptr, 10);
    if (arg.rfind("--max_len=", 0) == 0) max_len = std::strtoull(arg.data() + 10, nullptr, 10);
  }
  atexit(CheckAtExit);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ++calls;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input == "hello fuzz") ++hello_seen;
  if (size > max_len) ++too_long;
  return 0;
}
