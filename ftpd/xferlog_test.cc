#include "ftpd/xferlog.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace tpslab::ftpd {
namespace {

XferRecord Sample() {
  XferRecord r;
  r.end_time = 1700000000;  // Tue Nov 14 22:13:20 2023 UTC
  r.seconds = 2;
  r.remote_host = "127.0.0.1";
  r.bytes = 1024;
  r.path = "/alice/my file.bin";
  r.user = "alice";
  return r;
}

TEST(FormatXferLineTest, WritesTheClassicFields) {
  EXPECT_EQ(FormatXferLine(Sample()),
            "Tue Nov 14 22:13:20 2023 2 127.0.0.1 1024 /alice/my_file.bin b _ o r alice ftp 0 "
            "* c\n");
  XferRecord r = Sample();
  r.ascii = true;
  r.incoming = true;
  r.anonymous = true;
  r.complete = false;
  EXPECT_EQ(FormatXferLine(r),
            "Tue Nov 14 22:13:20 2023 2 127.0.0.1 1024 /alice/my_file.bin a _ i a alice ftp 0 "
            "* i\n");
}

TEST(XferlogTest, AppendsLines) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/xferlog";
  absl::StatusOr<std::unique_ptr<Xferlog>> log = Xferlog::Open(path);
  ASSERT_TRUE(log.ok()) << log.status();
  (*log)->Record(Sample());
  (*log)->Record(Sample());
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), FormatXferLine(Sample()) + FormatXferLine(Sample()));
}

TEST(XferlogTest, OpenFailureNamesTheFile) {
  absl::StatusOr<std::unique_ptr<Xferlog>> log = Xferlog::Open("/nonexistent/dir/xferlog");
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("cannot open xferlog /nonexistent/dir/xferlog"),
            std::string::npos);
}

}  // namespace
}  // namespace tpslab::ftpd
