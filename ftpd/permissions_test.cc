#include "ftpd/permissions.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tpslab::ftpd {
namespace {

using ::testing::HasSubstr;

TEST(PermissionsTest, ParseAndFormat) {
  EXPECT_EQ(Permissions::Parse("read")->ToString(), "read");
  EXPECT_EQ(Permissions::Parse("rename, read ,mkdir")->ToString(), "read,mkdir,rename");
  EXPECT_EQ(*Permissions::Parse("all"), Permissions::All());
  EXPECT_EQ(Permissions::All().ToString(), "read,write,delete,mkdir,rename");
  EXPECT_TRUE(Permissions::Parse("")->empty());
  EXPECT_TRUE(Permissions::Parse("none")->empty());
  EXPECT_EQ(Permissions().ToString(), "none");
  absl::StatusOr<Permissions> bad = Permissions::Parse("read,exec");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown permission \"exec\""));
  EXPECT_FALSE(Permissions::Parse("rw").ok());
}

TEST(PermissionsTest, SetOperations) {
  Permissions p;
  EXPECT_TRUE(p.empty());
  p = p.With(Permission::kDelete);
  EXPECT_TRUE(p.Has(Permission::kDelete));
  EXPECT_FALSE(p.Has(Permission::kRead));
  EXPECT_FALSE(p.empty());
  EXPECT_TRUE(Permissions::ReadOnly().Has(Permission::kRead));
  EXPECT_FALSE(Permissions::ReadOnly().Has(Permission::kWrite));
  for (Permission each : {Permission::kRead, Permission::kWrite, Permission::kDelete,
                          Permission::kMkdir, Permission::kRename}) {
    EXPECT_TRUE(Permissions::All().Has(each));
  }
}

}  // namespace
}  // namespace tpslab::ftpd
