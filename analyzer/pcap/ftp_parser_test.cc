#include "analyzer/pcap/ftp_parser.h"

#include <gtest/gtest.h>

namespace tpslab::analyzer::pcap {
namespace {

TEST(FtpParser, SplitsCommands) {
  FtpCommand command = ParseCommand("retr my file.bin");
  EXPECT_EQ(command.verb, "RETR");
  EXPECT_EQ(command.arg, "my file.bin");
  command = ParseCommand("PASV");
  EXPECT_EQ(command.verb, "PASV");
  EXPECT_EQ(command.arg, "");
  EXPECT_TRUE(LooksLikeCommand("USER anonymous"));
  EXPECT_TRUE(LooksLikeCommand("feat"));
  EXPECT_FALSE(LooksLikeCommand("SSH-2.0-OpenSSH"));
  EXPECT_FALSE(LooksLikeCommand("220 hello"));
  EXPECT_FALSE(LooksLikeCommand("RETRIEVE x"));
}

TEST(FtpParser, ParsesReplyLines) {
  std::optional<FtpReplyLine> reply = ParseReplyLine("214-The following commands");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->code, 214);
  EXPECT_FALSE(reply->final);
  EXPECT_EQ(reply->text, "The following commands");
  reply = ParseReplyLine("226");
  ASSERT_TRUE(reply.has_value());
  EXPECT_TRUE(reply->final);
  EXPECT_EQ(reply->text, "");
  EXPECT_FALSE(ParseReplyLine(" CHMOD").has_value());
  EXPECT_FALSE(ParseReplyLine("2x0 nope").has_value());
}

TEST(FtpParser, ParsesDataEndpoints) {
  std::optional<Endpoint> pasv = ParsePasvReply("Entering Passive Mode (192,0,2,10,232,121).");
  ASSERT_TRUE(pasv.has_value());
  EXPECT_EQ(pasv->ToString(), "192.0.2.10:59513");
  EXPECT_FALSE(ParsePasvReply("Entering Passive Mode (192,0,2,300,1,1)").has_value());
  EXPECT_EQ(ParsePasvReply("=127,0,0,1,4,0")->port, 1024);

  EXPECT_EQ(ParseEpsvReply("Entering extended passive mode (|||6446|)"), 6446);
  EXPECT_EQ(ParseEpsvReply("ok (!!!21!)"), 21);
  EXPECT_FALSE(ParseEpsvReply("(|||0|)").has_value());
  EXPECT_FALSE(ParseEpsvReply("(|||99999|)").has_value());
  EXPECT_FALSE(ParseEpsvReply("no parens").has_value());

  EXPECT_EQ(ParsePortArg("127,0,0,1,154,169")->ToString(), "127.0.0.1:39593");
  EXPECT_FALSE(ParsePortArg("127,0,0,1,154").has_value());

  EXPECT_EQ(ParseEprtArg("|1|198.51.100.7|6446|")->ToString(), "198.51.100.7:6446");
  EXPECT_EQ(ParseEprtArg("|2|2001:db8::1|5282|")->ToString(), "[2001:db8::1]:5282");
  EXPECT_FALSE(ParseEprtArg("|3|x|1|").has_value());
  EXPECT_FALSE(ParseEprtArg("|1|not-an-ip|1|").has_value());
}

TEST(FtpParser, ExtractsFrameFieldsLikeTshark) {
  FtpFrameFields request = ExtractFrameFields("STOR  two spaces\r\nNOOP\r\n", true);
  EXPECT_EQ(request.command, "STOR");
  EXPECT_EQ(request.request_arg, "two spaces");
  request = ExtractFrameFields("QUIT\r\n", true);
  EXPECT_EQ(request.command, "QUIT");
  EXPECT_FALSE(request.request_arg.has_value());

  FtpFrameFields response = ExtractFrameFields("214-Help\r\n CHMOD\r\n214 Done\r\n", false);
  EXPECT_EQ(response.response_code, 214);
  EXPECT_EQ(response.response_arg, "Help");
  response = ExtractFrameFields(" CHMOD\r\n", false);
  EXPECT_FALSE(response.response_code.has_value());
  EXPECT_EQ(response.response_arg, " CHMOD");
  response = ExtractFrameFields("226\r\n", false);
  EXPECT_EQ(response.response_code, 226);
  EXPECT_FALSE(response.response_arg.has_value());
  response = ExtractFrameFields("150 partial line cut by the snap len", false);
  EXPECT_EQ(response.response_arg, "partial line cut by the snap len");
}

}  // namespace
}  // namespace tpslab::analyzer::pcap
