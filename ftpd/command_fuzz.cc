// Fuzz target: the control-line parser, every argument parser, lexical path
// resolution and reply formatting, fed one untrusted control line.
//
// Besides "does not crash" (ASan/UBSan), it checks invariants and aborts
// when one breaks:
//  - a parsed command has a non-empty verb without spaces, no NUL anywhere,
//    and LookupVerb(raw_verb) == verb;
//  - a resolved path is a virtual path (PathJail::IsVirtualPath), resolving
//    it again gives itself, and ".." from it stays a virtual path;
//  - every accepted time-val formats back to the same digits;
//  - a reply built from the line is exactly one line, and a multi-line reply
//    has exactly one line that looks final.
//
// Runs as //ftpd:command_fuzz_test through //common/testing:fuzz_main
// (corpus in testdata/fuzz_corpus/), or under libFuzzer with clang.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ftpd/command.h"
#include "ftpd/listing.h"
#include "ftpd/path_jail.h"

namespace tpslab::ftpd {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "command_fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

void FuzzCommand(std::string_view line, std::string_view* argument) {
  std::string scratch;
  absl::StatusOr<Command> command = ParseCommand(line, &scratch);
  if (!command.ok()) {
    Check(command.status().code() == absl::StatusCode::kInvalidArgument, "ParseCommand code");
    return;
  }
  Check(!command->raw_verb.empty(), "empty raw verb");
  Check(command->raw_verb.find(' ') == std::string_view::npos, "space in raw verb");
  Check(command->raw_verb.find('\0') == std::string_view::npos, "NUL in raw verb");
  Check(command->argument.find('\0') == std::string_view::npos, "NUL in argument");
  Check(LookupVerb(command->raw_verb) == command->verb, "verb lookup mismatch");
  if (command->verb != Verb::kUnknown) {
    Check(!VerbName(command->verb).empty(), "known verb without a name");
  }
  // The argument is used below; it points into `line` when there was no
  // Telnet byte, so only that case is handed on.
  if (scratch.empty()) *argument = command->argument;
}

void FuzzArguments(std::string_view arg) {
  if (absl::StatusOr<HostPort> hp = ParsePortArgument(arg); hp.ok()) {
    Check(hp->family == HostPort::Family::kIpv4, "PORT family");
    Check(!hp->ToString().empty(), "PORT ToString");
  }
  if (absl::StatusOr<HostPort> hp = ParseEprtArgument(arg); hp.ok()) {
    Check(hp->port != 0, "EPRT port 0 accepted");
    Check(!hp->ToString().empty(), "EPRT ToString");
  }
  (void)ParseEpsvArgument(arg);
  (void)ParseTypeArgument(arg);
  (void)ParseModeArgument(arg);
  (void)ParseStruArgument(arg);
  if (absl::StatusOr<FileTime> t = ParseTimeVal(arg); t.ok()) {
    Check(t->nanoseconds < 1000000000u, "time-val nanoseconds");
    // A time without a leap second formats back to the same 14 digits.
    if (arg.size() >= 14 && arg.substr(12, 2) != "60") {
      std::string formatted;
      AppendTimeVal({static_cast<time_t>(t->seconds), 0}, false, &formatted);
      Check(formatted == arg.substr(0, 14), "time-val round trip");
    }
  }
  if (absl::StatusOr<MfmtArgument> m = ParseMfmtArgument(arg); m.ok()) {
    Check(!m->path.empty(), "MFMT empty path");
  }
  if (absl::StatusOr<int64_t> rest = ParseRestArgument(arg); rest.ok()) {
    Check(*rest >= 0, "REST negative");
  }
  (void)ParseAlloArgument(arg);
  (void)ParseOptsArgument(arg);
  (void)ParseProtArgument(arg);
  (void)ParsePbszArgument(arg);
  (void)ParseAuthArgument(arg);
  const ListArgument list = ParseListArgument(arg);
  Check(list.path.size() <= arg.size() && arg.substr(arg.size() - list.path.size()) == list.path,
        "LIST path is not a suffix of the argument");
}

void FuzzResolve(std::string_view arg) {
  std::string resolved;
  for (std::string_view cwd : {std::string_view("/"), std::string_view("/a/b c/d")}) {
    if (!PathJail::Resolve(cwd, arg, &resolved).ok()) continue;
    Check(PathJail::IsVirtualPath(resolved), "Resolve gave a non-virtual path");
    std::string again;
    Check(PathJail::Resolve("/", resolved, &again).ok() && again == resolved,
          "Resolve is not idempotent");
    std::string up;
    Check(PathJail::Resolve(resolved, "..", &up).ok() && PathJail::IsVirtualPath(up),
          "'..' from a virtual path");
    Check(resolved.size() >= up.size(), "'..' made the path longer");
  }
}

void FuzzReplies(std::string_view text) {
  std::string out;
  AppendReply(550, text, &out);
  Check(out.size() >= 6 && out.compare(out.size() - 2, 2, "\r\n") == 0, "reply line end");
  Check(out.find('\n') == out.size() - 1 && out.find('\r') == out.size() - 2,
        "reply has more than one line");
  Check(out.find('\0') == std::string::npos, "NUL in reply");

  out.clear();
  AppendPathReply(257, text, "created", &out);
  Check(out.find('\n') == out.size() - 1, "path reply has more than one line");

  // A multi-line reply with the text as every inner line: only the last
  // line may start with "211 ".
  out.clear();
  MultilineReply reply(211, text, &out);
  reply.AddLine(text);
  reply.AddLine(text);
  reply.Finish("End");
  size_t finals = 0;
  size_t start = 0;
  while (start < out.size()) {
    const size_t end = out.find("\r\n", start);
    Check(end != std::string::npos, "multi-line reply without CRLF");
    const std::string_view line(out.data() + start, end - start);
    if (line.size() >= 4 && IsDigit(line[0]) && line[3] == ' ') ++finals;
    start = end + 2;
  }
  Check(finals == 1, "multi-line reply with more than one final line");

  std::string listing;
  if (IsListableName(text)) {
    Check(AppendNlstLine(text, &listing), "listable name refused");
    Check(listing.find('\n') == listing.size() - 1, "listing line has more than one line");
  } else {
    Check(!AppendNlstLine(text, &listing) && listing.empty(), "unlistable name listed");
  }
}

}  // namespace
}  // namespace tpslab::ftpd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  std::string_view argument = line;
  tpslab::ftpd::FuzzCommand(line, &argument);
  tpslab::ftpd::FuzzArguments(argument);
  tpslab::ftpd::FuzzResolve(argument);
  tpslab::ftpd::FuzzReplies(argument);
  return 0;
}
