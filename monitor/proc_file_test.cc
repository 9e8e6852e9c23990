#include "monitor/proc_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace tpslab::monitor {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::trunc) << contents;
}

TEST(ProcFileTest, ReadsProcFilesRepeatedly) {
  ProcFile file("/proc/self/stat", 16);  // grows past 16 bytes
  absl::StatusOr<std::string_view> first = file.Read();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->substr(0, std::to_string(getpid()).size()), std::to_string(getpid()));
  absl::StatusOr<std::string_view> second = file.Read();
  ASSERT_TRUE(second.ok());
  EXPECT_GT(second->size(), 16u);
}

TEST(ProcFileTest, SeesNewContentsOfTheSameFile) {
  std::string path = TempPath("proc_file_contents");
  WriteFile(path, "one\n");
  ProcFile file(path);
  EXPECT_EQ(*file.Read(), "one\n");
  WriteFile(path, "three\n");  // truncates and rewrites the same inode
  EXPECT_EQ(*file.Read(), "three\n");
}

TEST(ProcFileTest, MissingFileIsNotFoundAndNamesThePath) {
  ProcFile file("/proc/no/such/file");
  absl::StatusOr<std::string_view> text = file.Read();
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(text.status().message()),
              HasSubstr("cannot open /proc/no/such/file: No such file"));
  EXPECT_EQ(ReadFileOnce("/proc/no/such").status().code(), absl::StatusCode::kNotFound);
}

TEST(ProcFileTest, ExitedProcessIsNotFound) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  ProcFile file("/proc/" + std::to_string(child) + "/stat");
  ASSERT_TRUE(file.Read().ok());
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  absl::StatusOr<std::string_view> text = file.Read();
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound) << text.status();
}

}  // namespace
}  // namespace tpslab::monitor
