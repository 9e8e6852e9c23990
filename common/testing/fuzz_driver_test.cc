#include "common/testing/fuzz_driver.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tpslab::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::filesystem::path TempDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::filesystem::path dir = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void WriteFile(const std::filesystem::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

TEST(ParseFuzzFlagsTest, FlagsAndInputs) {
  absl::StatusOr<FuzzOptions> options = ParseFuzzFlags(
      {"--runs=20000", "-seed=7", "--max_len=256", "--artifact_prefix=/tmp/x-", "dir", "file"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->runs, 20000u);
  EXPECT_EQ(options->seed, 7u);
  EXPECT_EQ(options->max_len, 256u);
  EXPECT_EQ(options->artifact_prefix, "/tmp/x-");
  EXPECT_THAT(options->inputs, ElementsAre("dir", "file"));
}

TEST(ParseFuzzFlagsTest, Defaults) {
  absl::StatusOr<FuzzOptions> options = ParseFuzzFlags({});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->runs, 0u);
  EXPECT_EQ(options->seed, 1u);
  EXPECT_EQ(options->max_len, 4096u);
  EXPECT_TRUE(options->inputs.empty());
}

TEST(ParseFuzzFlagsTest, Errors) {
  absl::StatusOr<FuzzOptions> options = ParseFuzzFlags({"--runs=many"});
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(options.status().message(),
            "invalid value 'many' for --runs (expected --runs=N with N a non-negative integer)");
  EXPECT_THAT(ParseFuzzFlags({"--seed=-1"}).status().message(), HasSubstr("invalid value '-1'"));
  EXPECT_THAT(ParseFuzzFlags({"--max_len"}).status().message(),
              HasSubstr("invalid value '' for --max_len"));
  EXPECT_EQ(ParseFuzzFlags({"--max_total_time=5"}).status().message(),
            "unknown flag '--max_total_time=5' (known: --runs=N, --seed=S, --max_len=L, "
            "--artifact_prefix=P)");
}

TEST(LoadCorpusTest, ReadsFilesAndDirectoriesInSortedOrder) {
  const std::filesystem::path dir = TempDir("corpus");
  std::filesystem::create_directories(dir / "sub");
  WriteFile(dir / "b", "bee");
  WriteFile(dir / "a", std::string("a\0z", 3));
  WriteFile(dir / "sub" / "c", "");
  const std::filesystem::path single = TempDir("single") / "one";
  WriteFile(single, "1");

  absl::StatusOr<std::vector<FuzzInput>> corpus = LoadCorpus({dir.string(), single.string()});
  ASSERT_TRUE(corpus.ok()) << corpus.status();
  ASSERT_EQ(corpus->size(), 4u);
  EXPECT_EQ((*corpus)[0].path, (dir / "a").string());
  EXPECT_EQ((*corpus)[0].data, std::string("a\0z", 3));
  EXPECT_EQ((*corpus)[1].data, "bee");
  EXPECT_EQ((*corpus)[2].path, (dir / "sub" / "c").string());
  EXPECT_EQ((*corpus)[2].data, "");
  EXPECT_EQ((*corpus)[3].data, "1");
}

TEST(LoadCorpusTest, MissingPathIsNamed) {
  absl::StatusOr<std::vector<FuzzInput>> corpus = LoadCorpus({"/nonexistent/corpus"});
  EXPECT_EQ(corpus.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(corpus.status().message(),
            "cannot read fuzz input '/nonexistent/corpus': No such file or directory");
}

TEST(MutatorTest, SameSeedSameSequence) {
  const std::vector<std::string> corpus = {"ftp://user@host:21/path", "1m30s", "1.5GiB"};
  Mutator a(42, 64);
  Mutator b(42, 64);
  Mutator c(43, 64);
  int differs_from_c = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string x = a.Next(corpus);
    EXPECT_EQ(x, b.Next(corpus)) << "mutation " << i;
    if (x != c.Next(corpus)) ++differs_from_c;
  }
  EXPECT_GT(differs_from_c, 900);
}

TEST(MutatorTest, RespectsMaxLenAndVaries) {
  const std::vector<std::string> corpus = {std::string(100, 'x'), "short"};
  Mutator mutator(1, 16);
  std::set<std::string> distinct;
  for (int i = 0; i < 2000; ++i) {
    const std::string data = mutator.Next(corpus);
    ASSERT_LE(data.size(), 16u);
    distinct.insert(data);
  }
  EXPECT_GT(distinct.size(), 1000u);
}

TEST(MutatorTest, EmptyCorpusAndZeroMaxLen) {
  Mutator mutator(5, 8);
  std::set<std::string> distinct;
  for (int i = 0; i < 200; ++i) distinct.insert(mutator.Next({}));
  EXPECT_GT(distinct.size(), 50u);
  Mutator nothing(5, 0);
  EXPECT_EQ(nothing.Next({"abc"}), "");
}

std::vector<std::string>* g_seen = nullptr;

int Record(const uint8_t* data, size_t size) {
  g_seen->emplace_back(reinterpret_cast<const char*>(data), size);
  return 0;
}

TEST(RunFuzzerTest, ReplaysCorpusThenMutates) {
  std::vector<std::string> seen;
  g_seen = &seen;
  FuzzOptions options;
  options.runs = 300;
  options.seed = 3;
  options.max_len = 32;
  const std::vector<FuzzInput> corpus = {{"p1", "first"}, {"p2", std::string(40, 'y')}};
  const FuzzStats stats = RunFuzzer(options, corpus, Record);
  EXPECT_EQ(stats.replayed, 2u);
  EXPECT_EQ(stats.mutations, 300u);
  ASSERT_EQ(seen.size(), 302u);
  EXPECT_EQ(seen[0], "first");
  EXPECT_EQ(seen[1], std::string(40, 'y'));  // Corpus files are replayed whole.
  for (size_t i = 2; i < seen.size(); ++i) EXPECT_LE(seen[i].size(), 32u);

  // The same options give the same inputs again.
  std::vector<std::string> again;
  g_seen = &again;
  RunFuzzer(options, corpus, Record);
  EXPECT_EQ(again, seen);
  g_seen = nullptr;
}

int AbortOnBoom(const uint8_t* data, size_t size) {
  if (std::string_view(reinterpret_cast<const char*>(data), size).find("boom") !=
      std::string_view::npos) {
    std::abort();
  }
  return 0;
}

int AbortWhenLong(const uint8_t* /*data*/, size_t size) {
  if (size > 6) std::abort();
  return 0;
}

TEST(RunFuzzerDeathTest, ReportsAndSavesCrashingCorpusInput) {
  const std::filesystem::path dir = TempDir("crash_corpus");
  FuzzOptions options;
  options.artifact_prefix = (dir / "saved-").string();
  const std::vector<FuzzInput> corpus = {{"ok", "fine"}, {"seeds/bad", "ka\"boom\"\n"}};
  EXPECT_DEATH(RunFuzzer(options, corpus, AbortOnBoom),
               "fuzz_main: the target crashed on corpus file seeds/bad, 9 bytes: "
               "\"ka\\\\\"boom\\\\\"\\\\x0a\"");
  std::ifstream saved(dir / "saved-crash-input", std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(saved)), std::istreambuf_iterator<char>());
  EXPECT_EQ(data, "ka\"boom\"\n");
}

TEST(RunFuzzerDeathTest, ReportsCrashingMutation) {
  const std::filesystem::path dir = TempDir("crash_mutation");
  FuzzOptions options;
  options.runs = 1000;
  options.seed = 9;
  options.max_len = 64;
  options.artifact_prefix = (dir / "").string();
  EXPECT_DEATH(RunFuzzer(options, {{"seed", "abcdef"}}, AbortWhenLong),
               "fuzz_main: the target crashed on mutation [0-9]+ of --seed=9 --max_len=64, "
               "[0-9]+ bytes: .*\n.*input written to .*crash-input; replay it with: ");
}

}  // namespace
}  // namespace tpslab::testing
