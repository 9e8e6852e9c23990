#include "loadgen/ftp_client.h"

#include <gtest/gtest.h>

namespace tpslab::loadgen {
namespace {

TEST(FtpClientTest, ParsesEpsvReply) {
  EXPECT_EQ(ParseEpsvPort("Entering Extended Passive Mode (|||40001|)"), 40001);
  EXPECT_EQ(ParseEpsvPort("229 Entering Extended Passive Mode (|||65535|)."), 65535);
  EXPECT_FALSE(ParseEpsvPort("229 Entering Extended Passive Mode").has_value());
  EXPECT_FALSE(ParseEpsvPort("229 (|||0|)").has_value());
  EXPECT_FALSE(ParseEpsvPort("229 (|||70000|)").has_value());
  EXPECT_FALSE(ParseEpsvPort("229 (||||)").has_value());
  EXPECT_FALSE(ParseEpsvPort("229 (|||12a|)").has_value());
}

TEST(FtpClientTest, ParsesPasvReply) {
  EXPECT_EQ(ParsePasvPort("227 Entering Passive Mode (127,0,0,1,156,65)."), 156 * 256 + 65);
  EXPECT_EQ(ParsePasvPort("227 Entering Passive Mode 127,0,0,1,4,1"), 1025);
  EXPECT_FALSE(ParsePasvPort("227 Entering Passive Mode (127,0,0,1,156)").has_value());
  EXPECT_FALSE(ParsePasvPort("227 (127,0,0,1,256,1)").has_value());
  EXPECT_FALSE(ParsePasvPort("227 (127,0,0,1,0,0)").has_value());
  EXPECT_FALSE(ParsePasvPort("227 nothing").has_value());
}

}  // namespace
}  // namespace tpslab::loadgen
