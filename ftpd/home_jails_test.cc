#include "ftpd/home_jails.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "ftpd/path_jail.h"

namespace tpslab::ftpd {
namespace {

namespace fs = std::filesystem;

class HomeJailsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    ASSERT_NE(tmp, nullptr);
    root_ = fs::path(tmp) / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(root_);
    fs::create_directories(root_ / "alice");
    fs::create_directories(root_ / "bob");
    absl::StatusOr<PathJail> jail = PathJail::Open(root_.string());
    ASSERT_TRUE(jail.ok()) << jail.status();
    root_jail_ = std::make_unique<PathJail>(std::move(*jail));
    homes_ = std::make_unique<HomeJails>(*root_jail_);
  }

  static void Write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

  std::shared_ptr<const PathJail> MustOpen(const std::string& home) {
    absl::StatusOr<std::shared_ptr<const PathJail>> jail = homes_->Open(home);
    EXPECT_TRUE(jail.ok()) << jail.status();
    return jail.ok() ? *jail : nullptr;
  }

  fs::path root_;
  std::unique_ptr<PathJail> root_jail_;
  std::unique_ptr<HomeJails> homes_;
};

TEST_F(HomeJailsTest, SessionsOfOneHomeShareOneJail) {
  std::shared_ptr<const PathJail> a1 = MustOpen("/alice");
  std::shared_ptr<const PathJail> a2 = MustOpen("/alice");
  std::shared_ptr<const PathJail> b = MustOpen("/bob");
  ASSERT_TRUE(a1 && a2 && b);
  EXPECT_EQ(a1, a2);
  EXPECT_EQ(a1->root_fd(), a2->root_fd());
  EXPECT_NE(a1, b);
  EXPECT_EQ(homes_->open_homes(), 2u);

  // The jail is rooted at the home: "/" is alice's directory.
  Write(root_ / "alice" / "note.txt", "alice's");
  absl::StatusOr<struct stat> note = a2->Stat("/note.txt");
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(note->st_size, 7);

  a1.reset();
  a2.reset();
  EXPECT_EQ(homes_->open_homes(), 1u);
  b.reset();
  EXPECT_EQ(homes_->open_homes(), 0u);
}

TEST_F(HomeJailsTest, AHomeReplacedOnDiskIsOpenedAfresh) {
  std::shared_ptr<const PathJail> old_home = MustOpen("/alice");
  ASSERT_TRUE(old_home);
  fs::rename(root_ / "alice", root_ / "alice.old");
  fs::create_directories(root_ / "alice");
  Write(root_ / "alice" / "new.txt", "new");

  std::shared_ptr<const PathJail> new_home = MustOpen("/alice");
  ASSERT_TRUE(new_home);
  EXPECT_NE(new_home, old_home);
  EXPECT_TRUE(new_home->Stat("/new.txt").ok());
  // The session that logged in before keeps the directory it started in.
  EXPECT_FALSE(old_home->Stat("/new.txt").ok());
  // Later logins share the new one.
  EXPECT_EQ(MustOpen("/alice"), new_home);
}

TEST_F(HomeJailsTest, ErrorsOfOpeningAreReturned) {
  absl::StatusOr<std::shared_ptr<const PathJail>> missing = homes_->Open("/carol");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  EXPECT_EQ(homes_->open_homes(), 0u);
}

TEST_F(HomeJailsTest, ManyHomesComeAndGoWithoutGrowingWithoutBound) {
  for (int i = 0; i < 500; ++i) {
    const std::string home = "/u" + std::to_string(i);
    fs::create_directories(root_ / home.substr(1));
    ASSERT_TRUE(MustOpen(home));  // Released at once.
  }
  EXPECT_EQ(homes_->open_homes(), 0u);
}

}  // namespace
}  // namespace tpslab::ftpd
