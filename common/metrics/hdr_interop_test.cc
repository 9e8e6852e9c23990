// Interop with the reference HdrHistogram (Java, Debian's libhdrhistogram-java):
// the acceptance test for hdr_histogram, hdr_codec and hdr_log.
//
// One run of testdata/HdrInterop.java (see its header for the protocol):
//   (a) Java decodes histograms we encoded (compressed and uncompressed,
//       digits 1..5, several lowest/highest values and distributions) and
//       prints total, min, max, mean, stddev, percentiles and every bucket,
//       which must equal ours exactly; its uncompressed re-encoding must be
//       byte-identical to ours.
//   (b) Java records the same values and encodes them; we decode its bytes
//       and must get identical counts, and its uncompressed bytes must equal
//       ours.
//   (c) Java's HistogramLogReader reads an .hlog we wrote.
//   (d) We read an .hlog written by Java's HistogramLogWriter.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/metrics/hdr_codec.h"
#include "common/metrics/hdr_histogram.h"
#include "common/metrics/hdr_log.h"
#include "gtest/gtest.h"

extern char** environ;

namespace tpslab::metrics {
namespace {

constexpr char kJava[] = "/usr/bin/java";
constexpr char kJar[] = "/usr/share/java/hdrhistogram.jar";
constexpr int64_t kHour = 3'600'000'000;
constexpr double kLogStartSec = 1'700'000'000.5;
// Must match HdrInterop.PERCENTILES.
constexpr double kPercentiles[] = {0.0, 12.5, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0};
// What an EncodableHistogram reports before any timestamp is set.
constexpr int64_t kJavaNoStart = std::numeric_limits<int64_t>::max();
constexpr int64_t kJavaNoEnd = 0;

struct Case {
  std::string name;
  int64_t lowest;
  int64_t highest;
  int digits;
  // (value, count), every value in [0, highest].
  std::vector<std::pair<int64_t, int64_t>> values;
};

std::vector<std::pair<int64_t, int64_t>> Draw(const std::string& distribution, size_t n,
                                              int64_t scale, int64_t highest, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::map<int64_t, int64_t> counts;
  for (size_t i = 0; i < n; ++i) {
    double x = 0;
    if (distribution == "uniform") {
      x = std::uniform_real_distribution<double>(0, 1e6)(rng);
    } else if (distribution == "lognormal") {
      x = std::lognormal_distribution<double>(std::log(800.0), 1.5)(rng);
    } else if (distribution == "bimodal") {
      x = std::bernoulli_distribution(0.1)(rng)
              ? std::normal_distribution<double>(50'000, 5'000)(rng)
              : std::normal_distribution<double>(200, 20)(rng);
    } else {  // single
      x = 12'345;
    }
    x *= static_cast<double>(scale);
    const int64_t v =
        x >= static_cast<double>(highest) ? highest : std::max<int64_t>(0, std::llround(x));
    ++counts[v];
  }
  return {counts.begin(), counts.end()};
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  uint64_t seed = 100;
  for (int digits = 1; digits <= 5; ++digits) {
    for (const char* d : {"uniform", "lognormal", "bimodal", "single"}) {
      cases.push_back({std::string(d) + "_d" + std::to_string(digits), 1, kHour, digits,
                       Draw(d, 20'000, 1, kHour, ++seed)});
    }
  }
  cases.push_back(
      {"lowest1000", 1000, 10 * kHour, 3, Draw("lognormal", 20'000, 1000, 10 * kHour, ++seed)});
  cases.push_back({"lowest1024_d4", 1024, int64_t{1} << 40, 4,
                   Draw("bimodal", 20'000, 100, int64_t{1} << 40, ++seed)});
  cases.push_back({"lowest2p20_d2", int64_t{1} << 20, int64_t{1} << 45, 2,
                   Draw("uniform", 20'000, 1 << 20, int64_t{1} << 45, ++seed)});
  cases.push_back(
      {"int64_range", 1, std::numeric_limits<int64_t>::max(), 2,
       Draw("lognormal", 20'000, int64_t{1} << 30, std::numeric_limits<int64_t>::max(), ++seed)});
  cases.push_back({"huge_counts",
                   1,
                   kHour,
                   3,
                   {{0, 3}, {7, int64_t{1} << 40}, {123'456, (int64_t{1} << 62) + 12345}}});
  cases.push_back({"zeros_only", 1, kHour, 3, {{0, 1000}}});
  cases.push_back({"empty", 1, kHour, 3, {}});
  return cases;
}

HdrHistogram Build(const Case& c) {
  HdrHistogram h(c.lowest, c.highest, c.digits);
  for (const auto& [value, count] : c.values) h.Record(value, count);
  return h;
}

// Our side of HdrInterop.describe(): must print the same for equal histograms.
std::string Describe(const std::string& name, const HdrHistogram& h, const std::string& tag = "-",
                     int64_t start_ms = kJavaNoStart, int64_t end_ms = kJavaNoEnd) {
  std::ostringstream out;
  out << "HIST name=" << name << " tag=" << (tag.empty() ? "-" : tag) << " start_ms=" << start_ms
      << " end_ms=" << end_ms << " total=" << h.TotalCount()
      << " lowest=" << h.lowest_discernible_value() << " highest=" << h.highest_trackable_value()
      << " digits=" << h.significant_digits() << " min=" << h.Min() << " max=" << h.Max()
      << " mean_bits=" << std::bit_cast<int64_t>(h.Mean())
      << " stddev_bits=" << std::bit_cast<int64_t>(h.StdDev()) << " pct=";
  for (size_t i = 0; i < std::size(kPercentiles); ++i) {
    out << (i > 0 ? "," : "") << h.ValueAtPercentile(kPercentiles[i]);
  }
  out << " buckets=";
  bool first = true;
  for (const HdrBucket& b : h.RecordedBuckets()) {
    out << (first ? "" : ",") << b.highest_value << ":" << b.count;
    first = false;
  }
  return out.str();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Runs `argv`, stdout and stderr to `log_path`; returns the exit status, or
// -1 when it could not be started or died from a signal.
int RunProcess(const std::vector<std::string>& argv, const std::string& log_path,
               const std::vector<std::string>& env) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

class HdrInteropTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    const char* srcdir = std::getenv("TEST_SRCDIR");
    const char* workspace = std::getenv("TEST_WORKSPACE");
    ASSERT_TRUE(tmp != nullptr && srcdir != nullptr && workspace != nullptr)
        << "run under bazel test (TEST_TMPDIR, TEST_SRCDIR, TEST_WORKSPACE unset)";
    ASSERT_EQ(access(kJava, X_OK), 0)
        << kJava << " is missing: the interop test needs a JDK 17 (Debian: apt-get install "
        << "default-jdk-headless; ./bazelw installs it)";
    ASSERT_EQ(access(kJar, R_OK), 0)
        << kJar << " is missing: the interop test needs the reference HdrHistogram (Debian: "
        << "apt-get install libhdrhistogram-java; ./bazelw installs it)";
    const std::string dir = tmp;
    const std::string program =
        std::string(srcdir) + "/" + workspace + "/common/metrics/testdata/HdrInterop.java";
    our_log_path_ = new std::string(dir + "/ours.hlog");
    java_log_path_ = new std::string(dir + "/java.hlog");
    cases_ = new std::vector<Case>(Cases());

    std::ofstream commands(dir + "/commands.txt");
    for (const Case& c : *cases_) {
      const HdrHistogram h = Build(c);
      commands << "DECODE " << c.name << ".c " << Base64Encode(EncodeHdrCompressed(h)) << "\n";
      commands << "DECODE " << c.name << ".u " << Base64Encode(EncodeHdrUncompressed(h)) << "\n";
      commands << "ENCODE " << c.name << ".j " << c.lowest << " " << c.highest << " " << c.digits;
      for (const auto& [value, count] : c.values) {
        commands << " " << value;
        if (count != 1) commands << "*" << count;
      }
      commands << "\n";
    }
    {
      std::ofstream log(*our_log_path_);
      HdrLogWriter writer(log);
      ASSERT_TRUE(writer.WriteHeader(kLogStartSec).ok());
      for (size_t i = 0; i < LogCaseCount(); ++i) {
        const Case& c = (*cases_)[i];
        ASSERT_TRUE(writer
                        .WriteInterval(static_cast<double>(i), static_cast<double>(i) + 1.0,
                                       Build(c), i % 2 == 1 ? c.name : "")
                        .ok());
      }
    }
    commands << "READLOG " << *our_log_path_ << "\n";
    commands << "WRITELOG " << *java_log_path_ << " " << std::fixed << std::setprecision(3)
             << kLogStartSec;
    for (size_t i = 0; i < LogCaseCount(); ++i) commands << " " << (*cases_)[i].name << ".j";
    commands << "\n";
    commands.close();

    const std::string output_path = dir + "/java_output.txt";
    const std::string java_log = dir + "/java_stderr.txt";
    const int rc = RunProcess({kJava, "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xmx1g", "-cp", kJar,
                               program, dir + "/commands.txt", output_path},
                              java_log, {"PATH=/usr/bin:/bin", "HOME=" + dir, "LC_ALL=C"});
    ASSERT_EQ(rc, 0) << "java failed (exit " << rc << "):\n" << ReadFile(java_log);
    output_ = new std::map<std::string, std::string>();
    std::istringstream lines(ReadFile(output_path));
    for (std::string line; std::getline(lines, line);) {
      // Key: "<KIND> <name>"; HIST lines are keyed by their name= field.
      const size_t space = line.find(' ');
      const std::string kind = line.substr(0, space);
      if (kind == "HIST") {
        const size_t name_end = line.find(' ', space + 1);
        (*output_)["HIST " + line.substr(space + 6, name_end - space - 6)] = line;
      } else {
        const size_t name_end = line.find(' ', space + 1);
        (*output_)[line.substr(0, name_end)] = line.substr(name_end + 1);
      }
    }
  }

  static void TearDownTestSuite() {
    delete output_;
    delete cases_;
    delete our_log_path_;
    delete java_log_path_;
  }

  // The first cases go into the interval logs.
  static size_t LogCaseCount() { return 8; }

  static std::string Output(const std::string& key) {
    if (output_ == nullptr) return "<java did not run>";
    auto it = output_->find(key);
    return it == output_->end() ? "<no '" + key + "' in java output>" : it->second;
  }

  static std::vector<Case>* cases_;
  static std::map<std::string, std::string>* output_;
  static std::string* our_log_path_;
  static std::string* java_log_path_;
};

std::vector<Case>* HdrInteropTest::cases_ = nullptr;
std::map<std::string, std::string>* HdrInteropTest::output_ = nullptr;
std::string* HdrInteropTest::our_log_path_ = nullptr;
std::string* HdrInteropTest::java_log_path_ = nullptr;

TEST_F(HdrInteropTest, JavaDecodesWhatWeEncode) {
  ASSERT_NE(output_, nullptr);
  for (const Case& c : *cases_) {
    SCOPED_TRACE(c.name);
    const HdrHistogram h = Build(c);
    EXPECT_EQ(Output("HIST " + c.name + ".c"), Describe(c.name + ".c", h));
    EXPECT_EQ(Output("HIST " + c.name + ".u"), Describe(c.name + ".u", h));
    // Java's re-encoding of what it decoded is byte-identical to ours.
    EXPECT_EQ(Output("REENCODED " + c.name + ".u"), Base64Encode(EncodeHdrUncompressed(h)));
  }
}

TEST_F(HdrInteropTest, WeDecodeWhatJavaEncodes) {
  ASSERT_NE(output_, nullptr);
  int same_compressed_bytes = 0;
  for (const Case& c : *cases_) {
    SCOPED_TRACE(c.name);
    const HdrHistogram h = Build(c);
    // Java recorded the same values: same buckets, percentiles, moments.
    EXPECT_EQ(Output("HIST " + c.name + ".j"), Describe(c.name + ".j", h));

    absl::StatusOr<std::string> compressed = Base64Decode(Output("ENCODED " + c.name + ".j"));
    ASSERT_TRUE(compressed.ok()) << compressed.status();
    absl::StatusOr<HdrHistogram> decoded = DecodeHdr(*compressed);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, h);
    EXPECT_EQ(Describe("x", *decoded), Describe("x", h));
    ASSERT_EQ(decoded->counts_length(), h.counts_length());
    for (size_t i = 0; i < h.counts_length(); ++i) {
      ASSERT_EQ(decoded->CountAtIndex(i), h.CountAtIndex(i)) << "index " << i;
    }
    if (*compressed == EncodeHdrCompressed(h)) ++same_compressed_bytes;

    absl::StatusOr<std::string> raw = Base64Decode(Output("RAW " + c.name + ".j"));
    ASSERT_TRUE(raw.ok()) << raw.status();
    EXPECT_EQ(*raw, EncodeHdrUncompressed(h));
  }
  // Informational: equal only when both sides use the same zlib build.
  std::printf("java and we produced identical compressed bytes for %d of %zu histograms\n",
              same_compressed_bytes, cases_->size());
}

TEST_F(HdrInteropTest, JavaReadsOurIntervalLog) {
  ASSERT_NE(output_, nullptr);
  for (size_t i = 0; i < LogCaseCount(); ++i) {
    const Case& c = (*cases_)[i];
    SCOPED_TRACE(c.name);
    // HistogramLogReader: start = logged start + base time, in ms.
    const double start = static_cast<double>(i) + kLogStartSec;
    const double end = start + 1.0;
    EXPECT_EQ(Output("HIST log" + std::to_string(i)),
              Describe("log" + std::to_string(i), Build(c), i % 2 == 1 ? c.name : "-",
                       static_cast<int64_t>(start * 1000), static_cast<int64_t>(end * 1000)));
  }
}

TEST_F(HdrInteropTest, WeReadJavasIntervalLog) {
  ASSERT_NE(output_, nullptr);
  std::ifstream in(*java_log_path_);
  ASSERT_TRUE(in.good()) << "java did not write " << *java_log_path_;
  HdrLogReader reader(in);
  for (size_t i = 0; i < LogCaseCount(); ++i) {
    const Case& c = (*cases_)[i];
    SCOPED_TRACE(c.name);
    absl::StatusOr<std::optional<HdrLogInterval>> next = reader.Next();
    ASSERT_TRUE(next.ok()) << next.status();
    ASSERT_TRUE(next->has_value());
    const HdrLogInterval& interval = **next;
    const HdrHistogram h = Build(c);
    EXPECT_EQ(interval.tag, i % 2 == 1 ? c.name + ".j" : "");
    EXPECT_NEAR(interval.start_sec, kLogStartSec + static_cast<double>(i), 1e-6);
    EXPECT_NEAR(interval.length_sec, 1.0, 1e-9);
    EXPECT_NEAR(interval.max, static_cast<double>(h.Max()) / 1000.0, 1e-3);
    EXPECT_EQ(interval.histogram, h);
  }
  absl::StatusOr<std::optional<HdrLogInterval>> end = reader.Next();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_FALSE(end->has_value());
  EXPECT_NEAR(*reader.start_time_sec(), kLogStartSec, 1e-3);
  EXPECT_NEAR(*reader.base_time_sec(), kLogStartSec, 1e-3);
}

}  // namespace
}  // namespace tpslab::metrics
