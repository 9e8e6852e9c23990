// FTP control-connection grammar: one command line in, one reply out.
//
// ParseCommand() splits a control line (CRLF already removed by the line
// reader) into a verb and its argument; the Parse*Argument() functions check
// the argument grammars of the commands that have one; AppendReply() and
// MultilineReply write replies in RFC 959 form. Nothing here touches a socket
// or the file system, and nothing allocates on success once the caller's
// buffers have grown to their working size.
//
//   std::string scratch, out;            // per session, reused for every line
//   absl::StatusOr<Command> cmd = ParseCommand(line, &scratch);
//   if (!cmd.ok()) {
//     AppendReply(500, "Syntax error, command unrecognized", &out);
//   } else if (cmd->verb == Verb::kType) {
//     absl::StatusOr<TransferType> type = ParseTypeArgument(cmd->argument);
//     if (!type.ok()) AppendReply(ReplyCodeFor(type.status()), "Bad TYPE", &out);
//     else AppendReply(200, "Type set", &out);
//   }
//
// Error convention of every parser here: absl::InvalidArgumentError for a
// syntax error (reply 501, or 500 for ParseCommand itself), and
// absl::UnimplementedError for a well-formed parameter this server does not
// support (reply 504; see each parser for the exceptions RFCs name, such as
// 522 for EPRT/EPSV and 536 for PROT). ReplyCodeFor() applies the default.
//
// Supported verbs: the full RFC 959 set with the RFC 775 X* aliases, RFC 2389
// (FEAT, OPTS), RFC 2428 (EPRT, EPSV), RFC 3659 (SIZE, MDTM, MLST, MLSD; REST
// STREAM), MFMT (draft-somers-ftp-mfxx), RFC 2228/4217 (AUTH, PBSZ, PROT, CCC)
// and RFC 2640 (LANG). Whether a verb is *implemented* is the session's call;
// the parser only names it.
#ifndef TPSLAB_FTPD_COMMAND_H_
#define TPSLAB_FTPD_COMMAND_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tpslab::ftpd {

// A command verb. X* aliases (RFC 775) parse to the verb they stand for.
enum class Verb : uint8_t {
  kUnknown = 0,  // anything not listed below; Command::raw_verb keeps the text
  // RFC 959 access control.
  kUser,
  kPass,
  kAcct,
  kCwd,   // also XCWD
  kCdup,  // also XCUP
  kSmnt,
  kRein,
  kQuit,
  // RFC 959 transfer parameters.
  kPort,
  kPasv,
  kType,
  kStru,
  kMode,
  // RFC 959 service commands.
  kRetr,
  kStor,
  kStou,
  kAppe,
  kAllo,
  kRest,
  kRnfr,
  kRnto,
  kAbor,
  kDele,
  kRmd,  // also XRMD
  kMkd,  // also XMKD
  kPwd,  // also XPWD
  kList,
  kNlst,
  kSite,
  kSyst,
  kStat,
  kHelp,
  kNoop,
  // RFC 2389.
  kFeat,
  kOpts,
  // RFC 2428.
  kEprt,
  kEpsv,
  // RFC 3659.
  kSize,
  kMdtm,
  kMlst,
  kMlsd,
  // draft-somers-ftp-mfxx.
  kMfmt,
  // RFC 2228 / RFC 4217.
  kAuth,
  kPbsz,
  kProt,
  kCcc,
  // RFC 2640.
  kLang,
};

// The canonical upper-case name of `verb` ("CWD" for kCwd, "" for kUnknown).
std::string_view VerbName(Verb verb);

// Looks up a verb case-insensitively ("xpwd" -> kPwd). Anything that is not a
// known verb of 3 or 4 ASCII letters gives kUnknown.
Verb LookupVerb(std::string_view raw_verb);

// One parsed control line. Views point into the line given to ParseCommand()
// or into its scratch buffer; they are valid until either changes.
struct Command {
  Verb verb = Verb::kUnknown;
  // The verb exactly as sent (case preserved), e.g. "xMkd". Never empty.
  std::string_view raw_verb;
  // Everything after the single space that follows the verb, verbatim:
  // further spaces (leading, inner, trailing) belong to the argument, since
  // file names may contain them. Empty when the line has no argument.
  std::string_view argument;
};

// Parses one control line without its CRLF.
//
// Telnet (RFC 854) sequences are removed first: IAC IAC becomes one 0xFF byte;
// IAC WILL/WONT/DO/DONT <option>, IAC SB ... IAC SE and the two-byte commands
// (IAC IP, IAC DM, IAC NOP, ...) are dropped; an IAC followed by a byte that is
// not a Telnet command is dropped alone (so "IAC IP IAC ABOR" - a Synch whose
// urgent DM byte the kernel took out of the stream - still reads as "ABOR").
// When the line contains no IAC byte it is used in place; otherwise the
// cleaned line is built in `*scratch` (reused; no allocation once its capacity
// suffices) and the result views point there.
//
// Errors (absl::InvalidArgumentError; the session replies 500):
//   "NUL byte in command line at offset N"   - after Telnet removal
//   "empty command line"                     - nothing left
//   "command line starts with a space"       - no verb before the separator
absl::StatusOr<Command> ParseCommand(std::string_view line, std::string* scratch);

// The default reply code for a parser error status: 501 for
// InvalidArgument, 504 for Unimplemented, 500 for anything else.
int ReplyCodeFor(const absl::Status& status);

// ---------------------------------------------------------------------------
// Argument grammars.

// An address and port from PORT or EPRT.
struct HostPort {
  enum class Family : uint8_t { kIpv4, kIpv6 };
  Family family = Family::kIpv4;
  // Network byte order. IPv4 uses the first 4 bytes; the rest stay zero.
  std::array<uint8_t, 16> address{};
  uint16_t port = 0;

  // "1.2.3.4:21" or "[::1]:21", for logs.
  std::string ToString() const;
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// PORT h1,h2,h3,h4,p1,p2 (RFC 959): six decimal fields 0-255 of one to three
// digits, no spaces. Whether the target is acceptable (the client's own
// address, not a privileged port) is the session's check, not this parser's.
absl::StatusOr<HostPort> ParsePortArgument(std::string_view arg);

// EPRT <d>af<d>addr<d>port<d> (RFC 2428). The delimiter <d> is the first
// character and may be any of ASCII 33-126 except digits, '.', ':' and
// hex letters (which would be ambiguous inside addresses). af 1 = IPv4,
// 2 = IPv6 (textual forms as inet_pton(3) accepts, no zone index); port 1-65535.
// Another address family number is absl::UnimplementedError, to which the
// session replies "522 Network protocol not supported, use (1,2)".
absl::StatusOr<HostPort> ParseEprtArgument(std::string_view arg);

// EPSV argument (RFC 2428): none, "1", "2" or "ALL" (case-insensitive).
enum class EpsvArgument : uint8_t { kAny, kIpv4, kIpv6, kAll };
// Another protocol number is absl::UnimplementedError (reply 522).
absl::StatusOr<EpsvArgument> ParseEpsvArgument(std::string_view arg);

// The representation type chosen by TYPE.
enum class TransferType : uint8_t {
  kAscii,  // TYPE A, TYPE A N: LF <-> CRLF conversion on the data connection
  kImage,  // TYPE I, TYPE L 8: bytes as stored
};
// TYPE (RFC 959), case-insensitive: "A", "A N", "I", "L 8". Well-formed but
// unsupported types ("E", "A T", "A C", "L 7") are Unimplemented (504).
absl::StatusOr<TransferType> ParseTypeArgument(std::string_view arg);

// MODE: only "S" (stream) is supported; "B" and "C" are Unimplemented (504).
absl::Status ParseModeArgument(std::string_view arg);

// STRU: only "F" (file) is supported; "R" and "P" are Unimplemented (504).
absl::Status ParseStruArgument(std::string_view arg);

// A UTC time of day as MFMT and MDTM carry it.
struct FileTime {
  int64_t seconds = 0;       // since 1970-01-01T00:00:00Z
  uint32_t nanoseconds = 0;  // 0 - 999,999,999
  friend bool operator==(const FileTime&, const FileTime&) = default;
};

// Parses an RFC 3659 time-val: YYYYMMDDHHMMSS with an optional fraction
// ".d..." of 1-9 digits, UTC. Fields are range-checked (a real calendar date,
// hour < 24, minute < 60, second <= 60; a leap second 60 counts as the next
// second's start). Years 0000-9999.
absl::StatusOr<FileTime> ParseTimeVal(std::string_view text);

// MFMT time-val SP pathname. `path` views into `arg` and is verbatim.
struct MfmtArgument {
  FileTime time;
  std::string_view path;
};
absl::StatusOr<MfmtArgument> ParseMfmtArgument(std::string_view arg);

// REST offset (RFC 3659 REST STREAM): 1-19 decimal digits, at most
// 2^63 - 1 (the largest file offset), no sign or spaces.
absl::StatusOr<int64_t> ParseRestArgument(std::string_view arg);

// ALLO: "<decimal>" or "<decimal> R <decimal>" (RFC 959). The size is
// returned so the session may check it against free space; most servers
// simply reply 202.
absl::StatusOr<uint64_t> ParseAlloArgument(std::string_view arg);

// A fact RFC 3659 MLST/MLSD can report about a file.
enum class MlstFact : uint32_t {
  kType = 1u << 0,      // "type": file, dir, cdir, pdir, OS.unix=symlink
  kSize = 1u << 1,      // "size": bytes, non-directories only
  kModify = 1u << 2,    // "modify": last modification, UTC time-val
  kPerm = 1u << 3,      // "perm": what this user may do (RFC 3659 7.5.5)
  kUnique = 1u << 4,    // "unique": device and inode
  kUnixMode = 1u << 5,  // "UNIX.mode": octal permission bits
};

// A set of MlstFacts, as selected by OPTS MLST.
class MlstFacts {
 public:
  // The empty set.
  constexpr MlstFacts() = default;
  // Every fact this server knows.
  static constexpr MlstFacts All() { return MlstFacts(kAllBits); }
  // What a session reports before any OPTS MLST: every fact but UNIX.mode.
  static constexpr MlstFacts Default() {
    return MlstFacts(kAllBits & ~static_cast<uint32_t>(MlstFact::kUnixMode));
  }
  constexpr bool Has(MlstFact fact) const { return (bits_ & static_cast<uint32_t>(fact)) != 0; }
  constexpr void Add(MlstFact fact) { bits_ |= static_cast<uint32_t>(fact); }
  friend constexpr bool operator==(MlstFacts, MlstFacts) = default;

 private:
  static constexpr uint32_t kAllBits = (1u << 6) - 1;
  constexpr explicit MlstFacts(uint32_t bits) : bits_(bits) {}
  uint32_t bits_ = 0;
};

// Facts in the order they are written, and their RFC 3659 names.
inline constexpr std::array<MlstFact, 6> kAllMlstFacts = {MlstFact::kType,   MlstFact::kSize,
                                                          MlstFact::kModify, MlstFact::kPerm,
                                                          MlstFact::kUnique, MlstFact::kUnixMode};
std::string_view MlstFactName(MlstFact fact);  // "type", ..., "UNIX.mode"

// Appends "type;size;" for the facts in `facts` (the OPTS MLST reply).
void AppendMlstFactList(MlstFacts facts, std::string* out);
// Appends the FEAT line body "MLST type*;size*;...;" listing every supported
// fact, with '*' after the enabled ones (RFC 3659 7.8).
void AppendMlstFeature(MlstFacts enabled, std::string* out);

// OPTS (RFC 2389) for the two options this server has.
struct OptsArgument {
  enum class Kind : uint8_t {
    kUtf8,  // OPTS UTF8 [ON|OFF] (RFC 2640 practice); no value means ON
    kMlst,  // OPTS MLST [fact;fact;...] (RFC 3659 7.9)
  };
  Kind kind = Kind::kUtf8;
  bool utf8_on = true;  // kUtf8 only
  // kMlst only: the facts asked for that this server knows; unknown fact
  // names are ignored, as RFC 3659 requires.
  MlstFacts facts;
};
// Command names are case-insensitive ("UTF-8" is accepted for "UTF8"). An
// unknown command name or value is InvalidArgument (501, as RFC 2389 says).
absl::StatusOr<OptsArgument> ParseOptsArgument(std::string_view arg);

// PROT level (RFC 2228 / 4217).
enum class ProtectionLevel : uint8_t {
  kClear,    // C: data connections in the clear
  kPrivate,  // P: data connections over TLS
};
// "C" or "P" (case-insensitive). "S" and "E" are Unimplemented, to which the
// session replies "536 Requested PROT level not supported by mechanism".
absl::StatusOr<ProtectionLevel> ParseProtArgument(std::string_view arg);

// PBSZ <decimal> (RFC 2228), 0 - 2^32-1. RFC 4217 requires the session to
// answer "200 PBSZ=0" whatever the value.
absl::StatusOr<uint32_t> ParsePbszArgument(std::string_view arg);

// AUTH: "TLS" or its synonym "TLS-C" (case-insensitive) is OK; anything else
// is Unimplemented ("504 Security mechanism not understood").
absl::Status ParseAuthArgument(std::string_view arg);

// LIST/NLST/STAT argument. Many clients send ls options ("LIST -la",
// "LIST -a dir"): a leading run of words that start with '-' is taken as
// options, of which only 'a' (include dot files) has an effect. Nothing is
// glob-expanded. A file whose name starts with '-' can still be listed as
// "./-name". Never fails.
struct ListArgument {
  bool all = false;       // -a (or -A) seen: include names starting with '.'
  std::string_view path;  // the rest, verbatim; empty = current directory
};
ListArgument ParseListArgument(std::string_view arg);

// ---------------------------------------------------------------------------
// Replies (RFC 959 4.2). All of these append to `*out`, typically the
// session's write buffer, and allocate only when it must grow. `code` must be
// 100-599 (asserted). CR, LF and NUL bytes in any text are written as spaces,
// so no caller-supplied text (a file name, an echoed argument) can start a
// line of its own.

// Appends "NNN text\r\n".
void AppendReply(int code, std::string_view text, std::string* out);

// Appends `NNN "path" text\r\n` with every '"' in `path` doubled (RFC 959
// Appendix II), as PWD and MKD replies (257) need. `text` may be empty.
void AppendPathReply(int code, std::string_view path, std::string_view text, std::string* out);

// Builds a multi-line reply "NNN-first\r\n" ... "NNN last\r\n":
//
//   MultilineReply reply(211, "Extensions supported:", &out);
//   reply.AddLine(" EPSV");
//   reply.Finish("End");
//
// Intermediate lines are written as given, except that one starting with a
// digit gets a leading space, so no client can take it for the final line.
class MultilineReply {
 public:
  // Appends the first line "NNN-first\r\n".
  MultilineReply(int code, std::string_view first, std::string* out);
  // Appends one intermediate line.
  void AddLine(std::string_view text);
  // Appends the final line "NNN last\r\n". Call exactly once, last.
  void Finish(std::string_view last);

 private:
  int code_;
  std::string* out_;
};

// Appends a whole reply: `lines[0]` as the first line, `lines.back()` as the
// last, and the rest in between; a single line gives a single-line reply.
// `lines` must not be empty (asserted).
void AppendMultilineReply(int code, std::span<const std::string_view> lines, std::string* out);

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_COMMAND_H_
