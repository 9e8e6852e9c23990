#include "ftpd/command.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tpslab::ftpd {
namespace {

using ::testing::HasSubstr;

Command Parse(std::string_view line) {
  static std::string scratch;
  absl::StatusOr<Command> command = ParseCommand(line, &scratch);
  EXPECT_TRUE(command.ok()) << command.status();
  return command.ok() ? *command : Command{};
}

TEST(LookupVerbTest, EveryVerbRoundTripsThroughItsName) {
  int count = 0;
  for (int v = 1; v <= static_cast<int>(Verb::kLang); ++v) {
    const Verb verb = static_cast<Verb>(v);
    ASSERT_FALSE(VerbName(verb).empty()) << v;
    EXPECT_EQ(LookupVerb(VerbName(verb)), verb) << VerbName(verb);
    ++count;
  }
  EXPECT_EQ(count, 47);
}

TEST(LookupVerbTest, CaseInsensitive) {
  EXPECT_EQ(LookupVerb("user"), Verb::kUser);
  EXPECT_EQ(LookupVerb("UsEr"), Verb::kUser);
  EXPECT_EQ(LookupVerb("mlsd"), Verb::kMlsd);
  EXPECT_EQ(LookupVerb("ccc"), Verb::kCcc);
}

TEST(LookupVerbTest, XAliasesMapToTheirVerbs) {
  EXPECT_EQ(LookupVerb("XCWD"), Verb::kCwd);
  EXPECT_EQ(LookupVerb("XCUP"), Verb::kCdup);
  EXPECT_EQ(LookupVerb("XPWD"), Verb::kPwd);
  EXPECT_EQ(LookupVerb("xmkd"), Verb::kMkd);
  EXPECT_EQ(LookupVerb("XRMD"), Verb::kRmd);
}

TEST(LookupVerbTest, UnknownVerbs) {
  EXPECT_EQ(LookupVerb("GET"), Verb::kUnknown);
  EXPECT_EQ(LookupVerb("US"), Verb::kUnknown);
  EXPECT_EQ(LookupVerb("USERS"), Verb::kUnknown);
  EXPECT_EQ(LookupVerb("US3R"), Verb::kUnknown);
  EXPECT_EQ(LookupVerb(""), Verb::kUnknown);
  // Non-ASCII bytes never match (no locale-dependent case folding).
  EXPECT_EQ(LookupVerb("\xC3\xBCSER"), Verb::kUnknown);
}

TEST(ParseCommandTest, VerbWithoutArgument) {
  const Command c = Parse("NOOP");
  EXPECT_EQ(c.verb, Verb::kNoop);
  EXPECT_EQ(c.raw_verb, "NOOP");
  EXPECT_EQ(c.argument, "");
}

TEST(ParseCommandTest, KeepsRawVerbCase) {
  const Command c = Parse("xMkd dir");
  EXPECT_EQ(c.verb, Verb::kMkd);
  EXPECT_EQ(c.raw_verb, "xMkd");
  EXPECT_EQ(c.argument, "dir");
}

TEST(ParseCommandTest, ArgumentVerbatimWithSpaces) {
  EXPECT_EQ(Parse("STOR my file.txt").argument, "my file.txt");
  // Only the single separator is removed; leading and trailing spaces stay.
  EXPECT_EQ(Parse("CWD  two leading").argument, " two leading");
  EXPECT_EQ(Parse("RETR trailing  ").argument, "trailing  ");
  EXPECT_EQ(Parse("NOOP ").argument, "");
}

TEST(ParseCommandTest, UnknownVerbKept) {
  const Command c = Parse("HTTP/1.1 200");
  EXPECT_EQ(c.verb, Verb::kUnknown);
  EXPECT_EQ(c.raw_verb, "HTTP/1.1");
  EXPECT_EQ(c.argument, "200");
}

TEST(ParseCommandTest, NoCopyWithoutTelnetBytes) {
  const std::string line = "RETR file";
  std::string scratch;
  absl::StatusOr<Command> c = ParseCommand(line, &scratch);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->argument.data(), line.data() + 5);
  EXPECT_TRUE(scratch.empty());
}

TEST(ParseCommandTest, StripsSynchBeforeAbor) {
  // IAC IP IAC DM ABOR, as clients send before aborting a transfer.
  EXPECT_EQ(Parse("\xFF\xF4\xFF\xF2"
                  "ABOR")
                .verb,
            Verb::kAbor);
  // The same with the urgent DM byte already consumed by the kernel.
  const Command c = Parse(
      "\xFF\xF4\xFF"
      "ABOR");
  EXPECT_EQ(c.verb, Verb::kAbor);
  EXPECT_EQ(c.raw_verb, "ABOR");
}

TEST(ParseCommandTest, TelnetNegotiationAndSubnegotiationStripped) {
  // IAC WILL 0 carries a NUL option byte that must not trip the NUL check.
  EXPECT_EQ(Parse(std::string("\xFF\xFB\x00"
                              "NOOP",
                              7))
                .verb,
            Verb::kNoop);
}

TEST(ParseCommandTest, TelnetSequencesInsideArgument) {
  std::string line = "CWD a";
  line += "\xFF\xFA\x18\x01\xFF\xF0";  // IAC SB TERMINAL-TYPE SEND IAC SE
  line += "b";
  line += "\xFF\xFF";  // escaped 0xFF data byte
  line += "c";
  line += "\xFF\xF1";  // IAC NOP
  line += "\xFF";      // lone IAC at the end
  const Command c = Parse(line);
  EXPECT_EQ(c.verb, Verb::kCwd);
  EXPECT_EQ(c.argument,
            "ab\xFF"
            "c");
}

TEST(ParseCommandTest, RejectsNul) {
  std::string scratch;
  const std::string line("RETR a\0b", 8);
  absl::StatusOr<Command> c = ParseCommand(line, &scratch);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("NUL byte in command line at offset 6"));
  EXPECT_EQ(ReplyCodeFor(c.status()), 501);
}

TEST(ParseCommandTest, RejectsEmptyAndLeadingSpace) {
  std::string scratch;
  EXPECT_THAT(ParseCommand("", &scratch).status().message(), HasSubstr("empty command line"));
  EXPECT_THAT(ParseCommand("\xFF\xF1", &scratch).status().message(),
              HasSubstr("empty command line"));
  EXPECT_THAT(ParseCommand(" USER x", &scratch).status().message(),
              HasSubstr("starts with a space"));
}

TEST(PortTest, Valid) {
  absl::StatusOr<HostPort> hp = ParsePortArgument("192,168,1,20,4,1");
  ASSERT_TRUE(hp.ok()) << hp.status();
  EXPECT_EQ(hp->family, HostPort::Family::kIpv4);
  EXPECT_EQ(hp->address[0], 192);
  EXPECT_EQ(hp->address[3], 20);
  EXPECT_EQ(hp->port, 1025);
  EXPECT_EQ(hp->ToString(), "192.168.1.20:1025");
}

TEST(PortTest, Invalid) {
  for (const char* arg :
       {"", "1,2,3,4,5", "1,2,3,4,5,6,7", "256,0,0,1,4,1", "1,2,3,4,5,", "1, 2,3,4,5,6",
        "1,2,3,4,5,-6", "0001,2,3,4,5,6", "a,b,c,d,e,f", "1,2,3,4,5,6 "}) {
    absl::StatusOr<HostPort> hp = ParsePortArgument(arg);
    ASSERT_FALSE(hp.ok()) << arg;
    EXPECT_EQ(hp.status().code(), absl::StatusCode::kInvalidArgument) << arg;
    EXPECT_THAT(hp.status().message(), HasSubstr("PORT")) << arg;
  }
}

TEST(EprtTest, Ipv4AndIpv6) {
  absl::StatusOr<HostPort> v4 = ParseEprtArgument("|1|132.235.1.2|6275|");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->ToString(), "132.235.1.2:6275");
  absl::StatusOr<HostPort> v6 = ParseEprtArgument("|2|1080::8:800:200C:417A|5282|");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->family, HostPort::Family::kIpv6);
  EXPECT_EQ(v6->ToString(), "[1080::8:800:200c:417a]:5282");
  EXPECT_EQ(v6->port, 5282);
}

TEST(EprtTest, AnyDelimiter) {
  absl::StatusOr<HostPort> hp = ParseEprtArgument("!1!10.0.0.1!21!");
  ASSERT_TRUE(hp.ok()) << hp.status();
  EXPECT_EQ(hp->ToString(), "10.0.0.1:21");
  EXPECT_TRUE(ParseEprtArgument("#2#::1#2000#").ok());
}

TEST(EprtTest, UnsupportedProtocolIs522Material) {
  absl::StatusOr<HostPort> hp = ParseEprtArgument("|3|1.2.3.4|21|");
  ASSERT_FALSE(hp.ok());
  EXPECT_EQ(hp.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(hp.status().message(), HasSubstr("use (1,2)"));
}

TEST(EprtTest, Invalid) {
  struct Case {
    const char* arg;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"", "needs an argument"},
           {"|1|1.2.3.4|21", "end with its delimiter"},
           {"|1|1.2.3.4|21|x|", "exactly three"},
           {"|1|1.2.3.4|", "exactly three"},
           {"1|1|1.2.3.4|21|1", "delimiter not allowed"},
           {".1.1.2.3.4.21.", "delimiter not allowed"},
           {"\x7F"
            "1\x7F"
            "1.2.3.4\x7F"
            "21\x7F",
            "delimiter not allowed"},
           {"|x|1.2.3.4|21|", "protocol is not a number"},
           {"|1|::1|21|", "not IPv4"},
           {"|2|1.2.3.4|21|", "not IPv6"},
           {"|2|fe80::1%eth0|21|", "not IPv6"},
           {"|1||21|", "bad length"},
           {"|1|1.2.3.4|0|", "port is not a number"},
           {"|1|1.2.3.4|65536|", "port is not a number"},
           {"|1|1.2.3.4||", "port is not a number"},
       }) {
    absl::StatusOr<HostPort> hp = ParseEprtArgument(c.arg);
    ASSERT_FALSE(hp.ok()) << c.arg;
    EXPECT_EQ(hp.status().code(), absl::StatusCode::kInvalidArgument) << c.arg;
    EXPECT_THAT(hp.status().message(), HasSubstr(c.message)) << c.arg;
  }
}

TEST(EpsvTest, Arguments) {
  EXPECT_EQ(*ParseEpsvArgument(""), EpsvArgument::kAny);
  EXPECT_EQ(*ParseEpsvArgument("1"), EpsvArgument::kIpv4);
  EXPECT_EQ(*ParseEpsvArgument("2"), EpsvArgument::kIpv6);
  EXPECT_EQ(*ParseEpsvArgument("all"), EpsvArgument::kAll);
  EXPECT_EQ(ParseEpsvArgument("3").status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(ParseEpsvArgument("x").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TypeTest, Supported) {
  EXPECT_EQ(*ParseTypeArgument("A"), TransferType::kAscii);
  EXPECT_EQ(*ParseTypeArgument("a"), TransferType::kAscii);
  EXPECT_EQ(*ParseTypeArgument("A N"), TransferType::kAscii);
  EXPECT_EQ(*ParseTypeArgument("I"), TransferType::kImage);
  EXPECT_EQ(*ParseTypeArgument("i"), TransferType::kImage);
  EXPECT_EQ(*ParseTypeArgument("L 8"), TransferType::kImage);
}

TEST(TypeTest, UnsupportedIs504) {
  for (const char* arg : {"E", "A T", "A C", "L 7", "E N"}) {
    absl::StatusOr<TransferType> t = ParseTypeArgument(arg);
    ASSERT_FALSE(t.ok()) << arg;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kUnimplemented) << arg;
    EXPECT_EQ(ReplyCodeFor(t.status()), 504);
  }
}

TEST(TypeTest, SyntaxErrorIs501) {
  for (const char* arg : {"", "X", "I N", "A X", "AN", "A ", "L", "L 0", "L x", "A NN"}) {
    absl::StatusOr<TransferType> t = ParseTypeArgument(arg);
    ASSERT_FALSE(t.ok()) << arg;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << arg;
    EXPECT_EQ(ReplyCodeFor(t.status()), 501);
  }
}

TEST(ModeStruTest, OnlyStreamAndFile) {
  EXPECT_TRUE(ParseModeArgument("S").ok());
  EXPECT_TRUE(ParseModeArgument("s").ok());
  EXPECT_EQ(ParseModeArgument("B").code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(ParseModeArgument("X").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseModeArgument("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParseStruArgument("F").ok());
  EXPECT_EQ(ParseStruArgument("R").code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(ParseStruArgument("FF").code(), absl::StatusCode::kInvalidArgument);
}

TEST(TimeValTest, Parses) {
  EXPECT_EQ(*ParseTimeVal("19700101000000"), (FileTime{0, 0}));
  EXPECT_EQ(*ParseTimeVal("20240229123456"), (FileTime{1709210096, 0}));
  EXPECT_EQ(*ParseTimeVal("20240229123456.5"), (FileTime{1709210096, 500000000}));
  EXPECT_EQ(*ParseTimeVal("20240229123456.123456789"), (FileTime{1709210096, 123456789}));
  EXPECT_EQ(*ParseTimeVal("19691231235959"), (FileTime{-1, 0}));
  EXPECT_EQ(*ParseTimeVal("20161231235960"), (FileTime{1483228800, 0}));  // leap second
  EXPECT_EQ(*ParseTimeVal("99991231235959"), (FileTime{253402300799, 0}));
}

TEST(TimeValTest, RejectsBadDates) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"2024022912345", "YYYYMMDDHHMMSS"},
           {"202402291234567", "YYYYMMDDHHMMSS"},
           {"2024022912345x", "YYYYMMDDHHMMSS"},
           {"20240001000000", "month out of range"},
           {"20241301000000", "month out of range"},
           {"20230229000000", "day out of range"},
           {"21000229000000", "day out of range"},
           {"20240431000000", "day out of range"},
           {"20240100000000", "day out of range"},
           {"20240101240000", "time of day"},
           {"20240101006000", "time of day"},
           {"20240101000061", "time of day"},
           {"20240101000000.", "fraction"},
           {"20240101000000.1234567890", "fraction"},
           {"20240101000000.1a", "fraction"},
       }) {
    absl::StatusOr<FileTime> t = ParseTimeVal(c.text);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr(c.message)) << c.text;
  }
}

TEST(MfmtTest, TimeAndVerbatimPath) {
  absl::StatusOr<MfmtArgument> m = ParseMfmtArgument("20200102030405 dir/my file ");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->time, (FileTime{1577934245, 0}));
  EXPECT_EQ(m->path, "dir/my file ");
}

TEST(MfmtTest, Invalid) {
  EXPECT_THAT(ParseMfmtArgument("20200102030405").status().message(),
              HasSubstr("needs a time and a path"));
  EXPECT_THAT(ParseMfmtArgument("20200102030405 ").status().message(),
              HasSubstr("needs a time and a path"));
  EXPECT_THAT(ParseMfmtArgument("2020 file").status().message(), HasSubstr("YYYYMMDDHHMMSS"));
}

TEST(RestTest, Offsets) {
  EXPECT_EQ(*ParseRestArgument("0"), 0);
  EXPECT_EQ(*ParseRestArgument("1048576"), 1048576);
  EXPECT_EQ(*ParseRestArgument("9223372036854775807"), INT64_MAX);
  for (const char* arg :
       {"", "-1", "+1", " 1", "1 ", "9223372036854775808", "99999999999999999999", "1e3"}) {
    absl::StatusOr<int64_t> r = ParseRestArgument(arg);
    ASSERT_FALSE(r.ok()) << arg;
    EXPECT_THAT(r.status().message(), HasSubstr("REST needs a byte offset")) << arg;
  }
}

TEST(AlloTest, Forms) {
  EXPECT_EQ(*ParseAlloArgument("1024"), 1024u);
  EXPECT_EQ(*ParseAlloArgument("1024 R 80"), 1024u);
  EXPECT_EQ(ParseAlloArgument("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAlloArgument("10 X 5").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAlloArgument("10 R").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(OptsTest, Utf8) {
  absl::StatusOr<OptsArgument> o = ParseOptsArgument("UTF8 ON");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->kind, OptsArgument::Kind::kUtf8);
  EXPECT_TRUE(o->utf8_on);
  EXPECT_FALSE(ParseOptsArgument("utf8 off")->utf8_on);
  EXPECT_TRUE(ParseOptsArgument("UTF8")->utf8_on);
  EXPECT_TRUE(ParseOptsArgument("UTF-8 ON")->utf8_on);
  EXPECT_THAT(ParseOptsArgument("UTF8 MAYBE").status().message(), HasSubstr("ON or OFF"));
}

TEST(OptsTest, MlstFacts) {
  absl::StatusOr<OptsArgument> o = ParseOptsArgument("MLST type;Size;bogus;modify;");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->kind, OptsArgument::Kind::kMlst);
  std::string list;
  AppendMlstFactList(o->facts, &list);
  EXPECT_EQ(list, "type;size;modify;");

  o = ParseOptsArgument("MLST");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->facts, MlstFacts());

  o = ParseOptsArgument("mlst unix.mode;perm");
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->facts.Has(MlstFact::kUnixMode));
  EXPECT_TRUE(o->facts.Has(MlstFact::kPerm));
  EXPECT_FALSE(o->facts.Has(MlstFact::kType));
}

TEST(OptsTest, UnknownOption) {
  absl::StatusOr<OptsArgument> o = ParseOptsArgument("MODE Z");
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(o.status().message(), HasSubstr("unknown OPTS command"));
}

TEST(MlstFactsTest, FeatureLine) {
  std::string line;
  AppendMlstFeature(MlstFacts::Default(), &line);
  EXPECT_EQ(line, "MLST type*;size*;modify*;perm*;unique*;UNIX.mode;");
}

TEST(ProtPbszAuthTest, Arguments) {
  EXPECT_EQ(*ParseProtArgument("C"), ProtectionLevel::kClear);
  EXPECT_EQ(*ParseProtArgument("p"), ProtectionLevel::kPrivate);
  EXPECT_EQ(ParseProtArgument("S").status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(ParseProtArgument("E").status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(ParseProtArgument("X").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseProtArgument("").status().code(), absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(*ParsePbszArgument("0"), 0u);
  EXPECT_EQ(*ParsePbszArgument("4294967295"), 4294967295u);
  EXPECT_EQ(ParsePbszArgument("4294967296").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePbszArgument("").status().code(), absl::StatusCode::kInvalidArgument);

  EXPECT_TRUE(ParseAuthArgument("TLS").ok());
  EXPECT_TRUE(ParseAuthArgument("tls-c").ok());
  EXPECT_EQ(ParseAuthArgument("SSL").code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(ParseAuthArgument("").code(), absl::StatusCode::kUnimplemented);
}

TEST(ListArgumentTest, OptionsAndPath) {
  ListArgument a = ParseListArgument("");
  EXPECT_FALSE(a.all);
  EXPECT_EQ(a.path, "");
  a = ParseListArgument("-la");
  EXPECT_TRUE(a.all);
  EXPECT_EQ(a.path, "");
  a = ParseListArgument("-l my dir");
  EXPECT_FALSE(a.all);
  EXPECT_EQ(a.path, "my dir");
  a = ParseListArgument("-l -a  sub");
  EXPECT_TRUE(a.all);
  EXPECT_EQ(a.path, "sub");
  a = ParseListArgument("./-odd *.txt");
  EXPECT_FALSE(a.all);
  EXPECT_EQ(a.path, "./-odd *.txt");  // no glob expansion
}

TEST(ReplyTest, SingleLine) {
  std::string out;
  AppendReply(220, "tpslab ftpd ready", &out);
  AppendReply(331, "", &out);
  EXPECT_EQ(out, "220 tpslab ftpd ready\r\n331 \r\n");
}

TEST(ReplyTest, ControlCharactersCannotInjectLines) {
  std::string out;
  AppendReply(550, std::string("a\r\n230 b\0c", 10), &out);
  EXPECT_EQ(out, "550 a  230 b c\r\n");
}

TEST(ReplyTest, PathReplyDoublesQuotes) {
  std::string out;
  AppendPathReply(257, "/say \"hi\"", "created", &out);
  EXPECT_EQ(out, "257 \"/say \"\"hi\"\"\" created\r\n");
  out.clear();
  AppendPathReply(257, "/", "", &out);
  EXPECT_EQ(out, "257 \"/\"\r\n");
  out.clear();
  AppendPathReply(257, "/a\nb", "is cwd", &out);
  EXPECT_EQ(out, "257 \"/a b\" is cwd\r\n");
}

TEST(ReplyTest, MultilineFeat) {
  std::string out;
  MultilineReply reply(211, "Extensions supported:", &out);
  reply.AddLine(" EPSV");
  reply.AddLine(" UTF8");
  reply.Finish("End");
  EXPECT_EQ(out, "211-Extensions supported:\r\n EPSV\r\n UTF8\r\n211 End\r\n");
}

TEST(ReplyTest, MultilineDigitLinesArePadded) {
  std::string out;
  const std::string_view lines[] = {"Status follows", "226 looks final", "ok", "End"};
  AppendMultilineReply(213, lines, &out);
  EXPECT_EQ(out, "213-Status follows\r\n 226 looks final\r\nok\r\n213 End\r\n");
  out.clear();
  const std::string_view one[] = {"only"};
  AppendMultilineReply(200, one, &out);
  EXPECT_EQ(out, "200 only\r\n");
}

TEST(ReplyTest, NoAllocationOnceBufferHasCapacity) {
  std::string out;
  out.reserve(256);
  const char* data = out.data();
  for (int i = 0; i < 3; ++i) {
    out.clear();
    AppendReply(226, "Transfer complete", &out);
    MultilineReply reply(211, "a", &out);
    reply.AddLine("b");
    reply.Finish("c");
  }
  EXPECT_EQ(out.data(), data);
}

}  // namespace
}  // namespace tpslab::ftpd
